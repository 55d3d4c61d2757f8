//! Loading a chart from a directory or a `.tgz` archive, as Helm's loader
//! does: `.helmignore` (directories), UTF-8 BOM stripping, Chart.yaml /
//! requirements.yaml / values.yaml / values.schema.json, templates/, other
//! files, and subcharts under `charts/` (directories or archives).
//!
//! Safety limits: archives at most [`MAX_PACKED`] bytes, all files together
//! at most [`MAX_UNPACKED`] bytes unpacked, one file at most [`MAX_FILE`];
//! archive entries with absolute paths or `..` are rejected with an error
//! naming the entry; symlink entries of an archive are ignored, as Helm
//! ignores them. In a directory chart (only the command line loads those:
//! `rudder template`, `rudder package`) symlinks are followed wherever they
//! point, as Helm follows them, each with Helm's notice; a symlink loop is
//! an error.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use thiserror::Error;

use super::ignore::Rules;
use super::metadata::{Metadata, parse_dependencies};
use super::yamlio;
use super::{Chart, File};
use crate::godata::value::Value;

/// Largest chart archive accepted (packed).
pub const MAX_PACKED: u64 = 20 * 1024 * 1024;
/// Largest total size of a chart's files (unpacked).
pub const MAX_UNPACKED: u64 = 100 * 1024 * 1024;
/// Largest single file (Helm's `MaxDecompressedFileSize`).
pub const MAX_FILE: u64 = 5 * 1024 * 1024;

/// Why a chart could not be loaded. The display text follows Helm's.
#[derive(Debug, Error)]
pub enum LoadError {
    #[error("path {0:?} not found")]
    NotFound(String),
    #[error("error reading {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Archive(String),
    #[error("{0}")]
    Unsafe(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    Invalid(String),
}

/// A file read from a directory or an archive, before classification.
struct RawFile {
    name: String,
    data: Vec<u8>,
    /// Where the file is, when its reading is deferred (`data` is empty).
    deferred: Option<PathBuf>,
}

impl RawFile {
    fn read(name: String, data: Vec<u8>) -> RawFile {
        RawFile {
            name,
            data,
            deferred: None,
        }
    }
}

/// Loads a chart from a directory or a `.tgz` file.
pub fn load(path: &Path) -> Result<Chart, LoadError> {
    load_with(path, false, &mut Vec::new())
}

/// [`load`] for a chart about to be rendered once (`rudder template`): of a
/// directory, the files no loader step reads (everything but Chart.yaml,
/// values, schema, requirements and lock files, templates and subchart
/// archives, at every subchart level) are listed and size-checked but left
/// on disk until a template reads them (see [`super::Contents`]).
pub fn load_for_render(path: &Path) -> Result<Chart, LoadError> {
    load_with(path, true, &mut Vec::new())
}

/// [`load_for_render`], also returning Helm's notices about symlinks the
/// walk followed (`found symbolic link in path…`), for the command line
/// to print.
pub fn load_for_render_noting(path: &Path) -> Result<(Chart, Vec<SymlinkNotice>), LoadError> {
    let mut notices = Vec::new();
    let chart = load_with(path, true, &mut notices)?;
    Ok((chart, notices))
}

/// A symlink a directory walk followed: where it is, what it resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymlinkNotice {
    pub path: PathBuf,
    pub resolved: PathBuf,
}

fn load_with(
    path: &Path,
    defer: bool,
    notices: &mut Vec<SymlinkNotice>,
) -> Result<Chart, LoadError> {
    let meta =
        std::fs::metadata(path).map_err(|_| LoadError::NotFound(path.display().to_string()))?;
    if meta.is_dir() {
        load_dir_with(path, defer, notices)
    } else {
        load_archive_file(path)
    }
}

