//! Kindred's benchmarks. They print figures; they assert nothing about speed.
//!
//! ```sh
//! cargo build --release -p kindred
//! cargo bench -p kindred-federation-tests --bench performance -- all
//! ```
//!
//! Scenarios (pick one or `all`): `crypto` (sign/verify rates on one core), `fanout` (one post
//! into a group with members on 1,000 loopback servers that verify every signature),
//! `fanout10k` (the same with 10,000 servers: 20,000 deliveries; not part of `all`), `faults`
//! (the same with 10% of the servers failing or hanging), `crash` (a fan-out killed and
//! restarted: what was sent twice), `inbox` (5,000 signed Create{Note}
//! from 100 members on 20 servers, posted concurrently), `reads` (wrk against the Group actor
//! and the first outbox page; needs `wrk`). Kindred runs as its own release process, so its
//! peak RSS is its own. `--postgres URL` runs on a fresh PostgreSQL database made on that
//! server instead of SQLite.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode, Uri},
    routing::post,
};
use chrono::Utc;
use kindred::{
    config::Config,
    database,
    federation::signatures::{self, SigningKey, VerifyingKey},
    groups::directory::{self, NewGroup},
    testing,
};
use kindred_entities::{
    actor::{self, ActorKind},
    membership::{self, MembershipState},
};
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait};
use serde_json::json;
use std::{
    collections::BTreeMap,
    net::{IpAddr, Ipv4Addr, SocketAddr},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant, SystemTime},
};
use tokio::net::TcpListener;
use url::Url;

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    kindred::app::install_crypto_provider();
    let arguments: Vec<String> = std::env::args()
        .skip(1)
        .filter(|argument| argument != "--bench")
        .collect();
    let postgres = arguments
        .iter()
        .position(|argument| argument == "--postgres")
        .and_then(|index| arguments.get(index + 1).cloned());
    let scenario = arguments
        .iter()
        .find(|argument| {
            [
                "crypto",
                "fanout",
                "fanout10k",
                "faults",
                "crash",
                "inbox",
                "reads",
                "all",
            ]
            .contains(&argument.as_str())
        })
        .cloned()
        .unwrap_or_else(|| "all".to_string());
    let binary = kindred_binary();
    println!(
        "Kindred benchmarks on {} cores; database: {}",
        num_cores(),
        if postgres.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );
    println!("kindred binary: {}", binary.display());
    let all = scenario == "all";
    if all || scenario == "crypto" {
        crypto();
    }
    if all || scenario == "fanout" {
        fan_out(&binary, postgres.as_deref(), 1000, 0.0).await;
    }
    if scenario == "fanout10k" {
        fan_out(&binary, postgres.as_deref(), 10_000, 0.0).await;
    }
    if all || scenario == "faults" {
        fan_out(&binary, postgres.as_deref(), 1000, 0.10).await;
    }
    if all || scenario == "crash" {
        crash_during_fan_out(&binary, postgres.as_deref()).await;
    }
    if all || scenario == "inbox" {
        // Short notes, and notes of the size Mastodon sends (about 3 KB).
        inbox(&binary, postgres.as_deref(), 500).await;
        inbox(&binary, postgres.as_deref(), 3000).await;
    }
    if all || scenario == "reads" {
        reads(&binary, postgres.as_deref()).await;
    }
}

fn num_cores() -> usize {
    std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(1)
}

/// `target/release/kindred`, built by `cargo build --release -p kindred`.
fn kindred_binary() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let binary = target.join("release/kindred");
    assert!(
        binary.exists(),
        "build it first: cargo build --release -p kindred ({} missing)",
        binary.display()
    );
    binary
}

