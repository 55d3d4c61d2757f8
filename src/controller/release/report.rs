//! Reporting an outcome: the status (written only when it differs), a
//! Warning event and a warn log line for every new failure, the release
//! gauge; and the event publisher the actions share.

use kube::api::{Patch, PatchParams};
use kube::runtime::events::EventType;
use kube::{Api, Resource as _, ResourceExt};

use super::{KIND, ReleaseError};
use crate::api::HelmRelease;
use crate::controller::Context;
use crate::controller::events;
use crate::controller::ownership::Names;
use crate::controller::release_status::{self, Attempt, Outcome};
use crate::controller::status::FIELD_MANAGER;
use crate::release::StoredRelease;
use crate::release::history;

/// Writes the status `outcome`, `attempt` and `hist` make, with a Warning
/// event when it reports a new failure, and updates the release gauge.
/// `progressed`: phases were written during the reconciliation, so the
/// status is written even if it equals the one the reconciliation read.
pub(super) async fn report(
    ctx: &Context,
    obj: &HelmRelease,
    n: &Names,
    hist: &[StoredRelease],
    outcome: &Outcome,
    attempt: &Attempt,
    progressed: bool,
) -> Result<(), ReleaseError> {
    ctx.metrics.set_release_status(
        &format!("{}/{}", n.namespace, obj.name_any()),
        history::deployed(hist.iter().map(|s| &s.release))
            .map(|r| r.status().as_str())
            .unwrap_or("none"),
    );
    let status = release_status::compute(obj, hist, outcome, attempt);
    if !progressed && !release_status::differs(obj.status.as_ref(), &status) {
        // The steady state writes nothing.
        return Ok(());
    }
    if let Outcome::Failed {
        reason, message, ..
    } = outcome
    {
        // Every refusal is visible: one Warning event per new failure,
        // with the condition's reason (the error policy logs and counts it).
        publish(
            ctx,
            obj,
            EventType::Warning,
            reason,
            "Reconcile",
            message.clone(),
        )
        .await;
    }
    write_status(ctx, obj, &status).await
}

/// Applies `status` (server-side apply of the status subresource).
async fn write_status(
    ctx: &Context,
    obj: &HelmRelease,
    status: &crate::api::HelmReleaseStatus,
) -> Result<(), ReleaseError> {
    apply_status(&ctx.client, obj, status)
        .await
        .map_err(|e| ReleaseError::Status(obj.name_any(), Box::new(e)))
}

/// The one status write of the reconciler (final outcomes and phases
/// alike): server-side apply of `status` as rudder's status manager.
pub(super) async fn apply_status(
    client: &kube::Client,
    obj: &HelmRelease,
    status: &crate::api::HelmReleaseStatus,
) -> Result<(), kube::Error> {
    let api: Api<HelmRelease> =
        Api::namespaced(client.clone(), &obj.namespace().unwrap_or_default());
    let patch = serde_json::json!({
        "apiVersion": HelmRelease::api_version(&()),
        "kind": KIND,
        "status": status,
    });
    api.patch_status(
        &obj.name_any(),
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await
    .map(|_| ())
}

/// Publishes an Event about `obj` (failures are logged).
pub(super) async fn publish(
    ctx: &Context,
    obj: &HelmRelease,
    type_: EventType,
    reason: &str,
    action: &str,
    note: String,
) {
    events::publish(&ctx.client, obj, type_, reason, action, note).await;
}
