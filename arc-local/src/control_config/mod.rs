//! The Route 53 ARC recovery-control-config API (service `route53-recovery-control-config`,
//! protocol REST-JSON, SigV4 signing name `route53-recovery-control-config`; in AWS it lives in
//! us-west-2 only), wire-compatible with the AWS CLI, the SDKs and Terraform's
//! `aws_route53recoverycontrolconfig_*` resources.
//!
//! Operations, with the service model's paths and members: Create, Describe, Update, Delete and
//! List for clusters, control panels, routing controls and safety rules;
//! ListAssociatedRoute53HealthChecks (always empty: Route 53 is not emulated here); TagResource,
//! UntagResource, ListTagsForResource. By job: [`protocol`] (errors, which operation a request
//! is), [`input`] (request bodies), [`resources`] (each kind's place in the catalog and answer
//! shape), [`read`] and [`list`] (read-only operations, pagination), [`create`], [`update`]
//! (updates, deletes, tags), [`safety_rule`] (rule requests), [`edit`] (what every change
//! shares).
//!
//! What the API creates is served by the data plane at once (routing controls start Off, safety
//! rules are enforced) and kept in the state file. Create answers say PENDING; Describe says
//! PENDING until the deploy delay has passed, then DEPLOYED; a deleted resource is
//! PENDING_DELETION for the deploy delay, then ResourceNotFoundException. The topology's cluster,
//! control panels, routing controls and safety rules are listed too, but are read-only (change the
//! topology file instead); new control panels, routing controls and safety rules may be created in
//! them.
//!
//! Refusals, as in AWS: deleting a cluster that still has control panels (other than its default
//! one) or routing controls, a control panel that still has routing controls or safety rules, or
//! a routing control that a safety rule names, is a ConflictException (409). Unknown resources are
//! ResourceNotFoundException (404); bad input is ValidationException (400). Errors carry the code
//! in `x-amzn-errortype` and a JSON body `{"message": ..., "__type": ...}`.
//!
//! Requests must carry a SigV4 `Authorization` header, but signatures are NOT verified.

mod create;
mod edit;
mod input;
mod list;
pub mod protocol;
mod read;
mod resources;
mod safety_rule;
mod update;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{Map, Value};

use crate::state::{now_ms, ConfigureError, Store};
use crate::wire;
use edit::Edit;
use protocol::ConfigError;
use resources::View;

/// What every cluster answers, and whose account owns what the API creates.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The five data-plane endpoints (`ClusterEndpoints`).
    pub endpoints: Vec<recovery::Endpoint>,
    /// The account in the ARNs and `Owner` of created resources.
    pub account: String,
}

#[derive(Clone)]
struct Ctx {
    store: Arc<Store>,
    settings: Arc<Settings>,
}

/// The config API's router: the operations plus `GET /health`.
pub fn router(store: Arc<Store>, settings: Settings) -> Router {
    Router::new()
        .route(
            "/health",
            get(|| async {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    bootstrap::build_info::health_body(),
                )
            }),
        )
        .fallback(serve)
        .with_state(Ctx {
            store,
            settings: Arc::new(settings),
        })
        .layer(axum::middleware::from_fn(bootstrap::access_log::log))
}

async fn serve(
    State(ctx): State<Ctx>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match handle(&ctx, &method, &uri, &headers, &body).await {
        Ok(value) => protocol::json_response(&value),
        Err(e) => {
            tracing::debug!(code = e.code(), message = %e, %method, path = %uri.path(), "config request refused");
            e.into_response()
        }
    }
}

async fn handle(
    ctx: &Ctx,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Value, ConfigError> {
    let op = protocol::route(method, uri.path())?;
    if !wire::is_signed(headers) {
        return Err(ConfigError::AccessDenied(wire::UNSIGNED.into()));
    }
    let query = protocol::query_params(uri)?;
    let input = if matches!(*method, Method::POST | Method::PUT) {
        input::body_object(body)?
    } else {
        Map::new()
    };
    if op.reads() {
        let world = ctx.store.world();
        let view = View {
            catalog: &world.catalog,
            settings: &ctx.settings,
            now: now_ms(),
            delay: ctx.store.deploy_delay_ms(),
        };
        return read::read(&view, op, &query);
    }
    let name = op.name();
    let settings = ctx.settings.clone();
    let delay = ctx.store.deploy_delay_ms();
    let source = ctx.store.topology().source().to_owned();
    let result = ctx
        .store
        .configure(|catalog, _states, now| {
            let edit = Edit {
                catalog,
                settings: &settings,
                now,
                delay,
                source: &source,
            };
            edit.run(op, &input, &query)
        })
        .await;
    match result {
        Ok((value, arn)) => {
            tracing::info!(operation = name, arn = %arn, "recovery control config changed");
            Ok(value)
        }
        Err(ConfigureError::Refused(e)) => Err(e),
        Err(ConfigureError::Persist(e)) => {
            tracing::error!(error = %e, operation = name, "cannot save the config change; it was refused");
            Err(ConfigError::Internal(format!(
                "the change could not be saved, so nothing changed: {e}"
            )))
        }
    }
}
