//! Go's text/template builtin functions that do not need the executor:
//! comparisons (`eq`, `lt`, … with Go's basic-kind rules and error texts),
//! `len`, `index`, `slice`, and the escapers `html`, `js`, `urlquery`.
//! Arguments arrive as [`Rv`]s (Go `reflect.Value`s), so the builtins can
//! tell a nil interface from a missing value exactly as Go does.

use crate::godata::gofmt;
use crate::godata::value::{List, Value};
use std::rc::Rc;

/// A Go `reflect.Value` as the executor sees it.
#[derive(Clone, Debug)]
pub enum Rv {
    /// The zero `reflect.Value` (Go prints it as `<no value>`).
    Invalid,
    /// A value stored in an `interface{}` slot (map element, slice element);
    /// `Iface(Value::Nil)` is a nil interface.
    Iface(Value),
    /// A value of concrete type.
    Val(Value),
}

impl Rv {
    /// Go's `indirectInterface`: unwraps an interface.
    pub fn indirect(&self) -> Rv {
        match self {
            Rv::Iface(Value::Nil) => Rv::Invalid,
            Rv::Iface(v) => Rv::Val(v.clone()),
            other => other.clone(),
        }
    }

    /// The contained value; `Value::Nil` for invalid or nil.
    pub fn value(&self) -> Value {
        match self {
            Rv::Invalid => Value::Nil,
            Rv::Iface(v) | Rv::Val(v) => v.clone(),
        }
    }

    /// Go's `reflect.Value.Type().String()` (`interface {}` for interface slots).
    pub fn type_name(&self) -> String {
        match self {
            Rv::Invalid => "<nil>".into(),
            Rv::Iface(_) => "interface {}".into(),
            Rv::Val(v) => v.type_name().to_string(),
        }
    }

    pub fn is_valid(&self) -> bool {
        !matches!(self, Rv::Invalid | Rv::Val(Value::Nil))
    }

    /// Go's `truth`/`isTrue` of the indirected value.
    pub fn truth(&self) -> bool {
        match self.indirect() {
            Rv::Invalid => false,
            Rv::Iface(v) | Rv::Val(v) => v.truthy(),
        }
    }
}

/// What `range`, `index` and `len` see of a value: the map or slice behind
/// an object of a Go map/slice type with methods (`.Files`, `APIVersions`).
pub fn collection(v: Value) -> Value {
    match &v {
        Value::Object(o) => o.collection().unwrap_or(v),
        _ => v,
    }
}

/// An element of a slice or map of the given kind, as Go's reflect yields it.
pub fn elem(v: Value, iface: bool) -> Rv {
    if iface { Rv::Iface(v) } else { Rv::Val(v) }
}

#[derive(PartialEq, Clone, Copy)]
enum Kind {
    Invalid,
    Bool,
    Int,
    Float,
    String,
}

fn basic_kind(v: &Rv) -> Kind {
    match v {
        Rv::Val(Value::Bool(_)) => Kind::Bool,
        Rv::Val(Value::Int(_) | Value::Int64(_)) => Kind::Int,
        Rv::Val(Value::Float(_)) => Kind::Float,
        Rv::Val(Value::Str(_)) => Kind::String,
        _ => Kind::Invalid,
    }
}

const ERR_BAD_COMPARISON_TYPE: &str = "invalid type for comparison";

fn go_kind(v: &Rv) -> u8 {
    match v.value() {
        Value::Nil => 0,
        Value::Bool(_) => 1,
        Value::Int(_) => 2,
        Value::Int64(_) => 3,
        Value::Float(_) => 4,
        Value::Str(_) => 5,
        Value::Bytes(_) | Value::List(_) => 6,
        Value::Map(..) => 7,
        Value::Object(_) => 8,
    }
}

fn is_nil(v: &Rv) -> bool {
    matches!(v, Rv::Invalid | Rv::Val(Value::Nil) | Rv::Iface(Value::Nil))
}

