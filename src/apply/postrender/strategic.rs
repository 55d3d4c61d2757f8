//! Strategic merge patches, written here by hand: no maintained Rust crate
//! implements Kubernetes' strategic merge. Maps merge key by key (`null`
//! deletes a key); a list merges as the API server's OpenAPI v3 schema of
//! the object's kind says, as kustomize reads it: by the field's
//! `x-kubernetes-patch-merge-key` when its `x-kubernetes-patch-strategy`
//! is `merge` (a list of scalars with that strategy is a union), else by
//! `x-kubernetes-list-map-keys` of an `x-kubernetes-list-type: map`; any
//! other list (custom resources without keys included) is replaced. The
//! directive `$patch` is honoured (`delete` on a map or a list element,
//! `replace` on a map or as a list element); other `$` directives are
//! dropped.

use serde_json::{Map, Value as Json};

/// How a list field merges.
#[derive(Clone, Debug, PartialEq, Eq)]
enum ListMerge {
    /// Elements with equal values of these keys are merged.
    Keys(Vec<String>),
    /// Scalars are added when missing.
    Union,
    /// The patch's list replaces the object's.
    Replace,
}

/// A point in one GroupVersion's OpenAPI v3 document.
#[derive(Clone, Copy)]
pub struct Node<'a> {
    doc: &'a Json,
    node: &'a Json,
}

impl<'a> Node<'a> {
    /// The schema of `group/version` `kind` in `doc` (by its
    /// `x-kubernetes-group-version-kind`).
    pub fn root(doc: &'a Json, group: &str, version: &str, kind: &str) -> Option<Node<'a>> {
        let schemas = doc.get("components")?.get("schemas")?.as_object()?;
        schemas
            .values()
            .find(|s| {
                s.get("x-kubernetes-group-version-kind")
                    .and_then(Json::as_array)
                    .is_some_and(|gvks| {
                        gvks.iter().any(|g| {
                            g.get("group").and_then(Json::as_str).unwrap_or("") == group
                                && g.get("version").and_then(Json::as_str) == Some(version)
                                && g.get("kind").and_then(Json::as_str) == Some(kind)
                        })
                    })
            })
            .map(|node| Node { doc, node })
    }

    /// The node a `$ref` (directly or as the only `allOf`) points at.
    fn resolved(self) -> Node<'a> {
        let mut cur = self;
        for _ in 0..16 {
            let reference = cur.node.get("$ref").or_else(|| {
                cur.node
                    .get("allOf")
                    .and_then(Json::as_array)
                    .and_then(|a| a.first())
                    .and_then(|f| f.get("$ref"))
            });
            let Some(name) = reference
                .and_then(Json::as_str)
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
            else {
                break;
            };
            match self
                .doc
                .get("components")
                .and_then(|c| c.get("schemas"))
                .and_then(|s| s.get(name))
            {
                Some(node) => {
                    cur = Node {
                        doc: self.doc,
                        node,
                    }
                }
                None => break,
            }
        }
        cur
    }

    fn property(self, name: &str) -> Option<Node<'a>> {
        let node = self.resolved().node.get("properties")?.get(name)?;
        Some(Node {
            doc: self.doc,
            node,
        })
    }

    fn items(self) -> Option<Node<'a>> {
        let node = self.resolved().node.get("items")?;
        Some(
            Node {
                doc: self.doc,
                node,
            }
            .resolved(),
        )
    }

    /// An extension of this field, on the node or what it refers to.
    fn extension(self, name: &str) -> Option<&'a Json> {
        self.node
            .get(name)
            .or_else(|| self.resolved().node.get(name))
    }

    fn list_merge(self) -> ListMerge {
        let strategy = self
            .extension("x-kubernetes-patch-strategy")
            .and_then(Json::as_str)
            .is_some_and(|s| s.split(',').any(|p| p == "merge"));
        let key = self
            .extension("x-kubernetes-patch-merge-key")
            .and_then(Json::as_str);
        match (strategy, key) {
            (true, Some(k)) => return ListMerge::Keys(vec![k.to_string()]),
            (true, None) => return ListMerge::Union,
            _ => {}
        }
        let map_list = self
            .extension("x-kubernetes-list-type")
            .and_then(Json::as_str)
            == Some("map");
        let keys: Vec<String> = self
            .extension("x-kubernetes-list-map-keys")
            .and_then(Json::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|k| k.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        if map_list && !keys.is_empty() {
            ListMerge::Keys(keys)
        } else {
            ListMerge::Replace
        }
    }
}

