//! Helm's `--set`, `--set-string`, `--set-file`, `--set-json` and
//! `--set-literal` parsers (pkg/strvals):
//! `a.b[0]=x,c={1,2}` expressions applied to a values map, with Helm's
//! typing (`true`/`false`/`null`, integers as int64, everything else a
//! string), backslash escapes, list indexes and Helm's error messages.

use std::cell::RefCell;
use std::rc::Rc;

use crate::godata::value::{Map, MapKind, MapRef, Value};

/// Helm's limit on list indexes (`strvals.MaxIndex`).
const MAX_INDEX: i64 = 65536;
/// Helm's limit on dotted name nesting (`strvals.MaxNestedNameLevel`).
const MAX_NESTED_NAME_LEVEL: usize = 30;

/// An error parsing a `--set` expression, worded as Helm words it (the CLI
/// prefixes `failed parsing --set data: `).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StrvalsError {
    #[error("{0}")]
    Parse(String),
}

/// `strvals.ParseInto`: typed values (`true`, int64 numbers, `null`).
pub fn parse_set(expr: &str, into: &Value) -> Result<(), StrvalsError> {
    run(expr, into, &|rs: &str| Ok(typed_val(rs, false)))
}

/// `strvals.ParseIntoString`: every value a string.
pub fn parse_set_string(expr: &str, into: &Value) -> Result<(), StrvalsError> {
    run(expr, into, &|rs: &str| Ok(typed_val(rs, true)))
}

/// `strvals.ParseIntoFile`: each value is a path handed to `read` (Helm's
/// `--set-file` reads the file and stores its text).
pub fn parse_set_file(
    expr: &str,
    into: &Value,
    read: &dyn Fn(&str) -> Result<Value, String>,
) -> Result<(), StrvalsError> {
    run(expr, into, read)
}

/// `strvals.ParseJSON` (`--set-json KEY=JSON`): each value is one JSON
/// document (numbers float64). Helm reports any failure as `failed parsing
/// --set-json data EXPR`, so the error text here is only indicative.
pub fn parse_set_json(expr: &str, into: &Value) -> Result<(), StrvalsError> {
    let Some(map) = into.as_map() else {
        return Err(StrvalsError::Parse("values are not a map".into()));
    };
    let none: Reader<'_> = &|_: &str| Ok(Value::Nil);
    let mut p = Parser {
        chars: expr.chars().collect(),
        pos: 0,
        reader: none,
        json: true,
    };
    loop {
        match p.key(map, 0) {
            Ok(()) => {}
            Err(e) if e.is_eof() => return Ok(()),
            Err(e) => return Err(StrvalsError::Parse(e.message())),
        }
    }
}

/// `strvals.ParseLiteralInto` (`--set-literal KEY=VALUE`): the whole rest
/// of the expression after `=` is one string, nothing is escaped or split.
pub fn parse_set_literal(expr: &str, into: &Value) -> Result<(), StrvalsError> {
    let Some(map) = into.as_map() else {
        return Err(StrvalsError::Parse("values are not a map".into()));
    };
    let mut p = literal::LiteralParser {
        chars: expr.chars().collect(),
        pos: 0,
    };
    loop {
        match p.key(map, 0) {
            Ok(()) => {}
            Err(e) if e.is_eof() => return Ok(()),
            Err(e) => return Err(StrvalsError::Parse(e.message())),
        }
    }
}

/// `strvals.Parse`: a fresh map from one expression.
pub fn parse(expr: &str) -> Result<Value, StrvalsError> {
    let v = Value::empty_map();
    parse_set(expr, &v)?;
    Ok(v)
}

type Reader<'r> = &'r dyn Fn(&str) -> Result<Value, String>;

fn run(expr: &str, into: &Value, reader: Reader<'_>) -> Result<(), StrvalsError> {
    let Some(map) = into.as_map() else {
        return Err(StrvalsError::Parse("values are not a map".into()));
    };
    let mut p = Parser {
        chars: expr.chars().collect(),
        pos: 0,
        reader,
        json: false,
    };
    loop {
        match p.key(map, 0) {
            Ok(()) => {}
            Err(e) if e.is_eof() => return Ok(()),
            Err(e) => return Err(StrvalsError::Parse(e.message())),
        }
    }
}

