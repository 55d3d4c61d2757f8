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
pub mod named;
pub mod semver;
pub mod toml;
pub mod value;
pub mod yaml;

/// A xorshift generator from `seed` for robustness tests: each call gives
/// a number below its argument.
#[cfg(test)]
pub(crate) fn xorshift(mut seed: u64) -> impl FnMut(usize) -> usize {
    move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    }
}
