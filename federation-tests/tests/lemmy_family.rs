//! A Kindred group as Lemmy, Mbin and PieFed read one: a ban lifted with the original Block
//! embedded in the shape Lemmy parses, followers as a `Collection` with `items`, the latest
//! threads on the outbox itself, a profile edit made by a moderator and announced, reply
//! counts without deleted or removed replies, and remote authors bannable through the API.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::http::StatusCode;
use kindred::testing::{self, Backend};
use kindred_federation_tests::{
    ApiClient, TestInstance, TestNetwork, join_group, mastodon,
    peer::{MastodonPeer, ReceivedDelivery, Tampering},
    wait_for_empty_queue,
};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

/// Everything `peer` received once `home` has sent all it had to send.
async fn settled(home: &TestInstance, peer: &MastodonPeer) -> Vec<ReceivedDelivery> {
    wait_for_empty_queue(home, WAIT).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    peer.received()
}

/// An activity as it reached the peer: on its own or inside the group's Announce.
fn activities_of(received: &[ReceivedDelivery], kind: &str) -> Vec<Value> {
    received
        .iter()
        .flat_map(|delivery| {
            let activity = &delivery.activity;
            [activity.clone(), activity["object"].clone()]
        })
        .filter(|activity| activity["type"] == kind)
        .collect()
}

/// A group owned by ann (local), with a Lemmy member `lem` and a Mastodon member `bob`.
struct LemmyAndMastodon {
    network: TestNetwork,
    ann: ApiClient,
    lem: String,
}

async fn lemmy_and_mastodon(backend: Backend) -> LemmyAndMastodon {
    let network = TestNetwork::start_with_peers(&["home"], &["lemmy", "masto"], backend).await;
    let home = network.instance("home");
    let (lemmy, masto) = (network.peer(0), network.peer(1));
    lemmy.set_software("lemmy");
    masto.set_software("mastodon");
    let ann = ApiClient::sign_up(&network, home, "ann").await;
    ann.send(
        Method::POST,
        "/groups",
        Some(json!({ "name": "repair", "title": "Repair café" })),
        201,
    )
    .await;
    let group = kindred::groups::directory::find_local_group(&home.database.connection, "repair")
        .await
        .unwrap();
    let lem = join_group(lemmy, home, &group, "lem", 1, "1").await;
    join_group(masto, home, &group, "bob", 2, "1").await;
    wait_for_empty_queue(home, WAIT).await;
    LemmyAndMastodon { network, ann, lem }
}

#[tokio::test]
async fn a_lifted_ban_reaches_lemmy_with_the_original_block_embedded() {
    for backend in testing::backends_under_test() {
        lifted_ban(backend).await;
    }
}

