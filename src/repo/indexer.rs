//! `helm repo index` as a library: every `*.tgz` of a folder (and of its
//! direct subfolders, Helm's `**/*.tgz` glob) that loads as a chart becomes
//! an entry with its Chart.yaml fields, its URL under the base URL and its
//! sha256 digest, written as Helm writes `index.yaml` (sigs.k8s.io/yaml of
//! the `IndexFile` JSON form: keys sorted, empty fields left out, versions
//! newest first). Any static web server serving that folder is then a chart
//! repository.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use url::Url;

use super::cache::sha256_hex;
use crate::chart::load::{clean_path, load_archive_file};
use crate::chart::metadata::{Dependency, Metadata};
use crate::godata::semver::Version;
use crate::godata::value::{Map, Value};

/// Why a folder could not be indexed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IndexerError {
    #[error("reading {path}: {reason}")]
    Io { path: String, reason: String },
    #[error("failed adding to {file} to index: validate failed for {file}: {reason}")]
    Invalid { file: String, reason: String },
    #[error("writing the index: {0}")]
    Yaml(String),
    #[error("reading the index to merge into: {0}")]
    Merge(String),
}

/// One indexed archive.
pub struct Entry {
    /// Its Chart.yaml (`apiVersion` defaulted to `v1`, validated).
    pub metadata: Metadata,
    /// Its path relative to the indexed folder (`sub/x-1.0.0.tgz`).
    pub file: String,
    /// Its URL as the index publishes it.
    pub url: String,
    /// The sha256 of its bytes, hex.
    pub digest: String,
    /// RFC 3339 creation time written into the index.
    pub created: String,
    /// Its size in bytes.
    pub size: u64,
}

/// A file of the folder that is not in the index, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Its path relative to the indexed folder.
    pub file: String,
    pub reason: String,
    /// Whether it failed to load as a chart at all (Helm's silent skip;
    /// also what an archive still being written looks like).
    pub not_a_chart: bool,
}

/// The archives of a folder as [`scan_directory`] found them.
pub struct Scan {
    /// Indexed archives, by chart name then in folder order.
    pub entries: BTreeMap<String, Vec<Entry>>,
    /// Files left out.
    pub skipped: Vec<Skipped>,
}

/// How [`scan_directory`] treats the folder's archives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanOptions {
    /// Leave out (instead of failing on) archives whose Chart.yaml does not
    /// validate.
    pub lenient: bool,
    /// Leave out archives larger than this many bytes.
    pub max_archive_bytes: Option<u64>,
}

/// Builds the `index.yaml` text for the archives in `dir`, with URLs under
/// `base_url` (relative file names when it is empty). `now` is the RFC 3339
/// time written as `created` and `generated`.
pub fn index_directory(dir: &Path, base_url: &str, now: &str) -> Result<String, IndexerError> {
    index_directory_merged(dir, base_url, now, None)
}

/// [`index_directory`], then `helm repo index --merge`: every entry of the
/// existing index `merge_into` (its text) whose name and version the folder
/// does not have is kept as it was (URL, digest, created).
pub fn index_directory_merged(
    dir: &Path,
    base_url: &str,
    now: &str,
    merge_into: Option<&str>,
) -> Result<String, IndexerError> {
    let merge_into = merge_into
        .map(crate::godata::yaml::parse_any)
        .transpose()
        .map_err(|e| IndexerError::Merge(e.to_string()))?;
    let strict = ScanOptions {
        lenient: false,
        max_archive_bytes: None,
    };
    let scan = scan_directory(dir, base_url, now, strict)?;
    let mut by_name = entry_values(&scan.entries);
    if let Some(old) = merge_into.as_ref() {
        merge_missing(&mut by_name, old);
    }
    index_text(by_name, now)
}

