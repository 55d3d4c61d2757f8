//! `spec.test` (Helm's `helm test`): after a revision goes live, its test
//! hooks (those `spec.test.filters` select) run as Helm runs them, in
//! weight order with their delete policies. How each ran is recorded in
//! the revision's record (`helm status` shows the test suite), the
//! `TestSuccess` condition and `status.history` say the result, and a
//! failed test fails the reconciliation (`TestFailed`, counted and
//! remediated like a failed upgrade) unless `spec.test.ignoreFailures` or
//! `remediation.ignoreTestFailures` is set.

use kube::runtime::events::EventType;

use super::install::{record_runs, to_hook};
use super::{Job, send, timeout_of};
use crate::api::duration::parse_duration;
use crate::controller::release_status::{Attempt, Outcome};
use crate::release::StoredRelease;
use crate::render::manifest::Hook;

/// Reason of a failed test run.
pub const TEST_FAILED: &str = "TestFailed";

/// Runs the tests of the revision `outcome` made live, if `spec.test`
/// asks; returns the outcome as the tests leave it.
pub(super) async fn after_release(
    job: &Job<'_>,
    hist: &mut [StoredRelease],
    outcome: Outcome,
    upgrade: bool,
    attempt: &mut Attempt,
) -> Outcome {
    let went_live = matches!(&outcome, Outcome::Ready { reason, .. }
        if reason == "InstallSucceeded" || reason == "UpgradeSucceeded");
    if !went_live || !enabled(job) {
        return outcome;
    }
    run(job, hist, outcome, upgrade, attempt).await
}

/// Whether `spec.test.enable` is set.
pub(super) fn enabled(job: &Job<'_>) -> bool {
    job.obj.spec.test.as_ref().is_some_and(|t| t.enable)
}

/// Runs the live revision's selected tests and records them; `passed` is
/// the outcome when they pass.
pub(super) async fn run(
    job: &Job<'_>,
    hist: &mut [StoredRelease],
    passed: Outcome,
    upgrade: bool,
    attempt: &mut Attempt,
) -> Outcome {
    let live = super::decide::live_version(hist);
    let Some(idx) = hist.iter().position(|s| Some(s.release.version) == live) else {
        return passed;
    };
    let opts = job.obj.spec.test.clone().unwrap_or_default();
    let version = hist[idx].release.version;
    job.phase(format!("running the tests of revision {version}"));
    let hooks: Vec<Hook> = hist[idx]
        .release
        .hooks
        .iter()
        .filter(|h| opts.selects(&h.name))
        .map(to_hook)
        .collect();
    let timeout = opts
        .timeout
        .as_deref()
        .and_then(|t| parse_duration(t).ok())
        .unwrap_or_else(|| timeout_of(job.obj));
    let mut runs = Vec::new();
    let phases = job.phases();
    let result =
        send(
            job.ap
                .run_hooks_logged(&hooks, "test", &job.n.target, timeout, &mut runs, &phases),
        )
        .await;
    record_runs(&mut hist[idx].release.hooks, &runs);
    let s = &hist[idx];
    if let Err(e) = job.store.update(&s.release, &s.annotations).await {
        tracing::warn!(error = %e, release = %job.n.release, "recording the test run");
    }
    match result {
        Ok(()) => {
            let message = format!("{} test(s) of revision {version} passed", runs.len());
            super::publish(
                job.ctx,
                job.obj,
                EventType::Normal,
                "TestSucceeded",
                "Test",
                message.clone(),
            )
            .await;
            attempt.tested = Some((true, message));
            passed
        }
        Err(e) => {
            let message = format!("test of revision {version} failed: {e}");
            tracing::warn!(release = %job.n.release, namespace = %job.n.target, "{message}");
            attempt.tested = Some((false, message.clone()));
            let ignore =
                opts.ignore_failures || job.obj.spec.remediation(upgrade).ignore_test_failures;
            if ignore {
                super::publish(
                    job.ctx,
                    job.obj,
                    EventType::Warning,
                    TEST_FAILED,
                    "Test",
                    message,
                )
                .await;
                return passed;
            }
            Outcome::Failed {
                reason: TEST_FAILED.into(),
                message,
                stalled: false,
            }
        }
    }
}
