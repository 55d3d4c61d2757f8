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

use super::template_output::{self, OutputDir, OutputOptions};

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
    /// Only show manifests rendered from these templates (paths after the
    /// chart name, Go `filepath.Match` patterns).
    #[arg(short = 's', long = "show-only")]
    pub show_only: Vec<String>,
    /// Leave out hooks.
    #[arg(long = "no-hooks")]
    pub no_hooks: bool,
    /// Do not check values against `values.schema.json`.
    #[arg(long = "skip-schema-validation")]
    pub skip_schema_validation: bool,
    /// Write each template's manifests to a file under this directory.
    #[arg(long = "output-dir")]
    pub output_dir: Option<String>,
    /// With `--output-dir`: put the files under a directory named after the
    /// release.
    #[arg(long = "release-name")]
    pub release_name_dir: bool,
    /// Name the release by this template (Sprig functions, no data).
    #[arg(long = "name-template")]
    pub name_template: Option<String>,
    /// Generate the release name (`helm template` uses "release-name").
    #[arg(short = 'g', long = "generate-name")]
    pub generate_name: bool,
    /// On a render error, print the rendered files anyway.
    #[arg(long = "debug")]
    pub debug: bool,
    /// Use development versions too (version constraint `>0.0.0-0`).
    #[arg(long = "devel")]
    pub devel: bool,
    /// `client` (the default) renders offline; `server` needs a cluster.
    #[arg(long = "dry-run", num_args = 0..=1, default_missing_value = "unset")]
    pub dry_run: Option<String>,
    /// Deprecated: `--dry-run=server`.
    #[arg(long = "validate")]
    pub validate: bool,
    /// A post-renderer plugin (rudder has no plugins: always refused).
    #[arg(long = "post-renderer")]
    pub post_renderer: Option<String>,
    #[arg(long = "post-renderer-args")]
    pub post_renderer_args: Vec<String>,
    /// Chart repository credentials and TLS for `--repo` / `oci://` charts.
    #[arg(long = "username")]
    pub username: Option<String>,
    #[arg(long = "password")]
    pub password: Option<String>,
    #[arg(long = "pass-credentials")]
    pub pass_credentials: bool,
    #[arg(long = "ca-file")]
    pub ca_file: Option<String>,
    #[arg(long = "cert-file")]
    pub cert_file: Option<String>,
    #[arg(long = "key-file")]
    pub key_file: Option<String>,
    /// Refused: rudder always verifies TLS certificates.
    #[arg(long = "insecure-skip-tls-verify")]
    pub insecure_skip_tls_verify: bool,
    /// Refused: rudder does not check provenance files.
    #[arg(long = "verify")]
    pub verify: bool,
    #[arg(long = "keyring")]
    pub keyring: Option<String>,
    /// DNS lookups stay off: `getHostByName` returns "" (a warning says so).
    #[arg(long = "enable-dns")]
    pub enable_dns: bool,
    #[command(flatten)]
    pub no_effect: NoEffectFlags,
}

