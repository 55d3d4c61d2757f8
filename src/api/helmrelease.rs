//! The HelmRelease kind: a chart from a HelmRepository, installed with values
//! into a namespace, kept at the desired revision.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::condition::Condition;
use super::duration::DURATION_PATTERN;
use super::{default_interval, preserve_unknown_object};

/// Default for [`HelmReleaseSpec::timeout`].
pub fn default_release_timeout() -> String {
    "5m".to_string()
}

/// Default for [`HelmReleaseSpec::max_history`].
pub fn default_max_history() -> i32 {
    10
}

/// Default for [`ChartSpec::version`]: any version, the newest wins.
pub fn default_chart_version() -> String {
    "*".to_string()
}

/// Default for [`ValuesReference::values_key`].
pub fn default_values_key() -> String {
    "values.yaml".to_string()
}

/// Helm's release-name rule (a DNS-1123 subdomain).
pub const RELEASE_NAME_PATTERN: &str =
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";

/// A Helm release managed declaratively: rudder installs the chart, upgrades
/// it when the spec or the resolved chart version changes, and records each
/// revision in Helm's own storage format.
// Clippy reads the repeated `type_ = ...` of different printer columns as
// duplicated attributes.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "helm.rudder.dev",
    version = "v1alpha1",
    kind = "HelmRelease",
    shortname = "hrel",
    category = "rudder",
    namespaced,
    status = "HelmReleaseStatus",
    derive = "PartialEq",
    doc = "A Helm release managed declaratively by rudder.",
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Status",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].message"
    ),
    printcolumn(
        name = "Revision",
        type_ = "integer",
        json_path = ".status.revision",
        description = "The live release revision"
    ),
    printcolumn(name = "Chart", type_ = "string", json_path = ".spec.chart.name"),
    printcolumn(
        name = "Version",
        type_ = "string",
        json_path = ".status.chartVersion",
        description = "Chart version of the live revision"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct HelmReleaseSpec {
    /// The chart to install and where it comes from.
    pub chart: ChartSpec,
    /// Helm release name; defaults to `metadata.name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 53), regex(pattern = RELEASE_NAME_PATTERN))]
    pub release_name: Option<String>,
    /// Namespace the chart's objects go to; defaults to the HelmRelease's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub target_namespace: Option<String>,
    /// Namespace holding the release records (Secrets); defaults to the
    /// target namespace, as with `helm --namespace`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub storage_namespace: Option<String>,
    /// Create the target namespace if it does not exist.
    #[serde(default)]
    pub create_namespace: bool,
    /// Values merged over the chart's defaults (after `valuesFrom`), like
    /// `helm install -f`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "preserve_unknown_object")]
    pub values: Option<serde_json::Map<String, serde_json::Value>>,
    /// ConfigMaps and Secrets whose values are merged in order, before `values`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values_from: Vec<ValuesReference>,
    /// Pin the release to this recorded revision (a rollback); unset follows
    /// the spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub revision: Option<i64>,
    /// How often the release is checked against the cluster and the
    /// repository (Go duration).
    #[serde(default = "default_interval")]
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub interval: String,
    /// Timeout for one install, upgrade, rollback or uninstall, including waiting (Go duration).
    #[serde(default = "default_release_timeout")]
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub timeout: String,
    /// Number of revisions kept in storage; 0 keeps all.
    #[serde(default = "default_max_history")]
    #[schemars(range(min = 0))]
    pub max_history: i32,
    /// Stop reconciling while true.
    #[serde(default)]
    pub suspend: bool,
    /// Service account (in the HelmRelease's namespace) whose permissions
    /// are used to apply the chart's objects; unset uses rudder's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub service_account_name: Option<String>,
    /// HelmReleases that must be Ready before this one is reconciled.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<DependencyReference>,
    /// Options for the first install.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install: Option<InstallOptions>,
    /// Options for upgrades.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade: Option<UpgradeOptions>,
    /// Options for uninstalling when the HelmRelease is deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uninstall: Option<UninstallOptions>,
}

/// The chart of a HelmRelease.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChartSpec {
    /// Chart name as listed in the repository index.
    #[schemars(length(min = 1))]
    pub name: String,
    /// Semver constraint (as Helm's `--version`), e.g. `1.2.3`, `~1.2`, `>=1.0.0 <2.0.0`.
    #[serde(default = "default_chart_version")]
    #[schemars(length(min = 1))]
    pub version: String,
    /// The HelmRepository to take the chart from.
    pub repository_ref: RepositoryReference,
}

