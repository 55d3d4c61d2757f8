//! One drift check: the objects of a release that changed, each compared
//! with what a dry-run apply of the deployed revision's object would make
//! of it, under the release's own authority; then, as the mode says, the
//! drifted ones re-applied (counted, and refused once they fight another
//! controller) or only reported; and the `Drifted` condition brought up to
//! date. A release that is being reconciled (or whose newest record is
//! pending) is checked later, against the revision then deployed.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use kube::ResourceExt;
use kube::api::DynamicObject;
use kube::runtime::events::EventType;

use super::compare::{self, describe_paths};
use super::fight::{self, Fights};
use super::report::{self, Drifted};
use crate::api::HelmRelease;
use crate::api::condition::ConditionStatus;
use crate::api::helmrelease::{DriftIgnore, DriftMode};
use crate::apply::postrender::PostRenderError;
use crate::apply::{Applier, ApplyError, FIELD_MANAGER, ReleaseRef, Resource, ResourceKey};
use crate::controller::Context;
use crate::controller::ownership::{self, Names};
use crate::controller::release::{applier_for, reconcile_store};
use crate::release::StoreError;
use crate::release::history;

/// When a check of a busy release runs again.
pub const BUSY_RETRY: Duration = Duration::from_secs(1);
/// When an object that kept changing under a check (a rollout under way)
/// is checked again.
pub const MOVING_RETRY: Duration = Duration::from_millis(500);
/// When a check that failed runs again.
pub const ERROR_RETRY: Duration = Duration::from_secs(10);

/// Why a check could not run.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// No Applier for `spec.serviceAccountName`.
    #[error("acting for the release: {0}")]
    Authority(String),
    /// The records could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Reading the manifest, reading or dry-run applying an object failed.
    #[error(transparent)]
    Apply(#[from] ApplyError),
    /// An ignore rule's target has a bad selector.
    #[error("spec.driftDetection.ignore: {0}")]
    IgnoreRule(#[from] PostRenderError),
}

/// What became of a check.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Done (or nothing to do).
    Done,
    /// Run it again after this long.
    Later(Duration),
}

/// What drift detection remembers of one release between checks.
#[derive(Debug)]
pub struct ReleaseState {
    /// Objects drifted and not corrected: what differs.
    drifted: BTreeMap<String, String>,
    /// Objects another controller keeps changing back: when that was seen
    /// last and what differs.
    fighting: BTreeMap<String, (Instant, String)>,
    /// Recent corrections, per object.
    fights: Fights,
    /// The condition written last.
    written: Option<Drifted>,
    /// When the change under check was first seen (for the time to
    /// correction).
    seen: Option<Instant>,
}

impl ReleaseState {
    /// Whether object `display` was found drifted and left so (not
    /// corrected, or refused as a fight).
    pub fn left_drifted(&self, display: &str) -> bool {
        self.drifted.contains_key(display) || self.fighting.contains_key(display)
    }

    /// Nothing seen yet; `fight_limit` corrections of one object within
    /// [`fight::WINDOW`] make a fight.
    pub fn new(fight_limit: usize) -> ReleaseState {
        ReleaseState {
            drifted: BTreeMap::new(),
            fighting: BTreeMap::new(),
            fights: Fights::new(fight_limit, fight::WINDOW),
            written: None,
            seen: None,
        }
    }
}

/// The deployed revision's objects and the authority to act on them.
pub struct Deployed {
    pub ap: Applier,
    pub owner: ReleaseRef,
    pub resources: Vec<Resource>,
}

/// What the records say now.
pub enum Loaded {
    /// An action is under way (a pending record).
    Busy,
    /// Nothing rudder deployed for this HelmRelease.
    Nothing,
    Deployed(Deployed),
}

/// The deployed revision of `obj`, read with the release's authority.
pub async fn deployed(ctx: &Context, obj: &HelmRelease) -> Result<Loaded, CheckError> {
    // Drift is watched on this cluster only: a remote release is not checked.
    if obj.spec.kube_config.is_some() {
        return Ok(Loaded::Nothing);
    }
    let n = Names::of(obj);
    let ap = applier_for(obj, ctx, &n)
        .await
        .map_err(|f| CheckError::Authority(f.to_string()))?;
    // Through the record cache, as the reconciliation reads them.
    let hist = reconcile_store(ctx, &ap, obj, &n)
        .history(&n.release)
        .await?;
    if hist.iter().any(|s| s.release.status().is_pending()) {
        return Ok(Loaded::Busy);
    }
    let Some(live) = history::deployed(hist.iter().map(|s| &s.release)) else {
        return Ok(Loaded::Nothing);
    };
    let uid = obj.uid().unwrap_or_default();
    let ours = ownership::to_uninstall(&hist, &uid)
        .iter()
        .any(|s| s.release.version == live.version);
    if !ours {
        return Ok(Loaded::Nothing);
    }
    let resources = ap.resources(&live.manifest, &n.target).await?;
    Ok(Loaded::Deployed(Deployed {
        ap,
        owner: ReleaseRef {
            name: n.release,
            namespace: n.target,
        },
        resources,
    }))
}

