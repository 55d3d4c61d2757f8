//! Install and upgrade (one path, as in Helm's `pkg/action`): render the
//! next revision and check its objects (no write yet), write a
//! `pending-install`/`pending-upgrade` record, then CRDs, pre-hooks,
//! server-side apply, prune (upgrade), post-hooks, wait; finally the record
//! becomes `deployed` (and the previous live one `superseded`) or `failed`
//! with the previous revision still live. Records a rollback parked are
//! shown to Helm again once the new record exists (see [`super::park`]).

use kube::runtime::events::EventType;

use super::inputs::Desired;
use super::{Job, commit, park, render, send, timeout_of};
use crate::api::helmrelease::CrdPolicy;
use crate::apply::CrdPolicy as CrdAction;
use crate::apply::{ApplyError, ApplyReport, HookRun, Known, ReleaseRef, Resource};
use crate::controller::ownership::Names;
use crate::controller::release_failure::Failure;
use crate::controller::release_status::Outcome;
use crate::release::build::Built;
use crate::release::history::{self, now_rfc3339};
use crate::release::record::{HookRecord, HookRun as HookRunRecord, NewRelease};
use crate::release::{Release, Status, StoredRelease};
use crate::render::manifest::Hook;

/// Installs (no `live` revision) or upgrades `live` to what `want` asks.
pub(super) async fn run(
    job: &Job<'_>,
    hist: &mut Vec<StoredRelease>,
    want: Desired,
    live: Option<StoredRelease>,
) -> Outcome {
    let Job { obj, ap, n, .. } = job;
    let upgrade = live.is_some();
    let version = history::next_version(hist.iter().map(|s| &s.release));
    job.phase(format!(
        "rendering revision {version} ({} {})",
        want.pulled.name, want.pulled.version
    ));
    let owner = ReleaseRef {
        name: n.release.clone(),
        namespace: n.target.clone(),
    };
    let old_res = match &live {
        Some(l) => send(ap.resources(&l.release.manifest, &n.target))
            .await
            .unwrap_or_default(),
        None => Vec::new(),
    };
    // The claim on the objects is held until this function returns.
    let (built, new_res, _claim) = match render::prepare(
        job.ctx,
        ap,
        n,
        &want,
        &owner,
        version,
        upgrade.then_some(&old_res),
    )
    .await
    {
        Ok(p) => p,
        Err(f) => return f.into(),
    };
    // The record may live in the target namespace: create it first.
    if obj.spec.create_namespace
        && let Err(e) = send(ap.ensure_namespace(&n.target)).await
    {
        return failed("InstallFailed", e.to_string());
    }
    // Acting as a service account, the API server first decides on every
    // object without a write, so a chart the account may not fully apply
    // changes nothing.
    if let Some(sa) = job.ctx.lockdown.service_account(obj) {
        job.phase(format!(
            "checking {} objects against the rights of service account {sa} (dry run)",
            new_res.len()
        ));
        if let Err(e) = send(ap.preflight(&new_res, &owner)).await {
            let reason = if upgrade {
                "UpgradeFailed"
            } else {
                "InstallFailed"
            };
            return failed(reason, format!("{e}; nothing was applied"));
        }
    }
    let rel = pending_record(n, hist, &built, &want, version, upgrade);
    if let Err(e) = job.store.create(&rel, &want.annotations).await {
        return Failure::from(e).into();
    }
    hist.push(StoredRelease {
        release: rel.clone(),
        annotations: want.annotations.clone(),
        parked: false,
        slim: false,
    });
    // The release moves on: every record is Helm's to see again.
    if let Err(e) = park::settle(&job.store, hist, None).await {
        return Failure::from(e).into();
    }
    let rollout = RollOut {
        owner: &owner,
        built: &built,
        old_res: &old_res,
        new_res: &new_res,
        upgrade,
    };
    let mut runs = Vec::new();
    let result = roll_out(job, &rollout, &mut runs).await;
    let mut rel = rel;
    record_runs(&mut rel.hooks, &runs);
    let previous = live.as_ref().map(|l| l.release.version);
    conclude(job, hist, rel, previous, &want, &new_res, result).await
}

/// Records how each hook ran in the release's hooks (`last_run`), as
/// Helm does.
pub(super) fn record_runs(hooks: &mut [HookRecord], runs: &[HookRun]) {
    for run in runs {
        if let Some(h) = hooks
            .iter_mut()
            .find(|h| h.path == run.path && h.name == run.name && h.kind == run.kind)
        {
            h.last_run = HookRunRecord {
                started_at: run.started_at.clone(),
                completed_at: run.completed_at.clone(),
                phase: run.phase.to_string(),
            };
        }
    }
}

/// The record of revision `version` while it is being rolled out.
fn pending_record(
    n: &Names,
    hist: &[StoredRelease],
    built: &Built,
    want: &Desired,
    version: i64,
    upgrade: bool,
) -> Release {
    let now = now_rfc3339();
    let first = hist
        .first()
        .map(|s| s.release.info.first_deployed.clone())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| now.clone());
    NewRelease {
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
    .into()
}