const PATCH: &str = "$patch";

fn directive(v: &Json) -> Option<&str> {
    v.get(PATCH).and_then(Json::as_str)
}

/// `v` without directives (and without list elements marked for deletion).
fn clean(v: &Json) -> Json {
    match v {
        Json::Object(m) => Json::Object(
            m.iter()
                .filter(|(k, _)| !k.starts_with('$'))
                .map(|(k, v)| (k.clone(), clean(v)))
                .collect(),
        ),
        Json::Array(a) => Json::Array(
            a.iter()
                .filter(|e| directive(e) != Some("delete"))
                .map(clean)
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Applies the strategic-merge patch `patch` to `obj`, whose schema is
/// `schema` (`None`: no schema known, every list is replaced).
pub fn merge(obj: &mut Json, patch: &Json, schema: Option<Node<'_>>) {
    match (obj.as_object_mut(), patch.as_object()) {
        (Some(o), Some(p)) => {
            if !merge_maps(o, p, schema) {
                *obj = Json::Object(Map::new());
            }
        }
        _ => *obj = clean(patch),
    }
}

/// Merges map `p` into `o`; false when `p` deletes the map.
fn merge_maps(o: &mut Map<String, Json>, p: &Map<String, Json>, schema: Option<Node<'_>>) -> bool {
    match p.get(PATCH).and_then(Json::as_str) {
        Some("delete") => return false,
        Some("replace") => {
            if let Json::Object(m) = clean(&Json::Object(p.clone())) {
                *o = m;
            }
            return true;
        }
        _ => {}
    }
    for (k, pv) in p.iter().filter(|(k, _)| !k.starts_with('$')) {
        let field = schema.and_then(|s| s.property(k));
        if pv.is_null() {
            o.remove(k);
            continue;
        }
        let keep = match o.get_mut(k) {
            Some(ov) => merge_value(ov, pv, field),
            None => {
                if directive(pv) != Some("delete") {
                    o.insert(k.clone(), clean(pv));
                }
                true
            }
        };
        if !keep {
            o.remove(k);
        }
    }
    true
}

/// Merges `pv` into the field value `ov`; false when it is deleted.
fn merge_value(ov: &mut Json, pv: &Json, field: Option<Node<'_>>) -> bool {
    match (ov, pv) {
        (Json::Object(o), Json::Object(p)) => merge_maps(o, p, field.map(Node::resolved)),
        (Json::Array(o), Json::Array(p)) => {
            merge_lists(o, p, field);
            true
        }
        (ov, pv) => {
            *ov = clean(pv);
            true
        }
    }
}

fn merge_lists(o: &mut Vec<Json>, p: &[Json], field: Option<Node<'_>>) {
    let strategy = field.map_or(ListMerge::Replace, Node::list_merge);
    if p.iter().any(|e| directive(e) == Some("replace")) {
        *o = p
            .iter()
            .filter(|e| directive(e).is_none())
            .map(clean)
            .collect();
        return;
    }
    match strategy {
        ListMerge::Replace => *o = p.iter().map(clean).collect(),
        ListMerge::Union => {
            for e in p {
                if !o.contains(e) {
                    o.push(clean(e));
                }
            }
        }
        ListMerge::Keys(keys) => {
            let items = field.and_then(Node::items);
            for pe in p {
                merge_element(o, pe, &keys, items);
            }
        }
    }
}

/// Merges one patch element into the list by `keys`.
fn merge_element(o: &mut Vec<Json>, pe: &Json, keys: &[String], items: Option<Node<'_>>) {
    let Some(pm) = pe.as_object() else {
        if !o.contains(pe) {
            o.push(pe.clone());
        }
        return;
    };
    let same = |e: &Json| {
        keys.iter()
            .filter(|k| pm.contains_key(k.as_str()))
            .all(|k| e.get(k) == pm.get(k))
            && keys.iter().any(|k| pm.contains_key(k.as_str()))
    };
    let found = o.iter().position(same);
    match (found, directive(pe)) {
        (Some(i), Some("delete")) => {
            o.remove(i);
        }
        (None, Some("delete")) => {}
        (Some(i), _) => {
            if let Some(om) = o[i].as_object_mut()
                && !merge_maps(om, pm, items)
            {
                o.remove(i);
            }
        }
        (None, _) => o.push(clean(pe)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A miniature of the API server's apps/v1 document, with the
    /// extensions the real one carries on these fields.
    fn doc() -> Json {
        json!({"components": {"schemas": {
            "io.k8s.api.apps.v1.Deployment": {
                "x-kubernetes-group-version-kind": [{"group": "apps", "version": "v1", "kind": "Deployment"}],
                "properties": {"spec": {"allOf": [{"$ref": "#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec"}]}}},
            "io.k8s.api.apps.v1.DeploymentSpec": {"properties": {"template": {"allOf": [{"$ref": "#/components/schemas/PodTemplateSpec"}]}}},
            "PodTemplateSpec": {"properties": {"spec": {"allOf": [{"$ref": "#/components/schemas/PodSpec"}]}}},
            "PodSpec": {"properties": {
                "containers": {"type": "array", "items": {"allOf": [{"$ref": "#/components/schemas/Container"}]},
                               "x-kubernetes-patch-merge-key": "name", "x-kubernetes-patch-strategy": "merge"},
                "tolerations": {"type": "array", "items": {"type": "object"}}}},
            "Container": {"properties": {
                "ports": {"type": "array", "items": {"type": "object"},
                          "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["containerPort", "protocol"]},
                "args": {"type": "array", "items": {"type": "string"}}}}
        }}})
    }

    #[test]
    fn lists_merge_by_the_schema_keys() {
        let d = doc();
        let root = Node::root(&d, "apps", "v1", "Deployment").expect("root");
        let mut obj = json!({"spec": {"template": {"spec": {
            "containers": [{"name": "app", "image": "a", "args": ["x"], "ports": [{"containerPort": 80, "protocol": "TCP"}]}],
            "tolerations": [{"key": "a"}]}}}});
        let patch = json!({"spec": {"template": {"spec": {
            "containers": [
                {"name": "sidecar", "image": "s"},
                {"name": "app", "image": "b", "args": ["y"], "ports": [{"containerPort": 81, "protocol": "TCP"}]}],
            "tolerations": [{"key": "b"}]}}}});
        merge(&mut obj, &patch, Some(root));
        assert_eq!(
            obj,
            json!({"spec": {"template": {"spec": {
            "containers": [
                {"name": "app", "image": "b", "args": ["y"],
                 "ports": [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 81, "protocol": "TCP"}]},
                {"name": "sidecar", "image": "s"}],
            "tolerations": [{"key": "b"}]}}}})
        );
    }

    #[test]
    fn directives_and_nulls() {
        let d = doc();
        let root = Node::root(&d, "apps", "v1", "Deployment");
        let mut obj = json!({"metadata": {"labels": {"a": "1", "b": "2"}},
            "spec": {"template": {"spec": {"containers": [{"name": "app"}, {"name": "old"}]}}}});
        let patch = json!({"metadata": {"labels": {"a": null}},
            "spec": {"template": {"spec": {"containers": [{"name": "old", "$patch": "delete"}]}}}});
        merge(&mut obj, &patch, root);
        assert_eq!(
            obj,
            json!({"metadata": {"labels": {"b": "2"}},
            "spec": {"template": {"spec": {"containers": [{"name": "app"}]}}}})
        );
        // Without a schema, lists are replaced.
        let mut obj = json!({"spec": {"items": [{"name": "a"}]}});
        merge(&mut obj, &json!({"spec": {"items": [{"name": "b"}]}}), None);
        assert_eq!(obj, json!({"spec": {"items": [{"name": "b"}]}}));
        let mut obj = json!({"spec": {"x": {"a": 1}}});
        merge(
            &mut obj,
            &json!({"spec": {"x": {"$patch": "replace", "b": 2}}}),
            None,
        );
        assert_eq!(obj, json!({"spec": {"x": {"b": 2}}}));
    }
}