async fn lifted_ban(backend: Backend) {
    let LemmyAndMastodon { network, ann, lem } = lemmy_and_mastodon(backend).await;
    let home = network.instance("home");
    let lemmy = network.peer(0);
    // Lem posts; ann finds the author's id in the API and bans them through it.
    let page = json!({
        "id": lemmy.url("/post/1"),
        "type": "Page",
        "attributedTo": lem,
        "name": "Spam",
        "content": "<p>Buy now</p>",
        "to": [home.url("/groups/repair"), mastodon::PUBLIC],
        "cc": [],
        "audience": home.url("/groups/repair"),
    });
    let create = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": lemmy.url("/activities/create/1"),
        "type": "Create",
        "actor": lem,
        "to": [home.url("/groups/repair"), mastodon::PUBLIC],
        "cc": [],
        "audience": home.url("/groups/repair"),
        "object": page,
    });
    let (status, body) = lemmy
        .send("lem", &home.url("/inbox"), &create, &Tampering::default())
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{backend:?}: {body}");
    let threads = ann.get("/groups/repair/threads").await;
    let author = &threads[0]["author"];
    assert_eq!(author["handle"], format!("lem@{}", lemmy.domain));
    let person_id = author["id"].as_i64().unwrap();
    assert!(person_id > 0);
    ann.send(
        Method::POST,
        "/groups/repair/bans",
        Some(json!({ "person_id": person_id, "reason": "spam" })),
        201,
    )
    .await;
    let block = activities_of(&settled(home, lemmy).await, "Block")
        .into_iter()
        .next()
        .expect("Lemmy hears of the ban");
    lemmy.clear_received();
    let bans = ann.get("/groups/repair/bans").await;
    ann.send(
        Method::DELETE,
        &format!("/groups/repair/bans/{}", bans[0]["id"]),
        None,
        204,
    )
    .await;
    let undos = activities_of(&settled(home, lemmy).await, "Undo");
    assert!(!undos.is_empty(), "{backend:?}: Lemmy hears the ban lifted");
    for undo in undos {
        // Lemmy's UndoBlockUser: actor, to, object (its BlockUser), cc, type, id, audience.
        for field in ["id", "actor", "to", "cc", "audience", "object"] {
            assert!(
                undo.get(field).is_some(),
                "{backend:?}: Undo lacks {field}: {undo}"
            );
        }
        let embedded = &undo["object"];
        assert_eq!(
            embedded["id"], block["id"],
            "{backend:?}: the original Block"
        );
        for field in ["actor", "to", "cc", "object", "target", "audience"] {
            assert!(
                embedded.get(field).is_some(),
                "{backend:?}: the embedded Block lacks {field}: {embedded}"
            );
        }
        assert!(embedded["to"].is_array() && embedded["cc"].is_array());
        assert_eq!(embedded["object"], lem.as_str());
    }
    let fetched = network
        .client()
        .get(block["id"].as_str().unwrap())
        .header("Accept", "application/activity+json")
        .send()
        .await
        .unwrap();
    assert_eq!(
        fetched.status().as_u16(),
        200,
        "the Block answers at its id"
    );
    network.stop().await;
}

#[tokio::test]
async fn collections_and_profile_edits_in_the_shapes_lemmy_reads() {
    for backend in testing::backends_under_test() {
        collections_and_edits(backend).await;
    }
}

async fn collections_and_edits(backend: Backend) {
    let LemmyAndMastodon { network, ann, .. } = lemmy_and_mastodon(backend).await;
    let home = network.instance("home");
    let (lemmy, masto) = (network.peer(0), network.peer(1));
    let group_id = home.url("/groups/repair");

    // Followers: a Collection with totalItems and items, as Lemmy parses it.
    let followers = network
        .fetch_activity_json(&format!("{group_id}/followers"))
        .await;
    assert_eq!(followers["type"], "Collection", "{followers}");
    assert_eq!(followers["totalItems"], 3);
    assert_eq!(followers["items"], json!([]));

    // The outbox, read as Lemmy reads it when its first user subscribes: the latest 20
    // threads as Announce{Create{Page}} on the collection itself, newest first.
    for number in 1..=25 {
        ann.send(
            Method::POST,
            "/groups/repair/threads",
            Some(json!({ "title": format!("Thread {number}"), "body": "Text." })),
            201,
        )
        .await;
    }
    let outbox = network
        .fetch_activity_json(&format!("{group_id}/outbox"))
        .await;
    let items = outbox["orderedItems"].as_array().unwrap();
    assert_eq!(items.len(), 20, "{backend:?}");
    for item in items {
        assert_eq!(item["type"], "Announce");
        assert_eq!(item["actor"], group_id.as_str());
        assert_eq!(item["object"]["type"], "Create");
        assert_eq!(item["object"]["object"]["type"], "Page");
    }
    assert_eq!(items[0]["object"]["object"]["name"], "Thread 25");
    assert!(outbox["totalItems"].as_u64().unwrap() >= 25);
    assert!(outbox["first"].is_string(), "Mastodon pages from `first`");

    // A profile edit: Lemmy gets the group's Announce of the moderator's Update{Group};
    // Mastodon the group's own Update.
    wait_for_empty_queue(home, WAIT).await;
    lemmy.clear_received();
    masto.clear_received();
    ann.send(
        Method::PATCH,
        "/groups/repair",
        Some(json!({ "title": "Repair café Lyon" })),
        200,
    )
    .await;
    let for_lemmy = settled(home, lemmy).await;
    let announced: Vec<&ReceivedDelivery> = for_lemmy
        .iter()
        .filter(|delivery| {
            delivery.activity["type"] == "Announce"
                && delivery.activity["object"]["type"] == "Update"
        })
        .collect();
    assert_eq!(announced.len(), 1, "{backend:?}: {for_lemmy:#?}");
    let update = &announced[0].activity["object"];
    assert_eq!(
        update["actor"],
        home.url("/users/ann"),
        "made by a moderator"
    );
    assert_eq!(update["object"]["type"], "Group");
    assert_eq!(update["object"]["name"], "Repair café Lyon");
    assert!(
        for_lemmy
            .iter()
            .all(|delivery| delivery.activity["type"] != "Update"),
        "{backend:?}: Lemmy refuses an Update made by a Group"
    );
    let for_mastodon = settled(home, masto).await;
    let own: Vec<&ReceivedDelivery> = for_mastodon
        .iter()
        .filter(|delivery| delivery.activity["type"] == "Update")
        .collect();
    assert_eq!(own.len(), 1, "{backend:?}");
    assert_eq!(own[0].activity["actor"], group_id.as_str());
    network.stop().await;
}