/// Sign and verify rates of the fast path (ring) and the pure-Rust `rsa` crate, one core each.
fn crypto() -> (f64, f64) {
    use rsa::{Pkcs1v15Sign, RsaPrivateKey, pkcs8::DecodePrivateKey};
    use sha2::{Digest, Sha256};
    let keys = testing::test_keypairs();
    let message =
        b"(request-target): post /inbox\nhost: a.example\ndate: Fri, 27 Nov 2026 10:00:00 GMT";
    let fast = SigningKey::from_pkcs8_pem(&keys[0].private_key).unwrap();
    let verifier = VerifyingKey::from_public_key_pem(&keys[0].public_key).unwrap();
    let signature = fast.sign(message).unwrap();
    let rate = |iterations: usize, mut operation: Box<dyn FnMut()>| {
        let start = Instant::now();
        for _ in 0..iterations {
            operation();
        }
        iterations as f64 / start.elapsed().as_secs_f64()
    };
    let ring_sign = rate(
        2000,
        Box::new(|| {
            fast.sign(message).unwrap();
        }),
    );
    let ring_verify = rate(
        20000,
        Box::new(|| {
            assert!(verifier.verify(message, &signature));
        }),
    );
    let slow = RsaPrivateKey::from_pkcs8_pem(&keys[0].private_key).unwrap();
    let digest = Sha256::digest(message);
    let rsa_sign = rate(
        300,
        Box::new(|| {
            slow.sign(Pkcs1v15Sign::new::<Sha256>(), &digest).unwrap();
        }),
    );
    println!("\n== crypto (RSA-2048, PKCS#1 v1.5 SHA-256, one core)");
    println!("ring sign:        {ring_sign:>8.0} /s");
    println!("ring verify:      {ring_verify:>8.0} /s");
    println!("rsa crate sign:   {rsa_sign:>8.0} /s (what the federation crate signs with)");
    (ring_sign, ring_verify)
}

/// A Kindred release process with its own configuration and database.
struct KindredProcess {
    child: Child,
    base: String,
    _directory: tempfile::TempDir,
}

impl KindredProcess {
    /// SIGKILL, then `kindred serve` again on the same configuration and database.
    async fn kill_and_restart(&mut self, binary: &Path) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = Command::new(binary)
            .arg("--config")
            .arg(self._directory.path().join("kindred.toml"))
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let client = reqwest::Client::new();
        for _ in 0..200 {
            if client
                .get(format!("{}/healthz", self.base))
                .send()
                .await
                .is_ok_and(|response| response.status().is_success())
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn peak_rss_megabytes(&self) -> f64 {
        proc_status_kilobytes(self.child.id(), "VmHWM") / 1024.0
    }

    fn rss_megabytes(&self) -> f64 {
        proc_status_kilobytes(self.child.id(), "VmRSS") / 1024.0
    }
}

impl Drop for KindredProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn proc_status_kilobytes(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|line| line.starts_with(field))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|value| value.parse().ok())
        .unwrap_or(0.0)
}

/// What a benchmark instance needs before it starts: its config, its database with a group.
struct Prepared {
    config: Config,
    database: DatabaseConnection,
    group: actor::Model,
    directory: tempfile::TempDir,
    listener_port: u16,
}

async fn prepare(
    postgres: Option<&str>,
    hosts: &BTreeMap<String, IpAddr>,
    configure: impl Fn(&mut Config),
) -> Prepared {
    let directory = tempfile::tempdir().unwrap();
    let port = {
        let probe = std::net::TcpListener::bind((LOOPBACK, 0)).unwrap();
        probe.local_addr().unwrap().port()
    };
    let database_url = match postgres {
        Some(admin) => {
            let test_database = testing::TestDatabase::postgres(admin).await.unwrap();
            let url = test_database.url.clone();
            // Keep it: the Kindred process uses it; the server drops it with the cluster's
            // next cleanup of test databases.
            std::mem::forget(test_database);
            url
        }
        None => format!(
            "sqlite://{}?mode=rwc",
            directory.path().join("kindred.sqlite").display()
        ),
    };
    let mut config = testing::test_config(&format!("http://home.bench.test:{port}")).unwrap();
    config.http.listen = SocketAddr::new(LOOPBACK, port);
    config.database.url = database_url.clone();
    config.federation.resolve = hosts.clone();
    config
        .federation
        .resolve
        .insert("home.bench.test".into(), LOOPBACK);
    config.federation.request_timeout = Duration::from_secs(5);
    config.delivery.retry_initial = Duration::from_secs(2);
    config.delivery.retry_max = Duration::from_secs(60);
    config.log.filter = "warn".into();
    // Every simulated server and client shares 127.0.0.1: the per-address allowances would
    // measure themselves.
    config.http.reads_per_minute_per_address = 0;
    config.http.anonymous_posts_per_minute_per_address = 0;
    config.http.inbox_posts_per_minute_per_address = 0;
    config.http.max_connections_per_address = config.http.max_connections;
    configure(&mut config);
    let database = database::connect_url(&database_url, 5).await.unwrap();
    database::migrate(&database).await.unwrap();
    let group = directory::create_group(
        &database,
        &config,
        &testing::test_key_source(),
        NewGroup {
            name: "bench",
            title: "Benchmark group",
            summary_markdown: Some("Where the figures come from."),
        },
    )
    .await
    .unwrap();
    Prepared {
        config,
        database,
        group,
        directory,
        listener_port: port,
    }
}

