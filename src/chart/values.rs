//! Helm's values coalescing (pkg/chart/common/util/coalesce.go): user values
//! over chart defaults, `null` deleting keys, subchart values under the
//! subchart's name, `global` copied down into every subchart; plus Helm's
//! `Values.Table` / `PathValue` lookups.
//!
//! Go maps are reference types and Helm's algorithm relies on which maps are
//! shared and which are copied; [`Value`] maps are shared the same way
//! (`Rc`), so this is a line-by-line port.

use std::fmt::Write as _;

use super::Chart;
use crate::godata::value::{Map, MapKind, MapRef, Value};

/// Warnings Helm would log (`coalesce.go` printf); rudder collects them.
pub type Warnings = Vec<String>;

/// An error from coalescing (a subchart's values are not a map).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct CoalesceError(pub String);

fn concat_prefix(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_string()
    } else {
        format!("{a}.{b}")
    }
}

fn is_table(v: &Value) -> bool {
    matches!(v, Value::Map(..))
}

fn table(v: &Value) -> Option<MapRef> {
    match v {
        Value::Map(_, m) => Some(m.clone()),
        _ => None,
    }
}

/// `CoalesceValues`: a deep copy of `vals` coalesced with the chart's
/// defaults and its subcharts' (nulls remove keys).
pub fn coalesce_values(chart: &Chart, vals: &Value) -> Result<Value, CoalesceError> {
    let copy = deep_copy_map(vals);
    coalesce(chart, &copy, "", false, &mut Vec::new())?;
    Ok(vmap(copy))
}

/// `MergeValues`: like [`coalesce_values`] but nulls are kept.
pub fn merge_values(chart: &Chart, vals: &Value) -> Result<Value, CoalesceError> {
    let copy = deep_copy_map(vals);
    coalesce(chart, &copy, "", true, &mut Vec::new())?;
    Ok(vmap(copy))
}

fn deep_copy_map(v: &Value) -> MapRef {
    match v.deep_copy() {
        Value::Map(_, m) => m,
        _ => Value::empty_map().as_map().cloned().unwrap_or_default(),
    }
}

fn coalesce(
    ch: &Chart,
    dest: &MapRef,
    prefix: &str,
    merge: bool,
    w: &mut Warnings,
) -> Result<(), CoalesceError> {
    coalesce_chart_values(ch, dest, prefix, merge, w);
    coalesce_deps(ch, dest, prefix, merge, w)
}

fn coalesce_deps(
    ch: &Chart,
    dest: &MapRef,
    prefix: &str,
    merge: bool,
    w: &mut Warnings,
) -> Result<(), CoalesceError> {
    for sub in &ch.dependencies {
        let name = sub.name().to_string();
        let existing = dest.borrow().get(&name).cloned();
        let dvmap = match existing {
            None => {
                let m = MapRef::default();
                dest.borrow_mut().insert(name.clone(), vmap(m.clone()));
                m
            }
            Some(Value::Map(_, m)) => m,
            Some(other) => {
                return Err(CoalesceError(format!(
                    "type mismatch on {name}: %!t({}={})",
                    other.type_name(),
                    go_v(&other)
                )));
            }
        };
        let sub_prefix = concat_prefix(prefix, ch.name());
        coalesce_globals(&dvmap, dest, &sub_prefix, w);
        coalesce(sub, &dvmap, &sub_prefix, merge, w)?;
        dest.borrow_mut().insert(name, vmap(dvmap));
    }
    Ok(())
}

fn go_v(v: &Value) -> String {
    format!("{v:?}")
}

fn vmap(m: MapRef) -> Value {
    Value::Map(MapKind::Interface, m)
}

