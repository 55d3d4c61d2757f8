//! Writing status through server-side apply on the status subresource with
//! field manager `rudder`, so rudder owns exactly the status fields it sets.

use kube::api::{Patch, PatchParams};
use kube::{Api, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Field manager of every write rudder makes.
pub const FIELD_MANAGER: &str = "rudder";

/// A failed status write.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    /// The object has no namespace or name (never true for a watched object).
    #[error("{kind} object without namespace or name")]
    Unnamed {
        /// Kind of the object.
        kind: String,
    },
    /// The API server refused the patch.
    #[error("patching status of {kind} {namespace}/{name}: {source}")]
    Patch {
        /// Kind of the object.
        kind: String,
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
        /// The client error.
        source: kube::Error,
    },
}

/// The `metadata.generation` of `obj` when its status does not record it yet
/// (`None` when there is nothing to write).
pub fn generation_to_record(generation: Option<i64>, observed: Option<i64>) -> Option<i64> {
    match generation {
        Some(g) if observed != Some(g) => Some(g),
        _ => None,
    }
}

/// Applies `{status: {observedGeneration: generation}}` to `obj`.
pub async fn apply_observed_generation<K>(
    client: &kube::Client,
    obj: &K,
    generation: i64,
) -> Result<(), StatusError>
where
    K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Serialize
        + std::fmt::Debug,
{
    let kind = K::kind(&()).to_string();
    let (Some(namespace), name) = (obj.namespace(), obj.name_any()) else {
        return Err(StatusError::Unnamed { kind });
    };
    let api: Api<K> = Api::namespaced(client.clone(), &namespace);
    let patch = serde_json::json!({
        "apiVersion": K::api_version(&()),
        "kind": kind,
        "status": { "observedGeneration": generation },
    });
    let params = PatchParams::apply(FIELD_MANAGER).force();
    api.patch_status(&name, &params, &Patch::Apply(&patch))
        .await
        .map(|_| ())
        .map_err(|source| StatusError::Patch {
            kind,
            namespace,
            name,
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_only_new_generations() {
        assert_eq!(generation_to_record(Some(3), None), Some(3));
        assert_eq!(generation_to_record(Some(3), Some(2)), Some(3));
        assert_eq!(generation_to_record(Some(3), Some(3)), None);
        assert_eq!(generation_to_record(None, None), None);
    }
}
