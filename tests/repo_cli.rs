//! `rudder package`, `rudder repo index`, `rudder search` and
//! `rudder template oci://…` checked against the real helm: archives and
//! index served from 127.0.0.1 are accepted by `helm repo add` / `helm pull`
//! / `helm template`; `rudder repo index` and `helm repo index` agree on
//! every entry apart from timestamps; a chart pushed with `helm push` to a
//! local `docker-registry` is found and rendered as helm renders it.

mod repo_server;

use std::path::{Path, PathBuf};
use std::process::Command;

use repo_server::Site;

const RUDDER: &str = env!("CARGO_BIN_EXE_rudder");

use repo_server::Registry;
use repo_server::run_in_home as run;

fn p(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

fn shared(name: &str) -> PathBuf {
    repo_server::shared_charts().join("index").join(name)
}

fn untar(archive: &Path, into: &Path) {
    std::fs::create_dir_all(into).expect("mkdir");
    let ok = Command::new("tar")
        .args(["xzf", p(archive), "-C", p(into)])
        .status()
        .expect("tar");
    assert!(ok.success());
}

fn serve_dir(site: &Site, dir: &Path) {
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let entry = entry.expect("entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        site.put(&name, std::fs::read(entry.path()).expect("read"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn package_and_index_are_accepted_by_helm() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let home = tmp.path().join("home");
    let src = tmp.path().join("src");
    for a in ["scaffold-0.2.0.tgz", "podinfo-6.14.2.tgz"] {
        untar(&shared(a), &src);
    }
    let site_dir = tmp.path().join("site");
    std::fs::create_dir_all(&site_dir).expect("mkdir");
    for chart in ["scaffold", "podinfo"] {
        let out = run(
            RUDDER,
            &["package", p(&src.join(chart)), "-d", p(&site_dir)],
            &home,
        );
        assert!(out.contains("Successfully packaged chart"), "{out}");
    }
    let site = Site::start(None).await;
    let base = site.base();
    run(
        RUDDER,
        &["repo", "index", p(&site_dir), "--url", &base],
        &home,
    );
    serve_dir(&site, &site_dir);

    run("helm", &["repo", "add", "mine", &base], &home);
    let pulled = tmp.path().join("pulled");
    std::fs::create_dir_all(&pulled).expect("mkdir");
    run(
        "helm",
        &[
            "pull",
            "mine/scaffold",
            "--version",
            "0.2.0",
            "-d",
            p(&pulled),
        ],
        &home,
    );
    assert_eq!(
        std::fs::read(pulled.join("scaffold-0.2.0.tgz")).expect("pulled archive"),
        std::fs::read(site_dir.join("scaffold-0.2.0.tgz")).expect("packaged archive")
    );
    for chart in ["scaffold", "podinfo"] {
        let from_repo = run(
            "helm",
            &["template", "rel", &format!("mine/{chart}"), "--skip-tests"],
            &home,
        );
        let from_dir = run(
            "helm",
            &["template", "rel", p(&src.join(chart)), "--skip-tests"],
            &home,
        );
        assert_eq!(from_repo, from_dir, "{chart}");
    }

    // rudder search: the served index and the local folder.
    let listed = run(RUDDER, &["search", &base], &home);
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("podinfo") && l.contains("6.14.2")),
        "{listed}"
    );
    let listed = run(RUDDER, &["search", p(&site_dir), "scaff"], &home);
    assert_eq!(listed.lines().count(), 2, "{listed}");
    assert!(
        listed.contains("scaffold") && listed.contains("0.2.0"),
        "{listed}"
    );
}

/// index.yaml as JSON without the timestamps.
fn index_without_times(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).expect("index.yaml");
    let mut v: serde_json::Value = serde_saphyr::from_str(&text).expect("index YAML");
    if let Some(m) = v.as_object_mut() {
        m.remove("generated");
    }
    if let Some(entries) = v.get_mut("entries").and_then(|e| e.as_object_mut()) {
        for versions in entries.values_mut() {
            for version in versions.as_array_mut().into_iter().flatten() {
                if let Some(m) = version.as_object_mut() {
                    m.remove("created");
                }
            }
        }
    }
    v
}

