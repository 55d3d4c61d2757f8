//! Helm charts as data: loading from a directory or `.tgz` (with `.helmignore`
//! and size limits), Chart.yaml metadata, dependencies (conditions, tags,
//! aliases, import-values), values coalescing and `values.schema.json`.
//!
//! A [`Chart`] is what Helm's `chart.Chart` is: metadata, templates, other
//! files, default values and the vendored subcharts. Values are
//! [`crate::render::value::Value`] trees (`Rc`-based), so a chart is loaded and
//! rendered on one thread.

pub mod deps;
pub mod ignore;
pub mod load;
pub mod metadata;
pub mod schema;
pub mod semver;
pub mod strvals;
pub mod values;
pub mod yamlio;

use std::rc::Rc;

use crate::render::value::Value;
pub use load::{LoadError, load};
pub use metadata::{Dependency, Maintainer, Metadata};

/// One file of a chart: its path relative to the chart root (`/`-separated)
/// and its bytes (UTF-8 BOM already stripped).
#[derive(Clone, Debug)]
pub struct File {
    pub name: String,
    pub data: Rc<[u8]>,
    /// The same allocation as `data`, viewed as text, when it is UTF-8:
    /// templates reach the engine without a copy.
    text: Option<Rc<str>>,
}

impl File {
    pub fn new(name: String, bytes: Vec<u8>) -> File {
        match String::from_utf8(bytes) {
            Ok(s) => {
                let text: Rc<str> = Rc::from(s);
                File {
                    name,
                    data: Rc::from(text.clone()),
                    text: Some(text),
                }
            }
            Err(e) => File {
                name,
                data: Rc::from(e.into_bytes()),
                text: None,
            },
        }
    }

    /// The contents as text (shared when UTF-8, else a lossy copy as Go's
    /// `string(bytes)` prints it).
    pub fn text(&self) -> Rc<str> {
        match &self.text {
            Some(t) => t.clone(),
            None => Rc::from(String::from_utf8_lossy(&self.data)),
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

#[cfg(test)]
mod file_tests {
    use super::*;

    #[test]
    fn utf8_files_share_one_allocation_between_bytes_and_text() {
        let f = File::new("templates/a.yaml".into(), b"a: \xc3\xa9\n".to_vec());
        let text = f.text();
        assert_eq!(&*text, "a: é\n");
        assert_eq!(text.as_ptr(), f.data.as_ptr());

        let bad = File::new("files/b.bin".into(), vec![b'x', 0xff, b'y']);
        assert_eq!(&*bad.data, &[b'x', 0xff, b'y']);
        assert_eq!(&*bad.text(), "x\u{fffd}y");
    }
}
