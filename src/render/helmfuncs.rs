//! Helm's own pure template functions: `toYaml`, `fromYaml`, `fromYamlArray`,
//! `toJson`, `fromJson`, `fromJsonArray`, `toToml`, `required`, `fail`.
