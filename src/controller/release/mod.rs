//! The HelmRelease reconciler, as decide + act: [`reconcile`] runs the
//! finalizer; a reconciliation checks who may act ([`super::ownership`]),
//! reads the release's history under the release's own authority, fixes
//! records a dead run left (`recover`), gathers what the spec asks for
//! (`inputs`), lets the pure `decide` step name the state and the next
//! action, and runs that action — `install` (install or upgrade),
//! `rollback`, or `uninstall` from the finalizer; after a rollback the
//! records newer than the live revision are hidden from Helm (`park`) —
//! then reports the outcome (`report`): status, a Warning event for every new failure,
//! metrics. Decisions are taken before any write: render and ownership
//! errors leave the live revision and its record untouched, and an
//! unchanged release makes no API write at all.

mod commit;
mod decide;
mod inputs;
mod install;
mod park;
pub mod preview;
mod progress;
mod recover;
mod remediate;
mod render;
mod report;
mod rollback;
mod test;
mod uninstall;

use std::sync::Arc;
use std::time::{Duration, Instant};

use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use kube::{Api, ResourceExt};

use super::metrics::Outcome as MetricOutcome;
use super::ownership::{self, Names};
use super::release_failure::Failure;
use super::release_status::{self, Attempt, Outcome};
use super::work::Slot;
use super::{Context, requeue_after};
use crate::api::HelmRelease;
use crate::api::duration::parse_duration;
use crate::apply::{Applier, ApplyError, HealthExpr, HealthRules};
use crate::release::{SecretStore, StoreError, StoredRelease};
use decide::Next;
use progress::Progress;
use report::publish;

/// Kind label used in logs and metrics.
pub const KIND: &str = "HelmRelease";
/// The finalizer that uninstalls the release.
pub const FINALIZER: &str = "helm.rudder.dev/uninstall";
/// Reason of the stall after too many failed installs/upgrades.
pub const RETRIES_EXHAUSTED: &str = "RetriesExhausted";
/// Annotation: reconcile now and forget the failures counted so far (a
/// stalled release gets new tries); any new value acts once.
pub const RESET_AT: &str = "helm.rudder.dev/reset-at";
/// Annotation: reconcile now, skipping the back-off; any new value acts once.
pub const REQUESTED_AT: &str = "helm.rudder.dev/requested-at";
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
    /// The reconciliation failed as the status says (reason, message);
    /// retried after `retry`.
    #[error("{reason}: {message}")]
    Failed {
        /// The Ready condition's reason.
        reason: String,
        /// Its message.
        message: String,
        /// When to try again (back-off, or the interval when stalled).
        retry: Duration,
    },
}

/// When a failed reconciliation runs again: as the failure says, else
/// after the HelmRelease's back-off.
pub fn error_policy(obj: Arc<HelmRelease>, err: &ReleaseError, ctx: Arc<Context>) -> Action {
    match err {
        ReleaseError::Failed { retry, .. } => Action::requeue(*retry),
        _ => {
            let key = super::drift::key_of(&obj);
            Action::requeue(
                ctx.backoff
                    .failed(&key, obj.metadata.generation, Instant::now()),
            )
        }
    }
}

/// What the actions of one reconciliation work with: the HelmRelease, the
/// shared context, the Applier acting with the release's authority, where
/// the release lives, its records (read and written with that same
/// authority), the phase writer and the health expressions.
pub(super) struct Job<'a> {
    obj: &'a HelmRelease,
    ctx: &'a Context,
    /// This reconciliation's working slot (given back to wait).
    slot: &'a Slot,
    ap: Applier,
    n: &'a Names,
    store: SecretStore,
    progress: &'a Progress,
    health: HealthRules,
}

