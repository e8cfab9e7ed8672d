//! Whole-thread benchmarks. They print figures; they assert nothing about speed.
//!
//! ```sh
//! cargo bench -p kindred-federation-tests --bench threads
//! TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!   cargo bench -p kindred-federation-tests --bench threads -- --postgres
//! ```
//!
//! - `backfill`: a 500-post thread (a root and 499 replies in a tree, by 10 authors) on a
//!   loopback peer that serves it through a context collection (FEP-f228) in pages of 50, once
//!   with the posts embedded and once by id (each post fetched from its origin), and once only
//!   through Mastodon-shaped `replies` collections. Kindred runs in this process, with its
//!   worker; the time is from scheduling the backfill to its recorded end, with every fetch
//!   signed by the instance actor as in production.
//! - `serving`: the context collection of a local thread with 2,000 replies: the collection,
//!   its first page and a deep page (after reply 1,960), and a post's replies collection, in
//!   requests per second from 4 concurrent clients over loopback HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::{
    Router,
    extract::{Query, State},
    http::{StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use kindred::{
    app,
    federation::{backfill, discovery},
    groups::{
        directory::{self, NewGroup},
        posts::{self, NewPost, PostContent},
    },
    testing::{self, Backend},
};
use kindred_entities::thread_backfill::{self, BackfillState};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
use serde_json::{Value, json};
use std::{
    collections::{BTreeMap, HashMap},
    net::{IpAddr, Ipv4Addr, SocketAddr},
    sync::Arc,
    time::{Duration, Instant},
};
use tokio::net::TcpListener;

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const REPLIES: usize = 499;
const AUTHORS: usize = 10;

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    app::install_crypto_provider();
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let backend = if arguments.iter().any(|argument| argument == "--postgres") {
        Backend::Postgres
    } else {
        Backend::Sqlite
    };
    let scenario = arguments
        .iter()
        .find(|argument| ["backfill", "serving", "all"].contains(&argument.as_str()))
        .cloned()
        .unwrap_or_else(|| "all".to_string());
    println!(
        "Whole-thread benchmarks on {} cores; database: {backend:?}",
        std::thread::available_parallelism().map_or(1, usize::from)
    );
    if scenario == "all" || scenario == "backfill" {
        backfill_bench(backend).await;
    }
    if scenario == "all" || scenario == "serving" {
        serving_bench(backend).await;
    }
}

/// How the peer serves its thread.
#[derive(Clone, Copy, Debug)]
enum Shape {
    /// A context collection whose pages embed the posts.
    ContextEmbedded,
    /// A context collection whose pages list ids.
    ContextByIds,
    /// No context; every post has Mastodon's `replies` (first page embedded).
    RepliesOnly,
}

impl Shape {
    fn prefix(self) -> &'static str {
        match self {
            Shape::ContextEmbedded => "e",
            Shape::ContextByIds => "i",
            Shape::RepliesOnly => "r",
        }
    }
}

struct Peer {
    base: String,
    public_key: String,
}

/// The parent of reply `n` (1-based): a tree three wide, as threads branch.
fn parent_of(number: usize) -> usize {
    (number - 1) / 3
}

