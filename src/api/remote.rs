//! `spec.kubeConfig` of a HelmRelease: the release goes to another
//! cluster, reached with a kubeconfig kept in a Secret of the
//! HelmRelease's namespace. Kept apart from the rest of the spec: it is
//! one feature.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Default for [`KubeConfigSecretRef::key`] (Flux's).
pub fn default_kubeconfig_key() -> String {
    "value".to_string()
}

/// Where the kubeconfig of the remote cluster is.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KubeConfigReference {
    /// The Secret (in the HelmRelease's namespace) holding the kubeconfig.
    pub secret_ref: KubeConfigSecretRef,
}

/// A key of a Secret in the HelmRelease's namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KubeConfigSecretRef {
    /// Name of the Secret.
    #[schemars(length(min = 1))]
    pub name: String,
    /// Key holding the kubeconfig; default `value`.
    #[serde(default = "default_kubeconfig_key")]
    #[schemars(length(min = 1))]
    pub key: String,
}
