//! A chart directory read from a commit's tree, straight from the object
//! database (no work tree on disk), into an in-memory `.tgz` laid out as
//! `helm package` lays it out. `.helmignore` is honoured; symlinks are
//! followed only to files inside the chart directory; submodules are
//! skipped. The caps of HTTP charts apply: one file at most
//! [`MAX_FILE`], all files at most [`MAX_UNPACKED`], the archive at most
//! [`MAX_PACKED`].

use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;
use gix::ObjectId;

use crate::chart::ignore::Rules;
use crate::chart::load::{MAX_FILE, MAX_PACKED, MAX_UNPACKED};

/// Size caps of a chart read from a tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_file: u64,
    pub max_total: u64,
    pub max_packed: u64,
}

/// The caps of charts from HTTP repositories.
pub const LIMITS: Limits = Limits {
    max_file: MAX_FILE,
    max_total: MAX_UNPACKED,
    max_packed: MAX_PACKED,
};

/// Why a chart could not be read from a tree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TreeError {
    #[error("path {path:?} is not inside the repository")]
    BadPath { path: String },
    #[error("path {path:?} does not exist in commit {commit}")]
    NotFound { path: String, commit: String },
    #[error("path {path:?} in commit {commit} is not a directory")]
    NotADirectory { path: String, commit: String },
    #[error("{path}: symlink to {target:?} points outside the chart directory")]
    SymlinkEscapes { path: String, target: String },
    #[error("{path}: symlink to {target:?} does not name a file of the chart")]
    SymlinkUnsupported { path: String, target: String },
    #[error("{path} is larger than the maximum file size {max}")]
    FileTooLarge { path: String, max: u64 },
    #[error("the chart's files are larger than the maximum size {max}")]
    TooLarge { max: u64 },
    #[error("the chart archive is larger than the maximum size {max}")]
    ArchiveTooLarge { max: u64 },
    #[error(".helmignore: {reason}")]
    Ignore { reason: String },
    #[error("reading the repository: {reason}")]
    Objects { reason: String },
}

fn objects(e: impl std::fmt::Display) -> TreeError {
    TreeError::Objects {
        reason: e.to_string(),
    }
}

/// One file of the chart: path relative to the chart directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartFile {
    pub path: String,
    pub executable: bool,
    pub data: Vec<u8>,
}

/// `path` inside the repository, cleaned: `./charts/x/` → `charts/x`,
/// `.` → `` (the root). `..` is refused.
pub fn clean_path(path: &str) -> Result<String, TreeError> {
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                return Err(TreeError::BadPath { path: path.into() });
            }
            p => parts.push(p),
        }
    }
    Ok(parts.join("/"))
}

/// The chart at `path` of `commit` as a `.tgz` whose top directory is the
/// chart directory's name.
pub fn chart_archive(
    repo: &gix::Repository,
    commit: ObjectId,
    path: &str,
    limits: Limits,
) -> Result<Vec<u8>, TreeError> {
    let files = chart_files(repo, commit, path, limits)?;
    let clean = clean_path(path)?;
    let top = clean.rsplit('/').next().filter(|s| !s.is_empty());
    pack(top.unwrap_or("chart"), &files, limits)
}

/// The files of the chart directory `path` of `commit`.
pub fn chart_files(
    repo: &gix::Repository,
    commit: ObjectId,
    path: &str,
    limits: Limits,
) -> Result<Vec<ChartFile>, TreeError> {
    let commit_obj = repo.find_commit(commit).map_err(objects)?;
    let root = commit_obj.tree_id().map_err(objects)?.detach();
    chart_files_at(repo, root, &commit.to_string(), path, limits)
}

/// The files of the chart directory `path` of tree `root` (of commit
/// `commit`, for messages).
pub fn chart_files_at(
    repo: &gix::Repository,
    root: ObjectId,
    commit: &str,
    path: &str,
    limits: Limits,
) -> Result<Vec<ChartFile>, TreeError> {
    let clean = clean_path(path)?;
    let dir = if clean.is_empty() {
        root
    } else {
        let tree = repo.find_tree(root).map_err(objects)?;
        let entry = tree
            .lookup_entry_by_path(&clean)
            .map_err(objects)?
            .ok_or_else(|| TreeError::NotFound {
                path: clean.clone(),
                commit: commit.into(),
            })?;
        if !entry.mode().is_tree() {
            return Err(TreeError::NotADirectory {
                path: clean,
                commit: commit.into(),
            });
        }
        entry.object_id()
    };
    let entries = walk(repo, dir)?;
    let rules = ignore_rules(repo, &entries)?;
    let mut reader = Reader {
        repo,
        limits,
        total: 0,
    };
    let mut files = Vec::new();
    for e in &entries {
        if e.kind == Kind::Tree || ignored(&rules, &e.path) {
            continue;
        }
        let file = match e.kind {
            Kind::Blob { executable } => ChartFile {
                path: e.path.clone(),
                executable,
                data: reader.blob(&e.path, e.id)?,
            },
            Kind::Link => reader.link(e, &entries)?,
            Kind::Tree | Kind::Submodule => continue,
        };
        files.push(file);
    }
    Ok(files)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Tree,
    Blob { executable: bool },
    Link,
    Submodule,
}

