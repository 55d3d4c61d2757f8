//! Every transition of the decision table, on in-memory histories.

use std::collections::BTreeMap;

use serde_json::json;

use super::*;
use crate::release::Release;

const WANT: [(&str, &str); 3] = [
    (CHART_DIGEST, "sha256:chart"),
    (VALUES_DIGEST, "sha256:values"),
    (OPTIONS_DIGEST, "sha256:options"),
];

fn want() -> BTreeMap<String, String> {
    WANT.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Revision `version` with `status`, made from `want()` when `current`.
fn rec(version: i64, status: &str, current: bool) -> StoredRelease {
    let release: Release = serde_json::from_value(json!({
        "name": "app", "version": version, "namespace": "ns",
        "info": {"status": status, "description": "d"},
        "chart": {"metadata": {"name": "app", "version": "0.1.0"}},
    }))
    .expect("record");
    let mut annotations = want();
    if !current {
        annotations.insert(VALUES_DIGEST.into(), "sha256:old".into());
    }
    StoredRelease {
        release,
        annotations,
        parked: false,
        slim: false,
    }
}

/// A HelmRelease at generation 2 with `failures` recorded for it, the
/// given remediation retries and last Ready reason.
fn hr(failures: i64, retries: i64, last_reason: &str) -> HelmRelease {
    serde_json::from_value(json!({
        "apiVersion": "helm.rudder.dev/v1alpha1", "kind": "HelmRelease",
        "metadata": {"name": "app", "namespace": "ns", "generation": 2},
        "spec": {
            "chart": {"name": "app", "repositoryRef": {"name": "r"}},
            "install": {"remediation": {"retries": retries}},
            "upgrade": {"remediation": {"retries": retries}},
        },
        "status": {
            "observedGeneration": 2, "failures": failures, "failedDigest": "d",
            "conditions": [{"type": "Ready", "status": "False", "reason": last_reason,
                            "message": "boom", "lastTransitionTime": "2026-01-01T00:00:00Z"}],
        },
    }))
    .expect("HelmRelease")
}

#[test]
fn an_empty_history_is_absent_and_installs() {
    let state = following_state(&[], &want());
    assert_eq!(state, State::Absent);
    assert_eq!(
        next_following(&hr(0, 0, "x"), &state, &[], "d", false),
        Next::Install
    );
}

#[test]
fn only_failed_revisions_install_again() {
    let hist = [rec(1, "failed", true)];
    let state = following_state(&hist, &want());
    assert_eq!(state, State::OutOfSync(None));
    assert_eq!(
        next_following(&hr(0, 0, "x"), &state, &hist, "d", false),
        Next::Install
    );
}

#[test]
fn a_live_revision_of_the_same_inputs_is_in_sync() {
    let hist = [rec(1, "superseded", false), rec(2, "deployed", true)];
    let state = following_state(&hist, &want());
    assert_eq!(state, State::InSync(2));
    match next_following(&hr(0, 0, "x"), &state, &hist, "d", false) {
        Next::Report(Outcome::Ready { reason, message }) => {
            assert_eq!(reason, "UpToDate");
            assert_eq!(message, "revision 2 (app 0.1.0) deployed is live");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn changed_inputs_upgrade_the_live_revision() {
    let hist = [rec(1, "deployed", false), rec(2, "failed", true)];
    let state = following_state(&hist, &want());
    assert_eq!(state, State::OutOfSync(Some(1)));
    assert_eq!(
        next_following(&hr(0, 0, "x"), &state, &hist, "d", false),
        Next::Upgrade { live: 1 }
    );
}

#[test]
fn adopted_helm_records_without_digests_are_upgraded() {
    let mut helm = rec(3, "deployed", true);
    helm.annotations.clear();
    let hist = [helm];
    let state = following_state(&hist, &want());
    assert_eq!(state, State::OutOfSync(Some(3)));
    assert_eq!(
        next_following(&hr(0, 0, "x"), &state, &hist, "d", false),
        Next::Upgrade { live: 3 }
    );
}

#[test]
fn retries_run_out_and_stall() {
    let hist = [rec(1, "deployed", false), rec(2, "failed", true)];
    let state = following_state(&hist, &want());
    // One retry allowed: the first failure may retry, the second may not.
    assert_eq!(
        next_following(&hr(1, 1, "UpgradeFailed"), &state, &hist, "d", false),
        Next::Upgrade { live: 1 }
    );
    match next_following(&hr(2, 1, "UpgradeFailed"), &state, &hist, "d", false) {
        Next::Report(Outcome::Failed {
            reason,
            message,
            stalled,
        }) => {
            assert_eq!(reason, RETRIES_EXHAUSTED);
            assert!(stalled);
            assert!(
                message.starts_with("upgrade failed 2 time(s) (remediation retries: 1)")
                    && message.ends_with("Last failure: boom"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    // Once stalled, the message stays as it was.
    match next_following(&hr(2, 1, RETRIES_EXHAUSTED), &state, &hist, "d", false) {
        Next::Report(Outcome::Failed { message, .. }) => assert_eq!(message, "boom"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn other_inputs_or_a_reset_get_new_tries() {
    let hist = [rec(1, "deployed", false), rec(2, "failed", true)];
    let state = following_state(&hist, &want());
    let stalled = hr(2, 1, "UpgradeFailed");
    assert!(matches!(
        next_following(&stalled, &state, &hist, "d", false),
        Next::Report(Outcome::Failed { .. })
    ));
    // A fix anywhere (spec, valuesFrom, chart) changes the digest.
    assert_eq!(
        next_following(&stalled, &state, &hist, "fixed", false),
        Next::Upgrade { live: 1 }
    );
    assert_eq!(
        next_following(&stalled, &state, &hist, "d", true),
        Next::Upgrade { live: 1 }
    );
}

#[test]
fn a_pinned_live_revision_stays() {
    let hist = [rec(1, "deployed", false), rec(2, "superseded", true)];
    let state = pinned_state(&hist, 1);
    assert_eq!(state, State::Pinned(1));
    match next_pinned(&state, "app") {
        Next::Report(Outcome::Ready { reason, message }) => {
            assert_eq!(reason, "Pinned");
            assert_eq!(message, pinned_message(1));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_pinned_older_revision_is_rolled_back_to() {
    let hist = [rec(1, "superseded", false), rec(2, "deployed", true)];
    let state = pinned_state(&hist, 1);
    assert_eq!(
        state,
        State::RollbackRequested {
            target: 1,
            live: Some(2)
        }
    );
    assert_eq!(
        next_pinned(&state, "app"),
        Next::Rollback {
            target: 1,
            live: Some(2)
        }
    );
}

#[test]
fn a_pruned_or_unknown_revision_changes_nothing() {
    let hist = [rec(4, "superseded", false), rec(5, "deployed", true)];
    let state = pinned_state(&hist, 2);
    assert_eq!(state, State::PinnedMissing(2));
    match next_pinned(&state, "app") {
        Next::Report(Outcome::Failed {
            reason, stalled, ..
        }) => {
            assert_eq!(reason, "RevisionNotFound");
            assert!(stalled);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn pending_records_of_a_dead_run_are_failed_and_double_deploys_fixed() {
    let hist = [
        rec(1, "deployed", false),
        rec(2, "deployed", false),
        rec(3, "pending-upgrade", true),
    ];
    let fixes = recovery(&hist);
    assert_eq!(
        fixes,
        vec![
            Fix {
                version: 1,
                status: Status::Superseded,
                description: "d".into()
            },
            Fix {
                version: 3,
                status: Status::Failed,
                description: "pending-upgrade interrupted (rudder stopped); redone".into()
            },
        ]
    );
    assert!(recovery(&[rec(1, "superseded", false), rec(2, "deployed", true)]).is_empty());
}

/// `(version, status, parked)` records.
fn parked_hist(records: &[(i64, &str, bool)]) -> Vec<StoredRelease> {
    records
        .iter()
        .map(|&(v, status, parked)| StoredRelease {
            parked,
            slim: false,
            ..rec(v, status, true)
        })
        .collect()
}

#[test]
fn parking_leaves_exactly_the_newer_records_hidden() {
    let hist = parked_hist(&[
        (1, "deployed", false),
        (2, "superseded", true),
        (3, "superseded", false),
    ]);
    let park = |version, parked| Park { version, parked };
    assert_eq!(parking(&hist, Some(1)), vec![park(3, true)]);
    assert_eq!(parking(&hist, Some(2)), vec![park(2, false), park(3, true)]);
    assert_eq!(parking(&hist, None), vec![park(2, false)]);
    assert_eq!(parking(&hist, Some(0)), vec![park(1, true), park(3, true)]);
}

#[test]
fn a_consistent_parking_is_kept() {
    // Rolled back to 1: 2 and 3 parked.
    let pinned = parked_hist(&[
        (1, "deployed", false),
        (2, "superseded", true),
        (3, "superseded", true),
    ]);
    assert_eq!(parked_after(&pinned), Some(1));
    assert!(parking(&pinned, parked_after(&pinned)).is_empty());
    // Moved on to 4: nothing parked.
    let moved = parked_hist(&[
        (1, "superseded", false),
        (2, "superseded", false),
        (3, "superseded", false),
        (4, "deployed", false),
    ]);
    assert_eq!(parked_after(&moved), None);
    // A failed upgrade over a live revision is shown, as Helm shows it.
    let failed = parked_hist(&[(1, "deployed", false), (2, "failed", false)]);
    assert_eq!(parked_after(&failed), None);
    assert!(parking(&failed, parked_after(&failed)).is_empty());
}

#[test]
fn a_dead_runs_half_parking_is_settled() {
    // Killed while parking for a rollback to 1 from 3 (3 still deployed
    // and already parked): undone, the rollback is redone.
    let half = parked_hist(&[
        (1, "failed", false),
        (2, "superseded", false),
        (3, "deployed", true),
    ]);
    assert_eq!(parked_after(&half), None);
    assert_eq!(
        parking(&half, None),
        vec![Park {
            version: 3,
            parked: false
        }]
    );
    // Killed after the upgrade's new record, before unparking: the
    // failed attempt is hidden with the rest until the next upgrade.
    let upgrading = parked_hist(&[
        (1, "deployed", false),
        (2, "superseded", true),
        (3, "superseded", true),
        (4, "failed", false),
    ]);
    assert_eq!(parked_after(&upgrading), Some(1));
    assert_eq!(
        parking(&upgrading, Some(1)),
        vec![Park {
            version: 4,
            parked: true
        }]
    );
    // Killed while unparking for a forward rollback from 1 to 3.
    let forward = parked_hist(&[
        (1, "deployed", false),
        (2, "superseded", false),
        (3, "failed", true),
    ]);
    assert_eq!(parked_after(&forward), Some(1));
}
