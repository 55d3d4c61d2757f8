//! A chart repository's `index.yaml` as Helm v4's `repo.loadIndex` reads it,
//! reduced to what resolution, search and dependency builds need.
//!
//! The text is decoded once with the crate's YAML reader (or its JSON reader
//! when the bytes are valid JSON, as Helm does), checked like
//! `yaml.UnmarshalStrict` (unknown fields are errors, wrong types are
//! errors), then every entry is validated with Helm's chart metadata rules:
//! invalid entries are skipped (and reported in [`IndexFile::skipped`]), the
//! rest is sorted newest version first. The result holds only owned strings,
//! so it is `Send + Sync` and can be shared behind an `Arc`.

use std::cmp::Ordering;
use std::collections::HashMap;

use crate::chart::metadata::Metadata;
use crate::godata::semver::Version;
use crate::godata::value::{Map, Value};
use crate::godata::yaml::{json_kind, scalar_as_string};

/// Why an index could not be read (Helm fails the whole index for these).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IndexError {
    /// The body was empty.
    #[error("empty index.yaml file")]
    Empty,
    /// Not UTF-8, not YAML or not JSON.
    #[error("{0}")]
    Syntax(String),
    /// Well-formed YAML that does not fit Helm's `IndexFile` type.
    #[error("error unmarshaling JSON: while decoding JSON: {0}")]
    Decode(String),
    /// No `apiVersion` at the top.
    #[error("no API version specified")]
    NoApiVersion,
}

/// A dependency an index entry declares (for `helm dependency build`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexDependency {
    pub name: String,
    pub version: String,
    pub repository: String,
    pub alias: String,
    pub condition: String,
}

/// One chart version of the index (Helm's `ChartVersion`, slimmed).
#[derive(Debug, Clone, PartialEq)]
pub struct ChartVersion {
    pub name: String,
    pub version: String,
    pub app_version: String,
    pub api_version: String,
    pub description: String,
    pub kube_version: String,
    pub chart_type: String,
    pub deprecated: bool,
    pub removed: bool,
    /// The archive's sha256 as the index publishes it (usually bare hex).
    pub digest: String,
    pub urls: Vec<String>,
    /// RFC 3339 creation time as written (empty when absent).
    pub created: String,
    pub dependencies: Vec<IndexDependency>,
    /// `version` parsed as Masterminds semver (`None`: sorts last, never
    /// matches a range).
    pub semver: Option<Version>,
}

/// An entry Helm skips with a warning (failed chart metadata validation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedEntry {
    pub name: String,
    pub version: String,
    pub reason: String,
}

/// A parsed repository index.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IndexFile {
    pub api_version: String,
    pub generated: String,
    /// Chart name → versions, newest first (Helm's `SortEntries`).
    pub entries: HashMap<String, Vec<ChartVersion>>,
    pub skipped: Vec<SkippedEntry>,
}

impl IndexFile {
    /// Number of chart versions kept.
    pub fn version_count(&self) -> usize {
        self.entries.values().map(Vec::len).sum()
    }

    /// Chart names, sorted.
    pub fn chart_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.entries.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }
}

const INDEX_FIELDS: &[&str] = &[
    "serverInfo",
    "apiVersion",
    "generated",
    "entries",
    "publicKeys",
    "annotations",
];

const VERSION_FIELDS: &[&str] = &[
    "name",
    "home",
    "sources",
    "version",
    "description",
    "keywords",
    "maintainers",
    "icon",
    "apiVersion",
    "condition",
    "tags",
    "appVersion",
    "deprecated",
    "annotations",
    "kubeVersion",
    "dependencies",
    "type",
    "urls",
    "created",
    "removed",
    "digest",
    "checksum",
    "engine",
    "tillerVersion",
    "url",
];

const MAINTAINER_FIELDS: &[&str] = &["name", "email", "url"];

const DEPENDENCY_FIELDS: &[&str] = &[
    "name",
    "version",
    "repository",
    "condition",
    "tags",
    "enabled",
    "import-values",
    "alias",
];

/// Parses index bytes as Helm's `loadIndex` does.
pub fn parse_index(data: &[u8]) -> Result<IndexFile, IndexError> {
    if data.is_empty() {
        return Err(IndexError::Empty);
    }
    let text = std::str::from_utf8(data)
        .map_err(|e| IndexError::Syntax(format!("yaml: invalid UTF-8: {e}")))?;
    let root = decode_text(text)?;
    let map = match &root {
        Value::Map(_, m) => m.borrow(),
        Value::Nil => return Err(IndexError::NoApiVersion),
        other => {
            return Err(IndexError::Decode(format!(
                "json: cannot unmarshal {} into Go value of type repo.IndexFile",
                json_kind(other)
            )));
        }
    };
    check_fields(&map, INDEX_FIELDS)?;
    let api_version = string_field(&map, "apiVersion", "IndexFile")?;
    let generated = time_field(&map, "generated", "IndexFile")?;
    let mut index = IndexFile {
        api_version,
        generated,
        ..IndexFile::default()
    };
    match map.get("entries") {
        None | Some(Value::Nil) => {}
        Some(Value::Map(_, entries)) => {
            for (name, list) in entries.borrow().iter() {
                let versions = decode_versions(name, list, &mut index.skipped)?;
                index.entries.insert(name.clone(), versions);
            }
        }
        Some(other) => {
            return Err(type_error(
                other,
                "IndexFile.entries",
                "map[string]repo.ChartVersions",
            ));
        }
    }
    if index.api_version.is_empty() {
        return Err(IndexError::NoApiVersion);
    }
    Ok(index)
}