/// A parse error; `eof` marks errors that wrap `io.EOF` (Helm's parse loop
/// treats those as the end of input).
struct PErr {
    msg: Option<String>,
    eof: bool,
}

impl PErr {
    fn eof() -> PErr {
        PErr {
            msg: None,
            eof: true,
        }
    }
    fn msg(m: impl Into<String>) -> PErr {
        PErr {
            msg: Some(m.into()),
            eof: false,
        }
    }
    fn wrap(self, prefix: &str) -> PErr {
        PErr {
            msg: Some(format!("{prefix}{}", self.message())),
            eof: self.eof,
        }
    }
    fn is_eof(&self) -> bool {
        self.eof
    }
    fn message(&self) -> String {
        self.msg.clone().unwrap_or_else(|| "EOF".into())
    }
}

/// The panic message of a failed Go type assertion.
fn conversion_panic(v: &Value, want: &str) -> PErr {
    let have = if v.is_nil() { "nil" } else { v.type_name() };
    PErr::msg(format!(
        "unable to parse key: interface conversion: interface {{}} is {have}, not {want}"
    ))
}

struct Parser<'r> {
    chars: Vec<char>,
    pos: usize,
    reader: Reader<'r>,
    /// `--set-json`: values are JSON documents.
    json: bool,
}

enum ValList {
    List(Vec<Value>),
    NotList,
}

