//! `.Values` parity with Helm, independent of the template engine: for every
//! corpus chart (golden args), a probe template `{{ toJson .Values }}` is
//! added to a copy of the chart and each of its (non-library) subcharts;
//! helm renders the copy, and rudder's prepared render context (dependencies
//! processed, values coalesced, subchart scoping) must hold the same values
//! for every probe helm printed.

use std::path::{Path, PathBuf};
use std::process::Command;

use rudder::action::{RenderOptions, prepare};
use rudder::cli::template::{TemplateArgs, merge_values};
use rudder::godata::value::Value;

const PROBE: &str = "zz-values-probe.yaml";
const DEEP: &str = "p/p/p/p/p/p/p/p/p/p/p/p";

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

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir").flatten() {
        let p = e.path();
        let t = to.join(e.file_name());
        if p.is_dir() {
            copy_dir(&p, &t);
        } else {
            std::fs::copy(&p, &t).expect("copy");
        }
    }
}

/// Adds the probe to a chart directory and its subchart directories.
fn add_probes(dir: &Path) {
    let chart_yaml = std::fs::read_to_string(dir.join("Chart.yaml")).unwrap_or_default();
    if !chart_yaml.lines().any(|l| l.trim() == "type: library") {
        // Deeply nested so it executes before every real template (Helm runs
        // the deepest paths first) and sees values before templates mutate them.
        let t = dir.join(format!("templates/{DEEP}"));
        std::fs::create_dir_all(&t).expect("mkdir templates");
        std::fs::write(t.join(PROBE), "probe: {{ toJson .Values | quote }}\n")
            .expect("write probe");
    }
    if let Ok(entries) = std::fs::read_dir(dir.join("charts")) {
        for e in entries.flatten() {
            if e.path().is_dir() {
                add_probes(&e.path());
            }
        }
    }
}

/// Probe path → JSON text, from `helm template` output.
fn helm_probes(out: &str) -> Vec<(String, String)> {
    let mut res = Vec::new();
    for block in out.split("---\n# Source: ") {
        let Some((path, body)) = block.split_once('\n') else {
            continue;
        };
        if !path.ends_with(PROBE) {
            continue;
        }
        let v = rudder::godata::yaml::parse_any(body).expect("probe yaml");
        let json = v.as_map().and_then(|m| {
            m.borrow()
                .get("probe")
                .and_then(|p| p.as_str().map(str::to_string))
        });
        res.push((path.to_string(), json.expect("probe string")));
    }
    res
}

struct Golden {
    release: String,
    chart: String,
    args: TemplateArgs,
    opts: RenderOptions,
}

fn parse_args(lines: &[String]) -> Golden {
    let mut args = TemplateArgs {
        namespace: "default".into(),
        ..Default::default()
    };
    let mut pos = Vec::new();
    let mut i = 1;
    while i < lines.len() {
        let a = lines[i].as_str();
        let next = || lines.get(i + 1).cloned().unwrap_or_default();
        match a {
            "-f" | "--values" => args.values.push(next()),
            "--set" => args.set.push(next()),
            "--set-string" => args.set_string.push(next()),
            "-n" | "--namespace" => args.namespace = next(),
            "--kube-version" => args.kube_version = Some(next()),
            "--api-versions" | "-a" => args.api_versions.push(next()),
            "--include-crds" | "--skip-tests" => {
                i += 1;
                continue;
            }
            other => {
                pos.push(other.to_string());
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    let opts = RenderOptions {
        release_name: pos[0].clone(),
        namespace: args.namespace.clone(),
        kube_version: args
            .kube_version
            .as_deref()
            .map(|v| rudder::render::context::KubeVersion::parse(v).expect("kube version")),
        api_versions: args.api_versions.clone(),
        ..Default::default()
    };
    Golden {
        release: pos[0].clone(),
        chart: pos[1].clone(),
        args,
        opts,
    }
}

#[test]
fn values_match_helm_for_every_corpus_chart() {
    let charts = shared_charts();
    let mut names: Vec<String> = std::fs::read_dir(charts.join("golden"))
        .expect("golden dir")
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".args"))
                .map(str::to_string)
        })
        .collect();
    names.sort();
    let tmp = tempfile::tempdir().expect("tmp");
    let mut failures = Vec::new();
    for name in &names {
        let lines: Vec<String> =
            std::fs::read_to_string(charts.join(format!("golden/{name}.args")))
                .expect("args")
                .lines()
                .map(str::to_string)
                .collect();
        let g = parse_args(&lines);
        let copy: PathBuf = tmp.path().join(name);
        copy_dir(&charts.join(&g.chart), &copy);
        add_probes(&copy);
        let mut helm_args: Vec<String> = lines.clone();
        let idx = helm_args
            .iter()
            .position(|a| *a == g.chart)
            .expect("chart arg");
        helm_args[idx] = copy.display().to_string();
        let out = Command::new("helm")
            .args(&helm_args)
            .current_dir(&charts)
            .output()
            .expect("run helm");
        assert!(
            out.status.success(),
            "helm failed on {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let probes = helm_probes(&String::from_utf8_lossy(&out.stdout));
        assert!(!probes.is_empty(), "{name}: no probes in helm output");

        let cwd = std::env::current_dir().expect("cwd");
        std::env::set_current_dir(&charts).expect("chdir");
        let vals = merge_values(&g.args);
        std::env::set_current_dir(cwd).expect("chdir back");
        let vals = vals.expect("merge values");
        let chart = rudder::chart::load(&copy).expect("load");
        let jobs = prepare(chart, &vals, &g.opts).expect("prepare").jobs;
        for (path, helm_json) in probes {
            let Some(job) = jobs.iter().find(|j| j.name == path) else {
                failures.push(format!("{name}: rudder has no template {path}"));
                continue;
            };
            let values = job
                .context
                .as_map()
                .and_then(|m| m.borrow().get("Values").cloned())
                .unwrap_or(Value::Nil);
            let ours = rudder::godata::json::to_json(&values).expect("to_json");
            if ours != helm_json {
                let at = ours
                    .bytes()
                    .zip(helm_json.bytes())
                    .position(|(a, b)| a != b)
                    .unwrap_or(0);
                let lo = at.saturating_sub(80);
                failures.push(format!(
                    "{name} ({}): {path}: values differ at byte {at}:\n  helm:   ...{}\n  rudder: ...{}",
                    g.release,
                    &helm_json[lo..(at + 80).min(helm_json.len())],
                    &ours[lo..(at + 80).min(ours.len())]
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} probes differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
