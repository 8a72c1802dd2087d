//! A config change in progress: the store's copy of the catalog, and what every changing operation
//! shares — ARNs for new resources, ClientToken replays, the checks before an update or a delete
//! (the resource exists, is not the topology's, is not being deleted), marking deletions, tags.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::input::Input;
use super::protocol::{ConfigError, Kind, Op};
use super::resources::{not_deleting, writable, Resource, View};
use super::{create, update, Settings};
use crate::catalog::{Catalog, Cluster, Life, Panel, Rule, Status};

/// A changing operation's answer and the ARN it concerned (for the log).
pub type Changed = Result<(Value, String), ConfigError>;

/// A config change in progress, on the store's copy of the catalog.
pub struct Edit<'a> {
    pub catalog: &'a mut Catalog,
    pub settings: &'a Settings,
    pub now: u64,
    pub delay: u64,
    /// Where the topology came from, for messages.
    pub source: &'a str,
}

impl Edit<'_> {
    pub fn view(&self) -> View<'_> {
        View {
            catalog: self.catalog,
            settings: self.settings,
            now: self.now,
            delay: self.delay,
        }
    }

    /// Runs a changing operation.
    pub fn run(
        mut self,
        op: Op,
        input: &Map<String, Value>,
        query: &[(String, String)],
    ) -> Changed {
        let body = Input::new(input, "");
        match op {
            Op::Create(Kind::Cluster) => create::cluster(&mut self, &body),
            Op::Create(Kind::ControlPanel) => create::panel(&mut self, &body),
            Op::Create(Kind::RoutingControl) => create::control(&mut self, &body),
            Op::Create(Kind::SafetyRule) => create::rule(&mut self, &body),
            Op::Update(Kind::Cluster) => update::cluster(&mut self, &body),
            Op::Update(Kind::ControlPanel) => update::panel(&mut self, &body),
            Op::Update(Kind::RoutingControl) => update::control(&mut self, &body),
            Op::Update(Kind::SafetyRule) => update::rule(&mut self, &body),
            Op::Delete(Kind::Cluster, arn) => update::delete_cluster(&mut self, arn),
            Op::Delete(Kind::ControlPanel, arn) => update::delete_panel(&mut self, arn),
            Op::Delete(Kind::RoutingControl, arn) => update::delete_control(&mut self, arn),
            Op::Delete(Kind::SafetyRule, arn) => self.delete::<Rule>(arn, |_, _| Ok(())),
            Op::TagResource(arn) => update::tag(&mut self, arn, &body),
            Op::UntagResource(arn) => update::untag(&mut self, arn, query),
            other => Err(ConfigError::Internal(format!(
                "{} is not a changing operation",
                other.name()
            ))),
        }
    }

    /// A new ARN of this account: `arn:aws:route53-recovery-control::<account>:<kind>/<id>`.
    pub fn new_arn(&self, kind: &str) -> String {
        format!(
            "arn:aws:route53-recovery-control::{}:{kind}/{}",
            self.settings.account,
            new_id(32)
        )
    }

    pub fn set_tags(&mut self, arn: &str, tags: Option<BTreeMap<String, String>>) {
        if let Some(tags) = tags.filter(|t| !t.is_empty()) {
            self.catalog
                .tags
                .entry(arn.to_owned())
                .or_default()
                .extend(tags);
        }
    }

    /// Creates a resource (`make` builds it and its ARN, given its lifecycle), or answers again
    /// what an earlier request with the same ClientToken created (ConflictException when that
    /// request had other parameters: `same` is false).
    pub fn create<T: Resource>(
        &mut self,
        token: Option<&str>,
        tags: Option<BTreeMap<String, String>>,
        same: impl Fn(&T) -> bool,
        make: impl FnOnce(&mut Self, Life) -> (String, T),
    ) -> Changed {
        if let Some((arn, x)) = replay(T::all(self.catalog), token, same)? {
            let view = self.view();
            let status = view.status(x.life()).unwrap_or(Status::Pending);
            return Ok((x.answer(arn, status, &view), arn.clone()));
        }
        let (arn, x) = make(self, Life::api(self.now, token));
        let answer = x.answer(&arn, Status::Pending, &self.view());
        T::all_mut(self.catalog).insert(arn.clone(), x);
        self.set_tags(&arn, tags);
        Ok((answer, arn))
    }

    /// A resource about to be changed or deleted: it must exist, come from the API and not be
    /// being deleted. Returns its status.
    pub fn changeable<T: Resource>(&self, arn: &str) -> Result<Status, ConfigError> {
        let (x, status) = self.view().find::<T>(arn)?;
        writable(x.life(), T::WHAT, arn, self.source)?;
        not_deleting(status, T::WHAT, arn)?;
        Ok(status)
    }

    /// Updates a changeable resource with `change` and answers it.
    pub fn update<T: Resource>(
        &mut self,
        arn: String,
        change: impl FnOnce(&mut T) -> Result<(), ConfigError>,
    ) -> Changed {
        let status = self.changeable::<T>(&arn)?;
        let x = T::all_mut(self.catalog).get_mut(&arn).expect("found");
        change(x)?;
        let x = x.clone();
        Ok((x.answer(&arn, status, &self.view()), arn))
    }

    /// Deletes a changeable resource unless `refuse` objects.
    pub fn delete<T: Resource>(
        &mut self,
        arn: String,
        refuse: impl FnOnce(&Catalog, &T) -> Result<(), ConfigError>,
    ) -> Changed {
        self.changeable::<T>(&arn)?;
        refuse(self.catalog, &T::all(self.catalog)[&arn])?;
        self.mark_deleted::<T>(&arn);
        Ok((json!({}), arn))
    }

    /// Marks a resource deleted now, and drops it at once when there is no deploy delay.
    pub fn mark_deleted<T: Resource>(&mut self, arn: &str) {
        if let Some(x) = T::all_mut(self.catalog).get_mut(arn) {
            x.life_mut().deleted_ms = Some(self.now);
        }
        self.catalog.purge(self.now, self.delay);
    }

    /// The live cluster a request names, refused while it is being deleted.
    pub fn live_cluster(&self, arn: &str) -> Result<(), ConfigError> {
        let (_, status) = self.view().find::<Cluster>(arn)?;
        not_deleting(status, Cluster::WHAT, arn)
    }

    /// The live control panel a request names, refused while it is being deleted.
    pub fn live_panel(&self, arn: &str) -> Result<&Panel, ConfigError> {
        let (p, status) = self.view().find::<Panel>(arn)?;
        not_deleting(status, Panel::WHAT, arn)?;
        Ok(p)
    }
}

