//! The release reconciler's decisions, pure: from the HelmRelease (spec
//! and status), the release's history and, when the spec is followed, the
//! digests of what it asks for, the release's [`State`] and the [`Next`]
//! action. No I/O happens here: the actions (one file each) write, and
//! every transition is unit-tested below on in-memory histories.

use std::collections::BTreeMap;

use crate::api::HelmRelease;
use crate::api::condition::{ConditionStatus, READY, TEST_SUCCESS};
use crate::controller::release_failure::Failure;
use crate::controller::release_status::{self, Outcome};
use crate::release::Status;
use crate::release::history;
use crate::release::store::{CHART_DIGEST, OPTIONS_DIGEST, StoredRelease, VALUES_DIGEST};

use super::{RESET_AT, RETRIES_EXHAUSTED};

/// Where a release stands against its HelmRelease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    /// No revision is deployed (never installed, or every attempt failed).
    Absent,
    /// Revision `n` is deployed and made from what the spec asks for.
    InSync(i64),
    /// The spec asks for something else than the live revision (if any).
    OutOfSync(Option<i64>),
    /// `spec.revision` pins `target`, which is live.
    Pinned(i64),
    /// `spec.revision` pins `target`; `live` (if any) is another revision.
    RollbackRequested { target: i64, live: Option<i64> },
    /// `spec.revision` pins a revision that is not recorded.
    PinnedMissing(i64),
}

/// What to do next.
#[derive(Clone, Debug, PartialEq)]
pub enum Next {
    /// Nothing: the outcome to report.
    Report(Outcome),
    /// A first install.
    Install,
    /// An upgrade of live revision `live`.
    Upgrade { live: i64 },
    /// Make `target` live again (no new revision number).
    Rollback { target: i64, live: Option<i64> },
    /// Run the live revision's tests again (they failed, and retries
    /// remain); `ready` is the outcome should they pass.
    Test { ready: Outcome },
}

/// A record to rewrite before anything else: left pending by a dead run,
/// or deployed beside a newer deployed one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fix {
    pub version: i64,
    pub status: Status,
    pub description: String,
}

/// The records to fix before acting (oldest first).
pub fn recovery(hist: &[StoredRelease]) -> Vec<Fix> {
    let newest_deployed = live_version(hist);
    hist.iter()
        .map(|s| &s.release)
        .filter_map(|r| {
            if r.status().is_pending() {
                Some(Fix {
                    version: r.version,
                    status: Status::Failed,
                    description: format!("{} interrupted (rudder stopped); redone", r.status()),
                })
            } else if r.status() == Status::Deployed && Some(r.version) != newest_deployed {
                Some(Fix {
                    version: r.version,
                    status: Status::Superseded,
                    description: r.info.description.clone(),
                })
            } else {
                None
            }
        })
        .collect()
}

/// A record to park (hide from Helm) or unpark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Park {
    pub version: i64,
    pub parked: bool,
}

/// The changes that leave parked exactly the records newer than `after`
/// (none when `None`), oldest first.
pub fn parking(hist: &[StoredRelease], after: Option<i64>) -> Vec<Park> {
    hist.iter()
        .filter_map(|s| {
            let version = s.release.version;
            let parked = after.is_some_and(|a| version > a);
            (s.parked != parked).then_some(Park { version, parked })
        })
        .collect()
}

/// After which revision records stay parked, whatever a dead run left
/// half done: after the live revision when some record newer than it is
/// parked (a rollback made it live again), else after none. Applied with
/// [`parking`], a consistent history is left as it is.
pub fn parked_after(hist: &[StoredRelease]) -> Option<i64> {
    let live = live_version(hist)?;
    hist.iter()
        .any(|s| s.parked && s.release.version > live)
        .then_some(live)
}

/// The live (deployed) revision, the newest should several claim it.
pub fn live_version(hist: &[StoredRelease]) -> Option<i64> {
    history::deployed(hist.iter().map(|s| &s.release)).map(|r| r.version)
}

/// The live record.
pub fn live(hist: &[StoredRelease]) -> Option<&StoredRelease> {
    hist.iter()
        .filter(|s| s.release.status() == Status::Deployed)
        .max_by_key(|s| s.release.version)
}

/// The state of a release pinned to `target` by `spec.revision`.
pub fn pinned_state(hist: &[StoredRelease], target: i64) -> State {
    let live = live_version(hist);
    if !hist.iter().any(|s| s.release.version == target) {
        State::PinnedMissing(target)
    } else if live == Some(target) {
        State::Pinned(target)
    } else {
        State::RollbackRequested { target, live }
    }
}

