//! Self-check of the Go-template engine alone against the real `helm`:
//! every case of `tests/cases/engine/*.txt` is rendered by helm (live, in a
//! scratch chart under the system temp dir) and by rudder's
//! [`rudder::render::gotmpl::TemplateSet`] in-process, and the outputs (or
//! Helm's final error texts) must be byte-identical.
//!
//! Non-error cases are the chart's `templates/NOTES.txt` (plain text, shown
//! by `helm install --dry-run=client`); error cases are
//! `templates/case.yaml` run through `helm template`. Cases whose template
//! calls a function rudder does not have yet are reported and skipped (the
//! full `rudder template` differential suite in `tests/differential.rs`
//! covers them once every function exists).

use std::path::{Path, PathBuf};
use std::process::Command;

use rudder::render::gotmpl::{FuncTable, TemplateSet};
use rudder::render::value::{Map, Value};

struct Case {
    file: String,
    name: String,
    error: bool,
    values: String,
    template: String,
}

fn parse_cases(file: &str, text: &str) -> Vec<Case> {
    let mut cases = Vec::new();
    let mut cur: Option<Case> = None;
    let mut section = "";
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']);
        if let Some(header) = bare.strip_prefix("=== ") {
            cases.extend(cur.take());
            let header = header.trim();
            let (name, error) = match header.strip_suffix("(error)") {
                Some(n) => (n.trim().to_string(), true),
                None => (header.to_string(), false),
            };
            cur = Some(Case {
                file: file.into(),
                name,
                error,
                values: String::new(),
                template: String::new(),
            });
            section = "";
            continue;
        }
        match bare {
            "--- values" => section = "values",
            "--- template" => section = "template",
            _ => {
                if let Some(c) = cur.as_mut() {
                    match section {
                        "values" => c.values.push_str(line),
                        "template" => c.template.push_str(line),
                        _ => {}
                    }
                }
            }
        }
    }
    cases.extend(cur);
    cases
}

const BEGIN: &str = "<<<CASE-BEGIN>>>";
const END: &str = "<<<CASE-END>>>";

fn helm_bin() -> Option<PathBuf> {
    let mut candidates = vec![PathBuf::from("helm")];
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(Path::new(&home).join(".local/bin/helm"));
    }
    candidates.into_iter().find(|c| {
        Command::new(c)
            .arg("version")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    })
}

fn write_chart(dir: &Path, case: &Case) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    std::fs::write(
        dir.join("Chart.yaml"),
        "apiVersion: v2\nname: mychart\nversion: 0.1.0\n",
    )
    .unwrap();
    std::fs::write(dir.join("values.yaml"), &case.values).unwrap();
    if case.error {
        std::fs::write(dir.join("templates/case.yaml"), &case.template).unwrap();
    } else {
        std::fs::write(
            dir.join("templates/NOTES.txt"),
            format!("{BEGIN}{}{END}", case.template),
        )
        .unwrap();
    }
}

/// Helm's result: `Ok(output)` or `Err(final error text)`.
fn run_helm(helm: &Path, dir: &Path, case: &Case) -> Result<String, String> {
    let mut cmd = Command::new(helm);
    if case.error {
        cmd.args(["template", "r"]).arg(dir);
    } else {
        cmd.args(["install", "r"]).arg(dir).arg("--dry-run=client");
    }
    let out = cmd.output().expect("run helm");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    if !out.status.success() {
        let msg = stderr.strip_prefix("Error: ").unwrap_or(&stderr);
        let msg = msg.strip_prefix("INSTALLATION FAILED: ").unwrap_or(msg);
        let msg = msg
            .trim_end()
            .strip_suffix("Use --debug flag to render out invalid YAML")
            .unwrap_or(msg);
        return Err(msg.trim_end().to_string());
    }
    if case.error {
        return Ok(stdout);
    }
    let start = stdout.find(BEGIN).map(|i| i + BEGIN.len()).unwrap_or(0);
    let end = stdout.rfind(END).unwrap_or(stdout.len());
    Ok(stdout[start..end.max(start)].to_string())
}