#[tokio::test]
async fn reply_counts_leave_out_deleted_and_removed_replies() {
    let LemmyAndMastodon { network, ann, .. } = lemmy_and_mastodon(Backend::Sqlite).await;
    let home = network.instance("home");
    let thread = ann
        .send(
            Method::POST,
            "/groups/repair/threads",
            Some(json!({ "title": "Kettle", "body": "Clicks." })),
            201,
        )
        .await;
    let mut replies = Vec::new();
    for text in ["One", "Two", "Three"] {
        replies.push(
            ann.send(
                Method::POST,
                &format!("/posts/{}/replies", thread["id"]),
                Some(json!({ "body": text })),
                201,
            )
            .await,
        );
    }
    let count = async || {
        ann.get(&format!("/posts/{}", thread["id"])).await["thread"]["reply_count"].clone()
    };
    assert_eq!(count().await, 3);
    ann.send(
        Method::DELETE,
        &format!("/posts/{}", replies[0]["id"]),
        None,
        204,
    )
    .await;
    ann.send(
        Method::POST,
        &format!("/posts/{}/moderate/remove", replies[1]["id"]),
        Some(json!({ "reason": "off topic" })),
        200,
    )
    .await;
    assert_eq!(count().await, 1, "as Lemmy counts them");
    ann.send(
        Method::POST,
        &format!("/posts/{}/moderate/restore", replies[1]["id"]),
        None,
        200,
    )
    .await;
    assert_eq!(count().await, 2);
    wait_for_empty_queue(home, WAIT).await;
    network.stop().await;
}

#[tokio::test]
async fn an_author_restores_their_deleted_post_until_its_content_is_purged() {
    for backend in testing::backends_under_test() {
        undelete(backend).await;
    }
}

