//! The status of a HelmRelease computed from its release history and the
//! outcome of the last reconciliation: conditions Ready / Released /
//! Reconciling / Stalled, the live revision, the last attempted one, the
//! chart of the live revision and recent history. Pure; written only when
//! it differs from the current status (the steady state writes nothing).

use crate::api::condition::{
    Condition, ConditionStatus, DRIFTED, READY, RECONCILING, RELEASED, REMEDIATED, STALLED,
    TEST_SUCCESS,
};
use crate::api::helmrelease::{HelmRelease, HelmReleaseStatus, HistoryEntry};
use crate::controller::sources::SOURCE_REVISION;
use crate::release::store::{StoredRelease, VALUES_DIGEST};
use crate::release::{Release, Status};

/// Number of revisions listed in `status.history`.
const HISTORY_LEN: usize = 10;

/// What the last reconciliation concluded.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The desired state is live.
    Ready {
        /// Reason (`InstallSucceeded`, `UpgradeSucceeded`, `UpToDate`, `RollbackSucceeded`, `Pinned`).
        reason: String,
        /// Message.
        message: String,
    },
    /// It failed; `stalled` when retrying cannot help without a spec change.
    Failed {
        /// Reason (`RenderFailed`, `ChartNotFound`, `UpgradeFailed`, ...).
        reason: String,
        /// Message.
        message: String,
        /// Whether it is stalled.
        stalled: bool,
    },
    /// Nothing was attempted: a precondition (`dependsOn`) is not met yet.
    Waiting {
        /// Reason (`DependencyNotReady`).
        reason: String,
        /// Message naming what is awaited.
        message: String,
    },
}

impl Outcome {
    /// The message of any outcome.
    pub fn message(&self) -> &str {
        match self {
            Outcome::Ready { message, .. }
            | Outcome::Failed { message, .. }
            | Outcome::Waiting { message, .. } => message,
        }
    }
}

/// What one reconciliation adds to its outcome for the status: the
/// digest of the inputs it attempted, a remediation it ran, a test run,
/// and the annotations it acted upon.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Attempt {
    /// Digest of the inputs (chart, values, options) followed, if any.
    pub digest: Option<String>,
    /// A remediation that ran: (reason, message).
    pub remediated: Option<(String, String)>,
    /// A test run of the live revision: (passed, message).
    pub tested: Option<(bool, String)>,
    /// The `reset-at` annotation value acted upon.
    pub reset_at: Option<String>,
    /// The `requested-at` annotation value acted upon.
    pub requested_at: Option<String>,
}

/// The status for `obj` given its history (oldest first), `outcome` and
/// what the attempt adds.
pub fn compute(
    obj: &HelmRelease,
    history: &[StoredRelease],
    outcome: &Outcome,
    attempt: &Attempt,
) -> HelmReleaseStatus {
    let old = obj.status.clone().unwrap_or_default();
    let generation = obj.metadata.generation;
    let live = crate::release::history::deployed(history.iter().map(|s| &s.release));
    let latest = history.last().map(|s| &s.release);
    let (failures, failed_digest) = count_failures(obj, outcome, attempt);
    let mut status = HelmReleaseStatus {
        observed_generation: generation,
        revision: live.map(|r| r.version),
        last_attempted_revision: latest.map(|r| r.version).or(old.last_attempted_revision),
        chart_name: live.map(|r| r.chart_name().to_string()),
        chart_version: live.map(|r| r.chart_version().to_string()),
        app_version: live
            .map(|r| r.app_version().to_string())
            .filter(|s| !s.is_empty()),
        source_revision: live.and_then(|l| source_revision(history, l.version)),
        history: history
            .iter()
            .rev()
            .take(HISTORY_LEN)
            .map(history_entry)
            .collect(),
        failures,
        failed_digest,
        last_handled_reset_at: attempt
            .reset_at
            .clone()
            .or(old.last_handled_reset_at.clone()),
        last_handled_requested_at: attempt
            .requested_at
            .clone()
            .or(old.last_handled_requested_at.clone()),
        conditions: Vec::new(),
    };
    let released_now = released_message(history, live);
    let shown = shown_ready(&old, generation, live.map(|r| r.version));
    let (ready, released, stalled) = match outcome {
        Outcome::Waiting { reason, message } => (
            (ConditionStatus::False, reason.as_str(), message.as_str()),
            match live {
                Some(_) => (ConditionStatus::True, "Deployed", released_now.as_str()),
                None => (ConditionStatus::False, reason.as_str(), message.as_str()),
            },
            None,
        ),
        // Found unchanged: the Ready that the status shows already (the
        // action that made it Ready) stays, so nothing is written.
        Outcome::Ready { reason, .. } if reason == UP_TO_DATE && shown.is_some() => {
            let (reason, message) = shown.unwrap_or_default();
            (
                (ConditionStatus::True, reason, message),
                (ConditionStatus::True, reason, message),
                None,
            )
        }
        Outcome::Ready { reason, message } => (
            (ConditionStatus::True, reason.as_str(), message.as_str()),
            (ConditionStatus::True, reason.as_str(), message.as_str()),
            None,
        ),
        Outcome::Failed {
            reason,
            message,
            stalled,
        } => (
            (ConditionStatus::False, reason.as_str(), message.as_str()),
            match live {
                Some(_) => (ConditionStatus::True, "Deployed", released_now.as_str()),
                None => (ConditionStatus::False, reason.as_str(), message.as_str()),
            },
            stalled.then_some((reason.as_str(), message.as_str())),
        ),
    };
    let mut conds = vec![
        condition(&old, generation, READY, ready.0, ready.1, ready.2),
        condition(
            &old, generation, RELEASED, released.0, released.1, released.2,
        ),
        condition(
            &old,
            generation,
            RECONCILING,
            ConditionStatus::False,
            "Idle",
            "",
        ),
    ];
    if let Some((reason, message)) = stalled {
        conds.push(condition(
            &old,
            generation,
            STALLED,
            ConditionStatus::True,
            reason,
            message,
        ));
    }
    conds.extend(test_condition(&old, generation, outcome, attempt));
    conds.extend(remediated_condition(&old, generation, outcome, attempt));
    status.conditions = conds;
    status
}

