//! Sprig's dict functions. Go maps are references: `set`, `unset`, `merge`
//! and `mergeOverwrite` change the map every holder sees and return it; merged
//! sub-maps are shared, not copied (dario.cat/mergo semantics: `merge` fills
//! only missing or empty keys and recurses into maps; `mergeOverwrite` lets
//! the source win, even with empty values).

use super::cast::strval;
use super::defaults::empty;
use super::{arg, arg_str, spec, strings_of};
use crate::godata::value::{Map, MapRef, Value};
use crate::render::funcs::{FuncError, FuncResult, FuncSpec, GoType as T};

const M: T = T::Map;
const S: T = T::String;
const A: T = T::Any;

pub(super) const FUNCS: &[FuncSpec] = &[
    spec("dict", &[], Some(A), dict),
    spec("get", &[M, S], None, get),
    spec("set", &[M, S, A], None, set),
    spec("unset", &[M, S], None, unset),
    spec("hasKey", &[M, S], None, |a| {
        Ok(Value::Bool(
            map_arg(a, 0)?.borrow().contains_key(arg_str(a, 1)?),
        ))
    }),
    spec("pluck", &[S], Some(M), pluck),
    spec("keys", &[], Some(M), keys),
    spec("pick", &[M], Some(S), pick),
    spec("omit", &[M], Some(S), omit),
    spec("values", &[M], None, |a| {
        Ok(Value::list(
            map_arg(a, 0)?.borrow().values().cloned().collect(),
        ))
    }),
    spec("merge", &[M], Some(M), |a| merge_all(a, false)),
    spec("mustMerge", &[M], Some(M), |a| merge_all(a, false)),
    spec("mergeOverwrite", &[M], Some(M), |a| merge_all(a, true)),
    spec("mustMergeOverwrite", &[M], Some(M), |a| merge_all(a, true)),
    spec("dig", &[], Some(A), dig),
];

/// The shared map argument at `i`.
fn map_arg(args: &[Value], i: usize) -> Result<&MapRef, FuncError> {
    args.get(i)
        .and_then(Value::as_map)
        .ok_or_else(|| FuncError::new(format!("internal error: argument {i} should be a map")))
}

fn dict(args: &[Value]) -> FuncResult {
    let mut map = Map::new();
    for pair in args.chunks(2) {
        let key = strval(&pair[0]);
        let value = pair.get(1).cloned().unwrap_or_else(|| Value::str(""));
        map.insert(key, value);
    }
    Ok(Value::map(map))
}

fn get(args: &[Value]) -> FuncResult {
    let map = map_arg(args, 0)?.borrow();
    Ok(map
        .get(arg_str(args, 1)?)
        .cloned()
        .unwrap_or_else(|| Value::str("")))
}

fn set(args: &[Value]) -> FuncResult {
    map_arg(args, 0)?
        .borrow_mut()
        .insert(arg_str(args, 1)?.to_string(), arg(args, 2).clone());
    Ok(args[0].clone())
}

fn unset(args: &[Value]) -> FuncResult {
    map_arg(args, 0)?.borrow_mut().remove(arg_str(args, 1)?);
    Ok(args[0].clone())
}

fn pluck(args: &[Value]) -> FuncResult {
    let key = arg_str(args, 0)?;
    let mut out = Vec::new();
    for d in args.iter().skip(1) {
        if let Some(v) = d.as_map().and_then(|m| m.borrow().get(key).cloned()) {
            out.push(v);
        }
    }
    Ok(Value::list(out))
}

fn keys(args: &[Value]) -> FuncResult {
    let mut out = Vec::new();
    for d in args {
        if let Some(m) = d.as_map() {
            out.extend(m.borrow().keys().cloned());
        }
    }
    strings_of(out)
}

fn pick(args: &[Value]) -> FuncResult {
    let map = map_arg(args, 0)?.borrow();
    let mut out = Map::new();
    for k in args.iter().skip(1).filter_map(Value::as_str) {
        if let Some(v) = map.get(k) {
            out.insert(k.to_string(), v.clone());
        }
    }
    Ok(Value::map(out))
}

