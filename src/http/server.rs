//! The HTTP server under the router: accepts connections, at most `http.max_connections` at a
//! time and `http.max_connections_per_address` from one client, and serves each with hyper's
//! HTTP/1.1 and its header-read timeout (which also ends idle keep-alive connections) for at
//! most ten minutes, so slow or silent clients cannot hold connections for ever.
//! The body-read and whole-request timeouts are tower-http layers in `http/mod.rs`. Behind the
//! TLS reverse proxy every deployment has, HTTP/1.1 is what arrives.

use crate::config::HttpConfig;
use axum::{Router, body::Body, extract::ConnectInfo};
use hyper::{body::Incoming, server::conn::http1};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    service::TowerToHyperService,
};
use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};
use tokio::{net::TcpListener, sync::Semaphore};
use tower::ServiceExt;

/// How long connections still open at shutdown are given to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The longest a connection is kept, however busy: then it is asked to finish what it is
/// doing and close, and is closed [`SHUTDOWN_GRACE`] later in any case. This ends a client
/// that sends requests but never reads the answers (hyper has no write timeout).
const CONNECTION_LIFETIME: Duration = Duration::from_secs(10 * 60);

/// Open connections per client address (an IPv6 /64), for `http.max_connections_per_address`.
#[derive(Default)]
struct ConnectionsPerAddress {
    open: std::sync::Mutex<std::collections::HashMap<String, usize>>,
}

impl ConnectionsPerAddress {
    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, usize>> {
        self.open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts one more connection from `key`, unless it holds `most` already.
    fn open(self: &Arc<Self>, key: String, most: usize) -> Option<OpenConnection> {
        let mut open = self.lock();
        let count = open.entry(key.clone()).or_default();
        if *count >= most {
            return None;
        }
        *count += 1;
        Some(OpenConnection {
            counts: self.clone(),
            key,
        })
    }
}

/// One counted connection; dropping it counts it out.
struct OpenConnection {
    counts: Arc<ConnectionsPerAddress>,
    key: String,
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        let mut open = self.counts.lock();
        if let Some(count) = open.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}

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
    let builder = Arc::new(builder);
    let connections = Arc::new(Semaphore::new(settings.max_connections));
    let per_address = Arc::new(ConnectionsPerAddress::default());
    let (stop, stopping) = tokio::sync::watch::channel(false);
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
        let client = remote.ip().to_canonical();
        let counted = if settings.trusted_proxies.contains(&client) {
            None
        } else {
            match per_address.open(
                crate::rate_limit::address_key(client),
                settings.max_connections_per_address,
            ) {
                Some(counted) => Some(counted),
                None => {
                    tracing::info!(%client, "too many connections from one address; closed");
                    continue;
                }
            }
        };
        let _ = stream.set_nodelay(true);
        let service = router
            .clone()
            .map_request(move |mut request: hyper::Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(remote));
                request.map(Body::new)
            });
        let builder = builder.clone();
        let mut stopping = stopping.clone();
        tokio::spawn(async move {
            let connection =
                builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
            tokio::pin!(connection);
            let ended = tokio::select! {
                result = connection.as_mut() => Some(result),
                () = tokio::time::sleep(CONNECTION_LIFETIME) => None,
                _ = stopping.wait_for(|stop| *stop) => None,
            };
            let result = match ended {
                Some(result) => result,
                None => {
                    connection.as_mut().graceful_shutdown();
                    tokio::time::timeout(SHUTDOWN_GRACE, connection)
                        .await
                        .unwrap_or(Ok(()))
                }
            };
            if let Err(error) = result {
                tracing::debug!(%error, %client, "connection ended with an error");
            }
            drop(counted);
            drop(permit);
        });
    }
    drop(listener);
    let _ = stop.send(true);
    // Every connection gives its permit back once it has closed.
    let all = u32::try_from(settings.max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(SHUTDOWN_GRACE * 2, connections.acquire_many(all))
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
        settings.max_connections_per_address = 4;
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

        // Silent connections, more than one address may hold, and a slowloris that
        // dribbles a header: all are closed, the silent ones after the timeout.
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

        // One address holds at most its share: the next connection is closed at once.
        let mut held = Vec::new();
        for _ in 0..4 {
            held.push(tokio::net::TcpStream::connect(address).await.unwrap());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut refused = tokio::net::TcpStream::connect(address).await.unwrap();
        let closed_at_once =
            tokio::time::timeout(Duration::from_millis(250), refused.read(&mut buffer)).await;
        assert!(
            matches!(closed_at_once, Ok(Ok(0)) | Ok(Err(_))),
            "a fifth connection from one address was kept"
        );
        drop(held);
        tokio::time::sleep(Duration::from_millis(50)).await;

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
