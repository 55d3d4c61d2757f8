//! The command-line value flags, rendered by the real helm and by rudder and
//! compared byte for byte: `-f`, `--set-json` (a whole object and
//! `key=JSON`), `--set`, `--set-string`, `--set-file` and `--set-literal`,
//! merged in Helm's order, and the errors each reports.

mod fixture;

use std::path::Path;

use fixture::{helm, rudder, write};

fn chart(root: &Path) {
    write(
        root,
        "c/Chart.yaml",
        "apiVersion: v2\nname: c\nversion: 0.1.0\n",
    );
    write(root, "c/values.yaml", "keep: 1\nover: chart\nlist: [a]\n");
    write(
        root,
        "c/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: v\ndata:\n  v: {{ toJson .Values | quote }}\n",
    );
    write(root, "file.txt", "from a file\nline two\n");
    write(root, "values.yaml", "over: file\nj: {old: 1}\n");
}

/// Runs `template rel c ARGS` with both binaries; exit status, stdout and
/// stderr must agree.
fn same_as_helm(args: &[&str]) {
    let dir = tempfile::tempdir().expect("tempdir");
    chart(dir.path());
    let mut full = vec!["template", "rel", "c"];
    full.extend_from_slice(args);
    let h = helm(&full, dir.path());
    let r = rudder(&full, dir.path());
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    assert_eq!(
        (r.status.success(), text(&r.stdout), text(&r.stderr)),
        (h.status.success(), text(&h.stdout), text(&h.stderr)),
        "rudder vs helm for {args:?}"
    );
}

#[test]
fn value_flags_merge_in_helms_order() {
    same_as_helm(&[
        "-f",
        "values.yaml",
        "--set-literal",
        "lit=a,b\\c={x}",
        "--set-file",
        "f=file.txt",
        "--set-string",
        "over=string,n=007",
        "--set",
        "over=set,list[1]=b,num=1e3,gone=null",
        "--set-json",
        "j.k=[1,{\"a\":null}],over=\"json\"",
        "--set-json",
        " {\"obj\": {\"x\": 1.5}, \"j\": {\"new\": true}}",
    ]);
}

#[test]
fn value_flag_errors_match_helm() {
    same_as_helm(&["--set-json", "a={bad"]);
    same_as_helm(&["--set-json", "{\"a\": "]);
    same_as_helm(&["--set-file", "a=missing.txt"]);
    same_as_helm(&["--set-literal", "=x"]);
}
