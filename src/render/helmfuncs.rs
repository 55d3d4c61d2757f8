//! Helm's own pure template functions (pkg/engine/funcs.go and the
//! `required`/`fail` closures of engine.go, Helm v4.1.4): `toYaml`,
//! `mustToYaml`, `toYamlPretty`, `fromYaml`, `fromYamlArray`, `toJson`,
//! `mustToJson`, `fromJson`, `fromJsonArray`, `toToml`, `fromToml`,
//! `required`, `fail`.
//!
//! The tolerant ones keep Helm's quirks: `toYaml`/`toJson` print "" on a
//! marshal error, `toToml` prints the error text, `fromYaml`/`fromJson`
//! return a map whose `Error` key holds the message, the `*Array` variants a
//! one-element list with it. `required` and `fail` return Helm's wrapped
//! message (`HELM_ERR_START…HELM_ERR_END`), which the engine unwraps into
//! Helm's `execution error at (file:line:col): …` exactly as Helm does.

use crate::render::funcs::{FuncError, FuncResult, FuncSpec, GoType as T};
use crate::render::sprig::{arg, arg_str, spec};
use crate::render::value::{Map, Value};
use crate::render::{json, toml, yaml};

/// Helm's delimiters around `required`/`fail` messages (engine.go).
pub const WARN_START: &str = "HELM_ERR_START";
/// See [`WARN_START`].
pub const WARN_END: &str = "HELM_ERR_END";

const A: T = T::Any;
const S: T = T::String;

static FUNCS: &[FuncSpec] = &[
    spec("toYaml", &[A], None, |a| {
        Ok(Value::str(
            yaml::to_yaml(arg(a, 0))
                .map(trim_newline)
                .unwrap_or_default(),
        ))
    }),
    spec("mustToYaml", &[A], None, |a| {
        let text = yaml::to_yaml(arg(a, 0)).map_err(|e| FuncError::new(e.to_string()))?;
        Ok(Value::str(trim_newline(text)))
    }),
    spec("toYamlPretty", &[A], None, |a| {
        Ok(Value::str(to_yaml_pretty(arg(a, 0))))
    }),
    spec("fromYaml", &[S], None, |a| {
        Ok(map_or_error(
            yaml::parse_map(arg_str(a, 0)?).map_err(|e| e.to_string()),
        ))
    }),
    spec("fromYamlArray", &[S], None, |a| {
        Ok(list_or_error(
            yaml::parse_list(arg_str(a, 0)?).map_err(|e| e.to_string()),
        ))
    }),
    spec("toJson", &[A], None, |a| {
        Ok(Value::str(json::to_json(arg(a, 0)).unwrap_or_default()))
    }),
    spec("mustToJson", &[A], None, |a| {
        Ok(Value::str(
            json::to_json(arg(a, 0)).map_err(|e| FuncError::new(e.to_string()))?,
        ))
    }),
    spec("fromJson", &[S], None, |a| {
        Ok(map_or_error(
            json::parse_map(arg_str(a, 0)?).map_err(|e| e.to_string()),
        ))
    }),
    spec("fromJsonArray", &[S], None, |a| {
        Ok(list_or_error(
            json::parse_list(arg_str(a, 0)?).map_err(|e| e.to_string()),
        ))
    }),
    spec("toToml", &[A], None, to_toml),
    spec("fromToml", &[S], None, |a| {
        Ok(crate::render::sprig::from_toml(arg_str(a, 0)?))
    }),
    spec("required", &[S, A], None, required),
    spec("fail", &[S], None, |a| {
        Err(FuncError::new(wrap(arg_str(a, 0)?)))
    }),
];

/// Helm's function table (these override Sprig's functions of the same name).
pub fn functions() -> &'static [FuncSpec] {
    FUNCS
}

/// Helm's `warnWrap`.
pub fn wrap(msg: &str) -> String {
    format!("{WARN_START}{msg}{WARN_END}")
}

fn trim_newline(text: String) -> String {
    match text.strip_suffix('\n') {
        Some(t) => t.to_string(),
        None => text,
    }
}

/// Helm's `toYamlPretty` (go-yaml v3, indent 2), built on the v2 emitter:
/// floats are marked before emitting and written as v3 writes them
/// (`strconv.FormatFloat(f, 'g', -1, 64)`: `1e+06`, `.inf`), folded
/// scalars are unfolded and block sequences indented under their keys.
/// Marshal errors print "" as Helm's does.
fn to_yaml_pretty(v: &Value) -> String {
    let mut floats = Vec::new();
    let marked = mark_floats(v, &mut floats);
    let Ok(text) = yaml::to_yaml(&marked) else {
        return String::new();
    };
    let mut text = trim_newline(indent_sequences(&unfold(&text)));
    for (i, f) in floats.iter().enumerate().rev() {
        let shown = match crate::render::gofmt::format_float(*f, 'g', -1).as_str() {
            "+Inf" => ".inf".to_string(),
            "-Inf" => "-.inf".to_string(),
            "NaN" => ".nan".to_string(),
            other => other.to_string(),
        };
        text = text.replace(&float_token(i), &shown);
    }
    text
}