/// Writes the config as TOML and starts `kindred serve` on it; waits until it answers.
async fn start_kindred(
    binary: &Path,
    prepared: Prepared,
) -> (KindredProcess, DatabaseConnection, actor::Model, Config) {
    let Prepared {
        config,
        database,
        group,
        directory,
        listener_port,
    } = prepared;
    let toml_text = config_toml(&config);
    let path = directory.path().join("kindred.toml");
    std::fs::write(&path, toml_text).unwrap();
    let child = Command::new(binary)
        .arg("--config")
        .arg(&path)
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{listener_port}");
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|response| response.status().is_success())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (
        KindredProcess {
            child,
            base,
            _directory: directory,
        },
        database,
        group,
        config,
    )
}

/// The configuration as a file (durations are whole seconds there, as `prepare` sets them).
fn config_toml(config: &Config) -> String {
    toml::to_string(config).unwrap()
}

/// Inserts remote people (with their public keys) and makes them accepted members.
async fn add_members(
    database: &DatabaseConnection,
    group: &actor::Model,
    people: &[(String, String, String)],
) {
    let now = Utc::now();
    for chunk in people.chunks(200) {
        let rows = chunk
            .iter()
            .map(|(id, inbox, public_key)| actor::ActiveModel {
                ap_id: Set(id.clone()),
                kind: Set(ActorKind::Person),
                local: Set(false),
                preferred_username: Set(id.rsplit('/').next().unwrap_or("someone").to_string()),
                inbox_url: Set(inbox.clone()),
                shared_inbox_url: Set(None),
                public_key_pem: Set(public_key.clone()),
                manually_approves_followers: Set(false),
                posting_restricted_to_mods: Set(false),
                discoverable: Set(true),
                // In the future, so that Kindred (in debug mode, which refreshes actors after 20 s)
                // never tries to refetch these made-up people during a run.
                last_refreshed_at: Set(now + chrono::Duration::days(1)),
                created_at: Set(now),
                ..Default::default()
            });
        actor::Entity::insert_many(rows)
            .exec_without_returning(database)
            .await
            .unwrap();
    }
    let ids: Vec<String> = people.iter().map(|(id, _, _)| id.clone()).collect();
    use sea_orm::{ColumnTrait, QueryFilter};
    let mut stored = Vec::new();
    for chunk in ids.chunks(200) {
        stored.extend(
            actor::Entity::find()
                .filter(actor::Column::ApId.is_in(chunk.to_vec()))
                .all(database)
                .await
                .unwrap(),
        );
    }
    for chunk in stored.chunks(200) {
        let rows = chunk.iter().map(|person| membership::ActiveModel {
            group_id: Set(group.id),
            member_id: Set(person.id),
            state: Set(MembershipState::Accepted),
            follow_activity_ap_id: Set(Some(format!("{}#follow", person.ap_id))),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        });
        membership::Entity::insert_many(rows)
            .exec_without_returning(database)
            .await
            .unwrap();
    }
}

/// How a loopback receiver answers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    Healthy,
    Fails,
    Hangs,
    /// Answers 202 after 1.5 s (what a kill catches in flight).
    Slow,
}