/// JSON when the bytes are valid JSON (`json.Valid`), YAML otherwise.
fn decode_text(text: &str) -> Result<Value, IndexError> {
    let trimmed = text.trim_start();
    if (trimmed.starts_with('{') || trimmed.starts_with('['))
        && let Ok(v) = crate::godata::json::parse(text)
    {
        return Ok(v);
    }
    crate::godata::yaml::parse_any(text).map_err(|e| IndexError::Syntax(e.to_string()))
}

fn type_error(got: &Value, field: &str, go_type: &str) -> IndexError {
    IndexError::Decode(format!(
        "json: cannot unmarshal {} into Go struct field {field} of type {go_type}",
        json_kind(got)
    ))
}

/// `DisallowUnknownFields`: Go's JSON decoder matches field names
/// case-insensitively, anything else is an error.
fn check_fields(map: &Map, known: &[&str]) -> Result<(), IndexError> {
    for key in map.keys() {
        if !known.iter().any(|k| k.eq_ignore_ascii_case(key)) {
            return Err(IndexError::Decode(format!("json: unknown field {key:?}")));
        }
    }
    Ok(())
}

fn string_field(map: &Map, key: &str, strct: &str) -> Result<String, IndexError> {
    match map.get(key) {
        None | Some(Value::Nil) => Ok(String::new()),
        Some(v) => {
            scalar_as_string(v).ok_or_else(|| type_error(v, &format!("{strct}.{key}"), "string"))
        }
    }
}

/// A `time.Time` field: RFC 3339 text (or absent/null).
fn time_field(map: &Map, key: &str, strct: &str) -> Result<String, IndexError> {
    match map.get(key) {
        None | Some(Value::Nil) => Ok(String::new()),
        Some(Value::Str(s)) => {
            if s.parse::<jiff::Timestamp>().is_err() {
                return Err(IndexError::Decode(format!(
                    "parsing time {:?} as \"2006-01-02T15:04:05Z07:00\": cannot parse",
                    s.as_ref()
                )));
            }
            Ok(s.to_string())
        }
        Some(v) => Err(type_error(v, &format!("{strct}.{key}"), "time.Time")),
    }
}

fn decode_versions(
    name: &str,
    list: &Value,
    skipped: &mut Vec<SkippedEntry>,
) -> Result<Vec<ChartVersion>, IndexError> {
    let items = match list {
        Value::Nil => return Ok(Vec::new()),
        Value::List(l) => &l.items,
        other => {
            return Err(type_error(other, "IndexFile.entries", "repo.ChartVersions"));
        }
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        match decode_version(item)? {
            None => skipped.push(SkippedEntry {
                name: name.to_string(),
                version: String::new(),
                reason: "empty entry".into(),
            }),
            Some(Err(skip)) => skipped.push(SkippedEntry {
                name: name.to_string(),
                ..skip
            }),
            Some(Ok(cv)) => out.push(cv),
        }
    }
    out.sort_by(newest_first);
    Ok(out)
}

