//! The release record as Helm v4 serialises it (`pkg/release/v1.Release`
//! encoded with Go's `encoding/json`): field names and omissions follow
//! Helm's struct tags, so the real `helm` reads what rudder writes and rudder
//! reads what `helm install`/`helm upgrade` wrote. Unknown fields are kept
//! (`extra`) so a record rudder rewrites (e.g. a status change) loses nothing.

use std::collections::BTreeMap;

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Map as JsonMap, Value as Json};

use crate::chart::{Chart, Metadata};
use crate::godata::json;
use crate::render::manifest::{Hook as RenderedHook, Manifest};

/// Helm's release status strings.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// `unknown`
    Unknown,
    /// `deployed`: the live revision.
    Deployed,
    /// `uninstalled` (kept with `--keep-history`).
    Uninstalled,
    /// `superseded`: an earlier revision.
    Superseded,
    /// `failed`
    Failed,
    /// `uninstalling`
    Uninstalling,
    /// `pending-install`
    PendingInstall,
    /// `pending-upgrade`
    PendingUpgrade,
    /// `pending-rollback`
    PendingRollback,
}

impl Status {
    /// The string Helm writes (also the Secret's `status` label).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Unknown => "unknown",
            Status::Deployed => "deployed",
            Status::Uninstalled => "uninstalled",
            Status::Superseded => "superseded",
            Status::Failed => "failed",
            Status::Uninstalling => "uninstalling",
            Status::PendingInstall => "pending-install",
            Status::PendingUpgrade => "pending-upgrade",
            Status::PendingRollback => "pending-rollback",
        }
    }

    /// Whether an operation on this revision was started and not finished.
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            Status::PendingInstall
                | Status::PendingUpgrade
                | Status::PendingRollback
                | Status::Uninstalling
        )
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `release.Info`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Info {
    /// RFC 3339 time of the first install.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub first_deployed: String,
    /// RFC 3339 time of this revision's deployment.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub last_deployed: String,
    /// RFC 3339 time of the uninstall.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub deleted: String,
    /// E.g. `Install complete`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Status of this revision.
    pub status: Status,
    /// Rendered NOTES.txt.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub notes: String,
    /// Fields rudder does not interpret.
    #[serde(flatten)]
    pub extra: JsonMap<String, Json>,
}

/// One file of the stored chart (`data` is base64, as Go encodes `[]byte`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ChartFile {
    /// Path relative to the chart root.
    pub name: String,
    /// Base64 of the bytes.
    #[serde(default)]
    pub data: String,
    /// Fields rudder does not interpret (`modtime`).
    #[serde(flatten)]
    pub extra: JsonMap<String, Json>,
}

/// The stored chart (`chart.Chart`, root only: Helm does not store subcharts).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct ChartRecord {
    /// Chart.yaml with Helm's JSON names (`name`, `version`, `appVersion`, ...).
    #[serde(default, deserialize_with = "null_default")]
    pub metadata: JsonMap<String, Json>,
    /// Chart.lock, or null.
    #[serde(default)]
    pub lock: Json,
    /// `templates/**`.
    #[serde(default, deserialize_with = "null_default")]
    pub templates: Vec<ChartFile>,
    /// values.yaml.
    #[serde(default)]
    pub values: Json,
    /// Base64 of values.schema.json, or null.
    #[serde(default)]
    pub schema: Json,
    /// Every other file (Helm writes `null` for none).
    #[serde(default, deserialize_with = "null_default")]
    pub files: Vec<ChartFile>,
    /// Fields rudder does not interpret.
    #[serde(flatten)]
    pub extra: JsonMap<String, Json>,
}

impl ChartRecord {
    /// The chart's name.
    pub fn name(&self) -> &str {
        self.metadata
            .get("name")
            .and_then(Json::as_str)
            .unwrap_or("")
    }

    /// The chart's version.
    pub fn version(&self) -> &str {
        self.metadata
            .get("version")
            .and_then(Json::as_str)
            .unwrap_or("")
    }

    /// The chart's appVersion.
    pub fn app_version(&self) -> &str {
        self.metadata
            .get("appVersion")
            .and_then(Json::as_str)
            .unwrap_or("")
    }
}

