//! The federation test harness: several real Kindred instances, each under its own host name
//! on its own 127.0.0.x address, talking HTTP to each other. Tests live in `tests/`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod peer;
pub mod webdriver;

use activitypub_federation::config::{Data, FederationConfig};
use kindred::{
    app::{self, RunningServer},
    config::Config,
    context::AppState,
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
    pub config: Config,
}

impl TestInstance {
    pub fn federation(&self) -> &FederationConfig<AppState> {
        &self.server.federation
    }

    /// Request data for calling domain functions as this instance.
    pub fn context(&self) -> Data<AppState> {
        self.server.federation.to_request_data()
    }

    /// Kills the instance as a crash would, then starts it again on the same database and
    /// address (so with the same ids).
    pub async fn crash_and_restart(&mut self) {
        let placeholder = RunningServer {
            local_address: self.address,
            federation: self.server.federation.clone(),
            server: tokio::spawn(async { Ok(()) }),
            workers: Vec::new(),
        };
        let running = std::mem::replace(&mut self.server, placeholder);
        running.kill().await;
        let listener = loop {
            match TcpListener::bind(self.address).await {
                Ok(listener) => break listener,
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            }
        };
        let federation = testing::test_federation(self.config.clone(), &self.database)
            .await
            .unwrap();
        self.server = app::start(federation, listener).await.unwrap();
    }

    /// Creates a local group on this instance, titled "Group <name>".
    pub async fn create_group(&self, name: &str) -> kindred_entities::actor::Model {
        let context = self.context();
        kindred::groups::directory::create_group(
            &self.database.connection,
            &context.config,
            &context.keys,
            kindred::groups::directory::NewGroup {
                name,
                title: &format!("Group {name}"),
                summary_markdown: None,
            },
        )
        .await
        .unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        let mut url = self.public_url.clone();
        url.set_path(path);
        url.to_string()
    }

    /// Creates an active local person `name` (password "a long password") on this instance.
    pub async fn create_person(&self, name: &str) -> kindred::accounts::users::UserWithActor {
        let context = self.context();
        kindred::accounts::users::create_user(
            &self.database.connection,
            &context.config,
            &context.keys,
            kindred::accounts::users::NewUser {
                name,
                password: "a long password",
                email: None,
                application_text: None,
            },
            kindred_entities::user::UserState::Active,
            false,
        )
        .await
        .unwrap()
    }

    /// The row id of the post with ActivityPub id `url` on this instance, once it is there
    /// (waits up to 30 seconds, then panics).
    pub async fn post_id_when_there(&self, url: &str) -> i64 {
        use kindred_entities::post;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            if let Some(found) = post::Entity::find()
                .filter(post::Column::ApId.eq(url))
                .one(&self.database.connection)
                .await
                .unwrap()
            {
                return found.id;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("{url} never reached {}", self.name);
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
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
        Self::start_configured(names, peer_names, backend, |_| {}).await
    }

    /// As [`TestNetwork::start_with_peers`], with `configure` applied to every instance's
    /// configuration before it starts.
    pub async fn start_configured(
        names: &[&str],
        peer_names: &[&str],
        backend: Backend,
        configure: impl Fn(&mut Config),
    ) -> TestNetwork {
        app::install_crypto_provider();
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
            configure(&mut config);
            let database = testing::fresh_database(backend).await.unwrap();
            let federation = testing::test_federation(config.clone(), &database)
                .await
                .unwrap();
            let server = app::start(federation, listener).await.unwrap();
            instances.push(TestInstance {
                name: name.to_string(),
                domain,
                public_url,
                address,
                database,
                server,
                config,
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
            instance.server.kill().await;
            instance.database.remove().await.unwrap();
        }
    }

    /// GETs `url` as an ActivityPub client and reads the JSON answer.
    pub async fn fetch_activity_json(&self, url: &str) -> serde_json::Value {
        self.client()
            .get(url)
            .header("accept", "application/activity+json")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// GETs `url` as a browser would (`Accept: text/html`) and reads the page.
    pub async fn fetch_html(&self, url: &str) -> String {
        self.client()
            .get(url)
            .header("accept", "text/html")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
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
pub async fn bind_on_random_loopback_address() -> TcpListener {
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

/// A person `name` on `peer` (with committed test key number `key`) who has joined `group` on
/// `home` by a Follow numbered `follow_id`; returns the person's actor id.
pub async fn join_group(
    peer: &MastodonPeer,
    home: &TestInstance,
    group: &kindred_entities::actor::Model,
    name: &str,
    key: usize,
    follow_id: &str,
) -> String {
    let keys = testing::test_keypairs();
    let id = peer.add_person(name, &keys[key].private_key, &keys[key].public_key);
    let (status, body) = peer
        .send(
            name,
            &home.url("/inbox"),
            &mastodon::follow(&id, &group.ap_id, follow_id),
            &peer::Tampering::default(),
        )
        .await;
    assert_eq!(status.as_u16(), 202, "{body}");
    id
}

/// Waits until `instance` has no fan-out or retry pending, or panics after `timeout`.
pub async fn wait_for_empty_queue(instance: &TestInstance, timeout: std::time::Duration) {
    use kindred_entities::{
        activity,
        delivery::{self, DeliveryState},
    };
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let pending = delivery::Entity::find()
            .filter(delivery::Column::State.eq(DeliveryState::Pending))
            .count(&instance.database.connection)
            .await
            .unwrap()
            + activity::Entity::find()
                .filter(activity::Column::FanoutPending.eq(true))
                .count(&instance.database.connection)
                .await
                .unwrap();
        if pending == 0 {
            return;
        }
        if tokio::time::Instant::now() > deadline {
            panic!(
                "{} still has {pending} pending deliveries after {timeout:?}",
                instance.name
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Activities as Mastodon writes them, for the peers to send.
pub mod mastodon {
    use serde_json::{Value, json};

    pub const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

    pub fn follow(actor: &str, group: &str, id: &str) -> Value {
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{actor}#follows/{id}"),
            "type": "Follow",
            "actor": actor,
            "object": group,
        })
    }

    pub fn undo(actor: &str, inner: &Value, id: &str) -> Value {
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{actor}#undo/{id}"),
            "type": "Undo",
            "actor": actor,
            "object": inner,
        })
    }

    /// A public note that mentions the group, the way Mastodon posts "to" a group.
    pub fn note(actor: &str, note_id: &str, group: &str, group_handle: &str, text: &str) -> Value {
        json!({
            "id": note_id,
            "type": "Note",
            "summary": null,
            "inReplyTo": null,
            "published": "2026-11-27T10:00:00Z",
            "url": note_id,
            "attributedTo": actor,
            "to": [PUBLIC],
            "cc": [format!("{actor}/followers"), group],
            "sensitive": false,
            "content": format!("<p><span class=\"h-card\"><a href=\"{group}\" class=\"u-url mention\">@<span>{group_handle}</span></a></span> {text}</p>"),
            "tag": [{ "type": "Mention", "href": group, "name": format!("@{group_handle}") }],
        })
    }

    /// A reply that, like most Mastodon replies, addresses only the parent's author.
    pub fn reply(
        actor: &str,
        note_id: &str,
        parent: &str,
        parent_author: &str,
        text: &str,
    ) -> Value {
        json!({
            "id": note_id,
            "type": "Note",
            "inReplyTo": parent,
            "published": "2026-11-27T10:05:00Z",
            "attributedTo": actor,
            "to": [PUBLIC],
            "cc": [format!("{actor}/followers"), parent_author],
            "content": format!("<p>{text}</p>"),
            "tag": [{ "type": "Mention", "href": parent_author }],
        })
    }

    pub fn create(actor: &str, note: &Value) -> Value {
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{}/activity", note["id"].as_str().unwrap_or_default()),
            "type": "Create",
            "actor": actor,
            "published": note["published"],
            "to": note["to"],
            "cc": note["cc"],
            "object": note,
        })
    }

    pub fn update(actor: &str, note: &Value, id: &str) -> Value {
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{}#updates/{id}", note["id"].as_str().unwrap_or_default()),
            "type": "Update",
            "actor": actor,
            "to": note["to"],
            "cc": note["cc"],
            "object": note,
        })
    }

    pub fn delete(actor: &str, note_id: &str) -> Value {
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{note_id}#delete"),
            "type": "Delete",
            "actor": actor,
            "to": [PUBLIC],
            "object": { "id": note_id, "type": "Tombstone", "atomUri": note_id },
        })
    }

    pub fn like(actor: &str, object: &str, id: &str) -> Value {
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{actor}#likes/{id}"),
            "type": "Like",
            "actor": actor,
            "object": object,
        })
    }
}

