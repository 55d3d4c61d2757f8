//! The fields of an object one field manager owns, pure: an object's
//! `metadata.managedFields` entries of a manager (its `fieldsV1` sets,
//! merged), and the object projected onto such a set — what `rudder diff`
//! compares. Also the masking of Secret data in what it prints.

use serde_json::{Map, Value as Json};

/// The union of the `fieldsV1` sets that `managers` hold on `obj` (apply
/// and update operations, not subresources); `{}` when they hold none.
pub fn owned_set(obj: &Json, managers: &[&str]) -> Json {
    let mut set = Json::Object(Map::new());
    let entries = obj
        .pointer("/metadata/managedFields")
        .and_then(Json::as_array)
        .into_iter()
        .flatten();
    for e in entries {
        let manager = e.get("manager").and_then(Json::as_str).unwrap_or_default();
        let sub = e
            .get("subresource")
            .and_then(Json::as_str)
            .unwrap_or_default();
        if managers.contains(&manager)
            && sub.is_empty()
            && let Some(f) = e.get("fieldsV1")
        {
            union(&mut set, f);
        }
    }
    set
}

/// Merges set `b` into set `a`.
pub fn union(a: &mut Json, b: &Json) {
    let (Some(a), Some(b)) = (a.as_object_mut(), b.as_object()) else {
        return;
    };
    for (k, v) in b {
        match a.get_mut(k) {
            Some(existing) => union(existing, v),
            None => {
                a.insert(k.clone(), v.clone());
            }
        }
    }
}

/// `value` reduced to the fields `set` names (a `fieldsV1` set: `f:name`
/// for a field, `k:{…}` for a list item by its keys, `v:…` for a set
/// item by value, `i:N` by index, `.` for the node itself). `None` when
/// nothing of `value` is in the set.
pub fn project(value: &Json, set: &Json) -> Option<Json> {
    let children: Vec<(&String, &Json)> = set
        .as_object()
        .map(|m| m.iter().filter(|(k, _)| k.as_str() != ".").collect())
        .unwrap_or_default();
    if children.is_empty() {
        return Some(value.clone());
    }
    match value {
        Json::Object(map) => {
            let mut out = Map::new();
            for (k, sub) in &children {
                let Some(field) = k.strip_prefix("f:") else {
                    continue;
                };
                if let Some(v) = map.get(field).and_then(|v| project(v, sub)) {
                    out.insert(field.to_string(), v);
                }
            }
            Some(Json::Object(out))
        }
        Json::Array(items) => {
            let out = items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| {
                    let sub = children.iter().find(|(k, _)| selects(k, i, item))?.1;
                    project(item, sub)
                })
                .collect();
            Some(Json::Array(out))
        }
        _ => Some(value.clone()),
    }
}

/// Whether list-item selector `key` names `item` at index `i`.
fn selects(key: &str, i: usize, item: &Json) -> bool {
    if let Some(keys) = key.strip_prefix("k:") {
        let Ok(Json::Object(keys)) = serde_json::from_str::<Json>(keys) else {
            return false;
        };
        return keys.iter().all(|(k, v)| item.get(k) == Some(v));
    }
    if let Some(v) = key.strip_prefix("v:") {
        return serde_json::from_str::<Json>(v).is_ok_and(|v| &v == item);
    }
    key.strip_prefix("i:")
        .and_then(|n| n.parse::<usize>().ok())
        .is_some_and(|n| n == i)
}

/// Replaces the values of a Secret's `data` and `stringData` in `before`
/// and `after` (either may be absent) by placeholders that say only
/// whether a key's value changed and its size.
pub fn mask_secret(before: Option<&mut Json>, after: Option<&mut Json>) {
    let mut old = before;
    let mut new = after;
    for field in ["data", "stringData"] {
        let a = old.as_deref().and_then(|o| o.get(field)).cloned();
        let b = new.as_deref().and_then(|o| o.get(field)).cloned();
        let encoded = field == "data";
        if let Some(o) = old.as_deref_mut().and_then(|o| o.get_mut(field)) {
            mask_map(o, b.as_ref(), "old", encoded);
        }
        if let Some(n) = new.as_deref_mut().and_then(|o| o.get_mut(field)) {
            mask_map(n, a.as_ref(), "new", encoded);
        }
    }
}

