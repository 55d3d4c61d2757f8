//! `spec.postRenderers` and `spec.commonMetadata` as the Applier's
//! post-render steps ([`crate::apply::postrender`]).

use crate::api::HelmReleaseSpec;
use crate::api::postrender::{ImageOverride, PatchType, PostRenderPatch};
use crate::api::selector::ObjectSelector;
use crate::apply::postrender::{Image, Patch, PatchKind, PostRender, Step, Target};

/// What the spec asks post-rendering to do.
pub fn of(spec: &HelmReleaseSpec) -> PostRender {
    let steps = spec
        .post_renderers
        .iter()
        .filter_map(|p| p.kustomize.as_ref())
        .map(|k| Step {
            patches: k.patches.iter().map(patch).collect(),
            images: k.images.iter().map(image).collect(),
        })
        .collect();
    let common = spec.common_metadata.clone().unwrap_or_default();
    PostRender {
        steps,
        labels: common.labels,
        annotations: common.annotations,
    }
}

fn patch(p: &PostRenderPatch) -> Patch {
    Patch {
        text: p.patch.clone(),
        kind: p.type_.map(|t| match t {
            PatchType::StrategicMerge => PatchKind::StrategicMerge,
            PatchType::Merge => PatchKind::Merge,
            PatchType::Json6902 => PatchKind::Json6902,
        }),
        target: p.target.as_ref().map(target),
    }
}

/// A selector of the spec as the post-render layer's target (drift's
/// ignore rules select objects with it too).
pub fn target(t: &ObjectSelector) -> Target {
    Target {
        group: t.group.clone(),
        version: t.version.clone(),
        kind: t.kind.clone(),
        name: t.name.clone(),
        namespace: t.namespace.clone(),
        label_selector: t.label_selector.clone(),
        annotation_selector: t.annotation_selector.clone(),
    }
}

fn image(i: &ImageOverride) -> Image {
    Image {
        name: i.name.clone(),
        new_name: i.new_name.clone(),
        new_tag: i.new_tag.clone(),
        digest: i.digest.clone(),
    }
}
