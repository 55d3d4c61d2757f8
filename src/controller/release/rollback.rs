//! Rollback by `spec.revision: N` (and the `rollback` remediation):
//! revision N's recorded manifest (not a re-render) is checked for
//! ownership, N is marked `pending-rollback`, its pre-rollback hooks run,
//! it is applied, what N lacks is pruned, its post-rollback hooks run, it
//! is awaited (`spec.rollback.wait`, default on), the records newer than N
//! are parked (hidden from Helm, see [`super::park`]), and N becomes
//! `deployed` with the previously live revision `superseded` — no new
//! revision number. How the hooks ran is recorded in N. Meanwhile `helm
//! list`/`status`/`get` show revision N and `helm history` lists revisions
//! 1..N only; every record stays, and the next upgrade (numbered one past
//! the highest) brings them all back into view.

use kube::runtime::events::EventType;

use super::install::to_hook;
use super::{Job, commit, decide, park, send, timeout_of};
use crate::apply::{ApplyError, HookRun, ReleaseRef, Resource};
use crate::controller::release_failure::Failure;
use crate::controller::release_status::Outcome;
use crate::release::Release;
use crate::release::history::now_rfc3339;
use crate::release::{Status, StoredRelease};
use crate::render::manifest::Hook;

/// Makes `target` live again in place of `live`.
pub(super) async fn run(
    job: &Job<'_>,
    hist: &mut [StoredRelease],
    target: i64,
    live: Option<i64>,
) -> Outcome {
    let Job { ap, n, store, .. } = job;
    job.phase(format!("rolling back to revision {target}"));
    let Some(idx) = hist.iter().position(|s| s.release.version == target) else {
        return Failure::RevisionNotFound {
            revision: target,
            release: n.release.clone(),
        }
        .into();
    };
    // A revision neither latest nor deployed may have been read as its
    // summary only: its manifest and hooks are needed now.
    if let Err(e) = store.load(&mut hist[idx]).await {
        return Failure::from(e).into();
    }
    let owner = ReleaseRef {
        name: n.release.clone(),
        namespace: n.target.clone(),
    };
    let new_res = match send(ap.resources(&hist[idx].release.manifest, &n.target)).await {
        Ok(r) => r,
        Err(e) => return Failure::RollbackManifest(e).into(),
    };
    let ownership = |source| {
        Outcome::from(Failure::Ownership {
            source,
            upgrade: true,
        })
    };
    // The claim on the objects is held until this function returns.
    let _claim = match ap.claim(&new_res, &owner) {
        Ok(c) => c,
        Err(source) => return ownership(source),
    };
    if let Err(source) = send(ap.check_ownership(&new_res, &owner)).await {
        return ownership(source);
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
    let mut runs = Vec::new();
    let applied = roll_back(
        job,
        &hist[idx].release,
        &new_res,
        &old_res,
        &owner,
        &mut runs,
    )
    .await;
    super::install::record_runs(&mut hist[idx].release.hooks, &runs);
    conclude(job, hist, idx, live, &new_res, applied).await
}

/// Pre-rollback hooks, apply, prune, post-rollback hooks, wait.
async fn roll_back(
    job: &Job<'_>,
    target: &Release,
    new_res: &[Resource],
    old_res: &[Resource],
    owner: &ReleaseRef,
    runs: &mut Vec<HookRun>,
) -> Result<usize, ApplyError> {
    let Job { obj, ap, n, .. } = job;
    let opts = obj.spec.rollback_options();
    let timeout = timeout_of(obj);
    let phases = job.phases();
    let hooks: Vec<Hook> = target.hooks.iter().map(to_hook).collect();
    if !opts.disable_hooks {
        send(ap.run_hooks_logged(&hooks, "pre-rollback", &n.target, timeout, runs, &phases))
            .await?;
    }
    let mut report = send(ap.apply_forcing(new_res, owner, false, &phases)).await?;
    job.phase("pruning objects the revision does not have");
    send(ap.prune(old_res, new_res)).await?;
    let before = runs.len();
    if !opts.disable_hooks {
        send(ap.run_hooks_logged(&hooks, "post-rollback", &n.target, timeout, runs, &phases))
            .await?;
    }
    if opts.wait {
        let known = super::install::answers_still_current(&mut report, runs.len() == before);
        // Waiting is not work: another release may use the slot meanwhile.
        job.slot.free();
        send(ap.wait_ready_known(new_res, &known, timeout, &job.health, &phases)).await?;
    }
    Ok(report.count())
}

/// Records how the rollback ended: `deployed` with a Normal event, or
/// `failed` (the previous revision's objects may be partly replaced).
async fn conclude(
    job: &Job<'_>,
    hist: &mut [StoredRelease],
    idx: usize,
    live: Option<i64>,
    new_res: &[Resource],
    applied: Result<usize, ApplyError>,
) -> Outcome {
    let target = hist[idx].release.version;
    match applied {
        Ok(count) => {
            job.ctx.metrics.add_objects_applied(count as u64);
            // Hidden before `target` is deployed: a run killed in between
            // leaves the previous revision live and the parking undone.
            if let Err(e) = park::settle(&job.store, hist, Some(target)).await {
                return Failure::from(e).into();
            }
            let s = &mut hist[idx];
            s.release.info.status = Status::Deployed;
            s.release.info.last_deployed = now_rfc3339();
            let rel = s.release.clone();
            if let Err(e) = commit::finish(&job.store, hist, rel, live, &job.obj.spec).await {
                return Failure::from(e).into();
            }
            job.deployed(target, new_res);
            let message = format!(
                "rolled back to revision {target} from {}",
                live.unwrap_or(0)
            );
            super::publish(
                job.ctx,
                job.obj,
                EventType::Normal,
                "RollbackSucceeded",
                "Rollback",
                message,
            )
            .await;
            Outcome::Ready {
                reason: "RollbackSucceeded".into(),
                message: decide::pinned_message(target),
            }
        }
        Err(e) => {
            let s = &mut hist[idx];
            s.release.info.status = Status::Failed;
            s.release.info.description = format!("Rollback to {target} failed: {e}");
            let _ = job.store.update(&s.release, &s.annotations).await;
            Outcome::Failed {
                reason: "RollbackFailed".into(),
                message: format!("rollback to revision {target} failed: {e}"),
                stalled: false,
            }
        }
    }
}
