//! Which rendered objects a patch applies to: a target's group, version,
//! kind, name and namespace, and label / annotation selectors in
//! Kubernetes' selector syntax (`a=b`, `a==b`, `a!=b`, `a`, `!a`,
//! `a in (x,y)`, `a notin (x,y)`).

use serde_json::Value as Json;

use super::{PostRenderError, Target};

/// One requirement of a selector.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    Absent(String),
}

/// Splits `text` at commas outside parentheses.
fn terms(text: &str) -> Vec<&str> {
    let (mut out, mut depth, mut start) = (Vec::new(), 0i32, 0);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(text[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(text[start..].trim());
    out.into_iter().filter(|t| !t.is_empty()).collect()
}

fn set_of(text: &str) -> Option<Vec<String>> {
    let inner = text.trim().strip_prefix('(')?.strip_suffix(')')?;
    Some(inner.split(',').map(|s| s.trim().to_string()).collect())
}

fn requirement(term: &str) -> Option<Requirement> {
    if let Some(key) = term.strip_prefix('!') {
        return Some(Requirement::Absent(key.trim().to_string()));
    }
    for (op, make) in [
        (
            " notin ",
            Requirement::NotIn as fn(String, Vec<String>) -> Requirement,
        ),
        (" in ", Requirement::In),
    ] {
        if let Some((k, set)) = term.split_once(op) {
            return Some(make(k.trim().to_string(), set_of(set)?));
        }
    }
    let pair = |k: &str, v: &str| (k.trim().to_string(), v.trim().to_string());
    if let Some((k, v)) = term.split_once("!=") {
        let (k, v) = pair(k, v);
        return Some(Requirement::NotEquals(k, v));
    }
    if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
        let (k, v) = pair(k, v);
        return Some(Requirement::Equals(k, v));
    }
    let key = term.trim();
    (!key.is_empty() && !key.contains(' ')).then(|| Requirement::Exists(key.to_string()))
}

/// A parsed selector; an empty one matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selector(Vec<Requirement>);

impl Selector {
    /// Parses `text`; `what` names the field in the error.
    pub fn parse(text: &str, what: &str) -> Result<Selector, PostRenderError> {
        terms(text)
            .into_iter()
            .map(|t| {
                requirement(t).ok_or_else(|| PostRenderError::Selector {
                    field: what.to_string(),
                    selector: text.to_string(),
                })
            })
            .collect::<Result<_, _>>()
            .map(Selector)
    }

    /// Whether a label (or annotation) map matches.
    pub fn matches(&self, map: Option<&serde_json::Map<String, Json>>) -> bool {
        let get = |k: &str| map.and_then(|m| m.get(k)).and_then(Json::as_str);
        self.0.iter().all(|r| match r {
            Requirement::Equals(k, v) => get(k) == Some(v.as_str()),
            Requirement::NotEquals(k, v) => get(k) != Some(v.as_str()),
            Requirement::In(k, set) => get(k).is_some_and(|x| set.iter().any(|s| s == x)),
            Requirement::NotIn(k, set) => get(k).is_none_or(|x| set.iter().all(|s| s != x)),
            Requirement::Exists(k) => get(k).is_some(),
            Requirement::Absent(k) => get(k).is_none(),
        })
    }
}

/// A target with its selectors parsed.
pub struct Matcher<'a> {
    target: &'a Target,
    labels: Selector,
    annotations: Selector,
}

impl<'a> Matcher<'a> {
    /// Parses the selectors of `target`.
    pub fn new(target: &'a Target) -> Result<Matcher<'a>, PostRenderError> {
        let parse = |s: &Option<String>, what| match s {
            Some(s) => Selector::parse(s, what),
            None => Ok(Selector::default()),
        };
        Ok(Matcher {
            target,
            labels: parse(&target.label_selector, "labelSelector")?,
            annotations: parse(&target.annotation_selector, "annotationSelector")?,
        })
    }

    /// Whether `obj` (its namespace defaulted to `default_ns`) is selected.
    pub fn matches(&self, obj: &Json, default_ns: &str) -> bool {
        let t = self.target;
        let api_version = str_at(obj, &["apiVersion"]).unwrap_or_default();
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let namespace = str_at(obj, &["metadata", "namespace"]).unwrap_or(default_ns);
        let eq = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        let meta = |key: &str| {
            obj.get("metadata")
                .and_then(|m| m.get(key))
                .and_then(Json::as_object)
        };
        eq(&t.group, group)
            && eq(&t.version, version)
            && eq(&t.kind, str_at(obj, &["kind"]).unwrap_or_default())
            && eq(
                &t.name,
                str_at(obj, &["metadata", "name"]).unwrap_or_default(),
            )
            && eq(&t.namespace, namespace)
            && self.labels.matches(meta("labels"))
            && self.annotations.matches(meta("annotations"))
    }
}

/// The string at `path` in `obj`.
pub fn str_at<'a>(obj: &'a Json, path: &[&str]) -> Option<&'a str> {
    let mut cur = obj;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selectors_follow_kubernetes_syntax() {
        let labels = json!({"app": "web", "tier": "front"});
        let m = labels.as_object();
        for (sel, want) in [
            ("app=web", true),
            ("app==web,tier=front", true),
            ("app!=web", false),
            ("app in (db, web)", true),
            ("tier notin (front)", false),
            ("missing", false),
            ("!missing", true),
            ("", true),
        ] {
            let s = Selector::parse(sel, "labelSelector").expect(sel);
            assert_eq!(s.matches(m), want, "{sel}");
        }
        assert!(Selector::parse("a in b", "labelSelector").is_err());
    }

    #[test]
    fn targets_match_kind_name_and_namespace() {
        let obj = json!({"apiVersion": "apps/v1", "kind": "Deployment",
                         "metadata": {"name": "web", "labels": {"app": "web"}}});
        let t = |v: serde_json::Value| -> Target { serde_json::from_value(v).expect("target") };
        let yes = t(
            json!({"group": "apps", "kind": "Deployment", "namespace": "ns", "labelSelector": "app=web"}),
        );
        assert!(Matcher::new(&yes).expect("m").matches(&obj, "ns"));
        let core = t(json!({"group": "", "kind": "Deployment"}));
        assert!(!Matcher::new(&core).expect("m").matches(&obj, "ns"));
        let other = t(json!({"name": "db"}));
        assert!(!Matcher::new(&other).expect("m").matches(&obj, "ns"));
    }
}
