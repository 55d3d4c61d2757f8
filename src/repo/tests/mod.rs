//! Repository tests against real HTTP(S) servers on 127.0.0.1 serving
//! `../shared/charts/index` (its URLs, written for 127.0.0.1:8879, are
//! rewritten to the test server's address), with helm's own output as the
//! oracle for rendering what was downloaded.

mod oci;
/// The same loopback HTTP(S) server the integration tests use.
#[path = "../../../tests/repo_server/mod.rs"]
mod server;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use server::{Handler, Reply, Request, TestServer};

use super::cache::{ArchiveSource, CacheError, ChartCache, sha256_hex};
use super::fetch::{self, BasicAuth, FetchError, FetchOptions, TlsMaterial};
use super::index::IndexError;
use super::repository::{ChartRepository, RefreshError};
use super::resolve::resolve;

/// `../shared/charts`, searched upwards from the crate root.
fn shared_charts() -> PathBuf {
    let mut dir = Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf();
    loop {
        let cand = dir.join("../shared/charts");
        if cand.is_dir() {
            return cand;
        }
        if !dir.pop() {
            return Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/charts");
        }
    }
}

fn index_dir() -> PathBuf {
    shared_charts().join("index")
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The shared index with its URLs pointing at `base`.
fn rewritten_index(base: &str) -> String {
    String::from_utf8(read(&index_dir().join("index.yaml")))
        .expect("utf-8 index")
        .replace("http://127.0.0.1:8879", base)
}

/// A quoted ETag for a body.
fn etag(body: &[u8]) -> String {
    format!("\"{}\"", &sha256_hex(body)[..16])
}

const LAST_MODIFIED: &str = "Tue, 24 Nov 2026 07:51:25 GMT";

/// Serves an index body with validators (304 when they match; an ETag
/// check, when sent, decides alone as RFC 9110 says) and the archives of
/// `../shared/charts/index` by file name.
fn serve_file(req: &Request, index: &str) -> Reply {
    serve_tagged(req, index, &etag(index.as_bytes()))
}

fn serve_tagged(req: &Request, index: &str, tag: &str) -> Reply {
    let path = req.path.split('?').next().unwrap_or("");
    if path == "/index.yaml" {
        let fresh = match req.header("if-none-match") {
            Some(sent) => sent == tag,
            None => req.header("if-modified-since") == Some(LAST_MODIFIED),
        };
        if fresh {
            return Reply::status(304);
        }
        return Reply::Full {
            status: 200,
            headers: vec![
                ("ETag".into(), tag.to_string()),
                ("Last-Modified".into(), LAST_MODIFIED.into()),
            ],
            body: index.as_bytes().to_vec(),
        };
    }
    let name = path.trim_start_matches('/');
    if !name.ends_with(".tgz") || name.contains('/') {
        return Reply::status(404);
    }
    match std::fs::read(index_dir().join(name)) {
        Ok(b) => Reply::ok(b),
        Err(_) => Reply::status(404),
    }
}

/// A plain server for the shared index, its text built from the server's
/// own base URL by `make_index`.
async fn index_server(make_index: fn(&str) -> String) -> TestServer {
    let base = Arc::new(Mutex::new(String::new()));
    let b = base.clone();
    let handler: Handler = Arc::new(move |req| {
        let base = b.lock().map(|s| s.clone()).unwrap_or_default();
        serve_file(req, &make_index(&base))
    });
    let srv = TestServer::start(handler, None).await;
    *base.lock().expect("lock") = srv.base();
    srv
}

fn quick() -> FetchOptions {
    FetchOptions {
        timeout: Duration::from_secs(10),
        ..FetchOptions::default()
    }
}

/// The real helm binary, if installed.
fn helm_binary() -> Option<String> {
    let home = std::env::var("HOME").unwrap_or_default();
    [format!("{home}/.local/bin/helm"), "helm".into()]
        .into_iter()
        .find(|h| {
            std::process::Command::new(h)
                .arg("version")
                .output()
                .is_ok()
        })
}

#[tokio::test]
async fn fetches_resolves_verifies_and_renders_like_helm() {
    let srv = index_server(rewritten_index).await;
    let repo = ChartRepository::new(&srv.base(), quick()).expect("repo");
    let snap = repo.refresh().await.expect("first fetch");
    let served = rewritten_index(&srv.base());
    assert!(snap.changed);
    assert_eq!(
        snap.digest,
        format!("sha256:{}", sha256_hex(served.as_bytes()))
    );
    assert_eq!(snap.index.chart_names(), ["nginx", "podinfo", "scaffold"]);
    assert_eq!(snap.index.version_count(), 6);
    assert_eq!(repo.parse_count(), 1);

    let idx = &snap.index;
    let pick = |name: &str, c: &str| resolve(idx, name, c).map(|v| v.version.clone());
    assert_eq!(pick("scaffold", "*").as_deref(), Ok("0.2.0"));
    assert_eq!(pick("scaffold", "0.1.x").as_deref(), Ok("0.1.0"));
    assert_eq!(pick("podinfo", "^6.14.1").as_deref(), Ok("6.14.2"));

    let dir = tempfile::tempdir().expect("tempdir");
    let cache = ChartCache::new(Some(dir.path().to_path_buf()), 1 << 30);
    let entry = resolve(idx, "scaffold", "0.1.x").expect("0.1.0");
    let got = cache.get(repo.http(), entry).await.expect("archive");
    let on_disk = read(&index_dir().join("scaffold-0.1.0.tgz"));
    assert_eq!(got.source, ArchiveSource::Download);
    assert_eq!(*got.bytes, on_disk);
    assert_eq!(got.digest, sha256_hex(&on_disk));
    assert_eq!(got.digest, entry.digest);
    let chart = crate::chart::load::load_archive(&got.bytes).expect("loads");
    assert_eq!(chart.metadata.version, "0.1.0");

    // The newest version too (rendering archives is tests/parity.rs's job).
    let newest = resolve(idx, "scaffold", "*").expect("0.2.0");
    let got2 = cache.get(repo.http(), newest).await.expect("archive 0.2.0");
    assert_eq!(*got2.bytes, read(&index_dir().join("scaffold-0.2.0.tgz")));

    // Second request: memory; a new cache on the same folder: disk.
    assert_eq!(
        cache.get(repo.http(), entry).await.expect("again").source,
        ArchiveSource::Memory
    );
    let cold = ChartCache::new(Some(dir.path().to_path_buf()), 1 << 30);
    assert_eq!(
        cold.get(repo.http(), entry).await.expect("disk").source,
        ArchiveSource::Disk
    );
    let archive_requests = srv
        .requests()
        .iter()
        .filter(|r| r.path.ends_with(".tgz"))
        .count();
    assert_eq!(archive_requests, 2, "each archive downloaded once");
    drop(srv);
}

#[tokio::test]
async fn unchanged_index_is_neither_downloaded_nor_parsed_again() {
    let text = Arc::new(Mutex::new(String::new()));
    let t = text.clone();
    let handler: Handler = Arc::new(move |req| {
        let body = t.lock().map(|s| s.clone()).unwrap_or_default();
        serve_file(req, &body)
    });
    let srv = TestServer::start(handler, None).await;
    *text.lock().expect("lock") = rewritten_index(&srv.base());
    let repo = ChartRepository::new(&srv.base(), quick()).expect("repo");
    let first = repo.refresh().await.expect("first");
    let second = repo.refresh().await.expect("second");
    assert!(first.changed && !second.changed);
    assert_eq!(second.downloaded, 0, "304: no body");
    assert_eq!(second.digest, first.digest);
    assert_eq!(repo.parse_count(), 1);
    let reqs = srv.requests();
    assert_eq!(reqs.len(), 2);
    assert!(reqs.iter().all(|r| r.method == "GET"));
    assert_eq!(
        reqs[1].header("if-none-match"),
        Some(etag(text.lock().expect("lock").as_bytes()).as_str())
    );
    assert_eq!(reqs[1].header("if-modified-since"), Some(LAST_MODIFIED));

    // A changed index is picked up and parsed once more.
    text.lock().expect("lock").push_str("# republished\n");
    let third = repo.refresh().await.expect("third");
    assert!(third.changed);
    assert_ne!(third.digest, first.digest);
    assert_eq!(repo.parse_count(), 2);
}

#[tokio::test]
async fn same_bytes_without_validators_are_not_parsed_again() {
    let base = Arc::new(Mutex::new(String::new()));
    let b = base.clone();
    let handler: Handler = Arc::new(move |_| {
        Reply::ok(rewritten_index(
            &b.lock().map(|s| s.clone()).unwrap_or_default(),
        ))
    });
    let srv = TestServer::start(handler, None).await;
    *base.lock().expect("lock") = srv.base();
    let repo = ChartRepository::new(&srv.base(), quick()).expect("repo");
    repo.refresh().await.expect("first");
    let again = repo.refresh().await.expect("second");
    assert!(!again.changed && again.downloaded > 0);
    assert_eq!(repo.parse_count(), 1);
}

/// How the switchable server misbehaves.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Good,
    NotFound,
    ServerError,
    Slow,
    Truncated,
    Invalid,
    Huge,
}

