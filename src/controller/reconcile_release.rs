//! The HelmRelease reconciler: resolve the chart, compose the values,
//! render, compare with the live revision, and install / upgrade / roll
//! back (`spec.revision`) / uninstall (finalizer), recording every revision
//! in Helm's storage format. Decisions are taken before any write: render
//! and ownership errors leave the live revision and its record untouched,
//! and an unchanged release makes no API write at all. A pending record
//! left by a dead process is marked failed and the action redone.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use kube::{Api, Resource as _, ResourceExt};
use serde_json::{Map as JsonMap, Value as Json};

use super::events;
use super::metrics::Outcome as MetricOutcome;
use super::ownership::{self, Names};
use super::release_failure::Failure;
use super::release_status::{self, Outcome};
use super::sources::{PulledChart, load_pulled};
use super::status::FIELD_MANAGER;
use super::values;
use super::{Context, requeue_after};
use crate::api::HelmRelease;
use crate::api::condition::{ConditionStatus, READY};
use crate::api::duration::parse_duration;
use crate::api::helmrelease::CrdPolicy;
use crate::apply::{Applier, ApplyError, ClaimGuard, ReleaseRef, Resource};
use crate::release::build::{Built, build};
use crate::release::history::{self, now_rfc3339};
use crate::release::record::{HookRecord, NewRelease};
use crate::release::store::{
    CHART_DIGEST, OPTIONS_DIGEST, SecretStore, StoredRelease, VALUES_DIGEST,
};
use crate::release::{Release, Status, StoreError};
use crate::render::driver::RenderOptions;
use crate::render::manifest::Hook;

/// Kind label used in logs and metrics.
pub const KIND: &str = "HelmRelease";
/// The finalizer that uninstalls the release.
pub const FINALIZER: &str = "helm.rudder.dev/uninstall";
/// Reason of the stall after too many failed installs/upgrades.
pub const RETRIES_EXHAUSTED: &str = "RetriesExhausted";
/// Requeue while waiting for `spec.dependsOn`.
const DEPENDENCY_RETRY: Duration = Duration::from_secs(5);

/// A failed HelmRelease reconciliation.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    /// Reading or writing release records failed.
    #[error(transparent)]
    Store(Box<StoreError>),
    /// Writing status failed.
    #[error("writing status of HelmRelease {0}: {1}")]
    Status(String, Box<kube::Error>),
    /// The finalizer machinery failed.
    #[error("finalizer: {0}")]
    Finalizer(String),
    /// No Applier could be made for `spec.serviceAccountName`.
    #[error("{0}")]
    Impersonation(String),
    /// Uninstalling failed.
    #[error("uninstall: {0}")]
    Uninstall(Box<ApplyError>),
}

/// Reconciles one HelmRelease.
pub async fn reconcile(obj: Arc<HelmRelease>, ctx: Arc<Context>) -> Result<Action, ReleaseError> {
    let start = Instant::now();
    let writes_before = total_writes(&ctx);
    let api: Api<HelmRelease> =
        Api::namespaced(ctx.client.clone(), &obj.namespace().unwrap_or_default());
    if !obj.finalizers().iter().any(|f| f == FINALIZER) && obj.metadata.deletion_timestamp.is_none()
    {
        ctx.release_writes.fetch_add(1, Ordering::Relaxed);
    }
    let result = finalizer(&api, FINALIZER, obj, |event| async {
        match event {
            Finalizer::Apply(obj) => send(apply(&obj, &ctx)).await,
            Finalizer::Cleanup(obj) => send(cleanup(&obj, &ctx)).await,
        }
    })
    .await
    .map_err(|e| ReleaseError::Finalizer(e.to_string()));
    let outcome = if result.is_ok() {
        MetricOutcome::Success
    } else {
        MetricOutcome::Error
    };
    ctx.metrics.observe(KIND, start, outcome);
    ctx.metrics
        .add_api_writes(total_writes(&ctx).saturating_sub(writes_before));
    // Failures the status can report are outcomes; what is left (the
    // finalizer, status writes, uninstall) goes to the error policy.
    result
}