/// `helm template` flags that only matter to a real install or a cluster
/// connection; `helm template` accepts them and its output does not change,
/// and neither does rudder's.
#[derive(Args, Debug, Clone, Default)]
pub struct NoEffectFlags {
    #[arg(long = "create-namespace")]
    create_namespace: bool,
    #[arg(long = "dependency-update")]
    dependency_update: bool,
    #[arg(long = "description")]
    description: Option<String>,
    #[arg(long = "disable-openapi-validation")]
    disable_openapi_validation: bool,
    #[arg(long = "force-conflicts")]
    force_conflicts: bool,
    #[arg(long = "force-replace")]
    force_replace: bool,
    #[arg(long = "hide-notes")]
    hide_notes: bool,
    #[arg(short = 'l', long = "labels")]
    labels: Vec<String>,
    #[arg(long = "replace")]
    replace: bool,
    #[arg(long = "rollback-on-failure")]
    rollback_on_failure: bool,
    #[arg(long = "atomic", hide = true)]
    atomic: bool,
    #[arg(long = "force", hide = true)]
    force: bool,
    #[arg(long = "server-side", num_args = 0..=1, default_missing_value = "true")]
    server_side: Option<String>,
    #[arg(long = "skip-crds")]
    skip_crds: bool,
    #[arg(long = "take-ownership")]
    take_ownership: bool,
    #[arg(long = "timeout")]
    timeout: Option<String>,
    #[arg(long = "wait", num_args = 0..=1, default_missing_value = "watcher")]
    wait: Option<String>,
    #[arg(long = "wait-for-jobs")]
    wait_for_jobs: bool,
    #[arg(long = "burst-limit")]
    burst_limit: Option<String>,
    #[arg(long = "color")]
    color: Option<String>,
    #[arg(long = "colour")]
    colour: Option<String>,
    #[arg(long = "content-cache")]
    content_cache: Option<String>,
    #[arg(long = "kube-apiserver")]
    kube_apiserver: Option<String>,
    #[arg(long = "kube-as-group")]
    kube_as_group: Vec<String>,
    #[arg(long = "kube-as-user")]
    kube_as_user: Option<String>,
    #[arg(long = "kube-ca-file")]
    kube_ca_file: Option<String>,
    #[arg(long = "kube-context")]
    kube_context: Option<String>,
    #[arg(long = "kube-insecure-skip-tls-verify")]
    kube_insecure_skip_tls_verify: bool,
    #[arg(long = "kube-tls-server-name")]
    kube_tls_server_name: Option<String>,
    #[arg(long = "kube-token")]
    kube_token: Option<String>,
    #[arg(long = "kubeconfig")]
    kubeconfig: Option<String>,
    #[arg(long = "qps")]
    qps: Option<String>,
    #[arg(long = "registry-config")]
    registry_config: Option<String>,
    #[arg(long = "repository-cache")]
    repository_cache: Option<String>,
    #[arg(long = "repository-config")]
    repository_config: Option<String>,
}

/// Runs `rudder template`; prints the manifests or `Error: ...`.
pub fn run(args: TemplateArgs) -> ExitCode {
    // Deeply recursive charts (include chains) need a big stack: the render
    // runs on this thread, switched to a stack of `RENDER_STACK`. It prints
    // the output itself, piece by piece, and leaves its memory to the exit.
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
    check_offline(args)?;
    let (name, chart_ref) = name_and_chart(args)?;
    let kube_version = match &args.kube_version {
        Some(v) => {
            Some(KubeVersion::parse(v).map_err(|e| format!("invalid kube version '{v}': {e}"))?)
        }
        None => None,
    };
    // Helm finds the chart, then reads the values, then loads the chart;
    // rudder loads first and reports in Helm's order.
    let chart = load_chart(locate_chart(args, &chart_ref)?);
    let vals = merge_values(args)?;
    let chart = chart?;
    if chart.metadata.deprecated {
        eprintln!("level=WARN msg=\"this chart is deprecated\"");
    }
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
        skip_schema_validation: args.skip_schema_validation,
        subchart_notes: args.render_subchart_notes,
        lookup: None,
    };
    let rendered = match action::render_with(chart, &vals, &opts, teardown) {
        Ok(r) => r,
        Err(e) if args.debug && e.has_debug_hint() => {
            // Helm prints what it has, then the error: the rendered files
            // when they are not valid YAML, nothing when a template failed.
            let files = match e {
                action::RenderError::Manifest(_) => debug_files(args, &chart_ref, &vals, &opts),
                _ => String::new(),
            };
            let _ = writeln!(
                out,
                "{}",
                files.trim_matches(crate::render::manifest::go_space)
            );
            return Err(Failure::Render(e.to_string()));
        }
        Err(e) if e.has_debug_hint() => {
            return Err(Failure::Render(format!(
                "{e}\n\nUse --debug flag to render out invalid YAML"
            )));
        }
        Err(e) => return Err(Failure::Render(e.to_string())),
    };
    for w in &rendered.warnings {
        eprintln!("{}", w.helm_line());
    }
    let output = OutputOptions {
        include_crds: args.include_crds,
        skip_tests: args.skip_tests,
        no_hooks: args.no_hooks,
        notes: args.notes,
        show_only: &args.show_only,
        output_dir: args.output_dir.as_ref().map(|root| {
            let root = std::path::PathBuf::from(root);
            let dir = if args.release_name_dir {
                root.join(&opts.release_name)
            } else {
                root.clone()
            };
            OutputDir { root, dir }
        }),
    };
    template_output::write(&rendered, &output, out).map_err(Failure::Render)?;
    if teardown == Teardown::LeaveToExit {
        std::mem::forget(rendered);
        std::mem::forget(vals);
    }
    Ok(())
}