fn float_token(i: usize) -> String {
    format!("\u{E000}f{i}\u{E000}")
}

/// A copy of `v` whose floats are placeholder strings (kept in `floats`).
fn mark_floats(v: &Value, floats: &mut Vec<f64>) -> Value {
    match v {
        Value::Float(f) => {
            floats.push(*f);
            Value::str(float_token(floats.len() - 1))
        }
        Value::List(l) => Value::List(std::rc::Rc::new(crate::render::value::List {
            kind: l.kind,
            items: l.items.iter().map(|x| mark_floats(x, floats)).collect(),
        })),
        Value::Map(kind, m) => {
            let copied: Map = m
                .borrow()
                .iter()
                .map(|(k, x)| (k.clone(), mark_floats(x, floats)))
                .collect();
            Value::Map(*kind, std::rc::Rc::new(std::cell::RefCell::new(copied)))
        }
        other => other.clone(),
    }
}

/// go-yaml v2 folds long plain and quoted scalars at 80 columns; go-yaml
/// v3's encoder (`toYamlPretty`) does not. Joins each folded continuation
/// line (indented exactly where the emitter puts it) back onto its scalar.
fn unfold(text: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut cont_col: Option<usize> = None;
    let mut scalar_base: Option<usize> = None;
    for line in text.lines() {
        let col = line.len() - line.trim_start_matches(' ').len();
        let body = &line[col..];
        if let Some(base) = scalar_base {
            if body.is_empty() || col > base {
                out.push(line.to_string());
                continue;
            }
            scalar_base = None;
        }
        let continues = cont_col == Some(col) && !body.is_empty();
        if let (true, Some(last)) = (continues, out.last_mut()) {
            let piece = body
                .strip_prefix('\\')
                .filter(|r| r.starts_with(' '))
                .unwrap_or(body);
            last.push(' ');
            last.push_str(piece);
            continue;
        }
        cont_col = scalar_continuation(col, body);
        if ["|", "|-", "|+", ">", ">-", ">+"]
            .iter()
            .any(|m| body.ends_with(m))
        {
            scalar_base = Some(col);
            cont_col = None;
        }
        out.push(line.to_string());
    }
    let mut joined = out.join("\n");
    if text.ends_with('\n') {
        joined.push('\n');
    }
    joined
}

/// The column where a folded scalar on this line would continue, if the
/// line ends in a scalar value.
fn scalar_continuation(col: usize, body: &str) -> Option<usize> {
    let mut p = col;
    let mut rest = body;
    while let Some(r) = rest.strip_prefix("- ") {
        p += 2;
        rest = r;
    }
    if rest.is_empty() || rest.ends_with(':') || rest == "-" {
        return None;
    }
    let key_end = match rest.as_bytes()[0] {
        b'"' => quoted_end(rest, '"'),
        b'\'' => quoted_end(rest, '\''),
        _ => rest.find(": "),
    };
    match key_end {
        Some(k) if rest[k..].starts_with(": ") => {
            let value = &rest[k + 2..];
            if value.is_empty() || value == "{}" || value == "[]" {
                None
            } else {
                Some(p + 2)
            }
        }
        _ => Some(p),
    }
}

/// The byte index just past a quoted scalar starting at 0.
fn quoted_end(s: &str, q: char) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 1;
    while i < b.len() {
        if q == '"' && b[i] == b'\\' {
            i += 2;
            continue;
        }
        if b[i] == q as u8 {
            if q == '\'' && b.get(i + 1) == Some(&b'\'') {
                i += 2;
                continue;
            }
            return Some(i + 1);
        }
        i += 1;
    }
    None
}

