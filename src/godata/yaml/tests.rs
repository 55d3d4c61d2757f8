//! Unit tests. Expected outputs are produced live by the real `helm` binary
//! (a scratch chart rendering `{{ toYaml .Values }}` etc., base64-wrapped so
//! helm's manifest parsing does not interfere); a test fails when helm
//! is missing or cannot run (install it with ../shared/tools/install-helm).

use super::*;
use crate::godata::json;
use std::path::PathBuf;
use std::process::Command;

/// Renders `template` with `values` in a scratch chart through `helm
/// template`; returns the template's output (without the `# Source` header)
/// or helm's error text. Panics when helm is missing or cannot run: the
/// oracle is required.
pub(crate) fn helm_render(values: &str, template: &str) -> Result<String, String> {
    let helm = find_helm().expect("helm is required (../shared/tools/install-helm)");
    let dir = tempdir();
    std::fs::create_dir_all(dir.join("templates")).expect("scratch chart");
    std::fs::write(
        dir.join("Chart.yaml"),
        "apiVersion: v2\nname: c\nversion: 0.1.0\n",
    )
    .expect("Chart.yaml");
    std::fs::write(dir.join("values.yaml"), values).expect("values.yaml");
    std::fs::write(
        dir.join("templates/_body.tpl"),
        format!("{{{{ define \"body\" }}}}{template}{{{{ end }}}}"),
    )
    .expect("_body.tpl");
    std::fs::write(
        dir.join("templates/a.yaml"),
        "b64: {{ include \"body\" . | b64enc }}\n",
    )
    .expect("a.yaml");
    let out = Command::new(helm)
        .arg("template")
        .arg("x")
        .arg(&dir)
        .output()
        .expect("running helm template");
    let _ = std::fs::remove_dir_all(&dir);
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let b64 = text
        .lines()
        .find_map(|l| l.strip_prefix("b64: "))
        .unwrap_or("");
    let bytes = super::load::base64_decode(b64.trim_matches('"')).expect("helm output is base64");
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn find_helm() -> Option<PathBuf> {
    let mut candidates = vec![PathBuf::from("helm")];
    if let Ok(home) = std::env::var("HOME") {
        candidates.push(PathBuf::from(home).join(".local/bin/helm"));
    }
    candidates.into_iter().find(|c| {
        Command::new(c)
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

fn tempdir() -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::SeqCst);
    std::env::temp_dir().join(format!("rudder-yaml-test-{}-{n}", std::process::id()))
}

/// `{{ toYaml .Values }}` through rudder: values parsed, marshalled, trimmed.
fn rudder_to_yaml(values: &str) -> String {
    let v = parse_values(values).expect("values parse");
    let y = to_yaml(&v).expect("marshal");
    y.strip_suffix('\n').unwrap_or(&y).to_string()
}

/// `{{ .Values | toJson }}` through rudder.
fn rudder_to_json(values: &str) -> String {
    let v = parse_values(values).expect("values parse");
    json::to_json(&v).expect("marshal")
}

fn check_to_yaml(values: &str) {
    let expected = helm_render(values, "{{ toYaml .Values }}");
    let expected = expected.expect("helm renders");
    assert_eq!(rudder_to_yaml(values), expected, "values:\n{values}");
}

fn check_to_yaml_pretty(values: &str) {
    let expected = helm_render(values, "{{ toYamlPretty .Values }}");
    let expected = expected.expect("helm renders");
    let v = parse_values(values).expect("values parse");
    let got = to_yaml_pretty(&v);
    assert_eq!(
        got.strip_suffix('\n').unwrap_or(&got),
        expected,
        "values:\n{values}"
    );
}

fn check_to_json(values: &str) {
    let expected = helm_render(values, "{{ .Values | toJson }}");
    let expected = expected.expect("helm renders");
    assert_eq!(rudder_to_json(values), expected, "values:\n{values}");
}

const TRICKY_SCALARS: &str = r##"
b1: yes
b2: No
b3: on
b4: OFF
b5: y
b6: n
b7: "yes"
b8: 'on'
s1: "0123"
s2: "1e3"
s3: "0x1F"
s4: "1_000"
s5: "true"
s6: "null"
s7: "~"
s8: ""
s9: " lead"
s10: "trail "
s11: "a: b"
s12: "a #b"
s13: "#c"
s14: "- x"
s15: "12:30"
s16: "2001-12-14"
s17: "@at"
s18: "'q'"
s19: "\"dq\""
s20: "tab\there"
s21: "é ü 日本"
s22: "emoji 😀"
s23: "back\\slash"
s24: "---"
s25: "?"
s26: "a,b"
s27: "[x]"
s28: "{y}"
s29: "*star"
s30: "&amp"
s31: "!bang"
s32: "%pct"
s33: "|pipe"
s34: ">gt"
s35: "a:b"
s36: ":"
s37: ".5"
s38: ".inf"
s39: "+1"
s40: "1.0"
n1: 0123
n2: 1e3
n3: 0x1F
n4: 1_000
n5: 12345678901234567890
n6: 1.5
n7: -0
n8: 1e21
n9: 1e-7
n10: 0.000001
n11: 123456789
n12: 3.0
n13: -2.5e-3
n14: 0o17
n15: 0b101
n16: 1e20
n17: 9007199254740993
nul1: null
nul2: ~
nul3:
"quoted key": 1
"key: colon": 2
"#hash": 3
"": 4
"10": ten
"9": nine
a10: x
a9: y
A: upper
_u: under
"01": zero-one
"1": one
"#": hash
"-": dash
"#nested":
  list:
  - a
  - b: c
    d: [1, 2]
  - []
  - {}
  - - inner
    - list
"##;

#[test]
fn to_yaml_tricky_scalars_match_helm() {
    check_to_yaml(TRICKY_SCALARS);
}

#[test]
fn to_json_tricky_scalars_match_helm() {
    check_to_json(TRICKY_SCALARS);
}

#[test]
fn to_yaml_multiline_and_long_strings_match_helm() {
    check_to_yaml(
        r#"
ml1: "line1\nline2"
ml2: "line1\nline2\n"
ml3: "line1\nline2\n\n"
ml4: " lead\nline2"
ml5: "trail \nline2"
ml6: "line1\n line2"
ml7: "\n"
ml8: "a\n\nb"
ml9: "x\r\ny"
long1: "aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp qqqq rrrr ssss tttt uuuu vvvv"
long2: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa bbbb"
long3: " aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp qqqq rrrr ssss tttt"
long4: "tab\t aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp qqqq rrrr ssss tttt"
long5: "aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp qqqq  rrrr  ssss  tttt"
nested:
  deeper:
    list:
    - "aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp qqqq rrrr ssss tttt"
    - "multi\nline"
    - k: "multi\nline\n"
"key\nwith newline": v
"#,
    );
}

#[test]
fn values_parsing_features_match_helm() {
    check_to_yaml(
        r#"
base: &base
  a: 1
  b: two
derived:
  <<: *base
  b: three
seqmerge:
  <<: [*base, {c: 3}]
alias: *base
list: &l [1, 2]
again: *l
tagged: !!str 123
tagged2: !!float 1
bin: !!binary aGVsbG8=
custom: !foo bar
1: int key
1.5: float key
true: bool key
dup: first
dup: second
block: |
  keep
    indent
folded: >
  folded
  text
"#,
    );
}

#[test]
fn multi_document_values_merge_like_helm() {
    check_to_yaml("a:\n  x: 1\n  y: 2\n---\na:\n  y: 3\nb: 4\n---\n# only a comment\n");
}

#[test]
fn from_yaml_errors_match_helm() {
    for (name, doc) in [
        ("bad-mapping", "a: b: c"),
        ("bad-indent", "a:\n  b: 1\n c: 2"),
        ("list", "- a\n- b"),
        ("scalar", "hello"),
        ("unknown-alias", "a: *nope"),
        ("tab", "a:\n\tb: 1"),
        ("unclosed", "a: [1, 2"),
        ("quote", "a: \"x"),
    ] {
        let tpl = format!("{{{{ fromYaml {:?} | toJson }}}}", doc);
        let expected = helm_render("", &tpl);
        let expected = expected.expect("helm renders");
        let got = match parse_map(doc) {
            Ok(v) => json::to_json(&v).unwrap_or_default(),
            Err(e) => {
                let m = Map::from([("Error".to_string(), Value::str(e.to_string()))]);
                json::to_json(&Value::map(m)).unwrap_or_default()
            }
        };
        assert_eq!(got, expected, "case {name}");
    }
}

/// Renders `{{ fromYaml DOC | FILTER }}` for every doc in one helm run and
/// compares each result with rudder's.
fn check_from_yaml_batch(docs: &[&str], filter: &str, rudder: impl Fn(&str) -> String) {
    const SEP: &str = "\n<<<<case>>>>\n";
    let template: String = docs
        .iter()
        .map(|d| {
            format!(
                "{{{{ fromYaml {} | {filter} }}}}{SEP}",
                crate::godata::gofmt::quote(d)
            )
        })
        .collect();
    let expected = helm_render("", &template);
    let expected = expected.expect("helm renders");
    let expected: Vec<&str> = expected.split(SEP).collect();
    let mut failures = Vec::new();
    for (i, doc) in docs.iter().enumerate() {
        let got = rudder(doc);
        if got != expected[i] {
            failures.push(format!(
                "document {i} {doc:?}\n  rudder: {got:?}\n  helm:   {:?}",
                expected[i]
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Helm's `fromYaml` result as rudder computes it (errors under "Error").
fn rudder_from_yaml(doc: &str) -> Value {
    match parse_map(doc) {
        Ok(v) => v,
        Err(e) => Value::map(Map::from([(
            "Error".to_string(),
            Value::str(e.to_string()),
        )])),
    }
}

const PARSER_DOCS: &[&str] = &[
    "a: [1, 2, {b: c}]\nd: {e: f, g: [h]}",
    "a: |2\n    indented\n  less\nb: >-\n  folded\n  more\n\n  para\nc: |+\n  keep\n\nd: end",
    "# comment\na: 1 # trailing\n# another\nb: 'it''s'\nc: \"esc \\x41 \\u263A \\t \\\\ \\\" \\N \\_ \\L \\P \\e \\0\"",
    "? complex key\n: value\n? [a, b]\n: list key",
    "a: multi\n  line\n  plain\nb: \"double\n  quoted\n\n  lines\"\nc: 'single\n  quoted'",
    "%YAML 1.1\n---\na: 1\n...\n",
    "---\na: 1\n---\nb: 2\n",
    "a: 1\r\nb: 2\r\n",
    "\u{feff}a: bom",
    "",
    "# only comment",
    "~",
    "null",
    "[]",
    "{}",
    "a: &x 1\nb: *x\nc: &y {d: 1}\ne: *y",
    "a:\n- b\n-   c: 1\n    d: 2\n- - nested\n  - list",
    "a: !!int \"12\"\nb: !!bool \"yes\"\nc: !!null ''\nd: !!float '2'",
    "a: !!int abc",
    "a: !!binary aGVsbG8gd29ybGQ=",
    "a: !custom {b: 1}\nc: !custom [1]",
    "null: a",
    "~: a",
    "0x10: hex\n010: oct\n1e2: exp\n.5: half\n-1: neg\n2001-01-01: date",
    "yes: a\nno: b\non: c\nOff: d",
    "a: 1\na: 2",
    "a:\n  b: 1\n  b: 2",
    "<<: {a: 1}\nb: 2",
    "a: {<<: [{x: 1}, {x: 2, y: 2}], z: 3}",
    "a: &a {x: 1}\nb:\n  x: 0\n  <<: *a",
    "a: {<<: 1}",
    "a: .nan",
    "a: .inf",
    "a: [.inf]",
    "a: 1e400",
    "a: 12345678901234567890123",
    "a: -9223372036854775808\nb: 9223372036854775807\nc: 18446744073709551615",
    "a: 0b1010\nb: -0b11\nc: 0o17\nd: 0O17\ne: +0x1F\nf: 1_2_3\ng: 0_7\nh: 09\ni: 1__0",
    "a: 1.\nb: -.5\nc: +1e+3\nd: 1E3\ne: 1.5e-3\nf: 6.02e23",
    "a: 2001-12-14t21:59:43.10-05:00\nb: 2001-12-14 21:59:43.10\nc: 2002-12-14\nd: 2001-13-01",
    "a: b: c",
    "a:\n  - b\n  c: d",
    "a: 'unterminated",
    "a: [1, 2",
    "a: {b: 1",
    "- a\n- b",
    "just a string",
    "a: *unknown",
    "a:\n\tb: 1",
    "a: b\n  c: d",
    "key: value\n- item",
    "a: @reserved",
    "a: `tick",
    "&a [*a]",
    "a: |\n  text\n bad",
    "{a: 1, a: 2}",
    "a: \"\\q\"",
    "? a\n? b\n: c",
    "a:\n  b:\n    c:\n      d: deep",
    "- - - x",
    "a: -\nb: - c",
    "a: 'multi''quote'''",
    "a: \"  spaces  \"\nb: '  x  '",
    "a: 123abc\nb: 1.2.3\nc: 1:2:3\nd: 1:20",
    "a: true\nb: True\nc: TRUE\nd: tRUE",
    "a: y\nb: Y\nc: n\nd: N",
    "1: one\n2: two\n10: ten",
    "1.5: x\n1.0: y\n0.1: z\n100000000.0: w",
    "true: t\nfalse: f",
    "a: [a, b]: c",
    "a: {b: [c, {d: e}], f: g}",
    "--- |\n  literal doc",
    "--- >\n  folded doc",
    "a: |-\n\n  leading blank\n",
    "a: >\n  line one\n    indented\n  line two\n",
    "text: \"emoji \\U0001F600\"",
    "a: 'x'\n#c\nb: \"y\"",
    "a: \"x\u{7f}y\"",
    "a: \"x\u{85}y\"",
    "a: \"x\u{9f}y\"",
    "a:\n  b: \"x\ny\"",
    "a:\n  b: 'x\n  y'\n  c: 1",
    "a: \"x\n---\ny\"",
    "a:\n  b: x\n y",
    "a: b\n\n\nc: d",
    "a:\tb",
    "a: b\t# comment",
    "- a\t",
    "a: |\n\tx",
    "key:    value   ",
    "a: \"x\\\n  y\"",
    "a: 'x\n\n  y'",
    "? |\n  block key\n: v",
    "a: !!str\nb: 1",
    "a: &anc\nb: *anc",
    "[a, b, ]",
    "{a: 1, b}",
    "a: [b, c]d",
    "a: {b: c}}",
    "a: 1\n...\nb: 2",
    "a: b #comment\n#c\n  # indented comment\nc: d",
    "a: :b\nc: ::d",
    "url: http://x.y/z?a=b#frag",
    "a: {b: http://c}",
    "win: C:\\path",
    "a: b:c",
    "a: 'x'y'",
    "a: \"x\"y",
    "%TAG ! tag:example.com,2000:\n---\na: !foo b",
    "a: 1_000.5\nb: ._5\nc: 1e\nd: 0x\ne: 0xG\nf: +\ng: .\nh: 00\ni: 0.\nj: -0.0\nk: 1__\nl: _1",
    "a: 2001-1-1\nb: 2001-01-01T00:00:00Z\nc: 2001-01-01 1:2:3\nd: 2000-02-29\ne: 1900-02-29\nf: 2001-01-01T1:2:3+05:00",
    "a: 190:20:30\nb: 1:2\nc: -1:30.5",
    "a:\n- b\n-\n- c",
    "a:\n  -\n    b: 1",
    "- &x a\n- *x\n- &y [1]\n- *y",
    "a: >2\n   indented folded\n  next\n",
    "a: |\n  trailing spaces   \n  here\n",
    "a: |1\n  x\n",
    "a: \"\\u00e9\\U0001F600\"",
    "a:\n  # comment\n  b: 1",
    "a: [\n  1,\n  2\n]",
    "a: {\n  b: 1,\n  c: 2\n}",
    "a: \"tab\tin\tdq\"",
    "a: 'tab\tin\tsq'",
    "a: tab\tin\tplain",
    "- a: 1\n  b: 2\n- c: 3",
    "a: 'it''s ''quoted'''",
    "? a\n: b\n? c\n: d",
    "a: !!map {b: 1}\nc: !!seq [1]",
    "a: !!set {x, y}",
    "a: !!omap [{x: 1}]",
    "key: value\n  # comment\nnext: 1",
    "a: >-\n\n  text\n\n  more\n",
    "# only\n---\n# comments\n",
    "a: |\r\n  x\r\n  y\r\nb: 1\r\n",
    "x: &x {a: 1}\nl:\n- <<: *x\n  b: 1\n- <<: *x",
    "a: [b: c]",
    "a: [b, {c: d}, [e]]",
    "a  : 1\nb\t: 2",
    "a: 1\t\nb: 'x' # c",
    "- - a\n  - b\n- c",
    "a:\n    - b\n    - c\nd: e",
    "a:\n  - b: 1\n    c: 2\n  - d",
    "a: |+\n  x\n\n\nb: 1",
    "a: >\n  one\n\n    more\n  two\n",
    "a: [1, # c\n  2]",
    "a: {b: 1, # c\n  d: 2}",
    "a:\n  b:\n  c: 1",
    "? - a\n  - b\n: c",
    "a: 'x\\y'\nb: \"x\\\\y\"",
    "a:\n  - 1\n  -  2\n  -\t3",
    "a: \"x\" # \"c\"",
    "- a\n-\n  - b",
    "a: b # c: d\ne: f",
    "a: x:y\nb: x :y\nc: x# y\nd: 'x' ",
    "a:\n  # c1\n\n  # c2\n  b: 1",
    "emptyflow: { }\nemptyseq: [ ]",
    "a: !!str\n  - x",
    "a: |\n   three\n  two",
    "top: 1\n  bad: 2",
    "a: 1\n b: 2",
    "a:\n- b\n - c",
    "- a\n - b",
    "a: [b\n]",
    "a: \"line1\\\n  continued\"",
    "k: v\n\n\n\n",
    "\n\n\na: 1",
    "a: 0x7FFFFFFFFFFFFFFF\nb: 0xFFFFFFFFFFFFFFFF\nc: -0x8000000000000000",
    "a: 1.7976931348623157e308\nb: 4.9e-324\nc: 2.5e-310",
    "a: 123_456.78_9",
    "a: +0\nb: -0\nc: +0.0\nd: 0e0",
    "-\ta",
    "{\"k\u{85}z\": 1}",
    "{\"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\": 1}",
    "- - \tb",
    "a: [-\tb]",
    "a: |\n  -\tliteral\n",
];

#[test]
fn to_yaml_nel_control_and_long_keys_match_helm() {
    let exprs = [
        r#"(dict "k" "x\u007fy")"#,
        r#"(dict "k\u0085z" "v")"#,
        r#"(dict "k" "a \u0085 b\u0085\u0085c\u0085 d")"#,
        r#"(dict "k" "a\u0085---\u0085b")"#,
        r#"(dict "k" "\u0085lead and trail\u0085")"#,
        r#"(dict (repeat 1022 "k") "v")"#,
        r#"(dict (repeat 1023 "k") "v")"#,
        r#"(dict (repeat 1018 "<") "v")"#,
        r#"(dict "a" (dict (repeat 1022 "é") "v"))"#,
        // `<` is six characters in JSON: 170 of them fit, 171 do not.
        r#"(dict (repeat 170 "<") "v")"#,
        r#"(dict (repeat 171 "<") "v")"#,
    ];
    const SEP: &str = "\n<<<<case>>>>\n";
    let template: String = exprs
        .iter()
        .map(|e| format!("{{{{ toYaml {e} }}}}{SEP}"))
        .collect();
    let expected = helm_render("", &template);
    let expected = expected.expect("helm renders");
    let expected: Vec<&str> = expected.split(SEP).collect();
    let values = [
        Value::map(Map::from([("k".into(), Value::str("x\u{7f}y"))])),
        Value::map(Map::from([("k\u{85}z".into(), Value::str("v"))])),
        Value::map(Map::from([(
            "k".into(),
            Value::str("a \u{85} b\u{85}\u{85}c\u{85} d"),
        )])),
        Value::map(Map::from([("k".into(), Value::str("a\u{85}---\u{85}b"))])),
        Value::map(Map::from([(
            "k".into(),
            Value::str("\u{85}lead and trail\u{85}"),
        )])),
        Value::map(Map::from([("k".repeat(1022), Value::str("v"))])),
        Value::map(Map::from([("k".repeat(1023), Value::str("v"))])),
        Value::map(Map::from([("<".repeat(1018), Value::str("v"))])),
        Value::map(Map::from([(
            "a".into(),
            Value::map(Map::from([("é".repeat(1022), Value::str("v"))])),
        )])),
        Value::map(Map::from([("<".repeat(170), Value::str("v"))])),
        Value::map(Map::from([("<".repeat(171), Value::str("v"))])),
    ];
    for (i, v) in values.iter().enumerate() {
        let got = to_yaml(v)
            .map(|y| y.strip_suffix('\n').unwrap_or(&y).to_string())
            .unwrap_or_default();
        assert_eq!(got, expected[i], "case {i}: {}", exprs[i]);
    }
}

#[test]
fn from_yaml_documents_match_helm() {
    check_from_yaml_batch(PARSER_DOCS, "toJson", |d| {
        json::to_json(&rudder_from_yaml(d)).unwrap_or_default()
    });
}

#[test]
fn from_yaml_to_yaml_documents_match_helm() {
    check_from_yaml_batch(PARSER_DOCS, "toYaml", |d| {
        let y = to_yaml(&rudder_from_yaml(d)).unwrap_or_default();
        y.strip_suffix('\n').unwrap_or(&y).to_string()
    });
}

/// Rough speed check (run with `--ignored --nocapture` in release mode).
#[test]
#[ignore]
fn bench_argo_values() {
    let text = std::fs::read_to_string("../shared/charts/corpus/argo-cd/values.yaml")
        .or_else(|_| std::fs::read_to_string("/work/shared/charts/corpus/argo-cd/values.yaml"))
        .expect("argo values");
    let t = std::time::Instant::now();
    let mut v = Value::Nil;
    for _ in 0..20 {
        v = parse_values(&text).expect("parse");
    }
    eprintln!("parse_values: {:?} per run", t.elapsed() / 20);
    let t = std::time::Instant::now();
    let mut n = 0;
    for _ in 0..20 {
        n += to_yaml(&v).expect("yaml").len();
    }
    eprintln!("to_yaml: {:?} per run ({n})", t.elapsed() / 20);
    let t = std::time::Instant::now();
    for _ in 0..20 {
        n += json::to_json(&v).expect("json").len();
    }
    eprintln!("to_json: {:?} per run ({n})", t.elapsed() / 20);
}

#[test]
#[ignore]
fn bench_saphyr_events_only() {
    let text = std::fs::read_to_string("/work/shared/charts/corpus/argo-cd/values.yaml")
        .expect("argo values");
    let t = std::time::Instant::now();
    let mut n = 0;
    for _ in 0..20 {
        let mut p = saphyr_parser::Parser::new_from_str(&text);
        while let Some(Ok(_)) = p.next_event() {
            n += 1;
        }
    }
    eprintln!("saphyr events: {:?} per run ({n})", t.elapsed() / 20);
}

#[test]
fn bad_document_separator_is_an_error() {
    // helm v4.1.4: "cannot load values.yaml: error reading yaml document:
    // invalid Yaml document separator: foo"
    let e = parse_values("a: 1\n--- foo\nb: 2\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "error reading yaml document: invalid Yaml document separator: foo"
    );
}

#[test]
fn to_yaml_long_keys_and_folding_match_helm() {
    let long_key = "k".repeat(130);
    let words = "word ".repeat(30);
    check_to_yaml(&format!(
        r#"
"{long_key}": v
"{long_key} with space": v2
short: "{words}end"
sq: " {words}end"
dq: "tab\t {words}end"
dq2: "{words}  double  spaces  {words}"
list:
- "{words}end"
- - "{words}end"
- k: "{words}end"
  "{long_key}": [1]
ml: "{words}\n{words}"
"#
    ));
}

#[test]
fn invalid_utf8_values_fail_like_helm() {
    // helm v4.1.4 on a values.yaml holding the byte 0xFF:
    // "cannot load values.yaml: cannot unmarshal yaml document: error
    // converting YAML to JSON: yaml: invalid leading UTF-8 octet"
    let e = parse_values_bytes(b"a: \xff\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "cannot unmarshal yaml document: error converting YAML to JSON: yaml: invalid leading UTF-8 octet"
    );
    let e = parse_values_bytes(b"a: \xc3(\n").unwrap_err();
    assert!(
        e.to_string()
            .ends_with("yaml: invalid trailing UTF-8 octet"),
        "{e}"
    );
    let e = parse_values_bytes(b"a: \xe0\x80\x80\n").unwrap_err();
    assert!(
        e.to_string()
            .ends_with("yaml: invalid length of a UTF-8 sequence"),
        "{e}"
    );
    let e = parse_values_bytes(b"a: \xed\xa0\x80\n").unwrap_err();
    assert!(
        e.to_string().ends_with("yaml: invalid Unicode character"),
        "{e}"
    );
}

#[test]
fn to_yaml_pretty_matches_helm() {
    check_to_yaml_pretty(TRICKY_SCALARS);
    let long_key = "k".repeat(130);
    let words = "word ".repeat(30);
    check_to_yaml_pretty(&format!(
        r#"
"{long_key}": v
short: "{words}end"
sq: " {words}end"
tab: "tab\there"
tabml: "tab\there\nline"
list:
- "{words}end"
- - a
  - - b
- k: v
  l: [1, 2]
  m: {{}}
- []
nested:
  a:
    b:
    - c: d
      e:
      - f
ml: "x\ny\n"
big: 12345678901234567890
float: 1.5
int: 3
million: 1000000
"#
    ));
}

#[test]
fn deep_flow_nesting_does_not_crash() {
    let flow = format!("a: {}{}", "[".repeat(100_000), "]".repeat(100_000));
    let _ = parse_any(&flow);
}

#[test]
fn deep_json_nesting_does_not_crash() {
    let deep_json = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let e = json::parse(&deep_json).unwrap_err();
    assert_eq!(e.to_string(), "invalid character '[' exceeded max depth");
}

#[test]
fn deep_block_nesting_does_not_crash() {
    let mut block = String::new();
    // (Dropping a Value nested thousands deep recurses in value.rs; keep
    // this within what a debug-build test thread can drop.)
    for i in 0..500 {
        block.push_str(&" ".repeat(i));
        block.push_str("k:\n");
    }
    let v = parse_any(&block).expect("deep block parses");
    assert!(to_yaml(&v).is_ok());
    assert!(json::to_json(&v).is_ok());
    let deep_json = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let e = json::parse(&deep_json).unwrap_err();
    assert_eq!(e.to_string(), "invalid character '[' exceeded max depth");
}

/// Random strings from tricky pieces, rendered by helm and rudder through
/// `toYaml`, `toJson` and `toYamlPretty` (values written as JSON, which both
/// read as YAML).
#[test]
fn random_strings_match_helm() {
    const PIECES: &[&str] = &[
        "a",
        "b",
        "word",
        " ",
        "  ",
        "\n",
        "\n\n",
        "\t",
        ":",
        ": ",
        "#",
        " #",
        "-",
        "- ",
        "'",
        "\"",
        "\\",
        "é",
        "😀",
        "\u{85}",
        "\u{2028}",
        "0",
        "1",
        ".",
        "e",
        "x",
        "yes",
        "no",
        "~",
        ",",
        "[",
        "]",
        "{",
        "}",
        "&",
        "*",
        "!",
        "|",
        ">",
        "%",
        "@",
        "`",
        "?",
        "\r",
        "\u{a0}",
        "\u{feff}",
        "null",
        "true",
        "0x1",
        "1e3",
        "---",
        "...",
        "lorem ipsum dolor sit amet consectetur",
        "\u{1}",
    ];
    let mut next = crate::godata::xorshift(0x9e37_79b9_7f4a_7c15);
    let mut values = Map::new();
    for i in 0..400 {
        let len = if next(10) == 0 {
            20 + next(40)
        } else {
            next(8)
        };
        let s: String = (0..len).map(|_| PIECES[next(PIECES.len())]).collect();
        let key = if next(4) == 0 {
            // (NEL in a key makes libyaml reject the whole file; covered
            // by the parser documents.)
            (0..1 + next(3))
                .map(|_| PIECES[next(PIECES.len())])
                .collect::<String>()
                .replace('\u{85}', "")
        } else {
            format!("k{i:03}")
        };
        values.insert(key, Value::str(s));
    }
    let json_values = json::to_json(&Value::map(values)).expect("json");
    for (template, f) in [
        ("{{ toYaml .Values }}", 0),
        ("{{ toJson .Values }}", 1),
        ("{{ toYamlPretty .Values }}", 2),
    ] {
        let expected = helm_render(&json_values, template);
        let expected = expected.expect("helm renders");
        let v = parse_values(&json_values).expect("values parse");
        let got = match f {
            0 => to_yaml(&v)
                .map(|y| y.strip_suffix('\n').unwrap_or(&y).to_string())
                .unwrap_or_default(),
            1 => json::to_json(&v).unwrap_or_default(),
            _ => {
                let y = to_yaml_pretty(&v);
                y.strip_suffix('\n').unwrap_or(&y).to_string()
            }
        };
        if got != expected {
            let (g, e): (Vec<&str>, Vec<&str>) =
                (got.lines().collect(), expected.lines().collect());
            let first = g
                .iter()
                .zip(&e)
                .position(|(a, b)| a != b)
                .unwrap_or(g.len().min(e.len()));
            panic!(
                "{template}: first difference at line {first}:\n  rudder: {:?}\n  helm:   {:?}",
                g.get(first.saturating_sub(1)..(first + 2).min(g.len())),
                e.get(first.saturating_sub(1)..(first + 2).min(e.len()))
            );
        }
    }
}

/// Random YAML/JSON/--set soup must never panic (run with `--ignored`).
#[test]
#[ignore]
fn random_soup_never_panics() {
    const PIECES: &[&str] = &[
        "a",
        ":",
        ": ",
        "\n",
        "  ",
        "- ",
        "-",
        "[",
        "]",
        "{",
        "}",
        ",",
        "\"",
        "'",
        "\\",
        "#",
        "&x ",
        "*x",
        "!!str ",
        "!!binary ",
        "? ",
        "|",
        ">",
        "|-",
        "|+2",
        "\t",
        "<<: ",
        "---\n",
        "...\n",
        "%YAML 1.1\n",
        "é",
        "\u{85}",
        "\u{feff}",
        "0x",
        "1e9",
        ".inf",
        "~",
        "=",
        ".",
        "[0]",
        "[-1]",
        "{a,b}",
        "\r\n",
        "\"\\u12",
        "null",
    ];
    let mut next = crate::godata::xorshift(0x2545_f491_4f6c_dd1d);
    for _ in 0..50_000 {
        let len = next(30);
        let s: String = (0..len).map(|_| PIECES[next(PIECES.len())]).collect();
        let _ = parse_values(&s);
        let _ = parse_any(&s);
        let _ = json::parse(&s);
        if let Ok(v) = parse_any(&s) {
            let _ = to_yaml(&v);
            let _ = to_yaml_pretty(&v);
            let _ = crate::godata::toml::to_toml(&v);
        }
    }
}

/// Fuzz input that once made `parse_values` loop forever: an unterminated
/// double-quoted scalar, invalid UTF-8 (replaced lossily, as a fuzzer feeding
/// text does) and runs of `\r`.
#[test]
fn unterminated_quoted_scalar_with_carriage_returns_terminates() {
    let raw: &[u8] = b"a: \x22{{ \xf4pl ee\xf5\xf5\xfe\n\n\n\n\n\n\n\n\n\n\n\n} {\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n.\n\n\n\n\t\t\t\t\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff)\xe9\xe9\n\n\n\n\n\n\n\n\n\xf6\xf5t \r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\rnot \r\r\r\r\r\r\r\r\r\r\r\r\rO 2 }}\n\xb4}}\n\n\n\n\n\n\n\n{\xf7ee\n\n";
    let text = String::from_utf8_lossy(raw);
    assert!(super::parse_values(&text).is_err());
    // The same bytes as a file fail at the first invalid octet.
    assert!(super::parse_values_bytes(raw).is_err());
    // And without the invalid octets (only the quoted scalar and the `\r`s).
    let ascii: String = text.chars().filter(char::is_ascii).collect();
    assert!(super::parse_values(&ascii).is_err());
}

/// Runs `f` on a thread with a 2 MiB stack (the default of spawned and
/// tokio worker threads, where the controller renders).
fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(f)
        .expect("spawn")
        .join()
        .expect("no stack overflow");
}

/// Values nested beyond libyaml's/encoding/json's 10,000 levels are
/// rejected with their errors; just below the limit they parse, print and
/// are freed (`Value::drop_deep`) without exhausting a small stack.
#[test]
fn deep_nesting_is_capped_and_survives_drop_and_print() {
    on_small_stack(|| {
        // Block sequences (saphyr caps flow nesting at 255 levels itself).
        let deep = |n: usize| format!("a:\n{}x\n", "- ".repeat(n));
        let err = super::parse_values(&deep(100_000)).unwrap_err().to_string();
        assert!(err.contains("exceeded max depth of 10000"), "{err}");
        let json_deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        let err = crate::godata::json::parse(&json_deep(100_000))
            .unwrap_err()
            .to_string();
        assert!(err.contains("exceeded max depth"), "{err}");
        let v = super::parse_values(&deep(9_990)).expect("below the limit");
        let text = crate::godata::json::to_json(&v).expect("json");
        assert_eq!(text.len(), r#"{"a":"x"}"#.len() + 2 * 9_990);
        assert!(super::to_yaml(&v).is_ok());
        let printed = crate::godata::gofmt::sprint(std::slice::from_ref(&v));
        assert!(printed.starts_with("map[a:[[[") && printed.contains("[x]"));
        v.drop_deep();
        let j = crate::godata::json::parse(&json_deep(9_990)).expect("below the limit");
        j.drop_deep();
    });
}
