//! Helm's built-in objects, rendered by helm and by rudder and compared
//! byte for byte: `.Files` (Get, GetBytes, Glob, Lines, AsConfig,
//! AsSecrets, range/index/len), `.Capabilities` (default and
//! `--kube-version`/`--api-versions`), `.Chart` (with dependencies and
//! subchart metadata), `.Release`, `.Template`, `.Subcharts`, NOTES.txt
//! exclusion, partials, hooks and kind ordering, `--include-crds`,
//! `--skip-tests`.

mod fixture;

use std::path::Path;
use std::process::Command;

use fixture::write;

fn chart(root: &Path) {
    write(
        root,
        "Chart.yaml",
        "apiVersion: v2\nname: objs\nversion: 1.2.3\nappVersion: \"4.5\"\ndescription: objects test\nkeywords: [a, b]\nmaintainers:\n  - name: me\n    email: me@example.com\nannotations:\n  x: y\ndependencies:\n  - name: sub\n    version: 0.1.0\n    repository: file://charts/sub\n    alias: child\n    condition: child.enabled\n",
    );
    write(
        root,
        "values.yaml",
        "child:\n  enabled: true\n  v: 1\nlist: [1, 2]\n",
    );
    write(root, "files/a.txt", "alpha\nbeta\n");
    write(root, "files/b.txt", "bravo");
    write(root, "files/sub/c.conf", "k=v\n");
    write(
        root,
        "crds/crd.yaml",
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: things.example.com\n",
    );
    write(
        root,
        "templates/_helpers.tpl",
        "{{ define \"objs.name\" }}{{ .Chart.Name }}-{{ .Release.Name }}{{ end }}",
    );
    write(
        root,
        "templates/NOTES.txt",
        "notes for {{ .Release.Name }}\n",
    );
    write(
        root,
        "templates/files.yaml",
        r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "objs.name" . }}
data:
  get: {{ .Files.Get "files/a.txt" | quote }}
  getbytes: {{ .Files.GetBytes "files/b.txt" | toString | quote }}
  missing: {{ .Files.Get "nope" | quote }}
  lines: {{ .Files.Lines "files/a.txt" | toJson | quote }}
  len: "{{ len .Files }} {{ len (.Files.Glob "files/*") }}"
  index: {{ index .Files "files/b.txt" | toString | quote }}
  glob: {{ range $p, $b := .Files.Glob "files/**" }}{{ $p }}={{ len $b }};{{ end }}
  globbrace: {{ range $p, $_ := .Files.Glob "files/{a,b}.txt" }}{{ $p }};{{ end }}
  config: {{ (.Files.Glob "files/*.txt").AsConfig | quote }}
  secrets: {{ (.Files.Glob "files/sub/*").AsSecrets | quote }}
  truthy: "{{ if .Files.Glob "nothing/*" }}yes{{ else }}no{{ end }}"
"#,
    );
    write(
        root,
        "templates/caps.yaml",
        r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: caps
  annotations:
    helm.sh/hook: pre-install
    helm.sh/hook-weight: "-5"
data:
  kube: "{{ .Capabilities.KubeVersion }} {{ .Capabilities.KubeVersion.Version }} {{ .Capabilities.KubeVersion.Major }} {{ .Capabilities.KubeVersion.Minor }} {{ .Capabilities.KubeVersion.GitVersion }}"
  has: "{{ .Capabilities.APIVersions.Has "apps/v1" }} {{ .Capabilities.APIVersions.Has "policy/v1/PodDisruptionBudget" }} {{ .Capabilities.APIVersions.Has "example.com/v1" }}"
  helm: "{{ .Capabilities.HelmVersion.Version }}"
  semver: "{{ semverCompare ">=1.20.0-0" .Capabilities.KubeVersion.GitVersion }}"
  apis: {{ .Capabilities.APIVersions | toString | quote }}
  count: "{{ len .Capabilities.APIVersions }}"
"#,
    );
    write(
        root,
        "templates/meta.yaml",
        r#"apiVersion: v1
kind: Secret
metadata:
  name: meta
stringData:
  chart: {{ .Chart | toString | quote }}
  release: {{ .Release | toString | quote }}
  template: {{ .Template | toString | quote }}
  subchart: {{ .Subcharts.child.Chart.Name | quote }}
  subvalues: {{ .Subcharts.child.Values | toJson | quote }}
  deps: {{ .Chart.Dependencies | toJson | quote }}
"#,
    );
    write(
        root,
        "templates/tests/t.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: t\n  annotations:\n    helm.sh/hook: test\n",
    );
    write(
        root,
        "templates/empty.yaml",
        "{{- if false }}\nx: 1\n{{- end }}\n",
    );
    write(
        root,
        "templates/multi.yaml",
        "kind: Zed\napiVersion: v1\n---\n---\nkind: Namespace\napiVersion: v1\nmetadata:\n  name: ns\n---\n# only a comment\n",
    );
    // go-yaml reads a document's root node and stops: what follows a
    // complete flow root is never looked at.
    write(
        root,
        "templates/flow-root.yaml",
        "{apiVersion: v1, kind: ConfigMap, metadata: {name: flow}} trailing words\n",
    );
    write(
        root,
        "charts/sub/Chart.yaml",
        "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
    );
    write(root, "charts/sub/values.yaml", "v: 0\nw: 2\n");
    write(
        root,
        "charts/sub/crds/sub-crd.yaml",
        "kind: CustomResourceDefinition\napiVersion: apiextensions.k8s.io/v1\nmetadata:\n  name: subs.example.com\n",
    );
    write(
        root,
        "charts/sub/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Chart.Name }}\ndata:\n  v: {{ .Values | toJson | quote }}\n  root: {{ .Chart.IsRoot | quote }}\n  t: {{ .Template.Name }} {{ .Template.BasePath }}\n",
    );
    write(root, "charts/sub/templates/NOTES.txt", "sub notes\n");
}

fn run(bin: &str, dir: &Path, extra: &[&str]) -> (bool, String, String) {
    let mut args = vec!["template", "rel", "objs", "-n", "ns1"];
    args.extend_from_slice(extra);
    let out = Command::new(bin)
        .args(&args)
        .current_dir(dir)
        .output()
        .expect("run");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn compare(extra: &[&str]) {
    let tmp = tempfile::tempdir().expect("tmp");
    chart(&tmp.path().join("objs"));
    let (hok, hout, herr) = run("helm", tmp.path(), extra);
    assert!(hok, "helm failed: {herr}");
    let (rok, rout, rerr) = run(env!("CARGO_BIN_EXE_rudder"), tmp.path(), extra);
    assert!(rok, "rudder failed: {rerr}");
    if hout != rout {
        let h: Vec<&str> = hout.lines().collect();
        let r: Vec<&str> = rout.lines().collect();
        let i = h
            .iter()
            .zip(r.iter())
            .position(|(a, b)| a != b)
            .unwrap_or(h.len().min(r.len()));
        panic!(
            "output differs from helm ({extra:?}) at line {}:\n  helm:   {:?}\n  rudder: {:?}",
            i + 1,
            h.get(i),
            r.get(i)
        );
    }
}

#[test]
fn objects_default_capabilities() {
    compare(&[]);
}

#[test]
fn objects_with_flags() {
    compare(&[
        "--kube-version",
        "v1.29.3-gke.100",
        "--api-versions",
        "example.com/v1,other/v2",
        "-a",
        "x/v1",
        "--include-crds",
        "--skip-tests",
    ]);
}
