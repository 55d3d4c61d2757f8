//! `crds/` must hold exactly what `rudder crds --out-dir` writes (one file
//! per CRD and a kustomization listing them), byte for byte, and the Helm
//! chart's `charts/rudder/crds/` the same CRD files. Regenerate with
//! `make crds`.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

#[test]
fn crds_directory_is_up_to_date() {
    let repo_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("crds");
    let fresh = std::env::temp_dir().join(format!("rudder-crds-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&fresh);
    let out = Command::new(env!("CARGO_BIN_EXE_rudder"))
        .args(["crds", "--out-dir"])
        .arg(&fresh)
        .output()
        .expect("running rudder crds");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let names = |dir: &Path| -> BTreeSet<String> {
        std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    };
    let want = names(&fresh);
    assert_eq!(
        names(&repo_dir),
        want,
        "crds/ has other files than rudder generates; run `make crds`"
    );
    for name in &want {
        let expected = std::fs::read_to_string(fresh.join(name)).expect("generated file");
        let actual = std::fs::read_to_string(repo_dir.join(name)).expect("crds/ file");
        assert!(actual == expected, "crds/{name} is stale; run `make crds`");
    }
    let _ = std::fs::remove_dir_all(&fresh);
}

#[test]
fn printed_stream_matches_the_files() {
    let out = Command::new(env!("CARGO_BIN_EXE_rudder"))
        .arg("crds")
        .output()
        .expect("running rudder crds");
    assert!(out.status.success());
    let printed = String::from_utf8(out.stdout).expect("UTF-8");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("crds");
    let mut joined = String::new();
    for name in [
        "helm.rudder.dev_helmrepositories.yaml",
        "helm.rudder.dev_gitrepositories.yaml",
        "helm.rudder.dev_helmreleases.yaml",
    ] {
        joined.push_str("---\n");
        joined.push_str(&std::fs::read_to_string(dir.join(name)).expect("crds/ file"));
    }
    assert_eq!(printed, joined);
}

#[test]
fn chart_crds_match() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<String> = std::fs::read_dir(root.join("charts/rudder/crds"))
        .expect("charts/rudder/crds exists")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "helm.rudder.dev_gitrepositories.yaml",
            "helm.rudder.dev_helmreleases.yaml",
            "helm.rudder.dev_helmrepositories.yaml"
        ],
        "run `make crds`"
    );
    for name in &names {
        let chart =
            std::fs::read_to_string(root.join("charts/rudder/crds").join(name)).expect("chart CRD");
        let crds = std::fs::read_to_string(root.join("crds").join(name)).expect("crds/ file");
        assert!(
            chart == crds,
            "charts/rudder/crds/{name} is stale; run `make crds`"
        );
    }
}
