//! Drift detection and correction by watching: objects of releases are
//! observed through shared metadata-only watches (one per resource type a
//! deployed revision uses, filtered by Helm's ownership label, see
//! [`watch`]); a change or deletion of a managed object queues a check of
//! that object for its release ([`check`]), which compares it with a
//! dry-run apply of the deployed revision's object ([`compare`]) and, as
//! `spec.driftDetection.mode` says, re-applies it or only reports it
//! ([`report`]), refusing to fight another controller ([`fight`]).
//!
//! The task runs beside the reconcilers, only while this process leads.
//! Checks and reconciliations of one release never overlap
//! ([`ReleaseLocks`]): a check waits for the reconciliation to end and
//! compares with the revision then deployed.

mod check;
mod compare;
mod deployed;
mod fight;
mod report;
mod watch;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kube::ResourceExt;
use kube::runtime::reflector::Store;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::api::HelmRelease;
use crate::api::condition::ConditionStatus;
use crate::api::helmrelease::DriftMode;
use crate::apply::ResourceKey;
use crate::controller::Context;
use crate::controller::ownership::Names;
use check::{Loaded, ReleaseState, Verdict};
pub use deployed::JustDeployed;
use report::Drifted;
use watch::{Trigger, TypeId, Watches};

/// How often the HelmReleases in the cache are looked at for a new
/// deployed revision or drift settings (reads only what changed).
const SCAN: Duration = Duration::from_secs(2);
/// How long triggers of one release are gathered before its check.
const GATHER: Duration = Duration::from_millis(100);

/// One lock per release, held by a reconciliation for its whole run and
/// by a drift check while it runs.
#[derive(Clone, Default)]
pub struct ReleaseLocks(Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>);

impl ReleaseLocks {
    fn lock_of(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        m.entry(key.to_string()).or_default().clone()
    }

    /// Waits for release `key` (`namespace/name`) to be free and holds it.
    pub async fn lock(&self, key: &str) -> tokio::sync::OwnedMutexGuard<()> {
        self.lock_of(key).lock_owned().await
    }

    /// Holds release `key` if it is free.
    pub fn try_lock(&self, key: &str) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        self.lock_of(key).try_lock_owned().ok()
    }
}

/// Objects of one release waiting for a check, and when it is due.
struct Pending {
    objects: BTreeSet<ResourceKey>,
    due: Instant,
    /// When the first change among `objects` was seen.
    seen: Instant,
}

/// The drift task's state.
struct Drift {
    ctx: Arc<Context>,
    releases: Store<HelmRelease>,
    watches: Watches,
    /// Per HelmRelease (`namespace/name`): what its objects were learnt
    /// from, and the types they have.
    learnt: HashMap<String, (String, BTreeSet<TypeId>)>,
    states: HashMap<String, ReleaseState>,
    queue: HashMap<String, Pending>,
    /// Corrections of one object per [`fight::WINDOW`] before it is a fight.
    fight_limit: usize,
}

/// Runs drift detection until `stop`: `releases` is the HelmRelease cache
/// of the reconciler; namespaced types are watched in `namespace` only,
/// when given.
pub(super) async fn run(
    ctx: Arc<Context>,
    releases: Store<HelmRelease>,
    namespace: Option<String>,
    fight_limit: usize,
    stop: CancellationToken,
) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut d = Drift {
        watches: Watches::new(ctx.client.clone(), namespace, tx, stop.clone()),
        ctx,
        releases,
        learnt: HashMap::new(),
        states: HashMap::new(),
        queue: HashMap::new(),
        fight_limit,
    };
    let mut scan = tokio::time::interval(SCAN);
    loop {
        let next = d.next_due();
        tokio::select! {
            () = stop.cancelled() => return,
            _ = scan.tick() => d.learn().await,
            t = rx.recv() => match t {
                Some(t) => d.triggered(t),
                None => return,
            },
            () = tokio::time::sleep_until(next) => d.check_due().await,
        }
    }
}

/// The cache key of a HelmRelease.
pub(crate) fn key_of(obj: &HelmRelease) -> String {
    format!("{}/{}", obj.namespace().unwrap_or_default(), obj.name_any())
}

/// Whether drift detection looks at `obj` at all.
fn watched(obj: &HelmRelease) -> bool {
    obj.spec.drift().mode != DriftMode::Disabled
        && !obj.spec.suspend
        && obj.metadata.deletion_timestamp.is_none()
}

/// What a HelmRelease's objects are learnt from: a change means a new
/// deployed revision or new drift settings.
fn learn_key(obj: &HelmRelease) -> String {
    let st = obj.status.as_ref();
    format!(
        "{:?}|{:?}|{:?}|{:?}",
        obj.uid(),
        obj.metadata.generation,
        st.and_then(|s| s.revision),
        st.and_then(|s| s.last_attempted_revision),
    )
}

