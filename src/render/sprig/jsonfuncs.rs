//! Sprig's JSON functions that Helm keeps (`toPrettyJson`, `toRawJson`,
//! `mustFromJson` and their `must*` twins; Helm replaces `toJson`,
//! `fromJson`, `mustToJson`): Go's `json.MarshalIndent(v, "", "  ")` and an
//! encoder with HTML escaping off, on top of [`crate::godata::json`].

use super::{arg, arg_str, spec};
use crate::godata::json;
use crate::godata::value::Value;
use crate::render::funcs::{FuncError, FuncSpec, GoType as T};

const A: T = T::Any;

pub(super) const FUNCS: &[FuncSpec] = &[
    spec("toPrettyJson", &[A], None, |a| {
        Ok(Value::str(
            json::to_json(arg(a, 0))
                .map(|t| indent(&t))
                .unwrap_or_default(),
        ))
    }),
    spec("mustToPrettyJson", &[A], None, |a| {
        Ok(Value::str(indent(&marshal(arg(a, 0))?)))
    }),
    spec("toRawJson", &[A], None, |a| {
        Ok(Value::str(unescape_html(&marshal(arg(a, 0))?)))
    }),
    spec("mustToRawJson", &[A], None, |a| {
        Ok(Value::str(unescape_html(&marshal(arg(a, 0))?)))
    }),
    spec("mustFromJson", &[T::String], None, |a| {
        json::parse(arg_str(a, 0)?).map_err(|e| FuncError::new(e.to_string()))
    }),
];

fn marshal(v: &Value) -> Result<String, FuncError> {
    json::to_json(v).map_err(|e| FuncError::new(e.to_string()))
}

/// Go's `json.Indent(dst, src, "", "  ")` of compact JSON.
fn indent(src: &str) -> String {
    let mut out = String::with_capacity(src.len() * 2);
    let mut depth = 0usize;
    let mut need_indent = false;
    let mut in_string = false;
    let mut escaped = false;
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        for _ in 0..depth {
            out.push_str("  ");
        }
    };
    for c in src.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
            continue;
        }
        if need_indent && c != ']' && c != '}' {
            need_indent = false;
            depth += 1;
            newline(&mut out, depth);
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                need_indent = true;
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            '}' | ']' => {
                if need_indent {
                    need_indent = false;
                } else {
                    depth = depth.saturating_sub(1);
                    newline(&mut out, depth);
                }
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// Undoes `encoding/json`'s HTML escaping (`\u003c`, `\u003e`, `\u0026`),
/// as an encoder with `SetEscapeHTML(false)` writes.
fn unescape_html(src: &str) -> String {
    let mut out = String::with_capacity(src.len());
    let mut rest = src;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let replaced = [("\\u003c", '<'), ("\\u003e", '>'), ("\\u0026", '&')]
            .iter()
            .find(|(pat, _)| tail.starts_with(pat));
        match replaced {
            Some((pat, ch)) => {
                out.push(*ch);
                rest = &tail[pat.len()..];
            }
            None => {
                let esc_len = tail.chars().nth(1).map_or(1, |c| 1 + c.len_utf8());
                out.push_str(&tail[..esc_len]);
                rest = &tail[esc_len..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_indent_and_raw() {
        assert_eq!(
            indent(r#"{"a":[1,2],"b":{},"c":[]}"#),
            "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": {},\n  \"c\": []\n}"
        );
        assert_eq!(
            unescape_html(r#""\u003cb\u003e \\u003c""#),
            r#""<b> \\u003c""#
        );
    }
}
