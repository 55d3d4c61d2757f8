//! `rudder diff`: what reconciling a HelmRelease (from a file, or one in
//! the cluster with `--set`/`--values` overrides) would change, object by
//! object. The revision is planned by the reconciler's own render path
//! ([`crate::controller::release::preview`]); each object that exists is
//! dry-run applied with rudder's field manager and force, and the fields
//! that manager would own afterwards (or owns now) are compared with the
//! live object's same fields; objects of the live revision the new one
//! drops are deleted. Secret data is masked unless `--show-secrets`.
//! Exit status as `diff`'s: 0 no change, 1 changes, 2 trouble.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use kube::Api;
use kube::api::DynamicObject;
use serde::Serialize;
use serde_json::{Map as JsonMap, Value as Json};
use similar::TextDiff;

use super::cluster::{CliError, Cluster, KubeArgs, Output, block_on, print_structured};
use super::fields::{mask_secret, owned_set, project, union};
use crate::api::HelmRelease;
use crate::apply::{
    Applier, FIELD_MANAGER, KEEP_POLICY, LEGACY_FIELD_MANAGER, RESOURCE_POLICY_ANNOTATION, Resource,
};
use crate::chart::{strvals, yamlio};
use crate::controller::release::preview::{self, Plan};
use crate::godata::value::Value;

/// `rudder diff`.
#[derive(Args, Debug, Clone)]
pub struct DiffArgs {
    /// A HelmRelease in the cluster.
    #[arg(required_unless_present = "filename")]
    pub name: Option<String>,
    /// A file holding the HelmRelease to compare (YAML or JSON; `-` reads
    /// standard input); it need not exist in the cluster yet.
    #[arg(short = 'f', long, value_name = "FILE", conflicts_with = "name")]
    pub filename: Option<PathBuf>,
    /// A values file merged over the HelmRelease's values (repeatable).
    #[arg(long = "values", value_name = "FILE")]
    pub values: Vec<PathBuf>,
    /// A value merged over the HelmRelease's values, as `helm --set`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// As `--set`, the value always a string.
    #[arg(long = "set-string", value_name = "KEY=VALUE")]
    pub set_string: Vec<String>,
    /// Print Secret data as it is instead of masked.
    #[arg(long)]
    pub show_secrets: bool,
    /// Lines of context around each change (as `diff -U`).
    #[arg(
        short = 'U',
        long = "unified",
        value_name = "LINES",
        default_value_t = 3
    )]
    pub context_lines: usize,
    /// `table` (the default): unified diffs; `json`/`yaml`: the changes
    /// with each object's compared fields before and after.
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: Output,
    #[command(flatten)]
    pub kube: KubeArgs,
}

/// What happens to one object.
#[derive(Serialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Action {
    Created,
    Changed,
    Deleted,
}

/// One object's change: the fields compared, before and after.
#[derive(Serialize, Debug)]
struct Change {
    action: Action,
    kind: String,
    namespace: Option<String>,
    name: String,
    before: Option<Json>,
    after: Option<Json>,
}

impl Change {
    fn new(action: Action, r: &Resource, before: Option<Json>, after: Option<Json>) -> Change {
        Change {
            action,
            kind: r.kind().to_string(),
            namespace: r.namespace().map(str::to_string),
            name: r.name().to_string(),
            before,
            after,
        }
    }

    fn display(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} {ns}/{}", self.kind, self.name),
            None => format!("{} {}", self.kind, self.name),
        }
    }
}

/// Runs `rudder diff`.
pub fn run(args: DiffArgs) -> ExitCode {
    block_on(async move {
        let cluster = args.kube.connect().await?;
        let obj = helm_release(&args, &cluster).await?;
        let overrides = overrides(&args)?;
        let ctx = preview::one_shot_context(cluster.client.clone(), cluster.config.clone())
            .map_err(|e| CliError::Usage(e.to_string()))?;
        let plan = preview::plan(&obj, &ctx, overrides.as_ref())
            .await
            .map_err(|f| {
                CliError::Usage(format!(
                    "planning HelmRelease {}/{}: {f}",
                    obj.metadata.namespace.as_deref().unwrap_or_default(),
                    obj.metadata.name.as_deref().unwrap_or_default()
                ))
            })?;
        let mut changes = changes(&plan).await?;
        if !args.show_secrets {
            for c in changes.iter_mut().filter(|c| c.kind == "Secret") {
                mask_secret(c.before.as_mut(), c.after.as_mut());
            }
        }
        print_changes(&changes, &args)?;
        Ok(if changes.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        })
    })
}

