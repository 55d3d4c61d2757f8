//! Keys and certificates from Sprig's crypto functions, checked with OpenSSL
//! and against the real `helm` (v4).
//!
//! One chart generates a key of every `genPrivateKey` kind and, for the kinds
//! Sprig can sign with, certificates from each certificate function; it also
//! re-issues keys OpenSSL wrote in the formats Sprig reads. Rendered by
//! `rudder template` and by `helm template`: every key must load in OpenSSL
//! and be of the same PEM type and OpenSSL key type as helm's, every
//! certificate must verify, and keys read from OpenSSL's files must be
//! written back byte for byte as helm writes them. DSA keys cannot be
//! certified in Go: those calls must fail with helm's words. Requires `helm`
//! (on PATH or in `~/.local/bin`) and `openssl`; fails without them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const KINDS: [&str; 3] = ["rsa", "ecdsa", "ed25519"];

/// Every output is a `name: |` block: keys `key-<kind>`; per signing kind a
/// CA from its key (`ca-<kind>`, with its `.Key`), a self-signed certificate,
/// a leaf for its key signed by the RSA CA `ca` (`leaf-<kind>`, with its
/// `.Key`) and an RSA leaf signed by its CA (`signed-<kind>`); per imported
/// key a self-signed certificate and its `.Key`.
const TEMPLATE: &str = r#"
{{- $keys := dict "rsa" (genPrivateKey "rsa") "ecdsa" (genPrivateKey "ecdsa") "ed25519" (genPrivateKey "ed25519") }}
{{- $ca := genCA "rsa-ca" 3 }}
key-dsa: |
{{ genPrivateKey "dsa" | indent 2 }}
ca: |
{{ $ca.Cert | indent 2 }}
{{- range $kind, $key := $keys }}
key-{{ $kind }}: |
{{ $key | indent 2 }}
{{- $own := genCAWithKey (printf "%s-ca" $kind) 3 $key }}
ca-{{ $kind }}: |
{{ $own.Cert | indent 2 }}
ca-{{ $kind }}-key: |
{{ $own.Key | indent 2 }}
self-{{ $kind }}: |
{{ (genSelfSignedCertWithKey (printf "%s.self" $kind) (list "127.0.0.1") (list (printf "%s.example" $kind)) 3 $key).Cert | indent 2 }}
{{- $leaf := genSignedCertWithKey (printf "%s.leaf" $kind) nil (list (printf "%s.example" $kind)) 3 $ca $key }}
leaf-{{ $kind }}: |
{{ $leaf.Cert | indent 2 }}
leaf-{{ $kind }}-key: |
{{ $leaf.Key | indent 2 }}
signed-{{ $kind }}: |
{{ (genSignedCert (printf "%s.signed" $kind) nil nil 3 $own).Cert | indent 2 }}
{{- end }}
{{- range $name, $pem := .Values.imported }}
{{- $c := genSelfSignedCertWithKey $name nil nil 3 $pem }}
imported-{{ $name }}: |
{{ $c.Cert | indent 2 }}
imported-{{ $name }}-key: |
{{ $c.Key | indent 2 }}
{{- end }}
"#;