/// The ARNs of the live resources of `map` that `keep` selects.
pub fn live_arns<T: Resource>(map: &BTreeMap<String, T>, keep: impl Fn(&T) -> bool) -> Vec<&str> {
    map.iter()
        .filter(|(_, x)| x.life().live() && keep(x))
        .map(|(a, _)| a.as_str())
        .collect()
}

/// ConflictException "<what> <arn> <relation> (<arns>); delete them first" when `arns` is not
/// empty.
pub fn in_the_way(what: &str, arn: &str, relation: &str, arns: &[&str]) -> Result<(), ConfigError> {
    if arns.is_empty() {
        return Ok(());
    }
    Err(ConfigError::Conflict(format!(
        "{what} {arn} {relation} ({}); delete them first",
        arns.join(", ")
    )))
}

fn new_id(len: usize) -> String {
    let mut id = uuid::Uuid::new_v4().simple().to_string();
    id.truncate(len);
    id
}

/// A shorter id, for the last part of routing control and safety rule ARNs.
pub fn short_id() -> String {
    new_id(16)
}

/// What an earlier create with the same ClientToken made (answered again, as AWS does), if it is
/// still live; ConflictException when that request had other parameters (`same` is false).
fn replay<'m, T: Resource>(
    map: &'m BTreeMap<String, T>,
    token: Option<&str>,
    same: impl Fn(&T) -> bool,
) -> Result<Option<(&'m String, &'m T)>, ConfigError> {
    let Some(token) = token else {
        return Ok(None);
    };
    let found = map
        .iter()
        .find(|(_, x)| x.life().live() && x.life().client_token.as_deref() == Some(token));
    match found {
        Some((_, x)) if !same(x) => Err(ConfigError::Conflict(format!(
            "ClientToken {token} was already used for a request with different parameters"
        ))),
        other => Ok(other),
    }
}