struct ReceiverState {
    key: VerifyingKey,
    behaviour: Behaviour,
    started: Arc<Mutex<Option<Instant>>>,
    /// Latency (from the start) of every verified Announce{Create}, and of every boost.
    creates: Arc<Mutex<Vec<Duration>>>,
    boosts: Arc<Mutex<Vec<Duration>>>,
    attempts: Arc<AtomicUsize>,
    bad_signatures: Arc<AtomicUsize>,
}

async fn receive(
    State(state): State<Arc<ReceiverState>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    state.attempts.fetch_add(1, Ordering::Relaxed);
    match state.behaviour {
        Behaviour::Fails => return StatusCode::INTERNAL_SERVER_ERROR,
        Behaviour::Hangs => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return StatusCode::OK;
        }
        // A request cut off by the sender's crash is dropped here, unanswered and uncounted.
        Behaviour::Slow => tokio::time::sleep(Duration::from_millis(1500)).await,
        Behaviour::Healthy => {}
    }
    let path = uri
        .path_and_query()
        .map(|path| path.as_str())
        .unwrap_or("/");
    // The receiver checks what a Kindred inbox checks: the digest, then the signature bound
    // to this request (the receiver answers whatever host it was sent to).
    let host = headers
        .get("host")
        .and_then(|host| host.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let verified = signatures::verify_digest(&headers, &body).and_then(|()| {
        signatures::verify_request_signature(
            &state.key,
            "POST",
            path,
            &headers,
            &host,
            std::time::SystemTime::now(),
        )
    });
    if verified.is_err() {
        state.bad_signatures.fetch_add(1, Ordering::Relaxed);
        return StatusCode::UNAUTHORIZED;
    }
    let elapsed = state
        .started
        .lock()
        .unwrap()
        .map(|start| start.elapsed())
        .unwrap_or_default();
    let activity: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    if activity["object"].is_string() {
        state.boosts.lock().unwrap().push(elapsed);
    } else {
        state.creates.lock().unwrap().push(elapsed);
    }
    StatusCode::ACCEPTED
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * fraction).round() as usize]
}

/// A fan-out to 200 servers, 60 of them slow (1.5 s), killed with SIGKILL 0.07 s (then 0.3
/// and 0.8 s) after the post was accepted and restarted: how many copies went a second time to servers that had
/// them already (what the checkpoint could not know).
async fn crash_during_fan_out(binary: &Path, postgres: Option<&str>) {
    // 0.07 s is the issue's moment; later ones catch more of the fan-out done.
    for kill_after in [70, 300, 800] {
        fan_out_with(
            binary,
            postgres,
            200,
            60,
            Some(Duration::from_millis(kill_after)),
        )
        .await;
    }
}

/// One post into a group whose members live on `servers` loopback servers.
async fn fan_out(binary: &Path, postgres: Option<&str>, servers: usize, faulty_fraction: f64) {
    let faulty = (servers as f64 * faulty_fraction).round() as usize;
    fan_out_with(binary, postgres, servers, faulty, None).await;
}

