//! Each kind of member server gets what it shows, decided by the software its NodeInfo names:
//! Lemmy the group's Announces (no bare boost, no echo of its own posts, no second copy),
//! Mastodon and Takahe the boost, the author's own edits, and threads as a Note they show in
//! full.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::http::StatusCode;
use kindred::testing::{self, Backend};
use kindred_entities::instance;
use kindred_federation_tests::{
    ApiClient, TestNetwork, eventually, join_group, mastodon,
    peer::{MastodonPeer, ReceivedDelivery, Tampering},
    wait_for_empty_queue,
};
use reqwest::Method;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

fn relayed<'a>(received: &'a [ReceivedDelivery], inner_type: &str) -> Vec<&'a Value> {
    received
        .iter()
        .filter(|delivery| {
            delivery.activity["type"] == "Announce"
                && delivery.activity["object"]["type"] == inner_type
        })
        .map(|delivery| &delivery.activity)
        .collect()
}

fn boosts(received: &[ReceivedDelivery]) -> Vec<&Value> {
    received
        .iter()
        .filter(|delivery| {
            delivery.activity["type"] == "Announce" && delivery.activity["object"].is_string()
        })
        .map(|delivery| &delivery.activity)
        .collect()
}

/// Everything `peer` received once `home` has sent all it had to send.
async fn settled(
    home: &kindred_federation_tests::TestInstance,
    peer: &MastodonPeer,
) -> Vec<ReceivedDelivery> {
    wait_for_empty_queue(home, WAIT).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    peer.received()
}

#[tokio::test]
async fn each_kind_of_member_server_gets_what_it_shows() {
    for backend in testing::backends_under_test() {
        per_software(backend).await;
    }
}

