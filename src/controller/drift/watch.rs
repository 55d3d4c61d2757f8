//! The watches drift detection listens to: one metadata-only watch per
//! resource type that some release's deployed revision uses, filtered by
//! Helm's ownership label and shared by every release. Each change or
//! deletion of an object becomes a [`Trigger`] naming the release (Helm's
//! ownership annotations) and the object. A change is worth a check only
//! when the fields rudder applied changed: the managed-fields entry of its
//! apply field manager (another manager changing or removing one of those
//! fields takes them out of the entry; status updates, other managers'
//! labels, a controller's annotations leave it as it was). Objects seen for
//! the first time trigger a check only in a watch's initial list (a type
//! watched anew); objects a release creates later are checked when the
//! release's new revision is learnt. An object found drifted and left so
//! (`warn`, a fight, a failed correction) is watched closely instead: any
//! new generation, labels, annotations (or version, without a generation)
//! start a check, since a field another manager took over can change again
//! — put back by hand — without rudder's entry changing. Objects gone while
//! a watch re-listed count as deleted.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use kube::api::{Api, ApiResource, DynamicObject, ObjectMeta, PartialObjectMeta};
use kube::runtime::watcher::Event;
use kube::runtime::{WatchStreamExt, watcher as watch_stream};
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use crate::apply::{
    FIELD_MANAGER, MANAGED_BY_HELM, MANAGED_BY_LABEL, RELEASE_NAME_ANNOTATION,
    RELEASE_NAMESPACE_ANNOTATION, Resource, ResourceKey,
};

/// A managed object changed or went: check it for its release.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trigger {
    /// The Helm release name (`meta.helm.sh/release-name`).
    pub release: String,
    /// The release's namespace (`meta.helm.sh/release-namespace`).
    pub release_namespace: String,
    /// The object.
    pub key: ResourceKey,
}

/// A watched type: group, version and kind.
pub type TypeId = (String, String, String);

/// The objects watched closely (drifted and left so), by their
/// [`ResourceKey::display`]; kept by the checks, read by the watches.
#[derive(Clone, Default)]
pub struct Closely(Arc<Mutex<HashSet<String>>>);

impl Closely {
    /// Watches the object `display` closely, or no longer.
    pub fn set(&self, display: String, close: bool) {
        let mut s = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if close {
            s.insert(display);
        } else {
            s.remove(&display);
        }
    }

    fn contains(&self, display: &str) -> bool {
        let s = self.0.lock().unwrap_or_else(|p| p.into_inner());
        s.contains(display)
    }
}

/// The type of `r`.
pub fn type_of(r: &Resource) -> TypeId {
    type_id(&r.api_resource)
}

/// The type `ar` serves.
pub fn type_id(ar: &ApiResource) -> TypeId {
    (ar.group.clone(), ar.version.clone(), ar.kind.clone())
}

/// The watches running (one per group, version and kind), each with the
/// token that stops it.
pub struct Watches {
    client: kube::Client,
    namespace: Option<String>,
    tx: UnboundedSender<Trigger>,
    stop: CancellationToken,
    started: HashMap<TypeId, CancellationToken>,
    closely: Closely,
}

impl Watches {
    /// No watches yet; namespaced types will be watched in `namespace`
    /// only, when given.
    pub fn new(
        client: kube::Client,
        namespace: Option<String>,
        tx: UnboundedSender<Trigger>,
        stop: CancellationToken,
    ) -> Watches {
        Watches {
            client,
            namespace,
            tx,
            stop,
            started: HashMap::new(),
            closely: Closely::default(),
        }
    }

    /// The objects watched closely (shared with the watches).
    pub fn closely(&self) -> Closely {
        self.closely.clone()
    }

    /// Starts the watch of `r`'s type unless it runs.
    pub fn ensure(&mut self, ar: &ApiResource, namespaced: bool) {
        let id = type_id(ar);
        if self.started.contains_key(&id) {
            return;
        }
        let stop = self.stop.child_token();
        self.started.insert(id, stop.clone());
        let api: Api<PartialObjectMeta<DynamicObject>> = match (&self.namespace, namespaced) {
            (Some(ns), true) => Api::namespaced_with(self.client.clone(), ns, ar),
            _ => Api::all_with(self.client.clone(), ar),
        };
        tracing::info!(kind = %ar.kind, api_version = %ar.api_version, "watching for drift");
        tokio::spawn(watch_type(
            api,
            ar.clone(),
            namespaced,
            (self.tx.clone(), self.closely.clone()),
            stop,
        ));
    }