/// Boxes a future as `Send` where it is created, where the compiler can
/// prove it (it cannot through the finalizer's generic closure).
fn send<'a, T>(
    f: impl std::future::Future<Output = T> + Send + 'a,
) -> futures::future::BoxFuture<'a, T> {
    Box::pin(f)
}

fn total_writes(ctx: &Context) -> u64 {
    ctx.applier.writes() + ctx.release_writes.load(Ordering::Relaxed)
}

fn timeout_of(obj: &HelmRelease) -> Duration {
    parse_duration(&obj.spec.timeout).unwrap_or(Duration::from_secs(300))
}

/// The release records, read and written with the authority `ap` acts
/// with (the HelmRelease's service account, or rudder's own identity),
/// each record written stamped with the HelmRelease's claim.
fn store_for(ctx: &Context, ap: &Applier, obj: &HelmRelease, n: &Names) -> SecretStore {
    SecretStore::new(ap.client().clone(), &n.storage, ctx.release_writes.clone())
        .stamping(ownership::owner_annotations(obj))
}

/// Install, upgrade or roll back as the spec says.
async fn apply(obj: &HelmRelease, ctx: &Context) -> Result<Action, ReleaseError> {
    if obj.spec.suspend {
        return Ok(Action::await_change());
    }
    let key = format!("{}/{}", obj.namespace().unwrap_or_default(), obj.name_any());
    let generation = obj.metadata.generation;
    if let Some(wait) = ctx.backoff.wait(&key, generation, Instant::now()) {
        return Ok(Action::requeue(wait));
    }
    let n = Names::of(obj);
    let mut hist = Vec::new();
    let outcome = match act(obj, ctx, &n, &mut hist).await {
        Ok(o) => o,
        Err(f) => f.into(),
    };
    let status = release_status::compute(obj, &hist, &outcome);
    if release_status::differs(obj.status.as_ref(), &status)
        && let Outcome::Failed {
            reason, message, ..
        } = &outcome
    {
        // Every refusal is visible: one Warning event per new failure,
        // with the condition's reason.
        tracing::warn!(release = %format!("{}/{}", n.namespace, obj.name_any()), reason = %reason, "{message}");
        publish(
            ctx,
            obj,
            EventType::Warning,
            reason,
            "Reconcile",
            message.clone(),
        )
        .await;
    }
    write_status(ctx, obj, &status).await?;
    ctx.metrics.set_release_status(
        &format!("{}/{}", n.namespace, obj.name_any()),
        history::deployed(hist.iter().map(|s| &s.release))
            .map(|r| r.status().as_str())
            .unwrap_or("none"),
    );
    Ok(match outcome {
        Outcome::Failed { stalled, .. } => {
            let wait = ctx.backoff.failed(&key, generation, Instant::now());
            if stalled {
                requeue_after(&obj.spec.interval)
            } else {
                Action::requeue(wait)
            }
        }
        Outcome::Waiting { .. } => Action::requeue(DEPENDENCY_RETRY),
        Outcome::Ready { .. } => {
            ctx.backoff.reset(&key);
            requeue_after(&obj.spec.interval)
        }
    })
}

/// Checks who may act, reads the history under the release's own
/// authority, and takes the action the spec asks for. `hist` is left as
/// the history the status reports: empty when the release is not ours.
async fn act(
    obj: &HelmRelease,
    ctx: &Context,
    n: &Names,
    hist: &mut Vec<StoredRelease>,
) -> Result<Outcome, Failure> {
    ownership::check_names(obj, n, ctx.allow_cross_namespace)?;
    let ap = applier_for(obj, ctx, n)?;
    let store = store_for(ctx, &ap, obj, n);
    let found = store.history(&n.release).await?;
    ownership::check_claim(&ctx.client, obj, n, &found).await?;
    *hist = found;
    if recover(&store, hist).await? {
        publish(
            ctx,
            obj,
            EventType::Warning,
            "Recovered",
            "Recover",
            "a pending record left by an interrupted run was marked failed; redoing".into(),
        )
        .await;
    }
    Ok(match obj.spec.revision {
        Some(rev) => rollback(obj, ctx, &ap, n, &store, hist, rev).await,
        None => match dependencies_waiting(obj, ctx).await {
            Some(o) => o,
            None => follow_spec(obj, ctx, &ap, n, &store, hist).await,
        },
    })
}