/// `--debug` after a YAML error: every rendered file that is not blank
/// (notes aside) as `---\n# Source: NAME\nTEXT\n` blocks. Helm prints them
/// in Go's random map order; rudder in path order.
fn debug_files(args: &TemplateArgs, chart_ref: &str, vals: &Value, opts: &RenderOptions) -> String {
    let Ok(chart) = locate_chart(args, chart_ref).and_then(load_chart) else {
        return String::new();
    };
    let files = action::render_files(chart, vals, opts).unwrap_or_default();
    let mut text = String::new();
    for (name, content) in files {
        if !name.ends_with("NOTES.txt") && !content.trim().is_empty() {
            crate::render::manifest::write_source(&mut text, &name, &content);
        }
    }
    text
}

/// Refuses what needs a cluster or a plugin, as `helm template` does
/// without them, and says which offline choices rudder makes.
fn check_offline(args: &TemplateArgs) -> Result<(), String> {
    if let Some(name) = &args.post_renderer {
        return Err(format!(
            "invalid argument {name:?} for \"--post-renderer\" flag: plugin: {{Name:{name} Type:postrenderer/v1}} not found"
        ));
    }
    args.no_effect
        .exclusive(args.validate, args.dry_run.is_some())?;
    for notice in args.no_effect.deprecations() {
        eprintln!("{notice}");
    }
    if args.validate {
        eprintln!("Flag --validate has been deprecated, use '--dry-run=server' instead");
    }
    match args.dry_run.as_deref() {
        _ if args.validate => return Err(UNREACHABLE.into()),
        None | Some("client" | "unset" | "true" | "false" | "none") => {}
        Some("server") => return Err(UNREACHABLE.into()),
        Some(other) => {
            return Err(format!(
                "invalid dry-run value ({other:?}). Must be \"none\", \"server\", or \"client\""
            ));
        }
    }
    if args.insecure_skip_tls_verify {
        return Err("--insecure-skip-tls-verify is not supported: rudder always verifies TLS certificates (use --ca-file)".into());
    }
    if args.verify {
        return Err("--verify is not supported: rudder does not check provenance files (verify with `helm verify`)".into());
    }
    if args.enable_dns {
        eprintln!(
            "WARNING: --enable-dns has no effect: rudder renders without DNS lookups (getHostByName returns \"\")"
        );
    }
    Ok(())
}

impl NoEffectFlags {
    /// Helm's mutually exclusive flag groups, checked in cobra's order.
    fn exclusive(&self, validate: bool, dry_run: bool) -> Result<(), String> {
        // (the group as declared, the flags set in sorted order)
        let groups = [
            (
                "force force-conflicts",
                "force force-conflicts",
                self.force && self.force_conflicts,
            ),
            (
                "force-replace force-conflicts",
                "force-conflicts force-replace",
                self.force_replace && self.force_conflicts,
            ),
            ("validate dry-run", "dry-run validate", validate && dry_run),
        ];
        match groups.into_iter().find(|(_, _, both)| *both) {
            Some((group, set, _)) => Err(format!(
                "if any flags in the group [{group}] are set none of the others can be; [{set}] were all set"
            )),
            None => Ok(()),
        }
    }

