//! Bad input never panics or hangs and always ends in a clear error naming
//! the offending file: hostile chart archives (`../`, absolute paths,
//! size bombs), and broken charts (template syntax
//! error, missing required value, schema violation, unknown function,
//! include recursion). Where helm has an equivalent, rudder's message is
//! compared with the real helm's (live, `helm` on PATH).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

mod fixture;

use fixture::{helm, rudder};

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A raw ustar entry (lets tests write names the `tar` crate refuses).
fn tar_entry(out: &mut Vec<u8>, name: &str, kind: u8, link: &str, data: &[u8]) {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..107].copy_from_slice(b"0000644");
    h[108..115].copy_from_slice(b"0000000");
    h[116..123].copy_from_slice(b"0000000");
    h[124..135].copy_from_slice(format!("{:011o}", data.len()).as_bytes());
    h[136..147].copy_from_slice(b"00000000000");
    h[156] = kind;
    h[157..157 + link.len()].copy_from_slice(link.as_bytes());
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|b| *b as u32).sum();
    h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    out.extend_from_slice(&h);
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
}

fn tgz(entries: &[(&str, u8, &str, Vec<u8>)]) -> Vec<u8> {
    let mut tar = Vec::new();
    for (name, kind, link, data) in entries {
        tar_entry(&mut tar, name, *kind, link, data);
    }
    tar.extend_from_slice(&[0u8; 1024]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).expect("gzip");
    gz.finish().expect("gzip")
}

const CHART_YAML: &[u8] = b"apiVersion: v2\nname: bad\nversion: 0.1.0\n";

fn file(name: &str, data: &[u8]) -> (&'static str, u8, &'static str, Vec<u8>) {
    (
        Box::leak(name.to_string().into_boxed_str()),
        b'0',
        "",
        data.to_vec(),
    )
}

/// Runs rudder on an archive; it must fail quickly with `want` in stderr.
fn archive_fails(dir: &Path, name: &str, data: &[u8], want: &[&str]) {
    let path = dir.join(name);
    std::fs::write(&path, data).expect("write archive");
    let start = Instant::now();
    let out = rudder(&["template", "r", path.to_str().expect("utf8")], dir);
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{name}: took too long"
    );
    assert!(!out.status.success(), "{name}: rudder accepted the archive");
    let err = stderr(&out);
    assert!(err.starts_with("Error: "), "{name}: {err}");
    assert!(!err.contains("panicked"), "{name}: {err}");
    for w in want {
        assert!(err.contains(w), "{name}: expected {w:?} in {err:?}");
    }
}

#[test]
fn hostile_archives_are_rejected_naming_the_entry() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = tmp.path();
    archive_fails(
        d,
        "dotdot.tgz",
        &tgz(&[
            file("bad/Chart.yaml", CHART_YAML),
            file("bad/../../etc/evil", b"x"),
        ]),
        &[
            "chart illegally references parent directory",
            "bad/../../etc/evil",
        ],
    );
    archive_fails(
        d,
        "abs.tgz",
        &tgz(&[
            file("bad/Chart.yaml", CHART_YAML),
            file("bad//etc/evil", b"x"),
        ]),
        &["chart illegally contains absolute paths", "bad//etc/evil"],
    );
    archive_fails(
        d,
        "notgz.tgz",
        b"just text",
        &["does not appear to be a gzipped archive", "notgz.tgz"],
    );
}

#[test]
fn helm_wording_for_parent_directory_entries() {
    let tmp = tempfile::tempdir().expect("tmp");
    let path = tmp.path().join("dotdot.tgz");
    std::fs::write(
        &path,
        tgz(&[
            file("bad/Chart.yaml", CHART_YAML),
            file("bad/../../etc/evil", b"x"),
        ]),
    )
    .expect("write");
    let h = helm(&["template", "r", path.to_str().expect("utf8")], tmp.path());
    let r = rudder(&["template", "r", path.to_str().expect("utf8")], tmp.path());
    // Helm only says "unable to load chart archive"; rudder says that, then why.
    let helm_msg = stderr(&h).trim().to_string();
    assert_eq!(helm_msg, "Error: unable to load chart archive");
    let ours = stderr(&r);
    assert!(
        ours.trim().starts_with(&format!(
            "{helm_msg}: chart illegally references parent directory"
        )),
        "rudder: {ours}"
    );
}

#[test]
fn size_limits_hold() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = tmp.path();
    // Unpacked bomb: 21 files of 5 MiB zeros (~105 MiB) in a tiny archive.
    let zeros = vec![0u8; 5 * 1024 * 1024];
    let mut entries = vec![file("bad/Chart.yaml", CHART_YAML)];
    for i in 0..21 {
        entries.push(file(&format!("bad/files/z{i}"), &zeros));
    }
    archive_fails(
        d,
        "bomb.tgz",
        &tgz(&entries),
        &["decompressed chart is larger than the maximum size"],
    );
    // One file over the per-file limit.
    let big = vec![0u8; 6 * 1024 * 1024];
    archive_fails(
        d,
        "bigfile.tgz",
        &tgz(&[
            file("bad/Chart.yaml", CHART_YAML),
            file("bad/files/big", &big),
        ]),
        &["is larger than the maximum file size", "bad/files/big"],
    );
    // Packed size over 20 MiB (incompressible bytes).
    let mut noise = Vec::with_capacity(21 * 1024 * 1024);
    let mut x: u64 = 0x9E3779B97F4A7C15;
    while noise.len() < 21 * 1024 * 1024 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        noise.extend_from_slice(&x.to_le_bytes());
    }
    archive_fails(
        d,
        "packed.tgz",
        &noise,
        &["packed.tgz", "is larger than the maximum size"],
    );
}