/// The Applier acting for `obj`: rudder's own, or one impersonating
/// `spec.serviceAccountName` (a service account in the HelmRelease's
/// namespace, so a tenant cannot borrow another namespace's accounts).
fn applier_for(obj: &HelmRelease, ctx: &Context, n: &Names) -> Result<Applier, Failure> {
    match &obj.spec.service_account_name {
        None => Ok(ctx.applier.clone()),
        Some(sa) => ctx
            .impersonation
            .applier(&ctx.applier, &n.namespace, sa)
            .map_err(Failure::Impersonation),
    }
}

/// `spec.dependsOn`: the first HelmRelease named there that is not
/// Ready at its current generation, as a waiting outcome.
async fn dependencies_waiting(obj: &HelmRelease, ctx: &Context) -> Option<Outcome> {
    let own_ns = obj.namespace().unwrap_or_default();
    for dep in &obj.spec.depends_on {
        let ns = dep.namespace.as_deref().unwrap_or(&own_ns);
        let api: Api<HelmRelease> = Api::namespaced(ctx.client.clone(), ns);
        let why = match api.get_opt(&dep.name).await {
            Ok(Some(d)) => dependency_problem(&d),
            Ok(None) => Some("it does not exist".to_string()),
            Err(e) => Some(format!("reading it failed: {e}")),
        };
        if let Some(why) = why {
            return Some(Outcome::Waiting {
                reason: "DependencyNotReady".into(),
                message: format!(
                    "waiting for dependency HelmRelease {ns}/{}: {why}",
                    dep.name
                ),
            });
        }
    }
    None
}

/// Why a dependency is not Ready at its current generation (`None`: it is).
fn dependency_problem(dep: &HelmRelease) -> Option<String> {
    let status = dep.status.as_ref();
    let observed = status.and_then(|s| s.observed_generation);
    if observed != dep.metadata.generation {
        return Some("its current generation is not reconciled yet".into());
    }
    let ready = status.and_then(|s| s.conditions.iter().find(|c| c.type_ == READY));
    match ready {
        Some(c) if c.status == ConditionStatus::True => None,
        Some(c) => Some(format!("not Ready ({}: {})", c.reason, c.message)),
        None => Some("not Ready yet".into()),
    }
}

/// Marks pending records of dead runs failed and fixes a doubly deployed
/// history (newest wins). Returns whether anything was recovered.
async fn recover(store: &SecretStore, hist: &mut [StoredRelease]) -> Result<bool, StoreError> {
    let newest_deployed = history::deployed(hist.iter().map(|s| &s.release)).map(|r| r.version);
    let mut changed = false;
    for s in hist.iter_mut() {
        let r = &mut s.release;
        let fix = if r.status().is_pending() {
            Some((
                Status::Failed,
                format!("{} interrupted (rudder stopped); redone", r.status()),
            ))
        } else if r.status() == Status::Deployed && Some(r.version) != newest_deployed {
            Some((Status::Superseded, r.info.description.clone()))
        } else {
            None
        };
        if let Some((status, description)) = fix {
            r.info.status = status;
            r.info.description = description;
            store.update(r, &s.annotations).await?;
            changed = true;
        }
    }
    Ok(changed)
}

/// What the spec asks for, digested for comparison with the live record.
struct Desired {
    pulled: PulledChart,
    config: JsonMap<String, Json>,
    annotations: BTreeMap<String, String>,
}

fn options_digest(obj: &HelmRelease, n: &Names) -> String {
    let opts = serde_json::json!({
        "targetNamespace": n.target,
        "install": obj.spec.install,
        "upgrade": obj.spec.upgrade,
    });
    values::digest(
        opts.as_object()
            .cloned()
            .as_ref()
            .unwrap_or(&JsonMap::new()),
    )
}

fn failed(reason: &str, message: impl Into<String>, stalled: bool) -> Outcome {
    Outcome::Failed {
        reason: reason.into(),
        message: message.into(),
        stalled,
    }
}

