//! Times parsing and executing every template of a chart directory with the
//! Go-template engine alone (no chart loading): `cargo run --release
//! --example engine_bench -- DIR [ROUNDS]`.

use std::path::Path;
use std::time::Instant;

use rudder::godata::value::Value;
use rudder::render::gotmpl::TemplateSet;

fn collect(dir: &Path, prefix: &str, out: &mut Vec<(String, String)>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let p = e.path();
        let name = format!("{prefix}/{}", e.file_name().to_string_lossy());
        if p.is_dir() {
            collect(&p, &name, out);
        } else if let Ok(text) = std::fs::read_to_string(&p) {
            out.push((name, text));
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = Path::new(&args[1]);
    let rounds: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(20);
    let mut files = vec![];
    collect(&dir.join("templates"), "c/templates", &mut files);
    let values = std::fs::read_to_string(dir.join("values.yaml")).unwrap_or_default();
    let values = rudder::godata::yaml::parse_values(&values).unwrap_or(Value::Nil);
    let t0 = Instant::now();
    let mut ok = 0;
    let mut bytes = 0;
    for _ in 0..rounds {
        let mut set = TemplateSet::new();
        for (n, t) in &files {
            let _ = set.parse(n, t);
        }
        let mut top = rudder::godata::value::Map::new();
        top.insert("Values".into(), values.deep_copy());
        let data = Value::map(top);
        for (n, _) in &files {
            if let Ok(s) = set.execute(n, &data) {
                ok += 1;
                bytes += s.len();
            }
        }
    }
    let el = t0.elapsed();
    println!(
        "{} files, {} ok executions, {} bytes, {:.3} ms per round",
        files.len(),
        ok / rounds,
        bytes / rounds,
        el.as_secs_f64() * 1000.0 / rounds as f64
    );
}
