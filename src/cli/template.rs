//! `rudder template`: renders a chart locally exactly as `helm template`
//! does, with helm's flag spellings, so `rudder $(cat golden/NAME.args)`
//! reproduces helm's output. Errors go to stderr as `Error: ...`.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use clap::Args;

use crate::action::{self, RenderOptions, Teardown};
use crate::chart::{self, strvals, yamlio};
use crate::godata::value::{Map, Value};
use crate::render::RENDER_STACK;
use crate::render::context::KubeVersion;
use crate::render::parse_ahead::ParseAhead;

/// Arguments of `rudder template [NAME] CHART`.
#[derive(Args, Debug, Clone, Default)]
pub struct TemplateArgs {
    /// Release name, then chart (a directory or a .tgz). With one argument
    /// it is the chart and the release is called "release-name".
    #[arg(value_name = "NAME CHART", num_args = 1..)]
    pub args: Vec<String>,
    /// Namespace of the release.
    #[arg(short = 'n', long = "namespace", default_value = "default")]
    pub namespace: String,
    /// Values files (YAML), later ones win.
    #[arg(short = 'f', long = "values")]
    pub values: Vec<String>,
    /// Values on the command line (`a.b=c,d[0]=e`).
    #[arg(long = "set")]
    pub set: Vec<String>,
    /// Values on the command line, always strings.
    #[arg(long = "set-string")]
    pub set_string: Vec<String>,
    /// Values on the command line as JSON (`a.b=[1,2]`, or a whole
    /// `{"a": …}` object).
    #[arg(long = "set-json")]
    pub set_json: Vec<String>,
    /// Values read from files (`key=path`: the file's text is the value).
    #[arg(long = "set-file")]
    pub set_file: Vec<String>,
    /// Values on the command line taken literally (no escapes, no commas).
    #[arg(long = "set-literal")]
    pub set_literal: Vec<String>,
    /// Kubernetes version for `.Capabilities.KubeVersion`.
    #[arg(long = "kube-version")]
    pub kube_version: Option<String>,
    /// Extra API versions for `.Capabilities.APIVersions` (repeatable,
    /// comma-separated).
    #[arg(short = 'a', long = "api-versions", value_delimiter = ',')]
    pub api_versions: Vec<String>,
    /// Print the chart's `crds/` files too.
    #[arg(long = "include-crds")]
    pub include_crds: bool,
    /// Leave out test hooks.
    #[arg(long = "skip-tests")]
    pub skip_tests: bool,
    /// Set `.Release.IsUpgrade` instead of `.Release.IsInstall`.
    #[arg(long = "is-upgrade")]
    pub is_upgrade: bool,
    /// Print the rendered NOTES.txt after the manifests.
    #[arg(long = "notes")]
    pub notes: bool,
    /// Render subcharts' NOTES.txt too (with `--notes`).
    #[arg(long = "render-subchart-notes")]
    pub render_subchart_notes: bool,
    /// Version constraint of a remote chart (`oci://…` or with `--repo`).
    #[arg(long = "version", default_value = "")]
    pub version: String,
    /// Repository URL holding the chart named by CHART.
    #[arg(long = "repo")]
    pub repo: Option<String>,
    /// Talk plain HTTP to an OCI registry.
    #[arg(long = "plain-http")]
    pub plain_http: bool,
}

/// Runs `rudder template`; prints the manifests or `Error: ...`.
pub fn run(args: TemplateArgs) -> ExitCode {
    crate::render::place_helpers_off_caller();
    // Deeply recursive charts (include chains) need a big stack: the render
    // runs on this thread, switched to a stack of `RENDER_STACK` (a thread
    // of its own would allocate from glibc's second arena, which belongs to
    // the head reader). It prints the output itself, piece by piece, and
    // leaves its memory to the exit.
    let render = || {
        let mut stdout = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
        render_to(&args, Teardown::LeaveToExit, &mut stdout)?;
        stdout.flush().map_err(|_| Failure::Write)
    };
    let result =
        stacker::grow(RENDER_STACK, || std::panic::catch_unwind(render)).unwrap_or_else(|_| {
            Err(Failure::Render(
                "rendering template failed: internal error".into(),
            ))
        });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Write) => ExitCode::FAILURE,
        Err(Failure::Render(msg)) => {
            eprintln!("Error: {msg}");
            ExitCode::FAILURE
        }
    }
}

