//! The comparison at the heart of drift detection, pure: an object as a
//! dry-run apply of the deployed revision would leave it against the live
//! object, both stripped of what the API server owns (resource version,
//! managed fields, generation, timestamps, status) and of the fields an
//! ignore rule leaves to others; the result names the differing fields as
//! JSON pointers. Also: which ignore rules select an object, and the
//! ignored fields of a corrective apply pinned to their live values.

use serde_json::{Map, Value as Json};

use crate::api::helmrelease::DriftIgnore;
use crate::apply::postrender::{Matcher, PostRenderError};
use crate::controller::postrender::target;

/// Metadata fields the API server sets; never drift.
const SERVER_METADATA: [&str; 6] = [
    "resourceVersion",
    "managedFields",
    "generation",
    "creationTimestamp",
    "uid",
    "selfLink",
];

/// How many differing paths a report names at most.
pub const MAX_PATHS: usize = 10;

/// The JSON pointers of the fields where `desired` (the dry-run result)
/// and `live` differ, minus the fields under `ignore`; empty: no drift.
pub fn differences(desired: &Json, live: &Json, ignore: &[String]) -> Vec<String> {
    let (mut a, mut b) = (normalized(desired), normalized(live));
    for p in ignore {
        remove(&mut a, p);
        remove(&mut b, p);
    }
    let mut out = Vec::new();
    diff(&a, &b, &mut String::new(), &mut out);
    out
}

/// `obj` without `status` and the server-owned metadata.
fn normalized(obj: &Json) -> Json {
    let mut obj = obj.clone();
    if let Some(map) = obj.as_object_mut() {
        map.remove("status");
        if let Some(meta) = map.get_mut("metadata").and_then(Json::as_object_mut) {
            for f in SERVER_METADATA {
                meta.remove(f);
            }
        }
    }
    obj
}

/// Appends to `out` the pointers under `path` where `a` and `b` differ.
fn diff(a: &Json, b: &Json, path: &mut String, out: &mut Vec<String>) {
    match (a, b) {
        (Json::Object(x), Json::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                descend(path, &escape(k), out, |path, out| {
                    match (x.get(k), y.get(k)) {
                        (Some(u), Some(v)) => diff(u, v, path, out),
                        _ => out.push(path.clone()),
                    }
                });
            }
        }
        (Json::Array(x), Json::Array(y)) if x.len() == y.len() => {
            for (i, (u, v)) in x.iter().zip(y).enumerate() {
                descend(path, &i.to_string(), out, |path, out| diff(u, v, path, out));
            }
        }
        _ if a == b => {}
        _ => out.push(path.clone()),
    }
}

/// Runs `f` with `token` appended to `path`, then restores `path`.
fn descend(
    path: &mut String,
    token: &str,
    out: &mut Vec<String>,
    f: impl FnOnce(&mut String, &mut Vec<String>),
) {
    let len = path.len();
    path.push('/');
    path.push_str(token);
    f(path, out);
    path.truncate(len);
}

/// A key as a JSON pointer token (`~` → `~0`, `/` → `~1`).
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// The tokens of a JSON pointer (empty for `""` and `/`-less text).
fn tokens(pointer: &str) -> Vec<String> {
    pointer
        .strip_prefix('/')
        .map(|p| {
            p.split('/')
                .map(|t| t.replace("~1", "/").replace("~0", "~"))
                .collect()
        })
        .unwrap_or_default()
}

/// Removes the value at `pointer`, if any.
pub fn remove(v: &mut Json, pointer: &str) {
    let tokens = tokens(pointer);
    let Some((last, parents)) = tokens.split_last() else {
        return;
    };
    let mut cur = v;
    for t in parents {
        let next = match cur {
            Json::Object(m) => m.get_mut(t),
            Json::Array(a) => t.parse::<usize>().ok().and_then(|i| a.get_mut(i)),
            _ => None,
        };
        match next {
            Some(n) => cur = n,
            None => return,
        }
    }
    match cur {
        Json::Object(m) => {
            m.remove(last);
        }
        Json::Array(a) => {
            if let Some(i) = last.parse::<usize>().ok().filter(|i| *i < a.len()) {
                a.remove(i);
            }
        }
        _ => {}
    }
}

/// Sets `value` at `pointer`, creating missing objects on the way; gives
/// up (leaving `v` as it was) where the path crosses a scalar or a missing
/// array element.
fn set(v: &mut Json, pointer: &str, value: Json) {
    let tokens = tokens(pointer);
    let Some((last, parents)) = tokens.split_last() else {
        return;
    };
    let mut cur = v;
    for t in parents {
        let next = match cur {
            Json::Object(m) => Some(
                m.entry(t.clone())
                    .or_insert_with(|| Json::Object(Map::new())),
            ),
            Json::Array(a) => t.parse::<usize>().ok().and_then(|i| a.get_mut(i)),
            _ => None,
        };
        match next {
            Some(n) => cur = n,
            None => return,
        }
    }
    match cur {
        Json::Object(m) => {
            m.insert(last.clone(), value);
        }
        Json::Array(a) => {
            if let Some(slot) = last.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                *slot = value;
            }
        }
        _ => {}
    }
}

/// The body of an apply with every ignored field as it is live (absent
/// when absent live), so neither the dry-run nor a correction changes it.
pub fn pin_ignored(body: &mut Json, live: Option<&Json>, ignore: &[String]) {
    for p in ignore {
        match live.and_then(|l| l.pointer(p)) {
            Some(value) => set(body, p, value.clone()),
            None => remove(body, p),
        }
    }
}

