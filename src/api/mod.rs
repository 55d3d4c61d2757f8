//! The custom resources, group `helm.rudder.dev`, version `v1alpha1`:
//! HelmRepository, GitRepository and HelmRelease, their shared pieces (conditions, object
//! references, Go-style durations) and the CRD manifests generated from them.

pub mod condition;
pub mod crds;
pub mod duration;
pub mod gitrepository;
pub mod helmrelease;
pub mod helmrepository;
pub mod postrender;
pub mod remote;
pub mod selector;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use condition::{Condition, ConditionStatus};
pub use gitrepository::{GitRepository, GitRepositorySpec, GitRepositoryStatus};
pub use helmrelease::{HelmRelease, HelmReleaseSpec, HelmReleaseStatus};
pub use helmrepository::{HelmRepository, HelmRepositorySpec, HelmRepositoryStatus};

/// API group of both kinds.
pub const GROUP: &str = "helm.rudder.dev";
/// API version of both kinds.
pub const VERSION: &str = "v1alpha1";

/// A reference to an object by name in the referring object's namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
pub struct LocalObjectReference {
    /// Name of the object.
    #[schemars(length(min = 1))]
    pub name: String,
}

/// Default for both kinds' `interval`.
pub fn default_interval() -> String {
    "10m".to_string()
}

/// Schema of a free-form object whose unknown fields the API server keeps
/// (Helm values).
pub fn preserve_unknown_object(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true
    })
}
