//! The HTTP server under the router: accepts connections, at most `http.max_connections` at a
//! time, and serves each with hyper's HTTP/1.1 and its header-read timeout (which also ends
//! idle keep-alive connections), so slow or silent clients cannot hold connections for ever.
//! The body-read and whole-request timeouts are tower-http layers in `http/mod.rs`. Behind the
//! TLS reverse proxy every deployment has, HTTP/1.1 is what arrives.

use crate::config::HttpConfig;
use axum::{Router, body::Body, extract::ConnectInfo};
use hyper::{body::Incoming, server::conn::http1};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
    service::TowerToHyperService,
};
use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};
use tokio::{net::TcpListener, sync::Semaphore};
use tower::ServiceExt;

/// How long connections still open at shutdown are given to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Serves `router` on `listener` until `shutdown` completes; each request carries the
/// client's socket address as [`ConnectInfo`].
pub async fn serve(
    listener: TcpListener,
    router: Router,
    settings: &HttpConfig,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    // hyper's own HTTP/1 server, not the auto-detecting one: that first reads the
    // connection's preface with no timeout at all.
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(settings.header_read_timeout)
        .keep_alive(true);
    let connections = Arc::new(Semaphore::new(settings.max_connections));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        // A full house waits here: the listen backlog holds the rest.
        let permit = tokio::select! {
            permit = connections.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait, do not spin or stop.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = router
            .clone()
            .map_request(move |mut request: hyper::Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(remote));
                request.map(Body::new)
            });
        let connection = graceful.watch(
            builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service)),
        );
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, client = %remote, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::info!("connections still open after the shutdown grace period were closed");
    }
    Ok(())
}

/// The client's address for one request: the connecting socket's, or, when that socket is a
/// trusted reverse proxy, the last address in `X-Forwarded-For` that is not itself a trusted
/// proxy (the rightmost one the proxies vouch for).
pub fn client_address(
    settings: &HttpConfig,
    connected: Option<SocketAddr>,
    headers: &axum::http::HeaderMap,
) -> Option<std::net::IpAddr> {
    let connected = connected?.ip().to_canonical();
    if !settings.trusted_proxies.contains(&connected) {
        return Some(connected);
    }
    let forwarded: Vec<std::net::IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|part| part.trim().parse::<std::net::IpAddr>().ok())
        .map(|address| address.to_canonical())
        .collect();
    Some(
        forwarded
            .into_iter()
            .rev()
            .find(|address| !settings.trusted_proxies.contains(address))
            .unwrap_or(connected),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
        let mut settings = crate::config::Config::default().http;
        let mut headers = axum::http::HeaderMap::new();
        headers.insert("x-forwarded-for", "6.6.6.6, 1.2.3.4".parse().unwrap());
        let proxy: SocketAddr = "10.0.0.5:4000".parse().unwrap();
        assert_eq!(
            client_address(&settings, Some(proxy), &headers).unwrap(),
            proxy.ip(),
            "an untrusted peer's header is ignored"
        );
        settings.trusted_proxies = vec!["10.0.0.5".parse().unwrap()];
        assert_eq!(
            client_address(&settings, Some(proxy), &headers)
                .unwrap()
                .to_string(),
            "1.2.3.4",
            "the address the proxy saw, not one the client wrote"
        );
        assert_eq!(
            client_address(&settings, Some(proxy), &axum::http::HeaderMap::new()).unwrap(),
            proxy.ip()
        );
        assert!(client_address(&settings, None, &headers).is_none());
    }

    #[tokio::test]
    async fn silent_and_slow_clients_are_cut_off_and_do_not_hold_the_server() {
        let mut settings = crate::config::Config::default().http;
        settings.header_read_timeout = Duration::from_millis(300);
        settings.max_connections = 8;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let router = Router::new().route("/", axum::routing::get(|| async { "hello" }));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            serve(listener, router, &settings, async {
                let _ = stopped.await;
            })
            .await
        });

        // More silent connections than the server serves at once, and a slowloris that
        // dribbles a header: all are closed after the timeout.
        let mut idle = Vec::new();
        for _ in 0..12 {
            idle.push(tokio::net::TcpStream::connect(address).await.unwrap());
        }
        let mut slow = tokio::net::TcpStream::connect(address).await.unwrap();
        slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        for _ in 0..5 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let _ = slow.write_all(b"X-Slow: 1\r\n").await;
        }
        let mut buffer = [0u8; 256];
        let closed = tokio::time::timeout(Duration::from_secs(5), async {
            for mut connection in idle {
                // EOF (0 bytes) or a reset: either way the server let go.
                let _ = connection.read(&mut buffer).await;
            }
            let _ = slow.read(&mut buffer).await;
        })
        .await;
        assert!(closed.is_ok(), "connections were held open");

        // A well-behaved client is still served.
        let mut client = tokio::net::TcpStream::connect(address).await.unwrap();
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut response = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), client.read_to_end(&mut response))
            .await
            .unwrap()
            .unwrap();
        let response = String::from_utf8_lossy(&response);
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(response.ends_with("hello"), "{response}");
        let _ = stop.send(());
        server.await.unwrap().unwrap();
    }
}
