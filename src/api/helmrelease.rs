//! The HelmRelease kind: a chart from a HelmRepository, installed with values
//! into a namespace, kept at the desired revision.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::condition::Condition;
use super::duration::DURATION_PATTERN;
use super::postrender::{CommonMetadata, PostRenderer};
use super::remote::KubeConfigReference;
use super::selector::ObjectSelector;
use super::{LocalObjectReference, default_interval, preserve_unknown_object};

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
    /// Options for rollbacks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<RollbackOptions>,
    /// `helm test` after each successful install and upgrade.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<TestOptions>,
    /// How to read the health of custom resources while waiting, per kind.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub health_checks: Vec<HealthCheck>,
    /// Whether objects changed or deleted behind rudder's back are
    /// reported or put back (default: `warn`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift_detection: Option<DriftDetection>,
    /// Post-renderers run in order over the rendered manifest before it is
    /// applied and recorded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub post_renderers: Vec<PostRenderer>,
    /// Labels and annotations set on every object of the manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_metadata: Option<CommonMetadata>,
    /// Install into another cluster: the chart's objects and the release
    /// records go there (as `serviceAccountName` there, when set); status
    /// and events stay on this cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kube_config: Option<KubeConfigReference>,
}

/// What to do when a release's objects drift from the deployed revision.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum DriftMode {
    /// Re-apply drifted objects as the deployed revision recorded them (no
    /// new revision).
    Enabled,
    /// Report drift (the `Drifted` condition and an event) without changing
    /// anything.
    #[default]
    Warn,
    /// Neither watch nor compare.
    Disabled,
}

/// Drift detection and correction of a release's objects.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DriftDetection {
    /// `enabled` corrects, `warn` only reports, `disabled` does nothing.
    #[serde(default)]
    pub mode: DriftMode,
    /// Fields left to others: neither compared nor corrected.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<DriftIgnore>,
}

/// Fields drift detection leaves alone, on every object or on the ones
/// `target` selects.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DriftIgnore {
    /// JSON pointers (RFC 6901), e.g. `/spec/replicas`.
    #[schemars(length(min = 1))]
    pub paths: Vec<String>,
    /// Which objects the rule applies to; unset: all of the release's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<ObjectSelector>,
}

/// The chart of a HelmRelease.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChartSpec {
    /// Chart name as listed in the repository index; for a GitRepository,
    /// the chart directory's path inside the repository (e.g.
    /// `./charts/app`, `.` for the root).
    #[schemars(length(min = 1))]
    pub name: String,
    /// Semver constraint (as Helm's `--version`), e.g. `1.2.3`, `~1.2`,
    /// `>=1.0.0 <2.0.0`; for a GitRepository, what the chart's Chart.yaml
    /// version must satisfy.
    #[serde(default = "default_chart_version")]
    #[schemars(length(min = 1))]
    pub version: String,
    /// The HelmRepository or GitRepository to take the chart from.
    pub repository_ref: RepositoryReference,
    /// Pins the chart: for an `oci://` HelmRepository the digest of the
    /// manifest (what `helm push` prints), for an HTTP one the archive's
    /// digest. A chart of another digest is refused and nothing is applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^sha256:[0-9a-f]{64}$"))]
    pub digest: Option<String>,
    /// Values files inside the chart merged in order after its
    /// `values.yaml` and before `valuesFrom` and `values` (as `helm -f`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values_files: Vec<String>,
    /// A file of `valuesFiles` the chart lacks is skipped instead of
    /// failing the release.
    #[serde(default)]
    pub ignore_missing_values_files: bool,
    /// Verify the chart's signature before anything of it is used; an
    /// unsigned or badly signed chart is refused and nothing is applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<ChartVerification>,
}

/// Who signs a chart and where the keys are.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChartVerification {
    /// `pgp`: a Helm provenance file (`<archive>.prov`, `helm package
    /// --sign`) next to the archive of an HTTP repository; `cosign`: a
    /// cosign signature (`sha256-<digest>.sig` tag) of an OCI chart.
    pub provider: VerificationProvider,
    /// Secret in the HelmRelease's namespace with the keys: for `pgp`
    /// every key is a keyring (binary or ASCII-armored, e.g.
    /// `pubring.gpg`); for `cosign` every key ending in `.pub` is a PEM
    /// public key (e.g. `cosign.pub`).
    pub secret_ref: LocalObjectReference,
}

