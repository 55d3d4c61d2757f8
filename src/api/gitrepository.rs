//! The GitRepository kind: a Git repository HelmReleases take charts from
//! (a chart directory at a path of a commit), the ref to follow and how
//! often to look for a new commit.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::condition::Condition;
use super::duration::DURATION_PATTERN;
use super::helmrepository::default_repository_timeout;
use super::{LocalObjectReference, default_interval};

/// A Git repository HelmReleases take charts from. rudder lists the
/// remote's refs every `interval` and fetches the commit the ref names
/// only when it changed.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "helm.rudder.dev",
    version = "v1alpha1",
    kind = "GitRepository",
    plural = "gitrepositories",
    shortname = "gitrepo",
    category = "rudder",
    namespaced,
    status = "GitRepositoryStatus",
    derive = "PartialEq",
    doc = "A Git repository HelmReleases take charts from.",
    printcolumn(name = "URL", type_ = "string", json_path = ".spec.url"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Revision",
        type_ = "string",
        json_path = ".status.artifact.revision"
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
pub struct GitRepositorySpec {
    /// Repository URL: `https://`, `http://` (smart HTTP) or `git://`.
    #[schemars(length(min = 1), extend("x-kubernetes-validations" = [{
        "rule": "self.startsWith('http://') || self.startsWith('https://') || self.startsWith('git://')",
        "message": "url must start with http://, https:// or git://"
    }]))]
    pub url: String,
    /// The ref to follow; unset: the remote's `HEAD` (its default branch).
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<GitReference>,
    /// How often the remote's refs are listed again (Go duration).
    #[serde(default = "default_interval")]
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub interval: String,
    /// Timeout for one listing or fetch (Go duration).
    #[serde(default = "default_repository_timeout")]
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub timeout: String,
    /// Secret in the same namespace with HTTP credentials: `username` and
    /// `password` (basic auth), or `bearerToken`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// Stop looking for new commits while true.
    #[serde(default)]
    pub suspend: bool,
}

/// Which commit of the repository to use: exactly one field.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "[has(self.branch), has(self.tag), has(self.semver), has(self.commit)].filter(x, x).size() == 1",
    "message": "set exactly one of branch, tag, semver and commit"
}]))]
pub struct GitReference {
    /// A branch: its newest commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub branch: Option<String>,
    /// A tag (annotated tags are peeled to their commit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub tag: Option<String>,
    /// A semver constraint: the tag of the highest matching version
    /// (`v1.2.3` and `1.2.3` both count).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub semver: Option<String>,
    /// A full commit id (40 hex digits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9a-f]{40}$"))]
    pub commit: Option<String>,
}

/// Observed state of a GitRepository.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositoryStatus {
    /// Current state; `Ready` tells whether the ref resolved and its
    /// commit is fetched.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` last reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The commit last fetched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<GitArtifact>,
}

/// The commit a GitRepository's ref resolved to.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitArtifact {
    /// `<ref>@sha1:<commit>`, e.g. `main@sha1:0123…` (`sha1:<commit>` for a
    /// `commit` ref).
    #[schemars(length(min = 1))]
    pub revision: String,
    /// When the revision last changed (RFC 3339).
    #[schemars(extend("format" = "date-time"))]
    pub last_update_time: String,
}