fn coalesce_globals(dest: &MapRef, src: &MapRef, prefix: &str, w: &mut Warnings) {
    let dg = match dest.borrow().get("global") {
        None => MapRef::default(),
        Some(Value::Map(_, m)) => m.clone(),
        Some(_) => {
            w.push("warning: skipping globals because destination global is not a table.".into());
            return;
        }
    };
    let sg = match src.borrow().get("global") {
        None => MapRef::default(),
        Some(Value::Map(_, m)) => m.clone(),
        Some(_) => {
            w.push("warning: skipping globals because source global is not a table.".into());
            return;
        }
    };
    let entries: Vec<(String, Value)> = sg
        .borrow()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (key, val) in entries {
        if let Some(vm) = table(&val) {
            let vv = MapRef::new(std::cell::RefCell::new(vm.borrow().clone()));
            let destv = dg.borrow().get(&key).cloned();
            match destv {
                None => {
                    dg.borrow_mut().insert(key, vmap(vv));
                }
                Some(Value::Map(_, destvmap)) => {
                    let sub_prefix = concat_prefix(prefix, &key);
                    coalesce_tables_full_key(&vv, &destvmap, &sub_prefix, true, w);
                    dg.borrow_mut().insert(key, vmap(vv));
                }
                Some(_) => w.push(format!(
                    "Conflict: cannot merge map onto non-map for {key:?}. Skipping."
                )),
            }
        } else if dg.borrow().get(&key).is_some_and(is_table) {
            w.push(format!("key {key} is table. Skipping"));
        } else {
            dg.borrow_mut().insert(key, val);
        }
    }
    dest.borrow_mut().insert("global".into(), vmap(dg));
}

/// `coalesceValues`: the chart's defaults under the values in `v`.
fn coalesce_chart_values(ch: &Chart, v: &MapRef, prefix: &str, merge: bool, w: &mut Warnings) {
    let sub_prefix = concat_prefix(prefix, ch.name());
    let vc = deep_copy_map(&ch.values);
    let entries: Vec<(String, Value)> = vc
        .borrow()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (key, val) in entries {
        let existing = v.borrow().get(&key).cloned();
        match existing {
            Some(Value::Nil) if !merge => {
                v.borrow_mut().remove(&key);
            }
            Some(Value::Map(_, dest)) => match table(&val) {
                Some(src) => {
                    let merge = merge || ch.dependencies.iter().any(|d| d.name() == key);
                    coalesce_tables_full_key(
                        &dest,
                        &src,
                        &concat_prefix(&sub_prefix, &key),
                        merge,
                        w,
                    );
                }
                None => {
                    if !val.is_nil() {
                        w.push(format!(
                            "warning: skipped value for {sub_prefix}.{key}: Not a table."
                        ));
                    }
                }
            },
            Some(_) => {}
            None => {
                v.borrow_mut().insert(key, val);
            }
        }
    }
}

/// `CoalesceTables`: `src` under `dst` (dst wins), nulls in dst delete.
pub fn coalesce_tables(dst: &MapRef, src: &MapRef) {
    coalesce_tables_full_key(dst, src, "", false, &mut Vec::new());
}

/// `MergeTables`: like [`coalesce_tables`] but nulls are kept.
pub fn merge_tables(dst: &MapRef, src: &MapRef) {
    coalesce_tables_full_key(dst, src, "", true, &mut Vec::new());
}

fn coalesce_tables_full_key(
    dst: &MapRef,
    src: &MapRef,
    prefix: &str,
    merge: bool,
    w: &mut Warnings,
) {
    if std::rc::Rc::ptr_eq(dst, src) {
        return;
    }
    let src_non_nil: std::collections::BTreeSet<String> = src
        .borrow()
        .iter()
        .filter(|(_, v)| !v.is_nil())
        .map(|(k, _)| k.clone())
        .collect();
    let dst_nils: Vec<String> = dst
        .borrow()
        .iter()
        .filter(|(_, v)| v.is_nil())
        .map(|(k, _)| k.clone())
        .collect();
    for k in dst_nils {
        src.borrow_mut().insert(k, Value::Nil);
    }
    let entries: Vec<(String, Value)> = src
        .borrow()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (key, val) in entries {
        let fullkey = concat_prefix(prefix, &key);
        let dv = dst.borrow().get(&key).cloned();
        match dv {
            Some(Value::Nil) if !merge && src_non_nil.contains(&key) => {
                dst.borrow_mut().remove(&key);
            }
            None => {
                dst.borrow_mut().insert(key, val);
            }
            Some(dv) => {
                if let Some(vm) = table(&val) {
                    if let Some(dm) = table(&dv) {
                        coalesce_tables_full_key(&dm, &vm, &fullkey, merge, w);
                    } else {
                        w.push(format!(
                            "warning: cannot overwrite table with non table for {fullkey} ({})",
                            go_v(&val)
                        ));
                    }
                } else if is_table(&dv) && !val.is_nil() {
                    w.push(format!(
                        "warning: destination for {fullkey} is a table. Ignoring non-table value ({})",
                        go_v(&val)
                    ));
                }
            }
        }
    }
}

