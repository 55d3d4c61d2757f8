//! The HelmRepository kind: a Helm chart repository (an `index.yaml` served
//! over HTTP(S)) or an OCI registry path (`oci://`).

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::condition::Condition;
use super::duration::DURATION_PATTERN;
use super::{LocalObjectReference, default_interval};

/// Default for [`HelmRepositorySpec::timeout`].
pub fn default_repository_timeout() -> String {
    "60s".to_string()
}

/// A Helm chart repository that HelmReleases install charts from. rudder
/// downloads its index every `interval` and records a digest of it.
// Clippy reads the repeated `type_ = ...` of different printer columns as
// duplicated attributes.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "helm.rudder.dev",
    version = "v1alpha1",
    kind = "HelmRepository",
    plural = "helmrepositories",
    shortname = "hrepo",
    category = "rudder",
    namespaced,
    status = "HelmRepositoryStatus",
    derive = "PartialEq",
    doc = "A Helm chart repository that HelmReleases install charts from.",
    printcolumn(name = "URL", type_ = "string", json_path = ".spec.url"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Charts",
        type_ = "integer",
        json_path = ".status.artifact.charts",
        description = "Number of chart names in the index"
    ),
    printcolumn(
        name = "Status",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].message",
        priority = 1
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct HelmRepositorySpec {
    /// Repository URL: `http://` or `https://` (the directory holding
    /// `index.yaml`), or `oci://registry/path` (charts are
    /// `<path>/<chart>`, resolved by tag; no index).
    #[schemars(length(min = 1), extend("x-kubernetes-validations" = [{
        "rule": "self.startsWith('http://') || self.startsWith('https://') || self.startsWith('oci://')",
        "message": "url must start with http://, https:// or oci://"
    }]))]
    pub url: String,
    /// How often the index is fetched again (Go duration, e.g. `10m`, `1h30m`).
    #[serde(default = "default_interval")]
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub interval: String,
    /// Timeout for one index or chart download (Go duration).
    #[serde(default = "default_repository_timeout")]
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub timeout: String,
    /// Secret in the same namespace with credentials: `username` and
    /// `password` keys (HTTP basic auth, also offered to an OCI registry's
    /// token service), or a `kubernetes.io/dockerconfigjson` Secret whose
    /// `.dockerconfigjson` `auths` entry for the `oci://` registry's host is
    /// used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// Secret in the same namespace with TLS material: `ca.crt` (CA bundle to
    /// trust), and optionally `tls.crt` and `tls.key` (client certificate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_secret_ref: Option<LocalObjectReference>,
    /// Send the basic-auth credentials also when chart archives are hosted on
    /// another host than the index (Helm's `--pass-credentials`).
    #[serde(default)]
    pub pass_credentials: bool,
    /// Talk plain HTTP to an `oci://` registry (otherwise HTTPS is used);
    /// for registries without TLS, such as one on the loopback interface.
    #[serde(default)]
    pub insecure: bool,
    /// Stop fetching the index while true.
    #[serde(default)]
    pub suspend: bool,
}

/// Observed state of a HelmRepository.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmRepositoryStatus {
    /// Current state; `Ready` tells whether the last index fetch succeeded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` last reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The index last fetched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<RepositoryArtifact>,
}

/// Summary of the repository index last fetched.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RepositoryArtifact {
    /// `sha256:<hex>` digest of the index bytes as served.
    #[schemars(regex(pattern = r"^sha256:[0-9a-f]{64}$"))]
    pub digest: String,
    /// Number of chart names in the index.
    #[schemars(range(min = 0))]
    pub charts: i64,
    /// When the index content last changed (RFC 3339).
    #[schemars(extend("format" = "date-time"))]
    pub last_update_time: String,
}