/// The kind of signature [`ChartVerification`] checks.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum VerificationProvider {
    Pgp,
    Cosign,
}

/// A reference to a HelmRepository or GitRepository.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RepositoryReference {
    /// Kind of the source: `HelmRepository` (the default) or `GitRepository`.
    #[serde(default, skip_serializing_if = "SourceKind::is_default")]
    pub kind: SourceKind,
    /// Name of the source.
    #[schemars(length(min = 1))]
    pub name: String,
    /// Namespace of the source; defaults to the HelmRelease's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub namespace: Option<String>,
}

/// The kind of object a [`RepositoryReference`] names.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum SourceKind {
    /// A chart repository (HTTP index or OCI registry).
    #[default]
    HelmRepository,
    /// A Git repository; the chart name is a path inside it.
    GitRepository,
}

impl SourceKind {
    /// Whether this is the default kind (left out when serialized).
    pub fn is_default(&self) -> bool {
        *self == SourceKind::HelmRepository
    }
}

/// Kind of object a [`ValuesReference`] reads.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
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

/// What remediation does to a failed install, upgrade or test.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum RemediationStrategy {
    /// Leave the failed revision in place and try again (the default).
    #[default]
    Retry,
    /// Make the previously live revision live again, without a new
    /// revision number (upgrades; an install has nothing to roll back to
    /// and is uninstalled instead).
    Rollback,
    /// Remove the failed revision's objects; its record stays, marked
    /// `uninstalled`.
    Uninstall,
}

/// Remediation of a failed install or upgrade.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Remediation {
    /// How many times a failed action is retried; 0 means no retries.
    /// Failures are counted per input (chart, values, options): any change,
    /// in the spec or in a `valuesFrom` source, gives the release new tries.
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub retries: i32,
    /// What is done after a failure before the next try; default `retry`.
    #[serde(default)]
    pub strategy: RemediationStrategy,
    /// Wait between tries (Go duration); unset uses the exponential
    /// back-off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub retry_interval: Option<String>,
    /// Remediate the last failure too, once no retries remain; default true
    /// (false leaves the failed revision in place to inspect).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediate_last_failure: Option<bool>,
    /// A failed `spec.test` does not count as a failure of the release.
    #[serde(default)]
    pub ignore_test_failures: bool,
}

impl Remediation {
    /// Whether the failure that exhausts the retries is remediated.
    pub fn remediates_last(&self) -> bool {
        self.remediate_last_failure.unwrap_or(true)
    }
}

/// Options for the first install.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstallOptions {
    /// Policy for the chart's `crds/` directory; default `Create`.
    #[serde(default = "crd_create")]
    pub crds: CrdPolicy,
    /// Wait until every object is ready (kstatus rules, `spec.healthChecks`)
    /// before marking the revision deployed; default true.
    #[serde(default = "yes")]
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
    /// Wait until every object is ready (kstatus rules, `spec.healthChecks`)
    /// before marking the revision deployed; default true.
    #[serde(default = "yes")]
    pub wait: bool,
    /// Do not run the chart's hooks.
    #[serde(default)]
    pub disable_hooks: bool,
    /// What to do when the upgrade fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation: Option<Remediation>,
    /// Recreate an object whose change the API server refuses as an
    /// immutable field (a StatefulSet selector, a Job template): it is
    /// deleted and created again. Without it the upgrade fails naming the
    /// object and the field. An object annotated
    /// `helm.rudder.dev/force: "true"` is recreated likewise.
    #[serde(default)]
    pub force: bool,
}

/// Options for rollbacks (`spec.revision` and the `rollback` remediation).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RollbackOptions {
    /// Wait until the revision's objects are ready; default true.
    #[serde(default = "yes")]
    pub wait: bool,
    /// Do not run the target revision's rollback hooks.
    #[serde(default)]
    pub disable_hooks: bool,
}

impl Default for RollbackOptions {
    fn default() -> Self {
        RollbackOptions {
            wait: true,
            disable_hooks: false,
        }
    }
}

/// One `spec.test.filters` entry: a test hook by name.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestFilter {
    /// The test hook's object name.
    #[schemars(length(min = 1))]
    pub name: String,
    /// Skip this test instead of selecting it.
    #[serde(default)]
    pub exclude: bool,
}

