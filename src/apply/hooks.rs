//! Hooks (Helm's `execHook`): the hooks of one event in weight order (then
//! kind in install order, then name), each created and awaited (Jobs until
//! complete, Pods until succeeded), honouring the delete policies
//! `before-hook-creation` (the default), `hook-succeeded` and `hook-failed`.

use std::cmp::Ordering;
use std::time::Duration;

use super::ready::hook_completion;
use super::{Applier, ApplyError, Resource};
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

impl Applier {
    /// Runs the hooks of one event (`pre-install`, `post-upgrade`, …).
    pub async fn run_hooks(
        &self,
        hooks: &[Hook],
        event: &str,
        default_ns: &str,
        timeout: Duration,
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
            if let Err(e) = self.execute_hook(&resources, timeout).await {
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
        for r in resources {
            self.server_side_apply(r, &r.object).await?;
        }
        self.wait_until(resources, timeout, "hook completion", hook_completion)
            .await
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