/// The reason a release found unchanged is Ready for.
pub const UP_TO_DATE: &str = "UpToDate";

/// The reason and message of the `Ready=True` that `old` shows for
/// `generation` with revision `live` live, if it does.
fn shown_ready(
    old: &HelmReleaseStatus,
    generation: Option<i64>,
    live: Option<i64>,
) -> Option<(&str, &str)> {
    if live.is_none() || old.revision != live || old.observed_generation != generation {
        return None;
    }
    old.conditions
        .iter()
        .find(|c| c.type_ == READY && c.status == ConditionStatus::True)
        .map(|c| (c.reason.as_str(), c.message.as_str()))
}

/// The Git revision recorded on revision `version`'s record, if any.
fn source_revision(history: &[StoredRelease], version: i64) -> Option<String> {
    history
        .iter()
        .find(|s| s.release.version == version)
        .and_then(|s| s.annotation(SOURCE_REVISION))
        .map(str::to_string)
}

/// The status while an action runs: `Reconciling=True` with the phase,
/// `Ready=Unknown` (the new revision is not live yet), everything else as
/// it was (but `Drifted`, which drift detection owns); `observedGeneration`
/// current.
pub fn progressing(obj: &HelmRelease, phase: &str) -> HelmReleaseStatus {
    let old = obj.status.clone().unwrap_or_default();
    let generation = obj.metadata.generation;
    let mut status = old.clone();
    status.observed_generation = generation;
    let mut set = |type_: &str, st: ConditionStatus, reason: &str, message: &str| {
        let c = condition(&old, generation, type_, st, reason, message);
        match status.conditions.iter_mut().find(|c| c.type_ == type_) {
            Some(slot) => *slot = c,
            None => status.conditions.push(c),
        }
    };
    set(READY, ConditionStatus::Unknown, "Progressing", phase);
    set(RECONCILING, ConditionStatus::True, "Progressing", phase);
    status
        .conditions
        .retain(|c| c.type_ != STALLED && c.type_ != DRIFTED);
    status
}

/// `TestSuccess`: set by a test run; dropped when a new revision went
/// live untested; kept otherwise.
fn test_condition(
    old: &HelmReleaseStatus,
    generation: Option<i64>,
    outcome: &Outcome,
    attempt: &Attempt,
) -> Option<Condition> {
    let kept = old.conditions.iter().find(|c| c.type_ == TEST_SUCCESS);
    match &attempt.tested {
        Some((true, m)) => Some(condition(
            old,
            generation,
            TEST_SUCCESS,
            ConditionStatus::True,
            "TestSucceeded",
            m,
        )),
        Some((false, m)) => Some(condition(
            old,
            generation,
            TEST_SUCCESS,
            ConditionStatus::False,
            "TestFailed",
            m,
        )),
        None if went_live(outcome) => None,
        None => kept.cloned(),
    }
}