fn post_document(peer: &Peer, shape: Shape, number: usize) -> Value {
    let prefix = shape.prefix();
    let base = &peer.base;
    let id = format!("{base}/{prefix}/p/{number}");
    let author = format!("{base}/u/{}", number % AUTHORS);
    let group = format!("{base}/g");
    // About 3 KB of text, as Mastodon notes and Lemmy comments run.
    let content = format!(
        "<p>{}</p>",
        "Descale the kettle first, then check the element. ".repeat(60)
    );
    let mut document = json!({
        "id": id,
        "type": if number == 0 { "Page" } else { "Note" },
        "attributedTo": author,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "cc": [group],
        "audience": group,
        "content": content,
        "published": format!("2026-12-01T{:02}:{:02}:{:02}Z", number / 3600, (number / 60) % 60, number % 60),
    });
    if number == 0 {
        document["name"] = json!("A long thread");
    } else {
        document["inReplyTo"] = json!(format!("{base}/{prefix}/p/{}", parent_of(number)));
    }
    match shape {
        Shape::ContextEmbedded | Shape::ContextByIds => {
            document["context"] = json!(format!("{base}/{prefix}/ctx"));
        }
        Shape::RepliesOnly => {
            let children: Vec<String> = (1..=REPLIES)
                .filter(|child| parent_of(*child) == number)
                .map(|child| format!("{base}/{prefix}/p/{child}"))
                .collect();
            document["replies"] = json!({
                "id": format!("{id}/replies"),
                "type": "Collection",
                "first": { "type": "CollectionPage", "partOf": format!("{id}/replies"), "items": children },
            });
        }
    }
    document
}

fn context_page(peer: &Peer, shape: Shape, page: usize) -> Value {
    let prefix = shape.prefix();
    let base = &peer.base;
    let numbers: Vec<usize> = (page * 50..((page + 1) * 50).min(REPLIES + 1)).collect();
    let items: Vec<Value> = numbers
        .iter()
        .map(|number| match shape {
            Shape::ContextEmbedded => post_document(peer, shape, *number),
            _ => json!(format!("{base}/{prefix}/p/{number}")),
        })
        .collect();
    let mut document = json!({
        "id": format!("{base}/{prefix}/ctx?page={page}"),
        "type": "OrderedCollectionPage",
        "partOf": format!("{base}/{prefix}/ctx"),
        "orderedItems": items,
    });
    if (page + 1) * 50 <= REPLIES {
        document["next"] = json!(format!("{base}/{prefix}/ctx?page={}", page + 1));
    }
    document
}

