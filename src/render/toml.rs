//! TOML output for `toToml`, as Helm's BurntSushi/toml encoder writes it.

use super::value::Value;

/// An error from the TOML encoder, worded as BurntSushi/toml words it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TomlError {
    /// The value cannot be encoded (`toml: top-level values must be Go maps or structs`).
    #[error("toml: {0}")]
    Encode(String),
}

/// BurntSushi/toml `Encoder.Encode`.
pub fn to_toml(value: &Value) -> Result<String, TomlError> {
    let _ = value;
    Err(TomlError::Encode("not implemented".into()))
}
