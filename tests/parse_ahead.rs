//! `rudder template` parses a large chart's templates on a second thread
//! while it reads the values and coalesces them
//! (`render::parse_ahead`). Which thread parses which file varies from run
//! to run; these tests pin that nothing else does: every chart here has
//! more template text than the threshold, and `rudder template` must print
//! exactly what the real helm prints (output, or error and exit status)
//! when templates fail to parse, when a subchart is disabled or vendored
//! under two aliases, when a `define` is redefined by a later file, and
//! when the render fails before the parse (values, schema).

mod fixture;

use std::path::Path;

use rudder::render::parse_ahead::PARSE_AHEAD_BYTES;

use fixture::{helm, rudder, write};

/// A template file of more than the parse-ahead threshold that renders
/// nothing: `define`s, so the parser has real work.
fn bulk(name: &str) -> String {
    let one = format!(
        "{{{{- define \"{name}.N\" -}}}}\nname: {{{{ .Values.name | default \"x\" | quote }}}}\n{{{{- if .Values.on }}}}\non: {{{{ .Values.on }}}}\n{{{{- end }}}}\n{{{{- end }}}}\n"
    );
    let mut out = String::new();
    let mut i = 0;
    while out.len() <= PARSE_AHEAD_BYTES {
        out.push_str(&one.replace(".N\"", &format!(".{i}\"")));
        i += 1;
    }
    out
}

/// A chart `name` at `root` with a large helper file and `templates`.
fn chart(root: &Path, name: &str, chart_yaml_extra: &str, templates: &[(&str, &str)]) {
    write(
        root,
        "Chart.yaml",
        &format!("apiVersion: v2\nname: {name}\nversion: 0.1.0\n{chart_yaml_extra}"),
    );
    write(root, "templates/_bulk.tpl", &bulk(name));
    for (file, text) in templates {
        write(root, &format!("templates/{file}"), text);
    }
}

/// A temporary directory holding chart `c` (see [`chart`]); returns the
/// directory and the chart's root.
fn root_chart(
    chart_yaml_extra: &str,
    templates: &[(&str, &str)],
) -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().expect("tmp");
    let c = tmp.path().join("c");
    chart(&c, "c", chart_yaml_extra, templates);
    (tmp, c)
}

/// Renders chart `c` in `dir` with both and asserts the same result.
fn same_as_helm(dir: &Path, extra: &[&str]) -> String {
    let mut args = vec!["template", "r", "c"];
    args.extend_from_slice(extra);
    let h = helm(&args, dir);
    let r = rudder(&args, dir);
    let text = |o: &std::process::Output| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };
    assert_eq!(text(&r), text(&h), "rudder vs helm");
    assert_eq!(r.status.success(), h.status.success(), "exit status");
    text(&h)
}

const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-{{ .Chart.Name }}\ndata:\n  v: {{ include \"shared\" . | quote }}\n";

#[test]
fn the_first_parse_error_in_helms_order_is_reported() {
    let (tmp, _) = root_chart(
        "",
        &[
            ("a.yaml", "a: {{ .Values.x \n"),
            ("b.yaml", "b: {{ end }}\n"),
            ("sub/z.yaml", "z: {{ if }}\n"),
        ],
    );
    let out = same_as_helm(tmp.path(), &[]);
    assert!(out.contains("parse error"), "{out}");
}

#[test]
fn a_later_file_redefines_a_template_as_in_helm() {
    let (tmp, _) = root_chart(
        "",
        &[
            ("_a.tpl", "{{ define \"shared\" }}from a{{ end }}"),
            ("_b.tpl", "{{ define \"shared\" }}from b{{ end }}"),
            ("_c.tpl", "{{ define \"shared\" }}{{ end }}"),
            ("cm.yaml", CM),
        ],
    );
    let out = same_as_helm(tmp.path(), &[]);
    assert!(out.contains("kind: ConfigMap"), "{out}");
}

#[test]
fn a_subchart_under_two_aliases_and_a_disabled_broken_one() {
    let (tmp, c) = root_chart(
        "dependencies:\n- name: sub\n  version: 0.1.0\n  alias: one\n- name: sub\n  version: 0.1.0\n  alias: two\n- name: extra\n  version: 0.1.0\n  condition: extra.enabled\n",
        &[("_shared.tpl", "{{ define \"shared\" }}parent{{ end }}")],
    );
    chart(&c.join("charts/sub"), "sub", "", &[("cm.yaml", CM)]);
    chart(
        &c.join("charts/extra"),
        "extra",
        "",
        &[("broken.yaml", "x: {{ .Values.x \n")],
    );
    write(&c, "values.yaml", "extra:\n  enabled: false\n");
    let out = same_as_helm(tmp.path(), &[]);
    assert!(
        out.contains("name: r-one") && out.contains("name: r-two"),
        "{out}"
    );
}

#[test]
fn a_render_that_fails_before_parsing_fails_as_in_helm() {
    let (tmp, c) = root_chart(
        "",
        &[
            ("cm.yaml", CM),
            ("_s.tpl", "{{ define \"shared\" }}s{{ end }}"),
        ],
    );
    write(
        &c,
        "values.schema.json",
        r#"{"type":"object","properties":{"port":{"type":"integer"}}}"#,
    );
    write(tmp.path(), "bad.yaml", "port: x\n");
    write(tmp.path(), "broken.yaml", "a: [\n");
    same_as_helm(tmp.path(), &["-f", "bad.yaml"]);
    same_as_helm(tmp.path(), &["-f", "broken.yaml"]);
    same_as_helm(tmp.path(), &["-f", "missing.yaml"]);
}

#[test]
fn a_values_error_comes_before_a_chart_error_as_in_helm() {
    let (tmp, c) = root_chart("", &[("cm.yaml", CM)]);
    write(&c, "values.yaml", "a: [\n");
    let out = same_as_helm(tmp.path(), &["-f", "missing.yaml"]);
    assert!(out.contains("missing.yaml"), "{out}");
    let out = same_as_helm(tmp.path(), &[]);
    assert!(out.contains("values.yaml"), "{out}");
}