/// Loads a chart archive file (checks the packed size and gzip magic first).
pub fn load_archive_file(path: &Path) -> Result<Chart, LoadError> {
    let name = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| LoadError::Io {
        path: name.clone(),
        source: e,
    })?;
    if meta.len() > MAX_PACKED {
        return Err(LoadError::TooLarge(format!(
            "chart archive {name} is larger than the maximum size {MAX_PACKED}"
        )));
    }
    let data = std::fs::read(path).map_err(|e| LoadError::Io {
        path: name.clone(),
        source: e,
    })?;
    if !data.starts_with(&[0x1f, 0x8b]) {
        if name.ends_with(".yml") || name.ends_with(".yaml") {
            return Err(LoadError::Archive(format!(
                "file '{name}' seems to be a YAML file, but expected a gzipped archive"
            )));
        }
        return Err(LoadError::Archive(format!(
            "file '{name}' does not appear to be a gzipped archive"
        )));
    }
    let files = archive_files(&data).map_err(|e| match e {
        LoadError::Archive(m) if m.starts_with("gzip:") => LoadError::Archive(format!(
            "file '{name}' does not appear to be a valid chart file (details: {m})"
        )),
        // Helm says only "unable to load chart archive"; rudder adds why.
        LoadError::Unsafe(m) => LoadError::Unsafe(format!("unable to load chart archive: {m}")),
        LoadError::TooLarge(m) => LoadError::TooLarge(format!("unable to load chart archive: {m}")),
        LoadError::Archive(m) => LoadError::Archive(format!("unable to load chart archive: {m}")),
        other => other,
    })?;
    check_api_version(&files)?;
    load_files(files)
}

/// Helm v4's generic loader: Chart.yaml must exist and name a known
/// apiVersion (v1, v2 or none).
fn check_api_version(files: &[RawFile]) -> Result<(), LoadError> {
    let Some(f) = files.iter().find(|f| f.name == "Chart.yaml") else {
        return Err(LoadError::Invalid(
            "unable to detect chart version, no Chart.yaml found".into(),
        ));
    };
    let v = yamlio::parse(&text(f))
        .map_err(|e| LoadError::Invalid(format!("cannot load Chart.yaml: {e}")))?;
    let api = v.as_map().and_then(|m| {
        m.borrow()
            .get("apiVersion")
            .and_then(|a| a.as_str().map(str::to_string))
    });
    match api.as_deref() {
        None | Some("v1") | Some("v2") | Some("") => Ok(()),
        Some(_) => Err(LoadError::Invalid("unsupported chart version".into())),
    }
}

/// Loads a chart from the bytes of a `.tgz`.
pub fn load_archive(data: &[u8]) -> Result<Chart, LoadError> {
    if data.len() as u64 > MAX_PACKED {
        return Err(LoadError::TooLarge(format!(
            "chart archive is larger than the maximum size {MAX_PACKED}"
        )));
    }
    let files = archive_files(data)?;
    load_files(files)
}

/// The bytes of the file at `path` (relative to the chart's directory,
/// e.g. `values-prod.yaml`) in a chart archive, read with the loader's
/// checks; `None` when the archive has no such file.
pub fn archive_file(data: &[u8], path: &str) -> Result<Option<Vec<u8>>, LoadError> {
    if data.len() as u64 > MAX_PACKED {
        return Err(LoadError::TooLarge(format!(
            "chart archive is larger than the maximum size {MAX_PACKED}"
        )));
    }
    let want = clean_path(path);
    Ok(archive_files(data)?
        .into_iter()
        .find(|f| f.name == want)
        .map(|f| f.data))
}

