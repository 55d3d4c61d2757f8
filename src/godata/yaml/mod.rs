//! YAML as Helm reads and writes it: YAML 1.1 scalar resolution (`yes`/`on`/`y`
//! are booleans) into [`super::value::Value`] trees where every number is a
//! float64, and `toYaml` output identical to Helm's (sigs.k8s.io/yaml, i.e.
//! go-yaml v2 behind a JSON round trip).
//!
//! - [`parse_values`] / [`parse_values_bytes`]: Helm v4's `loader.LoadValues`
//!   (values.yaml, `-f`): `---` documents merged, errors worded like Helm's.
//! - [`parse_any`], [`parse_map`], [`parse_list`]: `yaml.Unmarshal` into
//!   `interface{}`, `map[string]interface{}` and `[]interface{}`;
//!   [`from_yaml`] / [`from_yaml_array`] are Helm's `fromYaml` /
//!   `fromYamlArray` in full (errors under `"Error"`).
//! - [`to_yaml`]: `yaml.Marshal` (`toYaml` trims the final newline itself);
//!   [`to_yaml_pretty`]: `toYamlPretty` (go-yaml v3 encoder rules).
//!
//! The event layer is `saphyr-parser`; libyaml's leniencies and error
//! wording are restored on top of it (see `load`).

mod emit;
mod load;
pub mod resolve;

use super::value::{Map, Value};

/// An error reading or writing YAML, worded as sigs.k8s.io/yaml words it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum YamlError {
    /// The YAML text could not be parsed or converted (`yaml: line 3: ...`).
    #[error("error converting YAML to JSON: {0}")]
    Convert(String),
    /// The converted document does not fit the target Go type.
    #[error("error unmarshaling JSON: while decoding JSON: {0}")]
    Unmarshal(String),
    /// apimachinery's YAMLReader rejected a `---` line with content after it.
    #[error("error reading yaml document: {0}")]
    Reader(String),
    /// A values document failed (Helm's `LoadValues` wording).
    #[error("cannot unmarshal yaml document: {0}")]
    Document(Box<YamlError>),
    /// A value could not be marshalled (NaN, Inf, objects without JSON form).
    #[error("error marshaling into JSON: {0}")]
    Marshal(String),
    /// go-yaml rejected the JSON form while converting it to YAML
    /// (`yaml: control characters are not allowed`).
    #[error("{0}")]
    Yaml(String),
}

fn convert(e: load::LoadError) -> YamlError {
    match e {
        load::LoadError::Yaml(m) | load::LoadError::Json(m) => YamlError::Convert(m),
    }
}

/// Parses a values file as Helm v4's `loader.LoadValues` does: the text is
/// split into `---` documents (apimachinery's YAMLReader), each unmarshalled
/// into a `map[string]interface{}` (every number a float64) and merged in
/// order (maps merged recursively, anything else replaced).
pub fn parse_values(text: &str) -> Result<Value, YamlError> {
    let mut values = Map::new();
    for doc in split_documents(text)? {
        let current = parse_map(doc).map_err(|e| YamlError::Document(Box::new(e)))?;
        if let Value::Map(_, m) = current {
            let m = std::mem::take(&mut *m.borrow_mut());
            merge_maps(&mut values, m);
        }
    }
    Ok(Value::map(values))
}

/// [`parse_values`] for raw file bytes: text that is not UTF-8 fails the way
/// libyaml's reader fails (`yaml: invalid leading UTF-8 octet`, ...).
pub fn parse_values_bytes(data: &[u8]) -> Result<Value, YamlError> {
    let text = utf8_text(data).map_err(|e| YamlError::Document(Box::new(e)))?;
    parse_values(text)
}

/// [`parse_any`] for raw file bytes (see [`parse_values_bytes`]).
pub fn parse_any_bytes(data: &[u8]) -> Result<Value, YamlError> {
    parse_any(utf8_text(data)?)
}

/// The text of `data`, or libyaml's reader error for invalid UTF-8.
fn utf8_text(data: &[u8]) -> Result<&str, YamlError> {
    match std::str::from_utf8(data) {
        Ok(t) => Ok(t),
        Err(e) => {
            let rest = &data[e.valid_up_to()..];
            let lead = rest[0];
            let width = match lead {
                0x00..=0x7F => 1,
                0xC0..=0xDF => 2,
                0xE0..=0xEF => 3,
                0xF0..=0xF7 => 4,
                _ => 0,
            };
            let problem = if width == 0 {
                "invalid leading UTF-8 octet"
            } else if rest.len() < width {
                "incomplete UTF-8 octet sequence"
            } else if rest[1..width].iter().any(|b| b & 0xC0 != 0x80) {
                "invalid trailing UTF-8 octet"
            } else {
                let mut v = u32::from(lead) & (0xFF >> (width + 1));
                for b in &rest[1..width] {
                    v = (v << 6) | (u32::from(*b) & 0x3F);
                }
                let shortest = match width {
                    2 => v >= 0x80,
                    3 => v >= 0x800,
                    _ => v >= 0x10000,
                };
                if shortest {
                    "invalid Unicode character"
                } else {
                    "invalid length of a UTF-8 sequence"
                }
            };
            Err(YamlError::Convert(format!("yaml: {problem}")))
        }
    }
}

