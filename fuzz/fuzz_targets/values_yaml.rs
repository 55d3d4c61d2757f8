//! Fuzzes values parsing (`values.yaml`, `-f`): any bytes must parse or
//! fail with an error, never panic, hang or overflow the stack.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rudder::godata::yaml;

fuzz_target!(|data: &[u8]| {
    let _ = yaml::parse_values_bytes(data);
    if let Ok(v) = yaml::parse_values(&String::from_utf8_lossy(data)) {
        let _ = yaml::to_yaml(&v);
        v.drop_deep();
    }
});