/// Every `*.tgz` of `dir` and its direct subfolders that loads as a chart,
/// with `created` set to `now`.
pub fn scan_directory(
    dir: &Path,
    base_url: &str,
    now: &str,
    options: ScanOptions,
) -> Result<Scan, IndexerError> {
    let mut scan = Scan {
        entries: BTreeMap::new(),
        skipped: Vec::new(),
    };
    for (parent, file) in archives(dir)? {
        let path = dir.join(&parent).join(&file);
        let rel = if parent.is_empty() {
            file.clone()
        } else {
            format!("{parent}/{file}")
        };
        let skip = |reason: String, not_a_chart: bool| Skipped {
            file: rel.clone(),
            reason,
            not_a_chart,
        };
        let size = std::fs::metadata(&path)
            .map_err(|e| io_error(&path, &e))?
            .len();
        if let Some(max) = options.max_archive_bytes.filter(|max| size > *max) {
            scan.skipped.push(skip(
                format!("{size} bytes, larger than the {max}-byte archive limit"),
                false,
            ));
            continue;
        }
        // Helm assumes a file that does not load is not a chart.
        let chart = match load_archive_file(&path) {
            Ok(chart) => chart,
            Err(e) => {
                scan.skipped.push(skip(e.to_string(), true));
                continue;
            }
        };
        let bytes = std::fs::read(&path).map_err(|e| io_error(&path, &e))?;
        let mut metadata = chart.metadata;
        if metadata.api_version.is_empty() {
            metadata.api_version = "v1".into();
        }
        if let Err(reason) = metadata.validate() {
            if options.lenient {
                scan.skipped.push(skip(reason, false));
                continue;
            }
            return Err(IndexerError::Invalid { file, reason });
        }
        let url = entry_url(base_url, &parent, &file);
        scan.entries
            .entry(metadata.name.clone())
            .or_default()
            .push(Entry {
                metadata,
                file: rel,
                url,
                digest: sha256_hex(&bytes),
                created: now.to_string(),
                size: bytes.len() as u64,
            });
    }
    Ok(scan)
}

/// Gives every entry of `scan` whose name, version and digest the previous
/// index `previous` (its text) lists the `created` time it had there, as an
/// unchanged archive keeps its entry. An unreadable previous index changes
/// nothing.
pub fn keep_created(scan: &mut Scan, previous: &str) {
    let Ok(old) = crate::godata::yaml::parse_any(previous) else {
        return;
    };
    let Some(entries) = map_get(&old, "entries").and_then(|e| e.as_map().cloned()) else {
        return;
    };
    let entries = entries.borrow();
    for (name, versions) in scan.entries.iter_mut() {
        let Some(list) = entries
            .get(name)
            .and_then(|l| l.as_list().map(|l| l.to_vec()))
        else {
            continue;
        };
        for entry in versions.iter_mut() {
            let same = list.iter().find(|old| {
                version_of(old) == entry.metadata.version && text_of(old, "digest") == entry.digest
            });
            if let Some(created) = same.map(|old| text_of(old, "created"))
                && !created.is_empty()
            {
                entry.created = created;
            }
        }
    }
}

/// The index entries of a scan in their JSON form, by chart name.
pub fn entry_values(entries: &BTreeMap<String, Vec<Entry>>) -> BTreeMap<String, Vec<Value>> {
    entries
        .iter()
        .map(|(name, versions)| (name.clone(), versions.iter().map(entry_value).collect()))
        .collect()
}

/// The `index.yaml` text of `by_name` (versions sorted newest first) with
/// `generated` as its generation time.
pub fn index_text(
    by_name: BTreeMap<String, Vec<Value>>,
    generated: &str,
) -> Result<String, IndexerError> {
    let mut root = Map::new();
    root.insert("apiVersion".into(), Value::str("v1"));
    let mut by_name_map = Map::new();
    for (name, mut versions) in by_name {
        versions.sort_by(|a, b| newest_first(&version_of(a), &version_of(b)));
        by_name_map.insert(name, Value::list(versions));
    }
    root.insert("entries".into(), Value::map(by_name_map));
    root.insert("generated".into(), Value::str(generated));
    crate::godata::yaml::to_yaml(&Value::map(root)).map_err(|e| IndexerError::Yaml(e.to_string()))
}

/// The `generated` time of an index text (empty when it has none).
pub fn generated_of(index: &str) -> String {
    crate::godata::yaml::parse_any(index)
        .map(|v| text_of(&v, "generated"))
        .unwrap_or_default()
}

fn text_of(v: &Value, key: &str) -> String {
    map_get(v, key)
        .map(|v| crate::godata::gofmt::format_value(&v))
        .unwrap_or_default()
}

