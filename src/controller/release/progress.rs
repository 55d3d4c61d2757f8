//! The status while an action runs: each phase (rendering, applying n/m,
//! running hook X, waiting for …) is written as `Reconciling=True` with
//! `Ready=Unknown`, by a task beside the action so the action never waits
//! for a status write; phases that follow each other faster than the task
//! writes are coalesced (only the newest is written), and an action that
//! ends within [`FIRST_WRITE_AFTER`] writes no phase at all: each phase
//! write is an API request, and they come when the API server is busiest.

use std::time::Duration;

use kube::ResourceExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::report::apply_status;
use crate::api::HelmRelease;
use crate::controller::Context;
use crate::controller::release_status;

/// Least time between two phase writes of one release.
const SPACING: Duration = Duration::from_secs(5);
/// How long an action runs before its phase is first written: a quick
/// install or upgrade (a Deployment rolling out in a few seconds)
/// reports only its outcome (one status write), a slow one (hooks, long
/// waits) shows what it is doing.
const FIRST_WRITE_AFTER: Duration = Duration::from_secs(5);

/// The phase writer of one reconciliation.
pub(super) struct Progress {
    tx: watch::Sender<Option<String>>,
    task: JoinHandle<bool>,
}

impl Progress {
    /// Starts the writer for `obj`; nothing is written until a phase is set.
    pub fn start(ctx: &Context, obj: &HelmRelease) -> Progress {
        let (tx, rx) = watch::channel(None);
        let task = tokio::spawn(write_phases(ctx.client.clone(), obj.clone(), rx));
        Progress { tx, task }
    }

    /// Says what the action does now.
    pub fn set(&self, phase: String) {
        self.tx.send_replace(Some(phase));
    }

    /// Stops the writer (a phase not written yet is dropped); returns
    /// whether any phase was written, so the final status is written even
    /// if it equals the status the reconciliation started from.
    pub async fn finish(self) -> bool {
        self.tx.send_replace(None);
        drop(self.tx);
        self.task.await.unwrap_or(true)
    }
}

/// Writes each new phase until the sender goes; returns whether it wrote.
async fn write_phases(
    client: kube::Client,
    obj: HelmRelease,
    mut rx: watch::Receiver<Option<String>>,
) -> bool {
    let mut wrote = false;
    let mut last = String::new();
    // The sender goes when the action ends (`finish`).
    if tokio::time::timeout(FIRST_WRITE_AFTER, rx.wait_for(|_| false))
        .await
        .is_ok()
    {
        // The action ended before its first phase was due.
        return false;
    }
    // The newest phase is written at once.
    rx.mark_changed();
    while rx.changed().await.is_ok() {
        let Some(phase) = rx.borrow_and_update().clone() else {
            continue;
        };
        if phase == last {
            continue;
        }
        if let Err(e) =
            apply_status(&client, &obj, &release_status::progressing(&obj, &phase)).await
        {
            tracing::debug!(error = %e, "writing the progress of HelmRelease {}", obj.name_any());
        }
        wrote = true;
        last = phase;
        // Space the writes, but stop waiting as soon as the action ends.
        let _ = tokio::time::timeout(SPACING, rx.wait_for(Option::is_none)).await;
    }
    wrote
}
