//! Fuzzes the Go-template executor: the input is a template and, after a
//! NUL byte, `key=value` lines that become `.Values` (numbers are float64,
//! `true`/`false` bools, `null` nil, `a,b` lists, `k:v;…` maps, the rest
//! strings — no YAML parser involved, so only the engine is exercised).
//! Parsing and executing (builtins, include, tpl, template, range, …) must
//! succeed or fail with an error, never panic. Only the engine's own
//! functions are available (Sprig's `repeat` & co could legitimately
//! exhaust memory), and executions are step-bounded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rudder::render::gotmpl::{FuncTable, TemplateSet};
use rudder::godata::value::{Map, Value};

fn scalar(s: &str) -> Value {
    match s {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        "null" => Value::Nil,
        _ => s.parse::<f64>().map(Value::Float).unwrap_or_else(|_| Value::str(s)),
    }
}

fn value(s: &str) -> Value {
    if s.contains(';') || s.contains(':') {
        let mut m = Map::new();
        for part in s.split(';') {
            let (k, v) = part.split_once(':').unwrap_or((part, ""));
            m.insert(k.to_string(), scalar(v));
        }
        return Value::map(m);
    }
    if s.contains(',') {
        return Value::list(s.split(',').map(scalar).collect());
    }
    scalar(s)
}

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    let (text, values) = input.split_once('\0').unwrap_or((&input, ""));
    let mut vals = Map::new();
    for line in values.lines() {
        let (k, v) = line.split_once('=').unwrap_or((line, ""));
        vals.insert(k.to_string(), value(v));
    }
    let mut set = TemplateSet::with_funcs(FuncTable::from_specs(&[]));
    set.set_step_limit(Some(100_000));
    if set.parse("fuzz/templates/t.yaml", text).is_err() {
        return;
    }
    let mut top = Map::new();
    top.insert("Values".into(), Value::map(vals));
    let _ = set.execute("fuzz/templates/t.yaml", &Value::map(top));
});