/// Masks each value of `map`: `*** (N bytes)` when `other` has the same
/// value, else `*** <side> (N bytes)`; N counts the decoded bytes of
/// base64 (`encoded`) values.
fn mask_map(map: &mut Json, other: Option<&Json>, side: &str, encoded: bool) {
    let Some(m) = map.as_object_mut() else {
        return;
    };
    for (k, v) in m.iter_mut() {
        let len = v.as_str().map_or(0, |s| byte_len(s, encoded));
        let same = other.and_then(|o| o.get(k)) == Some(&*v);
        *v = Json::String(if same {
            format!("*** ({len} bytes)")
        } else {
            format!("*** {side} ({len} bytes)")
        });
    }
}

/// How many bytes `s` holds: decoded when base64 (and decodable).
fn byte_len(s: &str, encoded: bool) -> usize {
    use base64::Engine;
    let decoded = encoded
        .then(|| base64::engine::general_purpose::STANDARD.decode(s).ok())
        .flatten();
    decoded.map_or(s.len(), |d| d.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment() -> Json {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {
                "name": "web", "generation": 3,
                "labels": {"app": "web", "team": "x"},
                "managedFields": [
                    {"manager": "helm", "operation": "Apply", "fieldsV1": {
                        "f:metadata": {"f:labels": {"f:app": {}}},
                        "f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {
                            "k:{\"name\":\"web\"}": {".": {}, "f:image": {}, "f:name": {}}
                        }}}}
                    }},
                    {"manager": "kubectl", "operation": "Update", "fieldsV1": {
                        "f:metadata": {"f:labels": {"f:team": {}}}
                    }},
                    {"manager": "helm", "operation": "Update", "subresource": "status",
                     "fieldsV1": {"f:status": {}}}
                ]
            },
            "spec": {
                "replicas": 2, "revisionHistoryLimit": 10,
                "template": {"spec": {"containers": [
                    {"name": "side", "image": "b"},
                    {"name": "web", "image": "a", "imagePullPolicy": "Always"}
                ]}}
            },
            "status": {"replicas": 2}
        })
    }

    #[test]
    fn projection_keeps_only_the_managers_fields() {
        let d = deployment();
        let set = owned_set(&d, &["helm"]);
        assert_eq!(
            project(&d, &set),
            Some(json!({
                "metadata": {"labels": {"app": "web"}},
                "spec": {"replicas": 2, "template": {"spec": {"containers": [
                    {"name": "web", "image": "a"}
                ]}}}
            }))
        );
    }

    #[test]
    fn sets_of_several_managers_are_merged() {
        let d = deployment();
        let set = owned_set(&d, &["helm", "kubectl"]);
        let p = project(&d, &set).expect("projection");
        assert_eq!(p["metadata"]["labels"], json!({"app": "web", "team": "x"}));
    }

    #[test]
    fn set_items_and_indexes_select_list_items() {
        let v = json!({"a": ["x", "y", "z"], "b": [1, 2]});
        let set = json!({"f:a": {"v:\"y\"": {}}, "f:b": {"i:1": {}}});
        assert_eq!(project(&v, &set), Some(json!({"a": ["y"], "b": [2]})));
    }

    #[test]
    fn secret_values_are_masked_saying_only_what_changed() {
        let mut before = json!({"data": {"a": "c2FtZQ==", "b": "b2xk"}});
        let mut after = json!({"data": {"a": "c2FtZQ==", "b": "bmV3ZXI="}});
        mask_secret(Some(&mut before), Some(&mut after));
        assert_eq!(
            before,
            json!({"data": {"a": "*** (4 bytes)", "b": "*** old (3 bytes)"}})
        );
        assert_eq!(
            after,
            json!({"data": {"a": "*** (4 bytes)", "b": "*** new (5 bytes)"}})
        );
    }
}
