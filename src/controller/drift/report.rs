//! What drift detection tells: the `Drifted` condition, written with its
//! own field manager (`rudder-drift`) so it coexists with the reconciler's
//! status apply (conditions are a list keyed by type: each manager owns its
//! entries), events about the HelmRelease, and the writes they cost in
//! `rudder_api_writes_total`.

use kube::api::{Patch, PatchParams};
use kube::runtime::events::EventType;
use kube::{Api, Resource as _, ResourceExt};

use crate::api::HelmRelease;
use crate::api::condition::{ConditionStatus, DRIFTED};
use crate::controller::Context;
use crate::controller::events;
use crate::controller::release_status::condition;

/// Field manager of the `Drifted` condition.
pub const FIELD_MANAGER: &str = "rudder-drift";

/// The `Drifted` condition drift detection wants: status, reason, message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Drifted {
    pub status: ConditionStatus,
    pub reason: String,
    pub message: String,
}

impl Drifted {
    /// The condition of a release whose objects match the deployed revision.
    pub fn none() -> Drifted {
        Drifted {
            status: ConditionStatus::False,
            reason: "NoDrift".into(),
            message: "the objects match the deployed revision".into(),
        }
    }

    /// The condition `obj`'s status shows, if any.
    pub fn current(obj: &HelmRelease) -> Option<Drifted> {
        let c = obj
            .status
            .as_ref()?
            .conditions
            .iter()
            .find(|c| c.type_ == DRIFTED)?;
        Some(Drifted {
            status: c.status,
            reason: c.reason.clone(),
            message: c.message.clone(),
        })
    }
}

/// Whether `want` must be written over `shown` (the condition last written
/// or shown): a change, and never a first `False` (a release that never
/// drifted carries no condition, so the steady state writes nothing).
pub fn needs_write(shown: Option<&Drifted>, want: &Drifted) -> bool {
    match shown {
        None => want.status == ConditionStatus::True,
        Some(s) => s != want,
    }
}

/// Applies the `Drifted` condition to `obj`'s status.
pub async fn write_condition(
    ctx: &Context,
    obj: &HelmRelease,
    want: &Drifted,
) -> Result<(), kube::Error> {
    let old = obj.status.clone().unwrap_or_default();
    let c = condition(
        &old,
        obj.metadata.generation,
        DRIFTED,
        want.status,
        &want.reason,
        &want.message,
    );
    let patch = serde_json::json!({
        "apiVersion": HelmRelease::api_version(&()),
        "kind": HelmRelease::kind(&()),
        "status": {"conditions": [c]},
    });
    let api: Api<HelmRelease> =
        Api::namespaced(ctx.client.clone(), &obj.namespace().unwrap_or_default());
    api.patch_status(
        &obj.name_any(),
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await
    .map(|_| ())
}

/// Publishes an event about `obj` (counted as a write).
pub async fn event(ctx: &Context, obj: &HelmRelease, type_: EventType, reason: &str, note: String) {
    events::publish(&ctx.client, obj, type_, reason, "DriftCheck", note).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drifted() -> Drifted {
        Drifted {
            status: ConditionStatus::True,
            reason: "DriftDetected".into(),
            message: "Service a/web: deleted".into(),
        }
    }

    #[test]
    fn a_release_that_never_drifted_gets_no_condition() {
        assert!(!needs_write(None, &Drifted::none()));
        assert!(needs_write(None, &drifted()));
    }

    #[test]
    fn only_changes_are_written() {
        assert!(!needs_write(Some(&drifted()), &drifted()));
        assert!(needs_write(Some(&drifted()), &Drifted::none()));
        assert!(!needs_write(Some(&Drifted::none()), &Drifted::none()));
    }
}