fn omit(args: &[Value]) -> FuncResult {
    let map = map_arg(args, 0)?.borrow();
    let drop: Vec<&str> = args.iter().skip(1).filter_map(Value::as_str).collect();
    let out: Map = map
        .iter()
        .filter(|(k, _)| !drop.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok(Value::map(out))
}

fn merge_all(args: &[Value], overwrite: bool) -> FuncResult {
    let dst = map_arg(args, 0)?;
    for src in args.iter().skip(1) {
        if let Some(src) = src.as_map() {
            if std::rc::Rc::ptr_eq(dst, src) {
                continue;
            }
            merge_maps(dst, src, overwrite, 0);
        }
    }
    Ok(args[0].clone())
}

/// mergo's `deepMerge` for `map[string]interface{}` values.
fn merge_maps(dst: &MapRef, src: &MapRef, overwrite: bool, depth: usize) {
    if depth > 10_000 {
        return;
    }
    let entries: Vec<(String, Value)> = src
        .borrow()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (key, src_el) in entries {
        let dst_el = dst.borrow().get(&key).cloned();
        if src_el.is_nil() {
            if overwrite {
                dst.borrow_mut().insert(key, Value::Nil);
            }
            continue;
        }
        match (&src_el, &dst_el) {
            (Value::Map(_, s), Some(Value::Map(_, d))) if !std::rc::Rc::ptr_eq(s, d) => {
                merge_maps(d, s, overwrite, depth + 1);
            }
            (Value::List(_), _) => {
                // The slice branch: with overwrite (or an empty destination
                // map) the destination takes the source slice; otherwise a
                // missing or nil key first receives an empty slice.
                let dst_map_empty = dst.borrow().is_empty();
                let taken = if overwrite || dst_map_empty {
                    src_el.clone()
                } else {
                    match &dst_el {
                        None | Some(Value::Nil) => Value::list(Vec::new()),
                        Some(v) => v.clone(),
                    }
                };
                dst.borrow_mut().insert(key.clone(), taken);
            }
            _ => {}
        }
        let keep_dst = dst_el.as_ref().filter(|d| !empty(d)).is_some_and(|d| {
            matches!(src_el, Value::List(_))
                || (matches!(src_el, Value::Map(..)) && matches!(d, Value::Map(..)))
        });
        if keep_dst {
            continue;
        }
        if overwrite || dst_el.as_ref().is_none_or(empty) {
            dst.borrow_mut().insert(key, src_el);
        }
    }
}

fn dig(args: &[Value]) -> FuncResult {
    if args.len() < 3 {
        return Err(FuncError::new("dig needs at least three arguments"));
    }
    let mut dict = assert_map(&args[args.len() - 1])?;
    let default = &args[args.len() - 2];
    let keys = &args[..args.len() - 2];
    let mut names = Vec::with_capacity(keys.len());
    for k in keys {
        match k {
            Value::Str(s) => names.push(s.clone()),
            other => return Err(interface_conversion(other, "string")),
        }
    }
    for (i, k) in names.iter().enumerate() {
        let step = match dict.borrow().get(&**k) {
            None => return Ok(default.clone()),
            Some(v) => v.clone(),
        };
        if i == names.len() - 1 {
            return Ok(step);
        }
        dict = assert_map(&step)?;
    }
    Ok(default.clone())
}

/// Go's `v.(map[string]interface{})` type assertion.
fn assert_map(v: &Value) -> Result<MapRef, FuncError> {
    match v {
        Value::Map(k, m) if k.is_plain_interface() => Ok(m.clone()),
        other => Err(interface_conversion(other, "map[string]interface {}")),
    }
}

/// Go's panic text for a failed type assertion from `interface {}`.
fn interface_conversion(v: &Value, want: &str) -> FuncError {
    let got = if v.is_nil() { "nil" } else { v.type_name() };
    FuncError::new(format!(
        "interface conversion: interface {{}} is {got}, not {want}"
    ))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{call, call_str, s};
    use super::*;

    fn m(pairs: &[(&str, Value)]) -> Value {
        Value::map(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn set_is_seen_by_every_holder() {
        let d = m(&[]);
        let held = d.clone();
        call("set", &[d, s("a"), Value::Int(1)]).unwrap();
        assert_eq!(super::super::vfmt(&held), "map[a:1]");
    }

    #[test]
    fn merge_fills_only_empty_keys() {
        let dst = m(&[
            ("a", Value::Int(1)),
            ("b", Value::Int(0)),
            ("n", m(&[("x", s("1"))])),
        ]);
        let src = m(&[
            ("a", Value::Int(2)),
            ("b", Value::Int(3)),
            ("c", s("c")),
            ("n", m(&[("x", s("2")), ("y", s("3"))])),
        ]);
        assert_eq!(
            call_str("merge", &[dst, src]),
            "map[a:1 b:3 c:c n:map[x:1 y:3]]"
        );
    }

    #[test]
    fn merge_overwrite_lets_source_win() {
        let dst = m(&[("a", Value::Int(1)), ("f", Value::Bool(true))]);
        let src = m(&[("a", Value::Int(2)), ("f", Value::Bool(false))]);
        assert_eq!(call_str("mergeOverwrite", &[dst, src]), "map[a:2 f:false]");
    }

    #[test]
    fn dig_walks_maps() {
        let d = m(&[("a", m(&[("b", s("x"))]))]);
        assert_eq!(call_str("dig", &[s("a"), s("b"), s("def"), d.clone()]), "x");
        assert_eq!(
            call_str("dig", &[s("a"), s("c"), s("def"), d.clone()]),
            "def"
        );
        assert_eq!(
            call_str("dig", &[s("a"), s("b"), s("c"), s("def"), d]),
            "ERR: interface conversion: interface {} is string, not map[string]interface {}"
        );
    }
}
