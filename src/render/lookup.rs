//! Helm's `lookup` as the render layer sees it: the [`Lookup`] a caller
//! hands the engine to read live objects (the operator reads the cluster;
//! `rudder template`, like `helm template`, hands none and every lookup is
//! an empty map), and the shaping of the API server's answer into what
//! Helm's templates receive (`UnstructuredContent()`: int64 integers, list
//! items with their kind and apiVersion filled in).

use serde_json::Value as Json;

use crate::godata::json::from_unstructured;
use crate::godata::value::{Map, Value};

/// Reads live objects for `lookup`. Implementations may block: renders run
/// on their own threads.
pub trait Lookup: Send + Sync {
    /// The object `name` of `kind` in `api_version` (in `namespace` when
    /// the kind is namespaced), or the list of them all when `name` is
    /// empty (across namespaces when `namespace` is empty too), as the API
    /// server's JSON; `Ok(None)` when it does not exist.
    fn lookup(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Option<Json>, LookupError>;
}

impl std::fmt::Debug for dyn Lookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Lookup")
    }
}

/// A failed lookup; its text is what the template error reports after
/// `error calling lookup: ` (Helm prints the API server's message).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct LookupError(pub String);

/// Runs one `lookup` call of a template: the object (or list) as Go's
/// `map[string]interface {}`, an empty map when it does not exist.
pub fn call(
    cluster: &dyn Lookup,
    api_version: &str,
    kind: &str,
    namespace: &str,
    name: &str,
) -> Result<Value, LookupError> {
    let Some(found) = cluster.lookup(api_version, kind, namespace, name)? else {
        return Ok(Value::empty_map());
    };
    Ok(if name.is_empty() {
        list_content(&found)
    } else {
        from_unstructured(&found)
    })
}