async fn desired(obj: &HelmRelease, ctx: &Context, n: &Names) -> Result<Desired, Failure> {
    let pulled = ctx
        .sources
        .pull_chart(&ctx.client, &n.namespace, &obj.spec.chart)
        .await
        .map_err(Failure::Pull)?;
    let config = values::compose(&ctx.client, &n.namespace, &obj.spec)
        .await
        .map_err(Failure::Values)?;
    let mut chart_digest = pulled.digest.clone();
    for d in &pulled.dependencies {
        chart_digest.push(',');
        chart_digest.push_str(&d.digest);
    }
    let annotations = BTreeMap::from([
        (CHART_DIGEST.to_string(), chart_digest),
        (VALUES_DIGEST.to_string(), values::digest(&config)),
        (OPTIONS_DIGEST.to_string(), options_digest(obj, n)),
    ]);
    Ok(Desired {
        pulled,
        config,
        annotations,
    })
}

fn same_inputs(s: &StoredRelease, annotations: &BTreeMap<String, String>) -> bool {
    [CHART_DIGEST, VALUES_DIGEST, OPTIONS_DIGEST]
        .iter()
        .all(|k| {
            s.annotation(k).is_some() && s.annotation(k) == annotations.get(*k).map(String::as_str)
        })
}

/// Install or upgrade when the chart, values or options differ from the
/// live revision.
async fn follow_spec(
    obj: &HelmRelease,
    ctx: &Context,
    ap: &Applier,
    n: &Names,
    store: &SecretStore,
    hist: &mut Vec<StoredRelease>,
) -> Outcome {
    let want = match desired(obj, ctx, n).await {
        Ok(d) => d,
        Err(f) => return f.into(),
    };
    let live = hist
        .iter()
        .filter(|s| s.release.status() == Status::Deployed)
        .max_by_key(|s| s.release.version)
        .cloned();
    if let Some(l) = &live
        && same_inputs(l, &want.annotations)
    {
        return Outcome::Ready {
            reason: "UpToDate".into(),
            message: format!("{} is live", release_status::describe(&l.release)),
        };
    }
    // Install/upgrade remediation: after `retries` retries, stop until the
    // spec changes.
    let upgrade = live.is_some();
    let failures = release_status::consecutive_failures(obj);
    let allowed = retries(obj, upgrade);
    if failures > allowed {
        return retries_exhausted(obj, failures, allowed, upgrade);
    }
    deploy(obj, ctx, ap, n, store, hist, want, live).await
}

/// Stalled: `failures` failed installs/upgrades, more than `retries` allow.
fn retries_exhausted(obj: &HelmRelease, failures: i64, retries: i64, upgrade: bool) -> Outcome {
    let last = obj
        .status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == READY));
    if let Some(c) = last.filter(|c| c.reason == RETRIES_EXHAUSTED) {
        return failed(RETRIES_EXHAUSTED, c.message.clone(), true);
    }
    let verb = if upgrade { "upgrade" } else { "install" };
    let cause = last.map(|c| c.message.as_str()).unwrap_or_default();
    failed(
        RETRIES_EXHAUSTED,
        format!(
            "{verb} failed {failures} time(s) (remediation retries: {retries}); not retrying until the spec changes. Last failure: {cause}"
        ),
        true,
    )
}

fn retries(obj: &HelmRelease, upgrade: bool) -> i64 {
    let r = if upgrade {
        obj.spec
            .upgrade
            .as_ref()
            .and_then(|u| u.remediation.as_ref())
    } else {
        obj.spec
            .install
            .as_ref()
            .and_then(|i| i.remediation.as_ref())
    };
    i64::from(r.map(|r| r.retries).unwrap_or(0))
}

