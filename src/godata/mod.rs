//! Go's data model, as Helm's templates and files see it: the dynamic
//! [`value::Value`] (Go's `interface{}` trees with Go kinds), JSON as
//! `encoding/json` reads and writes it, YAML 1.1 as `sigs.k8s.io/yaml` and
//! go-yaml do, Go's `fmt` verbs, TOML as BurntSushi/toml writes it,
//! Masterminds semver and gobwas globs. Everything above builds on this
//! floor; it imports nothing of the crate. Hand-written because Helm's
//! output must match byte for byte (number formatting, key order, quoting,
//! YAML 1.1 booleans), which no maintained Rust crate reproduces.

pub mod glob;
pub mod gofmt;
pub mod json;
pub mod semver;
pub mod toml;
pub mod value;
pub mod yaml;
