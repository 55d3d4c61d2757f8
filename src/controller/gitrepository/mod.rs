//! The GitRepository reconciler: every `interval` (and on a spec change or
//! a new `helm.rudder.dev/requested-at`), lists the remote's refs and
//! resolves the wanted ref; fetches (depth 1) only a commit the mirror
//! does not hold; writes `Ready`, `artifact` (`<ref>@sha1:<commit>`, time
//! of the last change) and `observedGeneration` with server-side apply;
//! emits `NewRevision` and `FetchFailed` events. Failures back off like
//! HelmRepository fetches and keep the last good artifact, so releases
//! keep their chart. [`forget_deleted`] removes the mirrors of deleted
//! GitRepositories.

mod status;

pub use status::failure_reason;
use status::{
    condition, current_artifact, now_rfc3339, publish, suspended_condition, write_status,
};

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Resource, ResourceExt};

use super::metrics::Outcome;
use super::repository::{REQUESTED_AT, retry_delay};
use super::sources::SourceError;
use super::sources::git::{Synced, git_remote, ref_want};
use super::status::StatusError;
use super::{Context, interval_or_default};
use crate::api::gitrepository::GitArtifact;
use crate::api::{ConditionStatus, GitRepository};

/// Kind label used in logs and metrics.
pub const KIND: &str = "GitRepository";

/// A failed GitRepository reconciliation (a failed sync is not one: it is
/// reported in the status and retried with back-off).
#[derive(Debug, thiserror::Error)]
pub enum GitRepositoryError {
    /// Writing status failed.
    #[error(transparent)]
    Status(#[from] StatusError),
}

/// What was last synced for one GitRepository.
#[derive(Debug, Clone)]
struct Tracked {
    uid: String,
    generation: Option<i64>,
    requested_at: Option<String>,
    last_sync: Instant,
    failures: u32,
}

/// Per-object sync bookkeeping (`namespace/name` → last sync).
#[derive(Debug, Default)]
pub struct SyncTracker {
    objects: Mutex<HashMap<String, Tracked>>,
}

impl SyncTracker {
    fn get(&self, key: &str) -> Option<Tracked> {
        self.objects.lock().ok()?.get(key).cloned()
    }

    fn set(&self, key: &str, t: Tracked) {
        if let Ok(mut m) = self.objects.lock() {
            m.insert(key.into(), t);
        }
    }