/// One entry under the chart directory, path relative to it.
#[derive(Debug, Clone)]
struct Entry {
    path: String,
    kind: Kind,
    id: ObjectId,
}

/// Every entry below tree `dir`, depth first in tree order.
fn walk(repo: &gix::Repository, dir: ObjectId) -> Result<Vec<Entry>, TreeError> {
    let mut out = Vec::new();
    let mut stack = vec![(String::new(), dir)];
    while let Some((prefix, id)) = stack.pop() {
        let tree = repo.find_tree(id).map_err(objects)?;
        let decoded = tree.decode().map_err(objects)?;
        let mut subdirs = Vec::new();
        for e in &decoded.entries {
            let name = e.filename.to_string();
            let path = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            let kind = if e.mode.is_tree() {
                subdirs.push((path.clone(), e.oid.to_owned()));
                Kind::Tree
            } else if e.mode.is_link() {
                Kind::Link
            } else if e.mode.is_commit() {
                Kind::Submodule
            } else {
                Kind::Blob {
                    executable: e.mode.is_executable(),
                }
            };
            out.push(Entry {
                path,
                kind,
                id: e.oid.to_owned(),
            });
        }
        stack.extend(subdirs.into_iter().rev());
    }
    Ok(out)
}

/// The chart's `.helmignore` rules plus Helm's defaults.
fn ignore_rules(repo: &gix::Repository, entries: &[Entry]) -> Result<Rules, TreeError> {
    let file = entries
        .iter()
        .find(|e| e.path == ".helmignore" && matches!(e.kind, Kind::Blob { .. }));
    let mut rules = match file {
        Some(e) => {
            let mut reader = Reader {
                repo,
                limits: LIMITS,
                total: 0,
            };
            let text = reader.blob(".helmignore", e.id)?;
            Rules::parse(&String::from_utf8_lossy(&text))
                .map_err(|reason| TreeError::Ignore { reason })?
        }
        None => Rules::default(),
    };
    rules.add_defaults();
    Ok(rules)
}

/// Whether `path` or one of its parent directories is ignored.
fn ignored(rules: &Rules, path: &str) -> bool {
    let mut end = 0;
    while let Some(i) = path[end..].find('/') {
        end += i;
        if rules.ignore(&path[..end], true) {
            return true;
        }
        end += 1;
    }
    rules.ignore(path, false)
}

/// Reads blobs, counting their sizes against the caps.
struct Reader<'r> {
    repo: &'r gix::Repository,
    limits: Limits,
    total: u64,
}

impl Reader<'_> {
    fn blob(&mut self, path: &str, id: ObjectId) -> Result<Vec<u8>, TreeError> {
        let size = self.repo.find_header(id).map_err(objects)?.size();
        if size > self.limits.max_file {
            return Err(TreeError::FileTooLarge {
                path: path.into(),
                max: self.limits.max_file,
            });
        }
        self.total = self.total.saturating_add(size);
        if self.total > self.limits.max_total {
            return Err(TreeError::TooLarge {
                max: self.limits.max_total,
            });
        }
        let blob = self.repo.find_blob(id).map_err(objects)?;
        Ok(blob.data.clone())
    }

    /// The file a symlink names, when it is a file of the chart.
    fn link(&mut self, link: &Entry, entries: &[Entry]) -> Result<ChartFile, TreeError> {
        let raw = self.repo.find_blob(link.id).map_err(objects)?;
        let target = String::from_utf8_lossy(&raw.data).to_string();
        let resolved =
            resolve_link(&link.path, &target).ok_or_else(|| TreeError::SymlinkEscapes {
                path: link.path.clone(),
                target: target.clone(),
            })?;
        let found = entries.iter().find(|e| e.path == resolved);
        match found.map(|e| (e.kind, e.id)) {
            Some((Kind::Blob { executable }, id)) => Ok(ChartFile {
                path: link.path.clone(),
                executable,
                data: self.blob(&link.path, id)?,
            }),
            _ => Err(TreeError::SymlinkUnsupported {
                path: link.path.clone(),
                target,
            }),
        }
    }
}

/// The chart-relative path symlink `link` (chart-relative) with `target`
/// names; `None` when it leaves the chart directory.
fn resolve_link(link: &str, target: &str) -> Option<String> {
    if target.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = link.split('/').collect();
    parts.pop();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// A gzip'd tar of `files` under `top/`, reproducible (sorted, zero
/// times, root owner) so the same tree gives the same digest.
pub fn pack(top: &str, files: &[ChartFile], limits: Limits) -> Result<Vec<u8>, TreeError> {
    let mut sorted: Vec<&ChartFile> = files.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    let gz = GzEncoder::new(Vec::new(), Compression::default());
    let mut tar = tar::Builder::new(gz);
    for f in sorted {
        let mut header = tar::Header::new_gnu();
        header.set_size(f.data.len() as u64);
        header.set_mode(if f.executable { 0o755 } else { 0o644 });
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut header, format!("{top}/{}", f.path), f.data.as_slice())
            .map_err(objects)?;
    }
    let gz = tar.into_inner().map_err(objects)?;
    let mut bytes = gz.finish().map_err(objects)?;
    bytes.flush().map_err(objects)?;
    if bytes.len() as u64 > limits.max_packed {
        return Err(TreeError::ArchiveTooLarge {
            max: limits.max_packed,
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests;
