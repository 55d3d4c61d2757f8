//! Hooks (Helm's `execHook`): the hooks of one event in weight order (then
//! kind in install order, then name), each created and awaited (Jobs until
//! complete, Pods until succeeded), honouring the delete policies
//! `before-hook-creation` (the default), `hook-succeeded` and `hook-failed`.
//!
//! A hook is awaited by watching it from the resource version its creation
//! returned, as Helm watches it: every change arrives in order, so a Job
//! that completes and is removed at once by `ttlSecondsAfterFinished: 0`
//! is still seen complete (its last state comes with the deletion).

use std::cmp::Ordering;
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use kube::api::{DynamicObject, WatchEvent, WatchParams};
use serde_json::Value as Json;

use super::health::Readiness;
use super::ready::{hook_completion, watch_stream};
use super::{Applier, ApplyError, Phase, Resource};
use crate::render::manifest::{Hook, kind_order};

pub const BEFORE_HOOK_CREATION: &str = "before-hook-creation";
pub const HOOK_SUCCEEDED: &str = "hook-succeeded";
pub const HOOK_FAILED: &str = "hook-failed";

/// Helm's `hookByWeight`.
fn hook_order(a: &Hook, b: &Hook) -> Ordering {
    a.weight
        .cmp(&b.weight)
        .then_with(|| kind_order(&a.kind, &b.kind))
        .then_with(|| a.name.cmp(&b.name))
}

/// The hook's delete policies (`before-hook-creation` when none is given).
fn has_policy(h: &Hook, policy: &str) -> bool {
    if h.delete_policies.is_empty() {
        return policy == BEFORE_HOOK_CREATION;
    }
    h.delete_policies.iter().any(|p| p == policy)
}

/// The hooks of `event`, in the order Helm runs them.
pub fn hooks_for<'a>(hooks: &'a [Hook], event: &str) -> Vec<&'a Hook> {
    let mut run: Vec<&Hook> = hooks
        .iter()
        .filter(|h| h.events.iter().any(|e| e == event))
        .collect();
    run.sort_by(|a, b| hook_order(a, b));
    run
}

/// How one hook ran: Helm's `release.HookExecution`, recorded in the
/// release as the hook's `last_run`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HookRun {
    /// The hook's template path, name and kind (which hook ran).
    pub path: String,
    pub name: String,
    pub kind: String,
    /// RFC 3339 times.
    pub started_at: String,
    pub completed_at: String,
    /// `Succeeded` or `Failed`.
    pub phase: &'static str,
}

fn now() -> String {
    jiff::Timestamp::now().to_string()
}

impl Applier {
    /// Runs the hooks of one event (`pre-install`, `post-upgrade`, …).
    pub async fn run_hooks(
        &self,
        hooks: &[Hook],
        event: &str,
        default_ns: &str,
        timeout: Duration,
    ) -> Result<(), ApplyError> {
        let mut runs = Vec::new();
        self.run_hooks_logged(hooks, event, default_ns, timeout, &mut runs, super::quiet())
            .await
    }

    /// Runs the hooks of one event, appending how each ran to `runs` and
    /// naming the hook running now through `phase`.
    pub async fn run_hooks_logged(
        &self,
        hooks: &[Hook],
        event: &str,
        default_ns: &str,
        timeout: Duration,
        runs: &mut Vec<HookRun>,
        phase: Phase<'_>,
    ) -> Result<(), ApplyError> {
        let run = hooks_for(hooks, event);
        let mut built = Vec::with_capacity(run.len());
        for h in &run {
            let wrap = |e| hook_error(event, h, e);
            let manifest = format!("# Source: {}\n{}", h.path, h.manifest);
            let resources = self.resources(&manifest, default_ns).await.map_err(wrap)?;
            if has_policy(h, BEFORE_HOOK_CREATION) {
                self.delete_hook(h, &resources, timeout)
                    .await
                    .map_err(wrap)?;
            }
            phase(format!("running {event} hook {} {}", h.kind, h.name));
            let started_at = now();
            let result = self.execute_hook(&resources, timeout).await;
            runs.push(HookRun {
                path: h.path.clone(),
                name: h.name.clone(),
                kind: h.kind.clone(),
                started_at,
                completed_at: now(),
                phase: if result.is_ok() {
                    "Succeeded"
                } else {
                    "Failed"
                },
            });
            if let Err(e) = result {
                if has_policy(h, HOOK_FAILED) {
                    self.delete_hook(h, &resources, timeout)
                        .await
                        .map_err(wrap)?;
                }
                return Err(wrap(e));
            }
            built.push((h, resources));
        }
        for (h, resources) in built.iter().rev() {
            if has_policy(h, HOOK_SUCCEEDED) {
                self.delete_hook(h, resources, timeout)
                    .await
                    .map_err(|e| hook_error(event, h, e))?;
            }
        }
        Ok(())
    }

    /// Creates a hook's objects and waits until they complete.
    async fn execute_hook(
        &self,
        resources: &[Resource],
        timeout: Duration,
    ) -> Result<(), ApplyError> {
        let mut created = Vec::with_capacity(resources.len());
        for r in resources {
            created.push(self.server_side_apply(r, &r.object).await?);
        }
        let deadline = Instant::now() + timeout;
        for (r, obj) in resources.iter().zip(created) {
            self.await_hook(r, obj, deadline, timeout).await?;
        }
        Ok(())
    }