/// As [`fan_out`], with `faulty` failing servers, or, with `kill_after`, that many slow ones
/// and a crash.
async fn fan_out_with(
    binary: &Path,
    postgres: Option<&str>,
    servers: usize,
    faulty: usize,
    kill_after: Option<Duration>,
) {
    if let Some(kill_after) = kill_after {
        println!(
            "\n== crash during a fan-out: {servers} servers, {faulty} slow (1.5 s), SIGKILL {} ms after the post",
            kill_after.as_millis()
        );
    } else {
        println!(
            "\n== fan-out: one post, members on {servers} servers{}",
            if faulty > 0 {
                format!(", {faulty} of them failing (half 500, half hanging)")
            } else {
                String::new()
            }
        );
    }
    let keys = testing::test_keypairs();
    // Past a few thousand servers one listener answers them all (each still under its own
    // host name, so Kindred keeps a connection, a slot and a signature per server): a listener
    // each would take more file descriptors than the process may open.
    let shared_listener = servers > 2000 && faulty == 0 && kill_after.is_none();
    let mut listeners = Vec::new();
    let mut hosts = BTreeMap::new();
    for index in 0..=servers {
        hosts.insert(format!("s{index:04}.bench.test"), LOOPBACK);
        if !shared_listener || index <= 1 {
            listeners.push(Some(TcpListener::bind((LOOPBACK, 0)).await.unwrap()));
        }
    }
    let ports: Vec<u16> = listeners
        .iter()
        .flatten()
        .map(|listener| listener.local_addr().unwrap().port())
        .collect();
    let prepared = prepare(postgres, &hosts, |config| {
        config.delivery.concurrency = 256;
        config.delivery.per_instance_concurrency = 4;
    })
    .await;
    let group_key = VerifyingKey::from_public_key_pem(&prepared.group.public_key_pem).unwrap();
    let started = Arc::new(Mutex::new(None));
    let creates = Arc::new(Mutex::new(Vec::new()));
    let boosts = Arc::new(Mutex::new(Vec::new()));
    let bad_signatures = Arc::new(AtomicUsize::new(0));
    let mut faulty_attempts = Vec::new();
    let mut people = Vec::new();
    // Server 0 hosts the author; servers 1..=N the members whose deliveries are measured.
    for index in 0..=servers {
        let slot = if shared_listener { index.min(1) } else { index };
        let port = ports[slot];
        // The slow ones are spread through the list, as they are in a real member list.
        let behaviour = if index == 0 {
            Behaviour::Healthy
        } else if kill_after.is_some() {
            if index % (servers / faulty.max(1)).max(1) == 0
                && index / (servers / faulty.max(1)).max(1) <= faulty
            {
                Behaviour::Slow
            } else {
                Behaviour::Healthy
            }
        } else if index > faulty {
            Behaviour::Healthy
        } else if index % 2 == 0 {
            Behaviour::Fails
        } else {
            Behaviour::Hangs
        };
        let attempts = Arc::new(AtomicUsize::new(0));
        if behaviour != Behaviour::Healthy {
            faulty_attempts.push((behaviour, attempts.clone()));
        }
        let state = Arc::new(ReceiverState {
            key: VerifyingKey::from_public_key_pem(&prepared.group.public_key_pem).unwrap(),
            behaviour,
            started: started.clone(),
            creates: if index == 0 {
                Arc::new(Mutex::new(Vec::new()))
            } else {
                creates.clone()
            },
            boosts: if index == 0 {
                Arc::new(Mutex::new(Vec::new()))
            } else {
                boosts.clone()
            },
            attempts,
            bad_signatures: bad_signatures.clone(),
        });
        if let Some(listener) = listeners[slot].take() {
            let app = Router::new()
                .route("/inbox", post(receive))
                .with_state(state);
            tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            });
        }
        let id = format!("http://s{index:04}.bench.test:{port}/users/member");
        people.push((
            id,
            format!("http://s{index:04}.bench.test:{port}/inbox"),
            keys[1].public_key.clone(),
        ));
    }
    drop(group_key);
    add_members(&prepared.database, &prepared.group, &people).await;
    let author = people[0].0.clone();
    let (mut kindred, _database, group, config) = start_kindred(binary, prepared).await;

    let note_id = format!("{author}/statuses/1");
    let create = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{note_id}/activity"),
        "type": "Create",
        "actor": author,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "cc": [group.ap_id],
        "object": {
            "id": note_id, "type": "Note", "attributedTo": author,
            "to": ["https://www.w3.org/ns/activitystreams#Public"], "cc": [group.ap_id],
            "content": "<p>@bench Benchmark thread</p>",
            "tag": [{"type": "Mention", "href": group.ap_id}],
        },
    });
    let body = serde_json::to_vec(&create).unwrap();
    let inbox = Url::parse(&format!(
        "http://home.bench.test:{}/inbox",
        config.http.listen.port()
    ))
    .unwrap();
    let signer = SigningKey::from_pkcs8_pem(&keys[1].private_key).unwrap();
    let signed = signatures::sign_post(
        &signer,
        &format!("{author}#main-key"),
        &inbox,
        &body,
        SystemTime::now(),
    )
    .unwrap();
    let client = reqwest::Client::builder()
        .resolve("home.bench.test", SocketAddr::new(LOOPBACK, 0))
        .build()
        .unwrap();
    *started.lock().unwrap() = Some(Instant::now());
    let response = client
        .post(inbox.as_str())
        .headers(signed.into_headers().unwrap())
        .body(body)
        .send()
        .await
        .unwrap();
    let accepted_after = started.lock().unwrap().unwrap().elapsed();
    assert_eq!(
        response.status().as_u16(),
        202,
        "{}",
        response.text().await.unwrap_or_default()
    );

    if let Some(kill_after) = kill_after {
        tokio::time::sleep(kill_after.saturating_sub(accepted_after)).await;
        let before_kill = creates.lock().unwrap().len() + boosts.lock().unwrap().len();
        // The slow servers' requests under way: the sender cannot know they will arrive.
        let in_flight: usize = faulty_attempts
            .iter()
            .map(|(_, attempts)| attempts.load(Ordering::Relaxed))
            .sum();
        kindred.kill_and_restart(binary).await;
        let deadline = Instant::now() + Duration::from_secs(60);
        while (creates.lock().unwrap().len() < servers || boosts.lock().unwrap().len() < servers)
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Let the restarted fan-out finish what it resends.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let received = creates.lock().unwrap().len() + boosts.lock().unwrap().len();
        println!("copies received before the kill:      {before_kill:>8}");
        println!("requests in flight to slow servers:   {in_flight:>8}");
        println!(
            "copies received in all:               {received:>8} (of {} distinct)",
            2 * servers
        );
        println!(
            "sent a second time to servers that had them: {:>3}",
            received.saturating_sub(2 * servers)
        );
        return;
    }
    let healthy = servers - faulty;
    let deadline = Instant::now() + Duration::from_secs(60);
    while (creates.lock().unwrap().len() < healthy || boosts.lock().unwrap().len() < healthy)
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut create_latencies = creates.lock().unwrap().clone();
    let mut boost_latencies = boosts.lock().unwrap().clone();
    create_latencies.sort();
    boost_latencies.sort();
    let all_creates = create_latencies.last().copied().unwrap_or_default();
    let everything = all_creates.max(boost_latencies.last().copied().unwrap_or_default());
    let delivered = create_latencies.len() + boost_latencies.len();
    println!(
        "post accepted (202) after:            {:>8.1} ms",
        accepted_after.as_secs_f64() * 1000.0
    );
    println!(
        "Announce{{Create}} verified at servers: {:>5} of {healthy} healthy",
        create_latencies.len()
    );
    println!(
        "  all of them within:                 {:>8.1} ms",
        all_creates.as_secs_f64() * 1000.0
    );
    println!(
        "  p50 / p99 latency:                  {:>8.1} / {:.1} ms",
        percentile(&create_latencies, 0.5).as_secs_f64() * 1000.0,
        percentile(&create_latencies, 0.99).as_secs_f64() * 1000.0
    );
    println!(
        "boosts (Announce{{post id}}) verified:   {:>5}; everything within {:.1} ms",
        boost_latencies.len(),
        everything.as_secs_f64() * 1000.0
    );
    println!(
        "deliveries/s (both Announces):        {:>8.0}",
        delivered as f64 / everything.as_secs_f64().max(1e-9)
    );
    println!(
        "bad signatures seen by receivers:     {:>8}",
        bad_signatures.load(Ordering::Relaxed)
    );
    println!(
        "Kindred peak RSS:                     {:>8.1} MB",
        kindred.peak_rss_megabytes()
    );
    if faulty > 0 {
        // Let the failing servers' first retry fall due (retry_initial = 2 s, ±20%).
        tokio::time::sleep(Duration::from_secs(4)).await;
        let failing: usize = faulty_attempts
            .iter()
            .filter(|(behaviour, _)| *behaviour == Behaviour::Fails)
            .map(|(_, attempts)| attempts.load(Ordering::Relaxed))
            .sum();
        let hanging: usize = faulty_attempts
            .iter()
            .filter(|(behaviour, _)| *behaviour == Behaviour::Hangs)
            .map(|(_, attempts)| attempts.load(Ordering::Relaxed))
            .sum();
        let failing_servers = faulty_attempts
            .iter()
            .filter(|(behaviour, _)| *behaviour == Behaviour::Fails)
            .count();
        println!(
            "failing (500) servers: {failing} attempts over {failing_servers} servers after 4 s (first try plus scheduled retries)"
        );
        println!(
            "hanging servers: {hanging} attempts in flight or timed out (timeout {} s)",
            config.federation.request_timeout.as_secs()
        );
    }
    drop(kindred);
}