impl Job<'_> {
    /// Says what the action does now (`Reconciling=True` with this phase).
    fn phase(&self, phase: impl Into<String>) {
        self.progress.set(phase.into());
    }

    /// Hands revision `revision`, just deployed with `objects`, to drift
    /// detection.
    fn deployed(&self, revision: i64, objects: &[crate::apply::Resource]) {
        let key = super::drift::key_of(self.obj);
        let uid = self.obj.uid().unwrap_or_default();
        self.ctx.just_deployed.note(&key, &uid, revision, objects);
    }

    /// The phase writer as the Applier takes it.
    fn phases(&self) -> impl Fn(String) + Send + Sync + '_ {
        move |p| self.progress.set(p)
    }
}

/// Reconciles one HelmRelease.
pub async fn reconcile(obj: Arc<HelmRelease>, ctx: Arc<Context>) -> Result<Action, ReleaseError> {
    // While the API server pushes back, new work waits instead of adding load.
    ctx.pressure.settle().await;
    // At most --concurrency reconciliations work at once; this one gives
    // its slot back when it only waits for readiness.
    let slot = ctx.work.slot().await;
    // The work's state is allocated only now: reconciliations queued for a
    // slot (many, when a thousand releases arrive at once) hold only this
    // function's small state, not the whole reconciliation's.
    Box::pin(reconcile_in(obj, ctx, slot)).await
}

/// Reconciles one HelmRelease, holding `slot`.
async fn reconcile_in(
    obj: Arc<HelmRelease>,
    ctx: Arc<Context>,
    slot: Slot,
) -> Result<Action, ReleaseError> {
    let start = Instant::now();
    let key = super::drift::key_of(&obj);
    let cause = ctx
        .causes
        .note(&key, super::asked_for(obj.as_ref()).unwrap_or_default());
    ctx.metrics.reconcile_started(KIND, cause.label());
    // No drift check of this release runs while it is reconciled.
    let _lock = ctx.release_locks.lock(&key).await;
    let api: Api<HelmRelease> =
        Api::namespaced(ctx.client.clone(), &obj.namespace().unwrap_or_default());
    let deleting = obj.metadata.deletion_timestamp.is_some();
    let result = if !deleting {
        // The finalizer is added in the same reconciliation that acts, so
        // a new HelmRelease is reconciled once, not once more for its
        // finalizer.
        ctx.values_users.record(&obj);
        match ensure_finalizer(&api, obj).await {
            Ok(obj) => send(apply(&obj, &ctx, &slot)).await,
            Err(e) => Err(e),
        }
    } else {
        finalizer(&api, FINALIZER, obj, |event| async {
            match event {
                Finalizer::Apply(obj) => send(apply(&obj, &ctx, &slot)).await,
                Finalizer::Cleanup(obj) => send(uninstall::run(&obj, &ctx)).await,
            }
        })
        .await
        .map_err(|e| match e {
            kube::runtime::finalizer::Error::ApplyFailed(e)
            | kube::runtime::finalizer::Error::CleanupFailed(e) => e,
            other => ReleaseError::Finalizer(other.to_string()),
        })
    };
    if deleting && result.is_ok() {
        // Uninstalled: the object goes once its finalizer is off.
        ctx.causes.forget(&key);
        ctx.just_deployed.forget(&key);
    }
    let outcome = if result.is_ok() {
        MetricOutcome::Success
    } else {
        MetricOutcome::Error
    };
    ctx.metrics.observe(KIND, start, outcome);
    // Failures the status can report are outcomes; what is left (the
    // finalizer, status writes, uninstall) goes to the error policy.
    result
}