fn archive_files(data: &[u8]) -> Result<Vec<RawFile>, LoadError> {
    let gz = flate2::read::GzDecoder::new(data);
    let mut tar = tar::Archive::new(gz);
    let entries = tar
        .entries()
        .map_err(|e| LoadError::Archive(format!("gzip: {e}")))?;
    let mut remaining = MAX_UNPACKED;
    let mut files = Vec::new();
    for entry in entries {
        let mut entry =
            entry.map_err(|e| LoadError::Archive(format!("error reading chart archive: {e}")))?;
        let header = entry.header();
        let kind = header.entry_type();
        let raw_name = String::from_utf8_lossy(&entry.path_bytes()).to_string();
        if kind.is_dir() || kind.is_pax_global_extensions() || kind.is_pax_local_extensions() {
            continue;
        }
        if kind.is_gnu_longname() || kind.is_gnu_longlink() {
            continue;
        }
        let name = archive_entry_name(&raw_name)?;
        if kind.is_symlink() {
            continue;
        }
        if kind.is_hard_link() {
            let target = entry
                .link_name_bytes()
                .map(|b| String::from_utf8_lossy(&b).to_string())
                .unwrap_or_default();
            check_link_target(&raw_name, &name, &target)?;
        }
        let size = entry.header().size().unwrap_or(0);
        if size > remaining {
            return Err(too_large_total());
        }
        if size > MAX_FILE {
            return Err(LoadError::TooLarge(format!(
                "decompressed chart file {raw_name:?} is larger than the maximum file size {MAX_FILE}"
            )));
        }
        let mut buf = Vec::with_capacity(size as usize);
        let read = (&mut entry)
            .take(remaining)
            .read_to_end(&mut buf)
            .map_err(|e| LoadError::Archive(format!("error reading {raw_name}: {e}")))?
            as u64;
        remaining -= read;
        if read < size || remaining == 0 {
            return Err(too_large_total());
        }
        files.push(RawFile::read(name, strip_bom(buf)));
    }
    if files.is_empty() {
        return Err(LoadError::Archive("no files in chart archive".into()));
    }
    Ok(files)
}

fn too_large_total() -> LoadError {
    LoadError::TooLarge(format!(
        "decompressed chart is larger than the maximum size {MAX_UNPACKED}"
    ))
}

/// Helm's path checks for an archive entry; returns the name without the
/// leading chart directory.
fn archive_entry_name(raw: &str) -> Result<String, LoadError> {
    let delim = if raw.contains('\\') { '\\' } else { '/' };
    let parts: Vec<&str> = raw.split(delim).collect();
    let n = parts[1..].join("/");
    if n.starts_with('/') {
        return Err(LoadError::Unsafe(format!(
            "chart illegally contains absolute paths: {raw:?}"
        )));
    }
    let n = clean_path(&n);
    if n == "." {
        return Err(LoadError::Unsafe(format!(
            "chart illegally contains content outside the base directory: {raw:?}"
        )));
    }
    if n.starts_with("..") {
        return Err(LoadError::Unsafe(format!(
            "chart illegally references parent directory: {raw:?}"
        )));
    }
    let b = n.as_bytes();
    if b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && b[2] == b'/' {
        return Err(LoadError::Unsafe(format!(
            "chart contains illegally named files: {raw:?}"
        )));
    }
    if parts[0] == "Chart.yaml" {
        return Err(LoadError::Unsafe("chart yaml not in base directory".into()));
    }
    Ok(n)
}

/// Rejects a link entry whose target leaves the chart directory.
fn check_link_target(raw: &str, name: &str, target: &str) -> Result<(), LoadError> {
    if target.starts_with('/') || target.contains('\\') {
        return Err(LoadError::Unsafe(format!(
            "chart contains a symlink out of the chart: {raw:?} -> {target:?}"
        )));
    }
    let dir = match name.rfind('/') {
        Some(i) => &name[..i],
        None => "",
    };
    let joined = clean_path(&format!("{dir}/{target}"));
    if joined.starts_with("..") || joined.starts_with('/') {
        return Err(LoadError::Unsafe(format!(
            "chart contains a symlink out of the chart: {raw:?} -> {target:?}"
        )));
    }
    Ok(())
}

/// Go's `path.Clean` for relative paths.
pub fn clean_path(p: &str) -> String {
    let rooted = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|l| *l != "..") {
                    out.pop();
                } else if !rooted {
                    out.push("..");
                }
            }
            x => out.push(x),
        }
    }
    let joined = out.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// The UTF-8 byte-order mark, dropped from the start of every file.