/// Renders the chart for revision `version` (in a blocking task: charts
/// are not `Send`).
async fn render(
    ctx: &Context,
    n: &Names,
    pulled: &PulledChart,
    config: &JsonMap<String, Json>,
    version: i64,
    upgrade: bool,
) -> Result<Built, Failure> {
    let mut opts = RenderOptions {
        release_name: n.release.clone(),
        namespace: n.target.clone(),
        revision: version,
        is_upgrade: upgrade,
        ..Default::default()
    };
    let caps = send(ctx.applier.capabilities())
        .await
        .map_err(Failure::Capabilities)?;
    caps.apply_to(&mut opts);
    let pulled = pulled.clone();
    let config = config.clone();
    let start = Instant::now();
    // A render thread with a big stack (not a 2 MiB blocking-pool thread):
    // a chart recursing to the engine's depth limits must fail, not crash
    // the controller.
    let (tx, rx) = tokio::sync::oneshot::channel();
    crate::render::spawn_render(move || {
        let built = load_pulled(&pulled)
            .map_err(Failure::Load)
            .and_then(|chart| build(chart, &config, &opts).map_err(Failure::Build));
        // The receiver is gone only if the reconciliation was dropped.
        let _ = tx.send(built);
    })
    .map_err(|e| Failure::RenderThread(format!("cannot start render thread: {e}")))?;
    let result = rx.await.map_err(|_| {
        Failure::RenderThread("rendering template failed: render thread panicked".into())
    })?;
    ctx.metrics.observe_render(start);
    result
}

#[allow(clippy::too_many_arguments)]
async fn deploy(
    obj: &HelmRelease,
    ctx: &Context,
    ap: &Applier,
    n: &Names,
    store: &SecretStore,
    hist: &mut Vec<StoredRelease>,
    want: Desired,
    live: Option<StoredRelease>,
) -> Outcome {
    let upgrade = live.is_some();
    let version = history::next_version(hist.iter().map(|s| &s.release));
    let owner = ReleaseRef {
        name: n.release.clone(),
        namespace: n.target.clone(),
    };
    // The claim on the objects is held until this function returns.
    let (built, new_res, _claim) = match prepare(ctx, ap, n, &want, &owner, version, upgrade).await
    {
        Ok(p) => p,
        Err(f) => return f.into(),
    };
    // The record may live in the target namespace: create it first.
    if obj.spec.create_namespace
        && let Err(e) = send(ap.ensure_namespace(&n.target)).await
    {
        return failed("InstallFailed", e.to_string(), false);
    }
    let now = now_rfc3339();
    let first = hist
        .first()
        .map(|s| s.release.info.first_deployed.clone())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| now.clone());
    let hooks: Vec<Hook> = built.hooks.iter().map(to_hook).collect();
    let mut rel: Release = NewRelease {
        name: n.release.clone(),
        namespace: n.target.clone(),
        version,
        chart: built.chart.clone(),
        config: want.config.clone(),
        manifest: built.manifest.clone(),
        hooks: built.hooks.clone(),
        notes: built.notes.clone(),
        status: if upgrade {
            Status::PendingUpgrade
        } else {
            Status::PendingInstall
        },
        description: if upgrade {
            "Preparing upgrade"
        } else {
            "Initial install underway"
        }
        .into(),
        first_deployed: first,
        now,
    }
    .into();
    if let Err(e) = store.create(&rel, &want.annotations).await {
        return Failure::from(e).into();
    }
    hist.push(StoredRelease {
        release: rel.clone(),
        annotations: want.annotations.clone(),
    });
    let old_res = match &live {
        Some(l) => send(ap.resources(&l.release.manifest, &n.target))
            .await
            .unwrap_or_default(),
        None => Vec::new(),
    };
    let result = roll_out(
        obj, ap, n, &owner, &built, &hooks, &old_res, &new_res, upgrade,
    )
    .await;
    let (verb, ok_reason, fail_reason) = if upgrade {
        ("Upgrade", "UpgradeSucceeded", "UpgradeFailed")
    } else {
        ("Install", "InstallSucceeded", "InstallFailed")
    };
    match result {
        Ok(applied) => {
            rel.info.status = Status::Deployed;
            rel.info.description = format!("{verb} complete");
            ctx.metrics.add_objects_applied(applied as u64);
            if let Err(e) = finish(
                store,
                hist,
                rel,
                live.as_ref().map(|l| l.release.version),
                obj,
            )
            .await
            {
                return Failure::from(e).into();
            }
            let message = format!(
                "{verb} of revision {version} ({} {}) complete",
                want.pulled.name, want.pulled.version
            );
            publish(
                ctx,
                obj,
                EventType::Normal,
                ok_reason,
                verb,
                message.clone(),
            )
            .await;
            Outcome::Ready {
                reason: ok_reason.into(),
                message,
            }
        }
        Err(e) => {
            rel.info.status = Status::Failed;
            rel.info.description = format!("{verb} \"{}\" failed: {e}", n.release);
            let _ = store.update(&rel, &want.annotations).await;
            if let Some(last) = hist.last_mut() {
                last.release = rel;
            }
            failed(
                fail_reason,
                format!("{verb} of revision {version} failed: {e}"),
                false,
            )
        }
    }
}