    /// Stops the watches of types no longer in `used`.
    pub fn retain(&mut self, used: &HashSet<TypeId>) {
        self.started.retain(|id, stop| {
            let keep = used.contains(id);
            if !keep {
                tracing::info!(kind = %id.2, group = %id.0, version = %id.1, "no release uses this type any more; drift watch stopped");
                stop.cancel();
            }
            keep
        });
    }

    /// How many watches run.
    pub fn running(&self) -> usize {
        self.started.len()
    }
}

/// What identifies a change worth a check: the fields rudder's apply
/// field manager owns (its `Apply` entries of `managedFields`). For an
/// object watched `closely`, or without such an entry (an object written
/// otherwise): for objects with a generation, the generation, labels and
/// annotations; for others the resource version.
pub fn fingerprint(meta: &ObjectMeta, closely: bool) -> u64 {
    use std::hash::{Hash, Hasher};
    // Kept per watched object: a hash, not the fields themselves.
    let mut h = std::collections::hash_map::DefaultHasher::new();
    fingerprint_text(meta, closely).hash(&mut h);
    h.finish()
}

/// What [`fingerprint`] hashes.
fn fingerprint_text(meta: &ObjectMeta, closely: bool) -> String {
    if closely {
        return any_change(meta);
    }
    let ours: Vec<_> = meta
        .managed_fields
        .iter()
        .flatten()
        .filter(|m| {
            m.manager.as_deref() == Some(FIELD_MANAGER)
                && m.operation.as_deref() == Some("Apply")
                && m.subresource.as_deref().unwrap_or_default().is_empty()
        })
        .map(|m| (&m.api_version, m.fields_v1.as_ref().map(|f| &f.0)))
        .collect();
    if !ours.is_empty() {
        return format!("applied|{ours:?}");
    }
    any_change(meta)
}

/// The generation, labels and annotations of `meta`, or its version when
/// it has no generation: what changes with anything but the status.
fn any_change(meta: &ObjectMeta) -> String {
    match meta.generation {
        Some(g) if g > 0 => format!("{g}|{:?}|{:?}", meta.labels, meta.annotations),
        _ => meta.resource_version.clone().unwrap_or_default(),
    }
}

/// The trigger of an event on `meta` (objects without Helm's ownership
/// annotations have none).
fn trigger(ar: &ApiResource, namespaced: bool, meta: &ObjectMeta) -> Option<Trigger> {
    let annotations = meta.annotations.as_ref()?;
    Some(Trigger {
        release: annotations.get(RELEASE_NAME_ANNOTATION)?.clone(),
        release_namespace: annotations.get(RELEASE_NAMESPACE_ANNOTATION)?.clone(),
        key: ResourceKey {
            group: ar.group.clone(),
            kind: ar.kind.clone(),
            namespace: if namespaced {
                meta.namespace.clone().unwrap_or_default()
            } else {
                String::new()
            },
            name: meta.name.clone().unwrap_or_default(),
        },
    })
}

/// The objects of one type seen so far, by `namespace/name`: their
/// fingerprint and trigger; and, while the watch re-lists, the ones seen again.
#[derive(Default)]
struct Seen {
    objects: HashMap<String, (u64, Trigger)>,
    relisted: Option<HashSet<String>>,
}

impl Seen {
    /// The trigger of an applied object whose fingerprint changed; an
    /// object seen for the first time triggers only if `first_counts`.
    fn applied(&mut self, t: Trigger, fp: u64, first_counts: bool) -> Option<Trigger> {
        let id = format!("{}/{}", t.key.namespace, t.key.name);
        if let Some(r) = self.relisted.as_mut() {
            r.insert(id.clone());
        }
        let old = self.objects.insert(id, (fp, t.clone()));
        match old {
            Some((f, _)) => (f != fp).then_some(t),
            None => first_counts.then_some(t),
        }
    }

    /// The trigger of a deleted object.
    fn deleted(&mut self, t: Trigger) -> Trigger {
        self.objects
            .remove(&format!("{}/{}", t.key.namespace, t.key.name));
        t
    }

    /// After a re-list: the objects not seen again are gone.
    fn relist_done(&mut self) -> Vec<Trigger> {
        let Some(seen) = self.relisted.take() else {
            return Vec::new();
        };
        let gone: Vec<String> = self
            .objects
            .keys()
            .filter(|k| !seen.contains(*k))
            .cloned()
            .collect();
        gone.iter()
            .filter_map(|k| self.objects.remove(k).map(|(_, t)| t))
            .collect()
    }
}

