//! What a request costs on an empty instance and on a big one, side by side: the instance of
//! the cost issue (200 groups, a million posts, 200,000 in the largest group, 20,000 remote
//! members on 10,000 servers, votes, reports and notifications) is built with
//! `kindred::testing::dataset`, then each request is served through the router in process (no
//! network, so the figures are the server's own) and timed. It also times an inbound signed
//! `Create{Note}` of about 3 KB (what Mastodon sends) from a member of the largest group, and
//! prints the machine's RSA signing rate, the limit every fan-out meets. The fan-out to 10,000
//! servers, with its peak memory, needs Kindred as a process of its own: it is the performance
//! bench's `fanout10k`.
//!
//! ```sh
//! cargo bench -p kindred-federation-tests --bench scale                        # SQLite, issue size
//! cargo bench -p kindred-federation-tests --bench scale -- --posts 100000      # smaller
//! TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!     cargo bench -p kindred-federation-tests --bench scale -- --postgres
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode, header},
};
use http_body_util::BodyExt;
use kindred::{
    accounts::sessions,
    federation::signatures::{self, SigningKey},
    testing::{
        self, Backend,
        dataset::{self, Dataset, DatasetSize},
    },
};
use kindred_entities::session::SessionKind;
use std::time::{Duration, Instant, SystemTime};
use tower::ServiceExt;

/// Timed runs of each request, after a few untimed ones (fewer in the smoke run `cargo test`
/// makes, which only keeps the bench working).
const RUNS: usize = 60;
const WARM_UP: usize = 5;
const SMOKE_RUNS: usize = 3;

struct Instance {
    router: Router,
    dataset: Dataset,
    token: String,
    session: String,
    _database: testing::TestDatabase,
    _federation: activitypub_federation::config::FederationConfig<kindred::context::AppState>,
}

async fn build(backend: Backend, size: DatasetSize) -> Instance {
    let database = testing::fresh_database(backend).await.unwrap();
    let mut config = testing::test_config(testing::TEST_PUBLIC_URL).unwrap();
    config.http.reads_per_minute_per_address = 0;
    let federation = testing::test_federation(config.clone(), &database)
        .await
        .unwrap();
    let context = federation.to_request_data();
    let started = Instant::now();
    let built = dataset::build(&context, &config, size).await.unwrap();
    println!(
        "  built {} posts in {} groups in {:.1} s (biggest thread: {} replies)",
        built.posts,
        size.groups,
        started.elapsed().as_secs_f64(),
        built.biggest_thread_replies
    );
    let member = kindred::accounts::users::find_by_name(&context.db, &built.member_name)
        .await
        .unwrap()
        .unwrap();
    let token = sessions::create_session(&context.db, member.user.id, SessionKind::Api, None)
        .await
        .unwrap()
        .token;
    let session = sessions::create_session(&context.db, member.user.id, SessionKind::Web, None)
        .await
        .unwrap()
        .token;
    Instance {
        router: kindred::app::router(&federation),
        dataset: built,
        token,
        session,
        _database: database,
        _federation: federation,
    }
}

/// One GET; its status, `Link` header and body length.
async fn get(instance: &Instance, path: &str, accept: &str) -> (StatusCode, Option<String>) {
    let request = Request::builder()
        .uri(path)
        .header(header::HOST, "kindred.test:8080")
        .header(header::ACCEPT, accept)
        .header(
            header::COOKIE,
            format!("kindred_session={}", instance.session),
        )
        .header(header::AUTHORIZATION, format!("Bearer {}", instance.token))
        .body(Body::empty())
        .unwrap();
    let response = instance.router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let link = response
        .headers()
        .get(header::LINK)
        .map(|value| value.to_str().unwrap().to_string());
    let _ = response.into_body().collect().await.unwrap();
    (status, link)
}

/// The API thread list's page `page`, reached by following its `Link`s.
async fn api_list_page(instance: &Instance, page: usize) -> String {
    let mut path = format!(
        "/api/v1/groups/{}/threads?limit=20",
        instance.dataset.largest_group
    );
    for _ in 1..page {
        let (_, link) = get(instance, &path, "application/json").await;
        let Some(link) = link else { break };
        path = testing::next_page_path(&link, "8080").unwrap();
    }
    path
}

