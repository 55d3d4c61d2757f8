//! The HelmRelease fields that change rendered objects before they are
//! applied: `spec.postRenderers` (kustomize-style patches and image
//! overrides) and `spec.commonMetadata` (labels and annotations on every
//! object). Kept apart from the rest of the spec: they are one feature.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::selector::ObjectSelector;

/// One post-renderer; they run in order over the rendered manifest.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostRenderer {
    /// Kustomize-style patches and image overrides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kustomize: Option<KustomizePostRenderer>,
}

/// Patches (applied first, in order) and image overrides.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KustomizePostRenderer {
    /// Patches applied in order to the objects they select.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patches: Vec<PostRenderPatch>,
    /// Image overrides of containers and init containers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<ImageOverride>,
}

/// How a patch's text is read.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum PatchType {
    /// Strategic merge: lists merged by the merge keys the API server's
    /// OpenAPI schema declares (lists of custom resources are replaced).
    StrategicMerge,
    /// JSON merge patch (RFC 7386): maps merged, lists replaced, null deletes.
    Merge,
    /// JSON patch (RFC 6902): a list of operations.
    Json6902,
}

/// One patch, as YAML or JSON text.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostRenderPatch {
    /// The patch. A list is a JSON 6902 patch, a map a strategic-merge
    /// patch (as kustomize reads it), unless `type` says otherwise.
    #[schemars(length(min = 1))]
    pub patch: String,
    /// How `patch` is read; unset: by its shape.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<PatchType>,
    /// The objects patched. Unset: a merge patch selects the object its own
    /// `apiVersion`, `kind` and `metadata.name` name; a JSON 6902 patch
    /// needs a target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<ObjectSelector>,
}

/// An image override (kustomize's `images`): containers whose image name
/// is `name` get `newName`, `newTag` and/or `digest`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImageOverride {
    /// The image name as the chart writes it (without tag or digest).
    #[schemars(length(min = 1))]
    pub name: String,
    /// Replacement name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_name: Option<String>,
    /// Replacement tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_tag: Option<String>,
    /// Digest (`sha256:…`); replaces the tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

/// Labels and annotations set on every object of the release's manifest
/// (hooks stay as rendered), over the chart's own.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommonMetadata {
    /// Labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}