impl Parser<'_> {
    fn read(&mut self) -> Option<char> {
        let c = self.chars.get(self.pos).copied();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    fn unread(&mut self) {
        self.pos = self.pos.saturating_sub(1);
    }

    /// Go's `runesUntil`: text up to a stop rune (backslash escapes the next
    /// rune); `Err` at end of input with what was read.
    fn until(&mut self, stop: &[char]) -> (String, Option<char>) {
        let mut v = String::new();
        loop {
            match self.read() {
                None => return (v, None),
                Some(c) if stop.contains(&c) => return (v, Some(c)),
                Some('\\') => match self.read() {
                    None => return (v, None),
                    Some(n) => v.push(n),
                },
                Some(c) => v.push(c),
            }
        }
    }

    fn key(&mut self, data: &MapRef, level: usize) -> Result<(), PErr> {
        let (k, last) = self.until(&['=', '[', ',', '.']);
        let Some(last) = last else {
            if k.is_empty() {
                return Err(PErr::eof());
            }
            return Err(PErr::msg(format!(
                "key {} has no value",
                crate::godata::gofmt::quote(&k)
            )));
        };
        match last {
            '[' => {
                let i = self
                    .key_index()
                    .map_err(|e| e.wrap("error parsing index: "))?;
                let existing = data.borrow().get(&k).cloned();
                let list = match existing {
                    None => Vec::new(),
                    Some(Value::List(l)) if l.kind.is_interface() => l.items.clone(),
                    Some(other) => return Err(conversion_panic(&other, "[]interface {}")),
                };
                let (list, err) = self.list_item(list, i, level);
                set(data, &k, Value::list(list));
                err.map_or(Ok(()), Err)
            }
            '=' if self.json => {
                let v = self.json_val()?;
                set(data, &k, v);
                self.empty_val().map(|_| ())
            }
            '=' => match self.val_list() {
                Ok(ValList::List(vl)) => {
                    set(data, &k, Value::list(vl));
                    Ok(())
                }
                Ok(ValList::NotList) => {
                    let rs = self.val();
                    let v = (self.reader)(&rs).map_err(PErr::msg)?;
                    set(data, &k, v);
                    Ok(())
                }
                Err(e) if e.is_eof() => {
                    set(data, &k, Value::str(""));
                    Err(e)
                }
                Err(e) => Err(e),
            },
            ',' => {
                set(data, &k, Value::str(""));
                Err(PErr::msg(format!(
                    "key {} has no value (cannot end with ,)",
                    crate::godata::gofmt::quote(&k)
                )))
            }
            _ => {
                let level = level + 1;
                if level > MAX_NESTED_NAME_LEVEL {
                    return Err(PErr::msg(format!(
                        "value name nested level is greater than maximum supported nested level of {MAX_NESTED_NAME_LEVEL}"
                    )));
                }
                let existing = data.borrow().get(&k).cloned();
                let inner = match existing {
                    None => Rc::new(RefCell::new(Map::new())),
                    Some(Value::Map(MapKind::Interface, m)) => m,
                    Some(other) => return Err(conversion_panic(&other, "map[string]interface {}")),
                };
                let e = self.key(&inner, level);
                let empty = inner.borrow().is_empty();
                if e.is_ok() && empty {
                    return Err(PErr::msg(format!(
                        "key map {} has no value",
                        crate::godata::gofmt::quote(&k)
                    )));
                }
                if !empty {
                    set(data, &k, Value::Map(MapKind::Interface, inner));
                }
                e
            }
        }
    }

    fn key_index(&mut self) -> Result<i64, PErr> {
        let (v, last) = self.until(&[']']);
        if last.is_none() {
            return Err(PErr::eof());
        }
        go_atoi(&v)
    }

    /// Go's `listItem`: returns the (possibly updated) list and an error.
    fn list_item(&mut self, list: Vec<Value>, i: i64, level: usize) -> (Vec<Value>, Option<PErr>) {
        if i < 0 {
            return (
                list,
                Some(PErr::msg(format!("negative {i} index not allowed"))),
            );
        }
        let (k, last) = self.until(&['[', '.', '=']);
        if !k.is_empty() {
            return (
                list,
                Some(PErr::msg(format!(
                    "unexpected data at end of array index: {}",
                    crate::godata::gofmt::quote(&k)
                ))),
            );
        }
        let Some(last) = last else {
            return (list, Some(PErr::eof()));
        };
        match last {
            '=' if self.json => match self.json_val() {
                Ok(v) => match set_index(list, i, v) {
                    (list, None) => match self.empty_val() {
                        Ok(_) => (list, None),
                        Err(e) => (list, Some(e)),
                    },
                    other => other,
                },
                Err(e) => (list, Some(e)),
            },
            '=' => match self.val_list() {
                Ok(ValList::List(vl)) => set_index(list, i, Value::list(vl)),
                Err(e) if e.is_eof() => set_index(list, i, Value::str("")),
                Err(e) => (list, Some(e)),
                Ok(ValList::NotList) => {
                    let rs = self.val();
                    match (self.reader)(&rs) {
                        Ok(v) => set_index(list, i, v),
                        Err(e) => (list, Some(PErr::msg(e))),
                    }
                }
            },
            '[' => {
                let next_i = match self.key_index() {
                    Ok(n) => n,
                    Err(e) => return (list, Some(e.wrap("error parsing index: "))),
                };
                let current = match list.get(i as usize) {
                    None | Some(Value::Nil) => Vec::new(),
                    Some(Value::List(l)) => l.items.clone(),
                    Some(other) => {
                        let e = conversion_panic(other, "[]interface {}");
                        return (list, Some(e));
                    }
                };
                let (list2, err) = self.list_item(current, next_i, level);
                if let Some(e) = err {
                    return (list, Some(e));
                }
                set_index(list, i, Value::list(list2))
            }
            _ => {
                let mut list = list;
                let inner = match list.get(i as usize) {
                    Some(Value::Map(MapKind::Interface, m)) => m.clone(),
                    Some(_) => {
                        let m = Rc::new(RefCell::new(Map::new()));
                        list[i as usize] = Value::Map(MapKind::Interface, m.clone());
                        m
                    }
                    None => Rc::new(RefCell::new(Map::new())),
                };
                if let Err(e) = self.key(&inner, level) {
                    return (list, Some(e));
                }
                set_index(list, i, Value::Map(MapKind::Interface, inner))
            }
        }
    }

    /// Go's `emptyVal`: skips spaces; true at the end of input or after a
    /// `,`, false (without consuming) before anything else.
    fn empty_val(&mut self) -> Result<bool, PErr> {
        loop {
            match self.read() {
                None | Some(',') => return Ok(true),
                Some(c) if c.is_whitespace() => {}
                Some(_) => {
                    self.unread();
                    return Ok(false);
                }
            }
        }
    }

    /// A JSON value for `--set-json` (an empty value is `null`).
    fn json_val(&mut self) -> Result<Value, PErr> {
        if self.empty_val()? {
            return Ok(Value::Nil);
        }
        let rest: String = self.chars[self.pos..].iter().collect();
        let (v, used) =
            crate::godata::json::parse_prefix(&rest).map_err(|e| PErr::msg(e.to_string()))?;
        self.pos += rest[..used].chars().count();
        Ok(v)
    }

    fn val(&mut self) -> String {
        self.until(&[',']).0
    }

    fn val_list(&mut self) -> Result<ValList, PErr> {
        let Some(r) = self.read() else {
            return Err(PErr::eof());
        };
        if r != '{' {
            self.unread();
            return Ok(ValList::NotList);
        }
        let mut list = Vec::new();
        loop {
            let (rs, last) = self.until(&[',', '}']);
            match last {
                None => return Err(PErr::msg("list must terminate with '}'")),
                Some('}') => {
                    if let Some(r) = self.read()
                        && r != ','
                    {
                        self.unread();
                    }
                    list.push((self.reader)(&rs).map_err(PErr::msg)?);
                    return Ok(ValList::List(list));
                }
                Some(_) => list.push((self.reader)(&rs).map_err(PErr::msg)?),
            }
        }
    }
}