/// Helm's `IndexFile.Merge`: adds the entries of `old` whose name and
/// version are not indexed yet.
fn merge_missing(by_name: &mut BTreeMap<String, Vec<Value>>, old: &Value) {
    let Some(entries) =
        map_get(old, "entries").and_then(|e| e.as_map().map(|m| m.borrow().clone()))
    else {
        return;
    };
    for (name, versions) in entries.iter() {
        let Some(list) = versions.as_list() else {
            continue;
        };
        let list: Vec<Value> = list.to_vec();
        let have = by_name.entry(name.clone()).or_default();
        for old_entry in list {
            let v = version_of(&old_entry);
            if !have.iter().any(|e| version_of(e) == v) {
                have.push(old_entry);
            }
        }
    }
}

fn version_of(entry: &Value) -> String {
    map_get(entry, "version")
        .map(|v| crate::godata::gofmt::format_value(&v))
        .unwrap_or_default()
}

fn map_get(v: &Value, key: &str) -> Option<Value> {
    v.as_map().and_then(|m| m.borrow().get(key).cloned())
}

/// Helm's `SortEntries`: newest semantic version first.
fn newest_first(a: &str, b: &str) -> std::cmp::Ordering {
    match (Version::parse(a), Version::parse(b)) {
        (Ok(x), Ok(y)) => y.compare(&x),
        (Ok(_), Err(_)) => std::cmp::Ordering::Less,
        (Err(_), Ok(_)) => std::cmp::Ordering::Greater,
        (Err(_), Err(_)) => std::cmp::Ordering::Equal,
    }
}

/// `(parent folder, file name)` of `dir/*.tgz` and `dir/*/*.tgz`, in
/// `filepath.Glob` order (sorted).
fn archives(dir: &Path) -> Result<Vec<(String, String)>, IndexerError> {
    let mut out = tgz_files(dir, "")?;
    let mut subdirs: Vec<String> = read_dir(dir)?
        .into_iter()
        .filter(|(_, p)| p.is_dir())
        .map(|(n, _)| n)
        .collect();
    subdirs.sort();
    for sub in subdirs {
        out.extend(tgz_files(&dir.join(&sub), &sub)?);
    }
    Ok(out)
}

fn tgz_files(dir: &Path, parent: &str) -> Result<Vec<(String, String)>, IndexerError> {
    let mut names: Vec<String> = read_dir(dir)?
        .into_iter()
        .filter(|(n, p)| n.ends_with(".tgz") && p.is_file())
        .map(|(n, _)| n)
        .collect();
    names.sort();
    Ok(names.into_iter().map(|n| (parent.to_string(), n)).collect())
}

fn read_dir(dir: &Path) -> Result<Vec<(String, PathBuf)>, IndexerError> {
    let rd = std::fs::read_dir(dir).map_err(|e| io_error(dir, &e))?;
    Ok(rd
        .flatten()
        .filter_map(|e| Some((e.file_name().into_string().ok()?, e.path())))
        .filter(|(n, _)| !n.starts_with('.'))
        .collect())
}