/// Certifying with a DSA key (`.Values.dsa`): each must fail as in helm.
const DSA_FAILURES: [(&str, &str); 4] = [
    ("ca", r#"{{ (genCAWithKey "ca" 3 .Values.dsa).Cert }}"#),
    (
        "self",
        r#"{{ (genSelfSignedCertWithKey "s" nil nil 3 .Values.dsa).Cert }}"#,
    ),
    (
        "leaf",
        r#"{{ (genSignedCertWithKey "s" nil nil 3 (genCA "ca" 3) .Values.dsa).Cert }}"#,
    ),
    (
        "dsa-ca",
        r#"{{ $ca := genCA "ca" 3 }}{{ $dsaCA := buildCustomCert ($ca.Cert | b64enc) (.Values.dsa | b64enc) }}{{ (genSignedCert "s" nil nil 3 $dsaCA).Cert }}"#,
    ),
];

fn helm_program() -> PathBuf {
    let works = |p: &Path| {
        Command::new(p)
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let on_path = PathBuf::from("helm");
    if works(&on_path) {
        return on_path;
    }
    let local = std::env::var_os("HOME").map(|h| Path::new(&h).join(".local/bin/helm"));
    match local {
        Some(p) if works(&p) => p,
        _ => panic!(
            "this test needs the real `helm` v4 (on PATH or in ~/.local/bin): run ../shared/tools/install-helm"
        ),
    }
}

fn require_openssl() {
    let ok = Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(ok, "this test needs `openssl` (OpenSSL 3) on PATH");
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn openssl(args: &[&str], file: &Path) -> Output {
    run(Command::new("openssl").args(args).arg(file))
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

fn write(path: &Path, content: &str) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("mkdir");
    }
    std::fs::write(path, content).expect("write");
}

fn chart(dir: &Path, template: &str, values: &str) {
    write(
        &dir.join("Chart.yaml"),
        "apiVersion: v2\nname: keys\nversion: 0.1.0\n",
    );
    write(&dir.join("values.yaml"), values);
    write(&dir.join("templates/out.yaml"), template);
}

/// `name: value` in YAML, the value a literal block.
fn yaml_block(name: &str, value: &str, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let mut out = format!("{pad}{name}: |\n");
    for line in value.lines() {
        out.push_str(&format!("{pad}  {line}\n"));
    }
    out
}

/// The `name: |` blocks of a rendered document (indented two spaces).
fn blocks(rendered: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut current: Option<(String, String)> = None;
    let mut finish = |c: Option<(String, String)>| {
        if let Some((name, body)) = c {
            out.insert(name, format!("{}\n", body.trim_end()));
        }
    };
    for line in rendered.lines() {
        match (line.strip_prefix("  "), current.as_mut()) {
            (Some(body), Some((_, text))) => {
                text.push_str(body);
                text.push('\n');
            }
            _ => {
                finish(current.take());
                current = line
                    .strip_suffix(": |")
                    .map(|name| (name.to_string(), String::new()));
            }
        }
    }
    finish(current);
    out
}

/// Keys in the formats Sprig reads, written by OpenSSL.
fn openssl_keys(dir: &Path) -> Vec<(&'static str, String)> {
    let gen_cmds: [(&str, &[&str]); 5] = [
        (
            "ec-sec1",
            &["ecparam", "-name", "prime256v1", "-genkey", "-noout"],
        ),
        (
            "ec-pkcs8",
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
            ],
        ),
        (
            "ec384-pkcs8",
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-384",
            ],
        ),
        ("ed25519-pkcs8", &["genpkey", "-algorithm", "ed25519"]),
        (
            "rsa-pkcs8",
            &[
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
            ],
        ),
    ];
    let mut keys = Vec::new();
    for (name, args) in gen_cmds {
        let out = run(Command::new("openssl").args(args));
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            text(&out.stderr)
        );
        keys.push((name, text(&out.stdout)));
    }
    // The same RSA key as PKCS#1.
    let pkcs8 = dir.join("rsa-pkcs8.pem");
    std::fs::write(&pkcs8, &keys[4].1).expect("write");
    let out = openssl(&["rsa", "-traditional", "-in"], &pkcs8);
    assert!(out.status.success(), "openssl rsa: {}", text(&out.stderr));
    keys.push(("rsa-pkcs1", text(&out.stdout)));
    keys
}

