//! `helm package` as a library: a chart folder becomes
//! `<dest>/<name>-<version>.tgz`, every file not excluded by `.helmignore`
//! (plus Helm's default exclusions) stored under `<name>/`, after the chart
//! loads and validates (so a chart that `rudder template` or Helm would
//! refuse is not packaged). Files are stored as they are on disk; Helm
//! re-marshals Chart.yaml, rudder keeps the author's text.

use std::path::{Path, PathBuf};

use crate::chart::ignore::Rules;
use crate::chart::load::{MAX_FILE, MAX_UNPACKED, load_dir};

/// Why a chart could not be packaged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackageError {
    #[error("{0}")]
    Load(String),
    #[error("{path}: {reason}")]
    Io { path: String, reason: String },
    #[error("chart file {path:?} is a symlink out of the chart")]
    Unsafe { path: String },
    #[error("the chart is larger than the maximum size {MAX_UNPACKED}")]
    TooLarge,
}

/// Packages the chart in `chart_dir` into `dest`; returns the archive path.
pub fn package(chart_dir: &Path, dest: &Path) -> Result<PathBuf, PackageError> {
    let chart = load_dir(chart_dir).map_err(|e| PackageError::Load(e.to_string()))?;
    let name = chart.metadata.name.clone();
    let version = chart.metadata.version.clone();
    let top = std::fs::canonicalize(chart_dir).map_err(|e| io_error(chart_dir, &e))?;
    let mut rules = match std::fs::read_to_string(top.join(".helmignore")) {
        Ok(text) => Rules::parse(&text).map_err(PackageError::Load)?,
        Err(_) => Rules::default(),
    };
    rules.add_defaults();
    let mut files = Vec::new();
    let mut total = 0;
    let mut walk = Walk {
        top: &top,
        rules: &rules,
        files: &mut files,
        total: &mut total,
    };
    walk.collect(&top, "", "")?;
    let archive = archive_bytes(&name, &files)?;
    std::fs::create_dir_all(dest).map_err(|e| io_error(dest, &e))?;
    let out = dest.join(format!("{name}-{version}.tgz"));
    std::fs::write(&out, archive).map_err(|e| io_error(&out, &e))?;
    Ok(out)
}

fn io_error(path: &Path, e: &std::io::Error) -> PackageError {
    PackageError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

/// The walk over a chart folder.
struct Walk<'a> {
    top: &'a Path,
    rules: &'a Rules,
    /// (name in the archive, bytes) in lexical walk order.
    files: &'a mut Vec<(String, Vec<u8>)>,
    total: &'a mut u64,
}

impl Walk<'_> {
    /// Collects `dir` (`rel` for `.helmignore`, `out` in the archive: Helm
    /// stores a subchart folder under its chart name, `charts/<name>/`).
    fn collect(&mut self, dir: &Path, rel: &str, out: &str) -> Result<(), PackageError> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .map_err(|e| io_error(dir, &e))?
            .flatten()
            .map(|e| e.file_name().to_string_lossy().to_string())
            .collect();
        names.sort();
        for name in names {
            let path = dir.join(&name);
            let child = join(rel, &name);
            let resolved = std::fs::canonicalize(&path).map_err(|e| io_error(&path, &e))?;
            if !resolved.starts_with(self.top) {
                return Err(PackageError::Unsafe { path: child });
            }
            let meta = std::fs::metadata(&resolved).map_err(|e| io_error(&path, &e))?;
            if self.rules.ignore(&child, meta.is_dir()) {
                continue;
            }
            if meta.is_dir() {
                let out_name = if out == "charts" || out.ends_with("/charts") {
                    subchart_name(&path).unwrap_or(name)
                } else {
                    name
                };
                self.collect(&path, &child, &join(out, &out_name))?;
            } else if meta.is_file() {
                *self.total += meta.len();
                if meta.len() > MAX_FILE || *self.total > MAX_UNPACKED {
                    return Err(PackageError::TooLarge);
                }
                let data = std::fs::read(&path).map_err(|e| io_error(&path, &e))?;
                self.files.push((join(out, &name), data));
            }
        }
        Ok(())
    }
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// The `name` of `dir/Chart.yaml`, when `dir` is a subchart folder.
fn subchart_name(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("Chart.yaml")).ok()?;
    let v = crate::chart::yamlio::parse(&text).ok()?;
    let m = v.as_map()?.borrow();
    m.get("name")?
        .as_str()
        .map(str::to_string)
        .filter(|n| !n.is_empty())
}

/// A gzipped tar (Helm's gzip comment) of the files under `name/`.
fn archive_bytes(name: &str, files: &[(String, Vec<u8>)]) -> Result<Vec<u8>, PackageError> {
    let tar_err = |e: std::io::Error| PackageError::Io {
        path: format!("{name}.tgz"),
        reason: e.to_string(),
    };
    let mtime = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let gz = flate2::GzBuilder::new()
        .comment("Helm")
        .write(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    for (rel, data) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(mtime);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut header, format!("{name}/{rel}"), data.as_slice())
            .map_err(tar_err)?;
    }
    let gz = tar.into_inner().map_err(tar_err)?;
    gz.finish().map_err(tar_err)
}