/// One drifted object.
struct Finding {
    /// What differs: field pointers, or that it was deleted.
    what: String,
    /// The body a correction applies.
    body: DynamicObject,
    /// The manager that changed it last, if the live object says.
    changed_by: Option<String>,
}

/// Checks `objects` of `obj` (a HelmRelease whose mode is not disabled).
pub async fn run(
    ctx: &Context,
    obj: &HelmRelease,
    objects: &BTreeSet<ResourceKey>,
    seen: Instant,
    st: &mut ReleaseState,
) -> Verdict {
    st.seen = Some(seen);
    let key = format!("{}/{}", obj.namespace().unwrap_or_default(), obj.name_any());
    // Held for the whole check: the reconciler waits for it, and a
    // reconciliation under way defers the check.
    let Some(_lock) = ctx.release_locks.try_lock(&key) else {
        return Verdict::Later(BUSY_RETRY);
    };
    let d = match deployed(ctx, obj).await {
        Ok(Loaded::Deployed(d)) => d,
        Ok(Loaded::Busy) => return Verdict::Later(BUSY_RETRY),
        Ok(Loaded::Nothing) => return Verdict::Done,
        Err(e) => {
            tracing::warn!(release = %key, error = %e, "checking for drift");
            return Verdict::Later(ERROR_RETRY);
        }
    };
    st.fights.forget_old(Instant::now());
    let spec = obj.spec.drift();
    let (mut failed, mut moving) = (false, false);
    for r in d.resources.iter().filter(|r| objects.contains(&r.key())) {
        match examine(&d, r, &spec.ignore).await {
            Ok(Examined::Same) => {
                st.drifted.remove(&r.display());
            }
            Ok(Examined::Moving) => moving = true,
            Ok(Examined::Drifted(f)) => act(ctx, obj, &d, r, *f, spec.mode, st).await,
            Err(e) => {
                tracing::warn!(release = %key, object = %r.display(), error = %e, "checking for drift");
                failed = true;
            }
        }
    }
    update_condition(ctx, obj, st).await;
    if failed {
        Verdict::Later(ERROR_RETRY)
    } else if moving {
        Verdict::Later(MOVING_RETRY)
    } else {
        Verdict::Done
    }
}

/// How often a check re-reads an object that changed between its read and
/// the dry run before it checks the object again a little later.
const SNAPSHOT_TRIES: usize = 3;

/// What a look at one object found.
enum Examined {
    /// A dry-run apply leaves the live object as it is (ignored fields aside).
    Same,
    Drifted(Box<Finding>),
    /// Another writer kept changing it between the read and the dry run
    /// (a rollout under way): check it again shortly.
    Moving,
}

/// Whether `r` drifted. The dry run and the live object compared must be
/// the same version of the object: another controller (the deployment
/// controller's revision annotation, say) may write it in between, and that
/// is no drift of ours; the pair is read again then.
async fn examine(
    d: &Deployed,
    r: &Resource,
    ignore: &[DriftIgnore],
) -> Result<Examined, CheckError> {
    let mut body = to_json(&Applier::owned_body(r, &d.owner))?;
    let paths = compare::ignored_paths(ignore, &body, r.namespace().unwrap_or_default())?;
    for _ in 0..SNAPSHOT_TRIES {
        let live = r.read_live(d.ap.client()).await?;
        let live_json = live.as_ref().map(to_json).transpose()?;
        compare::pin_ignored(&mut body, live_json.as_ref(), &paths);
        let apply: DynamicObject = from_json(body.clone())?;
        let Some(live_json) = live_json else {
            return Ok(Examined::Drifted(Box::new(Finding {
                what: "deleted".into(),
                body: apply,
                changed_by: None,
            })));
        };
        let dry = to_json(&d.ap.dry_run_apply(r, &apply).await?)?;
        if resource_version(&dry) != resource_version(&live_json) {
            continue;
        }
        let differ = compare::differences(&dry, &live_json, &paths);
        if differ.is_empty() {
            return Ok(Examined::Same);
        }
        return Ok(Examined::Drifted(Box::new(Finding {
            what: describe_paths(&differ),
            body: apply,
            changed_by: live.as_ref().and_then(last_other_manager),
        })));
    }
    tracing::debug!(object = %r.display(), "changing under the check; checked again shortly");
    Ok(Examined::Moving)
}

fn resource_version(obj: &serde_json::Value) -> Option<&str> {
    obj.pointer("/metadata/resourceVersion")
        .and_then(serde_json::Value::as_str)
}

fn to_json(obj: &DynamicObject) -> Result<serde_json::Value, CheckError> {
    serde_json::to_value(obj).map_err(|e| bad_object(obj.metadata.name.as_deref(), e))
}

fn from_json(v: serde_json::Value) -> Result<DynamicObject, CheckError> {
    serde_json::from_value(v).map_err(|e| bad_object(None, e))
}

