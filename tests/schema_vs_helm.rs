//! `values.schema.json` against the real helm: for each schema and values,
//! `rudder template` accepts exactly when `helm template` does, and when
//! both refuse, rudder's error is byte for byte helm's. Fails when helm is
//! missing (install it with ../shared/tools/install-helm).

mod fixture;

use std::path::Path;

use fixture::{helm, rudder, write};

/// Renders a one-ConfigMap chart with `schema` and `values` through both.
fn same_outcome_as_helm(name: &str, schema: &str, values: &str) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let c = tmp.path().join("c");
    write(
        &c,
        "Chart.yaml",
        "apiVersion: v2\nname: c\nversion: 0.1.0\n",
    );
    write(
        &c,
        "templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
    );
    write(&c, "values.schema.json", schema);
    write(&c, "values.yaml", values);
    let h = helm(&["template", "r", "c"], tmp.path());
    let r = rudder(&["template", "r", "c"], tmp.path());
    let text = |o: &std::process::Output| String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(
        r.status.success(),
        h.status.success(),
        "{name}: helm {} ({}), rudder {} ({})",
        h.status,
        text(&h),
        r.status,
        text(&r)
    );
    assert_eq!(text(&r), text(&h), "{name}: error text differs from helm's");
    if h.status.success() {
        assert_eq!(r.stdout, h.stdout, "{name}: output differs");
    }
    let _ = Path::new(&c);
}

const IF_THEN_ELSE: &str = r#"{"if":{"properties":{"a":{"const":1}}},"then":{"required":["b"]},"else":{"required":["c"]}}"#;

#[test]
fn if_then_else() {
    same_outcome_as_helm("then refuses", IF_THEN_ELSE, "a: 1\n");
    same_outcome_as_helm("else refuses", IF_THEN_ELSE, "a: 2\n");
    same_outcome_as_helm("then accepts", IF_THEN_ELSE, "a: 1\nb: x\n");
    same_outcome_as_helm("else accepts", IF_THEN_ELSE, "a: 2\nc: x\n");
}

#[test]
fn dependent_required() {
    let s = r#"{"dependentRequired":{"a":["b","c"]}}"#;
    same_outcome_as_helm("missing both", s, "a: 1\n");
    same_outcome_as_helm("missing one", s, "a: 1\nb: 2\n");
    same_outcome_as_helm("present", s, "a: 1\nb: 2\nc: 3\n");
    same_outcome_as_helm("trigger absent", s, "b: 2\n");
}

#[test]
fn property_counts() {
    same_outcome_as_helm("minProperties", r#"{"minProperties":2}"#, "a: 1\n");
    same_outcome_as_helm("maxProperties", r#"{"maxProperties":1}"#, "a: 1\nb: 2\n");
    same_outcome_as_helm(
        "within",
        r#"{"minProperties":1,"maxProperties":2}"#,
        "a: 1\n",
    );
    same_outcome_as_helm(
        "nested minProperties",
        r#"{"properties":{"o":{"minProperties":1}}}"#,
        "o: {}\n",
    );
}

#[test]
fn property_names() {
    let s = r#"{"propertyNames":{"pattern":"^[a-z]+$"}}"#;
    same_outcome_as_helm("bad name", s, "A1: 1\nb: 2\n");
    same_outcome_as_helm("good names", s, "a: 1\nb: 2\n");
    same_outcome_as_helm(
        "maxLength",
        r#"{"propertyNames":{"maxLength":2}}"#,
        "abc: 1\n",
    );
}

#[test]
fn contains() {
    let s = r#"{"properties":{"l":{"contains":{"const":5}}}}"#;
    same_outcome_as_helm("none", s, "l: [1, 2]\n");
    same_outcome_as_helm("one", s, "l: [1, 5]\n");
    same_outcome_as_helm(
        "minContains",
        r#"{"properties":{"l":{"contains":{"const":5},"minContains":2}}}"#,
        "l: [5, 2]\n",
    );
    same_outcome_as_helm(
        "maxContains",
        r#"{"properties":{"l":{"contains":{"const":5},"maxContains":1}}}"#,
        "l: [5, 5]\n",
    );
}

#[test]
fn tuples() {
    same_outcome_as_helm(
        "prefixItems",
        r#"{"properties":{"l":{"prefixItems":[{"type":"string"}]}}}"#,
        "l: [1]\n",
    );
    same_outcome_as_helm(
        "draft-07 items array",
        r#"{"$schema":"http://json-schema.org/draft-07/schema#","properties":{"l":{"items":[{"type":"string"}]}}}"#,
        "l: [1]\n",
    );
    same_outcome_as_helm(
        "prefixItems ok",
        r#"{"properties":{"l":{"prefixItems":[{"type":"string"}],"items":{"type":"integer"}}}}"#,
        "l: [a, 1, 2]\n",
    );
}

#[test]
fn unresolvable_ref() {
    same_outcome_as_helm(
        "missing $defs entry",
        r##"{"properties":{"a":{"$ref":"#/$defs/missing"}}}"##,
        "a: 1\n",
    );
}

#[test]
fn formats_are_annotations() {
    same_outcome_as_helm(
        "email",
        r#"{"properties":{"e":{"format":"email"}}}"#,
        "e: notanemail\n",
    );
}
