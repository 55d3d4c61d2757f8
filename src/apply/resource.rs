//! Objects of a release: a manifest (as stored in a Helm release record,
//! `---`-separated documents with `# Source:` comments) read into
//! [`Resource`]s, each resolved through discovery; identities for diffing
//! revisions; Helm's install and uninstall orders.

use std::collections::BTreeMap;

use kube::api::{Api, ApiResource, DynamicObject};
use serde_json::Value as Json;

use super::{Applier, ApplyError};
use crate::render::manifest::{kind_order, split_manifests, uninstall_kind_order};

/// One object of a release, resolved against the cluster's APIs.
#[derive(Clone, Debug)]
pub struct Resource {
    /// The object as rendered (namespace filled in when namespaced).
    pub object: DynamicObject,
    /// How the cluster serves its kind.
    pub api_resource: ApiResource,
    pub namespaced: bool,
    /// The template it came from (`# Source:`), when known.
    pub source: Option<String>,
}

/// What identifies an object across revisions (Helm's `isMatchingInfo`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResourceKey {
    pub group: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl ResourceKey {
    /// How the object is named in messages: `Kind ns/name`, or `Kind name`
    /// when cluster-scoped.
    pub fn display(&self) -> String {
        if self.namespace.is_empty() {
            format!("{} {}", self.kind, self.name)
        } else {
            format!("{} {}/{}", self.kind, self.namespace, self.name)
        }
    }
}

impl Resource {
    pub fn kind(&self) -> &str {
        &self.api_resource.kind
    }

    pub fn name(&self) -> &str {
        self.object.metadata.name.as_deref().unwrap_or_default()
    }

    /// The namespace, for namespaced objects.
    pub fn namespace(&self) -> Option<&str> {
        if self.namespaced {
            self.object.metadata.namespace.as_deref()
        } else {
            None
        }
    }

    pub fn key(&self) -> ResourceKey {
        ResourceKey {
            group: self.api_resource.group.clone(),
            kind: self.api_resource.kind.clone(),
            namespace: self.namespace().unwrap_or_default().to_string(),
            name: self.name().to_string(),
        }
    }

    /// An annotation of the rendered object.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.object
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(key))
            .map(String::as_str)
    }

    /// `Kind namespace/name` (or `Kind name` when cluster-scoped).
    pub fn display(&self) -> String {
        self.key().display()
    }

    /// Helm's `resourceString`: `Kind "name" in namespace "ns"`.
    pub fn helm_string(&self) -> String {
        format!(
            "{} {:?} in namespace {:?}",
            self.kind(),
            self.name(),
            self.namespace().unwrap_or_default()
        )
    }

    /// The dynamic API for this object's kind and namespace.
    pub fn api(&self, client: &kube::Client) -> Api<DynamicObject> {
        match self.namespace() {
            Some(ns) => Api::namespaced_with(client.clone(), ns, &self.api_resource),
            None => Api::all_with(client.clone(), &self.api_resource),
        }
    }

    /// The live object, if it exists (a failed read names this object).
    pub async fn read_live(
        &self,
        client: &kube::Client,
    ) -> Result<Option<DynamicObject>, ApplyError> {
        self.api(client)
            .get_opt(self.name())
            .await
            .map_err(|e| ApplyError::api("reading", self.display(), e))
    }
}

/// Sorts in Helm's install order (stable).
pub fn install_sort(resources: &mut [Resource]) {
    resources.sort_by(|a, b| kind_order(a.kind(), b.kind()));
}

/// Sorts in Helm's uninstall order (stable).
pub fn uninstall_sort(resources: &mut [Resource]) {
    resources.sort_by(|a, b| uninstall_kind_order(a.kind(), b.kind()));
}

/// One document read from a manifest, before discovery.
pub(crate) struct Document {
    /// `# Source:` path, or `document N`.
    pub label: String,
    pub source: Option<String>,
    pub json: Json,
}

/// The `# Source: path` comment of a document.
fn source_of(doc: &str) -> Option<String> {
    doc.lines()
        .find_map(|l| l.strip_prefix("# Source: "))
        .map(|s| s.trim().to_string())
}

/// Splits a manifest into object documents (empty ones and comment-only
/// ones dropped), parsed as Helm's `sigs.k8s.io/yaml` would.
pub(crate) fn parse_manifest(manifest: &str) -> Result<Vec<Document>, ApplyError> {
    let mut out = Vec::new();
    for (i, doc) in split_manifests(manifest).iter().enumerate() {
        let source = source_of(doc);
        let label = source
            .clone()
            .unwrap_or_else(|| format!("document {}", i + 1));
        let value = crate::godata::yaml::parse_any(doc).map_err(|e| ApplyError::Parse {
            document: label.clone(),
            message: e.to_string(),
        })?;
        let json = crate::render::tera::to_json(&value);
        match &json {
            Json::Null => continue,
            Json::Object(_) => {}
            _ => {
                return Err(ApplyError::Parse {
                    document: label,
                    message: "the document is not a YAML mapping".into(),
                });
            }
        }
        out.push(Document {
            label,
            source,
            json,
        });
    }
    Ok(out)
}