const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// `data` without a leading byte-order mark.
fn without_bom(data: &[u8]) -> &[u8] {
    data.strip_prefix(&BOM).unwrap_or(data)
}

/// [`without_bom`] in place.
fn strip_bom(mut data: Vec<u8>) -> Vec<u8> {
    if data.starts_with(&BOM) {
        data.drain(..BOM.len());
    }
    data
}

/// Loads a chart from a directory, honouring `.helmignore`.
pub fn load_dir(dir: &Path) -> Result<Chart, LoadError> {
    load_dir_with(dir, false, &mut Vec::new())
}

fn load_dir_with(
    dir: &Path,
    defer: bool,
    notices: &mut Vec<SymlinkNotice>,
) -> Result<Chart, LoadError> {
    let top =
        std::fs::canonicalize(dir).map_err(|_| LoadError::NotFound(dir.display().to_string()))?;
    let mut rules = match std::fs::read_to_string(top.join(".helmignore")) {
        Ok(text) => Rules::parse(&text).map_err(LoadError::Invalid)?,
        Err(_) => Rules::default(),
    };
    rules.add_defaults();
    let chart_yaml = top.join("Chart.yaml");
    let data = std::fs::read(&chart_yaml).map_err(|e| {
        LoadError::Invalid(format!(
            "unable to detect chart at {p}: open {p}: {}",
            io_text(&e),
            p = chart_yaml.display()
        ))
    })?;
    check_api_version(&[RawFile::read("Chart.yaml".into(), data)])?;
    let mut walker = DirWalker {
        top: top.clone(),
        rules,
        defer,
        files: Vec::new(),
        total: 0,
        buf: Vec::with_capacity(16 * 1024),
        notices: Vec::new(),
        linked_dirs: Vec::new(),
    };
    walker.walk(&top, "")?;
    notices.append(&mut walker.notices);
    load_files(walker.files)
}

struct DirWalker {
    top: PathBuf,
    rules: Rules,
    /// Leave the files the loader does not read on disk ([`load_for_render`]).
    defer: bool,
    files: Vec<RawFile>,
    total: u64,
    /// Read buffer shared by every file (see [`read_capped`]).
    buf: Vec<u8>,
    /// Symlinks followed, in walk order.
    notices: Vec<SymlinkNotice>,
    /// Directories entered through a symlink on the current path (a link
    /// back into one of them is a loop).
    linked_dirs: Vec<PathBuf>,
}

impl DirWalker {
    /// Walks `path` (relative name `rel`) in lexical order, following
    /// symlinks that stay inside the chart. Entry types come from the
    /// directory listing and regular files are read without a `stat`:
    /// a chart is mostly small files, where system calls cost more than
    /// the bytes.
    fn walk(&mut self, path: &Path, rel: &str) -> Result<(), LoadError> {
        let io_err = |path: &str| {
            let path = path.to_string();
            move |source| LoadError::Io { path, source }
        };
        let mut entries: Vec<(String, std::fs::FileType, std::fs::DirEntry)> = Vec::new();
        for entry in std::fs::read_dir(path).map_err(io_err(rel))? {
            let Ok(entry) = entry else { continue };
            let name = entry.file_name().to_string_lossy().into_owned();
            let kind = entry.file_type().map_err(io_err(&name))?;
            entries.push((name, kind, entry));
        }
        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        for (name, kind, entry) in entries {
            let child = path.join(&name);
            let child_rel = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            let (is_dir, is_file, target, resolved) = if kind.is_symlink() {
                let (meta, resolved) = self.resolve_symlink(&child, &child_rel)?;
                (meta.is_dir(), meta.is_file(), Some(meta), Some(resolved))
            } else {
                (kind.is_dir(), kind.is_file(), None, None)
            };
            if self.rules.ignore(&child_rel, is_dir) {
                continue;
            }
            if let Some(resolved) = &resolved {
                self.notices.push(SymlinkNotice {
                    path: child.clone(),
                    resolved: resolved.clone(),
                });
            }
            if is_dir {
                match resolved {
                    Some(dir) => self.walk_linked(&child, &child_rel, dir)?,
                    None => self.walk(&child, &child_rel)?,
                }
                continue;
            }
            if !is_file {
                return Err(LoadError::Invalid(format!(
                    "cannot load irregular file {} as it has file mode type bits set",
                    child.display()
                )));
            }
            if self.defer && !read_by_loader(&child_rel) {
                let meta = match target {
                    Some(meta) => meta,
                    None => entry.metadata().map_err(io_err(&child_rel))?,
                };
                if meta.len() > MAX_FILE {
                    return Err(file_too_large(&name));
                }
                self.count(meta.len())?;
                self.files.push(RawFile {
                    name: child_rel,
                    data: Vec::new(),
                    deferred: Some(child),
                });
                continue;
            }
            read_chart_file(&child, &child_rel, &mut self.buf)?;
            self.count(self.buf.len() as u64)?;
            self.files
                .push(RawFile::read(child_rel, without_bom(&self.buf).to_vec()));
        }
        Ok(())
    }

