//! Sprig's defaults and reflection functions: `default`, `empty`,
//! `coalesce`, `all`, `any`, `ternary`, `deepCopy`, `typeOf`, `typeIs`,
//! `typeIsLike`, `kindOf`, `kindIs`, `deepEqual` (Go's `reflect.DeepEqual`:
//! an `int` 1 never equals a `float64` 1).

use super::{arg, arg_bool, arg_str, kind_name, spec};
use crate::godata::value::Value;
use crate::render::funcs::{FuncError, FuncResult, FuncSpec, GoType as T};

const A: T = T::Any;
const S: T = T::String;

pub(super) const FUNCS: &[FuncSpec] = &[
    spec("default", &[A], Some(A), dfault),
    spec("empty", &[A], None, |a| Ok(Value::Bool(empty(arg(a, 0))))),
    spec("coalesce", &[], Some(A), |a| {
        Ok(a.iter().find(|v| !empty(v)).cloned().unwrap_or(Value::Nil))
    }),
    spec("all", &[], Some(A), |a| {
        Ok(Value::Bool(a.iter().all(|v| !empty(v))))
    }),
    spec("any", &[], Some(A), |a| {
        Ok(Value::Bool(a.iter().any(|v| !empty(v))))
    }),
    spec("ternary", &[A, A, T::Bool], None, |a| {
        Ok(if arg_bool(a, 2)? {
            arg(a, 0).clone()
        } else {
            arg(a, 1).clone()
        })
    }),
    spec("deepCopy", &[A], None, deep_copy),
    spec("mustDeepCopy", &[A], None, deep_copy),
    spec("typeOf", &[A], None, |a| {
        Ok(Value::str(arg(a, 0).type_name()))
    }),
    spec("typeIs", &[S, A], None, |a| {
        Ok(Value::Bool(arg_str(a, 0)? == arg(a, 1).type_name()))
    }),
    spec("typeIsLike", &[S, A], None, |a| {
        let (target, t) = (arg_str(a, 0)?, arg(a, 1).type_name());
        Ok(Value::Bool(target == t || format!("*{target}") == t))
    }),
    spec("kindOf", &[A], None, |a| {
        Ok(Value::str(kind_name(arg(a, 0))))
    }),
    spec("kindIs", &[S, A], None, |a| {
        Ok(Value::Bool(arg_str(a, 0)? == kind_name(arg(a, 1))))
    }),
    spec("deepEqual", &[A, A], None, |a| {
        Ok(Value::Bool(deep_equal(arg(a, 0), arg(a, 1))))
    }),
];

/// Sprig's `empty`: nil, false, 0, and empty strings, slices and maps;
/// structs never are.
pub(crate) fn empty(v: &Value) -> bool {
    match v {
        Value::Object(_) => false,
        other => !other.truthy(),
    }
}

/// copystructure.Copy: nil has no type to copy.
fn deep_copy(args: &[Value]) -> FuncResult {
    match arg(args, 0) {
        Value::Nil => Err(FuncError::new(
            "reflect: call of reflect.Value.Type on zero Value",
        )),
        v => Ok(v.deep_copy()),
    }
}

fn dfault(args: &[Value]) -> FuncResult {
    match args.get(1) {
        Some(given) if !empty(given) => Ok(given.clone()),
        _ => Ok(arg(args, 0).clone()),
    }
}

/// Go's `reflect.DeepEqual` on template values.
pub(crate) fn deep_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Nil, Value::Nil) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) | (Value::Int64(x), Value::Int64(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Bytes(x), Value::Bytes(y)) => x == y,
        (Value::List(x), Value::List(y)) => {
            x.kind == y.kind
                && x.items.len() == y.items.len()
                && x.items
                    .iter()
                    .zip(y.items.iter())
                    .all(|(p, q)| deep_equal(p, q))
        }
        (Value::Map(kx, x), Value::Map(ky, y)) => {
            if kx != ky {
                return false;
            }
            if std::rc::Rc::ptr_eq(x, y) {
                return true;
            }
            let (x, y) = (x.borrow(), y.borrow());
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| deep_equal(v, w)))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.type_name() == y.type_name() && x.format() == y.format()
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{call_str, s};
    use super::*;

    #[test]
    fn defaults_and_reflection() {
        assert_eq!(call_str("default", &[s("d"), Value::Float(0.0)]), "d");
        assert_eq!(call_str("default", &[s("d")]), "d");
        assert_eq!(call_str("default", &[s("d"), Value::Bool(true)]), "true");
        assert_eq!(call_str("coalesce", &[Value::Nil, s(""), s("x")]), "x");
        assert_eq!(call_str("kindOf", &[Value::list(vec![])]), "slice");
        assert_eq!(call_str("kindOf", &[Value::Nil]), "invalid");
        assert_eq!(call_str("typeOf", &[Value::Float(1.0)]), "float64");
        assert_eq!(
            call_str("typeIsLike", &[s("float64"), Value::Float(1.0)]),
            "true"
        );
        assert_eq!(
            call_str("deepEqual", &[Value::Int(1), Value::Float(1.0)]),
            "false"
        );
    }
}