/// 5,000 signed Create{Note} from 100 members on 20 servers, sent concurrently.
async fn inbox(binary: &Path, postgres: Option<&str>, note_bytes: usize) {
    const SERVERS: usize = 20;
    const MEMBERS_PER_SERVER: usize = 5;
    const ACTIVITIES: usize = 5000;
    let connections: usize = std::env::var("BENCH_CONNECTIONS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(64);
    println!(
        "\n== inbox: {ACTIVITIES} signed Create{{Note}} of about {note_bytes} bytes from {} members on {SERVERS} servers, {connections} at a time",
        SERVERS * MEMBERS_PER_SERVER
    );
    // Text in paragraphs, as a long Mastodon note carries it, to make the body that size.
    let padding = "<p>Bring the broken toaster, a screwdriver set and the manual if you still \
                   have it; we will look at the heating element first.</p>"
        .repeat(note_bytes.saturating_sub(600) / 120);
    let mut hosts = BTreeMap::new();
    for server in 0..SERVERS {
        hosts.insert(format!("m{server:02}.bench.test"), LOOPBACK);
    }
    let prepared = prepare(postgres, &hosts, |config| {
        // Measure the inbox alone: the fan-out is enqueued, not sent, during the run.
        config.delivery.worker = false;
    })
    .await;
    let keys = testing::test_keypairs();
    let mut people = Vec::new();
    for server in 0..SERVERS {
        for member in 0..MEMBERS_PER_SERVER {
            let key = &keys[(server * MEMBERS_PER_SERVER + member) % keys.len()];
            people.push((
                format!("http://m{server:02}.bench.test/users/u{member}"),
                format!("http://m{server:02}.bench.test/inbox"),
                key.public_key.clone(),
            ));
        }
    }
    add_members(&prepared.database, &prepared.group, &people).await;
    let (kindred, database, group, config) = start_kindred(binary, prepared).await;
    let inbox = Url::parse(&format!(
        "http://home.bench.test:{}/inbox",
        config.http.listen.port()
    ))
    .unwrap();
    let signers: Vec<SigningKey> = (0..people.len())
        .map(|index| SigningKey::from_pkcs8_pem(&keys[index % keys.len()].private_key).unwrap())
        .collect();

    let signing_started = Instant::now();
    let mut requests = Vec::with_capacity(ACTIVITIES);
    for index in 0..ACTIVITIES {
        let author_index = index % people.len();
        let author = &people[author_index].0;
        let note_id = format!("{author}/statuses/{index}");
        let create = json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{note_id}/activity"),
            "type": "Create",
            "actor": author,
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "cc": [group.ap_id],
            "object": {
                "id": note_id, "type": "Note", "attributedTo": author,
                "to": ["https://www.w3.org/ns/activitystreams#Public"], "cc": [group.ap_id],
                "content": format!("<p>@bench Note number {index}</p>{padding}"),
                "tag": [{"type": "Mention", "href": group.ap_id}],
            },
        });
        let body = serde_json::to_vec(&create).unwrap();
        let signed = signatures::sign_post(
            &signers[author_index],
            &format!("{author}#main-key"),
            &inbox,
            &body,
            SystemTime::now(),
        )
        .unwrap();
        requests.push((signed, body));
    }
    println!(
        "(signing the requests beforehand took {:.1} s; bodies of {} bytes on average)",
        signing_started.elapsed().as_secs_f64(),
        requests.iter().map(|(_, body)| body.len()).sum::<usize>() / requests.len().max(1)
    );

    let client = reqwest::Client::builder()
        .resolve("home.bench.test", SocketAddr::new(LOOPBACK, 0))
        .pool_max_idle_per_host(connections)
        .build()
        .unwrap();
    let queue = Arc::new(Mutex::new(requests));
    let accepted = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (queue, client, inbox, accepted, refused) = (
            queue.clone(),
            client.clone(),
            inbox.clone(),
            accepted.clone(),
            refused.clone(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let Some((signed, body)) = queue.lock().unwrap().pop() else {
                    break;
                };
                let response = client
                    .post(inbox.as_str())
                    .headers(signed.into_headers().unwrap())
                    .body(body)
                    .send()
                    .await;
                match response {
                    Ok(response) if response.status().as_u16() == 202 => {
                        accepted.fetch_add(1, Ordering::Relaxed)
                    }
                    _ => refused.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = started.elapsed();
    let posts = kindred_entities::post::Entity::find()
        .all(&database)
        .await
        .unwrap()
        .len();
    use sea_orm::{ColumnTrait, PaginatorTrait, QueryFilter};
    // Fan-out by reference: one row per outgoing activity, carrying its target inboxes.
    let fan_outs = kindred_entities::activity::Entity::find()
        .filter(kindred_entities::activity::Column::FanoutPending.eq(true))
        .count(&database)
        .await
        .unwrap();
    let metrics = client
        .get(format!("{}/metrics", kindred.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let metric = |name: &str| -> f64 {
        metrics
            .lines()
            .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or(0.0)
    };
    println!(
        "accepted: {} refused: {}",
        accepted.load(Ordering::Relaxed),
        refused.load(Ordering::Relaxed)
    );
    println!(
        "stored posts: {posts}; fan-outs enqueued: {fan_outs} (one row each, for {} member servers)",
        SERVERS
    );
    let (jobs, commits) = (
        metric("kindred_database_writer_jobs_total "),
        metric("kindred_database_writer_commits_total "),
    );
    if commits > 0.0 {
        println!(
            "database writer: {jobs:.0} transactions in {commits:.0} commits ({:.1} per commit)",
            jobs / commits
        );
    }
    println!(
        "activities/s accepted, persisted and fan-out enqueued: {:.0}",
        accepted.load(Ordering::Relaxed) as f64 / elapsed.as_secs_f64()
    );
    println!("Kindred peak RSS: {:.1} MB", kindred.peak_rss_megabytes());
    drop(kindred);
}

/// wrk against the Group actor and the first outbox page; idle RSS first.
async fn reads(binary: &Path, postgres: Option<&str>) {
    println!("\n== reads: wrk -t2 -c50 -d10s");
    let prepared = prepare(postgres, &BTreeMap::new(), |config| {
        config.delivery.worker = true;
    })
    .await;
    let (kindred, _database, _group, config) = start_kindred(binary, prepared).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    println!("Kindred idle RSS: {:.1} MB", kindred.rss_megabytes());
    let port = config.http.listen.port();
    for (what, path) in [
        ("Group actor", "/groups/bench"),
        ("outbox page 1", "/groups/bench/outbox?page=1"),
    ] {
        let output = Command::new("wrk")
            .args([
                "-t2",
                "-c50",
                "-d10s",
                "-H",
                "Accept: application/activity+json",
                "-H",
                &format!("Host: home.bench.test:{port}"),
            ])
            .arg(format!("{}{path}", kindred.base))
            .output();
        match output {
            Ok(output) => {
                let text = String::from_utf8_lossy(&output.stdout);
                let requests = text
                    .lines()
                    .find(|line| line.starts_with("Requests/sec"))
                    .unwrap_or("Requests/sec: ?");
                let latency = text
                    .lines()
                    .find(|line| line.trim_start().starts_with("Latency"))
                    .unwrap_or("")
                    .trim();
                println!("{what:<14} {requests}   ({latency})");
            }
            Err(error) => {
                println!("{what}: wrk not available ({error}); install it with apt-get install wrk")
            }
        }
    }
    println!(
        "Kindred peak RSS after the reads: {:.1} MB",
        kindred.peak_rss_megabytes()
    );
}
