//! Post-rendering: what a HelmRelease's `postRenderers` and
//! `commonMetadata` do to a rendered manifest before it is applied and
//! recorded. Patches run in order — strategic merge (see [`strategic`]),
//! JSON merge (RFC 7386) and JSON patch (RFC 6902, both by the `json-patch`
//! crate) — then image overrides, per post-renderer; common labels and
//! annotations last. Documents left unchanged keep their exact text; a
//! changed one is written again as `sigs.k8s.io/yaml` writes it, under
//! its `# Source:` line, so the recorded manifest is what was applied.
//!
//! Strategic merge reads list merge keys from the API server's OpenAPI v3
//! document of the object's GroupVersion, fetched through the client
//! ([`Applier::post_render`]) and kept by its content hash.

mod images;
mod select;
mod strategic;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use serde_json::Value as Json;

use super::Applier;
use crate::render::manifest::split_manifests;
pub use select::Matcher;
use select::str_at;

/// How a patch is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchKind {
    StrategicMerge,
    Merge,
    Json6902,
}

/// One patch and the objects it selects.
#[derive(Clone, Debug, PartialEq)]
pub struct Patch {
    /// YAML or JSON text.
    pub text: String,
    /// `None`: a list is JSON 6902, a map a strategic merge.
    pub kind: Option<PatchKind>,
    pub target: Option<Target>,
}

/// Which objects a patch applies to (unset fields match any).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    pub group: Option<String>,
    pub version: Option<String>,
    pub kind: Option<String>,
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub label_selector: Option<String>,
    pub annotation_selector: Option<String>,
}

/// An image override.
#[derive(Clone, Debug, PartialEq)]
pub struct Image {
    pub name: String,
    pub new_name: Option<String>,
    pub new_tag: Option<String>,
    pub digest: Option<String>,
}

/// One post-renderer: its patches in order, then its image overrides.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Step {
    pub patches: Vec<Patch>,
    pub images: Vec<Image>,
}

/// Everything post-rendering does to a manifest.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PostRender {
    pub steps: Vec<Step>,
    /// Labels set on every object.
    pub labels: BTreeMap<String, String>,
    /// Annotations set on every object.
    pub annotations: BTreeMap<String, String>,
}

impl PostRender {
    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        self.steps
            .iter()
            .all(|s| s.patches.is_empty() && s.images.is_empty())
            && self.labels.is_empty()
            && self.annotations.is_empty()
    }

    fn needs_schemas(&self) -> bool {
        self.steps.iter().flat_map(|s| &s.patches).any(|p| {
            p.kind == Some(PatchKind::StrategicMerge)
                || (p.kind.is_none() && !p.text.trim_start().starts_with(['-', '[']))
        })
    }
}

/// Why post-rendering failed.
#[derive(Debug, thiserror::Error)]
pub enum PostRenderError {
    /// A patch is not YAML/JSON of the expected shape.
    #[error("postRenderers[{step}].kustomize.patches[{patch}]: {message}")]
    Patch {
        step: usize,
        patch: usize,
        message: String,
    },
    /// A JSON 6902 patch failed on an object.
    #[error("postRenderers[{step}].kustomize.patches[{patch}] on {object}: {message}")]
    Apply {
        step: usize,
        patch: usize,
        object: String,
        message: String,
    },
    /// A selector does not parse.
    #[error("target {field} {selector:?} is not a valid selector")]
    Selector { field: String, selector: String },
    /// A rendered document does not parse.
    #[error("post-rendering {document}: {message}")]
    Document { document: String, message: String },
    /// The API server's OpenAPI schema could not be read.
    #[error("reading the OpenAPI schema of {group_version} for a strategic merge patch: {message}")]
    Schema {
        group_version: String,
        message: String,
    },
}

/// OpenAPI v3 documents by GroupVersion (`v1`, `apps/v1`).
pub type Schemas = HashMap<String, Arc<Json>>;

/// One document of the manifest.
struct Doc {
    text: String,
    source: Option<String>,
    obj: Json,
    changed: bool,
}

impl Doc {
    fn label(&self) -> String {
        let kind = str_at(&self.obj, &["kind"]).unwrap_or("object");
        let name = str_at(&self.obj, &["metadata", "name"]).unwrap_or("");
        match &self.source {
            Some(s) => format!("{kind} {name} ({s})"),
            None => format!("{kind} {name}"),
        }
    }
}

fn parse_docs(manifest: &str) -> Result<Vec<Doc>, PostRenderError> {
    let mut out = Vec::new();
    for (i, text) in split_manifests(manifest).into_iter().enumerate() {
        let source = text
            .lines()
            .find_map(|l| l.strip_prefix("# Source: "))
            .map(|s| s.trim().to_string());
        let value =
            crate::godata::yaml::parse_any(&text).map_err(|e| PostRenderError::Document {
                document: source
                    .clone()
                    .unwrap_or_else(|| format!("document {}", i + 1)),
                message: e.to_string(),
            })?;
        let obj = crate::render::tera::to_json(&value);
        out.push(Doc {
            text,
            source,
            obj,
            changed: false,
        });
    }
    Ok(out)
}

