//! What the render layer works on and gives back: one template job (name,
//! text, the context its chart sees), the rendered result (CRDs, manifests,
//! hooks, notes) with `helm template`'s output format, render errors in
//! Helm's wording, and Helm's template order.

use std::rc::Rc;

use thiserror::Error;

use crate::chart::NonBoolWarning;
use crate::godata::value::Value;
use crate::render::manifest::{self, Hook, Manifest};

/// Why a render failed; the display text is Helm's.
#[derive(Debug, Error)]
pub enum RenderError {
    #[error("{0}")]
    Chart(String),
    #[error("chart dependencies processing failed: {0}")]
    Dependencies(String),
    #[error(
        "values don't meet the specifications of the schema(s) in the following chart(s):\n{0}"
    )]
    Schema(String),
    /// A template failed to parse or execute (Helm's cleaned-up text).
    #[error("{0}")]
    Template(String),
    #[error(transparent)]
    Manifest(#[from] manifest::ManifestError),
}

impl RenderError {
    /// Whether `helm template` would add its "Use --debug" hint (errors
    /// raised after the release object exists, i.e. while rendering).
    pub fn has_debug_hint(&self) -> bool {
        matches!(self, RenderError::Template(_) | RenderError::Manifest(_))
    }
}

/// The result of rendering a chart.
#[derive(Debug, Default)]
pub struct Rendered {
    /// `crds/` files (path, text) of the chart tree, in Helm's order.
    pub crds: Vec<(String, String)>,
    pub manifests: Vec<Manifest>,
    pub hooks: Vec<Hook>,
    /// Rendered NOTES.txt (root chart, plus subcharts if asked).
    pub notes: String,
    /// Helm's warnings about subchart conditions and tags that are not
    /// bools (the command line prints them, the operator logs them).
    pub warnings: Vec<NonBoolWarning>,
}

impl Rendered {
    /// The exact stdout of `helm template` (`--notes` appends the notes).
    pub fn template_output(&self, include_crds: bool, skip_tests: bool, notes: bool) -> String {
        let mut out = Vec::new();
        // Writing to a vector cannot fail.
        let _ = self.write_template_output(&mut out, include_crds, skip_tests, notes);
        manifest::output_text(out)
    }

    /// [`Rendered::template_output`], written piece by piece to `w`.
    pub fn write_template_output(
        &self,
        w: &mut dyn std::io::Write,
        include_crds: bool,
        skip_tests: bool,
        notes: bool,
    ) -> std::io::Result<()> {
        let crds: &[(String, String)] = if include_crds { &self.crds } else { &[] };
        manifest::write_template_output(w, crds, &self.manifests, &self.hooks, skip_tests)?;
        if notes {
            self.write_notes(w)?;
        }
        Ok(())
    }

    /// The notes under `NOTES:`, as `helm install --dry-run` prints them
    /// after the manifests (nothing when there are none).
    pub fn write_notes(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        if !self.notes.is_empty() {
            w.write_all(b"NOTES:\n")?;
            w.write_all(self.notes.trim_matches(manifest::go_space).as_bytes())?;
            w.write_all(b"\n")?;
        }
        Ok(())
    }
}

/// One template to render: its full name, text, and the context it sees.
pub struct TemplateJob {
    pub name: String,
    pub text: Rc<str>,
    /// The chart's context map, shared by all its templates (Helm sets
    /// `Template` in it before executing each one).
    pub context: Value,
    pub base_path: String,
    /// `engine: tera` charts render with Tera.
    pub tera: bool,
}

/// What happens to the parsed templates and their contexts after a render.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Teardown {
    /// Freed (a long-running process).
    Free,
    /// Left for the operating system to reclaim: the process exits right
    /// after printing (`rudder template`). Freeing tens of thousands of
    /// nodes and values one by one is 5% of a one-shot render.
    LeaveToExit,
}

/// Helm's `sortTemplates`: most path segments first, then reverse
/// lexical order (`sort.Reverse(byPathLen)`).
pub fn sort_template_names(names: &mut [String]) {
    names.sort_by(|a, b| {
        let (ca, cb) = (a.matches('/').count(), b.matches('/').count());
        cb.cmp(&ca).then_with(|| b.cmp(a))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_order_is_helms() {
        let mut names = vec![
            "c/templates/a.yaml".to_string(),
            "c/templates/b.yaml".to_string(),
            "c/charts/s/templates/z.yaml".to_string(),
            "c/templates/_h.tpl".to_string(),
        ];
        sort_template_names(&mut names);
        assert_eq!(
            names,
            vec![
                "c/charts/s/templates/z.yaml",
                "c/templates/b.yaml",
                "c/templates/a.yaml",
                "c/templates/_h.tpl"
            ]
        );
    }
}
