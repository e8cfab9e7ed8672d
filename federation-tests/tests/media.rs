//! Pictures and links that posts carry, as other servers send them: every fixture post with an
//! attachment shows it on the thread page (a Mastodon picture with its alt text, Lemmy's image
//! and link posts, a content warning), pictures come through Kindred's media proxy (fetched
//! once, re-encoded, cached), and the proxy refuses what is not a picture, an internal address
//! in production, and keeps its cache within its limit.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use kindred::{
    federation::media_proxy as proxy,
    testing::{self, Backend},
};
use kindred_entities::{media_cache, post, post_attachment};
use kindred_federation_tests::{
    TestInstance, TestNetwork, join_group,
    mastodon::{self, PUBLIC},
    peer::MastodonPeer,
    peer::Tampering,
    wait_for_empty_queue,
};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use std::{io::Cursor, time::Duration};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures");

fn png(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = Vec::new();
    image::RgbImage::from_pixel(width, height, image::Rgb([30, 120, 200]))
        .write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png)
        .unwrap();
    bytes
}

/// A fixture's post, moved to `peer`: its id, author and addressing made the peer's and the
/// group's, and every attachment (and thumbnail) URL pointed at the same path on the peer,
/// which serves a picture (or a web page, for links) there.
fn rehomed(path: &str, peer: &MastodonPeer, author: &str, group: &str, number: u32) -> Value {
    let mut object: Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{FIXTURES}/{path}")).unwrap())
            .unwrap();
    if object.get("object").is_some_and(Value::is_object) {
        object = object["object"].clone();
    }
    let id = format!("{author}/statuses/{number}");
    object["id"] = json!(id);
    object["attributedTo"] = json!(author);
    object["to"] = json!([PUBLIC]);
    object["cc"] = json!([group]);
    object["audience"] = json!(group);
    if let Value::Object(map) = &mut object {
        map.remove("inReplyTo");
        map.remove("context");
    }
    let rehome = |value: &mut Value| {
        if let Some(url) = value.as_str().and_then(|url| url::Url::parse(url).ok()) {
            let path = format!("/media{}", url.path());
            if path.ends_with(".jpg") || path.ends_with(".png") {
                peer.serve_bytes(&path, "image/png", png(40, 30));
            } else {
                peer.serve_bytes(&path, "text/html", b"<html>an article</html>".to_vec());
            }
            *value = json!(peer.url(&path));
        }
    };
    if let Some(items) = object["attachment"].as_array_mut() {
        for item in items {
            for key in ["url", "href"] {
                if let Some(value) = item.get_mut(key) {
                    rehome(value);
                }
            }
        }
    }
    if let Some(value) = object
        .get_mut("image")
        .and_then(|image| image.get_mut("url"))
    {
        rehome(value);
    }
    object
}

async fn thread_page(network: &TestNetwork, home: &TestInstance, post_id: i64) -> String {
    network
        .fetch_html(&home.url(&format!("/posts/{post_id}")))
        .await
}

#[tokio::test]
async fn every_fixture_attachment_shows_and_pictures_come_through_the_proxy() {
    for backend in testing::backends_under_test() {
        fixtures_show(backend).await;
    }
}