/// The text of `obj` as `sigs.k8s.io/yaml` writes it.
fn to_yaml(obj: &Json) -> String {
    let value = crate::godata::json::from_json(&obj.to_string());
    crate::godata::yaml::to_yaml(&value)
        .unwrap_or_else(|_| obj.to_string())
        .trim_end()
        .to_string()
}

fn write_docs(docs: &[Doc]) -> String {
    let mut out = String::new();
    for d in docs {
        out.push_str("---\n");
        if !d.changed {
            out.push_str(&d.text);
        } else {
            if let Some(s) = &d.source {
                out.push_str("# Source: ");
                out.push_str(s);
                out.push('\n');
            }
            out.push_str(&to_yaml(&d.obj));
        }
        out.push('\n');
    }
    out
}

/// Reads a patch's text (YAML or JSON) and its kind.
fn read_patch(p: &Patch, step: usize, patch: usize) -> Result<(PatchKind, Json), PostRenderError> {
    let err = |message: String| PostRenderError::Patch {
        step,
        patch,
        message,
    };
    let value = crate::godata::yaml::parse_any(&p.text).map_err(|e| err(e.to_string()))?;
    let json = crate::render::tera::to_json(&value);
    let kind = match (p.kind, &json) {
        (Some(k), _) => k,
        (None, Json::Array(_)) => PatchKind::Json6902,
        (None, Json::Object(_)) => PatchKind::StrategicMerge,
        (None, _) => return Err(err("a patch is a list (JSON 6902) or a map".into())),
    };
    if kind == PatchKind::Json6902 && p.target.is_none() {
        return Err(err("a JSON 6902 patch needs a target".into()));
    }
    Ok((kind, json))
}

/// The target a merge patch without one names by itself.
fn own_target(patch: &Json) -> Target {
    let api_version = str_at(patch, &["apiVersion"]).unwrap_or_default();
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let some = |s: Option<&str>| s.map(String::from);
    Target {
        group: (!api_version.is_empty()).then(|| group.to_string()),
        version: (!api_version.is_empty()).then(|| version.to_string()),
        kind: some(str_at(patch, &["kind"])),
        name: some(str_at(patch, &["metadata", "name"])),
        namespace: some(str_at(patch, &["metadata", "namespace"])),
        ..Target::default()
    }
}

/// A merge patch applied through a target: its own identity removed, so it
/// cannot rename what it patches.
fn without_identity(patch: &Json) -> Json {
    let mut p = patch.clone();
    if let Some(m) = p.as_object_mut() {
        m.remove("apiVersion");
        m.remove("kind");
        if let Some(meta) = m.get_mut("metadata").and_then(Json::as_object_mut) {
            meta.remove("name");
            meta.remove("namespace");
        }
    }
    p
}

/// The schema of `obj`'s kind in `schemas`.
fn schema_of<'a>(obj: &Json, schemas: &'a Schemas) -> Option<strategic::Node<'a>> {
    let api_version = str_at(obj, &["apiVersion"])?;
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let doc = schemas.get(api_version)?;
    strategic::Node::root(doc, group, version, str_at(obj, &["kind"])?)
}

struct PatchRef {
    step: usize,
    patch: usize,
}

fn apply_patch(
    doc: &mut Doc,
    kind: PatchKind,
    patch: &Json,
    at: &PatchRef,
    schemas: &Schemas,
) -> Result<(), PostRenderError> {
    let before = doc.obj.clone();
    match kind {
        PatchKind::StrategicMerge => {
            let schema = schema_of(&before, schemas);
            strategic::merge(&mut doc.obj, patch, schema);
        }
        PatchKind::Merge => json_patch::merge(&mut doc.obj, patch),
        PatchKind::Json6902 => {
            let ops: json_patch::Patch =
                serde_json::from_value(patch.clone()).map_err(|e| PostRenderError::Patch {
                    step: at.step,
                    patch: at.patch,
                    message: format!("not a JSON 6902 patch: {e}"),
                })?;
            json_patch::patch(&mut doc.obj, &ops).map_err(|e| PostRenderError::Apply {
                step: at.step,
                patch: at.patch,
                object: doc.label(),
                message: e.to_string(),
            })?;
        }
    }
    doc.changed |= doc.obj != before;
    Ok(())
}

