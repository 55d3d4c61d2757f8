//! Differential tests: small templates rendered by the real `helm` (v4, the
//! oracle) and by `rudder`, compared byte for byte.
//!
//! Case files live under `tests/cases/**/*.txt`:
//!
//! ```text
//! === case-name
//! --- values
//! (optional YAML values)
//! --- template
//! (template text)
//! === another-case (error)
//! --- template
//! {{ fail "x" }}
//! ```
//!
//! Non-error cases of one file are batched into one chart: each case is a
//! subchart `cN` whose `templates/NOTES.txt` is the case template between
//! markers, with the case values as its values.yaml. Helm renders them with
//! `helm install --dry-run=client --render-subchart-notes` (NOTES are plain
//! text, not parsed as YAML, so any output can be compared), rudder with
//! `rudder template --notes --render-subchart-notes`; the text between each
//! case's markers must be identical. Error cases get a chart of their own
//! (`templates/case.yaml`), run through `helm template` and `rudder
//! template`: both must fail with the same message (the temporary path is
//! the only thing normalised). Requires `helm` on PATH
//! (`../shared/tools/install-helm`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, Clone)]
struct Case {
    file: String,
    name: String,
    error: bool,
    values: String,
    template: String,
}

/// Parses one case file.
fn parse_cases(file: &str, text: &str) -> Vec<Case> {
    let mut cases = Vec::new();
    let mut cur: Option<Case> = None;
    let mut section = "";
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']);
        if let Some(header) = bare.strip_prefix("=== ") {
            if let Some(c) = cur.take() {
                cases.push(c);
            }
            let header = header.trim();
            let (name, error) = match header.strip_suffix("(error)") {
                Some(n) => (n.trim().to_string(), true),
                None => (header.to_string(), false),
            };
            cur = Some(Case {
                file: file.to_string(),
                name,
                error,
                values: String::new(),
                template: String::new(),
            });
            section = "";
            continue;
        }
        if bare == "--- values" {
            section = "values";
            continue;
        }
        if bare == "--- template" {
            section = "template";
            continue;
        }
        if let Some(c) = cur.as_mut() {
            match section {
                "values" => c.values.push_str(line),
                "template" => c.template.push_str(line),
                _ => {}
            }
        }
    }
    if let Some(c) = cur.take() {
        cases.push(c);
    }
    // The newline before the next `===` belongs to the file layout, not the case.
    for c in &mut cases {
        if c.template.ends_with('\n') {
            c.template.pop();
        }
    }
    cases
}

fn case_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            case_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "txt") {
            out.push(p);
        }
    }
}

fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(path, text).expect("write");
}

fn begin(i: usize) -> String {
    format!("[[case:{i}]]")
}

fn end(i: usize) -> String {
    format!("[[/case:{i}]]")
}

/// Builds the batch chart: one subchart per case.
fn batch_chart(root: &Path, cases: &[&Case]) {
    write(
        &root.join("Chart.yaml"),
        "apiVersion: v2\nname: diff\nversion: 0.1.0\n",
    );
    for (i, c) in cases.iter().enumerate() {
        let sub = root.join(format!("charts/c{i}"));
        write(
            &sub.join("Chart.yaml"),
            &format!("apiVersion: v2\nname: c{i}\nversion: 0.1.0\n"),
        );
        write(&sub.join("values.yaml"), &c.values);
        write(
            &sub.join("templates/NOTES.txt"),
            &format!("{}{}{}", begin(i), c.template, end(i)),
        );
    }
}

/// The text between case `i`'s markers, if present.
fn extract(out: &str, i: usize) -> Option<String> {
    let b = begin(i);
    let e = end(i);
    let start = out.find(&b)? + b.len();
    let stop = out[start..].find(&e)? + start;
    Some(out[start..stop].to_string())
}

fn run(cmd: &mut Command) -> (bool, String, String) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn helm() -> Command {
    Command::new("helm")
}

fn rudder() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rudder"))
}