/// Why `rudder template` printed no (complete) output.
enum Failure {
    /// Helm's error text, printed after `Error: `.
    Render(String),
    /// Standard output could not be written.
    Write,
}

impl From<String> for Failure {
    fn from(msg: String) -> Failure {
        Failure::Render(msg)
    }
}

/// Renders and returns what `helm template` would print, or helm's error text.
pub fn render(args: &TemplateArgs) -> Result<String, String> {
    let mut out = Vec::new();
    match render_to(args, Teardown::Free, &mut out) {
        Ok(()) => Ok(crate::render::manifest::output_text(out)),
        Err(Failure::Render(msg)) => Err(msg),
        Err(Failure::Write) => Err("cannot write the output".into()),
    }
}

/// Renders and writes what `helm template` would print to `out` (nothing
/// when rendering fails). With [`Teardown::LeaveToExit`] (the `rudder
/// template` process, which exits after printing) nothing is freed piece by
/// piece.
fn render_to(args: &TemplateArgs, teardown: Teardown, out: &mut dyn Write) -> Result<(), Failure> {
    let (name, chart_ref) = match args.args.as_slice() {
        [chart] => ("release-name".to_string(), chart.clone()),
        [name, chart] => (name.clone(), chart.clone()),
        [_, _, rest @ ..] => {
            return Err(Failure::Render(format!(
                "expected at most two arguments, unexpected arguments: {}",
                rest.join(", ")
            )));
        }
        [] => {
            return Err(Failure::Render(
                "\"rudder template\" requires at least 1 argument".into(),
            ));
        }
    };
    let kube_version = match &args.kube_version {
        Some(v) => {
            Some(KubeVersion::parse(v).map_err(|e| format!("invalid kube version '{v}': {e}"))?)
        }
        None => None,
    };
    // Helm finds the chart, then reads the values, then loads the chart;
    // rudder loads first so that the templates are parsing (on a second
    // thread) while the values are read, and reports in Helm's order.
    let chart = load_chart(locate_chart(args, &chart_ref)?);
    let ahead = chart.as_ref().ok().and_then(ParseAhead::start);
    let vals = merge_values(args)?;
    let chart = chart?;
    let opts = RenderOptions {
        release_name: name,
        namespace: args.namespace.clone(),
        revision: 1,
        is_upgrade: args.is_upgrade,
        kube_version,
        api_versions: args
            .api_versions
            .iter()
            .filter(|s| !s.is_empty())
            .cloned()
            .collect(),
        api_versions_replace: None,
        include_crds: args.include_crds,
        skip_tests: args.skip_tests,
        subchart_notes: args.render_subchart_notes,
    };
    let rendered = action::render_with(chart, ahead, &vals, &opts, teardown).map_err(|e| {
        if e.has_debug_hint() {
            format!("{e}\n\nUse --debug flag to render out invalid YAML")
        } else {
            e.to_string()
        }
    })?;
    rendered
        .write_template_output(out, args.include_crds, args.skip_tests, args.notes)
        .map_err(|_| Failure::Write)?;
    if teardown == Teardown::LeaveToExit {
        std::mem::forget(rendered);
        std::mem::forget(vals);
    }
    Ok(())
}

/// A chart found as Helm's `LocateChart` finds it, not yet loaded.
enum Located<'a> {
    /// A local folder or archive.
    Local(&'a Path),
    /// A remote chart's archive (`oci://…` or `--repo`), downloaded and
    /// verified.
    Fetched(Vec<u8>),
}