/// The requests to time on `instance`, by name.
async fn requests(instance: &Instance) -> Vec<(&'static str, String, &'static str)> {
    let group = &instance.dataset.largest_group;
    let thread = instance.dataset.biggest_thread_id;
    let ap = "application/activity+json";
    let html = "text/html";
    let json = "application/json";
    vec![
        ("outbox", format!("/groups/{group}/outbox"), ap),
        (
            "outbox page 1",
            format!("/groups/{group}/outbox?page=1"),
            ap,
        ),
        (
            "outbox page 500",
            format!("/groups/{group}/outbox?page=500"),
            ap,
        ),
        ("followers", format!("/groups/{group}/followers"), ap),
        ("featured", format!("/groups/{group}/featured"), ap),
        (
            "context, first page",
            format!("/groups/{group}/threads/{thread}?page=true"),
            ap,
        ),
        ("group page (HTML)", format!("/groups/{group}"), html),
        ("biggest thread (HTML)", format!("/posts/{thread}"), html),
        ("home feed (HTML)", "/".to_string(), html),
        (
            "search (HTML), words every post holds",
            "/search?q=thermostat+kettle".to_string(),
            html,
        ),
        (
            "search (HTML), a word no post holds",
            "/search?q=thermostat+zebra".to_string(),
            html,
        ),
        (
            "API threads, page 1",
            api_list_page(instance, 1).await,
            json,
        ),
        (
            "API threads, page 500",
            api_list_page(instance, 500).await,
            json,
        ),
    ]
}

/// The remote member of the largest group the inbound notes come from (key pair 0 of the test
/// keys, as the data set gives every remote person).
const REMOTE_MEMBER: &str = "https://s0.remote.example/users/r0";

/// A signed `Create{Note}` of about 3 KB, number `number`, from [`REMOTE_MEMBER`] to the
/// largest group, as a request to the shared inbox; and the body's size.
fn inbound_create(
    instance: &Instance,
    signer: &SigningKey,
    number: usize,
) -> (Request<Body>, usize) {
    let group = format!(
        "{}/groups/{}",
        testing::TEST_PUBLIC_URL,
        instance.dataset.largest_group
    );
    let note = format!("{REMOTE_MEMBER}/statuses/bench-{number}");
    let paragraph = "<p>Bring the broken toaster, a screwdriver set and the manual if you \
                     still have it; we will look at the heating element first.</p>";
    let create = serde_json::json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{note}/activity"),
        "type": "Create",
        "actor": REMOTE_MEMBER,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "cc": [group],
        "object": {
            "id": note, "type": "Note", "attributedTo": REMOTE_MEMBER,
            "to": ["https://www.w3.org/ns/activitystreams#Public"], "cc": [group],
            "content": format!("<p>Note {number}</p>{}", paragraph.repeat(20)),
            "tag": [{"type": "Mention", "href": group}],
        },
    });
    let body = serde_json::to_vec(&create).unwrap();
    let size = body.len();
    let inbox = url::Url::parse(&format!("{}/inbox", testing::TEST_PUBLIC_URL)).unwrap();
    let signed = signatures::sign_post(
        signer,
        &format!("{REMOTE_MEMBER}#main-key"),
        &inbox,
        &body,
        SystemTime::now(),
    )
    .unwrap();
    let mut request = Request::builder()
        .method("POST")
        .uri("/inbox")
        .body(Body::from(body))
        .unwrap();
    request.headers_mut().extend(signed.into_headers().unwrap());
    (request, size)
}

/// Median and 90th percentile of `runs` inbound notes, each new, into `instance`; and the
/// body's size.
async fn time_inbound_creates(
    instance: &Instance,
    first_number: usize,
    runs: usize,
) -> (Duration, Duration, usize) {
    let signer = SigningKey::from_pkcs8_pem(&testing::test_keypairs()[0].private_key).unwrap();
    let mut times = Vec::with_capacity(runs);
    let mut size = 0;
    for run in 0..WARM_UP + runs {
        let (request, body_size) = inbound_create(instance, &signer, first_number + run);
        size = body_size;
        let started = Instant::now();
        let response = instance.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(
            status,
            StatusCode::ACCEPTED,
            "inbound Create: {}",
            String::from_utf8_lossy(&body)
        );
        if run >= WARM_UP {
            times.push(started.elapsed());
        }
    }
    times.sort();
    (times[runs / 2], times[runs * 9 / 10], size)
}