/// `obj` with rudder's finalizer: added by a JSON patch that holds only if
/// the finalizers are still those `obj` shows (Kubernetes does not
/// deduplicate them); when they changed meanwhile, the object is read again
/// and the patch retried once.
async fn ensure_finalizer(
    api: &Api<HelmRelease>,
    obj: Arc<HelmRelease>,
) -> Result<Arc<HelmRelease>, ReleaseError> {
    if has_finalizer(&obj) {
        return Ok(obj);
    }
    let name = obj.name_any();
    let finalizer_error = |e: kube::Error| {
        ReleaseError::Finalizer(format!("adding {FINALIZER} to HelmRelease {name}: {e}"))
    };
    match api
        .patch(&name, &PatchParams::default(), &finalizer_patch(&obj)?)
        .await
    {
        Ok(patched) => Ok(Arc::new(patched)),
        Err(kube::Error::Api(s)) if s.code == 422 => {
            let fresh = api.get(&name).await.map_err(finalizer_error)?;
            if has_finalizer(&fresh) || fresh.metadata.deletion_timestamp.is_some() {
                return Ok(Arc::new(fresh));
            }
            let patch = finalizer_patch(&fresh)?;
            let patched = api
                .patch(&name, &PatchParams::default(), &patch)
                .await
                .map_err(finalizer_error)?;
            Ok(Arc::new(patched))
        }
        Err(e) => Err(finalizer_error(e)),
    }
}

fn has_finalizer(obj: &HelmRelease) -> bool {
    obj.finalizers().iter().any(|f| f == FINALIZER)
}

/// The JSON patch adding [`FINALIZER`] to the finalizers `obj` shows.
fn finalizer_patch(obj: &HelmRelease) -> Result<Patch<HelmRelease>, ReleaseError> {
    let ops = match obj.metadata.finalizers.as_deref() {
        None | Some([]) => serde_json::json!([
            {"op": "test", "path": "/metadata/finalizers", "value": obj.metadata.finalizers},
            {"op": "add", "path": "/metadata/finalizers", "value": [FINALIZER]},
        ]),
        Some(list) => serde_json::json!([
            {"op": "test", "path": "/metadata/finalizers", "value": list},
            {"op": "add", "path": "/metadata/finalizers/-", "value": FINALIZER},
        ]),
    };
    serde_json::from_value(ops)
        .map(Patch::Json)
        .map_err(|e| ReleaseError::Finalizer(format!("building the finalizer patch: {e}")))
}

/// Boxes a future as `Send` where it is created, where the compiler can
/// prove it (it cannot through the finalizer's generic closure).
fn send<'a, T>(
    f: impl std::future::Future<Output = T> + Send + 'a,
) -> futures::future::BoxFuture<'a, T> {
    Box::pin(f)
}

fn timeout_of(obj: &HelmRelease) -> Duration {
    parse_duration(&obj.spec.timeout).unwrap_or(Duration::from_secs(300))
}

/// The release records, read and written with the authority `ap` acts
/// with (the HelmRelease's service account, or rudder's own identity),
/// each record written stamped with the HelmRelease's claim.
pub(in crate::controller) fn store_for(ap: &Applier, obj: &HelmRelease, n: &Names) -> SecretStore {
    SecretStore::new(ap.client().clone(), &n.storage, Arc::default())
        .stamping(ownership::owner_annotations(obj))
}

/// [`store_for`] in a reconciliation: reading through the process's record
/// cache when the release acts with rudder's own identity on this cluster
/// (the identity the cache's watch reads with); a service account or a
/// remote cluster reads its records with its own authority.
pub(in crate::controller) fn reconcile_store(
    ctx: &Context,
    ap: &Applier,
    obj: &HelmRelease,
    n: &Names,
) -> SecretStore {
    let store = store_for(ap, obj, n);
    if ctx.lockdown.service_account(obj).is_none() && obj.spec.kube_config.is_none() {
        store.with_cache(ctx.history.clone())
    } else {
        store
    }
}

