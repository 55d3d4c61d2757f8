//! Revisions this process has just deployed, handed from the reconciler to
//! drift detection: the types of the objects it applied. Learning such a
//! revision then costs no record read and no check of its objects —
//! rudder has just applied them, and every later change shows on the
//! type's watch (its events come in order after rudder's own write, or in
//! the initial list of a type watched anew, which is checked). Revisions
//! found in the cluster otherwise (after a restart, another writer) are
//! learnt from their record and checked whole.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kube::api::ApiResource;

use crate::apply::Resource;

/// A type a deployed revision uses, as its watch needs it.
#[derive(Clone, Debug)]
pub struct UsedType {
    pub api_resource: ApiResource,
    pub namespaced: bool,
}

/// One revision just deployed by this process.
struct Hint {
    uid: String,
    revision: i64,
    types: Vec<UsedType>,
}

/// Deployed revisions not yet learnt, by HelmRelease `namespace/name`.
#[derive(Clone, Default)]
pub struct JustDeployed(Arc<Mutex<HashMap<String, Hint>>>);

impl JustDeployed {
    /// Notes that revision `revision` of HelmRelease `key` (uid `uid`) was
    /// deployed with `objects`.
    pub fn note(&self, key: &str, uid: &str, revision: i64, objects: &[Resource]) {
        let mut types: Vec<UsedType> = Vec::new();
        for r in objects {
            let ar = &r.api_resource;
            if !types.iter().any(|t| {
                t.api_resource.group == ar.group
                    && t.api_resource.version == ar.version
                    && t.api_resource.kind == ar.kind
            }) {
                types.push(UsedType {
                    api_resource: ar.clone(),
                    namespaced: r.namespaced,
                });
            }
        }
        let hint = Hint {
            uid: uid.into(),
            revision,
            types,
        };
        self.lock().insert(key.into(), hint);
    }

    /// The types of revision `revision` of `key` (uid `uid`), if this
    /// process deployed it (the note is used up). A note of another
    /// revision stays for the status that will show it; one of another
    /// object of that name goes.
    pub fn take(&self, key: &str, uid: &str, revision: Option<i64>) -> Option<Vec<UsedType>> {
        let mut notes = self.lock();
        let hint = notes.get(key)?;
        if hint.uid != uid {
            notes.remove(key);
            return None;
        }
        if Some(hint.revision) != revision {
            return None;
        }
        notes.remove(key).map(|h| h.types)
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
        let types = notes.take("ns/app", "uid-1", Some(2)).expect("noted");
        let kinds: Vec<&str> = types.iter().map(|t| t.api_resource.kind.as_str()).collect();
        assert_eq!(kinds, ["Deployment", "StatefulSet"]);
        assert!(notes.take("ns/app", "uid-1", Some(2)).is_none(), "used up");

        notes.note("ns/app", "uid-1", 3, &objects);
        assert!(
            notes.take("ns/app", "uid-1", Some(2)).is_none(),
            "a status still showing the revision before"
        );
        assert!(
            notes.take("ns/app", "uid-1", Some(3)).is_some(),
            "kept for it"
        );
        notes.note("ns/app", "uid-1", 4, &objects);
        assert!(
            notes.take("ns/app", "uid-2", Some(4)).is_none(),
            "a new object of that name"
        );
        assert!(
            notes.take("ns/app", "uid-1", Some(4)).is_none(),
            "gone with it"
        );
    }
}