#[tokio::test]
async fn failures_are_typed_and_keep_the_last_good_index() {
    let mode = Arc::new(Mutex::new(Mode::Good));
    let base = Arc::new(Mutex::new(String::new()));
    let (m, b) = (mode.clone(), base.clone());
    let handler: Handler = Arc::new(move |req| {
        let index = rewritten_index(&b.lock().map(|s| s.clone()).unwrap_or_default());
        match *m.lock().expect("lock") {
            Mode::Good => serve_file(req, &index),
            Mode::NotFound => Reply::status(404),
            Mode::ServerError => Reply::status(500),
            Mode::Slow => Reply::Stall(Duration::from_secs(20), Box::new(Reply::ok(index))),
            Mode::Truncated => Reply::Truncated {
                declared: index.len(),
                body: index.as_bytes()[..index.len() / 2].to_vec(),
            },
            Mode::Invalid => Reply::ok("apiVersion: v1\nentries: [oops\n"),
            Mode::Huge => Reply::ok(vec![b'#'; 4096]),
        }
    });
    let srv = TestServer::start(handler, None).await;
    *base.lock().expect("lock") = srv.base();
    let opts = |index_limit| FetchOptions {
        timeout: Duration::from_secs(2),
        index_limit,
        ..FetchOptions::default()
    };
    let repo = ChartRepository::new(&srv.base(), opts(fetch::INDEX_LIMIT)).expect("repo");
    let small = ChartRepository::new(&srv.base(), opts(4000)).expect("repo");
    let good = repo.refresh().await.expect("good index");
    let index_url = format!("{}/index.yaml", srv.base());

    type Check = fn(&RefreshError) -> bool;
    let cases: [(Mode, &ChartRepository, Check); 6] = [
        (Mode::NotFound, &repo, |e| {
            matches!(
                e,
                RefreshError::Fetch(FetchError::Status { status: 404, .. })
            )
        }),
        (Mode::ServerError, &repo, |e| {
            matches!(
                e,
                RefreshError::Fetch(FetchError::Status { status: 500, .. })
            )
        }),
        (Mode::Slow, &repo, |e| {
            matches!(e, RefreshError::Fetch(FetchError::Timeout { .. }))
        }),
        (Mode::Truncated, &repo, |e| {
            matches!(e, RefreshError::Fetch(FetchError::Truncated { .. }))
        }),
        (Mode::Invalid, &repo, |e| {
            matches!(
                e,
                RefreshError::InvalidIndex {
                    source: IndexError::Syntax(_),
                    ..
                }
            )
        }),
        (Mode::Huge, &small, |e| {
            matches!(
                e,
                RefreshError::Fetch(FetchError::TooLarge { limit: 4000, .. })
            )
        }),
    ];
    for (m, target, ok) in cases {
        *mode.lock().expect("lock") = m;
        let started = Instant::now();
        let err = target.refresh().await.expect_err("an error");
        assert!(ok(&err), "{m:?}: unexpected error {err:?}");
        let text = err.to_string();
        assert!(
            text.contains(&index_url),
            "{m:?}: message names the URL: {text}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{m:?} took {:?}",
            started.elapsed()
        );
        eprintln!("{m:?}: {text}");
    }
    let (kept, digest) = repo.last_good().expect("last good index kept");
    assert_eq!(digest, good.digest);
    assert_eq!(kept.version_count(), 6);
    assert_eq!(repo.parse_count(), 2, "the good index and the invalid one");
}

