//! Helm's action layer for rendering (what `pkg/action` does before
//! installing): what `helm template` does between loading a chart and
//! printing manifests. Builds `.Values` (user values coalesced with chart
//! defaults, dependencies processed, schema-validated), `.Release`, `.Chart`,
//! `.Capabilities`, `.Files`, `.Template`, `.Subcharts` per chart of the tree;
//! renders every template of the tree in Helm's order (all templates parsed
//! into one set, deepest paths first; partials `_*` not output; `<no value>`
//! removed), pulls out NOTES.txt, splits and sorts manifests, and formats the
//! output exactly as `helm template` prints it.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;

use crate::chart::NonBoolWarning;
use crate::chart::{Chart, deps, schema, values};
use crate::godata::named;
use crate::godata::semver;
use crate::godata::value::{Map, Value};
use crate::render::context::{Capabilities, Files, KubeVersion};
pub use crate::render::job::{RenderError, Rendered, Teardown, TemplateJob, sort_template_names};
pub use crate::render::lookup::{Lookup, LookupError};
use crate::render::manifest;

/// Options of one render (the flags of `helm template`).
#[derive(Clone, Debug)]
pub struct RenderOptions {
    pub release_name: String,
    pub namespace: String,
    pub revision: i64,
    pub is_upgrade: bool,
    /// `--kube-version` (parsed); `None` = rudder's default (1.35).
    pub kube_version: Option<KubeVersion>,
    /// `--api-versions`, appended to the default set.
    pub api_versions: Vec<String>,
    /// A full API-version list (a real cluster's discovery) used instead of
    /// the default set; `api_versions` is still appended. `None` for
    /// `helm template`'s defaults.
    pub api_versions_replace: Option<Vec<String>>,
    pub include_crds: bool,
    pub skip_tests: bool,
    /// Helm's `--skip-schema-validation`: `values.schema.json` is not
    /// checked.
    pub skip_schema_validation: bool,
    /// Render NOTES.txt of subcharts too (`--render-subchart-notes`).
    pub subchart_notes: bool,
    /// The live cluster templates' `lookup` reads (`helm install` and
    /// `upgrade`); `None` makes every lookup an empty map, as `helm
    /// template` does.
    pub lookup: Option<Arc<dyn Lookup>>,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            release_name: "release-name".into(),
            namespace: "default".into(),
            revision: 1,
            is_upgrade: false,
            kube_version: None,
            api_versions: Vec::new(),
            api_versions_replace: None,
            include_crds: false,
            skip_tests: false,
            skip_schema_validation: false,
            subchart_notes: false,
            lookup: None,
        }
    }
}

/// Renders `chart` with user-supplied `user_values` (already merged from
/// `-f`/`--set`), as `helm template` does.
pub fn render(
    chart: Chart,
    user_values: &Value,
    opts: &RenderOptions,
) -> Result<Rendered, RenderError> {
    render_with(chart, user_values, opts, Teardown::Free)
}

/// [`render`], choosing what happens to the templates afterwards.
pub fn render_with(
    chart: Chart,
    user_values: &Value,
    opts: &RenderOptions,
    teardown: Teardown,
) -> Result<Rendered, RenderError> {
    let Prepared {
        chart,
        jobs,
        warnings,
    } = prepare(chart, user_values, opts)?;
    // Keep only what is needed after rendering (the CRDs and the name), so
    // the chart's template sources are freed before outputs pile up.
    let name = chart.name().to_string();
    let crds = chart
        .crd_objects(&name)
        .into_iter()
        .map(|(name, f)| Ok((name, String::from_utf8_lossy(&f.bytes()?).into_owned())))
        .collect::<Result<_, crate::chart::LoadError>>()
        .map_err(|e| RenderError::Chart(e.to_string()))?;
    let deferred = chart.deferred_files();
    drop(chart);
    // Documents are split and their heads read as each file is rendered
    // (on a second thread for large charts).
    let template_bytes = jobs.iter().map(|j| j.text.len()).sum();
    let mut reader = manifest::HeadReader::start(template_bytes)
        .map_err(|e| RenderError::Template(format!("cannot start a thread: {e}")))?;
    let cluster = opts.lookup.clone();
    crate::render::execute::render_jobs(jobs, teardown, cluster, &mut |name, text| {
        reader.send(name, text)
    })?;
    // A chart file read during the run where Go cannot fail (`AsConfig`):
    // Helm reads every file when it loads the chart, and fails there.
    if let Some(why) = deferred.iter().find_map(crate::chart::Contents::failure) {
        return Err(RenderError::Chart(why));
    }
    let (notes, read) = split_notes(reader.finish()?, &name, opts.subchart_notes);
    let (hooks, manifests) = manifest::sort_read(read)?;
    Ok(Rendered {
        crds,
        manifests,
        hooks,
        notes,
        warnings,
    })
}

