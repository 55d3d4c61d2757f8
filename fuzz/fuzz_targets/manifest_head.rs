//! Fuzzes reading manifest heads. Built with debug assertions (cargo-fuzz's
//! default), `parse_head` checks the line scanner's answer against the full
//! YAML decoder for every document, so any disagreement is a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rudder::render::manifest;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for doc in manifest::split_manifests(&text) {
        let _ = manifest::parse_head(&doc);
    }
});