fn io_error(path: &Path, e: &std::io::Error) -> IndexerError {
    IndexerError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

/// Helm: `URLJoin(URLJoin(base, parent), file)`, or the bare file name
/// when that parent URL is empty (no base URL, top folder).
fn entry_url(base: &str, parent: &str, file: &str) -> String {
    let parent_url = url_join(base, parent);
    if parent_url.is_empty() {
        return file.to_string();
    }
    url_join(&parent_url, file)
}

/// Helm's `urlutil.URLJoin`: the URL's path joined with `part` by Go's
/// `path.Join` (falling back to `path.Join` of the text).
fn url_join(base: &str, part: &str) -> String {
    match Url::parse(base) {
        Ok(mut u) => {
            let joined = go_path_join(&[u.path(), part]);
            u.set_path(&joined);
            let s = u.to_string();
            // Go prints no slash for an empty path ("http://h"), url does.
            if joined.is_empty() || joined == "/" && !base.ends_with('/') {
                s.trim_end_matches('/').to_string()
            } else {
                s
            }
        }
        Err(_) => go_path_join(&[base, part]),
    }
}

/// Go's `path.Join`: non-empty parts joined by `/`, then cleaned; `""`
/// when every part is empty.
fn go_path_join(parts: &[&str]) -> String {
    let nonempty: Vec<&str> = parts.iter().copied().filter(|p| !p.is_empty()).collect();
    if nonempty.is_empty() {
        return String::new();
    }
    clean_path(&nonempty.join("/"))
}

/// A `ChartVersion` in its JSON form (json tags, `omitempty`).
fn entry_value(e: &Entry) -> Value {
    let md = &e.metadata;
    let mut m = Map::new();
    put_str(&mut m, "name", &md.name);
    put_str(&mut m, "home", &md.home);
    put_strs(&mut m, "sources", &md.sources);
    put_str(&mut m, "version", &md.version);
    put_str(&mut m, "description", &md.description);
    put_strs(&mut m, "keywords", &md.keywords);
    if !md.maintainers.is_empty() {
        let list = md
            .maintainers
            .iter()
            .map(|x| {
                let mut mm = Map::new();
                put_str(&mut mm, "name", &x.name);
                put_str(&mut mm, "email", &x.email);
                put_str(&mut mm, "url", &x.url);
                Value::map(mm)
            })
            .collect();
        m.insert("maintainers".into(), Value::list(list));
    }
    put_str(&mut m, "icon", &md.icon);
    put_str(&mut m, "apiVersion", &md.api_version);
    put_str(&mut m, "condition", &md.condition);
    put_str(&mut m, "tags", &md.tags);
    put_str(&mut m, "appVersion", &md.app_version);
    if md.deprecated {
        m.insert("deprecated".into(), Value::Bool(true));
    }
    if let Some(ann) = md.annotations.as_ref().filter(|a| !a.is_empty()) {
        let am: Map = ann
            .iter()
            .map(|(k, v)| (k.clone(), Value::str(v.as_str())))
            .collect();
        m.insert("annotations".into(), Value::map(am));
    }
    put_str(&mut m, "kubeVersion", &md.kube_version);
    if !md.dependencies.is_empty() {
        let deps = md.dependencies.iter().map(dependency_value).collect();
        m.insert("dependencies".into(), Value::list(deps));
    }
    put_str(&mut m, "type", &md.chart_type);
    m.insert("urls".into(), Value::list(vec![Value::str(e.url.as_str())]));
    m.insert("created".into(), Value::str(e.created.as_str()));
    put_str(&mut m, "digest", &e.digest);
    Value::map(m)
}

fn dependency_value(d: &Dependency) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), Value::str(d.name.as_str()));
    put_str(&mut m, "version", &d.version);
    m.insert("repository".into(), Value::str(d.repository.as_str()));
    put_str(&mut m, "condition", &d.condition);
    put_strs(&mut m, "tags", &d.tags);
    if d.enabled {
        m.insert("enabled".into(), Value::Bool(true));
    }
    if !d.import_values.is_empty() {
        m.insert("import-values".into(), Value::list(d.import_values.clone()));
    }
    put_str(&mut m, "alias", &d.alias);
    Value::map(m)
}

fn put_str(m: &mut Map, key: &str, v: &str) {
    if !v.is_empty() {
        m.insert(key.into(), Value::str(v));
    }
}

fn put_strs(m: &mut Map, key: &str, v: &[String]) {
    if !v.is_empty() {
        m.insert(
            key.into(),
            Value::list(v.iter().map(|x| Value::str(x.as_str())).collect()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_urls_like_helm() {
        assert_eq!(entry_url("", "", "a.tgz"), "a.tgz");
        assert_eq!(entry_url("", "sub", "a.tgz"), "sub/a.tgz");
        assert_eq!(
            entry_url("http://h/charts", "", "a.tgz"),
            "http://h/charts/a.tgz"
        );
        assert_eq!(
            entry_url("http://h/charts/", "sub", "a.tgz"),
            "http://h/charts/sub/a.tgz"
        );
        assert_eq!(entry_url("http://h", "", "a.tgz"), "http://h/a.tgz");
        assert_eq!(go_path_join(&["/x/", "../y"]), "/y");
    }
}
