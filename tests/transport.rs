//! rudder's API client against the real kube-apiserver: requests in flight
//! at once share one HTTP/2 connection (the server offers `h2`), where
//! kube's HTTP/1.1 client opens a connection per request. Counted from
//! this process's own TCP sockets, so this file holds one test.

mod e2e;

use std::collections::HashSet;

use futures::future::join_all;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, WatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

/// Watches held open at once.
const WATCHES: usize = 12;

async fn config() -> Config {
    let kc = Kubeconfig::read_from(e2e::kubeconfig()).expect("kubeconfig");
    Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("config")
}

/// Socket inodes of this process's open file descriptors.
fn own_sockets() -> HashSet<String> {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|l| {
            let l = l.to_string_lossy().into_owned();
            Some(l.strip_prefix("socket:[")?.strip_suffix(']')?.to_string())
        })
        .collect()
}

/// This process's established TCP connections to `port`.
fn connections_to(port: u16) -> usize {
    let mine = own_sockets();
    let port = format!("{port:04X}");
    ["/proc/self/net/tcp", "/proc/self/net/tcp6"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .flat_map(|t| t.lines().skip(1).map(str::to_string).collect::<Vec<_>>())
        .filter(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() > 9
                && f[3] == "01"
                && f[2].rsplit(':').next() == Some(port.as_str())
                && mine.contains(f[9])
        })
        .count()
}

/// Opens [`WATCHES`] watches at once through `client` and returns how many
/// connections to `port` this process holds while they are open.
async fn connections_while_watching(client: &Client, ns: &str, port: u16) -> usize {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    let params = WatchParams::default().timeout(30);
    let watches = join_all((0..WATCHES).map(|_| api.watch(&params, "0"))).await;
    let open: Vec<_> = watches
        .into_iter()
        .map(|w| w.expect("watch opened"))
        .collect();
    let n = connections_to(port);
    drop(open);
    n
}

#[tokio::test]
async fn requests_in_flight_share_one_http2_connection() {
    let config = config().await;
    let port = config.cluster_url.port_u16().expect("API server port");
    let admin = e2e::client().await;
    let ns = e2e::TestNamespace::create(&admin, "transport").await;
    let before = connections_to(port);

    let ours = rudder::controller::transport::client(config.clone()).expect("client");
    let n = connections_while_watching(&ours, &ns.name, port).await;
    assert_eq!(
        n - before,
        1,
        "{WATCHES} watches in flight through rudder's client use {} connections",
        n - before
    );

    // The same through kube's own client: one connection per request, so
    // the count above is not blind.
    let kube_own = Client::try_from(config).expect("kube client");
    let m = connections_while_watching(&kube_own, &ns.name, port).await;
    assert!(
        m >= n + WATCHES,
        "kube's HTTP/1.1 client held {m} connections for {WATCHES} watches (ours: {n})"
    );
}