#[tokio::test]
async fn truncated_bodies_are_reported_as_such() {
    let handler: Handler = Arc::new(|_| Reply::Truncated {
        declared: 1000,
        body: b"apiVersion: v1\n".to_vec(),
    });
    let srv = TestServer::start(handler, None).await;
    let repo = ChartRepository::new(&srv.base(), quick()).expect("repo");
    let err = repo.refresh().await.expect_err("truncated");
    assert!(
        matches!(
            err,
            RefreshError::Fetch(FetchError::Truncated {
                received: 15,
                expected: Some(1000),
                ..
            })
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("truncated after 15 bytes of 1000"),
        "{err}"
    );
}

#[tokio::test]
async fn unreachable_servers_are_reported() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let repo =
        ChartRepository::new(&format!("http://127.0.0.1:{port}/charts"), quick()).expect("repo");
    let err = repo.refresh().await.expect_err("nothing listens");
    assert!(
        matches!(&err, RefreshError::Fetch(FetchError::Unreachable { url, .. }) if url.ends_with("/charts/index.yaml")),
        "{err:?}"
    );
    assert!(repo.last_good().is_none());
}

/// The shared index with scaffold 0.1.0's digest replaced by 0.2.0's.
fn index_with_wrong_digest(base: &str) -> String {
    let idx = rewritten_index(base);
    let d1 = sha256_hex(&read(&index_dir().join("scaffold-0.1.0.tgz")));
    let d2 = sha256_hex(&read(&index_dir().join("scaffold-0.2.0.tgz")));
    assert!(idx.contains(&d1));
    idx.replace(&d1, &d2)
}

