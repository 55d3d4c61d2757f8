//! The object selector shared by the HelmRelease fields that pick some of a
//! release's objects: `postRenderers[].kustomize.patches[].target` and
//! `driftDetection.ignore[].target`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Selects objects of a release, as kustomize's selector: each field set
/// must match (names and namespaces are exact, `group`/`version`/`kind`
/// too); unset fields match any. Post-renderer patches and drift ignore
/// rules both use it, on the rendered object.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ObjectSelector {
    /// API group (`""` for the core group).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// API version, e.g. `v1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Kind, e.g. `Deployment`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Object name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Object namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Label selector (`app=web,tier!=db`, `key`, `!key`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<String>,
    /// Annotation selector, in label-selector syntax.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotation_selector: Option<String>,
}
