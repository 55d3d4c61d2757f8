//! Uninstall, from the finalizer: run the live revision's pre-delete
//! hooks, remove its objects in Helm's uninstall order (awaited unless
//! `spec.uninstall.wait` is false), run its post-delete hooks (none with
//! `spec.uninstall.disableHooks`), then remove its records, parked ones
//! included — under the release's own authority, and only a release this
//! HelmRelease acted on (see [`ownership::to_uninstall`]). With
//! `uninstall.keepHistory` the live record becomes `uninstalled` and parked
//! records stay parked, so `helm list --uninstalled` shows the revision
//! that was live.

use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Api, ResourceExt};

use super::install::to_hook;
use super::{ReleaseError, applier_for, publish, send, store_for, timeout_of};
use crate::api::HelmRelease;
use crate::apply::{Applier, ApplyError};
use crate::controller::Context;
use crate::controller::ownership::{self, Names};
use crate::release::history::now_rfc3339;
use crate::release::{Release, Status};
use crate::render::manifest::Hook;

/// The finalizer: remove the release's objects, then its records, both
/// under the release's own authority, and only a release this HelmRelease
/// acted on: a release another HelmRelease claims, one outside this
/// HelmRelease's namespaces, or one it never wrote a record of is left
/// alone.
pub(super) async fn run(obj: &HelmRelease, ctx: &Context) -> Result<Action, ReleaseError> {
    let n = Names::of(obj);
    if let Some(why) = nothing_to_uninstall(obj, ctx, &n) {
        tracing::info!(release = %n.release, storage = %n.storage, "{why}; nothing to uninstall");
        return Ok(Action::await_change());
    }
    let ap = match applier_for(obj, ctx, &n).await {
        Ok(ap) => ap,
        // Nothing was installed, or the namespace (and with it the
        // kubeConfig Secret or the account) is going away: nothing to
        // reach the release with.
        Err(f) if never_installed(obj) || namespace_terminating(ctx, &n.namespace).await => {
            tracing::warn!(error = %f, release = %n.release, "the release cannot be reached; nothing to uninstall");
            return Ok(Action::await_change());
        }
        Err(f) => return Err(ReleaseError::Impersonation(f.to_string())),
    };
    let store = store_for(&ap, obj, &n);
    let hist = match store.history(&n.release).await {
        Ok(h) => h,
        // Never installed: records it cannot read are not its own.
        Err(e) if never_installed(obj) => {
            tracing::info!(error = %e, "no readable release records; nothing to uninstall");
            return Ok(Action::await_change());
        }
        // The namespace is going away, and with it the account's
        // RoleBindings: what is left there goes with the namespace.
        Err(e) if namespace_terminating(ctx, &n.namespace).await => {
            tracing::warn!(error = %e, release = %n.release, "namespace terminating and the release records cannot be read; leaving them to the namespace deletion");
            return Ok(Action::await_change());
        }
        Err(e) => return Err(e.into()),
    };
    let uid = obj.uid().unwrap_or_default();
    if ownership::check_claim(&ctx.client, obj, &n, &hist)
        .await
        .is_err()
    {
        tracing::info!(release = %n.release, "the release belongs to another HelmRelease; nothing to uninstall");
        return Ok(Action::await_change());
    }
    let ours = ownership::to_uninstall(&hist, &uid);
    let terminating = namespace_terminating(ctx, &n.target).await;
    let live = ours
        .iter()
        .rev()
        .find(|s| s.release.status() == Status::Deployed)
        .or(ours.last())
        .map(|s| &s.release);
    if let Some(live) = live {
        uninstall_objects(obj, ctx, &ap, &n, live, terminating).await?;
    }
    let keep = obj.spec.uninstall.as_ref().is_some_and(|u| u.keep_history);
    for s in &ours {
        if keep {
            let mut r = s.release.clone();
            if r.status() == Status::Deployed {
                r.info.status = Status::Uninstalled;
                r.info.description = "Uninstallation complete".into();
                r.info.deleted = now_rfc3339();
                store.update(&r, &s.annotations).await?;
            }
        } else {
            store.delete(&n.release, s.release.version).await?;
        }
    }
    if !terminating && !ours.is_empty() {
        publish(
            ctx,
            obj,
            EventType::Normal,
            "UninstallSucceeded",
            "Uninstall",
            format!("release {} uninstalled", n.release),
        )
        .await;
    }
    ctx.metrics
        .forget_release(&format!("{}/{}", n.namespace, obj.name_any()));
    ctx.values_users.forget(obj);
    Ok(Action::await_change())
}

/// Why this HelmRelease cannot have installed anything (`None`: it may
/// have): its names were refused before any write.
fn nothing_to_uninstall(obj: &HelmRelease, ctx: &Context, n: &Names) -> Option<String> {
    ownership::check_names(obj, n, ctx.may_cross_namespaces(obj))
        .err()
        .map(|f| f.to_string())
}

/// Whether the status shows no revision was ever attempted.
fn never_installed(obj: &HelmRelease) -> bool {
    obj.status
        .as_ref()
        .is_none_or(|s| s.revision.is_none() && s.last_attempted_revision.is_none())
}

/// Removes the objects of `live` (waiting unless the namespace goes away).
async fn uninstall_objects(
    obj: &HelmRelease,
    ctx: &Context,
    ap: &Applier,
    n: &Names,
    live: &Release,
    terminating: bool,
) -> Result<(), ReleaseError> {
    let result = if terminating {
        // The namespace takes the objects; hooks could not run there.
        let res = send(ap.resources(&live.manifest, &n.target))
            .await
            .unwrap_or_default();
        send(ap.uninstall(&res, Duration::from_secs(5)))
            .await
            .map(|_| ())
    } else {
        send(remove_release(ap, obj, n, live)).await
    };
    match result {
        Ok(()) => Ok(()),
        Err(e) if terminating => {
            tracing::info!(error = %e, "namespace terminating; not waiting");
            Ok(())
        }
        Err(e) => {
            publish(
                ctx,
                obj,
                EventType::Warning,
                "UninstallFailed",
                "Uninstall",
                e.to_string(),
            )
            .await;
            Err(e.into())
        }
    }
}

/// Helm's uninstall of one revision: its pre-delete hooks, its objects in
/// uninstall order (awaited unless `spec.uninstall.wait` is false), its
/// post-delete hooks; no hooks with `spec.uninstall.disableHooks`.
pub(super) async fn remove_release(
    ap: &Applier,
    obj: &HelmRelease,
    n: &Names,
    rel: &Release,
) -> Result<(), ApplyError> {
    let opts = obj.spec.uninstall_options();
    let timeout = timeout_of(obj);
    let hooks: Vec<Hook> = rel.hooks.iter().map(to_hook).collect();
    let res = send(ap.resources(&rel.manifest, &n.target))
        .await
        .unwrap_or_default();
    if !opts.disable_hooks {
        send(ap.run_hooks(&hooks, "pre-delete", &n.target, timeout)).await?;
    }
    let wait = opts.wait.then_some(timeout);
    send(ap.uninstall_with(&res, wait)).await?;
    if !opts.disable_hooks {
        send(ap.run_hooks(&hooks, "post-delete", &n.target, timeout)).await?;
    }
    Ok(())
}

async fn namespace_terminating(ctx: &Context, ns: &str) -> bool {
    match Api::<Namespace>::all(ctx.client.clone()).get_opt(ns).await {
        Ok(Some(n)) => n.metadata.deletion_timestamp.is_some(),
        Ok(None) => true,
        Err(_) => false,
    }
}