/// Install, upgrade or roll back as the spec says, then report.
async fn apply(obj: &HelmRelease, ctx: &Context, slot: &Slot) -> Result<Action, ReleaseError> {
    if obj.spec.suspend {
        return Ok(Action::await_change());
    }
    let key = super::drift::key_of(obj);
    let generation = obj.metadata.generation;
    let mut attempt = Attempt {
        reset_at: new_annotation(obj, RESET_AT, |s| s.last_handled_reset_at.as_deref()),
        requested_at: new_annotation(obj, REQUESTED_AT, |s| {
            s.last_handled_requested_at.as_deref()
        }),
        ..Attempt::default()
    };
    if attempt.reset_at.is_some() || attempt.requested_at.is_some() {
        ctx.backoff.reset(&key);
    } else if let Some(wait) = ctx.backoff.wait(&key, generation, Instant::now()) {
        return Ok(Action::requeue(wait));
    }
    let n = Names::of(obj);
    let progress = Progress::start(ctx, obj);
    let mut hist = Vec::new();
    let outcome = match act(obj, ctx, slot, &n, &mut hist, &progress, &mut attempt).await {
        Ok(o) => o,
        Err(f) => f.into(),
    };
    let progressed = progress.finish().await;
    report::report(ctx, obj, &n, &hist, &outcome, &attempt, progressed).await?;
    Ok(match outcome {
        // A failure is an error of the reconciliation: logged, counted, and
        // retried by the error policy.
        Outcome::Failed {
            stalled,
            reason,
            message,
        } => {
            let wait = ctx.backoff.failed(&key, generation, Instant::now());
            let upgrade = decide::live_version(&hist).is_some();
            let retry = if stalled {
                super::interval_or_default(&obj.spec.interval)
            } else {
                retry_interval(obj, upgrade).unwrap_or(wait)
            };
            return Err(ReleaseError::Failed {
                reason,
                message,
                retry,
            });
        }
        Outcome::Waiting { .. } => Action::requeue(DEPENDENCY_RETRY),
        Outcome::Ready { .. } => {
            ctx.backoff.reset(&key);
            requeue_after(&obj.spec.interval)
        }
    })
}

/// The value of annotation `name` when the status has not acted on it yet.
fn new_annotation(
    obj: &HelmRelease,
    name: &str,
    handled: impl Fn(&crate::api::HelmReleaseStatus) -> Option<&str>,
) -> Option<String> {
    let value = obj.annotations().get(name)?;
    let seen = obj.status.as_ref().and_then(handled);
    (seen != Some(value.as_str())).then(|| value.clone())
}

/// `remediation.retryInterval` of the action that failed.
fn retry_interval(obj: &HelmRelease, upgrade: bool) -> Option<Duration> {
    obj.spec
        .remediation(upgrade)
        .retry_interval
        .as_deref()
        .and_then(|d| parse_duration(d).ok())
}