/// Renders revision `version` and reads its manifest into objects that
/// pass the ownership check: everything decided before any write. The
/// objects stay claimed for this release while the guard lives.
async fn prepare(
    ctx: &Context,
    ap: &Applier,
    n: &Names,
    want: &Desired,
    owner: &ReleaseRef,
    version: i64,
    upgrade: bool,
) -> Result<(Built, Vec<Resource>, ClaimGuard), Failure> {
    let built = render(ctx, n, &want.pulled, &want.config, version, upgrade).await?;
    let new_res = match send(ap.resources(&built.manifest, &n.target)).await {
        Ok(r) => r,
        Err(e) => {
            if matches!(e, ApplyError::UnknownKind { .. }) {
                // Perhaps a CRD appeared since discovery ran: rediscover
                // before the retry.
                ap.forget_discovery().await;
            }
            return Err(Failure::Manifest(e));
        }
    };
    let claim = ap
        .claim(&new_res, owner)
        .map_err(|source| Failure::Ownership { source, upgrade })?;
    send(ap.check_ownership(&new_res, owner))
        .await
        .map_err(|source| Failure::Ownership { source, upgrade })?;
    Ok((built, new_res, claim))
}

/// CRDs, pre-hooks, apply, prune, post-hooks, wait. Returns the number of
/// objects applied.
#[allow(clippy::too_many_arguments)]
async fn roll_out(
    obj: &HelmRelease,
    ap: &Applier,
    n: &Names,
    owner: &ReleaseRef,
    built: &Built,
    hooks: &[Hook],
    old_res: &[Resource],
    new_res: &[Resource],
    upgrade: bool,
) -> Result<usize, ApplyError> {
    let timeout = timeout_of(obj);
    let (crds, wait, no_hooks) = if upgrade {
        let u = obj.spec.upgrade.as_ref();
        (
            u.map(|u| u.crds).unwrap_or(CrdPolicy::Skip),
            u.is_some_and(|u| u.wait),
            u.is_some_and(|u| u.disable_hooks),
        )
    } else {
        let i = obj.spec.install.as_ref();
        (
            i.map(|i| i.crds).unwrap_or(CrdPolicy::Create),
            i.is_some_and(|i| i.wait),
            i.is_some_and(|i| i.disable_hooks),
        )
    };
    if send(ap.install_crds(&built.crds, crds, timeout)).await? > 0 {
        send(ap.refresh_discovery()).await?;
    }
    let phase = if upgrade { "upgrade" } else { "install" };
    if !no_hooks {
        send(ap.run_hooks(hooks, &format!("pre-{phase}"), &n.target, timeout)).await?;
    }
    let report = send(ap.apply(new_res, owner)).await?;
    if upgrade {
        send(ap.prune(old_res, new_res)).await?;
    }
    if !no_hooks {
        send(ap.run_hooks(hooks, &format!("post-{phase}"), &n.target, timeout)).await?;
    }
    if wait {
        send(ap.wait_ready(new_res, timeout)).await?;
    }
    Ok(report.count())
}

