//! YAML as Helm reads and writes it: YAML 1.1 scalar resolution (`yes`/`on`/`y`
//! are booleans) into [`super::value::Value`] trees where every number is a
//! float64, and `toYaml` output identical to Helm's (sigs.k8s.io/yaml, i.e.
//! go-yaml v2 behind a JSON round trip).

use super::value::Value;

/// An error reading or writing YAML, worded as sigs.k8s.io/yaml words it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum YamlError {
    /// The YAML text could not be parsed or converted (`yaml: line 3: ...`).
    #[error("error converting YAML to JSON: {0}")]
    Convert(String),
    /// The converted document does not fit the target Go type.
    #[error("error unmarshaling JSON: while decoding JSON: {0}")]
    Unmarshal(String),
    /// A values document failed (Helm's `LoadValues` wording).
    #[error("cannot unmarshal yaml document: {0}")]
    Document(Box<YamlError>),
    /// A value could not be marshalled (NaN, Inf, objects without JSON form).
    #[error("error marshaling into JSON: {0}")]
    Marshal(String),
}

/// Parses a values file as Helm v4's `loader.LoadValues` does: the text is
/// split into `---` documents, each unmarshalled into a
/// `map[string]interface{}` (every number a float64) and merged in order.
pub fn parse_values(text: &str) -> Result<Value, YamlError> {
    let _ = text;
    Err(YamlError::Convert("yaml: not implemented".into()))
}

/// `sigs.k8s.io/yaml.Unmarshal` into `interface{}`: the first document, any
/// node kind; numbers become float64.
pub fn parse_any(text: &str) -> Result<Value, YamlError> {
    let _ = text;
    Err(YamlError::Convert("yaml: not implemented".into()))
}

/// Helm's `fromYaml`: unmarshal into `map[string]interface{}`.
pub fn parse_map(text: &str) -> Result<Value, YamlError> {
    let _ = text;
    Err(YamlError::Convert("yaml: not implemented".into()))
}

/// Helm's `fromYamlArray`: unmarshal into `[]interface{}`.
pub fn parse_list(text: &str) -> Result<Value, YamlError> {
    let _ = text;
    Err(YamlError::Convert("yaml: not implemented".into()))
}

/// `sigs.k8s.io/yaml.Marshal`: the text Helm's `toYaml` trims.
pub fn to_yaml(value: &Value) -> Result<String, YamlError> {
    let _ = value;
    Err(YamlError::Marshal("not implemented".into()))
}
