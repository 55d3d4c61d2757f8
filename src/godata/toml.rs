//! TOML output for `toToml`, as Helm's BurntSushi/toml (v1.6) encoder writes
//! it: plain keys first, then tables (`[a]`, `[[a]]`), each group sorted by
//! key, nested tables indented two spaces per level, nil values skipped,
//! mixed arrays inline, floats always with a decimal point or exponent.

use std::fmt::Write as _;

use super::json::format_float;
use super::value::{Map, Value};

/// An error from the TOML encoder, worded as BurntSushi/toml words it (Helm's
/// `toToml` prints this text in place of the output).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TomlError {
    /// The value cannot be encoded.
    #[error("toml: {0}")]
    Encode(String),
    /// A Go runtime panic the template engine reports as a call error.
    #[error("{0}")]
    Panic(String),
}

/// BurntSushi/toml `Encoder.Encode`.
pub fn to_toml(value: &Value) -> Result<String, TomlError> {
    let mut e = Encoder { out: String::new() };
    if value.is_nil() {
        return Err(TomlError::Panic(
            "reflect: call of reflect.Value.Type on zero Value".into(),
        ));
    }
    e.encode(&[], value)?;
    Ok(e.out)
}

/// The TOML type of a Go value, as `tomlTypeOfGo` classifies it.
#[derive(PartialEq, Eq, Clone, Copy)]
enum Kind {
    Nil,
    Table,
    ArrayOfTables,
    Other,
}

fn kind_of(v: &Value) -> Result<Kind, TomlError> {
    super::json::deep(|| kind_of_here(v))
}

fn kind_of_here(v: &Value) -> Result<Kind, TomlError> {
    Ok(match v {
        Value::Nil => Kind::Nil,
        Value::Map(..) => Kind::Table,
        Value::List(l) => {
            if l.items.is_empty() {
                return Ok(Kind::Other);
            }
            let mut all_tables = true;
            for item in &l.items {
                match kind_of(item)? {
                    Kind::Nil => {
                        return Err(TomlError::Encode(
                            "cannot encode array with nil element".into(),
                        ));
                    }
                    Kind::Table => {}
                    _ => all_tables = false,
                }
            }
            if all_tables {
                Kind::ArrayOfTables
            } else {
                Kind::Other
            }
        }
        Value::Object(o) => match o.json_value() {
            Some(v) => kind_of(&v)?,
            None => Kind::Other,
        },
        _ => Kind::Other,
    })
}

fn is_bare(k: &str) -> bool {
    !k.is_empty()
        && k.chars()
            .all(|r| r.is_ascii_alphanumeric() || r == '_' || r == '-')
}

/// `Key.maybeQuoted` for one key piece.
fn quoted_key(k: &str) -> String {
    if k.is_empty() {
        return "\"\"".into();
    }
    if is_bare(k) {
        k.to_string()
    } else {
        format!("\"{}\"", escape(k))
    }
}

/// `Key.String`: pieces joined with dots, quoted where needed.
fn key_string(key: &[String]) -> String {
    key.iter()
        .map(|k| quoted_key(k))
        .collect::<Vec<_>>()
        .join(".")
}

/// BurntSushi's `dblQuotedReplacer`.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

struct Encoder {
    out: String,
}

impl Encoder {
    fn newline(&mut self) {
        if !self.out.is_empty() {
            self.out.push('\n');
        }
    }

    fn indent(&mut self, key: &[String]) {
        for _ in 1..key.len() {
            self.out.push_str("  ");
        }
    }

    fn encode(&mut self, key: &[String], v: &Value) -> Result<(), TomlError> {
        super::json::deep(|| self.encode_here(key, v))
    }

    fn encode_here(&mut self, key: &[String], v: &Value) -> Result<(), TomlError> {
        match v {
            Value::Nil => Ok(()),
            Value::Map(_, m) => self.table(key, &m.borrow()),
            Value::List(l) if kind_of(v)? == Kind::ArrayOfTables => {
                self.array_of_tables(key, &l.items)
            }
            Value::Object(o) => match o.json_value() {
                Some(inner) => self.encode(key, &inner),
                None => Err(TomlError::Encode(format!(
                    "unsupported type: {}",
                    o.type_name()
                ))),
            },
            _ => self.key_value(key, v, false),
        }
    }

    fn table(&mut self, key: &[String], m: &Map) -> Result<(), TomlError> {
        if key.len() == 1 {
            self.newline();
        }
        if !key.is_empty() {
            self.indent(key);
            let _ = write!(self.out, "[{}]", key_string(key));
            self.newline();
        }
        self.map(key, m, false)
    }

    fn array_of_tables(&mut self, key: &[String], items: &[Value]) -> Result<(), TomlError> {
        if key.is_empty() {
            return Err(TomlError::Encode(
                "top-level values must be Go maps or structs".into(),
            ));
        }
        for item in items {
            let Some(m) = item.as_map() else { continue };
            self.newline();
            self.indent(key);
            let _ = write!(self.out, "[[{}]]", key_string(key));
            self.newline();
            self.map(key, &m.borrow(), false)?;
        }
        Ok(())
    }

