//! Fuzzes the Go-template lexer and parser: any input must parse or fail
//! with an error, never panic or overflow the stack.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rudder::render::gotmpl::{FuncTable, TemplateSet};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut set = TemplateSet::with_funcs(FuncTable::standard());
    let _ = set.parse("fuzz/templates/t.yaml", &text);
});