/// The HelmRelease to plan: read from `-f` (its namespace defaulting to
/// the command's), or from the cluster.
async fn helm_release(args: &DiffArgs, cluster: &Cluster) -> Result<HelmRelease, CliError> {
    let Some(path) = &args.filename else {
        let name = args.name.as_deref().unwrap_or_default();
        return Api::<HelmRelease>::namespaced(cluster.client.clone(), &cluster.namespace)
            .get(name)
            .await
            .map_err(|e| {
                CliError::api(
                    format!("getting HelmRelease {}/{name}", cluster.namespace),
                    e,
                )
            });
    };
    let text = read_input(path)?;
    let json: Json = serde_saphyr::from_str(&text)
        .map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?;
    let mut obj: HelmRelease = serde_json::from_value(json)
        .map_err(|e| CliError::Usage(format!("{}: not a HelmRelease: {e}", path.display())))?;
    if obj.metadata.namespace.is_none() {
        obj.metadata.namespace = Some(cluster.namespace.clone());
    }
    Ok(obj)
}

/// A file's text; `-` is standard input.
fn read_input(path: &std::path::Path) -> Result<String, CliError> {
    let bad = |e: std::io::Error| CliError::Usage(format!("reading {}: {e}", path.display()));
    if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s).map_err(bad)?;
        return Ok(s);
    }
    std::fs::read_to_string(path).map_err(bad)
}

/// `--values` files, then `--set`, then `--set-string`, merged as Helm
/// merges them; `None` when none is given.
fn overrides(args: &DiffArgs) -> Result<Option<JsonMap<String, Json>>, CliError> {
    if args.values.is_empty() && args.set.is_empty() && args.set_string.is_empty() {
        return Ok(None);
    }
    let mut base = crate::godata::value::Map::new();
    for path in &args.values {
        let text = read_input(path)?;
        let v = yamlio::load_values(&text)
            .map_err(|e| CliError::Usage(format!("failed to parse {}: {e}", path.display())))?;
        if let Some(m) = v.as_map() {
            base = yamlio::merge_maps(base, m.borrow().clone());
        }
    }
    let base = Value::map(base);
    for expr in &args.set {
        strvals::parse_set(expr, &base)
            .map_err(|e| CliError::Usage(format!("failed parsing --set data: {e}")))?;
    }
    for expr in &args.set_string {
        strvals::parse_set_string(expr, &base)
            .map_err(|e| CliError::Usage(format!("failed parsing --set-string data: {e}")))?;
    }
    let text =
        crate::godata::json::to_json(&base).map_err(|e| CliError::Usage(format!("values: {e}")))?;
    match serde_json::from_str(&text) {
        Ok(Json::Object(m)) => Ok(Some(m)),
        _ => Err(CliError::Usage("values: not a map".into())),
    }
}

/// Every object the plan creates, changes or deletes, in install order
/// (deletions last).
async fn changes(plan: &Plan) -> Result<Vec<Change>, CliError> {
    let mut out = Vec::new();
    for r in &plan.desired {
        if let Some(c) = change_of(plan, r).await? {
            out.push(c);
        }
    }
    let kept: BTreeSet<_> = plan.desired.iter().map(Resource::key).collect();
    for r in plan.live.iter().filter(|r| !kept.contains(&r.key())) {
        if r.annotation(RESOURCE_POLICY_ANNOTATION) == Some(KEEP_POLICY) {
            continue;
        }
        if let Some(live) = read_live(plan, r).await? {
            let before = owned_fields(&live, &owned_set(&live, MANAGERS))
                .map(|fields| with_type(fields, &live))
                .unwrap_or_else(|| to_json(&r.object));
            out.push(Change::new(Action::Deleted, r, Some(before), None));
        }
    }
    Ok(out)
}

