//! The read-only user commands: `rudder get` (HelmReleases and
//! HelmRepositories as a table or `-o json|yaml`), `rudder history NAME`
//! (the release records, as `helm history` lists them) and `rudder status
//! NAME` (why a HelmRelease is or is not Ready: its conditions, the recent
//! events about it, and the objects of its live revision that are not
//! ready, judged by the readiness rules of [`crate::apply`]).

use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use k8s_openapi::api::core::v1::Event;
use kube::api::ListParams;
use kube::{Api, ResourceExt};
use serde::Serialize;

use super::cluster::{
    CliError, Cluster, KubeArgs, Output, age_of, age_of_text, block_on, print_objects,
    print_structured, table,
};
use crate::api::condition::READY;
use crate::api::{Condition, HelmRelease, HelmRepository};
use crate::apply::{Applier, Readiness, readiness};
use crate::controller::ownership::Names;
use crate::release::{SecretStore, StoredRelease, history};

/// `rudder get [hr|repo|all] [NAME]`.
#[derive(Args, Debug, Clone)]
pub struct GetArgs {
    /// `hr` (HelmReleases, the default), `repo` (HelmRepositories) or
    /// `all`; long names and kubectl's short names (`hrel`, `hrepo`) work
    /// too. A NAME alone is a HelmRelease.
    #[arg(value_name = "KIND|NAME")]
    pub what: Option<String>,
    /// Show only this object.
    pub name: Option<String>,
    /// List across all namespaces.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: Output,
    #[command(flatten)]
    pub kube: KubeArgs,
}

/// A command that names one HelmRelease.
#[derive(Args, Debug, Clone)]
pub struct NamedArgs {
    /// The HelmRelease.
    pub name: String,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: Output,
    #[command(flatten)]
    pub kube: KubeArgs,
}

/// Which objects `get` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Releases,
    Repositories,
    All,
}

fn kind_of(word: &str) -> Option<Kind> {
    match word {
        "hr" | "hrel" | "helmrelease" | "helmreleases" | "release" | "releases" => {
            Some(Kind::Releases)
        }
        "repo" | "hrepo" | "helmrepository" | "helmrepositories" | "repository"
        | "repositories" => Some(Kind::Repositories),
        "all" => Some(Kind::All),
        _ => None,
    }
}