    /// Adds a file's size to the chart's total, which has a limit.
    fn count(&mut self, size: u64) -> Result<(), LoadError> {
        self.total += size;
        if self.total > MAX_UNPACKED {
            return Err(too_large_total());
        }
        Ok(())
    }

    /// Walks a directory reached through a symlink, refusing a loop (a
    /// link to the chart or to a directory being walked).
    fn walk_linked(&mut self, child: &Path, rel: &str, dir: PathBuf) -> Result<(), LoadError> {
        let looping =
            self.top.starts_with(&dir) || self.linked_dirs.iter().any(|d| d.starts_with(&dir));
        if looping {
            return Err(LoadError::Invalid(format!(
                "symlink loop at {}: {} contains it",
                child.display(),
                dir.display()
            )));
        }
        self.linked_dirs.push(dir);
        let walked = self.walk(child, rel);
        self.linked_dirs.pop();
        walked
    }

    /// The metadata of what the symlink `child` points to, and its
    /// resolved path.
    fn resolve_symlink(
        &self,
        child: &Path,
        child_rel: &str,
    ) -> Result<(std::fs::Metadata, PathBuf), LoadError> {
        let resolved = std::fs::canonicalize(child).map_err(|e| {
            LoadError::Invalid(format!("error evaluating symlink {}: {e}", child.display()))
        })?;
        let meta = std::fs::metadata(&resolved).map_err(|source| LoadError::Io {
            path: child_rel.to_string(),
            source,
        })?;
        Ok((meta, resolved))
    }
}

fn file_too_large(name: &str) -> LoadError {
    LoadError::TooLarge(format!(
        "chart file {name:?} is larger than the maximum file size {MAX_FILE}"
    ))
}

/// The files of a chart's own (relative to its root) that the loader reads:
/// it parses them or classifies by their bytes.
const LOADER_FILES: [&str; 6] = [
    "Chart.yaml",
    "Chart.lock",
    "values.yaml",
    "values.schema.json",
    "requirements.yaml",
    "requirements.lock",
];

/// Whether loading needs the bytes of the chart file `rel`: the chart's or
/// a subchart directory's [`LOADER_FILES`] and templates, and whatever lies
/// directly in a `charts/` directory (subchart archives) except signatures.
fn read_by_loader(rel: &str) -> bool {
    let mut own = rel;
    while let Some(sub) = own.strip_prefix("charts/") {
        match sub.split_once('/') {
            Some((_, inner)) => own = inner,
            None => return !sub.ends_with(".prov"),
        }
    }
    LOADER_FILES.contains(&own) || own.starts_with("templates/")
}

/// The bytes of a deferred file (`name` in errors), checked and stripped
/// as the directory loader does.
pub(super) fn read_deferred(name: &str, path: &Path) -> Result<Rc<[u8]>, LoadError> {
    let mut buf = Vec::new();
    read_chart_file(path, name, &mut buf)?;
    Ok(Rc::from(strip_bom(buf)))
}