/// A chart directory `c` in a fresh temporary directory: its Chart.yaml
/// and the given (empty) subdirectories. Commands run in the temporary
/// directory and name the chart `c`.
fn chart_dir(chart_yaml: &[u8], subdirs: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("tmp");
    let c = tmp.path().join("c");
    std::fs::create_dir_all(&c).expect("mkdir");
    for d in subdirs {
        std::fs::create_dir_all(c.join(d)).expect("mkdir");
    }
    std::fs::write(c.join("Chart.yaml"), chart_yaml).expect("write");
    (tmp, c)
}

/// A chart with one template (and optional values/schema), rendered by
/// both; rudder must fail exactly as helm does.
fn same_error_as_helm(name: &str, template: &str, values: &str, schema: Option<&str>) {
    let (tmp, c) = chart_dir(b"apiVersion: v2\nname: c\nversion: 0.1.0\n", &["templates"]);
    std::fs::write(c.join("values.yaml"), values).expect("write");
    std::fs::write(c.join("templates/t.yaml"), template).expect("write");
    if let Some(s) = schema {
        std::fs::write(c.join("values.schema.json"), s).expect("write");
    }
    let h = helm(&["template", "r", "c"], tmp.path());
    assert!(!h.status.success(), "{name}: helm succeeded");
    let start = Instant::now();
    let r = rudder(&["template", "r", "c"], tmp.path());
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{name}: rudder took too long"
    );
    assert!(!r.status.success(), "{name}: rudder succeeded");
    let (ours, theirs) = (stderr(&r), stderr(&h));
    if ours != theirs {
        let at = ours
            .bytes()
            .zip(theirs.bytes())
            .position(|(a, b)| a != b)
            .unwrap_or(ours.len().min(theirs.len()));
        let show = |s: &str| {
            s.chars()
                .skip(at.saturating_sub(100))
                .take(300)
                .collect::<String>()
        };
        panic!(
            "{name}: error differs from helm's at byte {at} (lengths {} vs {}):\n  helm:   {}\n  rudder: {}",
            theirs.len(),
            ours.len(),
            show(&theirs),
            show(&ours)
        );
    }
}

#[test]
fn template_syntax_error() {
    same_error_as_helm("syntax", "a: {{ .Values.x \n", "", None);
}

#[test]
fn missing_required_value() {
    same_error_as_helm(
        "required",
        "a: {{ required \"x is required\" .Values.x }}\n",
        "",
        None,
    );
}

#[test]
fn unknown_function() {
    same_error_as_helm("unknown function", "a: {{ nosuchfunc 1 }}\n", "", None);
}

#[test]
fn include_recursion() {
    same_error_as_helm(
        "recursion",
        "{{ define \"loop\" }}{{ include \"loop\" . }}{{ end }}a: {{ include \"loop\" . }}\n",
        "",
        None,
    );
}

#[test]
fn schema_violation() {
    same_error_as_helm(
        "schema",
        "a: 1\n",
        "port: x\n",
        Some(r#"{"type":"object","required":["name"],"properties":{"port":{"type":"integer"}}}"#),
    );
}

#[test]
fn oversized_or_irregular_file_in_a_chart_directory_is_rejected() {
    let (tmp, c) = chart_dir(CHART_YAML, &["files"]);
    std::fs::write(c.join("files/big"), vec![b'x'; 5 * 1024 * 1024 + 1]).expect("write");
    let out = rudder(&["template", "r", "c"], tmp.path());
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("\"big\" is larger than the maximum file size"),
        "{err}"
    );

    // Exactly at the limit is fine; a FIFO is refused without being opened
    // (opening it would block).
    std::fs::write(c.join("files/big"), vec![b'x'; 5 * 1024 * 1024]).expect("write");
    let out = rudder(&["template", "r", "c"], tmp.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let made = std::process::Command::new("mkfifo")
        .arg(c.join("files/pipe"))
        .status()
        .expect("mkfifo");
    assert!(made.success());
    let out = rudder(&["template", "r", "c"], tmp.path());
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("cannot load irregular file") && err.contains("pipe"),
        "{err}"
    );
}

#[test]
fn symlinks_inside_a_chart_directory_are_followed() {
    let (tmp, c) = chart_dir(CHART_YAML, &["real", "templates"]);
    std::fs::write(c.join("real/a.txt"), "from a link").expect("write");
    std::os::unix::fs::symlink("real", c.join("files")).expect("dir symlink");
    std::os::unix::fs::symlink("real/a.txt", c.join("b.txt")).expect("file symlink");
    std::fs::write(
        c.join("templates/cm.yaml"),
        "a: {{ .Files.Get \"files/a.txt\" | quote }}\nb: {{ .Files.Get \"b.txt\" | quote }}\n",
    )
    .expect("write");
    let out = rudder(&["template", "r", "c"], tmp.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("a: \"from a link\"\nb: \"from a link\""),
        "{text}"
    );
}
