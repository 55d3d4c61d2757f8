//! Robustness of the Go-template engine on bad input, without nightly
//! tooling: every engine case template is mutated many times (truncated,
//! bytes dropped, template tokens spliced in) with a fixed-seed generator,
//! then parsed and executed. Each attempt must end in output or an error —
//! never a panic, a stack overflow or a hang (executions are step-bounded).
//! The `cargo fuzz` targets in `fuzz/` explore the same space further.

use std::path::Path;

use rudder::godata::value::{Map, Value};
use rudder::render::gotmpl::{FuncTable, TemplateSet};

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

const TOKENS: &[&str] = &[
    "{{", "}}", "{{-", "-}}", "(", ")", "|", "$", "$x", ":=", "=", ".", ".a", ".Values", "\"", "`",
    "'", "/*", "*/", "if", "else", "end", "range", "with", "define", "template", "block", "break",
    "continue", "nil", "true", "1", "-1", "0x", "1e", "'a'", "include", "tpl", "index", "len",
    "eq", "and", "or", "printf", "\"%d\"", "slice", ",", "\n", " ", "\\", "é",
];

fn mutate(rng: &mut Rng, s: &str) -> String {
    let mut b: Vec<u8> = s.as_bytes().to_vec();
    for _ in 0..=rng.below(4) {
        match rng.below(4) {
            0 if !b.is_empty() => {
                let at = rng.below(b.len());
                b.truncate(at);
            }
            1 if !b.is_empty() => {
                let at = rng.below(b.len());
                let n = 1 + rng.below(4);
                b.drain(at..(at + n).min(b.len()));
            }
            _ => {
                let at = rng.below(b.len() + 1);
                let t = TOKENS[rng.below(TOKENS.len())].as_bytes();
                b.splice(at..at, t.iter().copied());
            }
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

fn case_templates() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/engine");
    let mut out = vec![];
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    for f in files {
        let text = std::fs::read_to_string(f).unwrap();
        for block in text.split("\n=== ") {
            if let Some((_, t)) = block.split_once("--- template\n") {
                out.push(t.to_string());
            }
        }
    }
    out
}

fn run_one(text: &str) {
    let mut set = TemplateSet::with_funcs(FuncTable::from_specs(&[]));
    set.set_step_limit(Some(20_000));
    if set.parse("r/templates/t.yaml", text).is_err() {
        return;
    }
    let mut values = Map::new();
    values.insert(
        "a".into(),
        Value::list(vec![Value::Int(1), Value::Nil, Value::str("x")]),
    );
    let mut top = Map::new();
    top.insert("Values".into(), Value::map(values));
    let _ = set.execute("r/templates/t.yaml", &Value::map(top));
}

#[test]
fn mutated_templates_never_panic() {
    let seeds = case_templates();
    assert!(seeds.len() > 100, "case files not found");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for round in 0..60 {
        for s in &seeds {
            let m = mutate(&mut rng, s);
            let r = std::panic::catch_unwind(|| run_one(&m));
            assert!(r.is_ok(), "round {round}: engine panicked on {m:?}");
        }
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    // Include recursion: Helm's error after 1000 nested includes of one name.
    let mut set = TemplateSet::with_funcs(FuncTable::from_specs(&[]));
    set.parse(
        "r/templates/t.yaml",
        r#"{{ define "l" }}{{ include "l" . }}{{ end }}{{ include "l" . }}"#,
    )
    .unwrap();
    let err = set
        .execute("r/templates/t.yaml", &Value::empty_map())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "rendering template has a nested reference name: l: unable to execute template"
        ),
        "{err}"
    );
    // Unbounded tpl recursion (Helm's Go process dies of stack exhaustion):
    // a clean error.
    let mut set = TemplateSet::with_funcs(FuncTable::from_specs(&[]));
    set.parse("r/templates/t.yaml", "{{ tpl .a . }}").unwrap();
    let mut m = Map::new();
    m.insert("a".into(), Value::str("{{ tpl .a . }}"));
    let err = set
        .execute("r/templates/t.yaml", &Value::map(m))
        .unwrap_err()
        .to_string();
    assert!(err.contains("exceeded maximum tpl depth"), "{err}");
    // Deeply nested parentheses and ifs parse and run without overflowing.
    let deep = format!(
        "{}1{}",
        "{{ (".to_string() + &"(".repeat(3000),
        ")".repeat(3001) + " }}"
    );
    run_one(&deep);
    let ifs = format!(
        "{}x{}",
        "{{ if true }}".repeat(3000),
        "{{ end }}".repeat(3000)
    );
    let mut set = TemplateSet::with_funcs(FuncTable::from_specs(&[]));
    set.parse("r/templates/t.yaml", &ifs).unwrap();
    assert_eq!(
        set.execute("r/templates/t.yaml", &Value::empty_map())
            .unwrap(),
        "x"
    );
}