/// `Remediated`: set by a remediation; dropped once a revision goes live
/// again; kept otherwise.
fn remediated_condition(
    old: &HelmReleaseStatus,
    generation: Option<i64>,
    outcome: &Outcome,
    attempt: &Attempt,
) -> Option<Condition> {
    match &attempt.remediated {
        Some((reason, m)) => Some(condition(
            old,
            generation,
            REMEDIATED,
            ConditionStatus::True,
            reason,
            m,
        )),
        None if went_live(outcome) => None,
        None => old
            .conditions
            .iter()
            .find(|c| c.type_ == REMEDIATED)
            .cloned(),
    }
}

/// Whether the outcome is a revision that just went live.
fn went_live(outcome: &Outcome) -> bool {
    matches!(outcome, Outcome::Ready { reason, .. } if matches!(reason.as_str(), "InstallSucceeded" | "UpgradeSucceeded" | "RollbackSucceeded"))
}

/// Reasons of failed install/upgrade attempts, which count towards
/// `install.remediation.retries` / `upgrade.remediation.retries`.
fn counts_as_attempt(reason: &str) -> bool {
    matches!(reason, "InstallFailed" | "UpgradeFailed" | "TestFailed")
}

/// `failures` and `failedDigest` after `outcome`: a failed attempt counts
/// one more against its inputs' digest; success clears them.
fn count_failures(
    obj: &HelmRelease,
    outcome: &Outcome,
    attempt: &Attempt,
) -> (Option<i64>, Option<String>) {
    let old = obj.status.as_ref();
    let kept = (
        old.and_then(|s| s.failures).filter(|f| *f > 0),
        old.and_then(|s| s.failed_digest.clone()),
    );
    match outcome {
        Outcome::Ready { .. } if attempt.digest.is_some() => (None, None),
        Outcome::Failed { reason, .. } if counts_as_attempt(reason) => {
            let Some(digest) = &attempt.digest else {
                return kept;
            };
            let before = failures_for(obj, digest, attempt.reset_at.is_some());
            (Some(before + 1), Some(digest.clone()))
        }
        _ if attempt.reset_at.is_some() => (None, None),
        _ => kept,
    }
}

/// Consecutive failed attempts of the inputs digested as `digest` (0 when
/// the inputs changed, or when `reset` clears the count).
pub fn failures_for(obj: &HelmRelease, digest: &str, reset: bool) -> i64 {
    match &obj.status {
        Some(s) if !reset && s.failed_digest.as_deref() == Some(digest) => s.failures.unwrap_or(0),
        _ => 0,
    }
}

/// What the Released condition says of a release whose last action
/// failed: which revision is recorded live, and whether a newer failed
/// revision's objects were applied over it.
fn released_message(history: &[StoredRelease], live: Option<&Release>) -> String {
    let Some(live) = live else {
        return String::new();
    };
    let failed_after = history
        .iter()
        .map(|s| &s.release)
        .filter(|r| r.version > live.version && r.status() == Status::Failed)
        .max_by_key(|r| r.version);
    match failed_after {
        Some(f) => format!(
            "revision {} is the recorded live revision; revision {} failed ({}) and may have replaced some of its objects",
            live.version, f.version, f.info.description
        ),
        None => format!("revision {} is live", live.version),
    }
}

fn history_entry(s: &StoredRelease) -> HistoryEntry {
    let r = &s.release;
    HistoryEntry {
        revision: r.version,
        chart_version: r.chart_version().to_string(),
        status: r.status().as_str().to_string(),
        values_digest: s.annotation(VALUES_DIGEST).map(String::from),
        deployed: (!r.info.last_deployed.is_empty()).then(|| r.info.last_deployed.clone()),
        description: (!r.info.description.is_empty()).then(|| r.info.description.clone()),
        tests: test_result(r),
    }
}

/// How the revision's last test run ended, from its test hooks' last runs.
fn test_result(r: &Release) -> Option<String> {
    let runs: Vec<&str> = r
        .hooks
        .iter()
        .filter(|h| h.events.iter().any(|e| e == "test"))
        .map(|h| h.last_run.phase.as_str())
        .filter(|p| !p.is_empty())
        .collect();
    if runs.is_empty() {
        None
    } else if runs.iter().all(|p| *p == "Succeeded") {
        Some("Succeeded".into())
    } else {
        Some("Failed".into())
    }
}

