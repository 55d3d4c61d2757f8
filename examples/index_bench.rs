//! Times a large repository index (`cargo run --release --example
//! index_bench [CHARTS] [VERSIONS]`, default 500 × 10 = 5000 entries):
//! `parse_index` alone, then a first and an unchanged second refresh
//! against a real HTTP server on 127.0.0.1 that answers 304 to a matching
//! `If-None-Match`.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Instant;

use rudder::repo::{ChartRepository, FetchOptions, parse_index};

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

/// Serves `body` as /index.yaml with ETag "v1"; 304 when it matches.
fn serve(listener: TcpListener, body: Arc<String>) {
    for stream in listener.incoming().flatten() {
        let mut reader = BufReader::new(&stream);
        let mut matched = false;
        let mut line = String::new();
        while reader.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
            if line == "\r\n" {
                break;
            }
            if line.to_ascii_lowercase().starts_with("if-none-match:") && line.contains("\"v1\"") {
                matched = true;
            }
            line.clear();
        }
        let mut out = &stream;
        let _ = if matched {
            out.write_all(b"HTTP/1.1 304 Not Modified\r\nConnection: close\r\nETag: \"v1\"\r\n\r\n")
        } else {
            let head = format!(
                "HTTP/1.1 200 OK\r\nConnection: close\r\nETag: \"v1\"\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            out.write_all(head.as_bytes())
                .and_then(|_| out.write_all(body.as_bytes()))
        };
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let charts: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(500);
    let versions: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    let text = Arc::new(generated_index(charts, versions));
    let t = Instant::now();
    let tree = rudder::godata::yaml::parse_any(&text)?;
    println!("YAML load alone (parse_any): {:?}", t.elapsed());
    drop(tree);
    let t = Instant::now();
    let idx = parse_index(text.as_bytes())?;
    println!(
        "parse_index: {} entries, {} bytes in {:?}",
        idx.version_count(),
        text.len(),
        t.elapsed()
    );
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let body = text.clone();
    std::thread::spawn(move || serve(listener, body));
    let repo = ChartRepository::new(&format!("http://127.0.0.1:{port}"), FetchOptions::default())?;
    for round in ["first", "unchanged"] {
        let t = Instant::now();
        let snap = repo.refresh().await?;
        println!(
            "{round} refresh: {:?} total (download {:?}, {} bytes; parse {:?}); changed={} parses so far={}",
            t.elapsed(),
            snap.fetch_time,
            snap.downloaded,
            snap.parse_time,
            snap.changed,
            repo.parse_count()
        );
    }
    Ok(())
}