/// The last run of a hook.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct HookRun {
    /// RFC 3339 start time.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub started_at: String,
    /// RFC 3339 completion time.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub completed_at: String,
    /// `Running`, `Succeeded`, `Failed` or empty.
    #[serde(default)]
    pub phase: String,
}

/// `release.Hook`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct HookRecord {
    /// Object name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Object kind.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Template path.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path: String,
    /// The hook's manifest.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub manifest: String,
    /// Events (`pre-install`, `test`, ...).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub events: Vec<String>,
    /// Last run.
    #[serde(default)]
    pub last_run: HookRun,
    /// `helm.sh/hook-weight`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub weight: i64,
    /// `helm.sh/hook-delete-policy`.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub delete_policies: Vec<String>,
    /// Fields rudder does not interpret.
    #[serde(flatten)]
    pub extra: JsonMap<String, Json>,
}

/// A list or object Go's `encoding/json` wrote as `null` (a nil slice or
/// map), read as empty.
fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

impl From<&RenderedHook> for HookRecord {
    fn from(h: &RenderedHook) -> Self {
        HookRecord {
            name: h.name.clone(),
            kind: h.kind.clone(),
            path: h.path.clone(),
            manifest: h.manifest.clone(),
            events: h.events.clone(),
            last_run: HookRun::default(),
            weight: h.weight,
            delete_policies: h.delete_policies.clone(),
            extra: JsonMap::new(),
        }
    }
}

/// `release.Release`: one revision of a release.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Release {
    /// Release name.
    pub name: String,
    /// Status, times, description and notes.
    pub info: Info,
    /// The chart this revision was made from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<ChartRecord>,
    /// The user-supplied values (what `helm get values` prints).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "JsonMap::is_empty"
    )]
    pub config: JsonMap<String, Json>,
    /// The rendered manifests (`---\n# Source: ...` blocks), without hooks.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub manifest: String,
    /// The chart's hooks.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub hooks: Vec<HookRecord>,
    /// Revision number (1, 2, ...).
    #[serde(default)]
    pub version: i64,
    /// Release namespace.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// `ssa` (server-side apply) or `csa`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub apply_method: String,
    /// Fields rudder does not interpret.
    #[serde(flatten)]
    pub extra: JsonMap<String, Json>,
}

impl Release {
    /// The record's status.
    pub fn status(&self) -> Status {
        self.info.status
    }

    /// Chart name, or empty when the record has no chart.
    pub fn chart_name(&self) -> &str {
        self.chart.as_ref().map(ChartRecord::name).unwrap_or("")
    }

    /// Chart version, or empty.
    pub fn chart_version(&self) -> &str {
        self.chart.as_ref().map(ChartRecord::version).unwrap_or("")
    }

    /// Chart appVersion, or empty.
    pub fn app_version(&self) -> &str {
        self.chart
            .as_ref()
            .map(ChartRecord::app_version)
            .unwrap_or("")
    }
}

/// What a new revision is made of.
pub struct NewRelease {
    /// Release name.
    pub name: String,
    /// Release namespace.
    pub namespace: String,
    /// Revision number.
    pub version: i64,
    /// The stored chart.
    pub chart: ChartRecord,
    /// User-supplied values.
    pub config: JsonMap<String, Json>,
    /// Stored manifest text ([`manifest_text`]).
    pub manifest: String,
    /// Hooks.
    pub hooks: Vec<HookRecord>,
    /// Rendered notes.
    pub notes: String,
    /// Initial status (`pending-install`, `pending-upgrade`, ...).
    pub status: Status,
    /// Initial description.
    pub description: String,
    /// First deployment time of the release (now for an install).
    pub first_deployed: String,
    /// Now.
    pub now: String,
}

impl From<NewRelease> for Release {
    fn from(n: NewRelease) -> Self {
        Release {
            name: n.name,
            info: Info {
                first_deployed: n.first_deployed,
                last_deployed: n.now,
                deleted: String::new(),
                description: n.description,
                status: n.status,
                notes: n.notes,
                extra: JsonMap::new(),
            },
            chart: Some(n.chart),
            config: n.config,
            manifest: n.manifest,
            hooks: n.hooks,
            version: n.version,
            namespace: n.namespace,
            apply_method: "ssa".into(),
            extra: JsonMap::new(),
        }
    }
}