mod literal {
    //! Helm's `literal_parser.go` (`--set-literal`).
    use super::*;

    pub(super) struct LiteralParser {
        pub(super) chars: Vec<char>,
        pub(super) pos: usize,
    }

    impl LiteralParser {
        /// Text up to a stop rune, no escapes; the stop rune is `None` at
        /// the end of input.
        fn until(&mut self, stop: &[char]) -> (String, Option<char>) {
            let mut v = String::new();
            while let Some(&c) = self.chars.get(self.pos) {
                self.pos += 1;
                if stop.contains(&c) {
                    return (v, Some(c));
                }
                v.push(c);
            }
            (v, None)
        }

        fn rest(&mut self) -> String {
            let v: String = self.chars[self.pos..].iter().collect();
            self.pos = self.chars.len();
            v
        }

        pub(super) fn key(&mut self, data: &MapRef, level: usize) -> Result<(), PErr> {
            let (k, last) = self.until(&['=', '[', '.']);
            let Some(last) = last else {
                if k.is_empty() {
                    return Err(PErr::eof());
                }
                return Err(PErr::msg(format!(
                    "key {} has no value",
                    crate::godata::gofmt::quote(&k)
                )));
            };
            match last {
                '=' => {
                    let v = self.rest();
                    set(data, &k, Value::str(v));
                    Ok(())
                }
                '.' => {
                    let level = level + 1;
                    if level > MAX_NESTED_NAME_LEVEL {
                        return Err(PErr::msg(format!(
                            "value name nested level is greater than maximum supported nested level of {MAX_NESTED_NAME_LEVEL}"
                        )));
                    }
                    let existing = data.borrow().get(&k).cloned();
                    let inner = match existing {
                        None => Rc::new(RefCell::new(Map::new())),
                        Some(Value::Map(MapKind::Interface, m)) => m,
                        Some(other) => {
                            return Err(conversion_panic(&other, "map[string]interface {}"));
                        }
                    };
                    let e = self.key(&inner, level);
                    let empty = inner.borrow().is_empty();
                    if e.is_ok() && empty {
                        return Err(PErr::msg(format!(
                            "key map {} has no value",
                            crate::godata::gofmt::quote(&k)
                        )));
                    }
                    if !empty {
                        set(data, &k, Value::Map(MapKind::Interface, inner));
                    }
                    e
                }
                _ => {
                    let i = self
                        .key_index()
                        .map_err(|e| e.wrap("error parsing index: "))?;
                    let existing = data.borrow().get(&k).cloned();
                    let list = match existing {
                        None => Vec::new(),
                        Some(Value::List(l)) if l.kind.is_interface() => l.items.clone(),
                        Some(other) => return Err(conversion_panic(&other, "[]interface {}")),
                    };
                    let (list, err) = self.list_item(list, i, level);
                    set(data, &k, Value::list(list));
                    err.map_or(Ok(()), Err)
                }
            }
        }

