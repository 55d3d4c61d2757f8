use super::*;
use gix::objs::tree::EntryKind;

/// A bare repository in a temporary directory with `files` (path →
/// content; a `->` prefix makes a symlink) committed as one tree.
fn repo_with(files: &[(&str, &str)]) -> (tempfile::TempDir, gix::Repository, ObjectId) {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = super::super::GitMirror::new(dir.path().join("m.git"))
        .open()
        .expect("init");
    let empty = repo.empty_tree().id;
    let mut editor = repo.edit_tree(empty).expect("editor");
    for (path, content) in files {
        let (kind, data) = match content.strip_prefix("->") {
            Some(target) => (EntryKind::Link, target),
            None => (EntryKind::Blob, *content),
        };
        let blob = repo.write_blob(data.as_bytes()).expect("blob").detach();
        editor.upsert(*path, kind, blob).expect("upsert");
    }
    let tree = editor.write().expect("tree").detach();
    (dir, repo, tree)
}

fn paths(files: &[ChartFile]) -> Vec<&str> {
    let mut p: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    p.sort();
    p
}

const CHART: &str = "apiVersion: v2\nname: c\nversion: 0.1.0\n";

#[test]
fn reads_the_chart_directory_honouring_helmignore() {
    let (_d, repo, tree) = repo_with(&[
        ("README.md", "top"),
        ("charts/c/Chart.yaml", CHART),
        ("charts/c/.helmignore", "*.bak\nci/\n"),
        ("charts/c/templates/cm.yaml", "kind: ConfigMap"),
        ("charts/c/templates/.hidden", "x"),
        ("charts/c/old.bak", "x"),
        ("charts/c/ci/values.yaml", "x"),
        ("charts/other/Chart.yaml", CHART),
    ]);
    let files = chart_files_at(&repo, tree, "c0", "./charts/c/", LIMITS).expect("files");
    assert_eq!(
        paths(&files),
        [".helmignore", "Chart.yaml", "templates/cm.yaml"]
    );
}

#[test]
fn the_archive_loads_as_a_chart_and_is_reproducible() {
    let (_d, repo, tree) = repo_with(&[
        ("c/Chart.yaml", CHART),
        ("c/values.yaml", "a: 1\n"),
        ("c/templates/cm.yaml", "kind: ConfigMap"),
    ]);
    let files = chart_files_at(&repo, tree, "c0", "c", LIMITS).expect("files");
    let a = pack("c", &files, LIMITS).expect("pack");
    let mut reversed = files.clone();
    reversed.reverse();
    assert_eq!(a, pack("c", &reversed, LIMITS).expect("pack"));
    let chart = crate::chart::load::load_archive(&a).expect("loads");
    assert_eq!(chart.metadata.name, "c");
    assert_eq!(chart.metadata.version, "0.1.0");
}

#[test]
fn missing_paths_files_and_escapes_are_refused() {
    let (_d, repo, tree) = repo_with(&[
        ("c/Chart.yaml", CHART),
        ("secret.txt", "s"),
        ("d/Chart.yaml", CHART),
        ("d/link", "->../secret.txt"),
        ("e/Chart.yaml", CHART),
        ("e/values.yaml", "a: 1"),
        ("e/values-link.yaml", "->values.yaml"),
    ]);
    let at = |p: &str| chart_files_at(&repo, tree, "c0", p, LIMITS);
    assert!(matches!(at("nope"), Err(TreeError::NotFound { .. })));
    assert!(matches!(
        at("c/Chart.yaml"),
        Err(TreeError::NotADirectory { .. })
    ));
    assert!(matches!(at("../c"), Err(TreeError::BadPath { .. })));
    assert!(matches!(at("d"), Err(TreeError::SymlinkEscapes { .. })));
    let e = at("e").expect("link inside the chart");
    let link = e
        .iter()
        .find(|f| f.path == "values-link.yaml")
        .expect("link");
    assert_eq!(link.data, b"a: 1");
}

#[test]
fn size_caps_apply() {
    let big = "x".repeat(300);
    let (_d, repo, tree) = repo_with(&[
        ("c/Chart.yaml", CHART),
        ("c/a.txt", &big),
        ("c/b.txt", &big),
    ]);
    let at = |limits| chart_files_at(&repo, tree, "c0", "c", limits);
    let file = Limits {
        max_file: 200,
        ..LIMITS
    };
    assert!(matches!(
        at(file),
        Err(TreeError::FileTooLarge { max: 200, .. })
    ));
    let total = Limits {
        max_total: 500,
        ..LIMITS
    };
    assert!(matches!(at(total), Err(TreeError::TooLarge { max: 500 })));
    let files = at(LIMITS).expect("within the caps");
    let packed = Limits {
        max_packed: 10,
        ..LIMITS
    };
    assert!(matches!(
        pack("c", &files, packed),
        Err(TreeError::ArchiveTooLarge { max: 10 })
    ));
}

#[test]
fn clean_paths() {
    assert_eq!(clean_path("./charts/x/").as_deref(), Ok("charts/x"));
    assert_eq!(clean_path(".").as_deref(), Ok(""));
    assert!(clean_path("a/../../b").is_err());
}
