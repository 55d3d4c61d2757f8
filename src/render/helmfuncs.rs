//! Helm's own pure template functions: `toYaml`, `fromYaml`, `fromYamlArray`,
//! `toJson`, `fromJson`, `fromJsonArray`, `toToml`, `required`, `fail`.

use crate::render::funcs::FuncSpec;

/// The function table.
pub fn functions() -> &'static [FuncSpec] {
    &[]
}