        fn key_index(&mut self) -> Result<i64, PErr> {
            let (v, last) = self.until(&[']']);
            if last.is_none() {
                return Err(PErr::eof());
            }
            go_atoi(&v)
        }

        fn list_item(
            &mut self,
            list: Vec<Value>,
            i: i64,
            level: usize,
        ) -> (Vec<Value>, Option<PErr>) {
            if i < 0 {
                return (
                    list,
                    Some(PErr::msg(format!("negative {i} index not allowed"))),
                );
            }
            let (k, last) = self.until(&['[', '.', '=']);
            if !k.is_empty() {
                return (
                    list,
                    Some(PErr::msg(format!(
                        "unexpected data at end of array index: {}",
                        crate::godata::gofmt::quote(&k)
                    ))),
                );
            }
            let Some(last) = last else {
                return (list, Some(PErr::eof()));
            };
            match last {
                '=' => {
                    let v = self.rest();
                    set_index(list, i, Value::str(v))
                }
                '.' => {
                    let mut list = list;
                    let inner = match list.get(i as usize) {
                        Some(Value::Map(MapKind::Interface, m)) => m.clone(),
                        Some(_) => {
                            let m = Rc::new(RefCell::new(Map::new()));
                            list[i as usize] = Value::Map(MapKind::Interface, m.clone());
                            m
                        }
                        None => Rc::new(RefCell::new(Map::new())),
                    };
                    if let Err(e) = self.key(&inner, level) {
                        return (list, Some(e));
                    }
                    set_index(list, i, Value::Map(MapKind::Interface, inner))
                }
                _ => {
                    let next_i = match self.key_index() {
                        Ok(n) => n,
                        Err(e) => return (list, Some(e.wrap("error parsing index: "))),
                    };
                    let current = match list.get(i as usize) {
                        None | Some(Value::Nil) => Vec::new(),
                        Some(Value::List(l)) => l.items.clone(),
                        Some(other) => {
                            let e = conversion_panic(other, "[]interface {}");
                            return (list, Some(e));
                        }
                    };
                    let (list2, err) = self.list_item(current, next_i, level);
                    if let Some(e) = err {
                        return (list, Some(e));
                    }
                    set_index(list, i, Value::list(list2))
                }
            }
        }
    }
}

fn set(data: &MapRef, key: &str, val: Value) {
    if key.is_empty() {
        return;
    }
    data.borrow_mut().insert(key.to_string(), val);
}

fn set_index(mut list: Vec<Value>, index: i64, val: Value) -> (Vec<Value>, Option<PErr>) {
    if index < 0 {
        return (
            list,
            Some(PErr::msg(format!("negative {index} index not allowed"))),
        );
    }
    if index > MAX_INDEX {
        return (
            list,
            Some(PErr::msg(format!(
                "index of {index} is greater than maximum supported index of {MAX_INDEX}"
            ))),
        );
    }
    let index = index as usize;
    if list.len() <= index {
        list.resize(index + 1, Value::Nil);
    }
    list[index] = val;
    (list, None)
}

