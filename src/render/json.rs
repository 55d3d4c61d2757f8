//! JSON as Go's encoding/json reads and writes it (sorted keys, HTML-safe
//! escaping, float64 formatting) for `toJson`/`fromJson` and values files.

use super::value::Value;

/// An error from Go's encoding/json, worded as Go words it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JsonError {
    /// `json.Marshal` failed (`json: unsupported value: NaN`).
    #[error("json: {0}")]
    Marshal(String),
    /// The text is not valid JSON (`invalid character 'x' looking for ...`).
    #[error("{0}")]
    Syntax(String),
    /// The JSON does not fit the target Go type.
    #[error("json: cannot unmarshal {what} into Go value of type {target}")]
    Type { what: String, target: String },
}

/// `json.Marshal`.
pub fn to_json(value: &Value) -> Result<String, JsonError> {
    let _ = value;
    Err(JsonError::Marshal("not implemented".into()))
}

/// `json.Unmarshal` into `interface{}`.
pub fn parse(text: &str) -> Result<Value, JsonError> {
    let _ = text;
    Err(JsonError::Syntax("not implemented".into()))
}