/// Records how the roll-out ended: `deployed` (and the previous revision
/// superseded, history pruned) with a Normal event, or `failed`.
async fn conclude(
    job: &Job<'_>,
    hist: &mut [StoredRelease],
    mut rel: Release,
    previous: Option<i64>,
    want: &Desired,
    new_res: &[Resource],
    result: Result<usize, ApplyError>,
) -> Outcome {
    let (verb, ok_reason, fail_reason) = if previous.is_some() {
        ("Upgrade", "UpgradeSucceeded", "UpgradeFailed")
    } else {
        ("Install", "InstallSucceeded", "InstallFailed")
    };
    let version = rel.version;
    match result {
        Ok(applied) => {
            rel.info.status = Status::Deployed;
            rel.info.description = format!("{verb} complete");
            job.ctx.metrics.add_objects_applied(applied as u64);
            if let Err(e) = commit::finish(&job.store, hist, rel, previous, &job.obj.spec).await {
                return Failure::from(e).into();
            }
            job.deployed(version, new_res);
            let message = format!(
                "{verb} of revision {version} ({} {}) complete",
                want.pulled.name, want.pulled.version
            );
            super::publish(
                job.ctx,
                job.obj,
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
            rel.info.description = format!("{verb} \"{}\" failed: {e}", job.n.release);
            let _ = job.store.update(&rel, &want.annotations).await;
            if let Some(last) = hist.last_mut() {
                last.release = rel;
            }
            failed(
                fail_reason,
                format!("{verb} of revision {version} failed: {e}"),
            )
        }
    }
}

/// A failure retrying may fix.
fn failed(reason: &str, message: String) -> Outcome {
    Outcome::Failed {
        reason: reason.into(),
        message,
        stalled: false,
    }
}

/// What one roll-out applies.
struct RollOut<'a> {
    owner: &'a ReleaseRef,
    built: &'a Built,
    old_res: &'a [Resource],
    new_res: &'a [Resource],
    upgrade: bool,
}

/// CRDs, pre-hooks, apply, prune, post-hooks, wait; how each hook ran
/// goes to `runs`. Returns the number of objects applied.
async fn roll_out(
    job: &Job<'_>,
    r: &RollOut<'_>,
    runs: &mut Vec<HookRun>,
) -> Result<usize, ApplyError> {
    let Job { obj, ap, n, .. } = job;
    let timeout = timeout_of(obj);
    let (crds, wait, no_hooks, force) = if r.upgrade {
        let u = obj.spec.upgrade_options();
        (u.crds, u.wait, u.disable_hooks, u.force)
    } else {
        let i = obj.spec.install_options();
        (i.crds, i.wait, i.disable_hooks, false)
    };
    let phases = job.phases();
    if !r.built.crds.is_empty() {
        job.phase("installing the chart's CRDs");
    }
    if send(ap.install_crds(&r.built.crds, crd_action(crds), timeout)).await? > 0 {
        send(ap.refresh_discovery()).await?;
    }
    let hooks: Vec<Hook> = r.built.hooks.iter().map(to_hook).collect();
    let event = if r.upgrade { "upgrade" } else { "install" };
    if !no_hooks {
        let pre = format!("pre-{event}");
        send(ap.run_hooks_logged(&hooks, &pre, &n.target, timeout, runs, &phases)).await?;
    }
    let mut report = send(ap.apply_forcing(r.new_res, r.owner, force, &phases)).await?;
    if r.upgrade {
        job.phase("pruning objects the new revision dropped");
        send(ap.prune(r.old_res, r.new_res)).await?;
    }
    let before = runs.len();
    if !no_hooks {
        let post = format!("post-{event}");
        send(ap.run_hooks_logged(&hooks, &post, &n.target, timeout, runs, &phases)).await?;
    }
    if wait {
        let known = answers_still_current(&mut report, runs.len() == before);
        // Waiting is not work: another release may use the slot meanwhile.
        job.slot.free();
        send(ap.wait_ready_known(r.new_res, &known, timeout, &job.health, &phases)).await?;
    }
    Ok(report.count())
}

/// The apply's answers, taken from `report`, as the copies the wait may
/// judge from: only when no hook ran since (`untouched`), as a hook may
/// change the objects. Their managed fields go: readiness does not read
/// them, and a wait may hold them for long.
pub(super) fn answers_still_current(report: &mut ApplyReport, untouched: bool) -> Known {
    let mut answers = std::mem::take(&mut report.answers);
    if !untouched {
        return Known::new();
    }
    for obj in answers.values_mut() {
        obj.metadata.managed_fields = None;
    }
    answers
}

/// The Applier's CRD handling for the HelmRelease's `crds` policy.
fn crd_action(p: CrdPolicy) -> CrdAction {
    match p {
        CrdPolicy::Skip => CrdAction::Skip,
        CrdPolicy::Create => CrdAction::Create,
        CrdPolicy::CreateReplace => CrdAction::CreateReplace,
    }
}

pub(super) fn to_hook(h: &HookRecord) -> Hook {
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
