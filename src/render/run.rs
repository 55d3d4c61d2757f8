//! Executes the queued templates of a chart tree: Go templates through
//! [`crate::render::gotmpl`] (one template set, Helm's parse/execute order,
//! Helm's error clean-up) and `engine: tera` charts through
//! [`crate::render::tera`].

use std::collections::BTreeMap;

use crate::render::driver::{RenderError, TemplateJob};

/// Renders every job; returns template name → output for non-partials.
pub fn render_jobs(jobs: Vec<TemplateJob>) -> Result<BTreeMap<String, String>, RenderError> {
    let _ = jobs;
    Err(RenderError::Template("the Go template engine is not available yet".into()))
}