    fn forget(&self, key: &str) {
        if let Ok(mut m) = self.objects.lock() {
            m.remove(key);
        }
    }
}

fn requested_at(obj: &GitRepository) -> Option<&str> {
    obj.annotations().get(REQUESTED_AT).map(String::as_str)
}

/// `None` when a sync is due now, else how long until it is.
fn wait_before_sync(
    obj: &GitRepository,
    tracked: Option<&Tracked>,
    now: Instant,
) -> Option<Duration> {
    let t = tracked?;
    if t.uid != obj.uid().unwrap_or_default()
        || t.generation != obj.metadata.generation
        || t.requested_at.as_deref() != requested_at(obj)
    {
        return None;
    }
    let next = t.last_sync + retry_delay(t.failures, interval_or_default(&obj.spec.interval));
    next.checked_duration_since(now).filter(|d| !d.is_zero())
}

fn key_of(obj: &GitRepository) -> String {
    format!("{}/{}", obj.namespace().unwrap_or_default(), obj.name_any())
}

/// Reconciles one GitRepository.
pub async fn reconcile(
    obj: Arc<GitRepository>,
    ctx: Arc<Context>,
) -> Result<Action, GitRepositoryError> {
    let start = Instant::now();
    let key = key_of(&obj);
    if obj.meta().deletion_timestamp.is_some() {
        ctx.git_tracker.forget(&key);
        ctx.sources.git().forget(&key);
        return Ok(Action::await_change());
    }
    let result = reconcile_inner(&obj, &ctx, &key).await;
    let outcome = match &result {
        Ok((_, true)) => Outcome::Success,
        _ => Outcome::Error,
    };
    ctx.metrics.observe(KIND, start, outcome);
    result.map(|(action, _)| action)
}

/// The action and whether the repository is healthy.
async fn reconcile_inner(
    obj: &GitRepository,
    ctx: &Context,
    key: &str,
) -> Result<(Action, bool), GitRepositoryError> {
    let interval = interval_or_default(&obj.spec.interval);
    if obj.spec.suspend {
        write_status(ctx, obj, suspended_condition(obj), current_artifact(obj)).await?;
        return Ok((Action::await_change(), true));
    }
    let tracked = ctx.git_tracker.get(key);
    if let Some(wait) = wait_before_sync(obj, tracked.as_ref(), Instant::now()) {
        let healthy = tracked.is_some_and(|t| t.failures == 0);
        return Ok((Action::requeue(wait), healthy));
    }
    let failures_before = tracked
        .as_ref()
        .filter(|t| t.uid == obj.uid().unwrap_or_default())
        .map_or(0, |t| t.failures);
    let outcome = sync(obj, ctx, key).await;
    let failures = if outcome.is_ok() {
        0
    } else {
        failures_before.saturating_add(1)
    };
    ctx.git_tracker.set(
        key,
        Tracked {
            uid: obj.uid().unwrap_or_default(),
            generation: obj.metadata.generation,
            requested_at: requested_at(obj).map(str::to_string),
            last_sync: Instant::now(),
            failures,
        },
    );
    let written = match &outcome {
        Ok(synced) => on_success(obj, ctx, synced).await,
        Err(e) => on_failure(obj, ctx, e).await,
    };
    if let Err(e) = written {
        ctx.git_tracker.forget(key);
        return Err(e);
    }
    Ok((
        Action::requeue(retry_delay(failures, interval)),
        outcome.is_ok(),
    ))
}

async fn sync(obj: &GitRepository, ctx: &Context, key: &str) -> Result<Synced, SourceError> {
    let remote = git_remote(&ctx.client, obj).await?;
    let want = ref_want(obj.spec.reference.as_ref());
    let started = Instant::now();
    let result = ctx.sources.git().sync(key, remote, want).await;
    match &result {
        Ok(s) => tracing::info!(
            repository = %key,
            revision = %s.resolved.revision(),
            fetched = s.fetched,
            sync_ms = started.elapsed().as_millis() as u64,
            "synced Git repository"
        ),
        Err(e) => tracing::warn!(repository = %key, error = %e, "Git sync failed"),
    }
    result
}

async fn on_success(
    obj: &GitRepository,
    ctx: &Context,
    synced: &Synced,
) -> Result<(), GitRepositoryError> {
    let revision = synced.resolved.revision();
    let previous = current_artifact(obj);
    let changed = previous.as_ref().is_none_or(|a| a.revision != revision);
    let artifact = GitArtifact {
        revision: revision.clone(),
        last_update_time: match previous {
            Some(a) if !changed => a.last_update_time,
            _ => now_rfc3339(),
        },
    };
    let message = format!("stored revision {revision}");
    let cond = condition(obj, ConditionStatus::True, "Succeeded", &message);
    write_status(ctx, obj, cond, Some(artifact)).await?;
    if changed {
        publish(ctx, obj, EventType::Normal, "NewRevision", message).await;
    }
    Ok(())
}

async fn on_failure(
    obj: &GitRepository,
    ctx: &Context,
    err: &SourceError,
) -> Result<(), GitRepositoryError> {
    let message = err.to_string();
    let cond = condition(obj, ConditionStatus::False, failure_reason(err), &message);
    write_status(ctx, obj, cond, current_artifact(obj)).await?;
    publish(ctx, obj, EventType::Warning, "FetchFailed", message).await;
    Ok(())
}

/// Removes the mirror (and bookkeeping) of each GitRepository deleted
/// while this process watches, until `stop` fires. (GitRepositories carry
/// no finalizer, so their reconciler never sees the deletion.)
pub async fn forget_deleted(
    ctx: Arc<Context>,
    api: kube::Api<GitRepository>,
    config: kube::runtime::watcher::Config,
    stop: tokio_util::sync::CancellationToken,
) {
    use futures::StreamExt;
    use kube::runtime::{WatchStreamExt, watcher};
    let events = watcher(api, config).default_backoff();
    tokio::pin!(events);
    loop {
        let event = tokio::select! {
            () = stop.cancelled() => return,
            e = events.next() => e,
        };
        match event {
            None => return,
            Some(Ok(watcher::Event::Delete(obj))) => {
                let key = key_of(&obj);
                ctx.git_tracker.forget(&key);
                ctx.sources.git().forget(&key);
                tracing::info!(repository = %key, "GitRepository deleted; mirror removed");
            }
            Some(Err(e)) => tracing::warn!(error = %e, "watching GitRepositories"),
            Some(Ok(_)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(generation: i64) -> GitRepository {
        let mut r = GitRepository::new(
            "g",
            serde_json::from_value(serde_json::json!({"url": "git://x/r", "interval": "1m"}))
                .expect("spec"),
        );
        r.metadata.uid = Some("u".into());
        r.metadata.generation = Some(generation);
        r
    }

    #[test]
    fn syncs_when_due_or_changed() {
        let now = Instant::now();
        let t = Tracked {
            uid: "u".into(),
            generation: Some(1),
            requested_at: None,
            last_sync: now,
            failures: 0,
        };
        assert_eq!(wait_before_sync(&repo(1), None, now), None);
        assert!(wait_before_sync(&repo(1), Some(&t), now).is_some());
        assert_eq!(wait_before_sync(&repo(2), Some(&t), now), None);
        let later = now + Duration::from_secs(61);
        assert_eq!(wait_before_sync(&repo(1), Some(&t), later), None);
    }
}