#[test]
fn repo_index_agrees_with_helm() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let home = tmp.path().join("home");
    let names = [
        "nginx-22.1.1.tgz",
        "nginx-22.1.2.tgz",
        "podinfo-6.14.1.tgz",
        "podinfo-6.14.2.tgz",
        "scaffold-0.1.0.tgz",
        "scaffold-0.2.0.tgz",
    ];
    let (ours, theirs) = (tmp.path().join("ours"), tmp.path().join("theirs"));
    for dir in [&ours, &theirs] {
        std::fs::create_dir_all(dir.join("sub")).expect("mkdir");
        for (i, n) in names.iter().enumerate() {
            // one archive in a subfolder: its URL has the folder
            let to = if i == 0 {
                dir.join("sub").join(n)
            } else {
                dir.join(n)
            };
            std::fs::copy(shared(n), to).expect("copy");
        }
    }
    let url = "https://charts.example.com/stable";
    run(RUDDER, &["repo", "index", p(&ours), "--url", url], &home);
    run("helm", &["repo", "index", p(&theirs), "--url", url], &home);
    let (a, b) = (
        index_without_times(&ours.join("index.yaml")),
        index_without_times(&theirs.join("index.yaml")),
    );
    assert_eq!(a["entries"]["nginx"].as_array().map(Vec::len), Some(2));
    assert_eq!(a, b);
}

#[test]
fn oci_search_and_template_match_helm() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let home = tmp.path().join("home");
    let registry = Registry::start(tmp.path(), "registry", &tmp.path().join("storage"), None);
    let base = format!("oci://127.0.0.1:{}/charts", registry.port);
    for a in ["podinfo-6.14.1.tgz", "podinfo-6.14.2.tgz"] {
        run(
            "helm",
            &["push", p(&shared(a)), &base, "--plain-http"],
            &home,
        );
    }
    let chart = format!("{base}/podinfo");
    let newest = run(RUDDER, &["search", &chart, "--plain-http"], &home);
    assert_eq!(newest.lines().count(), 2, "{newest}");
    assert!(
        newest.contains(&chart) && newest.contains("6.14.2"),
        "{newest}"
    );
    let all = run(
        RUDDER,
        &["search", &chart, "--plain-http", "--versions"],
        &home,
    );
    assert!(all.contains("6.14.1") && all.contains("6.14.2"), "{all}");

    for version in ["6.14.1", "~6.14"] {
        let args = [
            "template",
            "rel",
            &chart,
            "--version",
            version,
            "--plain-http",
            "--skip-tests",
        ];
        let ours = run(RUDDER, &args, &home);
        let theirs = run("helm", &args, &home);
        assert_eq!(ours, theirs, "{version}");
    }
}

#[test]
fn repo_index_merge_agrees_with_helm() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let home = tmp.path().join("home");
    // The existing index: written by helm for an older folder, other URL.
    let old_dir = tmp.path().join("old");
    std::fs::create_dir_all(&old_dir).expect("mkdir");
    for n in ["scaffold-0.1.0.tgz", "podinfo-6.14.1.tgz"] {
        std::fs::copy(shared(n), old_dir.join(n)).expect("copy");
    }
    let old_url = "https://old.example.com/charts";
    run(
        "helm",
        &["repo", "index", p(&old_dir), "--url", old_url],
        &home,
    );
    let old_index = old_dir.join("index.yaml");

    let (ours, theirs) = (tmp.path().join("ours"), tmp.path().join("theirs"));
    for dir in [&ours, &theirs] {
        std::fs::create_dir_all(dir).expect("mkdir");
        for n in ["scaffold-0.2.0.tgz", "podinfo-6.14.1.tgz"] {
            std::fs::copy(shared(n), dir.join(n)).expect("copy");
        }
    }
    let url = "https://new.example.com/charts";
    let merge = p(&old_index);
    run(
        RUDDER,
        &["repo", "index", p(&ours), "--url", url, "--merge", merge],
        &home,
    );
    run(
        "helm",
        &["repo", "index", p(&theirs), "--url", url, "--merge", merge],
        &home,
    );
    let (a, b) = (
        index_without_times(&ours.join("index.yaml")),
        index_without_times(&theirs.join("index.yaml")),
    );
    // scaffold 0.1.0 is kept from the old index, with its old URL.
    let scaffold = a["entries"]["scaffold"]
        .as_array()
        .expect("scaffold entries");
    assert_eq!(scaffold.len(), 2, "{a:#}");
    assert_eq!(
        scaffold[1]["urls"][0],
        "https://old.example.com/charts/scaffold-0.1.0.tgz"
    );
    assert_eq!(a, b);
}