/// Helm's `sort.Reverse(ChartVersions)`: higher versions first, versions
/// that do not parse last (stable among equals).
fn newest_first(a: &ChartVersion, b: &ChartVersion) -> Ordering {
    match (&a.semver, &b.semver) {
        (Some(x), Some(y)) => y.compare(x),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

type Decoded = Option<Result<ChartVersion, SkippedEntry>>;

/// One list item: `None` for a null item, `Some(Err)` for an entry Helm
/// skips, a hard error for one that does not decode.
fn decode_version(item: &Value) -> Result<Decoded, IndexError> {
    let map = match item {
        Value::Nil => return Ok(None),
        Value::Map(_, m) => m.borrow(),
        other => return Err(type_error(other, "IndexFile.entries", "repo.ChartVersion")),
    };
    check_fields(&map, VERSION_FIELDS)?;
    check_nested_fields(&map)?;
    let mut md = Metadata::from_value(item).map_err(strip_decode_prefix)?;
    if md.api_version.is_empty() {
        md.api_version = "v1".into();
    }
    let urls = string_list(&map, "urls")?;
    let digest = string_field(&map, "digest", "ChartVersion")?;
    let created = time_field(&map, "created", "ChartVersion")?;
    let removed = match map.get("removed") {
        None | Some(Value::Nil) => false,
        Some(Value::Bool(b)) => *b,
        Some(v) => return Err(type_error(v, "ChartVersion.removed", "bool")),
    };
    if let Err(reason) = md.validate()
        && !reason.starts_with("validation: more than one dependency with name or alias")
    {
        return Ok(Some(Err(SkippedEntry {
            name: md.name,
            version: md.version,
            reason,
        })));
    }
    Ok(Some(Ok(slim(md, urls, digest, created, removed))))
}

fn check_nested_fields(map: &Map) -> Result<(), IndexError> {
    for (key, known) in [
        ("maintainers", MAINTAINER_FIELDS),
        ("dependencies", DEPENDENCY_FIELDS),
    ] {
        if let Some(Value::List(l)) = map.get(key) {
            for item in &l.items {
                if let Value::Map(_, m) = item {
                    check_fields(&m.borrow(), known)?;
                }
            }
        }
    }
    Ok(())
}

fn strip_decode_prefix(msg: String) -> IndexError {
    match msg.strip_prefix("error unmarshaling JSON: while decoding JSON: ") {
        Some(rest) => IndexError::Decode(rest.to_string()),
        None => IndexError::Decode(msg),
    }
}

fn string_list(map: &Map, key: &str) -> Result<Vec<String>, IndexError> {
    match map.get(key) {
        None | Some(Value::Nil) => Ok(Vec::new()),
        Some(Value::List(l)) => l
            .items
            .iter()
            .map(|v| match v {
                Value::Nil => Ok(String::new()),
                other => scalar_as_string(other)
                    .ok_or_else(|| type_error(other, &format!("ChartVersion.{key}"), "string")),
            })
            .collect(),
        Some(v) => Err(type_error(v, &format!("ChartVersion.{key}"), "[]string")),
    }
}

fn slim(
    md: Metadata,
    urls: Vec<String>,
    digest: String,
    created: String,
    removed: bool,
) -> ChartVersion {
    let semver = Version::parse(&md.version).ok();
    ChartVersion {
        dependencies: md
            .dependencies
            .into_iter()
            .map(|d| IndexDependency {
                name: d.name,
                version: d.version,
                repository: d.repository,
                alias: d.alias,
                condition: d.condition,
            })
            .collect(),
        name: md.name,
        version: md.version,
        app_version: md.app_version,
        api_version: md.api_version,
        description: md.description,
        kube_version: md.kube_version,
        chart_type: md.chart_type,
        deprecated: md.deprecated,
        removed,
        digest,
        urls,
        created,
        semver,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = "apiVersion: v1\nentries:\n  a:\n  - name: a\n    version: 1.10\n    urls: [a-1.10.tgz]\n    digest: abc\n  - name: a\n    version: 1.2.0\n    created: \"2026-01-02T03:04:05.123Z\"\n  - name: a\n    version: 2.0.0-rc.1\n  - name: a\n    version: not-semver\n  - null\ngenerated: \"2026-01-02T03:04:05Z\"\n";

    #[test]
    fn keeps_valid_entries_newest_first() {
        let idx = parse_index(SMALL.as_bytes()).expect("parses");
        let versions: Vec<&str> = idx.entries["a"]
            .iter()
            .map(|v| v.version.as_str())
            .collect();
        // `1.10` is a YAML float: sigs.k8s.io/yaml hands Go's string field "1.1".
        assert_eq!(versions, ["2.0.0-rc.1", "1.2.0", "1.1"]);
        assert_eq!(idx.skipped.len(), 2, "{:?}", idx.skipped);
        assert_eq!(idx.entries["a"][2].urls, ["a-1.10.tgz"]);
        assert_eq!(idx.entries["a"][0].api_version, "v1");
    }

    #[test]
    fn rejects_what_helm_rejects() {
        assert_eq!(parse_index(b""), Err(IndexError::Empty));
        assert_eq!(parse_index(b"entries: {}\n"), Err(IndexError::NoApiVersion));
        assert!(
            matches!(parse_index(b"apiVersion: v1\nfoo: 1\n"), Err(IndexError::Decode(m)) if m.contains("unknown field \"foo\""))
        );
        assert!(matches!(
            parse_index(b"apiVersion: v1\nentries: [1]\n"),
            Err(IndexError::Decode(_))
        ));
        assert!(matches!(parse_index(b"apiVersion: v1\nentries:\n  a:\n  - name: a\n    version: 1.0.0\n    created: yesterday\n"), Err(IndexError::Decode(_))));
        assert!(matches!(
            parse_index(b"apiVersion: v1\n  entries: : :\n"),
            Err(IndexError::Syntax(_))
        ));
    }

    #[test]
    fn reads_json_indexes() {
        let idx = parse_index(br#"{"apiVersion":"v1","entries":{"b":[{"name":"b","version":"0.1.0","urls":["https://x/b.tgz"]}]}}"#)
            .expect("json index");
        assert_eq!(idx.entries["b"][0].urls, ["https://x/b.tgz"]);
    }
}
