//! YAML reading for chart files (Chart.yaml, values, requirements, manifest
//! heads): Helm's `sigs.k8s.io/yaml` semantics via
//! [`crate::render::yaml::parse_values`], plus Helm's multi-document
//! values reader (`LoadValues`: documents split on `---` lines, merged).

use crate::render::value::{Map, Value};

/// Parses one YAML document into a value as `sigs.k8s.io/yaml` does
/// (numbers float64, YAML 1.1 booleans). The error is Helm's text.
pub fn parse(text: &str) -> Result<Value, String> {
    interim::parse(text)
}

/// Until `render::yaml` lands: a yaml-rust2 based reader.
mod interim {
    use crate::render::value::{Map, Value};
    use yaml_rust2::{Yaml, YamlLoader};

    pub fn parse(text: &str) -> Result<Value, String> {
        let docs = YamlLoader::load_from_str(text).map_err(|e| format!("error converting YAML to JSON: yaml: {e}"))?;
        match docs.into_iter().next() {
            None => Ok(Value::Nil),
            Some(y) => convert(y),
        }
    }

    fn convert(y: Yaml) -> Result<Value, String> {
        Ok(match y {
            Yaml::Real(s) => Value::Float(s.parse::<f64>().unwrap_or(0.0)),
            Yaml::Integer(i) => Value::Float(i as f64),
            Yaml::String(s) => match s.as_str() {
                "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "y" | "Y" => Value::Bool(true),
                "no" | "No" | "NO" | "off" | "Off" | "OFF" | "n" | "N" => Value::Bool(false),
                _ => Value::str(s),
            },
            Yaml::Boolean(b) => Value::Bool(b),
            Yaml::Array(a) => Value::list(a.into_iter().map(convert).collect::<Result<_, _>>()?),
            Yaml::Hash(h) => {
                let mut m = Map::new();
                for (k, v) in h {
                    let key = match k {
                        Yaml::String(s) => s,
                        Yaml::Integer(i) => i.to_string(),
                        Yaml::Real(r) => r,
                        Yaml::Boolean(b) => b.to_string(),
                        Yaml::Null => "null".to_string(),
                        _ => return Err("unsupported key".into()),
                    };
                    m.insert(key, convert(v)?);
                }
                Value::map(m)
            }
            Yaml::Null => Value::Nil,
            _ => return Err("unsupported YAML".into()),
        })
    }
}

/// Splits a YAML stream like `k8s.io/apimachinery/pkg/util/yaml.YAMLReader`:
/// a line starting with `---` followed only by whitespace ends a document.
pub fn split_documents(text: &str) -> Vec<String> {
    let mut docs = Vec::new();
    let mut cur = String::new();
    for line in text.split_inclusive('\n') {
        if let Some(after) = line.strip_prefix("---")
            && after.trim_end().is_empty()
        {
            if !cur.is_empty() {
                docs.push(std::mem::take(&mut cur));
            }
            continue;
        }
        cur.push_str(line);
    }
    if !cur.is_empty() {
        docs.push(cur);
    }
    docs
}

/// Helm's `loader.LoadValues`: every document must be a map (or empty);
/// later documents are merged over earlier ones with [`merge_maps`].
pub fn load_values(text: &str) -> Result<Value, String> {
    let mut out = Map::new();
    for doc in split_documents(text) {
        let v = parse(&doc)?;
        match v {
            Value::Nil => {}
            Value::Map(_, m) => {
                let m = m.borrow().clone();
                out = merge_maps(out, m);
            }
            other => {
                return Err(format!(
                    "cannot unmarshal yaml document: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                    json_kind(&other)
                ));
            }
        }
    }
    Ok(Value::map(out))
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

/// Helm's `loader.MergeMaps`: keys of `b` win; maps present on both sides
/// are merged recursively (into fresh maps).
pub fn merge_maps(a: Map, b: Map) -> Map {
    let mut out = a;
    for (k, v) in b {
        if let Value::Map(_, bm) = &v
            && let Some(Value::Map(_, am)) = out.get(&k)
        {
            let merged = merge_maps(am.borrow().clone(), bm.borrow().clone());
            out.insert(k, Value::map(merged));
            continue;
        }
        out.insert(k, v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_separator_lines_only() {
        let docs = split_documents("a: 1\n---\nb: 2\n--- \n---x: 3\n");
        assert_eq!(docs, vec!["a: 1\n", "b: 2\n", "---x: 3\n"]);
    }
}