/// RSA-2048 signatures (PKCS#1 v1.5, SHA-256, as deliveries are signed) one core makes in a
/// second.
fn signing_rate() -> f64 {
    let signer = SigningKey::from_pkcs8_pem(&testing::test_keypairs()[0].private_key).unwrap();
    let started = Instant::now();
    let mut signed = 0_u32;
    while started.elapsed() < Duration::from_secs(1) {
        signer.sign(b"(request-target): post /inbox").unwrap();
        signed += 1;
    }
    f64::from(signed) / started.elapsed().as_secs_f64()
}

/// Median and 90th percentile of `runs` requests to `path`.
async fn time(instance: &Instance, path: &str, accept: &str, runs: usize) -> (Duration, Duration) {
    for _ in 0..WARM_UP {
        let (status, _) = get(instance, path, accept).await;
        assert!(status.is_success(), "{path}: {status}");
    }
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        get(instance, path, accept).await;
        times.push(started.elapsed());
    }
    times.sort();
    (times[runs / 2], times[runs * 9 / 10])
}

fn millis(duration: Duration) -> String {
    format!("{:.2}", duration.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() {
    kindred::app::install_crypto_provider();
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    // `cargo bench` passes `--bench`; `cargo test` runs this without it, as a smoke test: a
    // small instance on every database under test, a few runs each, so the generator and the
    // bench keep working (and compiling) in CI.
    if !arguments.iter().any(|argument| argument == "--bench") {
        for backend in testing::backends_under_test() {
            compare(backend, DatasetSize::small(), SMOKE_RUNS).await;
        }
        return;
    }
    let backend = if arguments.iter().any(|argument| argument == "--postgres") {
        Backend::Postgres
    } else {
        Backend::Sqlite
    };
    let posts: usize = arguments
        .iter()
        .position(|argument| argument == "--posts")
        .and_then(|index| arguments.get(index + 1))
        .map_or(1_000_000, |posts| posts.parse().unwrap());
    let issue = DatasetSize::issue();
    let big_size = DatasetSize {
        posts,
        largest_group_posts: posts / 5,
        ..issue
    };
    compare(backend, big_size, RUNS).await;
}

/// Builds an empty instance and one of `big_size` on `backend`, and prints what each request
/// costs on both, `runs` times each.
async fn compare(backend: Backend, big_size: DatasetSize, runs: usize) {
    println!("Kindred at scale, {backend:?}, requests served in process, {runs} runs each");
    println!(
        "this machine signs {:.0} RSA-2048 signatures a second on one core (ring)",
        signing_rate()
    );
    println!("empty instance:");
    let empty = build(
        backend,
        DatasetSize {
            groups: 2,
            posts: 60,
            largest_group_posts: 50,
            remote_members: 20,
            remote_servers: 10,
            local_people: 1,
        },
    )
    .await;
    println!("big instance:");
    let big = build(backend, big_size).await;
    let empty_requests = requests(&empty).await;
    let big_requests = requests(&big).await;
    println!(
        "\n| request | empty: median ms | big: median ms | big: p90 ms | big / empty |\n| --- | --- | --- | --- | --- |"
    );
    for ((name, empty_path, accept), (_, big_path, _)) in empty_requests.iter().zip(&big_requests) {
        let (empty_median, _) = time(&empty, empty_path, accept, runs).await;
        let (big_median, big_p90) = time(&big, big_path, accept, runs).await;
        println!(
            "| {name} | {} | {} | {} | {:.2} |",
            millis(empty_median),
            millis(big_median),
            millis(big_p90),
            big_median.as_secs_f64() / empty_median.as_secs_f64().max(1e-9)
        );
    }
    let (empty_median, _, _) = time_inbound_creates(&empty, 0, runs).await;
    let (big_median, big_p90, size) = time_inbound_creates(&big, 0, runs).await;
    println!(
        "| inbound Create{{Note}} ({size} bytes, signed), to the largest group | {} | {} | {} | {:.2} |",
        millis(empty_median),
        millis(big_median),
        millis(big_p90),
        big_median.as_secs_f64() / empty_median.as_secs_f64().max(1e-9)
    );
}