/// Runs `rudder get`.
pub fn get(args: GetArgs) -> ExitCode {
    block_on(async move {
        let (kind, name) = match (args.what.as_deref(), args.name.clone()) {
            (None, _) => (Kind::Releases, None),
            (Some(w), name) => match (kind_of(w), name) {
                (Some(k), name) => (k, name),
                (None, None) => (Kind::Releases, Some(w.to_string())),
                (None, Some(_)) => {
                    return Err(CliError::Usage(format!(
                        "unknown kind {w:?}: use hr, repo or all"
                    )));
                }
            },
        };
        if name.is_some() && kind == Kind::All {
            return Err(CliError::Usage("a NAME needs a kind: hr or repo".into()));
        }
        let cluster = args.kube.connect().await?;
        let all = args.all_namespaces && name.is_none();
        if matches!(kind, Kind::Releases | Kind::All) {
            let items = list::<HelmRelease>(&cluster, all, name.as_deref()).await?;
            show(
                &items,
                name.is_some(),
                all,
                args.output,
                release_row,
                RELEASE_COLUMNS,
            )?;
        }
        if kind == Kind::All && args.output == Output::Table {
            println!();
        }
        if matches!(kind, Kind::Repositories | Kind::All) {
            let items = list::<HelmRepository>(&cluster, all, name.as_deref()).await?;
            show(
                &items,
                name.is_some(),
                all,
                args.output,
                repo_row,
                REPO_COLUMNS,
            )?;
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// The objects of kind `K`: one by name, or all of the namespace (of every
/// namespace with `all`).
async fn list<K>(cluster: &Cluster, all: bool, name: Option<&str>) -> Result<Vec<K>, CliError>
where
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let kind = K::kind(&());
    let api: Api<K> = if all {
        Api::all(cluster.client.clone())
    } else {
        Api::namespaced(cluster.client.clone(), &cluster.namespace)
    };
    if let Some(name) = name {
        let one = api.get(name).await.map_err(|e| {
            CliError::api(format!("getting {kind} {}/{name}", cluster.namespace), e)
        })?;
        return Ok(vec![one]);
    }
    let items = api
        .list(&ListParams::default())
        .await
        .map_err(|e| CliError::api(format!("listing {kind} objects"), e))?
        .items;
    Ok(items)
}

const RELEASE_COLUMNS: &[&str] = &[
    "NAME",
    "READY",
    "REVISION",
    "CHART",
    "VERSION",
    "SUSPENDED",
    "AGE",
    "STATUS",
];
const REPO_COLUMNS: &[&str] = &["NAME", "URL", "READY", "CHARTS", "AGE", "STATUS"];

/// Prints `items` as a table (with a NAMESPACE column when listing every
/// namespace) or structured; "No resources found" on an empty table, as
/// kubectl says it.
fn show<K: Serialize + kube::Resource<DynamicType = ()>>(
    items: &[K],
    single: bool,
    all: bool,
    output: Output,
    row: fn(&K) -> Vec<String>,
    columns: &[&str],
) -> Result<(), CliError> {
    if output != Output::Table {
        return print_objects(items, single, output);
    }
    if items.is_empty() {
        eprintln!("No {} objects found", K::kind(&()));
        return Ok(());
    }
    let mut headers = Vec::new();
    if all {
        headers.push("NAMESPACE");
    }
    headers.extend_from_slice(columns);
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|o| {
            let mut r = Vec::new();
            if all {
                r.push(o.meta().namespace.clone().unwrap_or_default());
            }
            r.extend(row(o));
            r
        })
        .collect();
    print!("{}", table(&headers, &rows));
    Ok(())
}

/// The Ready condition's status and message (`Unknown` before the first
/// report).
fn ready_of(conditions: Option<&[Condition]>) -> (String, String) {
    match conditions.and_then(|c| c.iter().find(|c| c.type_ == READY)) {
        Some(c) => (status_text(c.status), c.message.clone()),
        None => ("Unknown".into(), String::new()),
    }
}

fn status_text(s: crate::api::ConditionStatus) -> String {
    format!("{s:?}")
}

fn or_dash(v: Option<String>) -> String {
    v.filter(|s| !s.is_empty()).unwrap_or_else(|| "-".into())
}

fn release_row(o: &HelmRelease) -> Vec<String> {
    let st = o.status.as_ref();
    let (ready, message) = ready_of(st.map(|s| s.conditions.as_slice()));
    vec![
        o.name_any(),
        ready,
        or_dash(st.and_then(|s| s.revision).map(|r| r.to_string())),
        o.spec.chart.name.clone(),
        or_dash(st.and_then(|s| s.chart_version.clone())),
        o.spec.suspend.to_string(),
        age_of(o.metadata.creation_timestamp.as_ref()),
        message,
    ]
}

fn repo_row(o: &HelmRepository) -> Vec<String> {
    let st = o.status.as_ref();
    let (ready, message) = ready_of(st.map(|s| s.conditions.as_slice()));
    vec![
        o.name_any(),
        o.spec.url.clone(),
        ready,
        or_dash(
            st.and_then(|s| s.artifact.as_ref())
                .map(|a| a.charts.to_string()),
        ),
        age_of(o.metadata.creation_timestamp.as_ref()),
        message,
    ]
}

/// The HelmRelease `name` in the cluster's namespace.
async fn release(cluster: &Cluster, name: &str) -> Result<HelmRelease, CliError> {
    Api::<HelmRelease>::namespaced(cluster.client.clone(), &cluster.namespace)
        .get(name)
        .await
        .map_err(|e| {
            CliError::api(
                format!("getting HelmRelease {}/{name}", cluster.namespace),
                e,
            )
        })
}

/// The release records of `obj`, read with the user's own credentials.
async fn records(cluster: &Cluster, obj: &HelmRelease) -> Result<Vec<StoredRelease>, CliError> {
    let n = Names::of(obj);
    let store = SecretStore::new(cluster.client.clone(), &n.storage, Arc::default());
    let mut hist = store.history(&n.release).await.map_err(|e| {
        CliError::Usage(format!(
            "reading the records of release {} in {}: {e}",
            n.release, n.storage
        ))
    })?;
    hist.sort_by_key(|s| s.release.version);
    Ok(hist)
}

/// One revision as `rudder history` prints it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Revision {
    revision: i64,
    updated: String,
    status: String,
    chart: String,
    app_version: String,
    description: String,
    /// Hidden from Helm after a rollback by `spec.revision`.
    parked: bool,
}

fn revision_of(s: &StoredRelease) -> Revision {
    let meta = s.release.chart.as_ref().map(|c| &c.metadata);
    let field = |k: &str| {
        meta.and_then(|m| m.get(k))
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    Revision {
        revision: s.release.version,
        updated: s.release.info.last_deployed.clone(),
        status: s.release.status().to_string(),
        chart: format!("{}-{}", field("name"), field("version")),
        app_version: field("appVersion"),
        description: s.release.info.description.clone(),
        parked: s.parked,
    }
}

/// Runs `rudder history NAME`.
pub fn history_cmd(args: NamedArgs) -> ExitCode {
    block_on(async move {
        let cluster = args.kube.connect().await?;
        let obj = release(&cluster, &args.name).await?;
        let revs: Vec<Revision> = records(&cluster, &obj)
            .await?
            .iter()
            .map(revision_of)
            .collect();
        if args.output != Output::Table {
            print_structured(&revs, args.output)?;
            return Ok(ExitCode::SUCCESS);
        }
        let rows: Vec<Vec<String>> = revs
            .iter()
            .map(|r| {
                let status = if r.parked {
                    format!("{} (parked)", r.status)
                } else {
                    r.status.clone()
                };
                vec![
                    r.revision.to_string(),
                    r.updated.clone(),
                    status,
                    r.chart.clone(),
                    r.app_version.clone(),
                    r.description.clone(),
                ]
            })
            .collect();
        let headers = [
            "REVISION",
            "UPDATED",
            "STATUS",
            "CHART",
            "APP VERSION",
            "DESCRIPTION",
        ];
        print!("{}", table(&headers, &rows));
        Ok(ExitCode::SUCCESS)
    })
}

/// What `rudder status` reports.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    name: String,
    namespace: String,
    suspended: bool,
    generation: Option<i64>,
    observed_generation: Option<i64>,
    revision: Option<i64>,
    chart: String,
    conditions: Vec<Condition>,
    events: Vec<EventLine>,
    /// Objects of the live revision, how many.
    objects: usize,
    objects_not_ready: Vec<NotReady>,
}

#[derive(Serialize)]
struct EventLine {
    age: String,
    #[serde(rename = "type")]
    type_: String,
    reason: String,
    note: String,
}

#[derive(Serialize)]
struct NotReady {
    object: String,
    why: String,
}

/// How many recent events `status` shows.
const RECENT_EVENTS: usize = 10;

/// Runs `rudder status NAME`.
pub fn status(args: NamedArgs) -> ExitCode {
    block_on(async move {
        let cluster = args.kube.connect().await?;
        let obj = release(&cluster, &args.name).await?;
        let hist = records(&cluster, &obj).await?;
        let (objects, not_ready) = readiness_of(&cluster, &obj, &hist).await?;
        let st = obj.status.clone().unwrap_or_default();
        let report = Report {
            name: obj.name_any(),
            namespace: cluster.namespace.clone(),
            suspended: obj.spec.suspend,
            generation: obj.metadata.generation,
            observed_generation: st.observed_generation,
            revision: st.revision,
            chart: format!(
                "{} {}",
                obj.spec.chart.name,
                st.chart_version
                    .clone()
                    .unwrap_or_else(|| obj.spec.chart.version.clone())
            ),
            conditions: st.conditions,
            events: events_of(&cluster, &obj).await?,
            objects,
            objects_not_ready: not_ready,
        };
        if args.output != Output::Table {
            print_structured(&report, args.output)?;
        } else {
            print!("{}", describe(&report));
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// The report as text.
fn describe(r: &Report) -> String {
    let mut out = format!(
        "HelmRelease {}/{}\nChart:      {}\nRevision:   {}\nSuspended:  {}\nGeneration: {} (observed {})\n",
        r.namespace,
        r.name,
        r.chart,
        or_dash(r.revision.map(|v| v.to_string())),
        r.suspended,
        or_dash(r.generation.map(|v| v.to_string())),
        or_dash(r.observed_generation.map(|v| v.to_string())),
    );
    out.push_str("\nConditions:\n");
    let rows: Vec<Vec<String>> = r
        .conditions
        .iter()
        .map(|c| {
            vec![
                c.type_.clone(),
                status_text(c.status),
                c.reason.clone(),
                age_of_text(&c.last_transition_time),
                c.message.clone(),
            ]
        })
        .collect();
    out.push_str(&indent(&table(
        &["TYPE", "STATUS", "REASON", "AGE", "MESSAGE"],
        &rows,
    )));
    out.push_str("\nEvents:\n");
    if r.events.is_empty() {
        out.push_str("  <none>\n");
    } else {
        let rows: Vec<Vec<String>> = r
            .events
            .iter()
            .map(|e| {
                vec![
                    e.age.clone(),
                    e.type_.clone(),
                    e.reason.clone(),
                    e.note.clone(),
                ]
            })
            .collect();
        out.push_str(&indent(&table(
            &["AGE", "TYPE", "REASON", "MESSAGE"],
            &rows,
        )));
    }
    if r.objects_not_ready.is_empty() {
        out.push_str(&format!("\nObjects: all {} ready\n", r.objects));
    } else {
        out.push_str(&format!(
            "\nObjects not ready ({} of {}):\n",
            r.objects_not_ready.len(),
            r.objects
        ));
        for o in &r.objects_not_ready {
            out.push_str(&format!("  {}: {}\n", o.object, o.why));
        }
    }
    out
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}

/// The most recent events about `obj`, newest last.
async fn events_of(cluster: &Cluster, obj: &HelmRelease) -> Result<Vec<EventLine>, CliError> {
    let api: Api<Event> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let selector = format!(
        "involvedObject.kind=HelmRelease,involvedObject.name={}",
        obj.name_any()
    );
    let mut events = api
        .list(&ListParams::default().fields(&selector))
        .await
        .map_err(|e| CliError::api("listing events", e))?
        .items;
    let uid = obj.uid();
    events.retain(|e| e.involved_object.uid == uid);
    events.sort_by_key(|e| last_seen(e).map(|t| t.as_second()));
    let skip = events.len().saturating_sub(RECENT_EVENTS);
    Ok(events
        .iter()
        .skip(skip)
        .map(|e| EventLine {
            age: last_seen(e)
                .map(|t| {
                    super::cluster::human_age(jiff::Timestamp::now().as_second() - t.as_second())
                })
                .unwrap_or_else(|| "<unknown>".into()),
            type_: e.type_.clone().unwrap_or_default(),
            reason: e.reason.clone().unwrap_or_default(),
            note: e.message.clone().unwrap_or_default(),
        })
        .collect())
}

/// When an event was last seen (its series, else its own time).
fn last_seen(e: &Event) -> Option<jiff::Timestamp> {
    e.series
        .as_ref()
        .and_then(|s| s.last_observed_time.as_ref().map(|t| t.0))
        .or_else(|| e.last_timestamp.as_ref().map(|t| t.0))
        .or_else(|| e.event_time.as_ref().map(|t| t.0))
        .or_else(|| e.metadata.creation_timestamp.as_ref().map(|t| t.0))
}

/// How many objects the live revision has, and those of them that are
/// not ready (missing ones included).
async fn readiness_of(
    cluster: &Cluster,
    obj: &HelmRelease,
    hist: &[StoredRelease],
) -> Result<(usize, Vec<NotReady>), CliError> {
    let Some(live) = history::deployed(hist.iter().map(|s| &s.release)) else {
        return Ok((0, Vec::new()));
    };
    let n = Names::of(obj);
    let ap = Applier::new(cluster.client.clone());
    let res = ap
        .resources(&live.manifest, &n.target)
        .await
        .map_err(|e| CliError::Usage(format!("reading revision {}: {e}", live.version)))?;
    let mut out = Vec::new();
    for r in &res {
        let why = match r.read_live(&cluster.client).await {
            Ok(None) => Some("missing".to_string()),
            Ok(Some(o)) => match serde_json::to_value(&o).map(|v| readiness(r.kind(), &v)) {
                Ok(Readiness::Ready) => None,
                Ok(Readiness::Pending(w)) => Some(w),
                Ok(Readiness::Failed(w)) => Some(format!("failed: {w}")),
                Err(e) => Some(e.to_string()),
            },
            Err(e) => Some(e.to_string()),
        };
        if let Some(why) = why {
            out.push(NotReady {
                object: r.display(),
                why,
            });
        }
    }
    Ok((res.len(), out))
}