/// Renders `chart` with `program template`: (success, stdout, stderr).
fn render(program: &Path, chart: &Path) -> (bool, String, String) {
    let out = run(Command::new(program).arg("template").arg("x").arg(chart));
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

/// What OpenSSL reports about a key: its first `-text` line (type and
/// size) and its curve, if any.
fn key_summary(file: &Path) -> String {
    let out = openssl(&["pkey", "-text", "-noout", "-in"], file);
    assert!(
        out.status.success(),
        "openssl pkey -text {}: {}",
        file.display(),
        text(&out.stderr)
    );
    let stdout = text(&out.stdout);
    let mut lines = stdout.lines();
    let mut summary: Vec<&str> = lines.next().into_iter().collect();
    summary.extend(lines.filter(|l| l.starts_with("ASN1 OID:") || l.starts_with("NIST CURVE:")));
    summary.join("; ")
}

fn pem_type(pem: &str) -> &str {
    pem.lines().next().unwrap_or("")
}

/// Writes every block to `dir/<name>.pem` and checks keys and
/// certificates with OpenSSL.
fn check_with_openssl(tool: &str, dir: &Path, out: &BTreeMap<String, String>) {
    for (name, pem) in out {
        write(&dir.join(format!("{name}.pem")), pem);
    }
    let file = |name: &str| dir.join(format!("{name}.pem"));
    for kind in ["rsa", "ecdsa", "ed25519", "dsa"] {
        let key = file(&format!("key-{kind}"));
        let loaded = openssl(&["pkey", "-noout", "-in"], &key);
        assert!(
            loaded.status.success(),
            "{tool}: openssl pkey cannot load the {kind} key: {}\n{}",
            text(&loaded.stderr),
            out[&format!("key-{kind}")]
        );
    }
    let dsa = openssl(&["dsa", "-noout", "-in"], &file("key-dsa"));
    assert!(
        dsa.status.success(),
        "{tool}: openssl dsa cannot load the dsa key: {}",
        text(&dsa.stderr)
    );
    let mut pairs: Vec<(String, String)> = Vec::new();
    for kind in KINDS {
        pairs.push((format!("ca-{kind}"), format!("ca-{kind}")));
        pairs.push((format!("self-{kind}"), format!("self-{kind}")));
        pairs.push(("ca".into(), format!("leaf-{kind}")));
        pairs.push((format!("ca-{kind}"), format!("signed-{kind}")));
    }
    for name in out.keys() {
        if name.starts_with("imported-") && !name.ends_with("-key") {
            pairs.push((name.clone(), name.clone()));
        }
    }
    for (ca, cert) in pairs {
        let v = run(Command::new("openssl")
            .args(["verify", "-CAfile"])
            .arg(file(&ca))
            .arg(file(&cert)));
        assert!(
            v.status.success(),
            "{tool}: openssl verify -CAfile {ca} {cert} failed: {}{}",
            text(&v.stdout),
            text(&v.stderr)
        );
    }
}

#[test]
fn keys_and_certificates_load_and_verify_like_helms() {
    let helm = helm_program();
    require_openssl();
    let rudder = PathBuf::from(env!("CARGO_BIN_EXE_rudder"));
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();

    let imported = openssl_keys(root);
    let mut values = "imported:\n".to_string();
    for (name, pem) in &imported {
        values.push_str(&yaml_block(name, pem, 2));
    }
    chart(&root.join("chart"), TEMPLATE, &values);

    let mut outputs = BTreeMap::new();
    for (tool, program) in [("rudder", &rudder), ("helm", &helm)] {
        let (ok, stdout, stderr) = render(program, &root.join("chart"));
        assert!(ok, "{tool} template failed: {stderr}");
        let out = blocks(&stdout);
        check_with_openssl(tool, &root.join(tool), &out);
        outputs.insert(tool, out);
    }
    let (ours, helms) = (&outputs["rudder"], &outputs["helm"]);
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        helms.keys().collect::<Vec<_>>(),
        "rudder and helm rendered different blocks"
    );

    for kind in ["rsa", "ecdsa", "ed25519", "dsa"] {
        let name = format!("key-{kind}");
        assert_eq!(
            pem_type(&ours[&name]),
            pem_type(&helms[&name]),
            "{kind}: PEM block type"
        );
        let summary = |tool: &str| key_summary(&root.join(tool).join(format!("{name}.pem")));
        assert_eq!(
            summary("rudder"),
            summary("helm"),
            "{kind}: OpenSSL key type"
        );
    }
    for kind in KINDS {
        // The *WithKey functions hand the key back as Go writes it: the
        // same bytes genPrivateKey wrote.
        for of in ["ca", "leaf"] {
            assert_eq!(
                ours[&format!("{of}-{kind}-key")],
                ours[&format!("key-{kind}")],
                "{kind}: {of} .Key"
            );
        }
    }
    // Keys OpenSSL wrote come back in Sprig's formats, exactly as helm
    // writes them.
    for (name, _) in &imported {
        let key = format!("imported-{name}-key");
        assert_eq!(
            ours[&key], helms[&key],
            "{name}: the .Key of a re-issued key"
        );
    }

    let dsa = &ours["key-dsa"];
    for (case, template) in DSA_FAILURES {
        let dir = root.join(format!("dsa-{case}"));
        chart(&dir, template, &yaml_block("dsa", dsa, 0));
        let (hok, _, herr) = render(&helm, &dir);
        let (rok, _, rerr) = render(&rudder, &dir);
        assert!(!hok && !rok, "dsa {case}: helm ok={hok}, rudder ok={rok}");
        let error = |s: &str| {
            s.lines()
                .filter(|l| l.starts_with("Error:"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert!(
            error(&herr).contains("error creating certificate"),
            "dsa {case}: helm said {herr}"
        );
        assert_eq!(error(&rerr), error(&herr), "dsa {case}");
    }
}