/// A reference to a HelmRepository.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RepositoryReference {
    /// Name of the HelmRepository.
    #[schemars(length(min = 1))]
    pub name: String,
    /// Namespace of the HelmRepository; defaults to the HelmRelease's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub namespace: Option<String>,
}

/// Kind of object a [`ValuesReference`] reads.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum ValuesKind {
    /// A ConfigMap (`data` key).
    ConfigMap,
    /// A Secret (`data` key, base64-decoded).
    Secret,
}

/// Values read from a ConfigMap or Secret in the HelmRelease's namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ValuesReference {
    /// `ConfigMap` or `Secret`.
    pub kind: ValuesKind,
    /// Name of the object.
    #[schemars(length(min = 1))]
    pub name: String,
    /// Key holding the values.
    #[serde(default = "default_values_key")]
    #[schemars(length(min = 1))]
    pub values_key: String,
    /// Dotted path (as `helm --set`) at which the key's content is placed as
    /// a single value; unset merges the key's content as a YAML values document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub target_path: Option<String>,
    /// Do not fail when the object or key is missing.
    #[serde(default)]
    pub optional: bool,
}

/// A reference to another HelmRelease.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DependencyReference {
    /// Name of the HelmRelease.
    #[schemars(length(min = 1))]
    pub name: String,
    /// Its namespace; defaults to this HelmRelease's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub namespace: Option<String>,
}

/// What happens to the chart's `crds/` directory.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum CrdPolicy {
    /// Leave CRDs alone.
    Skip,
    /// Create CRDs that do not exist; never change existing ones (Helm's behaviour).
    Create,
    /// Create missing CRDs and update existing ones.
    CreateReplace,
}

/// Remediation of a failed install or upgrade.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Remediation {
    /// How many times a failed action is retried; 0 means no retries.
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub retries: i32,
}

/// Options for the first install.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstallOptions {
    /// Policy for the chart's `crds/` directory; default `Create`.
    #[serde(default = "crd_create")]
    pub crds: CrdPolicy,
    /// Wait until the chart's workloads are ready before marking the release deployed.
    #[serde(default)]
    pub wait: bool,
    /// Do not run the chart's hooks.
    #[serde(default)]
    pub disable_hooks: bool,
    /// What to do when the install fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation: Option<Remediation>,
}

/// Options for upgrades.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpgradeOptions {
    /// Policy for the chart's `crds/` directory; default `Skip` (as `helm upgrade`).
    #[serde(default = "crd_skip")]
    pub crds: CrdPolicy,
    /// Wait until the chart's workloads are ready before marking the release deployed.
    #[serde(default)]
    pub wait: bool,
    /// Do not run the chart's hooks.
    #[serde(default)]
    pub disable_hooks: bool,
    /// What to do when the upgrade fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation: Option<Remediation>,
}

/// Options for uninstalling.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UninstallOptions {
    /// Keep the release records (as `helm uninstall --keep-history`).
    #[serde(default)]
    pub keep_history: bool,
    /// Do not run the chart's hooks.
    #[serde(default)]
    pub disable_hooks: bool,
    /// Wait until the chart's objects are gone.
    #[serde(default)]
    pub wait: bool,
}

fn crd_create() -> CrdPolicy {
    CrdPolicy::Create
}

fn crd_skip() -> CrdPolicy {
    CrdPolicy::Skip
}

/// Observed state of a HelmRelease.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmReleaseStatus {
    /// Current state: `Ready`, `Released`, `Reconciling`, `Stalled`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` last reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The live (deployed) release revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<i64>,
    /// The revision of the last install, upgrade or rollback attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempted_revision: Option<i64>,
    /// Chart name of the live revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart_name: Option<String>,
    /// Chart version of the live revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart_version: Option<String>,
    /// `appVersion` of the chart of the live revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_version: Option<String>,
    /// Recent revisions, newest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<HistoryEntry>,
    /// Consecutive failed attempts since the last success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failures: Option<i64>,
}

/// One recorded release revision.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    /// Revision number.
    pub revision: i64,
    /// Chart version of the revision.
    pub chart_version: String,
    /// Helm release status: deployed, superseded, failed, pending-install, ...
    pub status: String,
    /// `sha256:<hex>` digest of the merged values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values_digest: Option<String>,
    /// When the revision was deployed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub deployed: Option<String>,
    /// Helm's description of the revision, e.g. `Install complete`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}
