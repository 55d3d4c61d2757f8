//! Parity with Helm on the shared chart corpus: for every
//! `../shared/charts/golden/NAME.args` (discovered at run time, none
//! skipped), `rudder <args>` run from `../shared/charts` must print exactly
//! `golden/NAME.yaml` (helm v4.1.4's `helm template` output). The same holds
//! for the charts found in the wild (`../shared/charts/wild`, same layout).

use std::path::{Path, PathBuf};
use std::process::Command;

/// `../shared/charts` relative to the repository (searched upwards, so
/// worktrees nested deeper find it too).
fn shared_charts() -> PathBuf {
    let mut dir = Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf();
    loop {
        let cand = dir.join("../shared/charts");
        if cand.is_dir() {
            return cand;
        }
        if !dir.pop() {
            return Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/charts");
        }
    }
}

fn charts_dir() -> PathBuf {
    shared_charts()
}

/// A short unified diff of the first differing region.
fn first_diff(expected: &str, actual: &str) -> String {
    let e: Vec<&str> = expected.split_inclusive('\n').collect();
    let a: Vec<&str> = actual.split_inclusive('\n').collect();
    let first = e
        .iter()
        .zip(a.iter())
        .position(|(x, y)| x != y)
        .unwrap_or(e.len().min(a.len()));
    let start = first.saturating_sub(3);
    let mut out = format!(
        "@@ first difference at line {} (expected {} lines, got {}) @@\n",
        first + 1,
        e.len(),
        a.len()
    );
    for l in &e[start..first] {
        out.push_str(&format!(" {}", l));
    }
    for l in e.iter().skip(first).take(8) {
        out.push_str(&format!("-{}", l));
    }
    for l in a.iter().skip(first).take(8) {
        out.push_str(&format!("+{}", l));
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

#[test]
fn corpus_matches_helm_golden_output() {
    check_goldens(&charts_dir(), 12);
}

/// cilium (`.Values.AsMap`, generated certificates) and external-secrets
/// (Sprig list functions over `.Capabilities.APIVersions`).
#[test]
fn wild_charts_match_helm_golden_output() {
    check_goldens(&charts_dir().join("wild"), 2);
}

/// Every golden under `dir` (at least `min` of them) renders identically.
fn check_goldens(dir: &Path, min: usize) {
    let golden = dir.join("golden");
    let mut names: Vec<String> = std::fs::read_dir(&golden)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", golden.display()))
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".args"))
                .map(str::to_string)
        })
        .collect();
    names.sort();
    assert!(
        names.len() >= min,
        "expected at least {min} golden/*.args in {}, found {}",
        golden.display(),
        names.len()
    );
    let mut failures = Vec::new();
    for name in &names {
        let args_text =
            std::fs::read_to_string(golden.join(format!("{name}.args"))).expect("args file");
        let args: Vec<&str> = args_text.lines().filter(|l| !l.is_empty()).collect();
        let expected =
            std::fs::read_to_string(golden.join(format!("{name}.yaml"))).expect("golden file");
        let out = Command::new(env!("CARGO_BIN_EXE_rudder"))
            .args(&args)
            .current_dir(dir)
            .output()
            .expect("run rudder");
        let stdout = String::from_utf8_lossy(&out.stdout);
        if out.status.success() && stdout == expected {
            eprintln!("PASS {name}");
            continue;
        }
        let detail = if !out.status.success() {
            format!(
                "exit {:?}; stderr:\n{}",
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            )
        } else {
            first_diff(&expected, &stdout)
        };
        eprintln!("FAIL {name}\n{detail}");
        failures.push(name.clone());
    }
    eprintln!(
        "parity: {}/{} charts byte-identical",
        names.len() - failures.len(),
        names.len()
    );
    assert!(
        failures.is_empty(),
        "charts differing from helm: {failures:?}"
    );
}