/// Checks who may act, reads the history under the release's own
/// authority, recovers what a dead run left, decides and acts. `hist` is
/// left as the history the status reports: empty when the release is not
/// ours.
async fn act(
    obj: &HelmRelease,
    ctx: &Context,
    slot: &Slot,
    n: &Names,
    hist: &mut Vec<StoredRelease>,
    progress: &Progress,
    attempt: &mut Attempt,
) -> Result<Outcome, Failure> {
    ownership::check_names(obj, n, ctx.may_cross_namespaces(obj))?;
    ctx.lockdown.check_refs(obj)?;
    let health = HealthRules::compile(&health_exprs(obj)).map_err(Failure::HealthCheck)?;
    let ap = applier_for(obj, ctx, n).await?;
    let store = reconcile_store(ctx, &ap, obj, n);
    let found = store.history(&n.release).await?;
    ownership::check_claim(&ctx.client, obj, n, &found).await?;
    *hist = found;
    if recover::run(&store, hist).await? {
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
    let job = Job {
        obj,
        ctx,
        slot,
        ap,
        n,
        store,
        progress,
        health,
    };
    Ok(match obj.spec.revision {
        Some(target) => pin(&job, hist, target).await,
        None => follow_spec(&job, hist, attempt).await?,
    })
}

/// `spec.healthChecks` as the Applier takes them.
fn health_exprs(obj: &HelmRelease) -> Vec<HealthExpr> {
    obj.spec
        .health_checks
        .iter()
        .map(|h| HealthExpr {
            api_version: h.api_version.clone(),
            kind: h.kind.clone(),
            current: h.current.clone(),
            failed: h.failed.clone(),
        })
        .collect()
}

/// `spec.revision`: keep the pinned revision live, and the records newer
/// than it parked.
async fn pin(job: &Job<'_>, hist: &mut [StoredRelease], target: i64) -> Outcome {
    let state = decide::pinned_state(hist, target);
    match decide::next_pinned(&state, &job.n.release) {
        Next::Rollback { target, live } => rollback::run(job, hist, target, live).await,
        Next::Report(o) if state == decide::State::Pinned(target) => {
            match park::settle(&job.store, hist, Some(target)).await {
                Ok(_) => o,
                Err(e) => Failure::from(e).into(),
            }
        }
        Next::Report(o) => o,
        Next::Install | Next::Upgrade { .. } | Next::Test { .. } => Outcome::Ready {
            reason: "Pinned".into(),
            message: decide::pinned_message(target),
        },
    }
}

/// Install or upgrade when the chart, values or options differ from the
/// live revision (once `dependsOn` is Ready); then test the new revision,
/// and remediate a failure as `remediation.strategy` says.
async fn follow_spec(
    job: &Job<'_>,
    hist: &mut Vec<StoredRelease>,
    attempt: &mut Attempt,
) -> Result<Outcome, Failure> {
    if let Some(waiting) = inputs::dependencies_waiting(job.obj, job.ctx).await {
        return Ok(waiting);
    }
    let want = inputs::desired(job.obj, job.ctx, job.n).await?;
    let digest = inputs::digest(&want.annotations);
    attempt.digest = Some(digest.clone());
    let state = decide::following_state(hist, &want.annotations);
    let reset = attempt.reset_at.is_some();
    let next = decide::next_following(job.obj, &state, hist, &digest, reset);
    let retest = matches!(next, Next::Test { .. });
    let (outcome, upgrade) = match next {
        Next::Report(o) => return Ok(o),
        Next::Test { ready } => {
            let upgrade = hist.len() > 1;
            (test::run(job, hist, ready, upgrade, attempt).await, upgrade)
        }
        Next::Install => (install::run(job, hist, want, None).await, false),
        Next::Upgrade { live } => {
            let live = hist.iter().find(|s| s.release.version == live).cloned();
            (install::run(job, hist, want, live).await, true)
        }
        Next::Rollback { target, live } => return Ok(rollback::run(job, hist, target, live).await),
    };
    let outcome = if retest {
        outcome
    } else {
        test::after_release(job, hist, outcome, upgrade, attempt).await
    };
    let failures = release_status::failures_for(job.obj, &digest, reset) + 1;
    Ok(remediate::after_failure(job, hist, outcome, upgrade, failures, attempt).await)
}

/// The Applier acting for `obj`: on this cluster, or on the one
/// `spec.kubeConfig` names; with that cluster's own identity (rudder's, or
/// the kubeconfig's), or impersonating `spec.serviceAccountName` or
/// `--default-service-account` (a service account of the HelmRelease's
/// namespace, so a tenant cannot borrow another namespace's accounts).
pub(in crate::controller) async fn applier_for(
    obj: &HelmRelease,
    ctx: &Context,
    n: &Names,
) -> Result<Applier, Failure> {
    let remote = match &obj.spec.kube_config {
        None => None,
        Some(r) => Some(
            ctx.remotes
                .cluster(&ctx.applier, &n.namespace, r)
                .await
                .map_err(Failure::Remote)?,
        ),
    };
    let sa = ctx.lockdown.service_account(obj);
    match (sa, remote) {
        (None, None) => Ok(ctx.applier.clone()),
        (None, Some(r)) => Ok(r.applier),
        (Some(sa), None) => ctx
            .impersonation
            .applier(&ctx.applier, &n.namespace, sa)
            .map_err(Failure::Impersonation),
        (Some(sa), Some(r)) => ctx
            .impersonation
            .applier_on(&r.key, &r.config, &r.applier, &n.namespace, sa)
            .map_err(Failure::Impersonation),
    }
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
