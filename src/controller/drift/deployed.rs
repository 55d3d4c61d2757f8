//! Revisions this process has just deployed, handed from the reconciler to
//! drift detection: the types of the objects it applied. Learning such a
//! revision then costs no record read and no check of its objects —
//! rudder has just applied them, and every later change shows on the
//! type's watch (its events come in order after rudder's own write, or in
//! the initial list of a type watched anew, which is checked). Revisions
//! found in the cluster otherwise (after a restart, another writer) are
//! learnt from their record and checked whole.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kube::api::ApiResource;

use super::watch::type_id;
use crate::apply::Resource;

/// A type a deployed revision uses, as its watch needs it.
#[derive(Clone, Debug)]
pub struct UsedType {
    pub api_resource: ApiResource,
    pub namespaced: bool,
}

/// How long a note waits for the HelmRelease's status to show its
/// revision; after that the revision is learnt from its record.
const STATUS_WAIT: Duration = Duration::from_secs(60);

/// One revision just deployed by this process.
struct Hint {
    uid: String,
    revision: i64,
    types: Vec<UsedType>,
    noted: Instant,
}

/// What a note says about the revision a status shows.
#[derive(Debug)]
pub enum Noted {
    /// This process deployed it: the types of its objects.
    Deployed(Vec<UsedType>),
    /// This process has just deployed another revision, which the status
    /// does not show yet: learn nothing until it does.
    StatusBehind,
    /// No note: learn from the record.
    Unknown,
}

/// Deployed revisions not yet learnt, by HelmRelease `namespace/name`.
#[derive(Clone, Default)]
pub struct JustDeployed(Arc<Mutex<HashMap<String, Hint>>>);

impl JustDeployed {
    /// Notes that revision `revision` of HelmRelease `key` (uid `uid`) was
    /// deployed with `objects`.
    pub fn note(&self, key: &str, uid: &str, revision: i64, objects: &[Resource]) {
        let mut seen = HashSet::new();
        let types: Vec<UsedType> = objects
            .iter()
            .filter(|r| seen.insert(type_id(&r.api_resource)))
            .map(|r| UsedType {
                api_resource: r.api_resource.clone(),
                namespaced: r.namespaced,
            })
            .collect();
        let hint = Hint {
            uid: uid.into(),
            revision,
            types,
            noted: Instant::now(),
        };
        self.lock().insert(key.into(), hint);
    }

    /// What this process noted of HelmRelease `key` (uid `uid`) whose
    /// status shows revision `revision`. A note of that revision is used
    /// up; one of another revision makes the caller wait for the status
    /// (a progress write can show the attempt before the deployed
    /// revision), for a while; one of another object of that name goes.
    pub fn take(&self, key: &str, uid: &str, revision: Option<i64>) -> Noted {
        let mut notes = self.lock();
        let Some(hint) = notes.get(key) else {
            return Noted::Unknown;
        };
        if hint.uid == uid && Some(hint.revision) == revision {
            return notes
                .remove(key)
                .map_or(Noted::Unknown, |h| Noted::Deployed(h.types));
        }
        if hint.uid == uid && hint.noted.elapsed() < STATUS_WAIT {
            return Noted::StatusBehind;
        }
        notes.remove(key);
        Noted::Unknown
    }

    /// Forgets the note of `key` (the release went).
    pub fn forget(&self, key: &str) {
        self.lock().remove(key);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Hint>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(kind: &str, name: &str) -> Resource {
        let ar = ApiResource {
            group: "apps".into(),
            version: "v1".into(),
            api_version: "apps/v1".into(),
            kind: kind.into(),
            plural: format!("{}s", kind.to_lowercase()),
        };
        Resource {
            object: kube::api::DynamicObject::new(name, &ar).within("ns"),
            api_resource: ar,
            namespaced: true,
            source: None,
        }
    }

    #[test]
    fn a_note_serves_only_its_release_uid_and_revision_once() {
        let notes = JustDeployed::default();
        let objects = [
            resource("Deployment", "a"),
            resource("Deployment", "b"),
            resource("StatefulSet", "c"),
        ];
        notes.note("ns/app", "uid-1", 2, &objects);
        let Noted::Deployed(types) = notes.take("ns/app", "uid-1", Some(2)) else {
            panic!("noted");
        };
        let kinds: Vec<&str> = types.iter().map(|t| t.api_resource.kind.as_str()).collect();
        assert_eq!(kinds, ["Deployment", "StatefulSet"]);
        assert!(
            matches!(notes.take("ns/app", "uid-1", Some(2)), Noted::Unknown),
            "used up"
        );

        notes.note("ns/app", "uid-1", 3, &objects);
        for behind in [None, Some(2)] {
            assert!(
                matches!(notes.take("ns/app", "uid-1", behind), Noted::StatusBehind),
                "a status still showing {behind:?} waits"
            );
        }
        assert!(matches!(
            notes.take("ns/app", "uid-1", Some(3)),
            Noted::Deployed(_)
        ));
        notes.note("ns/app", "uid-1", 4, &objects);
        assert!(
            matches!(notes.take("ns/app", "uid-2", Some(4)), Noted::Unknown),
            "a new object of that name"
        );
        assert!(
            matches!(notes.take("ns/app", "uid-1", Some(4)), Noted::Unknown),
            "gone with it"
        );
    }
}
