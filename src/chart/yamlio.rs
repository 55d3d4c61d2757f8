//! YAML reading for chart files (Chart.yaml, values, requirements, manifest
//! heads): Helm's `sigs.k8s.io/yaml` semantics via
//! [`crate::render::yaml::parse_values`], plus Helm's multi-document
//! values reader (`LoadValues`: documents split on `---` lines, merged).

use crate::render::value::{Map, Value};

/// Parses one YAML document into a value as `sigs.k8s.io/yaml` does
/// (numbers float64, YAML 1.1 booleans). The error is Helm's text.
pub fn parse(text: &str) -> Result<Value, String> {
    crate::render::yaml::parse_any(text).map_err(|e| e.to_string())
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
    crate::render::yaml::parse_values(text).map_err(|e| e.to_string())
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
