//! Sprig's list functions (`list`, `append`, `first`, `uniq`, `slice`,
//! `chunk`, `concat`, …) and their `must*` twins. The plain versions panic
//! where the `must*` ones return errors; Go's template engine turns both into
//! the same `error calling NAME: …`, so both share one implementation here.
//! A nil list panics inside `reflect.TypeOf(nil).Kind()` in Go: that is the
//! runtime's nil-dereference error.

use super::defaults::{deep_equal, empty};
use super::{NIL_DEREF, arg, arg_int, kind_name, list_of, slice_items, spec};
use crate::godata::value::{List, Value};
use crate::render::funcs::{FuncError, FuncResult, FuncSpec, GoType as T};
use std::rc::Rc;

const A: T = T::Any;

pub(super) const FUNCS: &[FuncSpec] = &[
    spec("list", &[], Some(A), |a| list_of(a.to_vec())),
    spec("tuple", &[], Some(A), |a| list_of(a.to_vec())),
    spec("append", &[A, A], None, push),
    spec("push", &[A, A], None, push),
    spec("mustAppend", &[A, A], None, push),
    spec("mustPush", &[A, A], None, push),
    spec("prepend", &[A, A], None, prepend),
    spec("mustPrepend", &[A, A], None, prepend),
    spec("first", &[A], None, first),
    spec("mustFirst", &[A], None, first),
    spec("rest", &[A], None, rest),
    spec("mustRest", &[A], None, rest),
    spec("last", &[A], None, last),
    spec("mustLast", &[A], None, last),
    spec("initial", &[A], None, initial),
    spec("mustInitial", &[A], None, initial),
    spec("reverse", &[A], None, reverse),
    spec("mustReverse", &[A], None, reverse),
    spec("uniq", &[A], None, uniq),
    spec("mustUniq", &[A], None, uniq),
    spec("without", &[A], Some(A), without),
    spec("mustWithout", &[A], Some(A), without),
    spec("has", &[A, A], None, has),
    spec("mustHas", &[A, A], None, has),
    spec("slice", &[A], Some(A), slice),
    spec("mustSlice", &[A], Some(A), slice),
    spec("concat", &[], Some(A), concat),
    spec("compact", &[A], None, compact),
    spec("mustCompact", &[A], None, compact),
    spec("chunk", &[T::Int, A], None, chunk),
    spec("mustChunk", &[T::Int, A], None, chunk),
];

/// The items of a list argument, or Sprig's "Cannot VERB on type KIND" error.
fn items_or(v: &Value, what: &str) -> Result<Vec<Value>, FuncError> {
    if v.is_nil() {
        return Err(FuncError::new(NIL_DEREF));
    }
    slice_items(v).ok_or_else(|| FuncError::new(format!("{what} {}", kind_name(v))))
}

fn push(args: &[Value]) -> FuncResult {
    let mut items = items_or(arg(args, 0), "Cannot push on type")?;
    items.push(arg(args, 1).clone());
    list_of(items)
}

fn prepend(args: &[Value]) -> FuncResult {
    let mut items = items_or(arg(args, 0), "Cannot prepend on type")?;
    items.insert(0, arg(args, 1).clone());
    list_of(items)
}

fn first(args: &[Value]) -> FuncResult {
    let items = items_or(arg(args, 0), "Cannot find first on type")?;
    Ok(items.into_iter().next().unwrap_or(Value::Nil))
}

fn last(args: &[Value]) -> FuncResult {
    let items = items_or(arg(args, 0), "Cannot find last on type")?;
    Ok(items.into_iter().next_back().unwrap_or(Value::Nil))
}

fn rest(args: &[Value]) -> FuncResult {
    let items = items_or(arg(args, 0), "Cannot find rest on type")?;
    list_of(items.into_iter().skip(1).collect())
}

fn initial(args: &[Value]) -> FuncResult {
    let mut items = items_or(arg(args, 0), "Cannot find initial on type")?;
    items.pop();
    list_of(items)
}

fn reverse(args: &[Value]) -> FuncResult {
    let mut items = items_or(arg(args, 0), "Cannot find reverse on type")?;
    items.reverse();
    list_of(items)
}

fn uniq(args: &[Value]) -> FuncResult {
    let items = items_or(arg(args, 0), "Cannot find uniq on type")?;
    let mut out: Vec<Value> = Vec::new();
    for item in items {
        if !out.iter().any(|o| deep_equal(&item, o)) {
            out.push(item);
        }
    }
    list_of(out)
}

fn without(args: &[Value]) -> FuncResult {
    let items = items_or(arg(args, 0), "Cannot find without on type")?;
    let omit = &args[1.min(args.len())..];
    list_of(
        items
            .into_iter()
            .filter(|i| !omit.iter().any(|o| deep_equal(i, o)))
            .collect(),
    )
}