/// Helm's stored manifest: `---\n# Source: NAME\nTEXT\n` per document, in
/// install order (not trimmed, unlike `helm template`'s output).
pub fn manifest_text(manifests: &[Manifest]) -> String {
    let mut out = String::new();
    for m in manifests {
        crate::render::manifest::write_source(&mut out, &m.name, &m.content);
    }
    out
}

/// Why a chart could not be turned into its record.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The chart's values could not be encoded as JSON.
    #[error("encoding the chart's values as JSON: {0}")]
    Values(#[from] json::JsonError),
    /// The JSON did not parse back.
    #[error("re-reading JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A chart file left on disk could not be read.
    #[error("{0}")]
    File(#[from] crate::chart::LoadError),
}

/// A render value as serde JSON.
pub fn value_to_json(v: &crate::godata::value::Value) -> Result<Json, RecordError> {
    Ok(serde_json::from_str(&json::to_json(v)?)?)
}

/// The stored form of the (root) chart: metadata, templates, values, schema
/// and files, as `helm install` stores them.
pub fn chart_record(chart: &Chart) -> Result<ChartRecord, RecordError> {
    let b64 = |d: &[u8]| base64::engine::general_purpose::STANDARD.encode(d);
    let file = |f: &crate::chart::File| -> Result<ChartFile, RecordError> {
        Ok(ChartFile {
            name: f.name.clone(),
            data: b64(&f.bytes()?),
            extra: JsonMap::new(),
        })
    };
    Ok(ChartRecord {
        metadata: metadata_json(&chart.metadata),
        lock: Json::Null,
        templates: chart.templates.iter().map(file).collect::<Result<_, _>>()?,
        values: value_to_json(&chart.values)?,
        schema: chart
            .schema
            .as_ref()
            .map(|s| Json::String(b64(s)))
            .unwrap_or(Json::Null),
        files: chart.files.iter().map(file).collect::<Result<_, _>>()?,
        extra: JsonMap::new(),
    })
}

/// Chart.yaml with Helm's JSON field names, empty fields omitted.
pub fn metadata_json(m: &Metadata) -> JsonMap<String, Json> {
    let mut out = JsonMap::new();
    let mut s = |k: &str, v: &str| {
        if !v.is_empty() {
            out.insert(k.into(), Json::String(v.into()));
        }
    };
    s("name", &m.name);
    s("home", &m.home);
    s("version", &m.version);
    s("description", &m.description);
    s("icon", &m.icon);
    s("apiVersion", &m.api_version);
    s("condition", &m.condition);
    s("tags", &m.tags);
    s("appVersion", &m.app_version);
    s("kubeVersion", &m.kube_version);
    s("type", &m.chart_type);
    let strs = |v: &[String]| Json::Array(v.iter().map(|x| Json::String(x.clone())).collect());
    if !m.sources.is_empty() {
        out.insert("sources".into(), strs(&m.sources));
    }
    if !m.keywords.is_empty() {
        out.insert("keywords".into(), strs(&m.keywords));
    }
    if m.deprecated {
        out.insert("deprecated".into(), Json::Bool(true));
    }
    if !m.maintainers.is_empty() {
        let list = m.maintainers.iter().map(maintainer_json).collect();
        out.insert("maintainers".into(), Json::Array(list));
    }
    if let Some(ann) = m.annotations.as_ref().filter(|a| !a.is_empty()) {
        let map: BTreeMap<_, _> = ann
            .iter()
            .map(|(k, v)| (k.clone(), Json::String(v.clone())))
            .collect();
        out.insert(
            "annotations".into(),
            Json::Object(map.into_iter().collect()),
        );
    }
    if !m.dependencies.is_empty() {
        let list = m.dependencies.iter().map(dependency_json).collect();
        out.insert("dependencies".into(), Json::Array(list));
    }
    out
}

fn maintainer_json(x: &crate::chart::Maintainer) -> Json {
    let mut o = JsonMap::new();
    for (k, v) in [("name", &x.name), ("email", &x.email), ("url", &x.url)] {
        if !v.is_empty() {
            o.insert(k.into(), Json::String(v.clone()));
        }
    }
    Json::Object(o)
}

fn dependency_json(d: &crate::chart::Dependency) -> Json {
    let mut o = JsonMap::new();
    o.insert("name".into(), Json::String(d.name.clone()));
    if !d.version.is_empty() {
        o.insert("version".into(), Json::String(d.version.clone()));
    }
    o.insert("repository".into(), Json::String(d.repository.clone()));
    for (k, v) in [("condition", &d.condition), ("alias", &d.alias)] {
        if !v.is_empty() {
            o.insert(k.into(), Json::String(v.clone()));
        }
    }
    if !d.tags.is_empty() {
        let tags = d.tags.iter().map(|t| Json::String(t.clone())).collect();
        o.insert("tags".into(), Json::Array(tags));
    }
    if d.enabled {
        o.insert("enabled".into(), Json::Bool(true));
    }
    o.insert("import-values".into(), Json::Array(Vec::new()));
    if d.import_values.is_empty() {
        o.remove("import-values");
    } else if let Ok(list) = d
        .import_values
        .iter()
        .map(value_to_json)
        .collect::<Result<Vec<_>, _>>()
    {
        o.insert("import-values".into(), Json::Array(list));
    }
    Json::Object(o)
}

/// One decoded record and rudder's annotations on its Secret.
#[derive(Clone, Debug)]
pub struct StoredRelease {
    /// The record.
    pub release: Release,
    /// The Secret's annotations.
    pub annotations: BTreeMap<String, String>,
    /// Whether the record is parked (hidden from Helm's queries).
    pub parked: bool,
    /// Whether only the record's summary was read (from the cache: status,
    /// dates, chart metadata, how its hooks ran) without its body
    /// (manifest, values, hook manifests, chart templates and files); see
    /// `SecretStore::load`. Such a record is never written back.
    pub slim: bool,
}

impl StoredRelease {
    /// A rudder annotation of the record, if set.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.get(key).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_helms_record_shape_and_keeps_unknown_fields() {
        let text = r#"{"name":"web","info":{"first_deployed":"2026-01-01T00:00:00Z","last_deployed":"2026-01-01T00:00:00Z","description":"Install complete","status":"deployed","notes":"hi"},"chart":{"metadata":{"name":"scaffold","version":"0.1.0","appVersion":"1.16.0"},"lock":null,"templates":[{"name":"templates/a.yaml","data":"YTogMQo=","modtime":"2026-01-01T00:00:00Z"}],"values":{"a":1},"schema":null,"schemamodtime":"0001-01-01T00:00:00Z","files":[]},"config":{"replicaCount":2},"manifest":"---\n# Source: x\na: 1\n","hooks":[{"name":"t","kind":"Pod","path":"p","manifest":"m","events":["test"],"last_run":{"phase":""}}],"version":1,"namespace":"probe","apply_method":"ssa"}"#;
        let rel: Release = serde_json::from_str(text).expect("decode");
        assert_eq!(rel.status(), Status::Deployed);
        assert_eq!(rel.chart_version(), "0.1.0");
        assert_eq!(rel.app_version(), "1.16.0");
        let back = serde_json::to_value(&rel).expect("encode");
        let orig: Json = serde_json::from_str(text).expect("json");
        assert_eq!(back, orig);
    }

    #[test]
    fn reads_helms_nil_lists_and_maps() {
        // What `helm install` of a chart with no other files and no
        // values writes.
        let text = r#"{"name":"app","info":{"status":"deployed"},"chart":{"metadata":{"name":"app","version":"0.1.0"},"lock":null,"templates":null,"values":null,"schema":null,"files":null},"config":null,"manifest":"m","hooks":[{"name":"t","events":null,"delete_policies":null}],"version":2}"#;
        let rel: Release = serde_json::from_str(text).expect("decode");
        let chart = rel.chart.as_ref().expect("chart");
        assert!(chart.files.is_empty() && chart.templates.is_empty());
        assert!(rel.config.is_empty());
        assert!(rel.hooks[0].events.is_empty());
        assert_eq!(rel.version, 2);
    }

    #[test]
    fn status_strings_are_helms() {
        for s in [Status::PendingInstall, Status::Superseded, Status::Deployed] {
            let j = serde_json::to_string(&s).expect("encode");
            assert_eq!(j, format!("\"{}\"", s.as_str()));
        }
    }
}
