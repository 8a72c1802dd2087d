//! The lifecycle of what the config API creates: a resource is PENDING until the deploy delay has
//! passed since its creation, then DEPLOYED. Deleting marks it; it is PENDING_DELETION for the
//! deploy delay, then gone (and purged at the next write). The data plane and the safety rules
//! see every resource that is not being deleted, PENDING ones included, so a control can be
//! flipped as soon as its create call has answered. Topology resources are always DEPLOYED.

use serde::{Deserialize, Serialize};

/// Where a resource comes from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Origin {
    /// The topology file (or the default topology): read-only, never written to the state file.
    Topology,
    /// The recovery-control-config API: persisted in the state file.
    #[default]
    Api,
}

/// Deployment status, as the API spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Pending,
    Deployed,
    PendingDeletion,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "PENDING",
            Status::Deployed => "DEPLOYED",
            Status::PendingDeletion => "PENDING_DELETION",
        }
    }
}

/// When a resource was created and deleted (Unix milliseconds), and the client token that created it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Life {
    pub created_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_token: Option<String>,
    #[serde(skip)]
    pub origin: Origin,
}

impl Life {
    pub fn api(now_ms: u64, client_token: Option<&str>) -> Life {
        Life {
            created_ms: now_ms,
            deleted_ms: None,
            client_token: client_token.map(str::to_owned),
            origin: Origin::Api,
        }
    }

    pub fn topology() -> Life {
        Life {
            origin: Origin::Topology,
            ..Life::default()
        }
    }

    /// Not being deleted: served by the data plane, judged by the safety rules.
    pub fn live(&self) -> bool {
        self.deleted_ms.is_none()
    }

    pub fn is_topology(&self) -> bool {
        self.origin == Origin::Topology
    }

    /// The status at `now_ms`, or `None` once a deleted resource is gone.
    pub fn status(&self, now_ms: u64, delay_ms: u64) -> Option<Status> {
        if self.origin == Origin::Topology {
            return Some(Status::Deployed);
        }
        match self.deleted_ms {
            Some(d) if now_ms < d.saturating_add(delay_ms) => Some(Status::PendingDeletion),
            Some(_) => None,
            None if now_ms < self.created_ms.saturating_add(delay_ms) => Some(Status::Pending),
            None => Some(Status::Deployed),
        }
    }
}

/// What every kind of resource has: a lifecycle.
pub trait HasLife {
    fn life(&self) -> &Life;
    fn life_mut(&mut self) -> &mut Life;
}

/// Implements [`HasLife`] for types with a `life` field.
macro_rules! has_life {
    ($($t:ty),*) => {$(
        impl HasLife for $t {
            fn life(&self) -> &Life {
                &self.life
            }
            fn life_mut(&mut self) -> &mut Life {
                &mut self.life
            }
        }
    )*};
}
pub(crate) use has_life;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle() {
        let life = Life::api(1000, None);
        assert_eq!(life.status(1000, 0), Some(Status::Deployed));
        assert_eq!(life.status(1500, 1000), Some(Status::Pending));
        assert_eq!(life.status(2000, 1000), Some(Status::Deployed));
        let deleted = Life {
            deleted_ms: Some(3000),
            ..life
        };
        assert!(!deleted.live());
        assert_eq!(deleted.status(3500, 1000), Some(Status::PendingDeletion));
        assert_eq!(deleted.status(4000, 1000), None);
        assert_eq!(deleted.status(3000, 0), None);
    }
}
