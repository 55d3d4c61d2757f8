//! Helm charts as data: loading from a directory or `.tgz` (with `.helmignore`
//! and size limits), Chart.yaml metadata, dependencies (conditions, tags,
//! aliases, import-values), values coalescing and `values.schema.json`.
pub mod strvals;