/// `UnstructuredList.UnstructuredContent()` of a list answer: the list's
/// fields, and `items` always a list whose members carry the item kind
/// (the list kind less `List`) and the list's apiVersion when the server
/// left both out, as client-go's decoding fills them in.
fn list_content(list: &Json) -> Value {
    let api_version = list.get("apiVersion").and_then(Json::as_str);
    let kind = list.get("kind").and_then(Json::as_str).unwrap_or_default();
    let item_kind = kind.strip_suffix("List").unwrap_or(kind);
    let items = list
        .get("items")
        .and_then(Json::as_array)
        .map(|items| {
            items
                .iter()
                .map(|i| list_item(i, item_kind, api_version.unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    let mut out: Map = match list.as_object() {
        Some(fields) => fields
            .iter()
            .filter(|(k, _)| k.as_str() != "items")
            .map(|(k, v)| (k.clone(), from_unstructured(v)))
            .collect(),
        None => Map::new(),
    };
    out.insert("items".into(), Value::list(items));
    Value::map(out)
}

/// One list item, its kind and apiVersion filled in when both are absent.
fn list_item(item: &Json, kind: &str, api_version: &str) -> Value {
    let value = from_unstructured(item);
    let unset = |k: &str| item.get(k).and_then(Json::as_str).is_none_or(str::is_empty);
    if let Some(m) = value.as_map()
        && unset("kind")
        && unset("apiVersion")
    {
        let mut m = m.borrow_mut();
        m.insert("kind".into(), Value::str(kind));
        m.insert("apiVersion".into(), Value::str(api_version));
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::gotmpl::TemplateSet;
    use serde_json::json;
    use std::collections::HashMap;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Objects keyed by (apiVersion, kind, namespace, name); one key may
    /// answer with an error instead.
    #[derive(Default)]
    struct Memory {
        objects: HashMap<(String, String, String, String), Json>,
        fail: Option<(String, LookupError)>,
        calls: AtomicUsize,
    }

    impl Memory {
        fn with(mut self, key: [&str; 4], obj: Json) -> Memory {
            let [a, k, ns, n] = key.map(String::from);
            self.objects.insert((a, k, ns, n), obj);
            self
        }
    }

    impl Lookup for Memory {
        fn lookup(
            &self,
            api_version: &str,
            kind: &str,
            namespace: &str,
            name: &str,
        ) -> Result<Option<Json>, LookupError> {
            self.calls.fetch_add(1, Ordering::Relaxed);
            if let Some((n, e)) = &self.fail
                && n == name
            {
                return Err(e.clone());
            }
            let key = [api_version, kind, namespace, name].map(String::from);
            let [a, k, ns, n] = key;
            Ok(self.objects.get(&(a, k, ns, n)).cloned())
        }
    }

    fn secret() -> Json {
        json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "db", "namespace": "ns", "generation": 3},
            "data": {"password": "c2VjcmV0"},
            "spec": {"ratio": 0.5, "whole": 2.0}
        })
    }

    fn run(text: &str, cluster: Option<Arc<dyn Lookup>>) -> Result<String, String> {
        let mut set = TemplateSet::new();
        set.set_lookup(cluster);
        set.parse("c/templates/x.yaml", text)
            .map_err(|e| e.to_string())?;
        set.execute("c/templates/x.yaml", &Value::empty_map())
            .map_err(|e| e.to_string())
    }

    fn memory() -> Arc<dyn Lookup> {
        Arc::new(Memory::default().with(["v1", "Secret", "ns", "db"], secret()))
    }

    #[test]
    fn a_found_object_is_its_map_with_go_number_types() {
        let out = run(
            r#"{{ $s := lookup "v1" "Secret" "ns" "db" }}{{ $s.data.password }} {{ kindOf $s }} {{ typeOf $s.metadata.generation }}={{ $s.metadata.generation }} {{ typeOf $s.spec.ratio }} {{ typeOf $s.spec.whole }}"#,
            Some(memory()),
        );
        assert_eq!(out.as_deref(), Ok("c2VjcmV0 map int64=3 float64 float64"));
    }

    #[test]
    fn a_missing_object_is_an_empty_map() {
        let text = r#"{{ $s := lookup "v1" "Secret" "ns" "other" }}{{ if $s }}found{{ else }}none {{ len $s }} {{ typeOf $s }}{{ end }}"#;
        assert_eq!(
            run(text, Some(memory())).as_deref(),
            Ok("none 0 map[string]interface {}")
        );
    }

    #[test]
    fn without_a_cluster_every_lookup_is_empty() {
        let text =
            r#"{{ $s := lookup "v1" "Secret" "ns" "db" }}{{ if $s }}found{{ else }}empty{{ end }}"#;
        assert_eq!(run(text, None).as_deref(), Ok("empty"));
    }

    #[test]
    fn a_list_fills_in_item_kinds_and_keeps_its_own_fields() {
        let list = json!({
            "apiVersion": "v1", "kind": "SecretList",
            "metadata": {"resourceVersion": "42"},
            "items": [
                {"metadata": {"name": "a"}},
                {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "b"}}
            ]
        });
        let cluster: Arc<dyn Lookup> =
            Arc::new(Memory::default().with(["v1", "Secret", "ns", ""], list));
        let text = r#"{{ $l := lookup "v1" "Secret" "ns" "" }}{{ $l.kind }} {{ $l.metadata.resourceVersion }}{{ range $l.items }} {{ .kind }}/{{ .apiVersion }}/{{ .metadata.name }}{{ end }}"#;
        assert_eq!(
            run(text, Some(cluster)).as_deref(),
            Ok("SecretList 42 Secret/v1/a Secret/v1/b")
        );
    }

    #[test]
    fn an_empty_list_still_has_items() {
        let list = json!({"apiVersion": "v1", "kind": "SecretList", "metadata": {}, "items": null});
        let value = list_content(&list);
        let items = value
            .as_map()
            .and_then(|m| m.borrow().get("items").cloned());
        assert!(
            matches!(&items, Some(Value::List(l)) if l.items.is_empty()),
            "{items:?}"
        );
    }

    #[test]
    fn a_failed_lookup_fails_the_render_as_helm_words_it() {
        let mut cluster = Memory::default().with(["v1", "Secret", "ns", "db"], secret());
        let why = r#"secrets "db" is forbidden: User "system:serviceaccount:ns:app" cannot get resource "secrets" in API group "" in the namespace "ns""#;
        cluster.fail = Some(("db".into(), LookupError(why.into())));
        let err = run(
            "a: 1\n{{ (lookup \"v1\" \"Secret\" \"ns\" \"db\").data }}",
            Some(Arc::new(cluster)),
        )
        .expect_err("forbidden");
        assert_eq!(
            err,
            format!(
                "template: c/templates/x.yaml:2:4: executing \"c/templates/x.yaml\" at <lookup \"v1\" \"Secret\" \"ns\" \"db\">: error calling lookup: {why}"
            )
        );
    }

    #[test]
    fn lookup_checks_its_arguments_as_go_does() {
        let err = run(r#"{{ lookup "v1" "Secret" "ns" }}"#, Some(memory())).expect_err("arity");
        assert!(err.contains("wrong number of args for lookup"), "{err}");
        let err = run(r#"{{ lookup "v1" "Secret" "ns" 1 }}"#, Some(memory())).expect_err("type");
        assert!(err.contains("expected string; found 1"), "{err}");
    }

    #[test]
    fn each_call_reads_the_cluster_and_gets_its_own_map() {
        let cluster = Arc::new(Memory::default().with(["v1", "Secret", "ns", "db"], secret()));
        let text = r#"{{ $a := lookup "v1" "Secret" "ns" "db" }}{{ $_ := set $a "extra" 1 }}{{ $b := lookup "v1" "Secret" "ns" "db" }}{{ hasKey $b "extra" }}"#;
        assert_eq!(run(text, Some(cluster.clone())).as_deref(), Ok("false"));
        assert_eq!(cluster.calls.load(Ordering::Relaxed), 2);
    }
}
