//! YAML reading for chart files (Chart.yaml, values, requirements): Helm's
//! `sigs.k8s.io/yaml` semantics via [`crate::godata::yaml`], plus Helm's
//! multi-document values reader (`LoadValues`: documents split on `---`
//! lines, merged).

use crate::godata::value::{Map, Value};

/// Parses one YAML document into a value as `sigs.k8s.io/yaml` does
/// (numbers float64, YAML 1.1 booleans). The error is Helm's text.
pub fn parse(text: &str) -> Result<Value, String> {
    crate::godata::yaml::parse_any(text).map_err(|e| e.to_string())
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
    crate::godata::yaml::parse_values(text).map_err(|e| e.to_string())
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