fn bad_object(name: Option<&str>, e: serde_json::Error) -> CheckError {
    CheckError::Apply(ApplyError::Parse {
        document: name.unwrap_or("object").to_string(),
        message: e.to_string(),
    })
}

/// The manager other than rudder that wrote the object (not its status)
/// last.
fn last_other_manager(live: &DynamicObject) -> Option<String> {
    live.metadata
        .managed_fields
        .iter()
        .flatten()
        .filter(|m| m.manager.as_deref() != Some(FIELD_MANAGER))
        .filter(|m| m.subresource.as_deref().is_none_or(str::is_empty))
        .max_by_key(|m| m.time.as_ref().map(|t| t.0))
        .and_then(|m| m.manager.clone())
}

/// Corrects or reports one drifted object, as `mode` says.
async fn act(
    ctx: &Context,
    obj: &HelmRelease,
    d: &Deployed,
    r: &Resource,
    f: Finding,
    mode: DriftMode,
    st: &mut ReleaseState,
) {
    ctx.metrics.drift_detected();
    let object = r.display();
    let by = f
        .changed_by
        .as_deref()
        .map(|m| format!(" (last changed by {m})"))
        .unwrap_or_default();
    let what = format!("{object}: {}{by}", f.what);
    tracing::info!(release = %obj.name_any(), drift = %what, ?mode, "drift detected");
    if mode != DriftMode::Enabled {
        if st.drifted.insert(object, what.clone()).as_ref() != Some(&what) {
            report::event(ctx, obj, EventType::Warning, "DriftDetected", what).await;
        }
        return;
    }
    let now = Instant::now();
    if !st.fights.allow(&object, now) {
        let fresh = st
            .fighting
            .get(&object)
            .is_none_or(|(t, _)| now.duration_since(*t) >= fight::WINDOW);
        st.fighting.insert(object, (now, what.clone()));
        if fresh {
            let note = format!(
                "{what}: corrected {} times within {:?}; another controller keeps changing it, not correcting",
                st.fights.limit(),
                fight::WINDOW
            );
            report::event(ctx, obj, EventType::Warning, "DriftFight", note).await;
        }
        return;
    }
    match d.ap.correct(r, &f.body).await {
        Ok(()) => {
            let after = st.seen.map(|t| t.elapsed()).unwrap_or_default();
            ctx.metrics.drift_corrected(after);
            st.drifted.remove(&object);
            report::event(ctx, obj, EventType::Normal, "DriftCorrected", what).await;
        }
        Err(e) => {
            let what = format!("{what}; correcting failed: {e}");
            st.drifted.insert(object, what.clone());
            report::event(ctx, obj, EventType::Warning, "DriftCorrectionFailed", what).await;
        }
    }
}

/// The condition `st` describes: a fight first, then uncorrected drift.
fn wanted(st: &ReleaseState, now: Instant) -> Drifted {
    let fighting: Vec<&str> = st
        .fighting
        .values()
        .filter(|(t, _)| now.duration_since(*t) < fight::WINDOW)
        .map(|(_, w)| w.as_str())
        .collect();
    if !fighting.is_empty() {
        return Drifted {
            status: ConditionStatus::True,
            reason: "DriftFight".into(),
            message: format!(
                "another controller keeps changing objects back; not correcting: {}",
                fighting.join("; ")
            ),
        };
    }
    if !st.drifted.is_empty() {
        let all: Vec<&str> = st.drifted.values().map(String::as_str).collect();
        return Drifted {
            status: ConditionStatus::True,
            reason: "DriftDetected".into(),
            message: all.join("; "),
        };
    }
    Drifted::none()
}

/// Writes the `Drifted` condition when it changed.
async fn update_condition(ctx: &Context, obj: &HelmRelease, st: &mut ReleaseState) {
    let want = wanted(st, Instant::now());
    let shown = st.written.clone().or_else(|| Drifted::current(obj));
    if !report::needs_write(shown.as_ref(), &want) {
        return;
    }
    match report::write_condition(ctx, obj, &want).await {
        Ok(()) => st.written = Some(want),
        Err(e) => {
            tracing::warn!(release = %obj.name_any(), error = %e, "writing the Drifted condition")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fight_outranks_plain_drift_and_expires() {
        let now = Instant::now();
        let mut st = ReleaseState::new(5);
        assert_eq!(wanted(&st, now), Drifted::none());
        st.drifted
            .insert("Service a/s".into(), "Service a/s: deleted".into());
        assert_eq!(wanted(&st, now).reason, "DriftDetected");
        st.fighting.insert(
            "Deployment a/d".into(),
            (now, "Deployment a/d: /spec".into()),
        );
        let w = wanted(&st, now);
        assert_eq!(
            (w.status, w.reason.as_str()),
            (ConditionStatus::True, "DriftFight")
        );
        assert!(w.message.contains("Deployment a/d: /spec"), "{}", w.message);
        assert_eq!(wanted(&st, now + fight::WINDOW).reason, "DriftDetected");
    }
}