/// Every rendered template file as text, before it is read as YAML
/// (`--debug` shows them when they are not valid YAML).
pub fn render_files(
    chart: Chart,
    user_values: &Value,
    opts: &RenderOptions,
) -> Result<BTreeMap<String, String>, RenderError> {
    let jobs = prepare(chart, user_values, opts)?.jobs;
    let mut files = BTreeMap::new();
    let cluster = opts.lookup.clone();
    crate::render::execute::render_jobs(jobs, Teardown::Free, cluster, &mut |name, text| {
        files.insert(name, text);
    })?;
    Ok(files)
}

/// Everything before executing templates: dependencies processed, values
/// coalesced and validated, and every template of the tree queued with the
/// context its chart sees. Returns the processed chart and the jobs.
pub fn prepare(
    mut chart: Chart,
    user_values: &Value,
    opts: &RenderOptions,
) -> Result<Prepared, RenderError> {
    if !matches!(chart.metadata.chart_type.as_str(), "" | "application") {
        return Err(RenderError::Chart(format!(
            "{} charts are not installable",
            chart.metadata.chart_type
        )));
    }
    check_dependencies_present(&chart)?;
    validate_release_name(&opts.release_name)?;
    let warnings = deps::process_dependencies(&mut chart, user_values)
        .map_err(|e| RenderError::Dependencies(e.to_string()))?;
    let vals = values::coalesce_values(&chart, user_values)
        .map_err(|e| RenderError::Chart(e.to_string()))?;
    if !opts.skip_schema_validation {
        schema::validate(&chart, &vals).map_err(RenderError::Schema)?;
    }
    let caps = match &opts.api_versions_replace {
        Some(base) => Capabilities::exact(opts.kube_version.clone(), base, &opts.api_versions),
        None => Capabilities::new(opts.kube_version.clone(), &opts.api_versions),
    };
    if !chart.metadata.kube_version.is_empty()
        && !semver::is_compatible_range(&chart.metadata.kube_version, &caps.kube_version.normalized)
    {
        return Err(RenderError::Chart(format!(
            "chart requires kubeVersion: {} which is incompatible with Kubernetes {}",
            chart.metadata.kube_version, caps.kube_version.version
        )));
    }
    let top = top_context(&chart, &caps, vals, opts);
    let mut jobs = Vec::new();
    let name = chart.name().to_string();
    collect_templates(&chart, &top, &name, true, &mut jobs);
    Ok(Prepared {
        chart,
        jobs,
        warnings,
    })
}

/// A chart ready to render: dependencies processed, jobs queued.
pub struct Prepared {
    pub chart: Chart,
    pub jobs: Vec<TemplateJob>,
    /// Helm's warnings about conditions and tags that are not bools.
    pub warnings: Vec<NonBoolWarning>,
}

/// Helm's `CheckDependencies`: every declared dependency must be vendored.
fn check_dependencies_present(chart: &Chart) -> Result<(), RenderError> {
    let missing: Vec<&str> = chart
        .metadata
        .dependencies
        .iter()
        .filter(|r| !chart.dependencies.iter().any(|d| d.name() == r.name))
        .map(|r| r.name.as_str())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(RenderError::Chart(format!(
        "an error occurred while checking for chart dependencies. You may need to run `helm dependency build` to fetch missing dependencies: found in Chart.yaml, but missing in charts/ directory: {}",
        missing.join(", ")
    )))
}

