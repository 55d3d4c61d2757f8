//! Every `helm template` flag rudder implements, checked against the real
//! `helm` (v4, the oracle): the same stdout and the same exit status for
//! `--show-only`, `--no-hooks`, `--skip-crds`, `--skip-schema-validation`,
//! `--output-dir` / `--release-name` (same files, same contents),
//! `--name-template`, `--generate-name`, `--debug`, `--dry-run`, the
//! deprecated and cluster-only flags `helm template` accepts without effect,
//! and the errors for misuse; helm's warnings on stderr (deprecated chart,
//! non-bool conditions and tags, followed symlinks) and its handling of
//! symlinks. Requires `helm` on PATH.

use std::path::{Path, PathBuf};
use std::process::Command;

fn helm_present() {
    let ok = Command::new("helm")
        .arg("version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        ok,
        "these tests need the real `helm` v4 on PATH: run ../shared/tools/install-helm and add ~/.local/bin to PATH"
    );
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

/// A chart with two templates (one with two documents), a test hook, a
/// pre-install hook, a CRD and a subchart.
fn fixture(dir: &Path) -> PathBuf {
    let c = dir.join("c");
    write(
        &c.join("Chart.yaml"),
        "apiVersion: v2\nname: c\nversion: 0.1.0\n",
    );
    write(&c.join("values.yaml"), "name: x\n");
    write(
        &c.join("templates/a.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a-{{ .Release.Name }}\n",
    );
    write(
        &c.join("templates/b.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n",
    );
    write(
        &c.join("templates/tests/t.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: t\n  annotations:\n    helm.sh/hook: test\n",
    );
    write(
        &c.join("templates/job.yaml"),
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: j\n  annotations:\n    helm.sh/hook: pre-install\n",
    );
    write(
        &c.join("crds/x.yaml"),
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: x\n",
    );
    write(
        &c.join("charts/sub/Chart.yaml"),
        "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
    );
    write(
        &c.join("charts/sub/templates/s.yaml"),
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n",
    );
    write(
        &c.join("values.schema.json"),
        r#"{"type": "object", "properties": {"name": {"type": "string"}}}"#,
    );
    c
}

struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

fn run(mut cmd: Command, cwd: &Path) -> Run {
    let out = cmd.current_dir(cwd).output().expect("run");
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn both(cwd: &Path, args: &[&str]) -> (Run, Run) {
    let mut h = Command::new("helm");
    h.arg("template").args(args);
    let mut r = Command::new(env!("CARGO_BIN_EXE_rudder"));
    r.arg("template").args(args);
    (run(h, cwd), run(r, cwd))
}

/// The last line of stderr (`Error: …`), without helm's log lines.
fn error_line(stderr: &str) -> String {
    stderr
        .lines()
        .rfind(|l| l.starts_with("Error: "))
        .unwrap_or_default()
        .to_string()
}

#[test]
fn output_flags_match_helm() {
    helm_present();
    let tmp = tempfile::tempdir().expect("tempdir");
    fixture(tmp.path());
    let cases: &[&[&str]] = &[
        &["r", "c"],
        &["r", "c", "--show-only", "templates/b.yaml"],
        &["r", "c", "-s", "templates/*.yaml"],
        &[
            "r",
            "c",
            "-s",
            "templates/[ab].yaml",
            "-s",
            "charts/sub/templates/s.yaml",
        ],
        &["r", "c", "-s", "templates/tests/t.yaml"],
        &["r", "c", "-s", "templates/zz.yaml"],
        &["r", "c", "--no-hooks"],
        &["r", "c", "--no-hooks", "--skip-tests", "--include-crds"],
        &["r", "c", "--skip-crds", "--include-crds"],
        &["r", "c", "--skip-crds"],
        &["r", "c", "--set", "name=1"],
        &["r", "c", "--set", "name=1", "--skip-schema-validation"],
        &["c", "--name-template", "{{ \"abc\" }}-{{ add 1 2 }}"],
        &["c", "--name-template", "{{ \"abc\" | upper }}"],
        &["x", "c", "--name-template", "y"],
        &["c", "-g"],
        &["x", "c", "--generate-name"],
        &["x", "c", "--dry-run"],
        &["x", "c", "--dry-run=client"],
        &["x", "c", "--dry-run=bogus"],
        &["x", "c", "--post-renderer", "nope"],
        &[
            "x",
            "c",
            "--atomic",
            "--force",
            "--wait",
            "--wait=legacy",
            "--timeout",
            "5m",
            "-l",
            "a=b",
            "--kubeconfig",
            "/nonexistent",
            "--kube-context",
            "k",
            "--create-namespace",
            "--server-side=false",
            "--description",
            "d",
            "--take-ownership",
            "--replace",
            "--hide-notes",
            "--render-subchart-notes",
            "--disable-openapi-validation",
            "--devel",
            "--dependency-update",
            "--wait-for-jobs",
            "--rollback-on-failure",
            "--qps",
            "5",
            "--burst-limit",
            "10",
            "--color",
            "never",
        ],
        &["x", "c", "--namespace", "a", "--namespace", "b"],
        &["x", "c", "--force", "--force-conflicts"],
        &["x", "c", "--force-replace", "--force-conflicts"],
        &["x", "c", "--force-conflicts"],
        &["x", "c", "--validate", "--dry-run=client"],
    ];
    let mut failures = Vec::new();
    for args in cases {
        let (h, r) = both(tmp.path(), args);
        if h.ok != r.ok || h.stdout != r.stdout {
            failures.push(format!(
                "{args:?}: helm ok={} rudder ok={}\n--- helm\n{}{}\n--- rudder\n{}{}",
                h.ok, r.ok, h.stdout, h.stderr, r.stdout, r.stderr
            ));
        } else if !h.ok && error_line(&h.stderr) != error_line(&r.stderr) {
            failures.push(format!(
                "{args:?}: errors differ\n helm:   {}\n rudder: {}",
                error_line(&h.stderr),
                error_line(&r.stderr)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Every file under `dir`, relative, with its contents.
fn tree(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).expect("prefix").display().to_string();
                out.push((rel, std::fs::read_to_string(&p).expect("read")));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn output_dir_writes_the_same_files_as_helm() {
    helm_present();
    let tmp = tempfile::tempdir().expect("tempdir");
    fixture(tmp.path());
    for extra in [
        &["--include-crds"][..],
        &["--release-name", "--include-crds"][..],
        &["--release-name", "--skip-tests"][..],
    ] {
        let mut outputs = Vec::new();
        for (tool, dir) in [("helm", "out-helm"), ("rudder", "out-rudder")] {
            let mut cmd = if tool == "helm" {
                Command::new("helm")
            } else {
                Command::new(env!("CARGO_BIN_EXE_rudder"))
            };
            cmd.args(["template", "r", "c", "--output-dir", dir])
                .args(extra);
            // Twice: the second run appends hooks to the files it finds,
            // as helm's template command does.
            let first = run(cmd, tmp.path());
            let mut again = if tool == "helm" {
                Command::new("helm")
            } else {
                Command::new(env!("CARGO_BIN_EXE_rudder"))
            };
            again
                .args(["template", "r", "c", "--output-dir", dir])
                .args(extra);
            let second = run(again, tmp.path());
            assert!(
                first.ok && second.ok,
                "{tool} {extra:?}: {}{}",
                first.stderr,
                second.stderr
            );
            let stdout = format!("{}{}", first.stdout, second.stdout).replace(dir, "OUT");
            outputs.push((stdout, tree(&tmp.path().join(dir))));
            std::fs::remove_dir_all(tmp.path().join(dir)).expect("cleanup");
        }
        assert_eq!(outputs[0].0, outputs[1].0, "{extra:?}: stdout differs");
        assert_eq!(outputs[0].1, outputs[1].1, "{extra:?}: files differ");
    }
}

#[test]
fn debug_prints_the_invalid_yaml_as_helm_does() {
    helm_present();
    let tmp = tempfile::tempdir().expect("tempdir");
    let c = fixture(tmp.path());
    write(
        &c.join("templates/bad.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bad\n  x: [\n",
    );
    let (h, r) = both(tmp.path(), &["r", "c"]);
    assert!(!h.ok && !r.ok);
    assert_eq!(error_line(&h.stderr), error_line(&r.stderr));
    assert!(r.stderr.contains("Use --debug flag"));
    let (h, r) = both(tmp.path(), &["r", "c", "--debug"]);
    assert!(!h.ok && !r.ok, "both fail with --debug too");
    assert_eq!(error_line(&h.stderr), error_line(&r.stderr));
    // Helm prints the files in Go's random map order: compare as blocks.
    let blocks = |s: &str| {
        let mut b: Vec<String> = s.split("---\n").map(|x| x.trim().to_string()).collect();
        b.sort();
        b
    };
    assert_eq!(blocks(&h.stdout), blocks(&r.stdout));
    assert!(r.stdout.contains("# Source: c/templates/bad.yaml"));
}

/// helm's `level=…` notices on stderr (its other log lines aside).
fn notices(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| {
            l.contains("found symbolic link")
                || l.contains("chart is deprecated")
                || l.contains("non-bool value")
        })
        .map(str::to_string)
        .collect()
}

#[test]
fn directory_symlinks_are_followed_with_helms_notice() {
    helm_present();
    let tmp = tempfile::tempdir().expect("tempdir");
    let c = fixture(tmp.path());
    let outside = tmp.path().join("outside");
    write(&outside.join("file.txt"), "hello\n");
    let manifests = tmp.path().join("manifests");
    write(
        &manifests.join("o.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: o\n",
    );
    std::os::unix::fs::symlink(&manifests, c.join("templates/linked")).expect("dir symlink");
    std::os::unix::fs::symlink(outside.join("file.txt"), c.join("linked.txt")).expect("symlink");
    write(
        &c.join("templates/f.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: f\ndata:\n  f: {{ .Files.Get \"linked.txt\" | quote }}\n",
    );
    let (h, r) = both(
        tmp.path(),
        &[
            "r",
            "c",
            "-s",
            "templates/f.yaml",
            "-s",
            "templates/linked/o.yaml",
        ],
    );
    assert!(h.ok && r.ok, "helm: {}\nrudder: {}", h.stderr, r.stderr);
    assert_eq!(h.stdout, r.stdout);
    assert!(r.stdout.contains("f: \"hello\\n\""), "{}", r.stdout);
    assert_eq!(notices(&h.stderr), notices(&r.stderr));
    assert_eq!(notices(&r.stderr).len(), 2, "{}", r.stderr);
}

#[test]
fn a_symlink_loop_is_an_error_not_a_hang() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let c = fixture(tmp.path());
    std::os::unix::fs::symlink(&c, c.join("templates/loop")).expect("loop symlink");
    let mut r = Command::new(env!("CARGO_BIN_EXE_rudder"));
    r.args(["template", "r", "c"]);
    let r = run(r, tmp.path());
    assert!(!r.ok);
    assert!(r.stderr.contains("symlink loop"), "{}", r.stderr);
}

#[test]
fn archive_symlink_entries_are_ignored_as_helm_ignores_them() {
    helm_present();
    let tmp = tempfile::tempdir().expect("tempdir");
    let src = tmp.path().join("src");
    let c = fixture(&src);
    write(
        &c.join("templates/f.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: f\ndata:\n  a: {{ .Files.Get \"in.txt\" | quote }}\n  b: {{ .Files.Get \"out.txt\" | quote }}\n",
    );
    write(&c.join("real.txt"), "inner\n");
    std::os::unix::fs::symlink("real.txt", c.join("in.txt")).expect("symlink");
    std::os::unix::fs::symlink("/etc/hostname", c.join("out.txt")).expect("symlink");
    let tar = Command::new("tar")
        .args(["-czf", "../c.tgz", "c"])
        .current_dir(&src)
        .status()
        .expect("tar");
    assert!(tar.success());
    let (h, r) = both(tmp.path(), &["r", "c.tgz", "-s", "templates/f.yaml"]);
    assert!(h.ok && r.ok, "helm: {}\nrudder: {}", h.stderr, r.stderr);
    assert_eq!(h.stdout, r.stdout);
}

#[test]
fn deprecated_charts_get_helms_warning() {
    helm_present();
    let tmp = tempfile::tempdir().expect("tempdir");
    let c = fixture(tmp.path());
    write(
        &c.join("Chart.yaml"),
        "apiVersion: v2\nname: c\nversion: 0.1.0\ndeprecated: true\n",
    );
    let (h, r) = both(tmp.path(), &["r", "c"]);
    assert!(h.ok && r.ok);
    assert_eq!(h.stdout, r.stdout);
    assert_eq!(notices(&h.stderr), notices(&r.stderr));
    assert_eq!(
        notices(&r.stderr),
        ["level=WARN msg=\"this chart is deprecated\""]
    );
}

#[test]
fn non_bool_conditions_and_tags_get_helms_warnings() {
    helm_present();
    let tmp = tempfile::tempdir().expect("tempdir");
    let p = tmp.path().join("p");
    write(
        &p.join("Chart.yaml"),
        "apiVersion: v2\nname: p\nversion: 0.1.0\ndependencies:\n- name: sub\n  version: 0.1.0\n  condition: sub.enabled,other.flag,sub.go\n  tags: [front, back]\n",
    );
    write(
        &p.join("values.yaml"),
        "sub:\n  enabled: \"yes\"\n  go: true\nother:\n  flag: 1\ntags:\n  front: maybe\n  back: false\n",
    );
    write(
        &p.join("charts/sub/Chart.yaml"),
        "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
    );
    write(
        &p.join("charts/sub/templates/s.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: s\n",
    );
    let (h, r) = both(tmp.path(), &["r", "p"]);
    assert!(h.ok && r.ok, "helm: {}\nrudder: {}", h.stderr, r.stderr);
    assert_eq!(h.stdout, r.stdout);
    assert!(
        r.stdout.contains("name: s"),
        "the bool condition enables it: {}",
        r.stdout
    );
    assert_eq!(notices(&h.stderr), notices(&r.stderr));
    assert_eq!(notices(&r.stderr).len(), 3, "{}", r.stderr);
}