/// `helm test` after every successful install and upgrade.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestOptions {
    /// Run the chart's test hooks.
    #[serde(default)]
    pub enable: bool,
    /// Which tests run: the named ones (without `exclude`), or all but the
    /// excluded ones; empty runs all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<TestFilter>,
    /// A failed test sets `TestSuccess=False` but leaves the release Ready
    /// and is not remediated.
    #[serde(default)]
    pub ignore_failures: bool,
    /// Timeout of the test run (Go duration); default `spec.timeout`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub timeout: Option<String>,
}

impl TestOptions {
    /// Whether the test hook named `name` runs.
    pub fn selects(&self, name: &str) -> bool {
        let included: Vec<&TestFilter> = self.filters.iter().filter(|f| !f.exclude).collect();
        if self.filters.iter().any(|f| f.exclude && f.name == name) {
            return false;
        }
        included.is_empty() || included.iter().any(|f| f.name == name)
    }
}

/// How to read the health of objects of one kind (custom resources whose
/// status kstatus cannot read), as CEL expressions over the object
/// (`self`); the first that holds decides, in the order failed, current.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheck {
    /// `group/version` (or `v1`) of the kind.
    #[schemars(length(min = 1))]
    pub api_version: String,
    /// The kind.
    #[schemars(length(min = 1))]
    pub kind: String,
    /// True when the object is ready.
    #[schemars(length(min = 1))]
    pub current: String,
    /// True when the object failed (the wait ends in failure at once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
}

/// Options for uninstalling.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UninstallOptions {
    /// Keep the release records (as `helm uninstall --keep-history`).
    #[serde(default)]
    pub keep_history: bool,
    /// Do not run the chart's hooks.
    #[serde(default)]
    pub disable_hooks: bool,
    /// Wait until the chart's objects are gone; default true.
    #[serde(default = "yes")]
    pub wait: bool,
}

impl Default for UninstallOptions {
    fn default() -> Self {
        UninstallOptions {
            keep_history: false,
            disable_hooks: false,
            wait: true,
        }
    }
}

impl Default for InstallOptions {
    fn default() -> Self {
        InstallOptions {
            crds: CrdPolicy::Create,
            wait: true,
            disable_hooks: false,
            remediation: None,
        }
    }
}

impl Default for UpgradeOptions {
    fn default() -> Self {
        UpgradeOptions {
            crds: CrdPolicy::Skip,
            wait: true,
            disable_hooks: false,
            remediation: None,
            force: false,
        }
    }
}

impl HelmReleaseSpec {
    /// `spec.install`, or its defaults.
    pub fn install_options(&self) -> InstallOptions {
        self.install.clone().unwrap_or_default()
    }

    /// `spec.upgrade`, or its defaults.
    pub fn upgrade_options(&self) -> UpgradeOptions {
        self.upgrade.clone().unwrap_or_default()
    }

    /// `spec.rollback`, or its defaults.
    pub fn rollback_options(&self) -> RollbackOptions {
        self.rollback.clone().unwrap_or_default()
    }

    /// `spec.uninstall`, or its defaults.
    pub fn uninstall_options(&self) -> UninstallOptions {
        self.uninstall.clone().unwrap_or_default()
    }

    /// `spec.driftDetection`, or its defaults.
    pub fn drift(&self) -> DriftDetection {
        self.drift_detection.clone().unwrap_or_default()
    }

    /// The remediation of a failed install (`upgrade` false) or upgrade.
    pub fn remediation(&self, upgrade: bool) -> Remediation {
        let r = if upgrade {
            self.upgrade.as_ref().and_then(|u| u.remediation.clone())
        } else {
            self.install.as_ref().and_then(|i| i.remediation.clone())
        };
        r.unwrap_or_default()
    }
}

fn yes() -> bool {
    true
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
    /// For a chart from a GitRepository: the Git revision
    /// (`<ref>@sha1:<commit>`) the live revision's chart was read from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_revision: Option<String>,
    /// Recent revisions, newest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<HistoryEntry>,
    /// Consecutive failed attempts of the inputs digested in
    /// `failedDigest` since the last success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failures: Option<i64>,
    /// Digest of the inputs (chart, composed values, options) whose
    /// attempts `failures` counts: other inputs start with new tries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_digest: Option<String>,
    /// The `helm.rudder.dev/reset-at` annotation value last acted upon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reset_at: Option<String>,
    /// The `helm.rudder.dev/requested-at` annotation value last acted upon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_requested_at: Option<String>,
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
    /// How the revision's last test run ended: `Succeeded` or `Failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tests: Option<String>,
}
