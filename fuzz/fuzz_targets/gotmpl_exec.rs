//! Fuzzes the Go-template executor: the input is a template and, after a
//! NUL byte, YAML values. Parsing and executing (builtins, include, tpl,
//! template, range, …) must succeed or fail with an error, never panic.
//! Only the engine's own functions are available (Sprig's `repeat` & co
//! could legitimately exhaust memory), and executions are step-bounded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rudder::render::gotmpl::{FuncTable, TemplateSet};
use rudder::render::value::{Map, Value};

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    let (text, values) = input.split_once('\0').unwrap_or((&input, ""));
    let values = rudder::render::yaml::parse_values(values).unwrap_or(Value::Nil);
    let mut set = TemplateSet::with_funcs(FuncTable::from_specs(&[]));
    set.set_step_limit(Some(100_000));
    if set.parse("fuzz/templates/t.yaml", text).is_err() {
        return;
    }
    let mut top = Map::new();
    top.insert("Values".into(), values);
    let _ = set.execute("fuzz/templates/t.yaml", &Value::map(top));
});
