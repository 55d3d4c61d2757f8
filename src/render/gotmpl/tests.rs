//! Unit tests of the engine against outputs and error texts taken from
//! helm v4.1.4 (`helm template` on a scratch chart) and Go 1.26.

use super::*;
use crate::godata::value::Map;

fn vals(pairs: &[(&str, Value)]) -> Value {
    let mut m = Map::new();
    for (k, v) in pairs {
        m.insert(k.to_string(), v.clone());
    }
    Value::map(m)
}

fn render(text: &str, data: &Value) -> Result<String, TemplateError> {
    let mut set = TemplateSet::with_funcs(FuncTable::from_specs(&[]));
    set.parse("mychart/templates/x.yaml", text)?;
    set.execute("mychart/templates/x.yaml", data)
}

fn top(values: Value) -> Value {
    vals(&[("Values", values)])
}

#[test]
fn basic_actions() {
    let d = top(vals(&[
        ("a", Value::Float(1.5)),
        ("l", Value::list(vec![Value::str("x"), Value::str("y")])),
    ]));
    assert_eq!(
        render("{{ .Values.a }} {{ .Values.missing }}|", &d).unwrap(),
        "1.5 |"
    );
    assert_eq!(
        render(
            "{{ range $i, $e := .Values.l }}{{ $i }}={{ $e }};{{ end }}",
            &d
        )
        .unwrap(),
        "0=x;1=y;"
    );
    assert_eq!(
        render("{{- if .Values.a -}} yes {{- else }} no {{- end }}", &d).unwrap(),
        "yes"
    );
    assert_eq!(
        render(
            "{{ with .Values.nope }}x{{ else with .Values.a }}{{ . }}{{ end }}",
            &d
        )
        .unwrap(),
        "1.5"
    );
    assert_eq!(render("{{ range 3 }}{{ . }}{{ end }}", &d).unwrap(), "012");
    assert_eq!(
        render(
            "{{ range .Values.l }}{{ if eq . \"y\" }}{{ break }}{{ end }}{{ . }}{{ end }}",
            &d
        )
        .unwrap(),
        "x"
    );
    assert_eq!(
        render("{{ printf \"%v %d\" 1.5 .Values.a }}", &d).unwrap(),
        "1.5 %!d(float64=1.5)"
    );
    assert_eq!(render("{{ define \"t\" }}[{{ . }}]{{ end }}{{ template \"t\" .Values.a }}{{ include \"t\" 2 }}", &d).unwrap(), "[1.5][2]");
    assert_eq!(
        render("{{ $x := 1 }}{{ $x = 2 }}{{ $x }}", &d).unwrap(),
        "2"
    );
    assert_eq!(
        render("{{ and 1 0 2 }} {{ or 0 \"\" 3 }} {{ not 0 }}", &d).unwrap(),
        "0 3 true"
    );
    assert_eq!(
        render(
            "{{ index .Values.l 1 }} {{ len .Values.l }} {{ 'a' }} {{ 0x1F }} {{ 1e3 }}",
            &d
        )
        .unwrap(),
        "y 2 97 31 1000"
    );
    assert_eq!(render("{{ tpl \"{{ .a }}\" .Values }}", &d).unwrap(), "1.5");
}

#[test]
fn helm_error_texts() {
    let d = top(vals(&[("name", Value::str("foo"))]));
    let err = |t: &str| render(t, &d).unwrap_err().to_string();
    assert_eq!(
        err("{{ .Values.x.y }}"),
        "mychart/templates/x.yaml:1:10\n  executing \"mychart/templates/x.yaml\" at <.Values.x.y>:\n    nil pointer evaluating interface {}.y"
    );
    assert_eq!(
        err("a: {{ .Values.name.x }}"),
        "mychart/templates/x.yaml:1:13\n  executing \"mychart/templates/x.yaml\" at <.Values.name.x>:\n    can't evaluate field x in type interface {}"
    );
    assert_eq!(
        err("a: {{ eq 1 \"a\" }}"),
        "template: mychart/templates/x.yaml:1:6: executing \"mychart/templates/x.yaml\" at <eq 1 \"a\">: error calling eq: incompatible types for comparison: int and string"
    );
    assert_eq!(
        err("a: {{ include \"nope\" . }}"),
        "mychart/templates/x.yaml:1:6\n  executing \"mychart/templates/x.yaml\" at <include \"nope\" .>:\n    error calling include:\ntemplate: no template \"nope\" associated with template \"gotpl\""
    );
    assert_eq!(
        err("{{ define \"a\" }}{{ .x.y }}{{ end }}a: {{ include \"a\" .Values }}"),
        "mychart/templates/x.yaml:1:41\n  executing \"mychart/templates/x.yaml\" at <include \"a\" .Values>:\n    error calling include:\nmychart/templates/x.yaml:1:21\n  executing \"a\" at <.x.y>:\n    nil pointer evaluating interface {}.y"
    );
    assert_eq!(
        err("a: {{ tpl \"{{ .x.y }}\" .Values }}"),
        "template: mychart/templates/x.yaml:1:6: executing \"mychart/templates/x.yaml\" at <tpl \"{{ .x.y }}\" .Values>: error calling tpl: error during tpl function execution for \"{{ .x.y }}\": template: gotpl:1:5: executing \"gotpl\" at <.x.y>: nil pointer evaluating interface {}.y"
    );
    assert_eq!(
        err("a: {{ .x"),
        "parse error at (mychart/templates/x.yaml:1): unclosed action"
    );
    assert_eq!(
        err("a: {{ template \"nope\" }}"),
        "mychart/templates/x.yaml:1:15\n  executing \"mychart/templates/x.yaml\" at <{{template \"nope\"}}>:\n    template \"nope\" not defined"
    );
    assert_eq!(
        err("a: {{ len .Values.missing }}"),
        "template: mychart/templates/x.yaml:1:6: executing \"mychart/templates/x.yaml\" at <len .Values.missing>: error calling len: len of nil pointer"
    );
}
