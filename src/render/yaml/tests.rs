//! Unit tests. Expected outputs are produced live by the real `helm` binary
//! (a scratch chart rendering `{{ toYaml .Values }}` etc., base64-wrapped so
//! helm's manifest parsing does not interfere); the
//! tests are skipped with a note when helm is not installed.

use super::*;
use crate::render::json;
use std::path::PathBuf;
use std::process::Command;

/// Renders `template` with `values` in a scratch chart through `helm
/// template`; returns the template's output (without the `# Source` header)
/// or helm's error text. `None` when helm is not available.
pub(crate) fn helm_render(values: &str, template: &str) -> Option<Result<String, String>> {
    let helm = find_helm()?;
    let dir = tempdir();
    std::fs::create_dir_all(dir.join("templates")).ok()?;
    std::fs::write(
        dir.join("Chart.yaml"),
        "apiVersion: v2\nname: c\nversion: 0.1.0\n",
    )
    .ok()?;
    std::fs::write(dir.join("values.yaml"), values).ok()?;
    std::fs::write(
        dir.join("templates/_body.tpl"),
        format!("{{{{ define \"body\" }}}}{template}{{{{ end }}}}"),
    )
    .ok()?;
    std::fs::write(
        dir.join("templates/a.yaml"),
        "b64: {{ include \"body\" . | b64enc }}\n",
    )
    .ok()?;
    let out = Command::new(helm)
        .arg("template")
        .arg("x")
        .arg(&dir)
        .output()
        .ok()?;
    let _ = std::fs::remove_dir_all(&dir);
    if !out.status.success() {
        return Some(Err(String::from_utf8_lossy(&out.stderr).into_owned()));
    }
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let b64 = text
        .lines()
        .find_map(|l| l.strip_prefix("b64: "))
        .unwrap_or("");
    let bytes = super::load::base64_decode(b64.trim_matches('"')).expect("helm output is base64");
    Some(Ok(String::from_utf8_lossy(&bytes).into_owned()))
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
    let Some(expected) = helm_render(values, "{{ toYaml .Values }}") else {
        eprintln!("helm not installed; skipping");
        return;
    };
    let expected = expected.expect("helm renders");
    assert_eq!(rudder_to_yaml(values), expected, "values:\n{values}");
}

fn check_to_json(values: &str) {
    let Some(expected) = helm_render(values, "{{ .Values | toJson }}") else {
        eprintln!("helm not installed; skipping");
        return;
    };
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
        let Some(expected) = helm_render("", &tpl) else {
            return;
        };
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