/// Go's `eq arg1 arg2...`.
pub fn eq(arg1: &Rv, rest: &[Rv]) -> Result<bool, String> {
    let a1 = arg1.indirect();
    if rest.is_empty() {
        return Err("missing argument for comparison".into());
    }
    let k1 = basic_kind(&a1);
    for arg in rest {
        let a = arg.indirect();
        let k2 = basic_kind(&a);
        let truth = if k1 != k2 {
            if a1.is_valid() && a.is_valid() {
                return Err(format!(
                    "incompatible types for comparison: {} and {}",
                    a1.type_name(),
                    a.type_name()
                ));
            }
            false
        } else {
            match (k1, a1.value(), a.value()) {
                (Kind::Bool, Value::Bool(x), Value::Bool(y)) => x == y,
                (Kind::Float, Value::Float(x), Value::Float(y)) => x == y,
                (Kind::Int, Value::Int(x) | Value::Int64(x), Value::Int(y) | Value::Int64(y)) => {
                    x == y
                }
                (Kind::String, Value::Str(x), Value::Str(y)) => x == y,
                _ => {
                    let (v1, v2) = (a1.value(), a.value());
                    if go_kind(&a1) != go_kind(&a) && a1.is_valid() && a.is_valid() {
                        return Err(format!(
                            "non-comparable types {}: {}, {}: {}",
                            gofmt::sprintf("%s", std::slice::from_ref(&v1)),
                            a1.type_name(),
                            a.type_name(),
                            gofmt::format_value(&v2)
                        ));
                    }
                    if is_nil(&a1) || is_nil(&a) {
                        is_nil(&a) == is_nil(&a1)
                    } else {
                        match (&v1, &v2) {
                            (Value::Object(x), Value::Object(y)) => Rc::ptr_eq(x, y),
                            _ => {
                                return Err(format!(
                                    "non-comparable type {}: {}",
                                    gofmt::sprintf("%s", std::slice::from_ref(&v2)),
                                    a.type_name()
                                ));
                            }
                        }
                    }
                }
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Go's `lt arg1 arg2`.
pub fn lt(arg1: &Rv, arg2: &Rv) -> Result<bool, String> {
    let a1 = arg1.indirect();
    let k1 = basic_kind(&a1);
    if k1 == Kind::Invalid {
        return Err(ERR_BAD_COMPARISON_TYPE.into());
    }
    let a2 = arg2.indirect();
    let k2 = basic_kind(&a2);
    if k2 == Kind::Invalid {
        return Err(ERR_BAD_COMPARISON_TYPE.into());
    }
    if k1 != k2 {
        return Err(format!(
            "incompatible types for comparison: {} and {}",
            a1.type_name(),
            a2.type_name()
        ));
    }
    Ok(match (a1.value(), a2.value()) {
        (Value::Float(x), Value::Float(y)) => x < y,
        (Value::Int(x) | Value::Int64(x), Value::Int(y) | Value::Int64(y)) => x < y,
        (Value::Str(x), Value::Str(y)) => x < y,
        _ => return Err(ERR_BAD_COMPARISON_TYPE.into()),
    })
}

pub fn le(a: &Rv, b: &Rv) -> Result<bool, String> {
    if lt(a, b)? {
        return Ok(true);
    }
    eq(a, std::slice::from_ref(b))
}

pub fn gt(a: &Rv, b: &Rv) -> Result<bool, String> {
    Ok(!le(a, b)?)
}

pub fn ge(a: &Rv, b: &Rv) -> Result<bool, String> {
    Ok(!lt(a, b)?)
}

pub fn ne(a: &Rv, b: &Rv) -> Result<bool, String> {
    Ok(!eq(a, std::slice::from_ref(b))?)
}

/// Go's `len`.
pub fn length(item: &Rv) -> Result<Value, String> {
    let v = match item {
        Rv::Iface(Value::Nil) => return Err("len of nil pointer".into()),
        Rv::Invalid | Rv::Val(Value::Nil) => {
            return Err("reflect: call of reflect.Value.Type on zero Value".into());
        }
        Rv::Iface(v) | Rv::Val(v) => v,
    };
    let coll = match v {
        Value::Object(o) => o.collection(),
        _ => None,
    };
    let n = match coll.as_ref().unwrap_or(v) {
        Value::Str(s) => s.len(),
        Value::Bytes(b) => b.len(),
        Value::List(l) => l.items.len(),
        Value::Map(_, m) => m.borrow().len(),
        other => return Err(format!("len of type {}", other.type_name())),
    };
    Ok(Value::Int(n as i64))
}

fn index_arg(index: &Rv, cap: usize) -> Result<usize, String> {
    let x = match index.value() {
        Value::Int(i) | Value::Int64(i) => i,
        Value::Nil => return Err("cannot index slice/array with nil".into()),
        other => {
            return Err(format!(
                "cannot index slice/array with type {}",
                other.type_name()
            ));
        }
    };
    if x < 0 || x as u64 > cap as u64 {
        return Err(format!("index out of range: {x}"));
    }
    Ok(x as usize)
}

/// Go's `index item indexes...`.
pub fn index(item: &Rv, indexes: &[Rv]) -> Result<Rv, String> {
    let mut item = item.indirect();
    if !item.is_valid() {
        return Err("index of untyped nil".into());
    }
    for index in indexes {
        let index = index.indirect();
        if let Rv::Iface(Value::Nil) = item {
            return Err("index of nil pointer".into());
        }
        let v = match item.value() {
            Value::Object(o) => o.collection().unwrap_or(Value::Object(o)),
            other => other,
        };
        item = match &v {
            Value::Str(s) => {
                let x = index_arg(&index, s.len())?;
                match s.as_bytes().get(x) {
                    Some(&b) => Rv::Val(Value::Int(b as i64)),
                    None => return Err("reflect: string index out of range".into()),
                }
            }
            Value::Bytes(b) => {
                let x = index_arg(&index, b.len())?;
                match b.get(x) {
                    Some(&c) => Rv::Val(Value::Int(c as i64)),
                    None => return Err("reflect: slice index out of range".into()),
                }
            }
            Value::List(l) => {
                let x = index_arg(&index, l.items.len())?;
                match l.items.get(x) {
                    Some(e) => elem(e.clone(), l.kind.is_interface()),
                    None => return Err("reflect: slice index out of range".into()),
                }
            }
            Value::Map(kind, m) => {
                let key = match index.value() {
                    Value::Str(k) => k,
                    Value::Nil => return Err("value is nil; should be of type string".into()),
                    other => {
                        return Err(format!(
                            "value has type {}; should be string",
                            other.type_name()
                        ));
                    }
                };
                let iface = kind.is_interface();
                match m.borrow().get(&*key) {
                    Some(x) => elem(x.clone(), iface),
                    None if iface => Rv::Iface(Value::Nil),
                    None => Rv::Val(Value::str("")),
                }
            }
            other => return Err(format!("can't index item of type {}", other.type_name())),
        };
    }
    Ok(item)
}

/// Go's `slice item indexes...` (Sprig overrides it in Helm; kept for parity
/// with plain text/template).
pub fn slice(item: &Rv, indexes: &[Rv]) -> Result<Rv, String> {
    let item = item.indirect();
    if !item.is_valid() {
        return Err("slice of untyped nil".into());
    }
    if indexes.len() > 3 {
        return Err(format!("too many slice indexes: {}", indexes.len()));
    }
    let v = collection(item.value());
    let len = match &v {
        Value::Str(s) => {
            if indexes.len() == 3 {
                return Err("cannot 3-index slice a string".into());
            }
            s.len()
        }
        Value::List(l) => l.items.len(),
        Value::Bytes(b) => b.len(),
        other => return Err(format!("can't slice item of type {}", other.type_name())),
    };
    let mut idx = [0, len, len];
    for (i, index) in indexes.iter().enumerate() {
        idx[i] = index_arg(index, len)?;
    }
    if idx[0] > idx[1] {
        return Err(format!("invalid slice index: {} > {}", idx[0], idx[1]));
    }
    if indexes.len() == 3 && idx[1] > idx[2] {
        return Err(format!("invalid slice index: {} > {}", idx[1], idx[2]));
    }
    Ok(Rv::Val(match v {
        Value::Str(s) => {
            Value::str(String::from_utf8_lossy(&s.as_bytes()[idx[0]..idx[1]]).into_owned())
        }
        Value::List(l) => Value::List(Rc::new(List {
            kind: l.kind,
            items: l.items[idx[0]..idx[1]].to_vec(),
        })),
        Value::Bytes(b) => Value::Bytes(Rc::from(&b[idx[0]..idx[1]])),
        _ => Value::Nil,
    }))
}

/// Go's `evalArgs` for the escapers: a single string as is, otherwise
/// `fmt.Sprint` of the arguments with nil printed as `<no value>`.
pub fn eval_args(args: &[Value]) -> String {
    if let [Value::Str(s)] = args {
        return s.to_string();
    }
    let args: Vec<Value> = args
        .iter()
        .map(|a| {
            if a.is_nil() {
                Value::str("<no value>")
            } else {
                a.clone()
            }
        })
        .collect();
    gofmt::sprint(&args)
}

/// `template.HTMLEscapeString`.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\0' => out.push('\u{FFFD}'),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// `template.JSEscapeString`.
pub fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u00{:02X}", c as u32)),
            c if (c as u32) >= 0x80 && !gofmt::is_print(c) => {
                out.push_str(&format!("\\u{:04X}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// `url.QueryEscape`.
pub fn url_query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons_follow_go() {
        let i = |n| Rv::Val(Value::Int(n));
        let f = |x| Rv::Val(Value::Float(x));
        assert_eq!(
            eq(&i(1), &[f(1.0)]).unwrap_err(),
            "incompatible types for comparison: int and float64"
        );
        assert!(eq(&i(1), &[i(2), i(1)]).unwrap());
        assert!(eq(&Rv::Invalid, &[i(1)]).is_ok());
        assert_eq!(
            lt(&f(1.5), &i(2)).unwrap_err(),
            "incompatible types for comparison: float64 and int"
        );
        assert_eq!(
            lt(&Rv::Val(Value::Bool(true)), &Rv::Val(Value::Bool(false))).unwrap_err(),
            "invalid type for comparison"
        );
        assert!(ge(&i(2), &i(2)).unwrap());
    }

    #[test]
    fn escapers() {
        assert_eq!(
            html_escape("<a href='x'>&"),
            "&lt;a href=&#39;x&#39;&gt;&amp;"
        );
        assert_eq!(js_escape("a'b<=\n"), "a\\'b\\u003C\\u003D\\u000A");
        assert_eq!(url_query_escape("a b&c/d"), "a+b%26c%2Fd");
    }
}
