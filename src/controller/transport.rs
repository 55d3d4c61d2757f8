//! How rudder reaches an API server: the kube client's own layers (base
//! URI, authentication, impersonation headers, its connect/read/write
//! timeouts) over a connection that speaks HTTP/2 when the server offers
//! it, as client-go does. kube's own client speaks only HTTP/1.1, where
//! every request in flight holds a TCP and TLS connection of its own: a
//! controller waiting on many releases at once (a watch each) would hold
//! as many connections, their buffers and TLS sessions, and the API
//! server as many handshakes. Over HTTP/2 they share one connection as
//! streams. Pings every [`PING_EVERY`] (client-go's read-idle timeout)
//! find a connection that died silently, since every request rides on it.
//!
//! Configurations this transport does not cover (a proxy) get kube's own
//! client, unchanged.

use std::time::Duration;

use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use kube::client::ConfigExt;
use kube::{Client, Config};
use tower::{BoxError, ServiceBuilder};

/// Interval of HTTP/2 pings (client-go's `ReadIdleTimeout`).
const PING_EVERY: Duration = Duration::from_secs(30);
/// How long a ping may go unanswered before the connection is dropped
/// (client-go's `PingTimeout`).
const PING_TIMEOUT: Duration = Duration::from_secs(15);

/// A client for `config`, multiplexing its requests over HTTP/2 where the
/// server offers it.
pub fn client(config: Config) -> Result<Client, kube::Error> {
    if config.proxy_url.is_some() {
        return Client::try_from(config);
    }
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    let tls = config.rustls_client_config()?;
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http();
    let https = match &config.tls_server_name {
        Some(name) => {
            let name = name.clone().try_into().map_err(|_| {
                kube::Error::Service(format!("invalid TLS server name {name:?}").into())
            })?;
            https.with_server_name_resolver(hyper_rustls::FixedServerNameResolver::new(name))
        }
        None => https,
    };
    let https = https.enable_http1().enable_http2().wrap_connector(http);
    let mut timed = hyper_timeout::TimeoutConnector::new(https);
    timed.set_connect_timeout(config.connect_timeout);
    timed.set_read_timeout(config.read_timeout);
    timed.set_write_timeout(config.write_timeout);
    timed.set_reset_reader_on_write(config.reset_reader_on_write);
    let hyper: hyper_util::client::legacy::Client<_, kube::client::Body> =
        hyper_util::client::legacy::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            .http2_keep_alive_interval(PING_EVERY)
            .http2_keep_alive_timeout(PING_TIMEOUT)
            .http2_keep_alive_while_idle(true)
            .build(timed);
    let service = ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .option_layer(config.auth_layer()?)
        .layer(config.extra_headers_layer()?)
        .map_err(BoxError::from)
        .service(hyper);
    Ok(Client::new(service, config.default_namespace))
}