/// Go's `strconv.Atoi` with its error wording.
fn go_atoi(s: &str) -> Result<i64, PErr> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PErr::msg(format!(
            "strconv.Atoi: parsing {}: invalid syntax",
            crate::godata::gofmt::quote(s)
        )));
    }
    s.parse::<i64>().map_err(|_| {
        PErr::msg(format!(
            "strconv.Atoi: parsing {}: value out of range",
            crate::godata::gofmt::quote(s)
        ))
    })
}

/// Helm's `typedVal`: `true`/`false`/`null` (any case), `0`, and integers
/// not starting with `0` become bool/nil/int64; the rest stays a string.
fn typed_val(v: &str, string_only: bool) -> Value {
    if string_only {
        return Value::str(v);
    }
    if v.eq_ignore_ascii_case("true") {
        return Value::Bool(true);
    }
    if v.eq_ignore_ascii_case("false") {
        return Value::Bool(false);
    }
    if v.eq_ignore_ascii_case("null") {
        return Value::Nil;
    }
    if v == "0" {
        return Value::Int64(0);
    }
    if !v.is_empty() && !v.starts_with('0') {
        let body = v.strip_prefix(['+', '-']).unwrap_or(v);
        if !body.is_empty()
            && body.bytes().all(|b| b.is_ascii_digit())
            && let Ok(i) = v.parse::<i64>()
        {
            return Value::Int64(i);
        }
    }
    Value::str(v)
}

#[cfg(test)]
mod tests {

    /// `--set` parsers never panic on arbitrary text (random pieces of the
    /// syntax glued together).
    #[test]
    fn random_set_lines_do_not_panic() {
        const PIECES: &[&str] = &[
            "a", "b.c", "=", ",", "[0]", "[", "]", "\\", "\"", "{", "}", ":", "null", "1", "-1.5",
            " ", "\n", "é", "[999999]", "..", "\\,",
        ];
        let mut next = crate::godata::xorshift(0x2545_f491_4f6c_dd1d);
        for _ in 0..20_000 {
            let len = next(20);
            let s: String = (0..len).map(|_| PIECES[next(PIECES.len())]).collect();
            let v = crate::godata::value::Value::empty_map();
            let _ = parse_set(&s, &v);
            let _ = parse_set_json(&s, &v);
            let _ = parse_set_literal(&s, &v);
        }
    }

    use super::*;
    use crate::godata::json::to_json;

    fn set_json(expr: &str) -> Result<String, String> {
        let v = Value::empty_map();
        parse_set(expr, &v).map_err(|e| e.to_string())?;
        to_json(&v).map_err(|e| e.to_string())
    }

    // Expected strings below were produced by helm v4.1.4:
    // `helm template x CHART --set EXPR` with the template `{{ .Values | toJson }}`.