fn data_for(case: &Case, template: &str) -> Value {
    let values = rudder::render::yaml::parse_values(&case.values).expect("values parse");
    let values = if values.is_nil() {
        Value::empty_map()
    } else {
        values
    };
    let mut release = Map::new();
    release.insert("Name".into(), Value::str("r"));
    release.insert("Namespace".into(), Value::str("default"));
    release.insert("Revision".into(), Value::Int(1));
    release.insert("IsInstall".into(), Value::Bool(true));
    release.insert("IsUpgrade".into(), Value::Bool(false));
    release.insert("Service".into(), Value::str("Helm"));
    let mut chart = Map::new();
    chart.insert("Name".into(), Value::str("mychart"));
    chart.insert("Version".into(), Value::str("0.1.0"));
    chart.insert("APIVersion".into(), Value::str("v2"));
    let mut tpl = Map::new();
    tpl.insert("Name".into(), Value::str(template));
    tpl.insert("BasePath".into(), Value::str("mychart/templates"));
    let mut top = Map::new();
    top.insert("Values".into(), values);
    top.insert("Release".into(), Value::map(release));
    top.insert("Chart".into(), Value::map(chart));
    top.insert("Template".into(), Value::map(tpl));
    Value::map(top)
}

fn run_rudder(case: &Case) -> Result<String, String> {
    let file = if case.error {
        "mychart/templates/case.yaml"
    } else {
        "mychart/templates/NOTES.txt"
    };
    let text = if case.error {
        case.template.clone()
    } else {
        format!("{BEGIN}{}{END}", case.template)
    };
    let mut set = TemplateSet::with_funcs(FuncTable::standard());
    set.parse(file, &text).map_err(|e| e.to_string())?;
    let out = set
        .execute(file, &data_for(case, file))
        .map_err(|e| e.to_string())?;
    if case.error {
        return Ok(out);
    }
    let start = out.find(BEGIN).map(|i| i + BEGIN.len()).unwrap_or(0);
    let end = out.rfind(END).unwrap_or(out.len());
    Ok(out[start..end.max(start)].to_string())
}

fn missing_function(rudder: &Result<String, String>) -> Option<String> {
    let e = rudder.as_ref().err()?;
    let i = e.find("function \"")?;
    let rest = &e[i + 10..];
    let name = &rest[..rest.find('"')?];
    rest.contains("not defined").then(|| name.to_string())
}

#[test]
fn engine_cases_match_helm() {
    let Some(helm) = helm_bin() else {
        panic!("needs the real `helm` v4 (../shared/tools/install-helm; ~/.local/bin on PATH)");
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/engine");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let scratch = std::env::temp_dir().join(format!("rudder-engine-cases-{}", std::process::id()));
    let only = std::env::var("ENGINE_CASE").ok();
    let (mut failures, mut skipped, mut total) = (vec![], vec![], 0);
    for f in files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
    {
        let text = std::fs::read_to_string(f).unwrap();
        let fname = f.file_name().unwrap().to_string_lossy().to_string();
        for case in parse_cases(&fname, &text) {
            if only.as_deref().is_some_and(|o| !case.name.contains(o)) {
                continue;
            }
            total += 1;
            let dir = scratch.join("mychart");
            write_chart(&dir, &case);
            let h = run_helm(&helm, &dir, &case);
            let r = run_rudder(&case);
            if h.is_err() != case.error {
                failures.push(format!(
                    "{}: {}: case marked error={} but helm gave {:?}",
                    case.file, case.name, case.error, h
                ));
                continue;
            }
            if std::env::var_os("ENGINE_CASE_SHOW").is_some() {
                eprintln!("== {}\n  helm:   {:?}\n  rudder: {:?}", case.name, h, r);
            }
            if h == r {
                continue;
            }
            if let Some(name) = missing_function(&r)
                && h.as_ref().err().is_none_or(|e| !e.contains("not defined"))
            {
                skipped.push(format!("{}: {} (function {name})", case.file, case.name));
                continue;
            }
            failures.push(format!(
                "{}: {}:\n  helm:   {:?}\n  rudder: {:?}",
                case.file, case.name, h, r
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    if !skipped.is_empty() {
        eprintln!(
            "skipped {} cases needing functions rudder lacks so far:\n  {}",
            skipped.len(),
            skipped.join("\n  ")
        );
    }
    eprintln!(
        "engine cases: {} of {total} match helm",
        total - failures.len() - skipped.len()
    );
    assert!(
        failures.is_empty(),
        "{} cases differ from helm:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