    /// `eMap`: plain keys first, then tables, each group sorted.
    fn map(&mut self, key: &[String], m: &Map, inline: bool) -> Result<(), TomlError> {
        let mut direct = Vec::new();
        let mut sub = Vec::new();
        for (k, v) in m {
            match kind_of(v)? {
                Kind::Table | Kind::ArrayOfTables => sub.push((k, v)),
                _ => direct.push((k, v)),
            }
        }
        if inline {
            self.out.push('{');
        }
        let trail = !sub.is_empty();
        self.map_keys(key, &direct, inline, trail)?;
        self.map_keys(key, &sub, inline, false)?;
        if inline {
            self.out.push('}');
        }
        Ok(())
    }

    fn map_keys(
        &mut self,
        key: &[String],
        keys: &[(&String, &Value)],
        inline: bool,
        trail: bool,
    ) -> Result<(), TomlError> {
        for (i, (k, v)) in keys.iter().enumerate() {
            if v.is_nil() {
                continue;
            }
            if inline {
                self.key_value(&[(*k).clone()], v, true)?;
                if trail || i != keys.len() - 1 {
                    self.out.push_str(", ");
                }
            } else {
                let mut child = key.to_vec();
                child.push((*k).clone());
                self.encode(&child, v)?;
            }
        }
        Ok(())
    }

    fn key_value(&mut self, key: &[String], v: &Value, inline: bool) -> Result<(), TomlError> {
        let Some(last) = key.last() else {
            return self.element(v);
        };
        self.indent(key);
        let _ = write!(self.out, "{} = ", quoted_key(last));
        self.element(v)?;
        if !inline {
            self.newline();
        }
        Ok(())
    }

    fn element(&mut self, v: &Value) -> Result<(), TomlError> {
        super::json::deep(|| self.element_here(v))
    }

    fn element_here(&mut self, v: &Value) -> Result<(), TomlError> {
        match v {
            Value::Str(s) => {
                self.out.push('"');
                self.out.push_str(&escape(s));
                self.out.push('"');
            }
            Value::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) | Value::Int64(i) => {
                let _ = write!(self.out, "{i}");
            }
            Value::Float(f) => self.float(*f),
            Value::Bytes(b) => {
                let items: Vec<String> = b.iter().map(u8::to_string).collect();
                let _ = write!(self.out, "[{}]", items.join(", "));
            }
            Value::List(l) => {
                self.out.push('[');
                for (i, item) in l.items.iter().enumerate() {
                    self.element(item)?;
                    if i != l.items.len() - 1 {
                        self.out.push_str(", ");
                    }
                }
                self.out.push(']');
            }
            Value::Map(_, m) => self.map(&[], &m.borrow(), true)?,
            Value::Object(o) => match o.json_value() {
                Some(inner) => self.element(&inner)?,
                None => {
                    return Err(TomlError::Encode(format!(
                        "unexpected type: {}",
                        o.type_name()
                    )));
                }
            },
            Value::Nil => {
                return Err(TomlError::Panic(
                    "reflect: call of reflect.Value.Interface on zero Value".into(),
                ));
            }
        }
        Ok(())
    }

    fn float(&mut self, f: f64) {
        if f.is_nan() {
            if f.is_sign_negative() {
                self.out.push('-');
            }
            self.out.push_str("nan");
        } else if f.is_infinite() {
            if f.is_sign_negative() {
                self.out.push('-');
            }
            self.out.push_str("inf");
        } else {
            let s = format_float(f, 'g', 64);
            let needs_decimal = !s.contains(['e', '.']);
            self.out.push_str(&s);
            if needs_decimal {
                self.out.push_str(".0");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::godata::yaml::{parse_values, tests::helm_render};

    /// `{{ toToml .Values }}` through rudder and through helm.
    fn check(values: &str) {
        let expected = helm_render(values, "{{ toToml .Values }}");
        let expected = expected.expect("helm renders");
        let v = parse_values(values).expect("values parse");
        let got = to_toml(&v).unwrap_or_else(|e| e.to_string());
        assert_eq!(got, expected, "values:\n{values}");
    }

    #[test]
    fn tables_and_scalars_match_helm() {
        check(
            r#"
a: 1
b: 1.5
c: "str \"q\" \\ \t"
d: true
e: [1, "two", 3.5]
"key with space": x
"": empty
f:
  g: 1
  h:
    i: deep
    j: [a, b]
  k: z
list:
- name: one
  v: 1
- name: two
  sub:
    x: 1
mixed: [1, {a: 1}]
inline: [[1, 2], [3]]
nul: null
big: 1e21
zero: 0
"#,
        );
    }

    #[test]
    fn nested_tables_and_odd_keys_match_helm() {
        check(
            r#"
top:
  aot:
  - a: 1
    inner:
      b: 2
    deeper:
    - c: 3
  - a: 2
  empty: {}
  emptylist: []
  "dotted.key": 1
  "ключ": 2
  "tab\tkey": 3
floats: [1e6, 0.1, -0.0, 1e21, 123456789.0, 1.5e-7]
strs: ["a\u007fb", "\u00e9", "line\nbreak", "q\"q"]
z:
  y:
    x: {}
"#,
        );
    }

    #[test]
    fn nil_in_list_is_an_error_like_helm() {
        check("a: [1, null]\n");
    }
}
