//! The federation test harness: several real Kindred instances, each under its own host name
//! on its own 127.0.0.x address, talking HTTP to each other. Tests live in `tests/`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod peer;

use activitypub_federation::config::{Data, FederationConfig};
use kindred::{
    app::{self, AppState, RunningServer},
    config::Config,
    testing::{self, Backend, TestDatabase},
};
use peer::MastodonPeer;
use std::{
    collections::BTreeMap,
    net::{IpAddr, Ipv4Addr, SocketAddr},
};
use tokio::net::TcpListener;
use url::Url;

/// One running Kindred instance.
pub struct TestInstance {
    pub name: String,
    /// `name.test:port`: the instance's domain, as it appears in ids and handles.
    pub domain: String,
    pub public_url: Url,
    pub address: SocketAddr,
    pub database: TestDatabase,
    pub server: RunningServer,
}

impl TestInstance {
    pub fn federation(&self) -> &FederationConfig<AppState> {
        &self.server.federation
    }

    /// Request data for calling domain functions as this instance.
    pub fn context(&self) -> Data<AppState> {
        self.server.federation.to_request_data()
    }

    pub fn url(&self, path: &str) -> String {
        let mut url = self.public_url.clone();
        url.set_path(path);
        url.to_string()
    }
}

/// Several instances (and Mastodon-like peers) that reach each other by host name.
pub struct TestNetwork {
    pub instances: Vec<TestInstance>,
    pub peers: Vec<MastodonPeer>,
    /// Every host name in the network and the address it resolves to.
    pub hosts: BTreeMap<String, IpAddr>,
}

impl TestNetwork {
    /// Starts one instance per name (`alpha` becomes `alpha.test`) on `backend`.
    pub async fn start(names: &[&str], backend: Backend) -> TestNetwork {
        Self::start_with_peers(names, &[], backend).await
    }

    /// Starts Kindred instances and Mastodon-like peers, all resolvable by name.
    pub async fn start_with_peers(
        names: &[&str],
        peer_names: &[&str],
        backend: Backend,
    ) -> TestNetwork {
        // Bind every listener first: each server must know every other's address.
        let mut listeners = Vec::new();
        let mut peer_listeners = Vec::new();
        let mut hosts = BTreeMap::new();
        for name in names {
            let listener = bind_on_random_loopback_address().await;
            hosts.insert(format!("{name}.test"), listener.local_addr().unwrap().ip());
            listeners.push(listener);
        }
        for name in peer_names {
            let listener = bind_on_random_loopback_address().await;
            hosts.insert(format!("{name}.test"), listener.local_addr().unwrap().ip());
            peer_listeners.push(listener);
        }
        let mut peers = Vec::new();
        for (name, listener) in peer_names.iter().zip(peer_listeners) {
            let domain = format!("{name}.test:{}", listener.local_addr().unwrap().port());
            peers.push(MastodonPeer::start(listener, domain, &hosts).await);
        }
        let mut instances = Vec::new();
        for (name, listener) in names.iter().zip(listeners) {
            let address = listener.local_addr().unwrap();
            let domain = format!("{name}.test:{}", address.port());
            let public_url = Url::parse(&format!("http://{domain}")).unwrap();
            let mut config: Config = testing::test_config(public_url.as_str()).unwrap();
            config.federation.resolve = hosts.clone();
            config.http.listen = address;
            let database = testing::fresh_database(backend).await.unwrap();
            let federation = testing::test_federation(config, &database).await.unwrap();
            let server = app::start(federation, listener).await.unwrap();
            instances.push(TestInstance {
                name: name.to_string(),
                domain,
                public_url,
                address,
                database,
                server,
            });
        }
        TestNetwork {
            instances,
            peers,
            hosts,
        }
    }

    pub fn instance(&self, name: &str) -> &TestInstance {
        self.instances
            .iter()
            .find(|instance| instance.name == name)
            .unwrap_or_else(|| panic!("no instance named {name}"))
    }

    pub fn peer(&self, index: usize) -> &MastodonPeer {
        &self.peers[index]
    }

    /// Stops every server and removes every database.
    pub async fn stop(self) {
        for instance in self.instances {
            instance.server.server.abort();
            let _ = instance.server.server.await;
            instance.database.remove().await.unwrap();
        }
    }

    /// An HTTP client that resolves this network's host names, for tests acting as a peer.
    pub fn client(&self) -> reqwest::Client {
        let mut builder = reqwest::Client::builder();
        for (host, address) in &self.hosts {
            builder = builder.resolve(host, SocketAddr::new(*address, 0));
        }
        builder.build().unwrap()
    }
}

/// A listener on 127.0.0.x (x chosen at random in 2..=254) and a free port.
async fn bind_on_random_loopback_address() -> TcpListener {
    loop {
        let last_octet = 2 + (rand_u8() % 253);
        let address = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last_octet)), 0);
        if let Ok(listener) = TcpListener::bind(address).await {
            return listener;
        }
    }
}

fn rand_u8() -> u8 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(std::process::id() as u64);
    (hasher.finish() % 256) as u8
}