/// Helm's `LocateChart`: a remote chart is downloaded, a local one must
/// exist.
fn locate_chart<'a>(args: &TemplateArgs, chart_ref: &'a str) -> Result<Located<'a>, String> {
    if chart_ref.starts_with("oci://") || args.repo.is_some() {
        let bytes = super::repo::fetch_chart_archive(
            chart_ref,
            args.repo.as_deref(),
            &args.version,
            args.plain_http,
        )?;
        return Ok(Located::Fetched(bytes));
    }
    let path = Path::new(chart_ref);
    if path.exists() {
        return Ok(Located::Local(path));
    }
    if chart_ref.starts_with('.') || chart_ref.starts_with('/') || chart_ref.contains('/') {
        return Err(format!("path {chart_ref:?} not found"));
    }
    Err(format!(
        "non-absolute URLs should be in form of repo_name/path_to_chart, got: {chart_ref}"
    ))
}

/// Helm's `loader.Load` of a located chart.
fn load_chart(located: Located) -> Result<chart::Chart, String> {
    match located {
        Located::Fetched(bytes) => chart::load::load_archive(&bytes),
        Located::Local(path) => chart::load::load_for_render(path),
    }
    .map_err(|e| e.to_string())
}

/// Helm's `values.Options.MergeValues`: `-f` files merged in order, then
/// `--set-json`, `--set`, `--set-string`, `--set-file`, `--set-literal`.
pub fn merge_values(args: &TemplateArgs) -> Result<Value, String> {
    let mut base = Map::new();
    for file in &args.values {
        let text = if file.trim() == "-" {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
                .map_err(|e| e.to_string())?;
            s
        } else {
            let bytes = std::fs::read(file).map_err(|e| format!("open {file}: {}", io_text(&e)))?;
            String::from_utf8_lossy(&bytes).into_owned()
        };
        let current =
            yamlio::load_values(&text).map_err(|e| format!("failed to parse {file}: {e}"))?;
        if let Some(m) = current.as_map() {
            base = yamlio::merge_maps(base, m.borrow().clone());
        }
    }
    for expr in &args.set_json {
        base = merge_set_json(base, expr)?;
    }
    let base = Value::map(base);
    for expr in &args.set {
        strvals::parse_set(expr, &base).map_err(|e| format!("failed parsing --set data: {e}"))?;
    }
    for expr in &args.set_string {
        strvals::parse_set_string(expr, &base)
            .map_err(|e| format!("failed parsing --set-string data: {e}"))?;
    }
    for expr in &args.set_file {
        strvals::parse_set_file(expr, &base, &read_set_file)
            .map_err(|e| format!("failed parsing --set-file data: {e}"))?;
    }
    for expr in &args.set_literal {
        strvals::parse_set_literal(expr, &base)
            .map_err(|e| format!("failed parsing --set-literal data: {e}"))?;
    }
    Ok(base)
}

/// One `--set-json`: a whole JSON object is merged over the values (Helm's
/// `loader.MergeMaps`); anything else is `key=JSON` expressions. Helm names
/// only the expression when either fails.
fn merge_set_json(base: Map, expr: &str) -> Result<Map, String> {
    if expr.trim_start().starts_with('{') {
        let object = crate::godata::json::parse_map(expr.trim())
            .map_err(|_| format!("failed parsing --set-json data JSON: {expr}"))?;
        return Ok(match object.as_map() {
            Some(m) => yamlio::merge_maps(base, m.borrow().clone()),
            None => base,
        });
    }
    let values = Value::map(base);
    strvals::parse_set_json(expr, &values)
        .map_err(|_| format!("failed parsing --set-json data {expr}"))?;
    let merged = values
        .as_map()
        .map(|m| std::mem::take(&mut *m.borrow_mut()));
    Ok(merged.unwrap_or_default())
}

/// Helm's `--set-file` reader: the file's text (`-` is standard input).
fn read_set_file(path: &str) -> Result<Value, String> {
    let bytes = if path == "-" {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut b).map_err(|e| e.to_string())?;
        b
    } else {
        std::fs::read(path).map_err(|e| format!("open {path}: {}", io_text(&e)))?
    };
    Ok(Value::str(String::from_utf8_lossy(&bytes).into_owned()))
}

/// Go's text for common I/O errors (`no such file or directory`).
fn io_text(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => {
            let s = e.to_string();
            match s.find(" (os error") {
                Some(i) => s[..i].to_lowercase(),
                None => s,
            }
        }
    }
}