async fn undelete(backend: Backend) {
    let LemmyAndMastodon { network, ann, lem } = lemmy_and_mastodon(backend).await;
    let home = network.instance("home");
    let lemmy = network.peer(0);
    let group = home.url("/groups/repair");
    let post_id = lemmy.url("/post/7");
    let create = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": lemmy.url("/activities/create/7"),
        "type": "Create",
        "actor": lem,
        "to": [group, mastodon::PUBLIC],
        "cc": [],
        "audience": group,
        "object": {
            "id": post_id,
            "type": "Page",
            "attributedTo": lem,
            "name": "Soldering tips",
            "content": "<p>Tin the tip first.</p>",
            "to": [group, mastodon::PUBLIC],
            "cc": [],
            "audience": group,
        },
    });
    let send = async |activity: &Value| {
        lemmy
            .send("lem", &home.url("/inbox"), activity, &Tampering::default())
            .await
    };
    assert_eq!(send(&create).await.0, StatusCode::ACCEPTED);
    let delete = |number: u32| {
        json!({
            "id": lemmy.url(&format!("/activities/delete/{number}")),
            "type": "Delete",
            "actor": lem,
            "to": [group, mastodon::PUBLIC],
            "cc": [],
            "audience": group,
            "object": post_id,
        })
    };
    let undo = |number: u32| {
        let mut undo = json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": lemmy.url(&format!("/activities/undo/{number}")),
            "type": "Undo",
            "actor": lem,
            "to": [group, mastodon::PUBLIC],
            "cc": [],
            "audience": group,
        });
        undo["object"] = delete(number);
        undo
    };
    let with_context = |mut activity: Value| {
        activity["@context"] = json!("https://www.w3.org/ns/activitystreams");
        activity
    };
    let thread_id = ann.get("/groups/repair/threads").await[0]["id"].clone();
    let thread = async || ann.get(&format!("/posts/{thread_id}")).await["thread"].clone();

    // Deleted: a tombstone, its content hidden.
    let (status, body) = send(&with_context(delete(1))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{backend:?}: {body}");
    let shown = thread().await;
    assert_eq!(shown["deleted"], true);
    assert_eq!(shown["content_html"], "");
    // The author undoes it: back, content and all (a moderator's restore is another thing).
    let (status, body) = send(&undo(1)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{backend:?}: {body}");
    let shown = thread().await;
    assert_eq!(shown["deleted"], false, "{backend:?}: {shown}");
    assert!(
        shown["content_html"]
            .as_str()
            .unwrap()
            .contains("Tin the tip")
    );
    assert_eq!(shown["title"], "Soldering tips");

    // Once the grace period is over, the content is purged and the deletion is final.
    assert_eq!(send(&with_context(delete(2))).await.0, StatusCode::ACCEPTED);
    let purged = kindred::groups::posts::purge_deleted_content(
        &home.database.connection,
        chrono::Utc::now() + chrono::Duration::seconds(1),
    )
    .await
    .unwrap();
    assert_eq!(purged, 1);
    let (status, _) = send(&undo(2)).await;
    assert_eq!(status, StatusCode::GONE, "{backend:?}");
    assert_eq!(thread().await["deleted"], true);
    network.stop().await;
}

#[tokio::test]
async fn a_group_not_safe_for_work_says_so_and_its_posts_are_folded() {
    let LemmyAndMastodon { network, ann, .. } = lemmy_and_mastodon(Backend::Sqlite).await;
    let home = network.instance("home");
    let lemmy = network.peer(0);
    // The owner marks the group NSFW; its actor says so, as Lemmy's communities do.
    let edited = ann
        .send(
            Method::PATCH,
            "/groups/repair",
            Some(json!({ "title": "Repair café", "sensitive": true })),
            200,
        )
        .await;
    assert_eq!(edited["sensitive"], true);
    let actor = network
        .fetch_activity_json(&home.url("/groups/repair"))
        .await;
    assert_eq!(actor["sensitive"], true, "{actor}");
    // Its posts are sensitive, on the wire and in the API, and folded on the page.
    let thread = ann
        .send(
            Method::POST,
            "/groups/repair/threads",
            Some(json!({ "title": "Anatomy of a fuse", "body": "Pictures inside." })),
            201,
        )
        .await;
    assert_eq!(thread["sensitive"], true);
    let object = network
        .fetch_activity_json(thread["url"].as_str().unwrap())
        .await;
    assert_eq!(object["sensitive"], true);
    let page = network
        .client()
        .get(thread["url"].as_str().unwrap())
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("<details class=\"sensitive\">"), "{page}");
    let group_page = network
        .client()
        .get(home.url("/groups/repair"))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(group_page.contains("class=\"nsfw\""));

    // A remote community's flag is read with its document.
    let keys = testing::test_keypairs();
    let community = lemmy.add_person("nsfwcommunity", &keys[4].private_key, &keys[4].public_key);
    lemmy.set_profile(
        "nsfwcommunity",
        json!({ "type": "Group", "sensitive": true }),
    );
    let stored = kindred::federation::discovery::resolve_group(&home.context(), &community)
        .await
        .unwrap();
    assert!(stored.sensitive);
    network.stop().await;
}
