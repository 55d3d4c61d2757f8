//! Remediation of a failed install, upgrade or test, as the action's
//! `remediation.strategy` says: `retry` leaves the failed revision in
//! place; `rollback` makes the previously live revision live again (no new
//! revision number; the failed record stays `failed`); `uninstall` removes
//! the release's objects and marks its records `uninstalled`. An install
//! has nothing to roll back to and is uninstalled. The failure that uses
//! up the retries is remediated too unless `remediateLastFailure: false`.
//! The failure stays the outcome (Ready=False); `Remediated` says what was
//! done, with an event.

use kube::runtime::events::EventType;

use super::uninstall::remove_release;
use super::{Job, decide, rollback, send};
use crate::api::helmrelease::RemediationStrategy;
use crate::controller::release_status::{Attempt, Outcome};
use crate::release::history::now_rfc3339;
use crate::release::{Status, StoredRelease};

/// Remediates `outcome` if it is a failed install/upgrade/test and the
/// strategy asks; `failures` counts this failure.
pub(super) async fn after_failure(
    job: &Job<'_>,
    hist: &mut [StoredRelease],
    outcome: Outcome,
    upgrade: bool,
    failures: i64,
    attempt: &mut Attempt,
) -> Outcome {
    let Outcome::Failed { reason, .. } = &outcome else {
        return outcome;
    };
    if !matches!(
        reason.as_str(),
        "InstallFailed" | "UpgradeFailed" | "TestFailed"
    ) {
        return outcome;
    }
    let r = job.obj.spec.remediation(upgrade);
    let last = failures > i64::from(r.retries);
    if r.strategy == RemediationStrategy::Retry || (last && !r.remediates_last()) {
        return outcome;
    }
    let failed = hist.last().map(|s| s.release.version).unwrap_or(0);
    // The failed record is not deployed: the live one is the previous.
    let previous = decide::live_version(hist);
    let done = match (r.strategy, previous) {
        (RemediationStrategy::Rollback, Some(prev)) => roll_back(job, hist, prev, failed).await,
        _ => uninstall(job, hist, failed).await,
    };
    match done {
        Ok((reason, message)) => {
            super::publish(
                job.ctx,
                job.obj,
                EventType::Normal,
                reason,
                "Remediate",
                message.clone(),
            )
            .await;
            attempt.remediated = Some((reason.to_string(), message));
        }
        Err(message) => {
            tracing::error!(release = %job.n.release, namespace = %job.n.target, "{message}");
            super::publish(
                job.ctx,
                job.obj,
                EventType::Warning,
                "RemediationFailed",
                "Remediate",
                message,
            )
            .await;
        }
    }
    outcome
}

/// Makes `prev` live again in place of the failed revision.
async fn roll_back(
    job: &Job<'_>,
    hist: &mut [StoredRelease],
    prev: i64,
    failed: i64,
) -> Result<(&'static str, String), String> {
    match rollback::run(job, hist, prev, Some(failed)).await {
        Outcome::Ready { .. } => Ok((
            "RolledBack",
            format!("revision {failed} failed; rolled back to revision {prev}"),
        )),
        other => Err(format!(
            "revision {failed} failed and rolling back to revision {prev} failed too: {}",
            other.message()
        )),
    }
}

/// Removes the objects of the failed revision and of the live one, and
/// marks their records `uninstalled`.
async fn uninstall(
    job: &Job<'_>,
    hist: &mut [StoredRelease],
    failed: i64,
) -> Result<(&'static str, String), String> {
    job.phase(format!(
        "uninstalling the release after revision {failed} failed"
    ));
    let live = decide::live_version(hist);
    for v in [live, Some(failed)].into_iter().flatten() {
        let Some(s) = hist.iter_mut().find(|s| s.release.version == v) else {
            continue;
        };
        send(remove_release(&job.ap, job.obj, job.n, &s.release))
            .await
            .map_err(|e| format!("revision {failed} failed and uninstalling it failed too: {e}"))?;
        s.release.info.status = Status::Uninstalled;
        s.release.info.deleted = now_rfc3339();
        s.release.info.description = format!("Uninstalled: revision {failed} failed (remediation)");
        job.store
            .update(&s.release, &s.annotations)
            .await
            .map_err(|e| format!("recording the uninstall: {e}"))?;
    }
    Ok((
        "Uninstalled",
        format!("revision {failed} failed; the release was uninstalled"),
    ))
}