/// Marks `rel` deployed, the previous live revision superseded, and prunes
/// history beyond `maxHistory`.
async fn finish(
    store: &SecretStore,
    hist: &mut [StoredRelease],
    rel: Release,
    previous: Option<i64>,
    obj: &HelmRelease,
) -> Result<(), StoreError> {
    let version = rel.version;
    if let Some(s) = hist.iter_mut().find(|s| s.release.version == version) {
        s.release = rel;
        store.update(&s.release, &s.annotations).await?;
    }
    if let Some(p) = previous
        && let Some(s) = hist.iter_mut().find(|s| s.release.version == p)
    {
        s.release.info.status = Status::Superseded;
        store.update(&s.release, &s.annotations).await?;
    }
    let refs: Vec<&Release> = hist.iter().map(|s| &s.release).collect();
    let keep: Vec<i64> = obj.spec.revision.into_iter().collect();
    for v in history::to_prune(&refs, obj.spec.max_history, &keep) {
        store.delete(&rel_name(hist), v).await?;
    }
    Ok(())
}

fn rel_name(hist: &[StoredRelease]) -> String {
    hist.first()
        .map(|s| s.release.name.clone())
        .unwrap_or_default()
}

fn to_hook(h: &HookRecord) -> Hook {
    Hook {
        name: h.name.clone(),
        kind: h.kind.clone(),
        path: h.path.clone(),
        manifest: h.manifest.clone(),
        events: h.events.clone(),
        weight: h.weight,
        delete_policies: h.delete_policies.clone(),
    }
}

/// `spec.revision: N`: deploy N's recorded manifest, mark it deployed and
/// the live one superseded; no new revision number.
#[allow(clippy::too_many_arguments)]
async fn rollback(
    obj: &HelmRelease,
    ctx: &Context,
    ap: &Applier,
    n: &Names,
    store: &SecretStore,
    hist: &mut [StoredRelease],
    target: i64,
) -> Outcome {
    let pinned = format!(
        "spec.revision pins revision {target}; chart and values changes are not applied until it is cleared"
    );
    let Some(idx) = hist.iter().position(|s| s.release.version == target) else {
        return Failure::RevisionNotFound {
            revision: target,
            release: n.release.clone(),
        }
        .into();
    };
    let live = history::deployed(hist.iter().map(|s| &s.release)).map(|r| r.version);
    if live == Some(target) {
        return Outcome::Ready {
            reason: "Pinned".into(),
            message: pinned,
        };
    }
    let owner = ReleaseRef {
        name: n.release.clone(),
        namespace: n.target.clone(),
    };
    let new_res = match send(ap.resources(&hist[idx].release.manifest, &n.target)).await {
        Ok(r) => r,
        Err(e) => return Failure::RollbackManifest(e).into(),
    };
    let _claim = match ap.claim(&new_res, &owner) {
        Ok(c) => c,
        Err(source) => {
            return Failure::Ownership {
                source,
                upgrade: true,
            }
            .into();
        }
    };
    if let Err(source) = send(ap.check_ownership(&new_res, &owner)).await {
        return Failure::Ownership {
            source,
            upgrade: true,
        }
        .into();
    }
    let old_res = match live.and_then(|v| hist.iter().find(|s| s.release.version == v)) {
        Some(l) => send(ap.resources(&l.release.manifest, &n.target))
            .await
            .unwrap_or_default(),
        None => Vec::new(),
    };
    {
        let s = &mut hist[idx];
        s.release.info.status = Status::PendingRollback;
        s.release.info.description = format!("Rollback from {}", live.unwrap_or(0));
        if let Err(e) = store.update(&s.release, &s.annotations).await {
            return Failure::from(e).into();
        }
    }
    let applied = async {
        let report = send(ap.apply(&new_res, &owner)).await?;
        send(ap.prune(&old_res, &new_res)).await?;
        Ok::<usize, ApplyError>(report.count())
    }
    .await;
    let s = &mut hist[idx];
    match applied {
        Ok(count) => {
            ctx.metrics.add_objects_applied(count as u64);
            s.release.info.status = Status::Deployed;
            s.release.info.last_deployed = now_rfc3339();
            let rel = s.release.clone();
            if let Err(e) = finish(store, hist, rel, live, obj).await {
                return Failure::from(e).into();
            }
            let message = format!(
                "rolled back to revision {target} from {}",
                live.unwrap_or(0)
            );
            publish(
                ctx,
                obj,
                EventType::Normal,
                "RollbackSucceeded",
                "Rollback",
                message,
            )
            .await;
            Outcome::Ready {
                reason: "RollbackSucceeded".into(),
                message: pinned,
            }
        }
        Err(e) => {
            s.release.info.status = Status::Failed;
            s.release.info.description = format!("Rollback to {target} failed: {e}");
            let _ = store.update(&s.release, &s.annotations).await;
            failed(
                "RollbackFailed",
                format!("rollback to revision {target} failed: {e}"),
                false,
            )
        }
    }
}