    #[test]
    fn typed_values_match_helm() {
        assert_eq!(
            set_json("a=1,b=true,c=null,d=0123,e=abc,f=-5,g=0,h=1e3,i=+5,j=TRUE,k={},l=9223372036854775808").unwrap(),
            r#"{"a":1,"b":true,"c":null,"d":"0123","e":"abc","f":-5,"g":0,"h":"1e3","i":5,"j":true,"k":[""],"l":"9223372036854775808"}"#
        );
        assert_eq!(set_json("a[1").unwrap(), "{}");
        assert_eq!(set_json("x[0][1]=5").unwrap(), r#"{"x":[[null,5]]}"#);
    }

    #[test]
    fn typed_values() {
        let v = parse("a=1,b=true,c=null,d=0123,e=abc,f=-5,g=0").unwrap();
        let m = v.as_map().unwrap().borrow();
        assert!(matches!(m["a"], Value::Int64(1)));
        assert!(matches!(m["b"], Value::Bool(true)));
        assert!(m["c"].is_nil());
        assert_eq!(m["d"].as_str(), Some("0123"));
        assert!(matches!(m["f"], Value::Int64(-5)));
        assert!(matches!(m["g"], Value::Int64(0)));
    }

    #[test]
    fn lists_indexes_and_escapes() {
        assert_eq!(
            set_json("a={x,y},b[1]=z").unwrap(),
            r#"{"a":["x","y"],"b":[null,"z"]}"#
        );
        assert_eq!(set_json(r"a\.b=c\,d").unwrap(), r#"{"a.b":"c,d"}"#);
        assert_eq!(
            set_json("a.b.c=1,a.d=2").unwrap(),
            r#"{"a":{"b":{"c":1},"d":2}}"#
        );
        assert_eq!(
            set_json("a[0].b=1,a[0].c=2").unwrap(),
            r#"{"a":[{"b":1,"c":2}]}"#
        );
        assert_eq!(set_json("a=").unwrap(), r#"{"a":""}"#);
    }

    #[test]
    fn errors_worded_like_helm() {
        assert_eq!(set_json("a").unwrap_err(), r#"key "a" has no value"#);
        assert_eq!(
            set_json("a,b=1").unwrap_err(),
            r#"key "a" has no value (cannot end with ,)"#
        );
        assert_eq!(
            set_json("a={x,y").unwrap_err(),
            "list must terminate with '}'"
        );
        assert_eq!(
            set_json("a[x]=1").unwrap_err(),
            r#"error parsing index: strconv.Atoi: parsing "x": invalid syntax"#
        );
        assert_eq!(
            set_json("a=1,a[0]=2").unwrap_err(),
            "unable to parse key: interface conversion: interface {} is int64, not []interface {}"
        );
        assert_eq!(
            set_json("a.b=1,a.b.c=2").unwrap_err(),
            "unable to parse key: interface conversion: interface {} is int64, not map[string]interface {}"
        );
        assert_eq!(set_json("a.b").unwrap_err(), r#"key "b" has no value"#);
        assert_eq!(
            set_json("a[-1]=x").unwrap_err(),
            "negative -1 index not allowed"
        );
        assert_eq!(
            set_json("a[70000]=x").unwrap_err(),
            "index of 70000 is greater than maximum supported index of 65536"
        );
    }

    fn json_set(expr: &str) -> Result<String, String> {
        let v = Value::empty_map();
        parse_set_json(expr, &v).map_err(|e| e.to_string())?;
        to_json(&v).map_err(|e| e.to_string())
    }

    fn literal_set(expr: &str) -> Result<String, String> {
        let v = Value::empty_map();
        parse_set_literal(expr, &v).map_err(|e| e.to_string())?;
        to_json(&v).map_err(|e| e.to_string())
    }

    // Expected values: helm v4.1.4 `--set-json` / `--set-literal` runs with
    // the template `{{ .Values | toJson }}`.
    #[test]
    fn set_json_matches_helm() {
        assert_eq!(json_set("a=1").unwrap(), r#"{"a":1}"#);
        assert_eq!(
            json_set(r#"a={"b":[1,2]},c=true"#).unwrap(),
            r#"{"a":{"b":[1,2]},"c":true}"#
        );
        assert_eq!(
            json_set(r#"a[0]={"x":1},a[1]=null"#).unwrap(),
            r#"{"a":[{"x":1},null]}"#
        );
        assert_eq!(json_set("a=").unwrap(), r#"{"a":null}"#);
        assert_eq!(json_set("a= ,b=2").unwrap(), r#"{"a":null,"b":2}"#);
        assert_eq!(json_set("x.y=1e3").unwrap(), r#"{"x":{"y":1000}}"#);
        assert!(json_set(r#"a="s"x"#).is_err());
        assert!(json_set("a=[1,2").is_err());
    }

    #[test]
    fn set_literal_matches_helm() {
        assert_eq!(literal_set("a=1,b=2").unwrap(), r#"{"a":"1,b=2"}"#);
        assert_eq!(literal_set("a.b=x=y").unwrap(), r#"{"a":{"b":"x=y"}}"#);
        assert_eq!(literal_set("a[1]=q").unwrap(), r#"{"a":[null,"q"]}"#);
        assert_eq!(literal_set(r"a\.b=1").unwrap(), r#"{"a\\":{"b":"1"}}"#);
        assert_eq!(literal_set("a").unwrap_err(), r#"key "a" has no value"#);
    }
}