/// The pointers of the rules whose target selects `obj` (the rendered
/// object; its namespace defaulted to `default_ns`); a rule without target
/// selects every object. A target's bad selector is an error.
pub fn ignored_paths(
    rules: &[DriftIgnore],
    obj: &Json,
    default_ns: &str,
) -> Result<Vec<String>, PostRenderError> {
    let mut paths = Vec::new();
    for r in rules {
        let selected = match &r.target {
            None => true,
            Some(t) => Matcher::new(&target(t))?.matches(obj, default_ns),
        };
        if selected {
            paths.extend(r.paths.iter().cloned());
        }
    }
    Ok(paths)
}

/// `paths` for a message: at most [`MAX_PATHS`], then how many more.
pub fn describe_paths(paths: &[String]) -> String {
    let mut text = paths
        .iter()
        .take(MAX_PATHS)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if paths.len() > MAX_PATHS {
        text.push_str(&format!(" and {} more", paths.len() - MAX_PATHS));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::selector::ObjectSelector;
    use serde_json::json;

    fn deployment(image: &str, replicas: i64) -> Json {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "apps", "resourceVersion": "7",
                "generation": 3, "creationTimestamp": "2026-01-01T00:00:00Z",
                "managedFields": [{"manager": "rudder"}],
                "labels": {"app.kubernetes.io/managed-by": "Helm"}},
            "spec": {"replicas": replicas, "template": {"spec": {"containers": [
                {"name": "web", "image": image}]}}},
            "status": {"replicas": 1}
        })
    }

    #[test]
    fn server_owned_fields_are_not_drift() {
        let live = deployment("nginx", 1);
        let mut dry = live.clone();
        dry["metadata"]["resourceVersion"] = json!("8");
        dry["metadata"]["generation"] = json!(4);
        dry["metadata"]["managedFields"] = json!([]);
        dry["status"] = json!({"replicas": 3});
        assert!(differences(&dry, &live, &[]).is_empty());
    }

    #[test]
    fn differing_fields_are_named_as_pointers() {
        let mut live = deployment("evil", 1);
        live["metadata"]["labels"]
            .as_object_mut()
            .map(|l| l.remove("app.kubernetes.io/managed-by"));
        let dry = deployment("nginx", 1);
        assert_eq!(
            differences(&dry, &live, &[]),
            vec![
                "/metadata/labels/app.kubernetes.io~1managed-by",
                "/spec/template/spec/containers/0/image"
            ]
        );
    }

    #[test]
    fn list_length_changes_name_the_list() {
        let dry = json!({"data": {"l": [1, 2]}});
        let live = json!({"data": {"l": [1]}});
        assert_eq!(differences(&dry, &live, &[]), vec!["/data/l"]);
    }

    #[test]
    fn ignored_fields_are_removed_from_both_sides() {
        let dry = deployment("nginx", 1);
        let live = deployment("nginx", 5);
        assert_eq!(differences(&dry, &live, &[]), vec!["/spec/replicas"]);
        assert!(differences(&dry, &live, &["/spec/replicas".into()]).is_empty());
        // A pointer into a list element.
        let live = deployment("other", 1);
        let p = "/spec/template/spec/containers/0/image".to_string();
        assert!(differences(&dry, &live, &[p]).is_empty());
    }

    #[test]
    fn ignored_fields_keep_their_live_values_in_a_correction() {
        let mut body = json!({"spec": {"replicas": 1, "x": 1}});
        let live = json!({"spec": {"replicas": 4}, "data": {"a~b": "v"}});
        pin_ignored(
            &mut body,
            Some(&live),
            &[
                "/spec/replicas".into(),
                "/spec/x".into(),
                "/data/a~0b".into(),
            ],
        );
        assert_eq!(body, json!({"spec": {"replicas": 4}, "data": {"a~b": "v"}}));
        // Deleted object: the ignored field is left out of the re-creation.
        let mut body = json!({"spec": {"replicas": 1}});
        pin_ignored(&mut body, None, &["/spec/replicas".into()]);
        assert_eq!(body, json!({"spec": {}}));
    }

    #[test]
    fn rules_select_objects_by_their_target() {
        let rules = vec![
            DriftIgnore {
                paths: vec!["/a".into()],
                target: None,
            },
            DriftIgnore {
                paths: vec!["/b".into()],
                target: Some(ObjectSelector {
                    kind: Some("Deployment".into()),
                    namespace: Some("apps".into()),
                    label_selector: Some("tier in (web,api)".into()),
                    ..Default::default()
                }),
            },
        ];
        let obj = |kind: &str, ns: &str, tier: &str| {
            json!({"apiVersion": "apps/v1", "kind": kind,
                "metadata": {"name": "web", "namespace": ns, "labels": {"tier": tier}}})
        };
        let paths = |o: Json| ignored_paths(&rules, &o, "default").expect("valid rules");
        assert_eq!(paths(obj("Deployment", "apps", "web")), vec!["/a", "/b"]);
        assert_eq!(paths(obj("Service", "apps", "web")), vec!["/a"]);
        assert_eq!(paths(obj("Deployment", "other", "web")), vec!["/a"]);
        assert_eq!(paths(obj("Deployment", "apps", "db")), vec!["/a"]);
    }

    #[test]
    fn a_bad_selector_is_an_error() {
        let rules = vec![DriftIgnore {
            paths: vec!["/a".into()],
            target: Some(ObjectSelector {
                label_selector: Some("tier in (web".into()),
                ..Default::default()
            }),
        }];
        let obj = json!({"kind": "Service", "metadata": {"name": "web"}});
        assert!(ignored_paths(&rules, &obj, "apps").is_err());
    }

    #[test]
    fn long_path_lists_are_cut() {
        let paths: Vec<String> = (0..12).map(|i| format!("/p{i}")).collect();
        let text = describe_paths(&paths);
        assert!(text.ends_with("/p9 and 2 more"), "{text}");
    }
}
