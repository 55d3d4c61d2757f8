//! The status of a HelmRelease computed from its release history and the
//! outcome of the last reconciliation: conditions Ready / Released /
//! Reconciling / Stalled, the live revision, the last attempted one, the
//! chart of the live revision and recent history. Pure; written only when
//! it differs from the current status (the steady state writes nothing).

use crate::api::condition::{Condition, ConditionStatus, READY, RECONCILING, RELEASED, STALLED};
use crate::api::helmrelease::{HelmRelease, HelmReleaseStatus, HistoryEntry};
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

/// The status for `obj` given its history (oldest first) and `outcome`.
pub fn compute(
    obj: &HelmRelease,
    history: &[StoredRelease],
    outcome: &Outcome,
) -> HelmReleaseStatus {
    let old = obj.status.clone().unwrap_or_default();
    let generation = obj.metadata.generation;
    let live = crate::release::history::deployed(history.iter().map(|s| &s.release));
    let latest = history.last().map(|s| &s.release);
    let mut status = HelmReleaseStatus {
        observed_generation: generation,
        revision: live.map(|r| r.version),
        last_attempted_revision: latest.map(|r| r.version).or(old.last_attempted_revision),
        chart_name: live.map(|r| r.chart_name().to_string()),
        chart_version: live.map(|r| r.chart_version().to_string()),
        app_version: live
            .map(|r| r.app_version().to_string())
            .filter(|s| !s.is_empty()),
        history: history
            .iter()
            .rev()
            .take(HISTORY_LEN)
            .map(history_entry)
            .collect(),
        failures: None,
        conditions: Vec::new(),
    };
    let waiting_released;
    let (ready, released, stalled) = match outcome {
        Outcome::Waiting { reason, message } => {
            let before = failures_at(obj, generation);
            status.failures = (before > 0).then_some(before);
            waiting_released = match live {
                Some(r) => (ConditionStatus::True, "Deployed", released_message(r)),
                None => (ConditionStatus::False, reason.as_str(), message.as_str()),
            };
            (
                (ConditionStatus::False, reason.as_str(), message.as_str()),
                waiting_released,
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
        } => {
            let before = failures_at(obj, generation);
            status.failures = if counts_as_attempt(reason) {
                Some(before + 1)
            } else {
                (before > 0).then_some(before)
            };
            let released = match live {
                Some(r) => (ConditionStatus::True, "Deployed", released_message(r)),
                None => (ConditionStatus::False, reason.as_str(), message.as_str()),
            };
            (
                (ConditionStatus::False, reason.as_str(), message.as_str()),
                released,
                stalled.then_some((reason.as_str(), message.as_str())),
            )
        }
    };
    let released_text;
    let released = if matches!(outcome, Outcome::Failed { .. } | Outcome::Waiting { .. }) {
        released_text = released.2.to_string();
        (released.0, released.1, released_text.as_str())
    } else {
        released
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
    status.conditions = conds;
    status
}

/// Reasons of failed install/upgrade attempts, which count towards
/// `install.remediation.retries` / `upgrade.remediation.retries`.
fn counts_as_attempt(reason: &str) -> bool {
    matches!(reason, "InstallFailed" | "UpgradeFailed")
}

/// Consecutive failed install/upgrade attempts recorded in `status` at
/// `generation` (a spec change starts over).
fn failures_at(obj: &HelmRelease, generation: Option<i64>) -> i64 {
    match &obj.status {
        Some(s) if s.observed_generation == generation => s.failures.unwrap_or(0),
        _ => 0,
    }
}

/// Consecutive failed install/upgrade attempts of the current spec.
pub fn consecutive_failures(obj: &HelmRelease) -> i64 {
    failures_at(obj, obj.metadata.generation)
}

fn released_message(r: &Release) -> &'static str {
    let _ = r;
    "the live revision keeps running"
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
fn condition(
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

/// Whether writing `new` would change `old` (ignoring nothing: the
/// transition times are carried over by [`compute`]).
pub fn differs(old: Option<&HelmReleaseStatus>, new: &HelmReleaseStatus) -> bool {
    old != Some(new)
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
