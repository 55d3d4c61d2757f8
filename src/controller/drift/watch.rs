//! The watches drift detection listens to: one metadata-only watch per
//! resource type that some release's deployed revision uses, filtered by
//! Helm's ownership label and shared by every release. Each change or
//! deletion of an object becomes a [`Trigger`] naming the release (Helm's
//! ownership annotations) and the object. Changes of an object that has a
//! generation but touch neither it nor labels or annotations (status
//! updates) are dropped; objects gone while a watch re-listed count as
//! deleted.

use std::collections::{HashMap, HashSet};

use futures::StreamExt;
use kube::api::{Api, ApiResource, DynamicObject, ObjectMeta, PartialObjectMeta};
use kube::runtime::watcher::{self, Event};
use kube::runtime::{WatchStreamExt, watcher as watch_stream};
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use crate::apply::{
    MANAGED_BY_HELM, MANAGED_BY_LABEL, RELEASE_NAME_ANNOTATION, RELEASE_NAMESPACE_ANNOTATION,
    Resource, ResourceKey,
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

/// The type of `r`.
pub fn type_of(r: &Resource) -> TypeId {
    let ar = &r.api_resource;
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
        }
    }

    /// Starts the watch of `r`'s type unless it runs.
    pub fn ensure(&mut self, r: &Resource) {
        let id = type_of(r);
        if self.started.contains_key(&id) {
            return;
        }
        let ar = &r.api_resource;
        let stop = self.stop.child_token();
        self.started.insert(id, stop.clone());
        let api: Api<PartialObjectMeta<DynamicObject>> = match (&self.namespace, r.namespaced) {
            (Some(ns), true) => Api::namespaced_with(self.client.clone(), ns, ar),
            _ => Api::all_with(self.client.clone(), ar),
        };
        tracing::info!(kind = %ar.kind, api_version = %ar.api_version, "watching for drift");
        tokio::spawn(watch_type(
            api,
            ar.clone(),
            r.namespaced,
            self.tx.clone(),
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

/// What identifies a change worth a check: for objects with a generation,
/// the generation, labels and annotations; for others the resource version.
pub fn fingerprint(meta: &ObjectMeta) -> String {
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
    objects: HashMap<String, (String, Trigger)>,
    relisted: Option<HashSet<String>>,
}

impl Seen {
    /// The trigger of an applied object, unless its fingerprint is known.
    fn applied(&mut self, t: Trigger, fp: String) -> Option<Trigger> {
        let id = format!("{}/{}", t.key.namespace, t.key.name);
        if let Some(r) = self.relisted.as_mut() {
            r.insert(id.clone());
        }
        let old = self.objects.insert(id, (fp.clone(), t.clone()));
        (old.map(|(f, _)| f) != Some(fp)).then_some(t)
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
    tx: UnboundedSender<Trigger>,
    stop: CancellationToken,
) {
    let config =
        watcher::Config::default().labels(&format!("{MANAGED_BY_LABEL}={MANAGED_BY_HELM}"));
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
            Some(Ok(e)) => on_event(&ar, namespaced, &mut seen, e),
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
    event: Event<PartialObjectMeta<DynamicObject>>,
) -> Vec<Trigger> {
    match event {
        Event::Init => {
            seen.relisted = Some(HashSet::new());
            Vec::new()
        }
        Event::InitDone => seen.relist_done(),
        Event::Apply(m) | Event::InitApply(m) => trigger(ar, namespaced, &m.metadata)
            .and_then(|t| seen.applied(t, fingerprint(&m.metadata)))
            .into_iter()
            .collect(),
        Event::Delete(m) => trigger(ar, namespaced, &m.metadata)
            .map(|t| seen.deleted(t))
            .into_iter()
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        on_event(&ar(), true, seen, Event::Apply(obj))
    }

    #[test]
    fn status_updates_do_not_trigger_checks() {
        let mut seen = Seen::default();
        assert_eq!(apply(&mut seen, meta("a", Some(1), "10")).len(), 1);
        // Same generation, labels and annotations: a status update.
        assert!(apply(&mut seen, meta("a", Some(1), "11")).is_empty());
        let t = apply(&mut seen, meta("a", Some(2), "12"));
        assert_eq!(t[0].release, "web");
        assert_eq!(t[0].key.name, "a");
        // Objects without a generation: every new resource version.
        assert_eq!(apply(&mut seen, meta("cm", None, "1")).len(), 1);
        assert_eq!(apply(&mut seen, meta("cm", None, "2")).len(), 1);
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
        apply(&mut seen, meta("a", Some(1), "1"));
        apply(&mut seen, meta("b", Some(1), "1"));
        assert!(on_event(&ar(), true, &mut seen, Event::Init).is_empty());
        let again = PartialObjectMeta::<DynamicObject> {
            types: None,
            metadata: meta("a", Some(1), "1"),
            _phantom: Default::default(),
        };
        assert!(on_event(&ar(), true, &mut seen, Event::InitApply(again)).is_empty());
        let gone = on_event(&ar(), true, &mut seen, Event::InitDone);
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0].key.name, "b");
    }
}
