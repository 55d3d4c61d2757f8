//! What the HelmRepository reconciler reports: the `Ready` condition and
//! its reasons, the artifact, the status write (server-side apply) and
//! events.

use kube::api::{Patch, PatchParams};
use kube::runtime::events::EventType;
use kube::{Api, Resource, ResourceExt};

use super::{Context, KIND, RepositoryError};
use crate::api::condition::READY;
use crate::api::helmrepository::HelmRepositoryStatus;
use crate::api::helmrepository::RepositoryArtifact;
use crate::api::{Condition, ConditionStatus, HelmRepository};
use crate::controller::events;
use crate::controller::sources::SourceError;
use crate::controller::status::{FIELD_MANAGER, StatusError};
use crate::repo::{FetchError, RefreshError};

/// The condition reason for a failed fetch.
pub fn failure_reason(err: &SourceError) -> &'static str {
    use crate::repo::PullError;
    match err {
        SourceError::SecretNotFound { .. } | SourceError::SecretKeyMissing { .. } => {
            "CredentialsNotFound"
        }
        SourceError::Client { .. } | SourceError::InvalidTimeout { .. } => "InvalidConfiguration",
        SourceError::Pull { source, .. } => match source.as_ref() {
            PullError::Refresh(RefreshError::InvalidIndex { .. }) => "InvalidIndex",
            PullError::Refresh(RefreshError::Fetch(f)) => fetch_reason(f),
            _ => "IndexFetchFailed",
        },
        _ => "IndexFetchFailed",
    }
}

pub(super) fn fetch_reason(f: &FetchError) -> &'static str {
    match f {
        FetchError::Status {
            status: 401 | 403, ..
        } => "Unauthorized",
        FetchError::Status { .. } => "HTTPError",
        FetchError::Unreachable { .. } => "Unreachable",
        FetchError::Timeout { .. } => "Timeout",
        FetchError::Truncated { .. } => "Truncated",
        FetchError::TooLarge { .. } => "TooLarge",
        FetchError::InvalidUrl { .. } | FetchError::Tls(_) | FetchError::Client(_) => {
            "InvalidConfiguration"
        }
    }
}

pub(super) fn current_artifact(obj: &HelmRepository) -> Option<RepositoryArtifact> {
    obj.status.as_ref().and_then(|s| s.artifact.clone())
}

pub(super) fn suspended_condition(obj: &HelmRepository) -> Condition {
    let previous = obj
        .status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == READY));
    match previous {
        Some(c) => Condition {
            observed_generation: obj.metadata.generation,
            ..c.clone()
        },
        None => condition(
            obj,
            ConditionStatus::Unknown,
            "Suspended",
            "fetching is suspended",
        ),
    }
}

/// The Ready condition, keeping the transition time when the status stays.
pub(super) fn condition(
    obj: &HelmRepository,
    status: ConditionStatus,
    reason: &str,
    message: &str,
) -> Condition {
    let previous = obj
        .status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == READY));
    let last_transition_time = match previous {
        Some(c) if c.status == status => c.last_transition_time.clone(),
        _ => now_rfc3339(),
    };
    Condition {
        type_: READY.into(),
        status,
        reason: reason.into(),
        message: message.into(),
        last_transition_time,
        observed_generation: obj.metadata.generation,
    }
}

pub(super) fn now_rfc3339() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Applies the status rudder owns: Ready, artifact, observedGeneration.
pub(super) async fn write_status(
    ctx: &Context,
    obj: &HelmRepository,
    ready: Condition,
    artifact: Option<RepositoryArtifact>,
) -> Result<(), RepositoryError> {
    let (Some(namespace), name) = (obj.namespace(), obj.name_any()) else {
        return Err(StatusError::Unnamed { kind: KIND.into() }.into());
    };
    let status = HelmRepositoryStatus {
        conditions: vec![ready],
        observed_generation: obj.metadata.generation,
        artifact,
    };
    // A fetch that changed nothing (same index, same condition) writes
    // nothing: an idle repository makes no API writes.
    if obj.status.as_ref() == Some(&status) {
        return Ok(());
    }
    let patch = serde_json::json!({
        "apiVersion": HelmRepository::api_version(&()),
        "kind": KIND,
        "status": status,
    });
    let api: Api<HelmRepository> = Api::namespaced(ctx.client.clone(), &namespace);
    let params = PatchParams::apply(FIELD_MANAGER).force();
    api.patch_status(&name, &params, &Patch::Apply(&patch))
        .await
        .map(|_| ())
        .map_err(|source| {
            StatusError::Patch {
                kind: KIND.into(),
                namespace,
                name,
                source,
            }
            .into()
        })
}

/// Publishes an Event about `obj` (failures are logged, not fatal).
pub(super) async fn publish(
    ctx: &Context,
    obj: &HelmRepository,
    type_: EventType,
    reason: &str,
    action: &str,
    note: String,
) {
    events::publish(&ctx.client, obj, type_, reason, action, note).await;
}
