//! Helm charts as data: loading from a directory or `.tgz` (with `.helmignore`
//! and size limits), Chart.yaml metadata, dependencies (conditions, tags,
//! aliases, import-values), values coalescing and `values.schema.json`.
//!
//! A [`Chart`] is what Helm's `chart.Chart` is: metadata, templates, other
//! files, default values and the vendored subcharts. Values are
//! [`crate::godata::value::Value`] trees (`Rc`-based), so a chart is loaded and
//! rendered on one thread.

pub mod deps;
pub mod ignore;
pub mod load;
pub mod metadata;
pub mod schema;
pub mod strvals;
pub mod values;
pub mod yamlio;

use std::cell::OnceCell;
use std::path::PathBuf;
use std::rc::Rc;

use crate::godata::value::Value;
pub use load::{LoadError, load};
pub use metadata::{Dependency, Maintainer, Metadata};

/// One file of a chart: its path relative to the chart root (`/`-separated)
/// and its bytes (UTF-8 BOM already stripped).
#[derive(Clone, Debug)]
pub struct File {
    pub name: String,
    contents: Contents,
    /// The same allocation as the bytes, viewed as text, when they are
    /// UTF-8 and in memory: templates reach the engine without a copy.
    text: Option<Rc<str>>,
}

impl File {
    pub fn new(name: String, bytes: Vec<u8>) -> File {
        match String::from_utf8(bytes) {
            Ok(s) => {
                let text: Rc<str> = Rc::from(s);
                File {
                    name,
                    contents: Contents::Loaded(Rc::from(text.clone())),
                    text: Some(text),
                }
            }
            Err(e) => File {
                name,
                contents: Contents::Loaded(Rc::from(e.into_bytes())),
                text: None,
            },
        }
    }

    /// A file left on disk at `path` until its bytes are first asked for
    /// (see [`load::load_for_render`]).
    pub fn deferred(name: String, path: PathBuf) -> File {
        let contents = Contents::Deferred(Rc::new(Deferred {
            name: name.clone(),
            path,
            read: OnceCell::new(),
        }));
        File {
            name,
            contents,
            text: None,
        }
    }

    /// The file's bytes, read now if they were deferred.
    pub fn bytes(&self) -> Result<Rc<[u8]>, LoadError> {
        self.contents.bytes()
    }

    /// A handle on the bytes that can be kept apart from the file.
    pub fn contents(&self) -> Contents {
        self.contents.clone()
    }

    /// The contents of an in-memory file as text (shared when UTF-8, else a
    /// lossy copy as Go's `string(bytes)` prints it). Templates are always
    /// in memory; a deferred file is read here, and reads as empty if that
    /// fails (the failure stays recorded, see [`Contents::failure`]).
    pub fn text(&self) -> Rc<str> {
        match &self.text {
            Some(t) => t.clone(),
            None => Rc::from(String::from_utf8_lossy(&self.contents.bytes_or_empty())),
        }
    }
}

/// A chart file's bytes: in memory, or still on disk until first read.
///
/// `rudder template` renders a chart directory once, and a chart carries
/// many files no template reads (changelogs, tests, CI values: 182 of
/// ingress-nginx's 230 files). Those are listed and sized when the chart is
/// loaded, so Helm's load errors for them (irregular file, too large) stay
/// load errors, but read only if a template asks for them.
#[derive(Clone, Debug)]
pub enum Contents {
    Loaded(Rc<[u8]>),
    Deferred(Rc<Deferred>),
}

/// A file on disk and, once read, its bytes or why they could not be read.
#[derive(Debug)]
pub struct Deferred {
    name: String,
    path: PathBuf,
    read: OnceCell<Result<Rc<[u8]>, String>>,
}

impl Contents {
    /// The bytes; a deferred file is read on the first call only.
    pub fn bytes(&self) -> Result<Rc<[u8]>, LoadError> {
        match self {
            Contents::Loaded(b) => Ok(b.clone()),
            Contents::Deferred(d) => d
                .read
                .get_or_init(|| load::read_deferred(&d.name, &d.path).map_err(|e| e.to_string()))
                .clone()
                .map_err(LoadError::Invalid),
        }
    }

    /// The bytes, or none when a deferred read fails, for the Go paths that
    /// cannot fail (`.Files.AsConfig`, printing `.Files`); the renderer
    /// reports the failure afterwards (see [`Contents::failure`]).
    pub fn bytes_or_empty(&self) -> Rc<[u8]> {
        self.bytes().unwrap_or_else(|_| Rc::from(Vec::new()))
    }

