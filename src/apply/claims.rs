//! Claims on objects while a release writes them. Helm's ownership check
//! reads an object and then applies it; two releases of one rudder that
//! render the same absent object could both pass the check and the second
//! would silently take it over. A release therefore claims every object it
//! is about to check and apply, all at once under one lock, and holds the
//! claim until its apply is done: a second release asking for any of those
//! objects meanwhile is refused (and, once the first has applied, Helm's
//! check refuses it too, reading the first release's ownership metadata).
//! Claims live in the process: one rudder leads at a time (the Lease).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::ReleaseRef;
use super::resource::{Resource, ResourceKey};

/// The objects claimed by releases, shared by every clone of an Applier.
#[derive(Clone, Debug, Default)]
pub struct Claims {
    held: Arc<Mutex<HashMap<ResourceKey, String>>>,
}

/// Objects claimed by one release until dropped.
#[derive(Debug)]
pub struct ClaimGuard {
    claims: Claims,
    keys: Vec<ResourceKey>,
}

/// `namespace/name` of a release, as claims name it.
fn claimant(release: &ReleaseRef) -> String {
    format!("{}/{}", release.namespace, release.name)
}

impl Claims {
    /// Claims every object of `resources` for `release`, or names the first
    /// one another release holds (and claims nothing).
    pub fn claim(
        &self,
        resources: &[Resource],
        release: &ReleaseRef,
    ) -> Result<ClaimGuard, (String, String)> {
        let me = claimant(release);
        let Ok(mut held) = self.held.lock() else {
            // A panic while holding the lock: claim nothing, refuse nothing.
            return Ok(self.guard(Vec::new()));
        };
        for r in resources {
            if let Some(other) = held.get(&r.key()).filter(|o| **o != me) {
                return Err((r.helm_string(), other.clone()));
            }
        }
        let mut keys = Vec::new();
        for r in resources {
            let key = r.key();
            if !held.contains_key(&key) {
                held.insert(key.clone(), me.clone());
                keys.push(key);
            }
        }
        Ok(self.guard(keys))
    }

    fn guard(&self, keys: Vec<ResourceKey>) -> ClaimGuard {
        ClaimGuard {
            claims: self.clone(),
            keys,
        }
    }

    /// How many objects are claimed now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.held.lock().map(|h| h.len()).unwrap_or(0)
    }

    /// Whether no object is claimed.
    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for ClaimGuard {
    fn drop(&mut self) {
        if let Ok(mut held) = self.claims.held.lock() {
            for k in &self.keys {
                held.remove(k);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::api::{ApiResource, DynamicObject, ObjectMeta};

    fn cm(name: &str) -> Resource {
        let ar = ApiResource {
            group: String::new(),
            version: "v1".into(),
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            plural: "configmaps".into(),
        };
        Resource {
            object: DynamicObject {
                types: None,
                metadata: ObjectMeta {
                    name: Some(name.into()),
                    namespace: Some("ns".into()),
                    ..Default::default()
                },
                data: serde_json::Value::Null,
            },
            api_resource: ar,
            namespaced: true,
            source: None,
        }
    }

    fn rel(name: &str) -> ReleaseRef {
        ReleaseRef {
            name: name.into(),
            namespace: "ns".into(),
        }
    }

    #[test]
    fn a_second_release_is_refused_until_the_first_lets_go() {
        let claims = Claims::default();
        let a = claims.claim(&[cm("x"), cm("a")], &rel("a")).expect("a");
        let (object, holder) = claims
            .claim(&[cm("b"), cm("x")], &rel("b"))
            .expect_err("x is held");
        assert_eq!(object, "ConfigMap \"x\" in namespace \"ns\"");
        assert_eq!(holder, "ns/a");
        // Nothing of b's was claimed by the refused attempt.
        assert_eq!(claims.len(), 2);
        // The holder may claim its objects again (an upgrade while applying).
        let again = claims.claim(&[cm("x")], &rel("a")).expect("own claim");
        drop(again);
        assert_eq!(claims.len(), 2, "a nested claim releases only what it took");
        drop(a);
        assert!(claims.is_empty());
        let _b = claims
            .claim(&[cm("b"), cm("x")], &rel("b"))
            .expect("free now");
    }
}
