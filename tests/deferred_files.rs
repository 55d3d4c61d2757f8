//! `rudder template` leaves a chart directory's non-template files on disk
//! until a template reads them (`chart::load::load_for_render`). These tests
//! pin what that must not change: a file read later is the file that was
//! listed, a file that cannot be read any more fails the render naming it
//! (where Helm, which reads every file up front, fails while loading), and a
//! file no template reads is never opened. The bytes themselves are checked
//! against helm in `objects_vs_helm.rs`, which renders through the same path.

mod fixture;

use std::path::Path;

use rudder::action::{RenderOptions, render};
use rudder::chart::load::load_for_render;
use rudder::godata::value::Value;

use fixture::write;

/// A chart whose one template is `template`, with two plain files.
fn chart(root: &Path, template: &str) {
    write(
        root,
        "Chart.yaml",
        "apiVersion: v2\nname: c\nversion: 0.1.0\n",
    );
    write(root, "files/used.txt", "\u{feff}used\n");
    write(root, "files/unused.txt", "unused\n");
    write(root, "templates/cm.yaml", template);
}

fn render_dir(root: &Path, delete: &str) -> Result<String, String> {
    let chart = load_for_render(root).map_err(|e| e.to_string())?;
    if !delete.is_empty() {
        std::fs::remove_file(root.join(delete)).expect("remove");
    }
    let out =
        render(chart, &Value::empty_map(), &RenderOptions::default()).map_err(|e| e.to_string())?;
    Ok(out.manifests.iter().map(|m| m.content.as_str()).collect())
}

const GET: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  used: {{ .Files.Get \"files/used.txt\" | quote }}\n";
const AS_CONFIG: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n{{ (.Files.Glob \"files/*\").AsConfig | indent 2 }}\n";

#[test]
fn a_file_is_read_when_a_template_uses_it_with_its_byte_order_mark_dropped() {
    let tmp = tempfile::tempdir().expect("tmp");
    chart(tmp.path(), GET);
    let out = render_dir(tmp.path(), "").expect("renders");
    assert!(out.contains("used: \"used\\n\""), "{out}");
}

#[test]
fn a_file_no_template_reads_is_never_opened() {
    let tmp = tempfile::tempdir().expect("tmp");
    chart(tmp.path(), GET);
    // Gone after loading: only an attempt to read it could notice.
    let out = render_dir(tmp.path(), "files/unused.txt").expect("renders");
    assert!(out.contains("used: \"used\\n\""), "{out}");
}

#[test]
fn a_file_that_cannot_be_read_fails_the_get_naming_it() {
    let tmp = tempfile::tempdir().expect("tmp");
    chart(tmp.path(), GET);
    let err = render_dir(tmp.path(), "files/used.txt").expect_err("must fail");
    assert!(
        err.contains("error reading files/used.txt") && err.contains("cm.yaml"),
        "{err}"
    );
}

#[test]
fn a_file_that_cannot_be_read_fails_the_render_where_go_cannot_fail() {
    let tmp = tempfile::tempdir().expect("tmp");
    chart(tmp.path(), AS_CONFIG);
    let ok = render_dir(tmp.path(), "").expect("renders");
    assert!(
        ok.contains("used.txt: |") && ok.contains("unused.txt: |"),
        "{ok}"
    );
    let err = render_dir(tmp.path(), "files/unused.txt").expect_err("must fail");
    assert!(err.contains("error reading files/unused.txt"), "{err}");
}

#[test]
fn load_errors_for_unread_files_stay_load_errors() {
    let tmp = tempfile::tempdir().expect("tmp");
    chart(tmp.path(), GET);
    std::fs::write(
        tmp.path().join("files/big"),
        vec![b'x'; 5 * 1024 * 1024 + 1],
    )
    .expect("big");
    let err = load_for_render(tmp.path()).expect_err("too large");
    assert!(
        err.to_string()
            .contains("chart file \"big\" is larger than the maximum file size"),
        "{err}"
    );
}