    /// Why a deferred read failed, once one was attempted.
    pub fn failure(&self) -> Option<String> {
        match self {
            Contents::Loaded(_) => None,
            Contents::Deferred(d) => d.read.get().and_then(|r| r.as_ref().err().cloned()),
        }
    }
}

/// A loaded chart and its vendored subcharts.
#[derive(Clone, Debug)]
pub struct Chart {
    /// Chart.yaml (with requirements.yaml dependencies for v1 charts).
    pub metadata: Metadata,
    /// `templates/**` files, in load order.
    pub templates: Vec<File>,
    /// Every other file (`.Files`): not Chart.yaml, values.yaml,
    /// values.schema.json, templates/ or charts/.
    pub files: Vec<File>,
    /// The chart's default values (values.yaml), a map.
    pub values: Value,
    /// values.schema.json, if present.
    pub schema: Option<Rc<[u8]>>,
    /// Subcharts found under `charts/`.
    pub dependencies: Vec<Chart>,
}

impl Chart {
    /// The chart's name (an alias once dependencies are processed).
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    /// Whether Chart.yaml says `type: library`.
    pub fn is_library(&self) -> bool {
        self.metadata.chart_type.eq_ignore_ascii_case("library")
    }

    /// The templates a render parses and queues: all of them, or of a
    /// library chart only its partials (`_*` files, the helpers).
    pub fn render_templates(&self) -> impl Iterator<Item = &File> {
        self.templates.iter().filter(|t| {
            let base = t.name.rsplit('/').next().unwrap_or(&t.name);
            !self.is_library() || base.starts_with('_')
        })
    }

    /// The CRD files of `crds/` of this chart and its subcharts, with the
    /// path Helm prints (`parent/charts/sub/crds/x.yaml`).
    pub fn crd_objects(&self, full_path: &str) -> Vec<(String, File)> {
        let mut out = Vec::new();
        for f in &self.files {
            if f.name.starts_with("crds/") && has_manifest_extension(&f.name) {
                out.push((format!("{full_path}/{}", f.name), f.clone()));
            }
        }
        for dep in &self.dependencies {
            out.extend(dep.crd_objects(&format!("{full_path}/charts/{}", dep.name())));
        }
        out
    }

    /// The files of this chart and its subcharts whose bytes are still on
    /// disk (see [`Contents`]).
    pub fn deferred_files(&self) -> Vec<Contents> {
        let mut out: Vec<Contents> = (self.files.iter())
            .map(File::contents)
            .filter(|c| matches!(c, Contents::Deferred(_)))
            .collect();
        for dep in &self.dependencies {
            out.extend(dep.deferred_files());
        }
        out
    }
}

fn has_manifest_extension(name: &str) -> bool {
    let base = name.rsplit('/').next().unwrap_or(name);
    match base.rfind('.') {
        Some(i) => {
            let ext = &base[i..];
            ext.eq_ignore_ascii_case(".yaml")
                || ext.eq_ignore_ascii_case(".yml")
                || ext.eq_ignore_ascii_case(".json")
        }
        None => false,
    }
}

/// A condition or tag Helm warns about while enabling subcharts: it holds
/// something other than a bool, so it decides nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonBoolWarning {
    /// `path` (a condition) or `tag`.
    pub field: &'static str,
    /// The condition path or tag name.
    pub name: String,
    /// The dependency it was read for.
    pub chart: String,
}

impl NonBoolWarning {
    /// Helm's log line for it (Go's slog text format).
    pub fn helm_line(&self) -> String {
        format!(
            "level=WARN msg=\"returned non-bool value\" {}={} chart={}",
            self.field,
            crate::godata::gofmt::slog_value(&self.name),
            crate::godata::gofmt::slog_value(&self.chart)
        )
    }
}

#[cfg(test)]
mod file_tests {
    use super::*;

    #[test]
    fn utf8_files_share_one_allocation_between_bytes_and_text() {
        let f = File::new("templates/a.yaml".into(), b"a: \xc3\xa9\n".to_vec());
        let text = f.text();
        assert_eq!(&*text, "a: é\n");
        assert_eq!(text.as_ptr(), f.bytes().unwrap().as_ptr());

        let bad = File::new("files/b.bin".into(), vec![b'x', 0xff, b'y']);
        assert_eq!(&*bad.bytes().unwrap(), &[b'x', 0xff, b'y']);
        assert_eq!(&*bad.text(), "x\u{fffd}y");
    }
}