fn run_patch(
    docs: &mut [Doc],
    p: &Patch,
    at: &PatchRef,
    default_ns: &str,
    schemas: &Schemas,
) -> Result<(), PostRenderError> {
    let (kind, json) = read_patch(p, at.step, at.patch)?;
    let (target, body) = match &p.target {
        Some(t) => (t.clone(), without_identity(&json)),
        None => (own_target(&json), json.clone()),
    };
    let body = if kind == PatchKind::Json6902 {
        json
    } else {
        body
    };
    let matcher = Matcher::new(&target)?;
    for doc in docs
        .iter_mut()
        .filter(|d| matcher.matches(&d.obj, default_ns))
    {
        apply_patch(doc, kind, &body, at, schemas)?;
    }
    Ok(())
}

fn set_metadata(doc: &mut Doc, field: &str, values: &BTreeMap<String, String>) {
    if values.is_empty() || !doc.obj.is_object() {
        return;
    }
    let meta = &mut doc.obj["metadata"];
    if !meta.is_object() {
        *meta = Json::Object(Default::default());
    }
    let map = &mut meta[field];
    if !map.is_object() {
        *map = Json::Object(Default::default());
    }
    for (k, v) in values {
        if map.get(k).and_then(Json::as_str) != Some(v) {
            map[k] = Json::String(v.clone());
            doc.changed = true;
        }
    }
}

/// Applies `pr` to `manifest` (objects without a namespace are in
/// `default_ns` for targets), with the OpenAPI documents `schemas`.
pub fn post_render(
    manifest: &str,
    pr: &PostRender,
    default_ns: &str,
    schemas: &Schemas,
) -> Result<String, PostRenderError> {
    if pr.is_empty() {
        return Ok(manifest.to_string());
    }
    let mut docs = parse_docs(manifest)?;
    for (step, s) in pr.steps.iter().enumerate() {
        for (patch, p) in s.patches.iter().enumerate() {
            run_patch(&mut docs, p, &PatchRef { step, patch }, default_ns, schemas)?;
        }
        if !s.images.is_empty() {
            for d in docs.iter_mut() {
                d.changed |= images::apply(&mut d.obj, &s.images);
            }
        }
    }
    for d in docs.iter_mut() {
        set_metadata(d, "labels", &pr.labels);
        set_metadata(d, "annotations", &pr.annotations);
    }
    if docs.iter().all(|d| !d.changed) {
        return Ok(manifest.to_string());
    }
    Ok(write_docs(&docs))
}

/// The GroupVersions (`apiVersion`s) of the objects in `manifest`.
fn group_versions(manifest: &str) -> Vec<String> {
    let mut out: Vec<String> = parse_docs(manifest)
        .unwrap_or_default()
        .iter()
        .filter_map(|d| str_at(&d.obj, &["apiVersion"]).map(String::from))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// OpenAPI v3 documents, by their server-relative URL (which carries the
/// content hash, so a changed CRD is a new entry).
#[derive(Clone, Default)]
pub struct SchemaCache(Arc<Mutex<HashMap<String, Arc<Json>>>>);

impl Applier {
    /// Post-renders `manifest` as `pr` says, reading the OpenAPI v3
    /// documents that strategic merge patches need.
    pub async fn post_render(
        &self,
        manifest: &str,
        pr: &PostRender,
        default_ns: &str,
    ) -> Result<String, PostRenderError> {
        if pr.is_empty() {
            return Ok(manifest.to_string());
        }
        let schemas = if pr.needs_schemas() {
            self.openapi_schemas(&group_versions(manifest)).await?
        } else {
            Schemas::new()
        };
        post_render(manifest, pr, default_ns, &schemas)
    }

    async fn openapi_schemas(&self, gvs: &[String]) -> Result<Schemas, PostRenderError> {
        let schema_err = |gv: &str, e: kube::Error| PostRenderError::Schema {
            group_version: gv.to_string(),
            message: e.to_string(),
        };
        let root: Json = self
            .get_json("/openapi/v3")
            .await
            .map_err(|e| schema_err("the cluster", e))?;
        let mut out = Schemas::new();
        for gv in gvs {
            let path = if gv.contains('/') {
                format!("apis/{gv}")
            } else {
                format!("api/{gv}")
            };
            let Some(url) = root
                .get("paths")
                .and_then(|p| p.get(&path))
                .and_then(|p| p.get("serverRelativeURL"))
                .and_then(Json::as_str)
            else {
                continue;
            };
            let cached = self.schemas.0.lock().ok().and_then(|m| m.get(url).cloned());
            let doc = match cached {
                Some(d) => d,
                None => {
                    let d = Arc::new(self.get_json(url).await.map_err(|e| schema_err(gv, e))?);
                    if let Ok(mut m) = self.schemas.0.lock() {
                        m.insert(url.to_string(), d.clone());
                    }
                    d
                }
            };
            out.insert(gv.clone(), doc);
        }
        Ok(out)
    }

    async fn get_json(&self, url: &str) -> Result<Json, kube::Error> {
        let req = http::Request::get(url)
            .body(Vec::new())
            .map_err(kube::Error::HttpError)?;
        self.client.request::<Json>(req).await
    }
}

#[cfg(test)]
mod tests;
