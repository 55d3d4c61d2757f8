//! Checks every function call recorded in `testdata/oracle.jsonl` against
//! the output the real helm v4.1.4 printed for it (`[expression, "ok"|"err",
//! text]`, produced by rendering `{{ expression }}` in a scratch chart; for
//! errors the text after `error calling NAME: `). A tiny evaluator handles
//! the expression forms used there (calls with literal arguments, nested
//! parenthesised calls, `.Field`/method access on results), converting
//! untyped constants as Go's template engine does.

use super::functions;
use crate::godata::gofmt::format_value;
use crate::godata::value::Value;
use crate::render::funcs::GoType;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Str(String),
    Int(i64),
    Float(f64),
    Ident(String),
    Field(String),
    Open,
    Close,
}

fn lex(s: &str) -> Vec<Tok> {
    let c: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < c.len() {
        match c[i] {
            ' ' | '\t' => i += 1,
            '(' => {
                out.push(Tok::Open);
                i += 1
            }
            ')' => {
                out.push(Tok::Close);
                i += 1
            }
            '"' => {
                let mut v = String::new();
                i += 1;
                while c[i] != '"' {
                    if c[i] == '\\' {
                        i += 1;
                        v.push(match c[i] {
                            'n' => '\n',
                            't' => '\t',
                            other => other,
                        });
                    } else {
                        v.push(c[i]);
                    }
                    i += 1;
                }
                i += 1;
                out.push(Tok::Str(v));
            }
            '.' => {
                let start = i + 1;
                i += 1;
                while i < c.len() && c[i].is_alphanumeric() {
                    i += 1;
                }
                out.push(Tok::Field(c[start..i].iter().collect()));
            }
            ch if ch == '-' || ch.is_ascii_digit() => {
                let start = i;
                i += 1;
                while i < c.len() && (c[i].is_ascii_alphanumeric() || c[i] == '.') {
                    i += 1;
                }
                let t: String = c[start..i].iter().collect();
                out.push(if t.contains('.') || t.contains('e') {
                    Tok::Float(t.parse().unwrap())
                } else {
                    Tok::Int(t.parse().unwrap())
                });
            }
            _ => {
                let start = i;
                while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                    i += 1;
                }
                out.push(Tok::Ident(c[start..i].iter().collect()));
            }
        }
    }
    out
}

/// An argument before conversion: a constant keeps Go's "untyped" status.
enum Arg {
    Const(Tok),
    Nil,
    Bool(bool),
    Val(Value),
}

struct P {
    t: Vec<Tok>,
    i: usize,
}

impl P {
    fn call(&mut self) -> Result<Value, String> {
        // A command: term [args...] where the first term may be a function.
        let head = self.t[self.i].clone();
        self.i += 1;
        let mut args = Vec::new();
        match head {
            Tok::Ident(name) if !matches!(name.as_str(), "nil" | "true" | "false") => {
                while self.i < self.t.len() && self.t[self.i] != Tok::Close {
                    args.push(self.arg()?);
                }
                invoke(&name, args)
            }
            Tok::Open => {
                self.i -= 1;
                let recv = match self.arg()? {
                    Arg::Val(v) => v,
                    _ => return Err("bad receiver".into()),
                };
                Ok(recv)
            }
            other => Err(format!("unexpected {other:?}")),
        }
    }

    fn arg(&mut self) -> Result<Arg, String> {
        let t = self.t[self.i].clone();
        self.i += 1;
        match t {
            Tok::Open => {
                let v = self.call()?;
                self.i += 1; // Close
                let mut v = v;
                while self.i < self.t.len() {
                    if let Tok::Field(f) = &self.t[self.i] {
                        let f = f.clone();
                        self.i += 1;
                        let Value::Object(o) = &v else {
                            return Err("field of non-object".into());
                        };
                        if o.method(&f).is_some() {
                            let mut margs = Vec::new();
                            while self.i < self.t.len() && self.t[self.i] != Tok::Close {
                                if let Arg::Val(x) = self.arg()? {
                                    margs.push(x);
                                }
                            }
                            v = o.call(&f, &margs)?;
                        } else {
                            v = o.field(&f).ok_or("no field")?;
                        }
                    } else {
                        break;
                    }
                }
                Ok(Arg::Val(v))
            }
            Tok::Ident(n) if n == "nil" => Ok(Arg::Nil),
            Tok::Ident(n) if n == "true" => Ok(Arg::Bool(true)),
            Tok::Ident(n) if n == "false" => Ok(Arg::Bool(false)),
            Tok::Ident(n) => Ok(Arg::Val(invoke(&n, Vec::new())?)),
            other => Ok(Arg::Const(other)),
        }
    }
}

fn convert(a: Arg, t: GoType) -> Result<Value, String> {
    Ok(match (a, t) {
        (Arg::Nil, _) => Value::Nil,
        (Arg::Bool(b), _) => Value::Bool(b),
        (Arg::Val(v), _) => v,
        (Arg::Const(Tok::Str(s)), _) => Value::str(s),
        (Arg::Const(Tok::Int(i)), GoType::Float64) => Value::Float(i as f64),
        (Arg::Const(Tok::Int(i)), GoType::Int64) => Value::Int64(i),
        (Arg::Const(Tok::Int(i)), _) => Value::Int(i),
        (Arg::Const(Tok::Float(f)), GoType::Int) => {
            if f.fract() != 0.0 {
                return Err("float to int".into());
            }
            Value::Int(f as i64)
        }
        (Arg::Const(Tok::Float(f)), _) => Value::Float(f),
        (Arg::Const(other), _) => return Err(format!("bad constant {other:?}")),
    })
}

fn invoke(name: &str, args: Vec<Arg>) -> Result<Value, String> {
    let f = functions()
        .iter()
        .chain(crate::render::helmfuncs::functions())
        .find(|f| f.name == name)
        .ok_or_else(|| format!("function {name:?} not defined"))?;
    let mut vals = Vec::new();
    for (i, a) in args.into_iter().enumerate() {
        let t = f
            .params
            .get(i)
            .copied()
            .or(f.variadic)
            .unwrap_or(GoType::Any);
        vals.push(convert(a, t)?);
    }
    (f.call)(&vals).map_err(|e| format!("CALL:{}", e.0))
}

fn eval(expr: &str) -> Result<String, String> {
    let mut p = P { t: lex(expr), i: 0 };
    let v = p.call()?;
    Ok(match v {
        Value::Nil => String::new(),
        other => format_value(&other),
    })
}

#[test]
fn functions_match_helm_outputs() {
    let data = include_str!("testdata/oracle.jsonl");
    let mut failures = Vec::new();
    let mut checked = 0;
    for line in data.lines() {
        let rec: (String, String, String) = serde_json::from_str(line).expect("oracle line");
        let (expr, kind, want) = rec;
        let got = eval(&expr);
        let ok = match (kind.as_str(), &got) {
            ("ok", Ok(out)) => out == &want,
            ("err", Err(e)) => match e.strip_prefix("CALL:") {
                // Helm's engine unwraps required/fail messages into
                // "execution error at (FILE:LINE:COL): MSG" (the engine's job).
                Some(m) => match m
                    .strip_prefix("HELM_ERR_START")
                    .and_then(|r| r.strip_suffix("HELM_ERR_END"))
                {
                    Some(inner) => {
                        want.starts_with("execution error at (")
                            && want.ends_with(&format!("): {inner}"))
                    }
                    None => m == want,
                },
                None => true,
            },
            _ => false,
        };
        checked += 1;
        if !ok {
            failures.push(format!(
                "{expr}\n    helm: {kind} {want:?}\n    ours: {got:?}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