    /// Watches one hook object from its creation until it completes or
    /// fails, or `deadline` passes.
    async fn await_hook(
        &self,
        r: &Resource,
        created: DynamicObject,
        deadline: Instant,
        timeout: Duration,
    ) -> Result<(), ApplyError> {
        let Some(mut why) = self.pending(r, &created)? else {
            return Ok(());
        };
        let mut version = created
            .metadata
            .resource_version
            .clone()
            .unwrap_or_default();
        let _stream = watch_stream().await;
        let api = r.api(&self.client);
        let params = WatchParams::default().fields(&format!("metadata.name={}", r.name()));
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(ApplyError::Timeout {
                    what: "hook completion".into(),
                    after: timeout,
                    pending: vec![format!("{}: {why}", r.display())],
                });
            }
            let params = params.clone().timeout(left.as_secs().clamp(1, 290) as u32);
            let stream = api
                .watch(&params, &version)
                .await
                .map_err(|e| ApplyError::api("watching", r.display(), e))?;
            let mut stream = Box::pin(stream);
            let remaining = || deadline.saturating_duration_since(Instant::now());
            while let Ok(event) = tokio::time::timeout(remaining(), stream.try_next()).await {
                let event = event.map_err(|e| ApplyError::api("watching", r.display(), e))?;
                let Some(event) = event else { break };
                match event {
                    WatchEvent::Added(o) | WatchEvent::Modified(o) => {
                        version = o.metadata.resource_version.clone().unwrap_or(version);
                        match self.pending(r, &o)? {
                            Some(w) => why = w,
                            None => return Ok(()),
                        }
                    }
                    // Its last state comes with the deletion.
                    WatchEvent::Deleted(o) => {
                        return match self.pending(r, &o)? {
                            Some(_) => Err(deleted_early(r)),
                            None => Ok(()),
                        };
                    }
                    WatchEvent::Bookmark(b) => version = b.metadata.resource_version,
                    // The version is too old (410): read the object and
                    // watch on from its current version.
                    WatchEvent::Error(_) => {
                        let live = r.read_live(&self.client).await?;
                        let Some(live) = live else {
                            return Err(deleted_early(r));
                        };
                        match self.pending(r, &live)? {
                            Some(w) => why = w,
                            None => return Ok(()),
                        }
                        version = live.metadata.resource_version.clone().unwrap_or_default();
                        break;
                    }
                }
            }
        }
    }

    /// Where a hook object stands ([`hook_completion`]): why it is still
    /// pending, `None` once it completed, or the error saying it failed.
    fn pending(&self, r: &Resource, obj: &DynamicObject) -> Result<Option<String>, ApplyError> {
        let json: Json = serde_json::to_value(obj).map_err(|e| ApplyError::Parse {
            document: r.display(),
            message: e.to_string(),
        })?;
        match hook_completion(r.kind(), &json) {
            Readiness::Ready => Ok(None),
            Readiness::Pending(why) => Ok(Some(why)),
            Readiness::Failed(message) => Err(ApplyError::Failed {
                object: r.display(),
                message,
            }),
        }
    }

    /// Deletes a hook's objects and waits until they are gone (never CRDs).
    async fn delete_hook(
        &self,
        h: &Hook,
        resources: &[Resource],
        timeout: Duration,
    ) -> Result<(), ApplyError> {
        if h.kind == "CustomResourceDefinition" {
            return Ok(());
        }
        let report = self.uninstall_objects(resources).await?;
        self.wait_gone(&report, timeout).await
    }
}

/// A hook object removed while it had not completed.
fn deleted_early(r: &Resource) -> ApplyError {
    ApplyError::Failed {
        object: r.display(),
        message: "deleted before it completed".into(),
    }
}

fn hook_error(event: &str, h: &Hook, e: ApplyError) -> ApplyError {
    ApplyError::Hook {
        event: event.to_string(),
        path: h.path.clone(),
        source: Box::new(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(name: &str, kind: &str, weight: i64, events: &[&str]) -> Hook {
        Hook {
            name: name.into(),
            kind: kind.into(),
            path: format!("c/templates/{name}.yaml"),
            manifest: String::new(),
            events: events.iter().map(|e| e.to_string()).collect(),
            weight,
            delete_policies: Vec::new(),
        }
    }

    #[test]
    fn hooks_run_by_weight_kind_then_name() {
        let hooks = vec![
            hook("b", "Job", 0, &["pre-install"]),
            hook("a", "Job", 0, &["pre-install", "pre-upgrade"]),
            hook("z", "ConfigMap", 0, &["pre-install"]),
            hook("first", "Job", -5, &["pre-install"]),
            hook("other", "Job", -9, &["post-install"]),
        ];
        let names: Vec<&str> = hooks_for(&hooks, "pre-install")
            .iter()
            .map(|h| h.name.as_str())
            .collect();
        assert_eq!(names, vec!["first", "z", "a", "b"]);
    }

    #[test]
    fn before_hook_creation_is_the_default_policy() {
        let mut h = hook("a", "Job", 0, &["pre-install"]);
        assert!(has_policy(&h, BEFORE_HOOK_CREATION));
        assert!(!has_policy(&h, HOOK_SUCCEEDED));
        h.delete_policies = vec![HOOK_SUCCEEDED.into()];
        assert!(!has_policy(&h, BEFORE_HOOK_CREATION));
        assert!(has_policy(&h, HOOK_SUCCEEDED));
    }
}