/// go-yaml v3 with `SetIndent(2)` (Helm's `toYamlPretty`) indents block
/// sequences under their mapping key, where go-yaml v2 (`toYaml`) writes
/// them at the key's own column: every block whose first line is a `- `
/// item at its key's column moves two columns right (cumulatively).
fn indent_sequences(text: &str) -> String {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut out = String::with_capacity(text.len() + 64);
    // Open blocks: (column of the owning key, extra columns inside it).
    let mut open: Vec<(usize, usize)> = Vec::new();
    let mut scalar_base: Option<usize> = None;
    for (i, line) in lines.iter().enumerate() {
        let content = line.trim_end_matches('\n');
        let col = content.len() - content.trim_start_matches(' ').len();
        let body = &content[col..];
        if let Some(base) = scalar_base {
            if body.is_empty() || col > base {
                let add = if body.is_empty() {
                    0
                } else {
                    open.last().map_or(0, |o| o.1)
                };
                out.push_str(&" ".repeat(add));
                out.push_str(line);
                continue;
            }
            scalar_base = None;
        }
        // A sequence block of a key at column k holds lines at column >= k
        // (items start at k); it ends at the first line left of that or at
        // a mapping key on column k.
        while let Some(&(k, _)) = open.last() {
            if col > k || (col == k && body.starts_with("- ")) {
                break;
            }
            open.pop();
        }
        let add = open.last().map_or(0, |o| o.1);
        out.push_str(&" ".repeat(add));
        out.push_str(line);
        let key_part = body.strip_prefix("- ").unwrap_or(body);
        if key_part.ends_with(':') {
            let key_col = if body.starts_with("- ") { col + 2 } else { col };
            let next = lines
                .get(i + 1)
                .map(|l| l.trim_end_matches('\n'))
                .unwrap_or("");
            let next_col = next.len() - next.trim_start_matches(' ').len();
            if next_col == key_col && next[next_col..].starts_with("- ") {
                open.push((key_col, add + 2));
            }
        }
        if ["|", "|-", "|+", ">", ">-", ">+"]
            .iter()
            .any(|m| body.ends_with(m))
        {
            scalar_base = Some(col);
        }
    }
    out
}

fn map_or_error(r: Result<Value, String>) -> Value {
    r.unwrap_or_else(|msg| {
        let mut m = Map::new();
        m.insert("Error".into(), Value::str(msg));
        Value::map(m)
    })
}

fn list_or_error(r: Result<Value, String>) -> Value {
    r.unwrap_or_else(|msg| Value::list(vec![Value::str(msg)]))
}

fn to_toml(args: &[Value]) -> FuncResult {
    match toml::to_toml(arg(args, 0)) {
        Ok(text) => Ok(Value::str(text)),
        Err(e @ toml::TomlError::Encode(_)) => Ok(Value::str(e.to_string())),
        Err(e @ toml::TomlError::Panic(_)) => Err(FuncError::new(e.to_string())),
    }
}

/// Helm's `required`: nil or "" fail with the wrapped message; anything
/// else passes through unchanged.
fn required(args: &[Value]) -> FuncResult {
    let warn = arg_str(args, 0)?;
    match arg(args, 1) {
        Value::Nil => Err(FuncError::new(wrap(warn))),
        Value::Str(s) if s.is_empty() => Err(FuncError::new(wrap(warn))),
        v => Ok(v.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str, args: &[Value]) -> FuncResult {
        let f = functions()
            .iter()
            .find(|f| f.name == name)
            .expect("function");
        (f.call)(args)
    }

    #[test]
    fn required_and_fail_wrap_messages_as_helm() {
        assert_eq!(
            call("required", &[Value::str("need x"), Value::Nil])
                .unwrap_err()
                .0,
            "HELM_ERR_STARTneed xHELM_ERR_END"
        );
        assert_eq!(
            call("required", &[Value::str("need x"), Value::str("")])
                .unwrap_err()
                .0,
            "HELM_ERR_STARTneed xHELM_ERR_END"
        );
        assert!(matches!(
            call("required", &[Value::str("m"), Value::Float(0.0)]),
            Ok(Value::Float(_))
        ));
        assert_eq!(
            call("fail", &[Value::str("boom")]).unwrap_err().0,
            "HELM_ERR_STARTboomHELM_ERR_END"
        );
    }

    #[test]
    fn tolerant_decoders_report_errors_in_band() {
        let m = call("fromJson", &[Value::str("{bad")]).unwrap();
        assert!(m.as_map().unwrap().borrow().contains_key("Error"));
        let l = call("fromYamlArray", &[Value::str("a: 1")]).unwrap();
        assert_eq!(l.as_list().unwrap().len(), 1);
    }

    #[test]
    fn pretty_yaml_unfolds_long_scalars() {
        let long = "x: aaaaaaaaaa bbbbbbbbbb\n  cccc\n- - dd ee\n    ff\n- k: v\n  k2: \"q q\n    \\ r\"\n";
        assert_eq!(
            unfold(long),
            "x: aaaaaaaaaa bbbbbbbbbb cccc\n- - dd ee ff\n- k: v\n  k2: \"q q  r\"\n"
        );
    }

    #[test]
    fn pretty_yaml_indents_sequences() {
        assert_eq!(
            indent_sequences("a:\n- 1\n- b: 2\n  c:\n  - x\nd: 1\n"),
            "a:\n  - 1\n  - b: 2\n    c:\n      - x\nd: 1\n"
        );
        assert_eq!(
            indent_sequences("b:\n  c:\n  - d: 1\n    e: 2\n"),
            "b:\n  c:\n    - d: 1\n      e: 2\n"
        );
    }
}