/// The state of a release following its spec, whose inputs digest to
/// `want` (chart, values and options digests).
pub fn following_state(hist: &[StoredRelease], want: &BTreeMap<String, String>) -> State {
    match live(hist) {
        Some(l) if same_inputs(l, want) => State::InSync(l.release.version),
        Some(l) => State::OutOfSync(Some(l.release.version)),
        None if hist.is_empty() => State::Absent,
        None => State::OutOfSync(None),
    }
}

/// Whether record `s` was made from the inputs digested in `want`.
pub fn same_inputs(s: &StoredRelease, want: &BTreeMap<String, String>) -> bool {
    [CHART_DIGEST, VALUES_DIGEST, OPTIONS_DIGEST]
        .iter()
        .all(|k| s.annotation(k).is_some() && s.annotation(k) == want.get(*k).map(String::as_str))
}

/// What a pinned release does next.
pub fn next_pinned(state: &State, release: &str) -> Next {
    match *state {
        State::PinnedMissing(revision) => Next::Report(
            Failure::RevisionNotFound {
                revision,
                release: release.to_string(),
            }
            .into(),
        ),
        State::RollbackRequested { target, live } => Next::Rollback { target, live },
        State::Pinned(target) => Next::Report(Outcome::Ready {
            reason: "Pinned".into(),
            message: pinned_message(target),
        }),
        _ => Next::Report(Outcome::Ready {
            reason: "UpToDate".into(),
            message: String::new(),
        }),
    }
}

/// The Ready message of a release pinned to `target`.
pub fn pinned_message(target: i64) -> String {
    format!(
        "spec.revision pins revision {target}; chart and values changes are not applied until it is cleared"
    )
}

/// What a release following its spec does next: nothing when in sync,
/// nothing while the retries of these inputs (digested as `digest`) are
/// exhausted, else install or upgrade. `reset` clears the failure count
/// (the reset annotation was set).
pub fn next_following(
    obj: &HelmRelease,
    state: &State,
    hist: &[StoredRelease],
    digest: &str,
    reset: bool,
) -> Next {
    // Tries of these inputs left, or the stall that says there are none.
    let tries_left = |upgrade: bool| {
        let failures = release_status::failures_for(obj, digest, reset);
        let allowed = i64::from(obj.spec.remediation(upgrade).retries);
        if failures > allowed {
            Err(Next::Report(retries_exhausted(
                obj, failures, allowed, upgrade,
            )))
        } else {
            Ok(())
        }
    };
    let live = match *state {
        State::InSync(_) => {
            let message = live(hist)
                .map(|l| format!("{} is live", release_status::describe(&l.release)))
                .unwrap_or_default();
            let ready = Outcome::Ready {
                reason: release_status::UP_TO_DATE.into(),
                message,
            };
            if !tests_failed(obj) {
                return Next::Report(ready);
            }
            return match tries_left(hist.len() > 1) {
                Ok(()) => Next::Test { ready },
                Err(stalled) => stalled,
            };
        }
        State::OutOfSync(live) => live,
        _ => None,
    };
    if let Err(stalled) = tries_left(live.is_some()) {
        return stalled;
    }
    match live {
        Some(live) => Next::Upgrade { live },
        None => Next::Install,
    }
}

/// Whether the live revision's tests failed and that counts: tests
/// enabled, failures not ignored, `TestSuccess=False`.
fn tests_failed(obj: &HelmRelease) -> bool {
    let Some(t) = obj.spec.test.as_ref().filter(|t| t.enable) else {
        return false;
    };
    let ignored = t.ignore_failures
        || obj.spec.remediation(true).ignore_test_failures
        || obj.spec.remediation(false).ignore_test_failures;
    !ignored
        && obj.status.as_ref().is_some_and(|s| {
            s.conditions
                .iter()
                .any(|c| c.type_ == TEST_SUCCESS && c.status == ConditionStatus::False)
        })
}

/// Stalled: `failures` failed installs/upgrades, more than `retries` allow.
fn retries_exhausted(obj: &HelmRelease, failures: i64, retries: i64, upgrade: bool) -> Outcome {
    let last = obj
        .status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == READY));
    let message = match last.filter(|c| c.reason == RETRIES_EXHAUSTED) {
        Some(c) => c.message.clone(),
        None => {
            let verb = if upgrade { "upgrade" } else { "install" };
            let cause = last.map(|c| c.message.as_str()).unwrap_or_default();
            format!(
                "{verb} failed {failures} time(s) (remediation retries: {retries}); not retrying until the chart, the values (spec or valuesFrom) or the options change, or the {RESET_AT} annotation is set. Last failure: {cause}"
            )
        }
    };
    Outcome::Failed {
        reason: RETRIES_EXHAUSTED.into(),
        message,
        stalled: true,
    }
}

#[cfg(test)]
mod tests;