/// Helm's `Values.Table("a.b.c")`: the map at that dotted path.
pub fn table_at(v: &Value, path: &str) -> Option<Value> {
    let mut cur = v.clone();
    for part in path.split('.') {
        let next = match &cur {
            Value::Map(_, m) => m.borrow().get(part).cloned(),
            _ => None,
        };
        match next {
            Some(n @ Value::Map(..)) => cur = n,
            _ => return None,
        }
    }
    Some(cur)
}

/// Helm's `Values.PathValue`: a non-table value at a dotted path.
pub fn path_value(v: &Value, path: &str) -> Option<Value> {
    if path.is_empty() {
        return None;
    }
    let (parent, key) = match path.rfind('.') {
        Some(i) => (Some(&path[..i]), &path[i + 1..]),
        None => (None, path),
    };
    let t = match parent {
        Some(p) => table_at(v, p)?,
        None => v.clone(),
    };
    let found = t.as_map()?.borrow().get(key).cloned();
    match found {
        Some(x) if !is_table(&x) => Some(x),
        _ => None,
    }
}

/// Removes nil values recursively (Helm's `trimNilValues`), on a deep copy.
pub fn trim_nil_values(v: &Value) -> Value {
    match v {
        Value::Map(_, m) => {
            let mut out = Map::new();
            for (k, x) in m.borrow().iter() {
                match x {
                    Value::Nil => {}
                    Value::Map(..) => {
                        out.insert(k.clone(), trim_nil_values(x));
                    }
                    other => {
                        out.insert(k.clone(), other.deep_copy());
                    }
                }
            }
            Value::map(out)
        }
        other => other.deep_copy(),
    }
}

/// Formats collected warnings one per line (for stderr).
pub fn format_warnings(w: &Warnings) -> String {
    let mut s = String::new();
    for line in w {
        let _ = writeln!(s, "{line}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::Metadata;

    fn m(pairs: &[(&str, Value)]) -> Value {
        Value::map(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    fn chart(name: &str, values: Value, deps: Vec<Chart>) -> Chart {
        Chart {
            metadata: Metadata {
                name: name.into(),
                ..Default::default()
            },
            templates: vec![],
            files: vec![],
            values,
            schema: None,
            dependencies: deps,
        }
    }

    #[test]
    fn null_deletes_and_globals_flow_down() {
        let sub = chart("sub", m(&[("a", Value::Float(1.0))]), vec![]);
        let parent = chart(
            "p",
            m(&[
                ("x", Value::Float(1.0)),
                ("y", Value::Float(2.0)),
                ("global", m(&[("g", Value::str("G"))])),
            ]),
            vec![sub],
        );
        let user = m(&[("x", Value::Nil), ("sub", m(&[("b", Value::Bool(true))]))]);
        let out = coalesce_values(&parent, &user).unwrap();
        let om = out.as_map().unwrap().borrow();
        assert!(!om.contains_key("x"));
        let s = om["sub"].as_map().unwrap().borrow();
        assert!(s.contains_key("a") && s.contains_key("b"));
        assert_eq!(
            s["global"].as_map().unwrap().borrow()["g"].as_str(),
            Some("G")
        );
    }

    #[test]
    fn paths() {
        let v = m(&[("a", m(&[("b", Value::Bool(true))]))]);
        assert!(matches!(path_value(&v, "a.b"), Some(Value::Bool(true))));
        assert!(path_value(&v, "a").is_none());
        assert!(table_at(&v, "a").is_some());
    }
}