fn has(args: &[Value]) -> FuncResult {
    let (needle, haystack) = (arg(args, 0), arg(args, 1));
    if haystack.is_nil() {
        return Ok(Value::Bool(false));
    }
    let items = items_or(haystack, "Cannot find has on type")?;
    Ok(Value::Bool(items.iter().any(|i| deep_equal(needle, i))))
}

fn compact(args: &[Value]) -> FuncResult {
    let items = items_or(arg(args, 0), "Cannot compact on type")?;
    list_of(items.into_iter().filter(|i| !empty(i)).collect())
}

fn concat(args: &[Value]) -> FuncResult {
    let mut out = Vec::new();
    for list in args {
        if list.is_nil() {
            return Err(FuncError::new(NIL_DEREF));
        }
        match slice_items(list) {
            Some(items) => out.extend(items),
            None => {
                return Err(FuncError::new(format!(
                    "Cannot concat type {} as list",
                    kind_name(list)
                )));
            }
        }
    }
    list_of(out)
}

fn slice(args: &[Value]) -> FuncResult {
    let list = arg(args, 0);
    let items = items_or(list, "list should be type of slice or array but")?;
    if items.is_empty() {
        return Ok(Value::Nil);
    }
    let indices = &args[1.min(args.len())..];
    let start = indices.first().map_or(0, super::to_int64);
    let end = indices.get(1).map_or(items.len() as i64, super::to_int64);
    if start < 0 || end < start || end > items.len() as i64 {
        return Err(FuncError::new(
            "reflect.Value.Slice: slice index out of bounds",
        ));
    }
    let picked = items[start as usize..end as usize].to_vec();
    match list {
        Value::List(l) => Ok(Value::List(Rc::new(List {
            kind: l.kind,
            items: picked,
        }))),
        _ => list_of(picked),
    }
}

fn chunk(args: &[Value]) -> FuncResult {
    let size = arg_int(args, 0)?;
    let items = items_or(arg(args, 1), "Cannot chunk type")?;
    let l = items.len() as f64;
    let cs_f = ((l - 1.0) / size as f64).floor() + 1.0;
    let cs = super::cast::go_f64_to_i64(cs_f);
    if cs < 0 {
        return Err(FuncError::new("runtime error: makeslice: len out of range"));
    }
    let size = size as usize;
    let mut out = Vec::with_capacity(cs as usize);
    for i in 0..cs as usize {
        let mut clen = size;
        if i == cs as usize - 1 {
            clen = (l % size as f64).floor() as usize;
            if clen == 0 {
                clen = size;
            }
        }
        let start = i * size;
        let chunk: Vec<Value> = items
            .get(start..start + clen)
            .map(<[Value]>::to_vec)
            .ok_or_else(|| FuncError::new("reflect: slice index out of range"))?;
        out.push(Value::list(chunk));
    }
    list_of(out)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{call_str, s};
    use super::*;

    fn ints(v: &[i64]) -> Value {
        Value::list(v.iter().map(|i| Value::Int(*i)).collect())
    }

    #[test]
    fn list_functions() {
        assert_eq!(
            call_str("append", &[ints(&[1, 2]), Value::Int(3)]),
            "[1 2 3]"
        );
        assert_eq!(
            call_str("prepend", &[ints(&[1, 2]), Value::Int(0)]),
            "[0 1 2]"
        );
        assert_eq!(call_str("first", &[ints(&[])]), "<nil>");
        assert_eq!(call_str("rest", &[ints(&[1, 2, 3])]), "[2 3]");
        assert_eq!(call_str("initial", &[ints(&[1, 2, 3])]), "[1 2]");
        assert_eq!(call_str("uniq", &[ints(&[1, 1, 2])]), "[1 2]");
        assert_eq!(
            call_str("without", &[ints(&[1, 2, 3]), Value::Int(2)]),
            "[1 3]"
        );
        assert_eq!(call_str("has", &[Value::Int(2), ints(&[1, 2])]), "true");
        assert_eq!(
            call_str("has", &[Value::Float(2.0), ints(&[1, 2])]),
            "false"
        );
        assert_eq!(
            call_str("slice", &[ints(&[1, 2, 3]), Value::Int(1)]),
            "[2 3]"
        );
        assert_eq!(
            call_str("chunk", &[Value::Int(2), ints(&[1, 2, 3])]),
            "[[1 2] [3]]"
        );
        assert_eq!(
            call_str("first", &[s("x")]),
            "ERR: Cannot find first on type string"
        );
        assert_eq!(
            call_str("first", &[Value::Nil]),
            format!("ERR: {NIL_DEREF}")
        );
    }
}
