//! The Sprig function library as Helm ships it (strings, lists, dicts, math,
//! conversions, regex, semver, encodings, hashes, dates, random, crypto).
//!
//! Each function declares the Go signature Sprig v3.3.0 gives it (the engine
//! checks and converts arguments against it, as Go's reflection does), and
//! its body reproduces Sprig's Go code, including the spf13/cast conversions
//! behind `int`/`add`/`float64` and the panics Go's template engine turns
//! into `error calling NAME: ...` errors. Helm removes `env` and `expandenv`,
//! and replaces `getHostByName` (DNS disabled) and `fail`; those replacements
//! live here too (`fail` is Helm's, see [`crate::render::helmfuncs`]).

mod cast;
mod crypto;
pub(crate) mod dates;
mod defaults;
mod dicts;
mod encoding;
mod jsonfuncs;
mod lists;
mod math;
mod paths;
mod regex;
mod strings;
mod tomlparse;
mod url;
pub mod versions;

#[cfg(test)]
mod oracle_tests;

use std::sync::OnceLock;

use super::funcs::{FuncError, FuncResult, FuncSpec, GoType};
use crate::godata::value::Value;

pub(crate) use cast::{to_float64, to_int64};
pub(crate) use tomlparse::from_toml;

/// Every Sprig function Helm v4 makes available to templates.
pub fn functions() -> &'static [FuncSpec] {
    static TABLE: OnceLock<Vec<FuncSpec>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let groups: [&[FuncSpec]; 14] = [
            strings::FUNCS,
            cast::FUNCS,
            math::FUNCS,
            lists::FUNCS,
            dicts::FUNCS,
            defaults::FUNCS,
            regex::FUNCS,
            encoding::FUNCS,
            jsonfuncs::FUNCS,
            paths::FUNCS,
            url::FUNCS,
            versions::FUNCS,
            dates::FUNCS,
            crypto::FUNCS,
        ];
        groups.iter().flat_map(|g| g.iter().copied()).collect()
    })
}

/// Builds a table entry (keeps the per-module tables short).
pub(crate) const fn spec(
    name: &'static str,
    params: &'static [GoType],
    variadic: Option<GoType>,
    call: fn(&[Value]) -> FuncResult,
) -> FuncSpec {
    FuncSpec {
        name,
        params,
        variadic,
        call,
    }
}

/// The string argument at `i` (the engine has converted it already).
pub(crate) fn arg_str(args: &[Value], i: usize) -> Result<&str, FuncError> {
    match args.get(i) {
        Some(Value::Str(s)) => Ok(s),
        other => Err(bad_arg(i, "string", other)),
    }
}

/// The Go `int` argument at `i`.
pub(crate) fn arg_int(args: &[Value], i: usize) -> Result<i64, FuncError> {
    match args.get(i) {
        Some(Value::Int(n)) | Some(Value::Int64(n)) => Ok(*n),
        other => Err(bad_arg(i, "int", other)),
    }
}

/// The `bool` argument at `i`.
pub(crate) fn arg_bool(args: &[Value], i: usize) -> Result<bool, FuncError> {
    match args.get(i) {
        Some(Value::Bool(b)) => Ok(*b),
        other => Err(bad_arg(i, "bool", other)),
    }
}

/// The `interface{}` argument at `i` (nil when absent).
pub(crate) fn arg(args: &[Value], i: usize) -> &Value {
    const NIL: &Value = &Value::Nil;
    args.get(i).unwrap_or(NIL)
}

fn bad_arg(i: usize, want: &str, got: Option<&Value>) -> FuncError {
    let got = got.map_or("nothing", Value::type_name);
    FuncError::new(format!(
        "internal error: argument {i} should be {want}, got {got}"
    ))
}

/// Go's `%v` of a value (the engine's formatter).
pub(crate) fn vfmt(v: &Value) -> String {
    crate::godata::gofmt::format_value(v)
}

/// A Go `[]interface{}` result.
pub(crate) fn list_of(items: Vec<Value>) -> FuncResult {
    Ok(Value::list(items))
}

/// A Go `[]string` result.
pub(crate) fn strings_of(items: Vec<String>) -> FuncResult {
    Ok(Value::string_list(items))
}

/// The message Go's runtime gives when a method is called on a nil
/// `reflect.Type` (Sprig's list functions on nil).
pub(crate) const NIL_DEREF: &str =
    "runtime error: invalid memory address or nil pointer dereference";

/// Go's `reflect.Kind` name of a value, as `%s` of the kind prints it.
pub(crate) fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Nil => "invalid",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Int64(_) => "int64",
        Value::Float(_) => "float64",
        Value::Str(_) => "string",
        Value::Bytes(_) | Value::List(_) => "slice",
        Value::Map(..) => "map",
        Value::Object(o) => o.kind(),
    }
}

/// The elements of a Go slice or array value, or `None` for other kinds
/// (`[]byte` is a slice of uint8 numbers).
pub(crate) fn slice_items(v: &Value) -> Option<Vec<Value>> {
    match v {
        Value::List(l) => Some(l.items.clone()),
        Value::Bytes(b) => Some(b.iter().map(|x| Value::Int(i64::from(*x))).collect()),
        _ => None,
    }
}

#[cfg(test)]
pub(crate) mod testutil {
    //! Calls table functions by name, as the engine would after conversion.
    use super::*;

    pub fn call(name: &str, args: &[Value]) -> FuncResult {
        let f = functions()
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("no function {name}"));
        (f.call)(args)
    }

    pub fn s(v: &str) -> Value {
        Value::str(v)
    }

    pub fn call_str(name: &str, args: &[Value]) -> String {
        match call(name, args) {
            Ok(v) => vfmt(&v),
            Err(e) => format!("ERR: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = functions().iter().map(|f| f.name).collect();
        names.sort();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
    }

    #[test]
    fn helm_removed_functions_are_absent() {
        for gone in ["env", "expandenv"] {
            assert!(!functions().iter().any(|f| f.name == gone), "{gone}");
        }
    }
}