async fn serve_peer(
    State(peer): State<Arc<Peer>>,
    uri: Uri,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let path = uri.path();
    let base = &peer.base;
    let document = if path == "/g" {
        Some(json!({
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": format!("{base}/g"),
            "type": "Group",
            "preferredUsername": "kettles",
            "name": "Kettles",
            "inbox": format!("{base}/g/inbox"),
            "outbox": format!("{base}/g/outbox"),
            "followers": format!("{base}/g/followers"),
            "publicKey": { "id": format!("{base}/g#main-key"), "owner": format!("{base}/g"), "publicKeyPem": peer.public_key },
        }))
    } else if let Some(number) = path.strip_prefix("/u/") {
        let id = format!("{base}/u/{number}");
        Some(json!({
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": id,
            "type": "Person",
            "preferredUsername": format!("person{number}"),
            "inbox": format!("{id}/inbox"),
            "publicKey": { "id": format!("{id}#main-key"), "owner": id, "publicKeyPem": peer.public_key },
        }))
    } else {
        let mut parts = path.trim_start_matches('/').split('/');
        let shape = match parts.next() {
            Some("e") => Some(Shape::ContextEmbedded),
            Some("i") => Some(Shape::ContextByIds),
            Some("r") => Some(Shape::RepliesOnly),
            _ => None,
        };
        match (shape, parts.next(), parts.next()) {
            (Some(shape), Some("p"), Some(number)) => number
                .parse::<usize>()
                .ok()
                .filter(|number| *number <= REPLIES)
                .map(|number| post_document(&peer, shape, number)),
            (Some(shape), Some("ctx"), None) => match query.get("page") {
                Some(page) => page
                    .parse()
                    .ok()
                    .map(|page| context_page(&peer, shape, page)),
                None => Some(json!({
                    "id": format!("{base}/{}/ctx", shape.prefix()),
                    "type": "OrderedCollection",
                    "totalItems": REPLIES + 1,
                    "first": format!("{base}/{}/ctx?page=0", shape.prefix()),
                })),
            },
            _ => None,
        }
    };
    match document {
        Some(document) => (
            [(header::CONTENT_TYPE, "application/activity+json")],
            serde_json::to_vec(&document).unwrap(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn backfill_bench(backend: Backend) {
    let peer_listener = TcpListener::bind((LOOPBACK, 0)).await.unwrap();
    let peer_port = peer_listener.local_addr().unwrap().port();
    let keys = testing::test_keypairs();
    let peer = Arc::new(Peer {
        base: format!("http://threadpeer.test:{peer_port}"),
        public_key: keys[1].public_key.clone(),
    });
    let app = Router::new().fallback(serve_peer).with_state(peer.clone());
    tokio::spawn(async move { axum::serve(peer_listener, app).await });

    let listener = TcpListener::bind((LOOPBACK, 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut config = testing::test_config(&format!("http://home.test:{port}")).unwrap();
    config.federation.resolve = BTreeMap::from([
        ("threadpeer.test".to_string(), LOOPBACK),
        ("home.test".to_string(), LOOPBACK),
    ]);
    config.http.listen = SocketAddr::new(LOOPBACK, port);
    config.log.filter = "warn".into();
    let database = testing::fresh_database(backend).await.unwrap();
    let federation = testing::test_federation(config, &database).await.unwrap();
    let server = app::start(federation, listener).await.unwrap();
    let context = server.federation.to_request_data();
    let group = discovery::resolve_group(&context, &format!("{}/g", peer.base))
        .await
        .unwrap();

    println!("\n## Backfill of a thread of 1 + {REPLIES} posts (~3 KB each) from a loopback peer");
    for shape in [
        Shape::ContextEmbedded,
        Shape::ContextByIds,
        Shape::RepliesOnly,
    ] {
        let root = format!("{}/{}/p/0", peer.base, shape.prefix());
        let started = Instant::now();
        backfill::schedule(&context.db, &group, &root, None)
            .await
            .unwrap();
        backfill::wake(&context);
        let job = loop {
            let job = thread_backfill::Entity::find()
                .filter(thread_backfill::Column::StartApId.eq(&root))
                .one(&context.db)
                .await
                .unwrap()
                .unwrap();
            if job.state == BackfillState::Done {
                break job;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        let elapsed = started.elapsed();
        println!(
            "{shape:?}: {:.2} s, {} posts stored, {} requests, outcome {:?}, stopped by {:?} ({:.1} ms a post)",
            elapsed.as_secs_f64(),
            job.posts_added,
            job.requests_made,
            job.outcome,
            job.stopped_by,
            elapsed.as_secs_f64() * 1000.0 / f64::from(job.posts_added.max(1)),
        );
    }
    server.kill().await;
    database.remove().await.unwrap();
}

async fn serving_bench(backend: Backend) {
    const THREAD_REPLIES: usize = 2_000;
    let listener = TcpListener::bind((LOOPBACK, 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut config = testing::test_config(&format!("http://home.test:{port}")).unwrap();
    config.federation.resolve = BTreeMap::from([("home.test".to_string(), LOOPBACK)]);
    config.http.listen = SocketAddr::new(LOOPBACK, port);
    config.http.reads_per_minute_per_address = 0;
    config.log.filter = "warn".into();
    let database = testing::fresh_database(backend).await.unwrap();
    let federation = testing::test_federation(config.clone(), &database)
        .await
        .unwrap();
    let server = app::start(federation, listener).await.unwrap();
    let context = server.federation.to_request_data();
    let group = directory::create_group(
        &context.db,
        &config,
        &testing::test_key_source(),
        NewGroup {
            name: "kettles",
            title: "Kettles",
            summary_markdown: None,
        },
    )
    .await
    .unwrap();
    let author = kindred::accounts::users::create_user(
        &context.db,
        &config,
        &context.keys,
        kindred::accounts::users::NewUser {
            name: "ann",
            password: "a long password",
            email: None,
            application_text: None,
        },
        kindred_entities::user::UserState::Active,
        false,
    )
    .await
    .unwrap()
    .actor;
    let text = "Descale the kettle first, then check the element. ".repeat(60);
    let content = |is_reply: bool| PostContent {
        kind: if is_reply { "Note" } else { "Page" }.to_string(),
        title: (!is_reply).then(|| "A long thread".to_string()),
        content_html: format!("<p>{text}</p>"),
        source_markdown: Some(text.clone()),
        url: None,
        sensitive: false,
        content_warning: None,
        attachments: None,
    };
    let transaction = context.db.begin().await.unwrap();
    let thread = posts::add_post(
        &transaction,
        &group,
        &author,
        NewPost {
            ap_id: "urn:bench:thread",
            parent: None,
            content: content(false),
            published_at: chrono::Utc::now(),
            local: true,
            context_url: None,
        },
    )
    .await
    .unwrap();
    let thread = posts::assign_ap_id(
        &transaction,
        thread.clone(),
        context
            .config
            .url_for(&format!("/posts/{}", thread.id))
            .as_str(),
    )
    .await
    .unwrap();
    let mut replies = Vec::new();
    for number in 0..THREAD_REPLIES {
        let parent = if number % 2 == 0 {
            &thread
        } else {
            replies.last().unwrap()
        };
        let reply = posts::add_post(
            &transaction,
            &group,
            &author,
            NewPost {
                ap_id: &format!("urn:bench:reply:{number}"),
                parent: Some(parent),
                content: content(true),
                published_at: chrono::Utc::now(),
                local: true,
                context_url: None,
            },
        )
        .await
        .unwrap();
        let reply = posts::assign_ap_id(
            &transaction,
            reply.clone(),
            context
                .config
                .url_for(&format!("/posts/{}", reply.id))
                .as_str(),
        )
        .await
        .unwrap();
        replies.push(reply);
    }
    transaction.commit().await.unwrap();
    let context_url = format!(
        "http://home.test:{port}/groups/kettles/threads/{}",
        thread.id
    );
    let deep_after = replies[THREAD_REPLIES - 40].id - 1;
    println!(
        "\n## Serving a thread of 1 + {THREAD_REPLIES} replies (~3 KB each), 4 concurrent clients"
    );
    for (what, url) in [
        ("context collection", context_url.clone()),
        (
            "context, first page (40 objects)",
            format!("{context_url}?page=true"),
        ),
        (
            "context, deep page (40 objects)",
            format!("{context_url}?page=true&after={deep_after}"),
        ),
        (
            "replies of the thread (first page embedded)",
            format!("{}/replies", thread.ap_id),
        ),
    ] {
        let (per_second, bytes) = requests_per_second(port, &url).await;
        println!("{what}: {per_second:.0} requests/s ({bytes} bytes)");
    }
    server.kill().await;
    database.remove().await.unwrap();
}

/// Requests per second from 4 concurrent clients for 3 seconds, and the answer's size.
async fn requests_per_second(port: u16, url: &str) -> (f64, usize) {
    let client = reqwest::Client::builder()
        .resolve("home.test", SocketAddr::new(LOOPBACK, port))
        .build()
        .unwrap();
    let probe = client
        .get(url)
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap();
    assert!(probe.status().is_success(), "{url}: {}", probe.status());
    let size = probe.bytes().await.unwrap().len();
    let deadline = Instant::now() + Duration::from_secs(3);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let client = client.clone();
        let url = url.to_string();
        tasks.push(tokio::spawn(async move {
            let mut done = 0_u64;
            while Instant::now() < deadline {
                let response = client
                    .get(&url)
                    .header("accept", "application/activity+json")
                    .send()
                    .await
                    .unwrap();
                assert!(response.status().is_success());
                response.bytes().await.unwrap();
                done += 1;
            }
            done
        }));
    }
    let mut total = 0;
    for task in tasks {
        total += task.await.unwrap();
    }
    (total as f64 / started.elapsed().as_secs_f64(), size)
}