/// Helm's `loader.MergeMaps(a, b)` in place: `b` wins, nested maps merge.
fn merge_maps(a: &mut Map, b: Map) {
    for (k, v) in b {
        if let (Value::Map(_, bm), Some(Value::Map(_, am))) = (&v, a.get(&k)) {
            let mut merged = am.borrow().clone();
            let inner = bm.borrow().clone();
            merge_maps(&mut merged, inner);
            a.insert(k, Value::map(merged));
            continue;
        }
        a.insert(k, v);
    }
}

/// apimachinery's `YAMLReader`: documents are separated by lines starting
/// with `---` (followed only by spaces or a comment, anything else is an
/// error); empty documents are skipped, a leading separator line stays part
/// of its document.
fn split_documents(text: &str) -> Result<Vec<&str>, YamlError> {
    let mut docs = Vec::new();
    let mut start = 0;
    let mut pos = 0;
    while pos < text.len() {
        let end = text[pos..].find('\n').map_or(text.len(), |i| pos + i + 1);
        let line = &text[pos..end];
        if let Some(rest) = line.strip_prefix("---") {
            let trimmed = rest.trim();
            if !trimmed.is_empty() && !trimmed.starts_with('#') {
                return Err(YamlError::Reader(format!(
                    "invalid Yaml document separator: {trimmed}"
                )));
            }
            if pos > start {
                docs.push(&text[start..pos]);
                start = end;
            }
        }
        pos = end;
    }
    if start < text.len() {
        docs.push(&text[start..]);
    }
    Ok(docs)
}

/// `sigs.k8s.io/yaml.Unmarshal` into `interface{}`: the first document, any
/// node kind; numbers become float64. An empty document is `nil`.
pub fn parse_any(text: &str) -> Result<Value, YamlError> {
    load::load_first(text).map_err(convert)
}

/// Helm's `fromYaml`: unmarshal into `map[string]interface{}`; an empty or
/// `null` document gives an empty map.
pub fn parse_map(text: &str) -> Result<Value, YamlError> {
    match parse_any(text)? {
        v @ Value::Map(..) => Ok(v),
        Value::Nil => Ok(Value::empty_map()),
        other => Err(YamlError::Unmarshal(
            super::json::type_error(&other, "map[string]interface {}").to_string(),
        )),
    }
}

/// Helm's `fromYamlArray`: unmarshal into `[]interface{}`; an empty or `null`
/// document gives an empty list.
pub fn parse_list(text: &str) -> Result<Value, YamlError> {
    match parse_any(text)? {
        v @ Value::List(..) => Ok(v),
        Value::Nil => Ok(Value::list(Vec::new())),
        other => Err(YamlError::Unmarshal(
            super::json::type_error(&other, "[]interface {}").to_string(),
        )),
    }
}

/// Helm's `fromYaml` in full: the map, or an empty map holding the error
/// text under `"Error"`.
pub fn from_yaml(text: &str) -> Value {
    parse_map(text).unwrap_or_else(|e| {
        Value::map(Map::from([(
            "Error".to_string(),
            Value::str(e.to_string()),
        )]))
    })
}

/// Helm's `fromYamlArray` in full: the list, or a list holding only the
/// error text.
pub fn from_yaml_array(text: &str) -> Value {
    parse_list(text).unwrap_or_else(|e| Value::list(vec![Value::str(e.to_string())]))
}

/// Helm's `toYamlPretty` (go-yaml v3 `Encoder`, indent 2), untrimmed.
pub fn to_yaml_pretty(value: &Value) -> String {
    emit::marshal_v3(value)
}

/// `sigs.k8s.io/yaml.Marshal`: the text Helm's `toYaml` trims.
pub fn to_yaml(value: &Value) -> Result<String, YamlError> {
    emit::marshal(value).map_err(|e| match e.0.strip_prefix("json: ") {
        Some(_) => YamlError::Marshal(e.0),
        None => YamlError::Yaml(e.0),
    })
}

/// sigs.k8s.io/yaml's conversion of a YAML scalar decoded into a Go
/// `string` field: strings as they are, booleans as `true`/`false`, numbers
/// as their text (`strconv.FormatFloat(f, 'g', -1, 32)` for floats; YAML
/// integers keep their digits). `None` for maps and lists.
pub fn scalar_as_string(v: &Value) -> Option<String> {
    match v {
        Value::Str(s) => Some(s.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Int(i) | Value::Int64(i) => Some(i.to_string()),
        Value::Float(f) => Some(float32_g(*f)),
        _ => None,
    }
}

/// `strconv.FormatFloat(f, 'g', -1, 32)`, except that integral values print
/// as integers (the YAML decoder hands those over as ints).
fn float32_g(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        return format!("{}", f as i64);
    }
    let x = f as f32;
    let exp = if x == 0.0 {
        0
    } else {
        x.abs().log10().floor() as i32
    };
    if (-4..21).contains(&exp) && !(6..21).contains(&exp) {
        return format!("{x}");
    }
    let e = format!("{x:e}");
    match e.split_once('e') {
        Some((m, ex)) => {
            let n: i32 = ex.parse().unwrap_or(0);
            let sign = if n < 0 { '-' } else { '+' };
            format!("{m}e{sign}{:02}", n.abs())
        }
        None => e,
    }
}

/// The JSON kind name Go's decoder uses in "cannot unmarshal X into ...".
pub fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Nil => "null",
        Value::Bool(_) => "bool",
        Value::Int(_) | Value::Int64(_) | Value::Float(_) => "number",
        Value::Str(_) | Value::Bytes(_) => "string",
        Value::List(_) => "array",
        Value::Map(..) | Value::Object(_) => "object",
    }
}

#[cfg(test)]
pub(crate) mod tests;
