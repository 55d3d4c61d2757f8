//! Manifests after rendering: splitting documents, reading heads, Helm v4's
//! install order by kind, hooks by weight, and `helm template`'s output format.
//!
//! Ports Helm's `releaseutil`: `SplitManifests` (the `(?:^|\s*\n)---\s*`
//! separator), `SortManifests` (files in path order, documents in file order,
//! `helm.sh/hook` annotations make hooks, unknown hook types are dropped) and
//! the stable `InstallOrder` kind sort (unknown kinds last, alphabetically).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

use crate::render::value::Value;

/// Helm v4's `releaseutil.InstallOrder`.
pub const INSTALL_ORDER: &[&str] = &[
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// Helm's hook annotation names.
pub const HOOK_ANNOTATION: &str = "helm.sh/hook";
pub const HOOK_WEIGHT_ANNOTATION: &str = "helm.sh/hook-weight";
pub const HOOK_DELETE_ANNOTATION: &str = "helm.sh/hook-delete-policy";

/// The head of a manifest (`releaseutil.SimpleHead`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Head {
    pub api_version: String,
    pub kind: String,
    /// `None` when the document has no `metadata`.
    pub name: Option<String>,
    pub annotations: BTreeMap<String, String>,
}

/// A non-hook manifest document.
#[derive(Clone, Debug)]
pub struct Manifest {
    /// The template path it came from (`chart/templates/x.yaml`).
    pub name: String,
    /// The document text, trimmed.
    pub content: String,
    pub head: Head,
}

/// A hook document.
#[derive(Clone, Debug)]
pub struct Hook {
    pub name: String,
    pub kind: String,
    pub path: String,
    pub manifest: String,
    /// Hook events, lower-cased (`pre-install`, `test`, …).
    pub events: Vec<String>,
    pub weight: i64,
    pub delete_policies: Vec<String>,
}

impl Hook {
    /// Whether this is a `helm test` hook.
    pub fn is_test(&self) -> bool {
        self.events.iter().any(|e| e == "test")
    }
}

/// A manifest that could not be read, worded as Helm words it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("YAML parse error on {path}: {message}")]
pub struct ManifestError {
    pub path: String,
    pub message: String,
}

static SEP: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:^|\s*\n)---\s*").expect("static regex"));

/// Helm's `SplitManifests`, in document order (empty documents dropped,
/// each trimmed).
pub fn split_manifests(big: &str) -> Vec<String> {
    let trimmed = big.trim_matches(go_space);
    SEP.split(trimmed)
        .filter(|d| !d.is_empty())
        .map(|d| d.trim_matches(go_space).to_string())
        .collect()
}

/// Go's `unicode.IsSpace` as `strings.TrimSpace` uses it.
pub fn go_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{0b}' | '\u{0c}' | '\r' | ' ' | '\u{85}' | '\u{a0}'
    ) || (c > '\u{ff}' && c.is_whitespace())
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Nil => "null",
        Value::Bool(_) => "bool",
        Value::Int(_) | Value::Int64(_) | Value::Float(_) => "number",
        Value::Str(_) | Value::Bytes(_) => "string",
        Value::List(_) => "array",
        Value::Map(..) | Value::Object(_) => "object",
    }
}

/// A scalar decoded into a Go string field (sigs.k8s.io/yaml converts
/// numbers and booleans to their text).
fn as_string(v: &Value) -> Option<String> {
    crate::chart::yamlio::scalar_as_string(v)
}

fn unmarshal_err(got: &Value, field: &str, ty: &str) -> String {
    format!(
        "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go struct field {field} of type {ty}",
        json_kind(got)
    )
}

/// Reads the head of one document (sigs.k8s.io/yaml into `SimpleHead`).
pub fn parse_head(doc: &str) -> Result<Head, String> {
    let v = crate::chart::yamlio::parse(doc)?;
    let m = match &v {
        Value::Nil => return Ok(Head::default()),
        Value::Map(_, m) => m.borrow(),
        other => {
            return Err(format!(
                "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type util.SimpleHead",
                json_kind(other)
            ));
        }
    };
    let mut head = Head::default();
    let mut first_err: Option<String> = None;
    let mut note = |e: String| {
        if first_err.is_none() {
            first_err = Some(e);
        }
    };
    match m.get("apiVersion") {
        None | Some(Value::Nil) => {}
        Some(o) => match as_string(o) {
            Some(s) => head.api_version = s,
            None => note(unmarshal_err(o, "SimpleHead.apiVersion", "string")),
        },
    }
    match m.get("kind") {
        None | Some(Value::Nil) => {}
        Some(o) => match as_string(o) {
            Some(s) => head.kind = s,
            None => note(unmarshal_err(o, "SimpleHead.kind", "string")),
        },
    }
    match m.get("metadata") {
        None | Some(Value::Nil) => {}
        Some(Value::Map(_, md)) => {
            let md = md.borrow();
            head.name = Some(String::new());
            match md.get("name") {
                None | Some(Value::Nil) => {}
                Some(o) => match as_string(o) {
                    Some(s) => head.name = Some(s),
                    None => note(unmarshal_err(o, "SimpleHead.metadata.name", "string")),
                },
            }
            match md.get("annotations") {
                None | Some(Value::Nil) => {}
                Some(Value::Map(_, a)) => {
                    for (k, v) in a.borrow().iter() {
                        match v {
                            Value::Nil => {
                                head.annotations.insert(k.clone(), String::new());
                            }
                            o => match as_string(o) {
                                Some(s) => {
                                    head.annotations.insert(k.clone(), s);
                                }
                                None => note(unmarshal_err(
                                    o,
                                    "SimpleHead.metadata.annotations",
                                    "string",
                                )),
                            },
                        }
                    }
                }
                Some(o) => note(unmarshal_err(
                    o,
                    "SimpleHead.metadata.annotations",
                    "map[string]string",
                )),
            }
        }
        Some(o) => note(unmarshal_err(
            o,
            "SimpleHead.metadata",
            "struct { Name string \"json:\\\"name\\\"\"; Annotations map[string]string \"json:\\\"annotations\\\"\" }",
        )),
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(head),
    }
}