/// The field managers whose fields rudder owns (the old name included).
const MANAGERS: &[&str] = &[FIELD_MANAGER, LEGACY_FIELD_MANAGER];

/// `r`'s change: created when it does not exist, changed when a dry-run
/// apply changes a field rudder owns, else none.
async fn change_of(plan: &Plan, r: &Resource) -> Result<Option<Change>, CliError> {
    let body = Applier::owned_body(r, &plan.owner);
    let Some(live) = read_live(plan, r).await? else {
        return Ok(Some(Change::new(
            Action::Created,
            r,
            None,
            Some(to_json(&body)),
        )));
    };
    let dry = plan
        .applier
        .dry_run_apply(r, &body)
        .await
        .map_err(|e| CliError::Usage(e.to_string()))?;
    let dry = to_json(&dry);
    let mut set = owned_set(&dry, &[FIELD_MANAGER]);
    union(&mut set, &owned_set(&live, MANAGERS));
    let before = owned_fields(&live, &set).map(|f| with_type(f, &live));
    let after = owned_fields(&dry, &set).map(|f| with_type(f, &dry));
    Ok((before != after).then(|| Change::new(Action::Changed, r, before, after)))
}

/// `obj` projected onto `set`, `None` when the set is empty.
fn owned_fields(obj: &Json, set: &Json) -> Option<Json> {
    if set.as_object().is_none_or(JsonMap::is_empty) {
        return None;
    }
    project(obj, set)
}

/// `fields` with `obj`'s `apiVersion` and `kind` (which no manager owns).
fn with_type(mut fields: Json, obj: &Json) -> Json {
    if let Some(m) = fields.as_object_mut() {
        for k in ["apiVersion", "kind"] {
            if let Some(v) = obj.get(k) {
                m.insert(k.to_string(), v.clone());
            }
        }
    }
    fields
}

/// The live object `r`, as JSON, read with the release's authority.
async fn read_live(plan: &Plan, r: &Resource) -> Result<Option<Json>, CliError> {
    let live = r
        .read_live(plan.applier.client())
        .await
        .map_err(|e| CliError::Usage(e.to_string()))?;
    Ok(live.as_ref().map(to_json))
}

fn to_json(obj: &DynamicObject) -> Json {
    serde_json::to_value(obj).unwrap_or(Json::Null)
}

/// Prints the changes as unified diffs (nothing when there are none) or
/// as JSON/YAML.
fn print_changes(changes: &[Change], args: &DiffArgs) -> Result<(), CliError> {
    if args.output != Output::Table {
        return print_structured(&changes, args.output);
    }
    for c in changes {
        print!("{}", unified(c, args.context_lines)?);
    }
    if !changes.is_empty() {
        let count = |a| changes.iter().filter(|c| c.action == a).count();
        println!(
            "Plan: {} to create, {} to change, {} to delete.",
            count(Action::Created),
            count(Action::Changed),
            count(Action::Deleted)
        );
    }
    Ok(())
}

/// One change as a heading (`created|changed|deleted Kind ns/name`, a
/// line no unified diff starts with) and a unified diff of its fields as YAML.
fn unified(c: &Change, context: usize) -> Result<String, CliError> {
    let yaml = |v: &Option<Json>| -> Result<String, CliError> {
        match v {
            Some(v) => serde_saphyr::to_string(v).map_err(|e| CliError::Print(e.to_string())),
            None => Ok(String::new()),
        }
    };
    let (before, after) = (yaml(&c.before)?, yaml(&c.after)?);
    let what = match c.action {
        Action::Created => "created",
        Action::Changed => "changed",
        Action::Deleted => "deleted",
    };
    let name = c.display();
    let diff = TextDiff::from_lines(&before, &after);
    let mut text = format!("{what} {name}\n");
    text.push_str(
        &diff
            .unified_diff()
            .context_radius(context)
            .header(&format!("live: {name}"), &format!("rudder: {name}"))
            .to_string(),
    );
    Ok(text)
}