/// The finalizer: remove the release's objects, then its records, both
/// under the release's own authority, and only what this HelmRelease
/// created: a release another HelmRelease claims, one outside this
/// HelmRelease's namespaces, or records it never wrote are left alone.
async fn cleanup(obj: &HelmRelease, ctx: &Context) -> Result<Action, ReleaseError> {
    let n = Names::of(obj);
    if let Some(why) = nothing_to_uninstall(obj, ctx, &n) {
        tracing::info!(release = %n.release, storage = %n.storage, "{why}; nothing to uninstall");
        return Ok(Action::await_change());
    }
    let ap = applier_for(obj, ctx, &n).map_err(|f| ReleaseError::Impersonation(f.to_string()))?;
    let store = store_for(ctx, &ap, obj, &n);
    let hist = match store.history(&n.release).await {
        Ok(h) => h,
        // Never installed: records it cannot read are not its own.
        Err(e) if never_installed(obj) => {
            tracing::info!(error = %e, "no readable release records; nothing to uninstall");
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
    let ours: Vec<&StoredRelease> = hist
        .iter()
        .filter(|s| ownership::is_ours(s, &uid))
        .collect();
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
    Ok(Action::await_change())
}

/// Why this HelmRelease cannot have installed anything (`None`: it may
/// have): its names were refused before any write.
fn nothing_to_uninstall(obj: &HelmRelease, ctx: &Context, n: &Names) -> Option<String> {
    ownership::check_names(obj, n, ctx.allow_cross_namespace)
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
    let res = send(ap.resources(&live.manifest, &n.target))
        .await
        .unwrap_or_default();
    let timeout = if terminating {
        Duration::from_secs(5)
    } else {
        timeout_of(obj)
    };
    match send(ap.uninstall(&res, timeout)).await {
        Ok(_) => Ok(()),
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

async fn namespace_terminating(ctx: &Context, ns: &str) -> bool {
    match Api::<Namespace>::all(ctx.client.clone()).get_opt(ns).await {
        Ok(Some(n)) => n.metadata.deletion_timestamp.is_some(),
        Ok(None) => true,
        Err(_) => false,
    }
}

/// Applies the status when it differs from the current one.
async fn write_status(
    ctx: &Context,
    obj: &HelmRelease,
    status: &crate::api::HelmReleaseStatus,
) -> Result<(), ReleaseError> {
    if !release_status::differs(obj.status.as_ref(), status) {
        return Ok(());
    }
    let name = obj.name_any();
    let api: Api<HelmRelease> =
        Api::namespaced(ctx.client.clone(), &obj.namespace().unwrap_or_default());
    let patch = serde_json::json!({
        "apiVersion": HelmRelease::api_version(&()),
        "kind": KIND,
        "status": status,
    });
    ctx.release_writes.fetch_add(1, Ordering::Relaxed);
    api.patch_status(
        &name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await
    .map(|_| ())
    .map_err(|e| ReleaseError::Status(name, Box::new(e)))
}

/// Publishes an Event about `obj` (failures are logged).
async fn publish(
    ctx: &Context,
    obj: &HelmRelease,
    type_: EventType,
    reason: &str,
    action: &str,
    note: String,
) {
    ctx.release_writes.fetch_add(1, Ordering::Relaxed);
    events::publish(&ctx.client, obj, type_, reason, action, note).await;
}

impl From<StoreError> for ReleaseError {
    fn from(e: StoreError) -> Self {
        ReleaseError::Store(Box::new(e))
    }
}

impl From<ApplyError> for ReleaseError {
    fn from(e: ApplyError) -> Self {
        ReleaseError::Uninstall(Box::new(e))
    }
}
