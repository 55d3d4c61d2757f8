//! Making the content of a revision from a loaded chart and the user's
//! values: the stored chart, the rendered manifest text Helm stores, hooks,
//! notes and the chart's CRDs. Synchronous (charts are `Rc`-based): call it
//! inside `spawn_blocking`.

use serde_json::{Map as JsonMap, Value as Json};

use super::record::{ChartRecord, HookRecord, RecordError, chart_record, manifest_text};
use crate::action::{self, RenderError, RenderOptions};
use crate::chart::Chart;
use crate::godata::json;
use crate::render::manifest::Manifest;

/// A rendered revision, ready to be recorded and applied.
#[derive(Debug, Clone)]
pub struct Built {
    /// The stored form of the chart.
    pub chart: ChartRecord,
    /// The manifest text Helm stores (no CRDs, no hooks).
    pub manifest: String,
    /// The manifests one by one, in install order.
    pub manifests: Vec<Manifest>,
    /// Hooks.
    pub hooks: Vec<HookRecord>,
    /// Rendered NOTES.txt.
    pub notes: String,
    /// `crds/` files (path, text).
    pub crds: Vec<(String, String)>,
    /// Helm's warnings about subchart conditions and tags that are not
    /// bools.
    pub warnings: Vec<crate::chart::NonBoolWarning>,
}

/// Why a revision could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The chart could not be recorded.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// Rendering failed (schema, template error, ...).
    #[error(transparent)]
    Render(#[from] RenderError),
}

/// Renders `chart` with `config` (the user-supplied values) as `helm
/// install`/`upgrade` does and returns what the record and the apply need.
pub fn build(
    chart: Chart,
    config: &JsonMap<String, Json>,
    opts: &RenderOptions,
) -> Result<Built, BuildError> {
    let record = chart_record(&chart)?;
    let values = json::from_serde_map(config);
    let rendered = action::render(chart, &values, opts)?;
    Ok(Built {
        chart: record,
        manifest: manifest_text(&rendered.manifests),
        hooks: rendered.hooks.iter().map(HookRecord::from).collect(),
        notes: rendered.notes,
        crds: rendered.crds,
        manifests: rendered.manifests,
        warnings: rendered.warnings,
    })
}