#[tokio::test]
async fn digest_mismatch_is_a_hard_error_and_nothing_is_cached() {
    let srv = index_server(index_with_wrong_digest).await;
    let repo = ChartRepository::new(&srv.base(), quick()).expect("repo");
    let snap = repo.refresh().await.expect("index");
    let entry = resolve(&snap.index, "scaffold", "0.1.0").expect("entry");
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = ChartCache::new(Some(dir.path().to_path_buf()), 1 << 30);
    let err = cache.get(repo.http(), entry).await.expect_err("mismatch");
    let actual = sha256_hex(&read(&index_dir().join("scaffold-0.1.0.tgz")));
    match &err {
        CacheError::DigestMismatch {
            chart,
            version,
            expected,
            actual: got,
        } => {
            assert_eq!((chart.as_str(), version.as_str()), ("scaffold", "0.1.0"));
            assert_eq!(expected, &entry.digest);
            assert_eq!(got, &actual);
        }
        other => panic!("expected a digest mismatch, got {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("scaffold 0.1.0") && text.contains(&actual) && text.contains(&entry.digest),
        "{text}"
    );
    assert_eq!(cache.memory_bytes(), 0);
    let stored = std::fs::read_dir(dir.path().join("sha256"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(stored, 0, "a mismatching archive is not stored");
}

/// An entry carrying another version's digest, whose archive the cache
/// already holds: refused, not served as the asked-for version.
#[tokio::test]
async fn an_entry_with_another_versions_digest_is_refused_from_the_cache() {
    let good = index_server(rewritten_index).await;
    let repo = ChartRepository::new(&good.base(), quick()).expect("repo");
    let snap = repo.refresh().await.expect("index");
    let cache = ChartCache::new(None, 1 << 30);
    let v2 = resolve(&snap.index, "scaffold", "0.2.0").expect("0.2.0");
    cache.get(repo.http(), v2).await.expect("0.2.0 cached");

    let bad = index_server(index_with_wrong_digest).await;
    let repo = ChartRepository::new(&bad.base(), quick()).expect("repo");
    let snap = repo.refresh().await.expect("index");
    let v1 = resolve(&snap.index, "scaffold", "0.1.0").expect("0.1.0");
    let err = cache.get(repo.http(), v1).await.expect_err("wrong chart");
    assert!(
        matches!(&err, CacheError::WrongChart { chart, version, actual, .. }
            if chart == "scaffold" && version == "0.1.0" && actual == "scaffold 0.2.0"),
        "{err:?}"
    );
    assert!(err.to_string().contains("is scaffold 0.2.0, not"), "{err}");
    // The right entry is still served.
    cache
        .get(repo.http(), v2)
        .await
        .expect("0.2.0 still served");
}

#[tokio::test]
async fn archives_over_the_cap_are_refused_while_streaming() {
    let srv = index_server(rewritten_index).await;
    let opts = FetchOptions {
        archive_limit: 1024,
        ..quick()
    };
    let repo = ChartRepository::new(&srv.base(), opts).expect("repo");
    let snap = repo.refresh().await.expect("index");
    let entry = resolve(&snap.index, "scaffold", "*").expect("entry");
    let cache = ChartCache::new(None, 1 << 30);
    let err = cache.get(repo.http(), entry).await.expect_err("too large");
    assert!(
        matches!(
            err,
            CacheError::Fetch(FetchError::TooLarge { limit: 1024, .. })
        ),
        "{err:?}"
    );
}

fn auth_header(user: &str, pass: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

#[tokio::test]
async fn basic_auth_goes_only_to_the_repository_host() {
    // Archives live on a second server (another port = another host).
    let cdn_handler: Handler = Arc::new(|req| serve_file(req, ""));
    let cdn = TestServer::start(cdn_handler, None).await;
    let cdn_base = cdn.base();
    let expected = auth_header("alice", "s3cret");
    let handler: Handler = Arc::new(move |req| {
        if req.header("authorization") != Some(expected.as_str()) {
            return Reply::status(401);
        }
        serve_file(req, &rewritten_index(&cdn_base))
    });
    let srv = TestServer::start(handler, None).await;
    let with_auth = |pass_credentials| FetchOptions {
        basic_auth: Some(BasicAuth {
            username: "alice".into(),
            password: "s3cret".into(),
        }),
        pass_credentials,
        ..quick()
    };

    let anonymous = ChartRepository::new(&srv.base(), quick()).expect("repo");
    let err = anonymous.refresh().await.expect_err("401");
    assert!(
        matches!(
            err,
            RefreshError::Fetch(FetchError::Status { status: 401, .. })
        ),
        "{err:?}"
    );

    let repo = ChartRepository::new(&srv.base(), with_auth(false)).expect("repo");
    let snap = repo.refresh().await.expect("authorized index");
    let entry = resolve(&snap.index, "scaffold", "*").expect("entry");
    ChartCache::new(None, 1 << 30)
        .get(repo.http(), entry)
        .await
        .expect("archive from the other host");
    let cdn_reqs = cdn.requests();
    assert_eq!(cdn_reqs.len(), 1);
    assert_eq!(
        cdn_reqs[0].header("authorization"),
        None,
        "credentials leaked to another host"
    );

    let passing = ChartRepository::new(&srv.base(), with_auth(true)).expect("repo");
    let snap = passing.refresh().await.expect("index");
    let entry = resolve(&snap.index, "scaffold", "*").expect("entry");
    ChartCache::new(None, 1 << 30)
        .get(passing.http(), entry)
        .await
        .expect("archive");
    assert_eq!(
        cdn.requests()[1].header("authorization"),
        Some(auth_header("alice", "s3cret").as_str()),
        "pass_credentials sends them everywhere"
    );
}

async fn tls_index_server(acceptor: tokio_rustls::TlsAcceptor) -> TestServer {
    let base = Arc::new(Mutex::new(String::new()));
    let b = base.clone();
    let handler: Handler = Arc::new(move |req| {
        serve_file(
            req,
            &rewritten_index(&b.lock().map(|s| s.clone()).unwrap_or_default()),
        )
    });
    let srv = TestServer::start(handler, Some(acceptor)).await;
    *base.lock().expect("lock") = srv.base();
    srv
}

#[tokio::test]
async fn tls_with_a_custom_ca_and_client_certificates() {
    let (ca, cert, key, client_cert, client_key) = server::test_pki();
    let srv = tls_index_server(server::tls_acceptor(&cert, &key, None)).await;
    assert!(srv.base().starts_with("https://"));

    let untrusting = ChartRepository::new(&srv.base(), quick()).expect("repo");
    let err = untrusting.refresh().await.expect_err("unknown CA");
    assert!(
        matches!(err, RefreshError::Fetch(FetchError::Unreachable { .. })),
        "{err:?}"
    );

    let with_ca = |client: bool| FetchOptions {
        tls: TlsMaterial {
            ca_pem: Some(ca.clone().into_bytes()),
            client_cert_pem: client.then(|| client_cert.clone().into_bytes()),
            client_key_pem: client.then(|| client_key.clone().into_bytes()),
        },
        ..quick()
    };
    let repo = ChartRepository::new(&srv.base(), with_ca(false)).expect("repo");
    let snap = repo.refresh().await.expect("index over TLS");
    let entry = resolve(&snap.index, "podinfo", "^6.14.1").expect("podinfo");
    let got = ChartCache::new(None, 1 << 30)
        .get(repo.http(), entry)
        .await
        .expect("archive over TLS");
    assert_eq!(got.digest, entry.digest);

    // Mutual TLS: the server requires a certificate from the test CA.
    let mtls = tls_index_server(server::tls_acceptor(&cert, &key, Some(&ca))).await;
    let no_cert = ChartRepository::new(&mtls.base(), with_ca(false)).expect("repo");
    assert!(
        no_cert.refresh().await.is_err(),
        "a client certificate is required"
    );
    let with_cert = ChartRepository::new(&mtls.base(), with_ca(true)).expect("repo");
    with_cert.refresh().await.expect("index over mutual TLS");

    let bad = FetchOptions {
        tls: TlsMaterial {
            ca_pem: Some(b"not a certificate".to_vec()),
            ..TlsMaterial::default()
        },
        ..quick()
    };
    assert!(matches!(
        ChartRepository::new(&srv.base(), bad),
        Err(FetchError::Tls(_))
    ));
}

/// An index with `charts` × `versions` entries shaped like real ones.
fn generated_index(charts: usize, versions: usize) -> String {
    let mut s = String::from("apiVersion: v1\nentries:\n");
    for c in 0..charts {
        s.push_str(&format!("  chart-{c}:\n"));
        for v in 0..versions {
            s.push_str(&format!(
                "  - annotations:\n      category: Infrastructure\n      licenses: Apache-2.0\n    apiVersion: v2\n    appVersion: {v}.{c}.0\n    created: \"2026-11-24T07:51:25.283456142Z\"\n    dependencies:\n    - name: common\n      repository: oci://registry-1.docker.io/bitnamicharts\n      tags:\n      - bitnami-common\n      version: 2.x.x\n    description: Chart number {c}, a generated chart with a description long enough to look like the real ones in public indexes.\n    digest: {:064x}\n    home: https://example.com/chart-{c}\n    icon: https://example.com/chart-{c}.png\n    keywords:\n    - generated\n    - test\n    maintainers:\n    - name: Someone\n      url: https://example.com\n    name: chart-{c}\n    sources:\n    - https://github.com/example/chart-{c}\n    urls:\n    - https://charts.example.com/chart-{c}-1.{v}.0.tgz\n    version: 1.{v}.0\n",
                c * 1000 + v
            ));
        }
    }
    s.push_str("generated: \"2026-11-24T07:51:25.285161237Z\"\n");
    s
}

#[tokio::test]
async fn large_index_first_and_unchanged_fetch_times() {
    let big = generated_index(500, 10);
    let size = big.len();
    let started = Instant::now();
    let direct = super::index::parse_index(big.as_bytes()).expect("parses");
    let parse_only = started.elapsed();
    assert_eq!(direct.version_count(), 5000);
    let tag = etag(big.as_bytes());
    let handler: Handler = Arc::new(move |req| serve_tagged(req, &big, &tag));
    let srv = TestServer::start(handler, None).await;
    let repo = ChartRepository::new(&srv.base(), quick()).expect("repo");
    let t = Instant::now();
    let first = repo.refresh().await.expect("first");
    let first_total = t.elapsed();
    let t = Instant::now();
    let second = repo.refresh().await.expect("second");
    let second_total = t.elapsed();
    assert_eq!(first.index.version_count(), 5000);
    assert!(!second.changed);
    assert_eq!(repo.parse_count(), 1);
    let picked = resolve(&first.index, "chart-499", "~1.9").expect("resolves");
    assert_eq!(picked.version, "1.9.0");
    eprintln!(
        "large index ({size} bytes, 5000 entries, {} build): parse_index {parse_only:?}; first refresh {first_total:?} (download {:?}, parse {:?}); unchanged refresh {second_total:?} (download {:?}, parse {:?}, {} bytes)",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        first.fetch_time,
        first.parse_time,
        second.fetch_time,
        second.parse_time,
        second.downloaded
    );
}

#[tokio::test]
async fn concurrent_requests_for_one_archive_download_it_once() {
    let srv = index_server(rewritten_index).await;
    let repo = ChartRepository::new(&srv.base(), quick()).expect("repo");
    let snap = repo.refresh().await.expect("index");
    let entry = resolve(&snap.index, "podinfo", "6.14.1").expect("entry");
    let cache = ChartCache::new(None, 1 << 30);
    let (a, b, c) = tokio::join!(
        cache.get(repo.http(), entry),
        cache.get(repo.http(), entry),
        cache.get(repo.http(), entry)
    );
    let (a, b, c) = (a.expect("a"), b.expect("b"), c.expect("c"));
    assert!(a.bytes == b.bytes && b.bytes == c.bytes);
    let downloads = srv
        .requests()
        .iter()
        .filter(|r| r.path.ends_with(".tgz"))
        .count();
    assert_eq!(downloads, 1);
    assert_eq!(cache.stats().downloads, 1);
    assert_eq!(cache.stats().memory_hits, 2);
}

/// A gzipped tar whose second entry climbs out of the chart folder.
fn traversal_archive() -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    let chart_yaml = b"apiVersion: v2\nname: evil\nversion: 1.0.0\n";
    let mut h = tar::Header::new_gnu();
    h.set_path("evil/Chart.yaml").expect("path");
    h.set_size(chart_yaml.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    tar.append(&h, &chart_yaml[..]).expect("append");
    let body = b"kind: ConfigMap\n";
    let mut h = tar::Header::new_gnu();
    let name = b"evil/../../etc/cron.d/x";
    h.as_old_mut().name[..name.len()].copy_from_slice(name);
    h.set_size(body.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    tar.append(&h, &body[..]).expect("append");
    let raw = tar.into_inner().expect("tar");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &raw).expect("gzip");
    gz.finish().expect("gzip")
}

#[tokio::test]
async fn archives_with_path_traversal_are_refused_with_a_clear_message() {
    let tgz = traversal_archive();
    let digest = sha256_hex(&tgz);
    let index = format!(
        "apiVersion: v1\nentries:\n  evil:\n  - name: evil\n    version: 1.0.0\n    digest: {digest}\n    urls: [charts/evil-1.0.0.tgz]\n"
    );
    let handler: Handler = Arc::new(move |req| match req.path.as_str() {
        "/repo/index.yaml" => Reply::ok(index.clone()),
        "/repo/charts/evil-1.0.0.tgz" => Reply::ok(tgz.clone()),
        _ => Reply::status(404),
    });
    let srv = TestServer::start(handler, None).await;
    let repo = ChartRepository::new(&format!("{}/repo", srv.base()), quick()).expect("repo");
    let cache = ChartCache::new(None, 1 << 30);
    let pulled = super::pull::pull(&repo, &cache, "evil", "^1")
        .await
        .expect("relative URL, digest ok");
    let err = super::pull::load(&pulled).expect_err("traversal");
    let text = err.to_string();
    assert!(matches!(err, super::pull::PullError::Load { .. }));
    assert!(
        text.contains("evil 1.0.0")
            && text.contains("illegally references parent directory")
            && text.contains("etc/cron.d"),
        "{text}"
    );
}

/// `created:` and `generated:` lines blanked (timestamps differ).
fn without_times(index: &str) -> String {
    index
        .lines()
        .map(|l| {
            let t = l.trim_start();
            if t.starts_with("created: ") || t.starts_with("generated: ") {
                "<time>"
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn repo_index_writes_what_helm_repo_index_writes() {
    let helm =
        helm_binary().expect("helm not found: run ../shared/tools/install-helm ~/.local/bin");
    let dir = tempfile::tempdir().expect("tempdir");
    let nested = dir.path().join("nested");
    std::fs::create_dir(&nested).expect("mkdir");
    for entry in std::fs::read_dir(index_dir()).expect("index dir").flatten() {
        let name = entry.file_name().into_string().expect("utf-8 name");
        if !name.ends_with(".tgz") {
            continue;
        }
        let dest = if name.starts_with("podinfo-6.14.1") {
            &nested
        } else {
            &dir.path().to_path_buf()
        };
        std::fs::copy(entry.path(), dest.join(&name)).expect("copy");
    }
    std::fs::write(dir.path().join("junk.tgz"), b"not a chart").expect("junk");
    for url in ["http://example.com/charts", ""] {
        let mut args = vec![
            "repo".to_string(),
            "index".into(),
            dir.path().display().to_string(),
        ];
        if !url.is_empty() {
            args.extend(["--url".into(), url.into()]);
        }
        let out = std::process::Command::new(&helm)
            .args(&args)
            .output()
            .expect("helm repo index");
        assert!(
            out.status.success(),
            "helm: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let theirs = String::from_utf8(read(&dir.path().join("index.yaml"))).expect("utf-8");
        std::fs::remove_file(dir.path().join("index.yaml")).expect("rm");
        let ours =
            super::indexer::index_directory(dir.path(), url, "2026-11-24T07:51:25.283456142Z")
                .expect("index");
        assert!(
            without_times(&ours) == without_times(&theirs),
            "url {url:?}\n--- ours\n{ours}\n--- helm\n{theirs}"
        );
        let parsed = super::index::parse_index(ours.as_bytes()).expect("our index parses");
        assert_eq!(parsed.version_count(), 6);
    }
}

/// Entry names of a .tgz, sorted.
fn archive_names(path: &Path) -> Vec<String> {
    let file = std::fs::File::open(path).expect("open archive");
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut names: Vec<String> = tar
        .entries()
        .expect("entries")
        .map(|e| {
            e.expect("entry")
                .path()
                .expect("path")
                .display()
                .to_string()
        })
        .collect();
    names.sort();
    names
}

#[test]
fn packages_that_helm_renders_like_the_folder() {
    let helm =
        helm_binary().expect("helm not found: run ../shared/tools/install-helm ~/.local/bin");
    let charts = shared_charts();
    for name in ["scaffold", "helm-subchart", "podinfo"] {
        let ours = tempfile::tempdir().expect("tempdir");
        let theirs = tempfile::tempdir().expect("tempdir");
        let src = charts.join("corpus").join(name);
        let tgz = super::package::package(&src, ours.path()).expect("package");
        let out = std::process::Command::new(&helm)
            .args([
                "package",
                &src.display().to_string(),
                "-d",
                &theirs.path().display().to_string(),
            ])
            .output()
            .expect("helm package");
        assert!(
            out.status.success(),
            "helm package: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let helm_tgz = theirs.path().join(tgz.file_name().expect("file name"));
        assert_eq!(
            archive_names(&tgz),
            archive_names(&helm_tgz),
            "{name}: same files as helm package"
        );

        let args_text =
            String::from_utf8(read(&charts.join(format!("golden/{name}.args")))).expect("args");
        let args: Vec<String> = args_text
            .lines()
            .map(|a| {
                if a == format!("corpus/{name}") {
                    tgz.display().to_string()
                } else {
                    a.to_string()
                }
            })
            .collect();
        let out = std::process::Command::new(&helm)
            .args(&args)
            .current_dir(&charts)
            .output()
            .expect("helm template");
        assert!(
            out.status.success(),
            "{name}: helm template: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let golden = read(&charts.join(format!("golden/{name}.yaml")));
        assert!(
            out.stdout == golden,
            "{name}: helm renders our package like the folder"
        );
    }
}