async fn fixtures_show(backend: Backend) {
    let network = TestNetwork::start_with_peers(&["home"], &["masto"], backend).await;
    let home = network.instance("home");
    let masto = network.peer(0);
    let group = home.create_group("repair").await;
    let author = join_group(masto, home, &group, "alice", 1, "1").await;
    wait_for_empty_queue(home, Duration::from_secs(10)).await;

    let mut warned = rehomed(
        "mastodon/objects/note_2.json",
        masto,
        &author,
        &group.ap_id,
        1,
    );
    warned["summary"] = json!("Pictures of <b>dragons</b>");
    let posts = [
        (warned, vec!["The KDE dragons Katie and Konqi"], 1, 0),
        (
            rehomed(
                "lemmy/objects/page_image_and_link.json",
                masto,
                &author,
                &group.ap_id,
                2,
            ),
            vec![],
            1,
            1,
        ),
        (
            rehomed("lemmy/objects/page.json", masto, &author, &group.ap_id, 3),
            vec![],
            1,
            0,
        ),
        (
            rehomed(
                "lemmy/activities/create_or_update/create_page.json",
                masto,
                &author,
                &group.ap_id,
                4,
            ),
            vec![],
            1,
            0,
        ),
    ];
    let mut fetched_urls = std::collections::BTreeSet::new();
    for (object, alt_texts, pictures, links) in posts {
        let (status, body) = masto
            .send(
                "alice",
                &home.url("/inbox"),
                &mastodon::create(&author, &object),
                &Tampering::default(),
            )
            .await;
        assert!(status.is_success(), "{status}: {body}");
        let stored = post::Entity::find()
            .filter(post::Column::ApId.eq(object["id"].as_str().unwrap()))
            .one(&home.database.connection)
            .await
            .unwrap()
            .unwrap();
        let attachments = post_attachment::Entity::find()
            .filter(post_attachment::Column::PostId.eq(stored.id))
            .all(&home.database.connection)
            .await
            .unwrap();
        let html = thread_page(&network, home, stored.id).await;
        assert_eq!(
            html.matches("src=\"/media/attachments/").count(),
            pictures,
            "{html}"
        );
        assert_eq!(html.matches("Link: ").count(), links, "{html}");
        for alt in alt_texts {
            assert!(html.contains(&format!("alt=\"{alt}")), "{html}");
        }
        assert!(
            !html.contains("src=\"http"),
            "nothing is hot-linked: {html}"
        );
        // The picture comes through the proxy: fetched once, re-encoded, then from the cache.
        for attachment in attachments
            .iter()
            .filter(|attachment| attachment.kind == post_attachment::AttachmentKind::Image)
        {
            // Two fixtures show the same picture: it is fetched for the first only.
            let first_time = fetched_urls.insert(attachment.url.clone());
            let asked_before = masto.gets().len();
            for _ in 0..2 {
                let response = network
                    .client()
                    .get(home.url(&format!("/media/attachments/{}", attachment.id)))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200);
                assert_eq!(response.headers()["content-type"], "image/png");
                let bytes = response.bytes().await.unwrap();
                assert_eq!(
                    image::guess_format(&bytes).unwrap(),
                    image::ImageFormat::Png
                );
            }
            assert_eq!(
                masto.gets().len(),
                asked_before + usize::from(first_time),
                "fetched once: {:?}",
                masto.gets()
            );
        }
    }
    let warned_id = post::Entity::find()
        .filter(post::Column::ContentWarning.is_not_null())
        .one(&home.database.connection)
        .await
        .unwrap()
        .unwrap()
        .id;
    // The API shows the same: the content warning, the picture through the proxy, its alt.
    let reader = kindred_federation_tests::ApiClient::sign_up(&network, home, "reader").await;
    let thread = reader.get(&format!("/posts/{warned_id}")).await;
    assert_eq!(thread["thread"]["content_warning"], "Pictures of dragons");
    let attachment = &thread["thread"]["attachments"][0];
    assert_eq!(attachment["kind"], "image", "{thread}");
    assert!(
        attachment["url"]
            .as_str()
            .unwrap()
            .starts_with("/media/attachments/")
    );
    assert!(
        attachment["alt"]
            .as_str()
            .unwrap()
            .starts_with("The KDE dragons")
    );
    assert!(attachment["blurhash"].is_string());
    let html = thread_page(&network, home, warned_id).await;
    assert!(
        html.contains(
            "<details class=\"warning\"><summary>Content warning: Pictures of dragons</summary>"
        ),
        "{html}"
    );

    // What is not a picture is refused, whatever it claims.
    let disguised = masto.url("/media/disguised.png");
    masto.serve_bytes(
        "/media/disguised.png",
        "image/png",
        b"<html>hi</html>".to_vec(),
    );
    let error = proxy::picture(&home.context(), &disguised)
        .await
        .err()
        .unwrap();
    assert_eq!(error.status_and_reason().0.as_u16(), 422, "{error}");

    // One cache row per picture, however many posts show it.
    let cached = || async {
        media_cache::Entity::find()
            .count(&home.database.connection)
            .await
            .unwrap()
    };
    assert_eq!(cached().await, 3, "three different pictures");
    network.stop().await;
}

#[tokio::test]
async fn the_proxy_keeps_to_its_limits() {
    let network = TestNetwork::start_configured(&["home"], &["masto"], Backend::Sqlite, |config| {
        config.media.cache_max_bytes = 1;
        // The worker's hourly task evicts at start-up too; this test evicts by itself.
        config.delivery.worker = false;
    })
    .await;
    let home = network.instance("home");
    let masto = network.peer(0);
    let context = home.context();
    for number in 0..3 {
        let path = format!("/media/{number}.png");
        masto.serve_bytes(&path, "image/png", png(20 + number, 20));
        proxy::picture(&context, &masto.url(&path)).await.unwrap();
    }
    assert_eq!(
        media_cache::Entity::find()
            .count(&home.database.connection)
            .await
            .unwrap(),
        3
    );
    let evicted = proxy::evict(&context).await.unwrap();
    assert_eq!(evicted, 3, "a one-byte cache keeps nothing");
    // Evicted pictures are fetched again when shown.
    let before = masto.gets().len();
    proxy::picture(&context, &masto.url("/media/1.png"))
        .await
        .unwrap();
    assert_eq!(masto.gets().len(), before + 1);

    // A file larger than media.max_remote_bytes is refused while it streams.
    network.stop().await;
    let network = TestNetwork::start_configured(&["home"], &["masto"], Backend::Sqlite, |config| {
        config.media.max_remote_bytes = 1_000;
    })
    .await;
    let home = network.instance("home");
    let masto = network.peer(0);
    masto.serve_bytes("/media/big.png", "image/png", png(400, 400));
    let error = proxy::picture(&home.context(), &masto.url("/media/big.png"))
        .await
        .err()
        .unwrap();
    assert_eq!(error.status_and_reason().0.as_u16(), 422, "{error}");
    network.stop().await;

    // In production no internal address is fetched, whatever a remote document named.
    let mut production = testing::test_config("https://kindred.example").unwrap();
    production.federation.debug = false;
    let database = testing::fresh_database(Backend::Sqlite).await.unwrap();
    let federation = testing::test_federation(production, &database)
        .await
        .unwrap();
    let context = federation.to_request_data();
    for internal in [
        "https://127.0.0.1/secret.png",
        "https://[::1]/secret.png",
        "https://localhost/secret.png",
        "http://example.com/plain.png",
    ] {
        let error = proxy::picture(&context, internal).await.err().unwrap();
        assert_eq!(
            error.status_and_reason().0.as_u16(),
            403,
            "{internal}: {error}"
        );
    }
    database.remove().await.unwrap();
}
