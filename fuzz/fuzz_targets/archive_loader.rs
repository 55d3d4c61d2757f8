//! Fuzzes the chart archive loader with arbitrary bytes as a `.tgz`: it
//! must return a chart or an error, never panic or hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = rudder::chart::load::load_archive(data);
});
