//! The function table shared by the Go-template engine and the libraries that
//! fill it (Sprig in [`crate::render::sprig`], Helm's pure functions such as
//! `toYaml`/`fromJson`/`required`).
//!
//! Go's text/template calls functions through reflection, so an argument must
//! be assignable to the Go parameter type or the call fails *before* the
//! function runs ("wrong type for value; expected string; got float64").
//! Every function therefore declares its Go signature; the engine checks and
//! converts arguments (untyped constants, nil) exactly as Go does, then calls
//! the Rust implementation with arguments already of the declared types.
//! Engine-aware functions (`include`, `tpl`, `lookup`, `template`) are not in
//! this table: the engine implements them itself.

use crate::godata::value::Value;

pub use crate::godata::value::GoType;

/// What a function returns on failure: Go's `error` text. The engine wraps it
/// as Go does (`error calling NAME: MESSAGE`).
#[derive(Debug, Clone, PartialEq)]
pub struct FuncError(pub String);

impl FuncError {
    pub fn new(msg: impl Into<String>) -> FuncError {
        FuncError(msg.into())
    }
}

impl std::fmt::Display for FuncError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The result of a function call.
pub type FuncResult = Result<Value, FuncError>;

/// One template function with its Go signature.
#[derive(Clone, Copy)]
pub struct FuncSpec {
    /// The name templates call it by.
    pub name: &'static str,
    /// The fixed parameters.
    pub params: &'static [GoType],
    /// The element type of a trailing `...T` parameter, if any.
    pub variadic: Option<GoType>,
    /// The implementation; receives arguments already checked and converted
    /// to the declared types (variadic ones appended after the fixed ones).
    pub call: fn(&[Value]) -> FuncResult,
}

impl std::fmt::Debug for FuncSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FuncSpec")
            .field("name", &self.name)
            .finish()
    }
}