impl Drift {
    /// For each HelmRelease whose deployed revision or settings changed:
    /// starts the watches of its objects' types and queues a check of all
    /// of them. Forgets HelmReleases that went or are no longer watched,
    /// and stops the watches of types none of the others uses.
    async fn learn(&mut self) {
        let all = self.releases.state();
        let present: HashSet<String> = all
            .iter()
            .filter(|o| watched(o))
            .map(|o| key_of(o))
            .collect();
        self.learnt.retain(|k, _| present.contains(k));
        self.states.retain(|k, _| present.contains(k));
        self.queue.retain(|k, _| present.contains(k));
        for obj in all
            .iter()
            .filter(|o| o.spec.drift().mode == DriftMode::Disabled)
        {
            self.clear_disabled(obj).await;
        }
        for obj in all.iter().filter(|o| watched(o)) {
            let (key, lk) = (key_of(obj), learn_key(obj));
            if self.learnt.get(&key).is_some_and(|(k, _)| *k == lk) {
                continue;
            }
            match self.just_deployed(obj, &key) {
                deployed::Noted::Deployed(types) => {
                    for t in &types {
                        self.watches.ensure(&t.api_resource, t.namespaced);
                    }
                    let types = types.iter().map(|t| watch::type_id(&t.api_resource));
                    self.learnt.insert(key, (lk, types.collect()));
                    continue;
                }
                // Learnt at a later scan, once the status shows it.
                deployed::Noted::StatusBehind => continue,
                deployed::Noted::Unknown => {}
            }
            match check::deployed(&self.ctx, obj).await {
                Ok(Loaded::Deployed(d)) => {
                    for r in &d.resources {
                        self.watches.ensure(&r.api_resource, r.namespaced);
                    }
                    self.enqueue(&key, d.resources.iter().map(|r| r.key()));
                    let types = d.resources.iter().map(watch::type_of).collect();
                    self.learnt.insert(key, (lk, types));
                }
                Ok(Loaded::Nothing) => {
                    self.learnt.insert(key, (lk, BTreeSet::new()));
                }
                // Learnt again at the next scan.
                Ok(Loaded::Busy) => {}
                Err(e) => {
                    tracing::debug!(release = %key, error = %e, "learning a release's objects")
                }
            }
        }
        self.stop_unused_watches();
    }

    /// The types of the revision `obj`'s status shows deployed, when this
    /// process deployed it (no record to read, nothing to check).
    fn just_deployed(&self, obj: &HelmRelease, key: &str) -> deployed::Noted {
        if obj.spec.kube_config.is_some() {
            return deployed::Noted::Unknown;
        }
        let revision = obj.status.as_ref().and_then(|s| s.revision);
        let uid = obj.uid().unwrap_or_default();
        self.ctx.just_deployed.take(key, &uid, revision)
    }

    /// Stops the watches of types that no learnt release has (a release
    /// still being learnt keeps the watches it had).
    fn stop_unused_watches(&mut self) {
        let used: HashSet<TypeId> = self
            .learnt
            .values()
            .flat_map(|(_, types)| types.iter().cloned())
            .collect();
        if used.len() < self.watches.running() {
            self.watches.retain(&used);
        }
    }

    /// A `Drifted=True` left from before drift detection was disabled
    /// says so instead (written once: the next scan finds it current).
    async fn clear_disabled(&mut self, obj: &HelmRelease) {
        let want = Drifted {
            status: ConditionStatus::False,
            reason: "DriftDetectionDisabled".into(),
            message: "spec.driftDetection.mode is disabled; objects are not compared".into(),
        };
        let shown = Drifted::current(obj);
        if shown
            .as_ref()
            .is_none_or(|s| s.status != ConditionStatus::True)
        {
            return;
        }
        self.states.remove(&key_of(obj));
        if let Err(e) = report::write_condition(&self.ctx, obj, &want).await {
            tracing::debug!(release = %key_of(obj), error = %e, "clearing Drifted");
        }
    }

    /// Queues the check a trigger asks for, if a watched HelmRelease in
    /// scope has that release.
    fn triggered(&mut self, t: Trigger) {
        let owner = self.releases.state().into_iter().find(|o| {
            let n = Names::of(o);
            n.release == t.release && n.target == t.release_namespace
        });
        if let Some(obj) = owner.filter(|o| watched(o)) {
            self.enqueue(&key_of(&obj), [t.key]);
        }
    }

    fn enqueue(&mut self, key: &str, objects: impl IntoIterator<Item = ResourceKey>) {
        let now = Instant::now();
        let p = self.queue.entry(key.to_string()).or_insert(Pending {
            objects: BTreeSet::new(),
            due: now + GATHER,
            seen: now,
        });
        p.objects.extend(objects);
    }

    /// When the next check is due (far away when none is queued).
    fn next_due(&self) -> Instant {
        self.queue
            .values()
            .map(|p| p.due)
            .min()
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600))
    }

    /// Runs the checks that are due, one release after another.
    async fn check_due(&mut self) {
        let now = Instant::now();
        let due: Vec<String> = self
            .queue
            .iter()
            .filter(|(_, p)| p.due <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for key in due {
            let Some(p) = self.queue.remove(&key) else {
                continue;
            };
            let Some(obj) = self.releases.state().into_iter().find(|o| key_of(o) == key) else {
                continue;
            };
            if !watched(&obj) {
                continue;
            }
            let limit = self.fight_limit;
            let st = self
                .states
                .entry(key.clone())
                .or_insert_with(|| ReleaseState::new(limit));
            let verdict = check::run(&self.ctx, &obj, &p.objects, p.seen.into_std(), st).await;
            let closely = self.watches.closely();
            for k in &p.objects {
                let display = k.display();
                let left = st.left_drifted(&display);
                closely.set(display, left);
            }
            if let Verdict::Later(after) = verdict {
                let again = self.queue.entry(key).or_insert(Pending {
                    objects: BTreeSet::new(),
                    due: Instant::now() + after,
                    seen: p.seen,
                });
                again.objects.extend(p.objects);
                again.due = again.due.max(Instant::now() + after);
            }
        }
    }
}