/// Reads the chart file `rel` at `path` into `buf` (replacing its
/// contents), failing as Helm does when it is longer than [`MAX_FILE`].
/// Reads until end of file with no `stat` first (std's `fs::read` asks for
/// the size, one more system call per file); the directory walker passes
/// one buffer for every file and copies out exactly the bytes read. A fresh
/// buffer per file touched a new page or more per file, and a page fault
/// costs more here than copying the file.
fn read_chart_file(path: &Path, rel: &str, buf: &mut Vec<u8>) -> Result<(), LoadError> {
    use std::io::Read;
    let io = |source| LoadError::Io {
        path: rel.to_string(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    buf.clear();
    // `Take` has no size hint to ask for, so this is read(2) until 0.
    let read = file.take(MAX_FILE + 1).read_to_end(buf).map_err(io)?;
    if read as u64 > MAX_FILE {
        return Err(file_too_large(rel.rsplit('/').next().unwrap_or(rel)));
    }
    Ok(())
}

/// Go's text for common I/O errors.
fn io_text(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

fn to_file(f: RawFile) -> File {
    match f.deferred {
        Some(path) => File::deferred(f.name, path),
        None => File::new(f.name, f.data),
    }
}

/// The file as text: borrowed when it is UTF-8 (values.yaml files run to
/// tens of kilobytes), else a lossy copy.
fn text(f: &RawFile) -> std::borrow::Cow<'_, str> {
    // `from_utf8` first: its ASCII fast path is several times quicker than
    // the lossy decoder's chunking, and files are almost always valid.
    match std::str::from_utf8(&f.data) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(&f.data),
    }
}

/// Helm's `LoadFiles`: classifies files and loads subcharts.
fn load_files(files: Vec<RawFile>) -> Result<Chart, LoadError> {
    let mut metadata: Option<Metadata> = None;
    for f in &files {
        if f.name == "Chart.yaml" {
            let v = yamlio::parse(&text(f))
                .map_err(|e| LoadError::Invalid(format!("cannot load Chart.yaml: {e}")))?;
            let mut md = Metadata::from_value(&v)
                .map_err(|e| LoadError::Invalid(format!("cannot load Chart.yaml: {e}")))?;
            if md.api_version.is_empty() {
                md.api_version = "v1".into();
            }
            metadata = Some(md);
        }
    }
    let mut chart = Chart {
        metadata: Metadata::default(),
        templates: Vec::new(),
        files: Vec::new(),
        values: Value::empty_map(),
        schema: None,
        dependencies: Vec::new(),
    };
    let mut subcharts: BTreeMap<String, Vec<RawFile>> = BTreeMap::new();
    for f in files {
        match f.name.as_str() {
            "Chart.yaml" => {}
            "Chart.lock" => {
                yamlio::parse(&text(&f))
                    .map_err(|e| LoadError::Invalid(format!("cannot load Chart.lock: {e}")))?;
            }
            "values.yaml" => {
                chart.values = yamlio::load_values(&text(&f))
                    .map_err(|e| LoadError::Invalid(format!("cannot load values.yaml: {e}")))?;
            }
            "values.schema.json" => chart.schema = Some(Rc::from(f.data)),
            "requirements.yaml" => {
                let md = metadata.get_or_insert_with(Metadata::default);
                let v = yamlio::parse(&text(&f)).map_err(|e| {
                    LoadError::Invalid(format!("cannot load requirements.yaml: {e}"))
                })?;
                if let Value::Map(_, m) = &v
                    && let Some(deps) = parse_dependencies(&m.borrow()).map_err(|e| {
                        LoadError::Invalid(format!("cannot load requirements.yaml: {e}"))
                    })?
                {
                    md.dependencies = deps;
                    md.has_dependencies = true;
                }
                if md.api_version == "v1" {
                    chart.files.push(to_file(f));
                }
            }
            "requirements.lock" => {
                yamlio::parse(&text(&f)).map_err(|e| {
                    LoadError::Invalid(format!("cannot load requirements.lock: {e}"))
                })?;
                let md = metadata.get_or_insert_with(Metadata::default);
                if md.api_version == "v1" {
                    chart.files.push(to_file(f));
                }
            }
            n if n.starts_with("templates/") => chart.templates.push(to_file(f)),
            n if n.starts_with("charts/") => {
                if n.ends_with(".prov") {
                    chart.files.push(to_file(f));
                    continue;
                }
                let rest = &n["charts/".len()..];
                let cname = rest.split('/').next().unwrap_or("").to_string();
                subcharts.entry(cname).or_default().push(RawFile {
                    name: rest.to_string(),
                    data: f.data,
                    deferred: f.deferred,
                });
            }
            _ => chart.files.push(to_file(f)),
        }
    }
    let Some(mut md) = metadata else {
        return Err(LoadError::Invalid("Chart.yaml file is missing".into()));
    };
    md.validate().map_err(LoadError::Invalid)?;
    chart.metadata = md;
    for (n, files) in subcharts {
        if n.starts_with('_') || n.starts_with('.') {
            continue;
        }
        let sub = if n.ends_with(".tgz") {
            let first = &files[0];
            if first.name != n {
                return Err(LoadError::Invalid(format!(
                    "error unpacking subchart tar in {}: expected {n}, got {}",
                    chart.name(),
                    first.name
                )));
            }
            load_archive(&first.data)
        } else {
            let inner: Vec<RawFile> = files
                .into_iter()
                .filter_map(|f| {
                    let (_, rest) = f.name.split_once('/')?;
                    Some(RawFile {
                        name: rest.to_string(),
                        data: f.data,
                        deferred: f.deferred,
                    })
                })
                .collect();
            load_files(inner)
        };
        let sub = sub.map_err(|e| {
            prefix_error(
                e,
                &format!("error unpacking subchart {n} in {}: ", chart.name()),
            )
        })?;
        chart.dependencies.push(sub);
    }
    Ok(chart)
}

fn prefix_error(e: LoadError, prefix: &str) -> LoadError {
    let msg = format!("{prefix}{e}");
    match e {
        LoadError::Unsafe(_) => LoadError::Unsafe(msg),
        LoadError::TooLarge(_) => LoadError::TooLarge(msg),
        LoadError::Archive(_) => LoadError::Archive(msg),
        _ => LoadError::Invalid(msg),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_paths() {
        assert_eq!(clean_path("a/../../b"), "../b");
        assert_eq!(clean_path("./a//b/"), "a/b");
        assert_eq!(clean_path(""), ".");
    }

    #[test]
    fn the_loader_reads_only_what_it_parses_at_every_subchart_level() {
        for read in [
            "Chart.yaml",
            "values.yaml",
            "values.schema.json",
            "requirements.lock",
            "templates/a.yaml",
            "templates/sub/_h.tpl",
            "charts/common-1.0.0.tgz",
            "charts/sub/Chart.yaml",
            "charts/sub/templates/x.yaml",
            "charts/sub/charts/deep/values.yaml",
            "charts/sub/charts/deep-2.0.0.tgz",
        ] {
            assert!(read_by_loader(read), "{read}");
        }
        for deferred in [
            "README.md",
            "files/values.yaml",
            "crds/crd.yaml",
            "ci/values.yaml",
            "charts/common-1.0.0.tgz.prov",
            "charts/sub/files/a.txt",
            "charts/sub/charts/deep/README.md",
        ] {
            assert!(!read_by_loader(deferred), "{deferred}");
        }
    }

    #[test]
    fn entry_names() {
        assert_eq!(
            archive_entry_name("mychart/templates/a.yaml").unwrap(),
            "templates/a.yaml"
        );
        assert!(archive_entry_name("mychart/../../etc/passwd").is_err());
        assert!(archive_entry_name("mychart//etc/passwd").is_err());
        assert!(check_link_target("c/templates/x", "templates/x", "../../../etc/passwd").is_err());
        assert!(check_link_target("c/templates/x", "templates/x", "../values.yaml").is_ok());
    }
}
