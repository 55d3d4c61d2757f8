//! Readiness, as Helm v4's `--wait` judges it (kstatus rules): workloads
//! rolled out and available, Jobs complete, PVCs bound, Pods ready, CRDs
//! established; Services count as ready without a load-balancer address.
//! Also the completion rule hooks wait for (Jobs complete, Pods succeeded).
//! Waiting watches each object not yet ready (a watch filtered to its
//! name) instead of polling it, and trusts the apply's answer for objects
//! ready as applied. The API client multiplexes requests over one HTTP/2
//! connection, whose streams the server limits (Go's default is 250), so
//! the readiness and hook watches open at once are bounded
//! ([`watch_stream`]) and the controllers' other requests always find a
//! stream.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use futures::{StreamExt, future};
use kube::api::{DynamicObject, WatchEvent, WatchParams};
use serde_json::Value as Json;
use tokio::sync::{Semaphore, SemaphorePermit};

use super::health::{HealthRules, Readiness};
use super::{Applier, ApplyError, Phase, Resource, ResourceKey};

/// Readiness and hook watches open at once, process-wide: below the streams an
/// API server allows on one HTTP/2 connection (Go's default 250,
/// kube-apiserver's 1000), leaving room for the controllers' own watches
/// and requests. A watch beyond it waits for one to end.
const WATCH_STREAMS_MAX: usize = 200;

static WATCH_STREAMS: Semaphore = Semaphore::const_new(WATCH_STREAMS_MAX);

/// A place among the watches open at once ([`WATCH_STREAMS_MAX`]), held
/// while the permit lives; waits for one to end when all are taken.
pub(super) async fn watch_stream() -> Option<SemaphorePermit<'static>> {
    // Never closed: a failure to acquire would only mean no bound.
    WATCH_STREAMS.acquire().await.ok()
}

fn int(v: &Json, path: &[&str]) -> Option<i64> {
    path.iter().try_fold(v, |cur, p| cur.get(p))?.as_i64()
}

fn text<'a>(v: &'a Json, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |cur, p| cur.get(p))?.as_str()
}