/// A signed-in client of one instance's JSON API, for the tests that act as its users.
pub struct ApiClient {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl ApiClient {
    /// Creates the account `name` on `instance` and signs it in through the API.
    pub async fn sign_up(network: &TestNetwork, instance: &TestInstance, name: &str) -> ApiClient {
        let context = instance.context();
        kindred::accounts::users::create_user(
            &instance.database.connection,
            &context.config,
            &context.keys,
            kindred::accounts::users::NewUser {
                name,
                password: "a long password",
                email: None,
                application_text: None,
            },
            kindred_entities::user::UserState::Active,
            false,
        )
        .await
        .unwrap();
        let client = network.client();
        let base = format!("{}api/v1", instance.public_url);
        let answer: serde_json::Value = client
            .post(format!("{base}/auth/token"))
            .json(&serde_json::json!({ "name": name, "password": "a long password" }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        ApiClient {
            client,
            base,
            token: answer["token"].as_str().unwrap().to_string(),
        }
    }

    /// Calls the API; the status and the JSON answer (`Null` when there is none).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
        )
    }

    /// Uploads a picture with `POST /media` (multipart, as an app sends one); the status and
    /// the JSON answer.
    pub async fn upload_picture(
        &self,
        bytes: &[u8],
        description: Option<&str>,
    ) -> (u16, serde_json::Value) {
        let boundary = "kindred-api-test-boundary-3c0d";
        let mut body = Vec::new();
        if let Some(description) = description {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\n{description}\r\n"
                )
                .as_bytes(),
            );
        }
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"picture\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let response = self
            .client
            .post(format!("{}/media", self.base))
            .bearer_auth(&self.token)
            .header(
                reqwest::header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
        )
    }

    /// A GET that must answer 200.
    pub async fn get(&self, path: &str) -> serde_json::Value {
        let (status, json) = self.call(reqwest::Method::GET, path, None).await;
        assert_eq!(status, 200, "GET {path}: {json}");
        json
    }

    /// A call that must answer `expected`.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
        expected: u16,
    ) -> serde_json::Value {
        let (status, json) = self.call(method.clone(), path, body).await;
        assert_eq!(status, expected, "{method} {path}: {json}");
        json
    }
}

/// Polls `check` until it is true, or panics with `what` after 20 seconds.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while !check().await {
        if tokio::time::Instant::now() > deadline {
            panic!("never happened: {what}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