fn hook_event(s: &str) -> Option<&'static str> {
    Some(match s {
        "pre-install" => "pre-install",
        "post-install" => "post-install",
        "pre-delete" => "pre-delete",
        "post-delete" => "post-delete",
        "pre-upgrade" => "pre-upgrade",
        "post-upgrade" => "post-upgrade",
        "pre-rollback" => "pre-rollback",
        "post-rollback" => "post-rollback",
        "test" | "test-success" => "test",
        _ => return None,
    })
}

/// Go's `strconv.Atoi` (0 on error, as Helm's hook weight does).
fn atoi(s: &str) -> i64 {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return 0;
    }
    s.parse::<i64>().unwrap_or(0)
}

/// Helm's `SortManifests` with `InstallOrder`: rendered files (path → text)
/// become hooks and manifests, both sorted by kind (stable).
pub fn sort_manifests(
    files: &BTreeMap<String, String>,
) -> Result<(Vec<Hook>, Vec<Manifest>), ManifestError> {
    let mut hooks = Vec::new();
    let mut generic = Vec::new();
    for (path, content) in files {
        let base = path.rsplit('/').next().unwrap_or(path);
        if base.starts_with('_') || content.trim_matches(go_space).is_empty() {
            continue;
        }
        for doc in split_manifests(content) {
            let head = parse_head(&doc).map_err(|message| ManifestError {
                path: path.clone(),
                message,
            })?;
            let Some(hook_types) = head.annotations.get(HOOK_ANNOTATION).cloned() else {
                generic.push(Manifest {
                    name: path.clone(),
                    content: doc,
                    head,
                });
                continue;
            };
            let mut events = Vec::new();
            let mut unknown = false;
            for t in hook_types.split(',') {
                match hook_event(&t.trim_matches(go_space).to_lowercase()) {
                    Some(e) => events.push(e.to_string()),
                    None => {
                        unknown = true;
                        break;
                    }
                }
            }
            if unknown {
                continue;
            }
            let weight = head
                .annotations
                .get(HOOK_WEIGHT_ANNOTATION)
                .map(|w| atoi(w))
                .unwrap_or(0);
            let delete_policies = head
                .annotations
                .get(HOOK_DELETE_ANNOTATION)
                .map(|d| {
                    d.split(',')
                        .map(|x| x.trim_matches(go_space).to_lowercase())
                        .collect()
                })
                .unwrap_or_default();
            hooks.push(Hook {
                name: head.name.clone().unwrap_or_default(),
                kind: head.kind.clone(),
                path: path.clone(),
                manifest: doc,
                events,
                weight,
                delete_policies,
            });
        }
    }
    hooks.sort_by(|a, b| kind_order(&a.kind, &b.kind));
    generic.sort_by(|a, b| kind_order(&a.head.kind, &b.head.kind));
    Ok((hooks, generic))
}

/// Helm's `lessByKind` as an ordering (Rust's sort is stable).
pub fn kind_order(a: &str, b: &str) -> std::cmp::Ordering {
    let pa = INSTALL_ORDER.iter().position(|k| *k == a);
    let pb = INSTALL_ORDER.iter().position(|k| *k == b);
    match (pa, pb) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

/// Appends one `---\n# Source: NAME\nTEXT\n` block, as Helm prints.
pub fn write_source(out: &mut String, name: &str, text: &str) {
    out.push_str("---\n# Source: ");
    out.push_str(name);
    out.push('\n');
    out.push_str(text);
    out.push('\n');
}

/// What `helm template` prints: CRDs (when asked), manifests, then hooks
/// (test hooks skipped when asked).
pub fn template_output(
    crds: &[(String, String)],
    manifests: &[Manifest],
    hooks: &[Hook],
    skip_tests: bool,
) -> String {
    let mut body = String::new();
    for (name, text) in crds {
        write_source(&mut body, name, text);
    }
    for m in manifests {
        write_source(&mut body, &m.name, &m.content);
    }
    let mut out = String::with_capacity(body.len() + 64);
    out.push_str(body.trim_matches(go_space));
    out.push('\n');
    for h in hooks {
        if skip_tests && h.is_test() {
            continue;
        }
        write_source(&mut out, &h.path, &h.manifest);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_helm() {
        // As Go's regexp: the `\s*` after one separator swallows the newline
        // a directly following `---` would need.
        let docs = split_manifests("\n---\na: 1\n  \n---\n\n---  \nb: 2\n---c: 3\n");
        assert_eq!(docs, vec!["a: 1", "---  \nb: 2", "c: 3"]);
    }

    #[test]
    fn kinds_sort_stably_unknown_last() {
        let mut kinds = vec!["Zed", "Deployment", "Alpha", "Namespace", "Deployment"];
        kinds.sort_by(|a, b| kind_order(a, b));
        assert_eq!(
            kinds,
            vec!["Namespace", "Deployment", "Deployment", "Alpha", "Zed"]
        );
    }

    #[test]
    fn weights_parse_like_atoi() {
        assert_eq!(atoi("-5"), -5);
        assert_eq!(atoi("+3"), 3);
        assert_eq!(atoi(" 3"), 0);
    }
}