/// The condition `type_` of `status.conditions`: (status, reason, message).
fn condition<'a>(v: &'a Json, type_: &str) -> Option<(&'a str, &'a str, &'a str)> {
    v.get("status")?
        .get("conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Json::as_str) == Some(type_))
        .map(|c| {
            let f = |k: &str| c.get(k).and_then(Json::as_str).unwrap_or_default();
            (f("status"), f("reason"), f("message"))
        })
}

fn condition_true(v: &Json, type_: &str) -> bool {
    condition(v, type_).is_some_and(|(s, _, _)| s == "True")
}

/// `Pending` unless the controller saw the latest spec (kstatus's
/// generation check): an object whose status has no `observedGeneration`
/// (a custom resource without a status, a ServiceMonitor) cannot be
/// checked and passes; a numeric string (Argo Rollouts) is read as its
/// number; any other string cannot be compared and passes.
fn observed(v: &Json) -> Option<Readiness> {
    let generation = int(v, &["metadata", "generation"])?;
    let seen = match v.pointer("/status/observedGeneration")? {
        Json::Number(n) => n.as_i64()?,
        Json::String(s) => s.trim().parse::<i64>().ok()?,
        _ => return None,
    };
    (seen < generation).then(|| {
        Readiness::Pending(format!(
            "generation {generation} is not yet observed (status.observedGeneration is {seen})"
        ))
    })
}

fn counts(pairs: &[(&str, i64, i64)]) -> Readiness {
    for (what, have, want) in pairs {
        if have < want {
            return Readiness::Pending(format!("{have} of {want} replicas {what}"));
        }
    }
    Readiness::Ready
}

fn deployment(v: &Json) -> Readiness {
    if v.pointer("/spec/paused").and_then(Json::as_bool) == Some(true) {
        return Readiness::Ready;
    }
    if let Some(p) = observed(v) {
        return p;
    }
    if let Some((_, "ProgressDeadlineExceeded", msg)) = condition(v, "Progressing") {
        return Readiness::Failed(format!("progress deadline exceeded: {msg}"));
    }
    let want = int(v, &["spec", "replicas"]).unwrap_or(1);
    let s = |k: &str| int(v, &["status", k]).unwrap_or(0);
    if s("replicas") > s("updatedReplicas") {
        return Readiness::Pending(format!(
            "{} old replicas are pending termination",
            s("replicas") - s("updatedReplicas")
        ));
    }
    counts(&[
        ("updated", s("updatedReplicas"), want),
        ("ready", s("readyReplicas"), want),
        ("available", s("availableReplicas"), want),
    ])
}

fn statefulset(v: &Json) -> Readiness {
    if let Some(p) = observed(v) {
        return p;
    }
    let want = int(v, &["spec", "replicas"]).unwrap_or(1);
    let s = |k: &str| int(v, &["status", k]).unwrap_or(0);
    let rolling = text(v, &["spec", "updateStrategy", "type"]).unwrap_or("RollingUpdate");
    let partition = int(v, &["spec", "updateStrategy", "rollingUpdate", "partition"]).unwrap_or(0);
    let r = counts(&[("ready", s("readyReplicas"), want)]);
    if r != Readiness::Ready || rolling != "RollingUpdate" {
        return r;
    }
    if partition > 0 {
        return counts(&[("updated", s("updatedReplicas"), want - partition)]);
    }
    if text(v, &["status", "currentRevision"]) != text(v, &["status", "updateRevision"]) {
        return Readiness::Pending("the rolling update is not finished".into());
    }
    Readiness::Ready
}

fn daemonset(v: &Json) -> Readiness {
    if let Some(p) = observed(v) {
        return p;
    }
    let s = |k: &str| int(v, &["status", k]).unwrap_or(0);
    let want = s("desiredNumberScheduled");
    counts(&[
        ("updated", s("updatedNumberScheduled"), want),
        ("available", s("numberAvailable"), want),
        ("ready", s("numberReady"), want),
    ])
}

fn replicaset(v: &Json) -> Readiness {
    if let Some(p) = observed(v) {
        return p;
    }
    let want = int(v, &["spec", "replicas"]).unwrap_or(1);
    counts(&[(
        "ready",
        int(v, &["status", "readyReplicas"]).unwrap_or(0),
        want,
    )])
}

fn job(v: &Json) -> Readiness {
    if let Some((_, reason, msg)) = condition(v, "Failed").filter(|c| c.0 == "True") {
        return Readiness::Failed(format!("job failed: {reason} {msg}").trim().to_string());
    }
    if condition_true(v, "Complete") {
        return Readiness::Ready;
    }
    Readiness::Pending("not complete".into())
}

fn pod(v: &Json, need_success: bool) -> Readiness {
    match text(v, &["status", "phase"]) {
        Some("Succeeded") => Readiness::Ready,
        Some("Failed") => Readiness::Failed("pod failed".into()),
        phase if !need_success && condition_true(v, "Ready") => {
            let _ = phase;
            Readiness::Ready
        }
        phase => Readiness::Pending(format!("pod phase {}", phase.unwrap_or("Pending"))),
    }
}

/// Any other kind, custom resources included, as kstatus reads it: being
/// deleted or an unobserved generation is in progress, `Reconciling=True`
/// is in progress, `Stalled=True` has failed; beyond kstatus, a
/// `Ready=False` condition is in progress too (as Flux's health checks
/// read it). An object with no status at all is ready.
fn generic(v: &Json) -> Readiness {
    if v.pointer("/metadata/deletionTimestamp")
        .is_some_and(|t| !t.is_null())
    {
        return Readiness::Pending("scheduled for deletion".into());
    }
    if let Some(p) = observed(v) {
        return p;
    }
    let said =
        |what: &str, reason: &str, msg: &str| format!("{what} {reason} {msg}").trim().to_string();
    if let Some(("True", reason, msg)) = condition(v, "Stalled") {
        return Readiness::Failed(said("Stalled=True", reason, msg));
    }
    if let Some(("True", reason, msg)) = condition(v, "Reconciling") {
        return Readiness::Pending(said("Reconciling=True", reason, msg));
    }
    match condition(v, "Ready") {
        Some(("False", reason, msg)) => Readiness::Pending(said("Ready=False", reason, msg)),
        _ => Readiness::Ready,
    }
}

/// Whether a live object of `kind` is ready for `--wait`.
pub fn readiness(kind: &str, live: &Json) -> Readiness {
    match kind {
        "Deployment" => deployment(live),
        "StatefulSet" => statefulset(live),
        "DaemonSet" => daemonset(live),
        "ReplicaSet" | "ReplicationController" => replicaset(live),
        "Job" => job(live),
        "Pod" => pod(live, false),
        "PersistentVolumeClaim" => match text(live, &["status", "phase"]) {
            Some("Bound") => Readiness::Ready,
            phase => Readiness::Pending(format!("phase {}", phase.unwrap_or("Pending"))),
        },
        "Service" => Readiness::Ready,
        "CustomResourceDefinition" => {
            if condition_true(live, "Established") {
                Readiness::Ready
            } else {
                Readiness::Pending("not Established".into())
            }
        }
        _ => generic(live),
    }
}

/// Whether a hook object finished (Helm's `WatchUntilReady`: Jobs complete,
/// Pods succeeded; anything else is done once created).
pub fn hook_completion(kind: &str, live: &Json) -> Readiness {
    match kind {
        "Job" => job(live),
        "Pod" => pod(live, true),
        _ => Readiness::Ready,
    }
}

/// Copies of objects as the API server last answered for them (the
/// answers of the apply), by identity: an object already ready in its copy
/// is not read again.
pub type Known = HashMap<ResourceKey, DynamicObject>;

/// What is still awaited, by object (`Kind namespace/name` → why).
type Awaited = Mutex<BTreeMap<String, String>>;

impl Applier {
    /// Waits until every resource is ready (Helm's `--wait`), bounded by
    /// `timeout`. A failed Job or Pod or a stalled rollout fails at once;
    /// a timeout names what is not ready and why.
    pub async fn wait_ready(
        &self,
        resources: &[Resource],
        timeout: Duration,
    ) -> Result<(), ApplyError> {
        self.wait_ready_with(resources, timeout, &HealthRules::default(), super::quiet())
            .await
    }

    /// [`Applier::wait_ready`], reading the kinds `health` covers by its
    /// expressions, and saying through `phase` what is still awaited.
    pub async fn wait_ready_with(
        &self,
        resources: &[Resource],
        timeout: Duration,
        health: &HealthRules,
        phase: Phase<'_>,
    ) -> Result<(), ApplyError> {
        self.wait_ready_known(resources, &Known::new(), timeout, health, phase)
            .await
    }

    /// [`Applier::wait_ready_with`], judging first from the copies in
    /// `known`: an object ready there costs no request; every other one is
    /// watched (one watch request, filtered to its name, that starts with
    /// its current state) until it is ready, has failed, or `timeout`
    /// passes — no polling.
    pub async fn wait_ready_known(
        &self,
        resources: &[Resource],
        known: &Known,
        timeout: Duration,
        health: &HealthRules,
        phase: Phase<'_>,
    ) -> Result<(), ApplyError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut left = Vec::new();
        for r in resources {
            let verdict = match known.get(&r.key()) {
                Some(copy) => verdict(r, copy, health)?,
                None => Readiness::Pending("not found".into()),
            };
            match verdict {
                Readiness::Ready => {}
                Readiness::Failed(message) => {
                    return Err(ApplyError::Failed {
                        object: r.display(),
                        message,
                    });
                }
                Readiness::Pending(why) => left.push((r, why)),
            }
        }
        if left.is_empty() {
            return Ok(());
        }
        let total = resources.len();
        let awaited: Awaited = Mutex::new(
            left.iter()
                .map(|(r, why)| (r.display(), why.clone()))
                .collect(),
        );
        let says = |awaited: &Awaited| {
            let Ok(a) = awaited.lock() else { return };
            if let Some((object, why)) = a.iter().next() {
                phase(format!(
                    "waiting for {}/{total} objects to be ready: {object}: {why}",
                    a.len()
                ));
            }
        };
        says(&awaited);
        let watches = left
            .iter()
            .map(|(r, _)| self.watch_until_ready(r, health, &awaited, &says));
        match tokio::time::timeout_at(deadline, future::try_join_all(watches)).await {
            Ok(done) => done.map(|_| ()),
            Err(_) => Err(ApplyError::Timeout {
                what: "resources to be ready".to_string(),
                after: timeout,
                pending: awaited
                    .lock()
                    .map(|a| a.iter().map(|(o, why)| format!("{o}: {why}")).collect())
                    .unwrap_or_default(),
            }),
        }
    }

    /// Watches `r` (by name) until it is ready or has failed; each state
    /// seen goes to `awaited`. A watch the server ends is resumed from the
    /// last version seen; one too old to resume starts over from the
    /// current state.
    async fn watch_until_ready(
        &self,
        r: &Resource,
        health: &HealthRules,
        awaited: &Awaited,
        says: &(dyn Fn(&Awaited) + Send + Sync),
    ) -> Result<(), ApplyError> {
        let _stream = watch_stream().await;
        let api = r.api(&self.client);
        let params = WatchParams::default().fields(&format!("metadata.name={}", r.name()));
        let note = |why: Option<String>| {
            if let Ok(mut a) = awaited.lock() {
                match why {
                    Some(why) => a.insert(r.display(), why),
                    None => a.remove(&r.display()),
                };
            }
            says(awaited);
        };
        // Empty: start from the current state (sent first, as events).
        let mut version = String::new();
        loop {
            let events = api
                .watch(&params, &version)
                .await
                .map_err(|e| ApplyError::api("watching", r.display(), e))?;
            let mut events = std::pin::pin!(events);
            while let Some(event) = events.next().await {
                let event = event.map_err(|e| ApplyError::api("watching", r.display(), e))?;
                match event {
                    WatchEvent::Added(o) | WatchEvent::Modified(o) => {
                        version = o.metadata.resource_version.clone().unwrap_or_default();
                        match verdict(r, &o, health)? {
                            Readiness::Ready => {
                                note(None);
                                return Ok(());
                            }
                            Readiness::Failed(message) => {
                                return Err(ApplyError::Failed {
                                    object: r.display(),
                                    message,
                                });
                            }
                            Readiness::Pending(why) => note(Some(why)),
                        }
                    }
                    WatchEvent::Deleted(o) => {
                        version = o.metadata.resource_version.clone().unwrap_or_default();
                        note(Some("not found".into()));
                    }
                    WatchEvent::Bookmark(b) => version = b.metadata.resource_version,
                    // Too old to resume: start over from the current state.
                    WatchEvent::Error(e) if e.code == 410 => {
                        version.clear();
                        break;
                    }
                    WatchEvent::Error(e) => {
                        return Err(ApplyError::api(
                            "watching",
                            r.display(),
                            kube::Error::Api(e),
                        ));
                    }
                }
            }
        }
    }
}