/// Watches one type until `stop`, sending a trigger per relevant event.
async fn watch_type(
    api: Api<PartialObjectMeta<DynamicObject>>,
    ar: ApiResource,
    namespaced: bool,
    (tx, closely): (UnboundedSender<Trigger>, Closely),
    stop: CancellationToken,
) {
    let config =
        crate::controller::watch_config().labels(&format!("{MANAGED_BY_LABEL}={MANAGED_BY_HELM}"));
    let events = watch_stream(api, config).default_backoff();
    tokio::pin!(events);
    let mut seen = Seen::default();
    loop {
        let event = tokio::select! {
            () = stop.cancelled() => return,
            e = events.next() => e,
        };
        let triggers = match event {
            None => return,
            Some(Err(e)) => {
                tracing::warn!(kind = %ar.kind, error = %e, "watching for drift");
                continue;
            }
            Some(Ok(e)) => on_event(&ar, namespaced, &mut seen, &closely, e),
        };
        for t in triggers {
            if tx.send(t).is_err() {
                return;
            }
        }
    }
}

/// The triggers of one watch event.
fn on_event(
    ar: &ApiResource,
    namespaced: bool,
    seen: &mut Seen,
    closely: &Closely,
    event: Event<PartialObjectMeta<DynamicObject>>,
) -> Vec<Trigger> {
    // Objects first seen in a watch's initial list are checked; those
    // seen later wait for their release's learning.
    let mut applied = |m: &ObjectMeta, first_counts: bool| {
        let t = trigger(ar, namespaced, m)?;
        let fp = fingerprint(m, closely.contains(&t.key.display()));
        seen.applied(t, fp, first_counts)
    };
    match event {
        Event::Init => {
            seen.relisted = Some(HashSet::new());
            Vec::new()
        }
        Event::InitDone => seen.relist_done(),
        Event::InitApply(m) => applied(&m.metadata, true).into_iter().collect(),
        Event::Apply(m) => applied(&m.metadata, false).into_iter().collect(),
        Event::Delete(m) => trigger(ar, namespaced, &m.metadata)
            .map(|t| seen.deleted(t))
            .into_iter()
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value as Json;

    fn ar() -> ApiResource {
        ApiResource {
            group: "apps".into(),
            version: "v1".into(),
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            plural: "deployments".into(),
        }
    }

    fn meta(name: &str, generation: Option<i64>, rv: &str) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.into()),
            namespace: Some("apps".into()),
            generation,
            resource_version: Some(rv.into()),
            annotations: Some(
                [
                    (RELEASE_NAME_ANNOTATION.to_string(), "web".to_string()),
                    (RELEASE_NAMESPACE_ANNOTATION.to_string(), "apps".to_string()),
                ]
                .into(),
            ),
            ..Default::default()
        }
    }

    fn apply(seen: &mut Seen, m: ObjectMeta) -> Vec<Trigger> {
        let obj = PartialObjectMeta::<DynamicObject> {
            types: None,
            metadata: m,
            _phantom: Default::default(),
        };
        on_event(&ar(), true, seen, &Closely::default(), Event::Apply(obj))
    }

    fn init(seen: &mut Seen, m: ObjectMeta) -> Vec<Trigger> {
        let obj = PartialObjectMeta::<DynamicObject> {
            types: None,
            metadata: m,
            _phantom: Default::default(),
        };
        on_event(
            &ar(),
            true,
            seen,
            &Closely::default(),
            Event::InitApply(obj),
        )
    }

    /// `m` with a managed-fields entry of `manager` owning `fields`.
    fn owned(mut m: ObjectMeta, manager: &str, operation: &str, fields: Json) -> ObjectMeta {
        use k8s_openapi::apimachinery::pkg::apis::meta::v1::{FieldsV1, ManagedFieldsEntry};
        m.managed_fields
            .get_or_insert_with(Vec::new)
            .push(ManagedFieldsEntry {
                manager: Some(manager.into()),
                operation: Some(operation.into()),
                api_version: Some("apps/v1".into()),
                fields_type: Some("FieldsV1".into()),
                fields_v1: Some(FieldsV1(fields)),
                ..Default::default()
            });
        m
    }

    #[test]
    fn status_updates_do_not_trigger_checks() {
        let mut seen = Seen::default();
        // First seen in a watch's initial list: checked.
        assert_eq!(init(&mut seen, meta("a", Some(1), "10")).len(), 1);
        // Same generation, labels and annotations: a status update.
        assert!(apply(&mut seen, meta("a", Some(1), "11")).is_empty());
        let t = apply(&mut seen, meta("a", Some(2), "12"));
        assert_eq!(t[0].release, "web");
        assert_eq!(t[0].key.name, "a");
        // Objects without a generation: every new resource version.
        assert_eq!(init(&mut seen, meta("cm", None, "1")).len(), 1);
        assert_eq!(apply(&mut seen, meta("cm", None, "2")).len(), 1);
    }

    #[test]
    fn objects_first_seen_after_the_initial_list_wait_for_their_release() {
        let mut seen = Seen::default();
        assert!(apply(&mut seen, meta("new", Some(1), "5")).is_empty());
        // Known from then on: a change is checked.
        assert_eq!(apply(&mut seen, meta("new", Some(2), "6")).len(), 1);
    }

    #[test]
    fn only_a_change_of_the_fields_rudder_applied_triggers_a_check() {
        use serde_json::json;
        let mut seen = Seen::default();
        let ours = json!({"f:spec": {"f:replicas": {}, "f:template": {}}});
        let applied = |rv: &str, generation: i64| {
            owned(
                meta("a", Some(generation), rv),
                FIELD_MANAGER,
                "Apply",
                ours.clone(),
            )
        };
        assert_eq!(init(&mut seen, applied("1", 1)).len(), 1);
        // An autoscaler's new replica count (its own entry), a controller's
        // annotation, a new generation: rudder's fields are as they were.
        let mut other = owned(
            applied("2", 2),
            "kube-controller-manager",
            "Update",
            json!({"f:spec": {"f:replicas": {}}}),
        );
        other
            .annotations
            .get_or_insert_with(Default::default)
            .insert("deployment.kubernetes.io/revision".into(), "2".into());
        assert!(apply(&mut seen, other).is_empty());
        // `kubectl set image`: the image left rudder's entry.
        let edited = owned(
            meta("a", Some(3), "3"),
            FIELD_MANAGER,
            "Apply",
            json!({"f:spec": {"f:replicas": {}}}),
        );
        assert_eq!(apply(&mut seen, edited).len(), 1);
    }

    #[test]
    fn an_object_left_drifted_is_watched_for_any_change() {
        use serde_json::json;
        let mut seen = Seen::default();
        let closely = Closely::default();
        // An editor took `/data/v` over: rudder's entry no longer has it.
        let cm = |rv: &str| {
            owned(
                meta("cm", None, rv),
                FIELD_MANAGER,
                "Apply",
                json!({"f:data": {}}),
            )
        };
        let event = |seen: &mut Seen, rv: &str| {
            let obj = PartialObjectMeta::<DynamicObject> {
                types: None,
                metadata: cm(rv),
                _phantom: Default::default(),
            };
            on_event(&ar(), true, seen, &closely, Event::Apply(obj))
        };
        assert!(event(&mut seen, "1").is_empty());
        // The editor puts the value back: rudder's entry is unchanged.
        assert!(event(&mut seen, "2").is_empty());
        // Reported drifted and left so: every change is checked.
        closely.set("Deployment apps/cm".into(), true);
        assert_eq!(event(&mut seen, "3").len(), 1);
        assert_eq!(event(&mut seen, "4").len(), 1);
        closely.set("Deployment apps/cm".into(), false);
        assert_eq!(
            event(&mut seen, "5").len(),
            1,
            "the fingerprint's form changed once"
        );
        assert!(event(&mut seen, "6").is_empty());
    }

    #[test]
    fn objects_without_helm_annotations_are_ignored() {
        let mut seen = Seen::default();
        let mut m = meta("a", Some(1), "1");
        m.annotations = None;
        assert!(apply(&mut seen, m).is_empty());
    }

    #[test]
    fn objects_missing_after_a_relist_are_deleted() {
        let mut seen = Seen::default();
        init(&mut seen, meta("a", Some(1), "1"));
        init(&mut seen, meta("b", Some(1), "1"));
        assert!(on_event(&ar(), true, &mut seen, &Closely::default(), Event::Init).is_empty());
        let again = PartialObjectMeta::<DynamicObject> {
            types: None,
            metadata: meta("a", Some(1), "1"),
            _phantom: Default::default(),
        };
        assert!(
            on_event(
                &ar(),
                true,
                &mut seen,
                &Closely::default(),
                Event::InitApply(again)
            )
            .is_empty()
        );
        let gone = on_event(&ar(), true, &mut seen, &Closely::default(), Event::InitDone);
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0].key.name, "b");
    }
}