async fn per_software(backend: Backend) {
    let network =
        TestNetwork::start_with_peers(&["home"], &["masto", "lemmy", "takahe"], backend).await;
    let home = network.instance("home");
    let (masto, lemmy, takahe) = (network.peer(0), network.peer(1), network.peer(2));
    masto.set_software("mastodon");
    lemmy.set_software("lemmy");
    takahe.set_software("takahe");
    let group = home.create_group("repair").await;
    join_group(masto, home, &group, "bob", 1, "1").await;
    let lem = join_group(lemmy, home, &group, "lem", 2, "1").await;
    join_group(takahe, home, &group, "tak", 3, "1").await;
    // Each Follow has the server's NodeInfo read in the background.
    for peer in [masto, lemmy, takahe] {
        eventually(
            &format!("{}'s software is known", peer.domain),
            async || {
                instance::Entity::find()
                    .filter(instance::Column::Host.eq(peer.domain.as_str()))
                    .one(&home.database.connection)
                    .await
                    .unwrap()
                    .is_some_and(|row| row.software.is_some())
            },
        )
        .await;
    }
    let ann = ApiClient::sign_up(&network, home, "ann").await;
    ann.send(Method::POST, "/groups/repair/membership", None, 200)
        .await;
    wait_for_empty_queue(home, WAIT).await;
    for peer in [masto, lemmy, takahe] {
        peer.clear_received();
    }

    // A new thread: Lemmy gets the Announce{Create}, microblogs the boost.
    let thread = ann
        .send(
            Method::POST,
            "/groups/repair/threads",
            Some(json!({ "title": "Kettle <clicks>", "body": "No heat." })),
            201,
        )
        .await;
    let thread_url = thread["url"].as_str().unwrap().to_string();
    let from_lemmy = settled(home, lemmy).await;
    assert_eq!(relayed(&from_lemmy, "Create").len(), 1, "{backend:?}");
    assert!(
        boosts(&from_lemmy).is_empty(),
        "{backend:?}: Lemmy refuses bare boosts"
    );
    for microblog in [masto, takahe] {
        let received = settled(home, microblog).await;
        assert_eq!(
            boosts(&received).len(),
            1,
            "{backend:?}: {}",
            microblog.domain
        );
        assert!(
            relayed(&received, "Create").is_empty(),
            "{backend:?}: {} ignores Announce{{Create}}",
            microblog.domain
        );
    }

    // Fetching the boosted thread: a Note with its title first for a microblog, the Page for
    // Lemmy.
    let fetched = |peer: &MastodonPeer, name: &'static str| {
        let peer = peer.clone();
        let url = thread_url.clone();
        async move {
            let response = peer.signed_get(name, &url).await;
            assert_eq!(response.status().as_u16(), 200);
            response.json::<Value>().await.unwrap()
        }
    };
    let for_mastodon = fetched(masto, "bob").await;
    assert_eq!(for_mastodon["type"], "Note", "{backend:?}: {for_mastodon}");
    assert!(
        for_mastodon["content"]
            .as_str()
            .unwrap()
            .starts_with("<p><strong>Kettle &lt;clicks&gt;</strong></p>")
    );
    assert!(for_mastodon.get("name").is_none());
    let for_lemmy = fetched(lemmy, "lem").await;
    assert_eq!(for_lemmy["type"], "Page", "{backend:?}");
    assert_eq!(for_lemmy["name"], "Kettle <clicks>");
    for peer in [masto, lemmy, takahe] {
        peer.clear_received();
    }

    // Ann edits it: microblogs get her own Update, with the Note; Lemmy the Announce only.
    ann.send(
        Method::PATCH,
        &format!("/posts/{}", thread["id"]),
        Some(json!({ "body": "No heat: the fuse." })),
        200,
    )
    .await;
    for microblog in [masto, takahe] {
        let received = settled(home, microblog).await;
        let own: Vec<&ReceivedDelivery> = received
            .iter()
            .filter(|delivery| delivery.activity["type"] == "Update")
            .collect();
        assert_eq!(own.len(), 1, "{backend:?}: {}", microblog.domain);
        assert_eq!(own[0].activity["actor"], home.url("/users/ann"));
        assert_eq!(own[0].activity["object"]["type"], "Note");
        assert!(relayed(&received, "Update").is_empty());
    }
    let from_lemmy = settled(home, lemmy).await;
    assert_eq!(relayed(&from_lemmy, "Update").len(), 1, "{backend:?}");
    assert!(
        from_lemmy
            .iter()
            .all(|delivery| delivery.activity["type"] != "Update"),
        "{backend:?}: no second copy for Lemmy"
    );
    for peer in [masto, lemmy, takahe] {
        peer.clear_received();
    }

    // A Lemmy member's own post is not announced back to Lemmy; microblogs get the boost.
    let page_id = lemmy.url("/post/1");
    let page = json!({
        "id": page_id,
        "type": "Page",
        "attributedTo": lem,
        "name": "From Lemmy",
        "content": "<p>Hello</p>",
        "to": [group.ap_id, mastodon::PUBLIC],
        "cc": [],
        "audience": group.ap_id,
        "published": "2026-12-06T10:00:00Z",
    });
    let create = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": lemmy.url("/activities/create/1"),
        "type": "Create",
        "actor": lem,
        "to": [group.ap_id, mastodon::PUBLIC],
        "cc": [],
        "audience": group.ap_id,
        "object": page,
    });
    let (status, body) = lemmy
        .send("lem", &home.url("/inbox"), &create, &Tampering::default())
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{backend:?}: {body}");
    let from_lemmy = settled(home, lemmy).await;
    assert!(
        relayed(&from_lemmy, "Create").is_empty(),
        "{backend:?}: no echo of Lemmy's own post: {from_lemmy:#?}"
    );
    assert_eq!(boosts(&settled(home, masto).await).len(), 1, "{backend:?}");
    lemmy.clear_received();

    // Ann answers the Lemmy post: Lemmy gets the group's Announce of her reply, and no second,
    // direct copy although the reply names its author there.
    let threads = ann.get("/groups/repair/threads").await;
    let lemmy_thread = threads
        .as_array()
        .unwrap()
        .iter()
        .find(|listed| listed["url"] == page_id.as_str())
        .unwrap();
    ann.send(
        Method::POST,
        &format!("/posts/{}/replies", lemmy_thread["id"]),
        Some(json!({ "body": "Welcome!" })),
        201,
    )
    .await;
    let from_lemmy = settled(home, lemmy).await;
    assert_eq!(relayed(&from_lemmy, "Create").len(), 1, "{backend:?}");
    assert!(
        from_lemmy
            .iter()
            .all(|delivery| delivery.activity["type"] != "Create"),
        "{backend:?}: no direct copy to a Lemmy member server: {from_lemmy:#?}"
    );
    network.stop().await;
}