/// The readiness of `r` in its copy `obj`: by `health` when it covers the
/// kind, else by kind.
fn verdict(
    r: &Resource,
    obj: &DynamicObject,
    health: &HealthRules,
) -> Result<Readiness, ApplyError> {
    let json = serde_json::to_value(obj).map_err(|e| ApplyError::Parse {
        document: r.display(),
        message: e.to_string(),
    })?;
    Ok(health
        .readiness(&json)
        .unwrap_or_else(|| readiness(r.kind(), &json)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn deployment_rules() {
        let mut d = json!({"metadata": {"generation": 2}, "spec": {"replicas": 2},
            "status": {"observedGeneration": 1}});
        assert!(matches!(readiness("Deployment", &d), Readiness::Pending(_)));
        d["status"] = json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2,
            "readyReplicas": 2, "availableReplicas": 1});
        assert_eq!(
            readiness("Deployment", &d),
            Readiness::Pending("1 of 2 replicas available".into())
        );
        d["status"]["availableReplicas"] = json!(2);
        assert_eq!(readiness("Deployment", &d), Readiness::Ready);
        d["status"]["conditions"] = json!([{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]);
        assert!(matches!(readiness("Deployment", &d), Readiness::Failed(_)));
    }

    #[test]
    fn jobs_pods_pvcs_services() {
        let j = json!({"status": {"conditions": [{"type": "Complete", "status": "True"}]}});
        assert_eq!(readiness("Job", &j), Readiness::Ready);
        let j = json!({"status": {"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]}});
        assert!(matches!(readiness("Job", &j), Readiness::Failed(_)));
        let p = json!({"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}});
        assert_eq!(readiness("Pod", &p), Readiness::Ready);
        assert!(matches!(hook_completion("Pod", &p), Readiness::Pending(_)));
        assert!(matches!(
            readiness(
                "PersistentVolumeClaim",
                &json!({"status": {"phase": "Pending"}})
            ),
            Readiness::Pending(_)
        ));
        assert_eq!(readiness("Service", &json!({})), Readiness::Ready);
        assert_eq!(hook_completion("ConfigMap", &json!({})), Readiness::Ready);
    }

    #[test]
    fn custom_resources_read_as_kstatus_reads_them() {
        // No status at all (a ServiceMonitor): nothing to wait for.
        let cr = json!({"metadata": {"generation": 3}, "spec": {}});
        assert_eq!(readiness("ServiceMonitor", &cr), Readiness::Ready);
        // A string observedGeneration (Argo Rollouts) is compared as a number.
        let mut r = json!({"metadata": {"generation": 3}, "status": {"observedGeneration": "2"}});
        assert!(matches!(readiness("Rollout", &r), Readiness::Pending(_)));
        r["status"]["observedGeneration"] = json!("3");
        assert_eq!(readiness("Rollout", &r), Readiness::Ready);
        r["status"]["observedGeneration"] = json!("abc123");
        assert_eq!(readiness("Rollout", &r), Readiness::Ready);
        // Conditions.
        let with = |conds: serde_json::Value| json!({"metadata": {"generation": 1}, "status": {"observedGeneration": 1, "conditions": conds}});
        assert!(matches!(
            readiness(
                "Widget",
                &with(json!([{"type": "Reconciling", "status": "True"}]))
            ),
            Readiness::Pending(_)
        ));
        assert_eq!(
            readiness(
                "Widget",
                &with(
                    json!([{"type": "Stalled", "status": "True", "reason": "Broken", "message": "bad spec"}])
                )
            ),
            Readiness::Failed("Stalled=True Broken bad spec".into())
        );
        assert!(matches!(
            readiness(
                "Widget",
                &with(json!([{"type": "Ready", "status": "False"}]))
            ),
            Readiness::Pending(_)
        ));
        assert_eq!(
            readiness(
                "Widget",
                &with(json!([{"type": "Ready", "status": "True"}]))
            ),
            Readiness::Ready
        );
        let deleting = json!({"metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z"}});
        assert!(matches!(
            readiness("Widget", &deleting),
            Readiness::Pending(_)
        ));
    }

    #[test]
    fn statefulsets_and_daemonsets() {
        let s = json!({"spec": {"replicas": 1}, "status": {"readyReplicas": 1,
            "currentRevision": "a", "updateRevision": "b"}});
        assert!(matches!(
            readiness("StatefulSet", &s),
            Readiness::Pending(_)
        ));
        let d = json!({"status": {"desiredNumberScheduled": 0}});
        assert_eq!(readiness("DaemonSet", &d), Readiness::Ready);
    }
}