fn str_field<'a>(json: &'a Json, path: &[&str]) -> Option<&'a str> {
    let mut cur = json;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str()
}

fn split_api_version(api_version: &str) -> (&str, &str) {
    api_version.split_once('/').unwrap_or(("", api_version))
}

impl Applier {
    /// Reads a multi-document manifest (as stored in a Helm release record)
    /// into objects, resolving each kind through discovery (refreshed once
    /// when a kind is unknown, e.g. a CRD just installed). Namespaced objects
    /// without `metadata.namespace` get `default_ns`; cluster-scoped ones
    /// lose any namespace. Errors name the document.
    pub async fn resources(
        &self,
        manifest: &str,
        default_ns: &str,
    ) -> Result<Vec<Resource>, ApplyError> {
        let docs = parse_manifest(manifest)?;
        let mut out = Vec::with_capacity(docs.len());
        let mut refreshed = false;
        for doc in docs {
            loop {
                match self.resolve(&doc, default_ns).await {
                    Err(ApplyError::UnknownKind { .. }) if !refreshed => {
                        refreshed = true;
                        self.refresh_discovery().await?;
                    }
                    other => {
                        out.push(other?);
                        break;
                    }
                }
            }
        }
        Ok(out)
    }

    /// One document as a [`Resource`].
    async fn resolve(&self, doc: &Document, default_ns: &str) -> Result<Resource, ApplyError> {
        let parse_err = |message: &str| ApplyError::Parse {
            document: doc.label.clone(),
            message: message.to_string(),
        };
        let api_version = str_field(&doc.json, &["apiVersion"]).unwrap_or_default();
        let kind = str_field(&doc.json, &["kind"]).unwrap_or_default();
        if kind.is_empty() {
            return Err(parse_err("Object 'Kind' is missing"));
        }
        if api_version.is_empty() {
            return Err(parse_err("Object 'apiVersion' is missing"));
        }
        let name = str_field(&doc.json, &["metadata", "name"]).unwrap_or_default();
        if name.is_empty() {
            return Err(parse_err("metadata.name is missing"));
        }
        let ns_given = str_field(&doc.json, &["metadata", "namespace"]).unwrap_or_default();
        let (group, version) = split_api_version(api_version);
        let discovered = self.discovered().await?;
        let key = (group.to_string(), version.to_string(), kind.to_string());
        let Some(mapping) = discovered.kinds.get(&key) else {
            return Err(ApplyError::UnknownKind {
                document: doc.label.clone(),
                name: name.to_string(),
                namespace: ns_given.to_string(),
                kind: kind.to_string(),
                api_version: api_version.to_string(),
            });
        };
        let mut object: DynamicObject = serde_json::from_value(doc.json.clone())
            .map_err(|e| parse_err(&format!("not a Kubernetes object: {e}")))?;
        if mapping.namespaced {
            if ns_given.is_empty() {
                object.metadata.namespace = Some(default_ns.to_string());
            }
        } else {
            object.metadata.namespace = None;
        }
        Ok(Resource {
            object,
            api_resource: ApiResource {
                group: group.to_string(),
                version: version.to_string(),
                api_version: api_version.to_string(),
                kind: kind.to_string(),
                plural: mapping.plural.clone(),
            },
            namespaced: mapping.namespaced,
            source: doc.source.clone(),
        })
    }
}

/// Resources keyed by identity (last one wins, as the API server would see).
pub(crate) fn by_key(resources: &[Resource]) -> BTreeMap<ResourceKey, &Resource> {
    resources.iter().map(|r| (r.key(), r)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_documents_keep_their_source() {
        let m = "---\n# Source: c/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: yes\n---\n# Source: c/templates/empty.yaml\n# nothing\n---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\n";
        let docs = parse_manifest(m).unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].source.as_deref(), Some("c/templates/a.yaml"));
        // sigs.k8s.io/yaml (YAML 1.1): `yes` is a boolean.
        assert_eq!(docs[0].json["data"]["k"], Json::Bool(true));
        assert_eq!(docs[1].label, "document 3");
    }

    #[test]
    fn bad_documents_are_named() {
        let err = parse_manifest("# Source: c/templates/x.yaml\n- a\n")
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("error parsing c/templates/x.yaml: the document is not a YAML mapping")
        );
    }
}