/// Longest condition message kept whole; longer ones (a recursive
/// template's error chain is ~100 KB) keep their head and their tail,
/// where Go's template errors put the cause.
const MESSAGE_MAX: usize = 4096;

/// `message`, its middle elided when longer than [`MESSAGE_MAX`].
pub fn clip(message: &str) -> String {
    if message.len() <= MESSAGE_MAX {
        return message.to_string();
    }
    let head_end = floor_boundary(message, MESSAGE_MAX / 4);
    let tail_start = ceil_boundary(message, message.len() - MESSAGE_MAX / 2);
    format!(
        "{} … [{} bytes elided] … {}",
        &message[..head_end],
        tail_start - head_end,
        &message[tail_start..]
    )
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// A condition, keeping the old transition time while the status stays.
pub(crate) fn condition(
    old: &HelmReleaseStatus,
    generation: Option<i64>,
    type_: &str,
    status: ConditionStatus,
    reason: &str,
    message: &str,
) -> Condition {
    let previous = old.conditions.iter().find(|c| c.type_ == type_);
    let last_transition_time = match previous {
        Some(c) if c.status == status => c.last_transition_time.clone(),
        _ => jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string(),
    };
    Condition {
        type_: type_.to_string(),
        status,
        reason: reason.to_string(),
        message: clip(message),
        last_transition_time,
        observed_generation: generation,
    }
}

/// Whether writing `new` would change `old`. The transition times are
/// carried over by [`compute`]; `Drifted` is left out on both sides: drift
/// detection writes it under its own field manager, and the reconciler's
/// status apply neither sets nor removes it.
pub fn differs(old: Option<&HelmReleaseStatus>, new: &HelmReleaseStatus) -> bool {
    let Some(old) = old else {
        return true;
    };
    let mut old = old.clone();
    old.conditions.retain(|c| c.type_ != DRIFTED);
    &old != new
}

/// A short description of a live revision for messages.
pub fn describe(r: &Release) -> String {
    format!(
        "revision {} ({} {}) {}",
        r.version,
        r.chart_name(),
        r.chart_version(),
        r.status()
    )
}

/// Whether the record is the live revision.
pub fn is_live(r: &Release) -> bool {
    r.status() == Status::Deployed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hr(status: serde_json::Value) -> HelmRelease {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "helm.rudder.dev/v1alpha1", "kind": "HelmRelease",
            "metadata": {"name": "app", "namespace": "ns", "generation": 3},
            "spec": {"chart": {"name": "app", "repositoryRef": {"name": "r"}}},
            "status": status,
        }))
        .expect("HelmRelease")
    }

    fn failed(reason: &str) -> Outcome {
        Outcome::Failed {
            reason: reason.into(),
            message: "boom".into(),
            stalled: false,
        }
    }

    fn digest(d: &str) -> Attempt {
        Attempt {
            digest: Some(d.into()),
            ..Attempt::default()
        }
    }

    #[test]
    fn failures_count_per_input_digest() {
        let obj = hr(serde_json::json!({"failures": 2, "failedDigest": "a"}));
        let same = compute(&obj, &[], &failed("UpgradeFailed"), &digest("a"));
        assert_eq!(
            (same.failures, same.failed_digest.as_deref()),
            (Some(3), Some("a"))
        );
        let other = compute(&obj, &[], &failed("UpgradeFailed"), &digest("b"));
        assert_eq!(
            (other.failures, other.failed_digest.as_deref()),
            (Some(1), Some("b"))
        );
        // A failure that is not an attempt (a pull) keeps the count.
        let pull = compute(&obj, &[], &failed("ChartPullFailed"), &digest("b"));
        assert_eq!(
            (pull.failures, pull.failed_digest.as_deref()),
            (Some(2), Some("a"))
        );
        let reset = Attempt {
            reset_at: Some("1".into()),
            ..digest("a")
        };
        let after_reset = compute(&obj, &[], &failed("UpgradeFailed"), &reset);
        assert_eq!(after_reset.failures, Some(1));
        assert_eq!(after_reset.last_handled_reset_at.as_deref(), Some("1"));
        let ok = Outcome::Ready {
            reason: "UpgradeSucceeded".into(),
            message: String::new(),
        };
        let cleared = compute(&obj, &[], &ok, &digest("a"));
        assert_eq!((cleared.failures, cleared.failed_digest), (None, None));
    }

    #[test]
    fn progress_says_reconciling_with_the_phase_and_ready_unknown() {
        let obj = hr(serde_json::json!({"observedGeneration": 2, "conditions": [
            {"type": "Ready", "status": "True", "reason": "UpToDate", "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z"},
            {"type": "Stalled", "status": "True", "reason": "X", "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}));
        let st = progressing(&obj, "applying object 1/2: ConfigMap ns/a");
        assert_eq!(st.observed_generation, Some(3));
        let get = |t: &str| st.conditions.iter().find(|c| c.type_ == t).cloned();
        let ready = get(READY).expect("Ready");
        assert_eq!(
            (ready.status, ready.message.as_str()),
            (
                ConditionStatus::Unknown,
                "applying object 1/2: ConfigMap ns/a"
            )
        );
        let rec = get(RECONCILING).expect("Reconciling");
        assert_eq!(
            (rec.status, rec.reason.as_str()),
            (ConditionStatus::True, "Progressing")
        );
        assert!(get(STALLED).is_none());
    }

    #[test]
    fn an_unchanged_release_keeps_its_status_as_written_after_install_and_tests() {
        let hist = [crate::release::memory::record(1, "deployed")];
        let installed = Outcome::Ready {
            reason: "InstallSucceeded".into(),
            message: "installed revision 1".into(),
        };
        let tested = Attempt {
            tested: Some((true, "1 test passed".into())),
            ..digest("a")
        };
        let st = compute(&hr(serde_json::json!({})), &hist, &installed, &tested);
        let obj = hr(serde_json::to_value(&st).expect("status"));
        // The next (periodic) reconciliation finds it unchanged.
        let up_to_date = Outcome::Ready {
            reason: UP_TO_DATE.into(),
            message: "revision 1 is live".into(),
        };
        let again = compute(&obj, &hist, &up_to_date, &digest("a"));
        assert!(!differs(obj.status.as_ref(), &again), "{again:?}");
        let ready = again.conditions.iter().find(|c| c.type_ == READY);
        assert_eq!(ready.map(|c| c.reason.as_str()), Some("InstallSucceeded"));
        assert!(again.conditions.iter().any(|c| c.type_ == TEST_SUCCESS));
        // Without a Ready=True for this revision: said afresh.
        let fresh = compute(&hr(serde_json::json!({})), &hist, &up_to_date, &digest("a"));
        let ready = fresh.conditions.iter().find(|c| c.type_ == READY);
        assert_eq!(ready.map(|c| c.reason.as_str()), Some(UP_TO_DATE));
    }

    #[test]
    fn test_and_remediation_conditions_last_until_a_new_revision_goes_live() {
        let tested = Attempt {
            tested: Some((false, "test failed".into())),
            remediated: Some(("RolledBack".into(), "rolled back to revision 1".into())),
            ..digest("a")
        };
        let st = compute(
            &hr(serde_json::json!({})),
            &[],
            &failed("TestFailed"),
            &tested,
        );
        let obj = hr(serde_json::to_value(&st).expect("status"));
        let kept = compute(&obj, &[], &failed("RetriesExhausted"), &digest("a"));
        let types: Vec<&str> = kept.conditions.iter().map(|c| c.type_.as_str()).collect();
        assert!(
            types.contains(&TEST_SUCCESS) && types.contains(&REMEDIATED),
            "{types:?}"
        );
        let live = Outcome::Ready {
            reason: "UpgradeSucceeded".into(),
            message: String::new(),
        };
        let fresh = compute(&obj, &[], &live, &digest("b"));
        let types: Vec<&str> = fresh.conditions.iter().map(|c| c.type_.as_str()).collect();
        assert!(
            !types.contains(&TEST_SUCCESS) && !types.contains(&REMEDIATED),
            "{types:?}"
        );
    }

    #[test]
    fn long_messages_keep_head_and_tail() {
        assert_eq!(clip("short"), "short");
        let long = format!("start {} the cause é", "é".repeat(5000));
        let c = clip(&long);
        assert!(c.len() < MESSAGE_MAX + 100, "{}", c.len());
        assert!(c.starts_with("start "));
        assert!(c.ends_with("the cause é"));
        assert!(c.contains("bytes elided"));
    }
}
