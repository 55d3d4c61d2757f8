//! Fuzzes the chart loader past the gzip layer: the input is a tar stream,
//! gzipped by the harness, so the fuzzer explores tar headers, paths,
//! links, Chart.yaml/values.yaml parsing and subchart archives.
#![no_main]

use std::io::Write;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    if gz.write_all(data).is_err() {
        return;
    }
    let Ok(tgz) = gz.finish() else { return };
    let _ = rudder::chart::load::load_archive(&tgz);
});
