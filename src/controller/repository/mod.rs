//! The HelmRepository reconciler: fetches the index (conditional GET; an
//! unchanged index is not parsed again) every `interval`, on a spec change
//! and when the annotation `helm.rudder.dev/requested-at` changes; writes
//! the `Ready` condition, `artifact` (digest of the index bytes, number of
//! charts, time of the last content change) and `observedGeneration` with
//! server-side apply; emits Events when the index changes or a fetch fails.
//! Failures back off exponentially (capped at [`MAX_BACKOFF`]) and keep the
//! last good index, both in memory (for chart pulls) and in the status.
//! Status updates re-trigger the controller, so when a fetch is due is
//! decided by a per-object [`FetchTracker`], not by the watch events.

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
use super::sources::SourceError;
use super::status::StatusError;
use super::{Context, interval_or_default};
use crate::api::helmrepository::RepositoryArtifact;
use crate::api::{ConditionStatus, HelmRepository};
use crate::repo::IndexSnapshot;

/// Kind label used in logs and metrics.
pub const KIND: &str = "HelmRepository";
/// Annotation whose change asks for an immediate fetch.
pub const REQUESTED_AT: &str = "helm.rudder.dev/requested-at";
/// First retry delay after a failed fetch; doubles per failure.
pub const BASE_BACKOFF: Duration = Duration::from_secs(5);
/// Longest retry delay after failures.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// A failed HelmRepository reconciliation (a failed fetch is not one: it
/// is reported in the status and retried with back-off).
#[derive(Debug, thiserror::Error)]
pub enum RepositoryError {
    /// Writing status failed.
    #[error(transparent)]
    Status(#[from] StatusError),
}

/// What was fetched for one HelmRepository, to decide when to fetch next.
#[derive(Debug, Clone)]
struct Tracked {
    uid: String,
    generation: Option<i64>,
    requested_at: Option<String>,
    last_fetch: Instant,
    failures: u32,
}

/// Per-object fetch bookkeeping (`namespace/name` → last fetch).
#[derive(Debug, Default)]
pub struct FetchTracker {
    objects: Mutex<HashMap<String, Tracked>>,
}

impl FetchTracker {
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

/// Delay before the next automatic fetch after `failures` consecutive
/// failures (0: the interval).
pub fn retry_delay(failures: u32, interval: Duration) -> Duration {
    if failures == 0 {
        return interval;
    }
    let factor = 1u32
        .checked_shl(failures.saturating_sub(1))
        .unwrap_or(u32::MAX);
    BASE_BACKOFF.saturating_mul(factor).min(MAX_BACKOFF)
}

/// `None` when a fetch is due now, else how long until it is.
fn wait_before_fetch(
    obj: &HelmRepository,
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
    let next = t.last_fetch + retry_delay(t.failures, interval_or_default(&obj.spec.interval));
    next.checked_duration_since(now).filter(|d| !d.is_zero())
}

fn requested_at(obj: &HelmRepository) -> Option<&str> {
    obj.annotations().get(REQUESTED_AT).map(String::as_str)
}

fn key_of(obj: &HelmRepository) -> String {
    format!("{}/{}", obj.namespace().unwrap_or_default(), obj.name_any())
}

/// Reconciles one HelmRepository.
pub async fn reconcile(
    obj: Arc<HelmRepository>,
    ctx: Arc<Context>,
) -> Result<Action, RepositoryError> {
    let start = Instant::now();
    let key = key_of(&obj);
    if obj.meta().deletion_timestamp.is_some() {
        ctx.repo_tracker.forget(&key);
        let ns = obj.namespace().unwrap_or_default();
        ctx.sources.forget(&ns, &obj.name_any());
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
    obj: &HelmRepository,
    ctx: &Context,
    key: &str,
) -> Result<(Action, bool), RepositoryError> {
    let interval = interval_or_default(&obj.spec.interval);
    if obj.spec.suspend {
        write_status(ctx, obj, suspended_condition(obj), current_artifact(obj)).await?;
        return Ok((Action::await_change(), true));
    }
    let tracked = ctx.repo_tracker.get(key);
    if let Some(wait) = wait_before_fetch(obj, tracked.as_ref(), Instant::now()) {
        let healthy = tracked.is_some_and(|t| t.failures == 0);
        return Ok((Action::requeue(wait), healthy));
    }
    let failures_before = tracked
        .as_ref()
        .filter(|t| t.uid == obj.uid().unwrap_or_default())
        .map_or(0, |t| t.failures);
    let outcome = fetch(obj, ctx).await;
    let failures = if outcome.is_ok() {
        0
    } else {
        failures_before.saturating_add(1)
    };
    ctx.repo_tracker.set(
        key,
        Tracked {
            uid: obj.uid().unwrap_or_default(),
            generation: obj.metadata.generation,
            requested_at: requested_at(obj).map(str::to_string),
            last_fetch: Instant::now(),
            failures,
        },
    );
    let written = match &outcome {
        Ok(snap) => on_success(obj, ctx, snap).await,
        Err(e) => on_failure(obj, ctx, e).await,
    };
    if let Err(e) = written {
        // Fetch again next time: the status does not show this fetch.
        ctx.repo_tracker.forget(key);
        return Err(e);
    }
    Ok((
        Action::requeue(retry_delay(failures, interval)),
        outcome.is_ok(),
    ))
}

/// What a fetch found.
enum Fetched {
    Index(IndexSnapshot),
    /// `oci://` repositories have no index; charts are resolved on pull.
    Oci,
}

async fn fetch(obj: &HelmRepository, ctx: &Context) -> Result<Fetched, SourceError> {
    if obj.spec.url.starts_with("oci://") {
        return Ok(Fetched::Oci);
    }
    let r = ctx.sources.repository(&ctx.client, obj).await?;
    let before = r.repo.parse_count();
    let result = r.repo.refresh().await;
    ctx.metrics
        .index_parsed(&r.key, r.repo.parse_count().saturating_sub(before));
    match &result {
        Ok(snap) => tracing::info!(
            repository = %r.key,
            digest = %snap.digest,
            changed = snap.changed,
            downloaded = snap.downloaded,
            fetch_ms = snap.fetch_time.as_millis() as u64,
            parse_ms = snap.parse_time.as_millis() as u64,
            "fetched index"
        ),
        Err(e) => tracing::warn!(repository = %r.key, error = %e, "index fetch failed"),
    }
    result.map(Fetched::Index).map_err(|e| SourceError::Pull {
        repository: r.key.clone(),
        url: r.url.clone(),
        source: Box::new(e.into()),
    })
}

async fn on_success(
    obj: &HelmRepository,
    ctx: &Context,
    fetched: &Fetched,
) -> Result<(), RepositoryError> {
    let snap = match fetched {
        Fetched::Oci => {
            let cond = condition(
                obj,
                ConditionStatus::True,
                "OCIRepository",
                "OCI registry: charts are resolved by tag when pulled",
            );
            return write_status(ctx, obj, cond, None).await;
        }
        Fetched::Index(snap) => snap,
    };
    let previous = current_artifact(obj);
    let changed = previous.as_ref().is_none_or(|a| a.digest != snap.digest);
    let charts = snap.index.entries.len();
    let versions = snap.index.version_count();
    let artifact = RepositoryArtifact {
        digest: snap.digest.clone(),
        charts: charts as i64,
        last_update_time: match previous {
            Some(a) if !changed => a.last_update_time,
            _ => now_rfc3339(),
        },
    };
    let message = format!("index fetched: {charts} charts, {versions} versions");
    let cond = condition(obj, ConditionStatus::True, "IndexFetched", &message);
    write_status(ctx, obj, cond, Some(artifact)).await?;
    if changed {
        let note = format!(
            "index {} : {charts} charts, {versions} versions",
            snap.digest
        );
        publish(
            ctx,
            obj,
            EventType::Normal,
            "IndexChanged",
            "FetchIndex",
            note,
        )
        .await;
    }
    Ok(())
}

async fn on_failure(
    obj: &HelmRepository,
    ctx: &Context,
    err: &SourceError,
) -> Result<(), RepositoryError> {
    let message = err.to_string();
    let cond = condition(obj, ConditionStatus::False, failure_reason(err), &message);
    // The last good artifact stays in the status.
    write_status(ctx, obj, cond, current_artifact(obj)).await?;
    publish(
        ctx,
        obj,
        EventType::Warning,
        "FetchFailed",
        "FetchIndex",
        message,
    )
    .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let i = Duration::from_secs(600);
        assert_eq!(retry_delay(0, i), i);
        assert_eq!(retry_delay(1, i), Duration::from_secs(5));
        assert_eq!(retry_delay(2, i), Duration::from_secs(10));
        assert_eq!(retry_delay(4, i), Duration::from_secs(40));
        assert_eq!(retry_delay(7, i), MAX_BACKOFF);
        assert_eq!(retry_delay(100, i), MAX_BACKOFF);
    }

    fn repo(generation: i64, requested: Option<&str>) -> HelmRepository {
        let mut r = HelmRepository::new(
            "r",
            serde_json::from_value(serde_json::json!({"url": "http://x", "interval": "1m"}))
                .expect("spec"),
        );
        r.metadata.uid = Some("u".into());
        r.metadata.generation = Some(generation);
        if let Some(v) = requested {
            r.metadata.annotations = Some([(REQUESTED_AT.to_string(), v.to_string())].into());
        }
        r
    }

    #[test]
    fn fetches_when_due_or_asked() {
        let now = Instant::now();
        let t = Tracked {
            uid: "u".into(),
            generation: Some(1),
            requested_at: None,
            last_fetch: now,
            failures: 0,
        };
        assert_eq!(wait_before_fetch(&repo(1, None), None, now), None);
        assert!(wait_before_fetch(&repo(1, None), Some(&t), now).is_some());
        assert_eq!(wait_before_fetch(&repo(2, None), Some(&t), now), None);
        assert_eq!(wait_before_fetch(&repo(1, Some("a")), Some(&t), now), None);
        let later = now + Duration::from_secs(61);
        assert_eq!(wait_before_fetch(&repo(1, None), Some(&t), later), None);
        let failed = Tracked { failures: 1, ..t };
        let soon = now + Duration::from_secs(6);
        assert_eq!(wait_before_fetch(&repo(1, None), Some(&failed), soon), None);
    }
}