    /// Helm's deprecation notices for the flags given.
    fn deprecations(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.atomic {
            out.push("Flag --atomic has been deprecated, use --rollback-on-failure instead");
        }
        if self.force {
            out.push("Flag --force has been deprecated, use --force-replace instead");
        }
        if self.hide_notes {
            out.push("Flag --hide-notes has been deprecated, this flag has no effect for 'helm template' and will be removed in Helm 5");
        }
        out
    }
}

/// `--dry-run=server` (and `--validate`) need a cluster; rudder renders
/// offline.
const UNREACHABLE: &str = "cluster reachability check failed: kubernetes cluster unreachable: rudder template renders without a cluster (--dry-run=server)";

/// Helm's `NameAndChart` for `helm template` (whose release name defaults
/// to "release-name", so `--generate-name` alone changes nothing).
fn name_and_chart(args: &TemplateArgs) -> Result<(String, String), String> {
    match args.args.as_slice() {
        [_, _, _, ..] => Err(format!(
            "expected at most two arguments, unexpected arguments: {}",
            args.args[2..].join(", ")
        )),
        [name, chart] => {
            if args.generate_name {
                return Err("cannot set --generate-name and also specify a name".into());
            }
            if args.name_template.is_some() {
                return Err("cannot set --name-template and also specify a name".into());
            }
            Ok((name.clone(), chart.clone()))
        }
        [chart] => match &args.name_template {
            Some(t) => Ok((crate::render::name_template(t)?, chart.clone())),
            None => Ok(("release-name".to_string(), chart.clone())),
        },
        [] => Err("\"rudder template\" requires at least 1 argument".into()),
    }
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
        // Helm's `--devel`: without a version, pre-releases count too.
        let version = match args.version.as_str() {
            "" if args.devel => ">0.0.0-0",
            v => v,
        };
        let bytes = super::repo::fetch_chart_archive(
            chart_ref,
            args.repo.as_deref(),
            version,
            args.plain_http,
            fetch_options(args)?,
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

/// Credentials and TLS material for a remote chart, from the flags.
fn fetch_options(args: &TemplateArgs) -> Result<crate::repo::FetchOptions, String> {
    let read = |flag: &str, path: &Option<String>| -> Result<Option<Vec<u8>>, String> {
        path.as_ref()
            .map(|p| std::fs::read(p).map_err(|e| format!("{flag}: open {p}: {}", io_text(&e))))
            .transpose()
    };
    let mut opts = crate::repo::FetchOptions::default();
    if let (Some(username), Some(password)) = (&args.username, &args.password) {
        opts.basic_auth = Some(crate::repo::BasicAuth {
            username: username.clone(),
            password: password.clone(),
        });
    }
    opts.pass_credentials = args.pass_credentials;
    opts.tls.ca_pem = read("--ca-file", &args.ca_file)?;
    opts.tls.client_cert_pem = read("--cert-file", &args.cert_file)?;
    opts.tls.client_key_pem = read("--key-file", &args.key_file)?;
    Ok(opts)
}

/// Helm's `loader.Load` of a located chart.
fn load_chart(located: Located) -> Result<chart::Chart, String> {
    match located {
        Located::Fetched(bytes) => chart::load::load_archive(&bytes),
        Located::Local(path) => chart::load::load_for_render_noting(path).map(|(chart, notices)| {
            for n in notices {
                eprintln!(
                    "level=INFO msg=\"found symbolic link in path. Contents of linked file included and used\" path={} resolved={}",
                    n.path.display(),
                    n.resolved.display()
                );
            }
            chart
        }),
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