fn check_batch(tmp: &Path, idx: usize, cases: &[&Case], failures: &mut Vec<String>) {
    if cases.is_empty() {
        return;
    }
    let root = tmp.join(format!("batch{idx}"));
    batch_chart(&root, cases);
    let (hok, hout, herr) = run(helm().args(["install", "r"]).arg(&root).args([
        "--dry-run=client",
        "--render-subchart-notes",
        "-n",
        "default",
    ]));
    let (rok, rout, rerr) = run(rudder()
        .args(["template", "r"])
        .arg(&root)
        .args(["--notes", "--render-subchart-notes"]));
    if !hok || !rok {
        // One case broke the whole batch: retry each case on its own.
        if cases.len() > 1 {
            for (j, c) in cases.iter().enumerate() {
                check_batch(tmp, idx * 1000 + j + 1, &[c], failures);
            }
            return;
        }
        let c = cases[0];
        failures.push(format!(
            "{}: {}: helm ok={hok} rudder ok={rok}\n  helm: {}\n  rudder: {}",
            c.file,
            c.name,
            herr.trim(),
            rerr.trim()
        ));
        return;
    }
    for (i, c) in cases.iter().enumerate() {
        let h = extract(&hout, i);
        let r = extract(&rout, i);
        if h != r {
            failures.push(format!(
                "{}: {}:\n  helm:   {:?}\n  rudder: {:?}",
                c.file, c.name, h, r
            ));
        }
    }
}

fn check_error_case(tmp: &Path, idx: usize, c: &Case, failures: &mut Vec<String>) {
    let root = tmp.join(format!("err{idx}"));
    write(
        &root.join("Chart.yaml"),
        "apiVersion: v2\nname: case\nversion: 0.1.0\n",
    );
    write(&root.join("values.yaml"), &c.values);
    write(&root.join("templates/case.yaml"), &c.template);
    let (hok, _, herr) = run(helm().args(["template", "r"]).arg(&root));
    let (rok, rout, rerr) = run(rudder().args(["template", "r"]).arg(&root));
    let norm = |s: &str| {
        s.replace(&root.display().to_string(), "CHART")
            .trim_end()
            .to_string()
    };
    if hok {
        failures.push(format!(
            "{}: {}: marked (error) but helm succeeded",
            c.file, c.name
        ));
    } else if rok {
        failures.push(format!(
            "{}: {}: helm failed, rudder succeeded:\n  helm: {}\n  rudder stdout: {}",
            c.file,
            c.name,
            norm(&herr),
            rout.trim()
        ));
    } else if norm(&herr) != norm(&rerr) {
        failures.push(format!(
            "{}: {}: error differs:\n  helm:   {:?}\n  rudder: {:?}",
            c.file,
            c.name,
            norm(&herr),
            norm(&rerr)
        ));
    }
}

#[test]
fn templates_render_like_helm() {
    let helm_ok = Command::new("helm")
        .arg("version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        helm_ok,
        "the differential tests need the real `helm` v4 on PATH: run ../shared/tools/install-helm and add ~/.local/bin to PATH"
    );
    let cases_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut files = Vec::new();
    case_files(&cases_dir, &mut files);
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut failures = Vec::new();
    let mut total = 0;
    for (fi, f) in files.iter().enumerate() {
        let rel = f
            .strip_prefix(&cases_dir)
            .unwrap_or(f)
            .display()
            .to_string();
        let text = std::fs::read_to_string(f).expect("read case file");
        let cases = parse_cases(&rel, &text);
        total += cases.len();
        let normal: Vec<&Case> = cases.iter().filter(|c| !c.error).collect();
        check_batch(tmp.path(), fi + 1, &normal, &mut failures);
        for (ci, c) in cases.iter().filter(|c| c.error).enumerate() {
            check_error_case(tmp.path(), fi * 1000 + ci, c, &mut failures);
        }
    }
    let mut report = String::new();
    for f in &failures {
        let _ = writeln!(report, "- {f}");
    }
    eprintln!(
        "differential: {} of {total} cases match helm",
        total - failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {total} cases differ from helm:\n{report}",
        failures.len()
    );
}

#[test]
fn case_file_format_parses() {
    let cases = parse_cases(
        "x.txt",
        "=== a\n--- values\nk: 1\n--- template\n{{ .Values.k }}\n=== b (error)\n--- template\n{{ fail \"x\" }}\n",
    );
    assert_eq!(cases.len(), 2);
    assert_eq!(cases[0].values, "k: 1\n");
    assert_eq!(cases[0].template, "{{ .Values.k }}");
    assert!(cases[1].error && cases[1].name == "b");
}
