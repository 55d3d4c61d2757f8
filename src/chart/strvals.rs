//! Helm's `--set`, `--set-string` parser (pkg/strvals): `a.b[0]=x,c={1,2}`
//! expressions applied to a values map.

use crate::render::value::Value;

/// An error parsing a `--set` expression, worded as Helm words it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StrvalsError {
    #[error("{0}")]
    Parse(String),
}

/// `strvals.ParseInto`: typed values (`true`, int64 numbers, `null`).
pub fn parse_set(expr: &str, into: &Value) -> Result<(), StrvalsError> {
    let _ = (expr, into);
    Err(StrvalsError::Parse("not implemented".into()))
}

/// `strvals.ParseIntoString`: every value a string.
pub fn parse_set_string(expr: &str, into: &Value) -> Result<(), StrvalsError> {
    let _ = (expr, into);
    Err(StrvalsError::Parse("not implemented".into()))
}
