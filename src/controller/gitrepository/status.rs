//! What the GitRepository reconciler reports: the `Ready` condition and
//! its reasons, the artifact, the status write (server-side apply) and
//! events.

use kube::api::{Patch, PatchParams};
use kube::runtime::events::EventType;
use kube::{Api, Resource, ResourceExt};

use super::{Context, GitRepositoryError, KIND};
use crate::api::condition::READY;
use crate::api::gitrepository::{GitArtifact, GitRepositoryStatus};
use crate::api::{Condition, ConditionStatus, GitRepository};
use crate::controller::events;
use crate::controller::sources::SourceError;
use crate::controller::status::{FIELD_MANAGER, StatusError};
use crate::repo::git::{GitError, RefError};

/// The condition reason for a failed sync.
pub fn failure_reason(err: &SourceError) -> &'static str {
    match err {
        SourceError::GitCredentials { .. } | SourceError::SecretKeyMissing { .. } => {
            "CredentialsNotFound"
        }
        SourceError::InvalidTimeout { .. } => "InvalidConfiguration",
        SourceError::Git { source, .. } => git_reason(source),
        _ => "FetchFailed",
    }
}

fn git_reason(e: &GitError) -> &'static str {
    match e {
        GitError::InvalidUrl { .. } | GitError::InvalidRef { .. } => "InvalidConfiguration",
        GitError::Unreachable { .. } => "Unreachable",
        GitError::Unauthorized { .. } => "Unauthorized",
        GitError::Ref { source, .. } => match source {
            RefError::InvalidConstraint { .. } => "InvalidConfiguration",
            RefError::NotFound { .. } | RefError::NoSemverMatch { .. } => "RefNotFound",
        },
        GitError::Timeout { .. } => "Timeout",
        GitError::Fetch { .. } => "FetchFailed",
        GitError::Local { .. } | GitError::Tree { .. } => "StorageFailed",
    }
}

pub(super) fn current_artifact(obj: &GitRepository) -> Option<GitArtifact> {
    obj.status.as_ref().and_then(|s| s.artifact.clone())
}

pub(super) fn suspended_condition(obj: &GitRepository) -> Condition {
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
    obj: &GitRepository,
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
    obj: &GitRepository,
    ready: Condition,
    artifact: Option<GitArtifact>,
) -> Result<(), GitRepositoryError> {
    let (Some(namespace), name) = (obj.namespace(), obj.name_any()) else {
        return Err(StatusError::Unnamed { kind: KIND.into() }.into());
    };
    let status = GitRepositoryStatus {
        conditions: vec![ready],
        observed_generation: obj.metadata.generation,
        artifact,
    };
    // An unchanged ref writes nothing: an idle repository makes no API writes.
    if obj.status.as_ref() == Some(&status) {
        return Ok(());
    }
    let patch = serde_json::json!({
        "apiVersion": GitRepository::api_version(&()),
        "kind": KIND,
        "status": status,
    });
    let api: Api<GitRepository> = Api::namespaced(ctx.client.clone(), &namespace);
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
    obj: &GitRepository,
    type_: EventType,
    reason: &str,
    note: String,
) {
    events::publish(&ctx.client, obj, type_, reason, "FetchRevision", note).await;
}