const RELEASE_NAME_REGEX: &str =
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";

/// Helm's `ValidateReleaseName` (at most 53 characters, DNS-1123 subdomain).
fn validate_release_name(name: &str) -> Result<(), RenderError> {
    let fail = |why: String| {
        Err(RenderError::Chart(format!(
            "release name check failed: release name {name:?}: {why}"
        )))
    };
    if name.is_empty() {
        return fail("no name provided".into());
    }
    if name.len() > 53 || !is_dns1123_subdomain(name) {
        return fail(format!(
            "invalid release name, must match regex {RELEASE_NAME_REGEX} and the length must not be longer than 53"
        ));
    }
    Ok(())
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*`, whole string.
fn is_dns1123_subdomain(name: &str) -> bool {
    name.split('.').all(|label| {
        let b = label.as_bytes();
        let edge = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
        !b.is_empty()
            && b.first().is_some_and(edge)
            && b.last().is_some_and(edge)
            && b.iter().all(|c| edge(c) || *c == b'-')
    })
}

/// The top-level render values (`ToRenderValues`).
fn top_context(chart: &Chart, caps: &Capabilities, vals: Value, opts: &RenderOptions) -> Map {
    let mut release = Map::new();
    release.insert("Name".into(), Value::str(opts.release_name.as_str()));
    release.insert("Namespace".into(), Value::str(opts.namespace.as_str()));
    release.insert("IsUpgrade".into(), Value::Bool(opts.is_upgrade));
    release.insert("IsInstall".into(), Value::Bool(!opts.is_upgrade));
    release.insert("Revision".into(), Value::Int(opts.revision));
    release.insert("Service".into(), Value::str("Helm"));
    let mut top = Map::new();
    top.insert("Chart".into(), chart.metadata.to_value(true));
    top.insert("Capabilities".into(), Value::Object(Rc::new(caps.clone())));
    top.insert("Release".into(), Value::map(release));
    top.insert("Values".into(), vals);
    top
}

/// Helm's `recAllTpls`: builds each chart's context and queues its
/// templates; returns the chart's context (for the parent's `.Subcharts`).
fn collect_templates(
    chart: &Chart,
    parent: &Map,
    full_path: &str,
    is_root: bool,
    jobs: &mut Vec<TemplateJob>,
) -> Value {
    let values = if is_root {
        parent
            .get("Values")
            .cloned()
            .unwrap_or_else(Value::empty_map)
    } else {
        parent
            .get("Values")
            .and_then(|v| values::table_at(v, chart.name()))
            .unwrap_or_else(Value::empty_map)
    };
    let files: BTreeMap<String, crate::chart::Contents> = chart
        .files
        .iter()
        .map(|f| (f.name.clone(), f.contents()))
        .collect();
    let subcharts = Value::empty_map();
    let mut next = Map::new();
    next.insert("Chart".into(), chart.metadata.to_value(is_root));
    next.insert("Files".into(), Value::Object(Rc::new(Files::new(files))));
    next.insert(
        "Release".into(),
        parent.get("Release").cloned().unwrap_or(Value::Nil),
    );
    next.insert(
        "Capabilities".into(),
        parent.get("Capabilities").cloned().unwrap_or(Value::Nil),
    );
    next.insert("Values".into(), named::as_values(values));
    next.insert("Subcharts".into(), subcharts.clone());
    for dep in &chart.dependencies {
        let sub_path = format!("{full_path}/charts/{}", dep.name());
        let ctx = collect_templates(dep, &next, &sub_path, false, jobs);
        if let Some(m) = subcharts.as_map() {
            m.borrow_mut().insert(dep.name().to_string(), ctx);
        }
    }
    let next_value = Value::map(next);
    // Each template's `.` is a `common.Values`; `.Subcharts` holds the
    // same map as a plain `map[string]interface {}`.
    let context = named::as_values(next_value.clone());
    let tera = chart.metadata.engine == "tera";
    for t in chart.render_templates() {
        jobs.push(TemplateJob {
            name: format!("{full_path}/{}", t.name),
            text: t.text(),
            context: context.clone(),
            base_path: format!("{full_path}/templates"),
            tera,
        });
    }
    next_value
}

/// Separates the rendered set into the notes (NOTES.txt files, Helm's
/// renderResources: the root chart's, or every chart's with `sub_notes`)
/// and the files read into documents, in path order.
fn split_notes(
    files: BTreeMap<String, manifest::RenderedFile>,
    chart_name: &str,
    sub_notes: bool,
) -> (String, BTreeMap<String, manifest::ReadFile>) {
    let root_notes = format!("{chart_name}/templates/NOTES.txt");
    let mut notes = String::new();
    let mut read = BTreeMap::new();
    for (path, file) in files {
        match file {
            manifest::RenderedFile::Read(docs) => {
                read.insert(path, docs);
            }
            manifest::RenderedFile::Notes(text) => {
                if sub_notes || path == root_notes {
                    if !notes.is_empty() {
                        notes.push('\n');
                    }
                    notes.push_str(&text);
                }
            }
        }
    }
    (notes, read)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers every lookup with a ConfigMap named after the call.
    struct Echo;

    impl Lookup for Echo {
        fn lookup(
            &self,
            api_version: &str,
            kind: &str,
            namespace: &str,
            name: &str,
        ) -> Result<Option<serde_json::Value>, LookupError> {
            Ok(Some(serde_json::json!({
                "apiVersion": api_version, "kind": kind,
                "metadata": {"name": name, "namespace": namespace}
            })))
        }
    }

    fn lookup_chart() -> (tempfile::TempDir, Chart) {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("templates")).expect("mkdir");
        std::fs::write(
            root.join("Chart.yaml"),
            "apiVersion: v2\nname: c\nversion: 0.1.0\n",
        )
        .expect("Chart.yaml");
        let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  seen: {{ dig \"metadata\" \"namespace\" \"none\" (lookup \"v1\" \"Secret\" .Release.Namespace \"db\") | quote }}\n";
        std::fs::write(root.join("templates/cm.yaml"), cm).expect("template");
        let chart = crate::chart::load::load(root).expect("chart");
        (dir, chart)
    }

    #[test]
    fn lookup_reads_the_cluster_of_the_options_only() {
        let with = RenderOptions {
            namespace: "apps".into(),
            lookup: Some(Arc::new(Echo)),
            ..Default::default()
        };
        let without = RenderOptions {
            namespace: "apps".into(),
            ..Default::default()
        };
        let text = |r: Rendered| r.manifests.iter().map(|m| m.content.clone()).collect();
        let (_dir, chart) = lookup_chart();
        let live: String = render(chart, &Value::empty_map(), &with)
            .map(text)
            .expect("renders");
        assert!(live.contains("seen: \"apps\""), "{live}");
        let (_dir, chart) = lookup_chart();
        let offline: String = render(chart, &Value::empty_map(), &without)
            .map(text)
            .expect("renders");
        assert!(offline.contains("seen: \"none\""), "{offline}");
        let (_dir, chart) = lookup_chart();
        let files = render_files(chart, &Value::empty_map(), &with).expect("renders");
        assert!(
            files["c/templates/cm.yaml"].contains("\"apps\""),
            "{files:?}"
        );
    }

    #[test]
    fn release_names_like_helm() {
        assert!(validate_release_name("my-rel.v2").is_ok());
        assert!(validate_release_name("Bad_Name").is_err());
        assert!(validate_release_name("-x").is_err());
        assert!(validate_release_name("a..b").is_err());
        assert!(validate_release_name(&"a".repeat(54)).is_err());
    }
}
