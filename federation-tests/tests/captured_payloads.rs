//! The exact payloads Lemmy 0.19.20 and Takahe 0.11 sent to a group, replayed (with their host
//! names pointed at test peers) into a Kindred group: joins, pages, comments, Takahe's single
//! valued addressing, votes, deletes and leaving all take effect. Also: approval-mode groups
//! keep follows pending, and Kindred's fetches are signed by its instance actor.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::http::StatusCode;
use kindred::testing::{self, Backend};
use kindred_entities::{
    actor,
    membership::{self, MembershipState},
    post,
};
use kindred_federation_tests::{
    TestInstance, TestNetwork, mastodon, peer::Tampering, wait_for_empty_queue,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter,
};
use serde_json::Value;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures");

/// A captured payload with its hosts replaced: `(from, to)` pairs, applied in order.
fn captured(path: &str, replacements: &[(&str, &str)]) -> Value {
    let mut text = std::fs::read_to_string(format!("{FIXTURES}/{path}")).unwrap();
    for (from, to) in replacements {
        text = text.replace(from, to);
    }
    serde_json::from_str(&text).unwrap()
}

async fn find_post(instance: &TestInstance, ap_id: &str) -> Option<post::Model> {
    post::Entity::find()
        .filter(post::Column::ApId.eq(ap_id))
        .one(&instance.database.connection)
        .await
        .unwrap()
}

#[tokio::test]
async fn captured_lemmy_and_takahe_payloads_work_against_a_kindred_group() {
    for backend in testing::backends_under_test() {
        replay_captured(backend).await;
    }
}

async fn replay_captured(backend: Backend) {
    let network = TestNetwork::start_with_peers(&["home"], &["lemmy", "takahe"], backend).await;
    let home = network.instance("home");
    let (lemmy, takahe) = (network.peer(0), network.peer(1));
    let group = home.create_group("grp").await;
    let keys = testing::test_keypairs();
    lemmy.add_person_at(
        "beta_admin",
        "/u/beta_admin",
        &keys[4].private_key,
        &keys[4].public_key,
    );
    takahe.add_person_at(
        "alice",
        "/@alice@takahe.test/",
        &keys[5].private_key,
        &keys[5].public_key,
    );
    let lemmy_base = lemmy.url("/");
    let takahe_base = takahe.url("/");
    let lemmy_hosts = [
        ("http://fedi-peer2:8701/users/grp", group.ap_id.as_str()),
        ("http://lemmy-beta:8551/", lemmy_base.as_str()),
    ];
    let takahe_hosts = [
        ("https://fedi-tls.test/users/grp", group.ap_id.as_str()),
        ("https://takahe.test/", takahe_base.as_str()),
    ];
    let inbox = home.url("/inbox");
    let lemmy_dir = "captured-lemmy-0.19.20/lemmy-user-to-remote-group";
    let takahe_dir = "captured-takahe-0.11/takahe-user-to-group";
    // Sends one captured payload from the server that sent it, as its author.
    let replay = async |server: &str, file: &str| {
        let (peer, sender, activity) = match server {
            "lemmy" => (
                lemmy,
                "beta_admin",
                captured(&format!("{lemmy_dir}/{file}"), &lemmy_hosts),
            ),
            _ => (
                takahe,
                "alice",
                captured(&format!("{takahe_dir}/{file}"), &takahe_hosts),
            ),
        };
        let (status, body) = peer
            .send(sender, &inbox, &activity, &Tampering::default())
            .await;
        assert_eq!(
            status,
            StatusCode::ACCEPTED,
            "{backend:?} {server} {file}: {body}"
        );
    };

    let steps: Vec<(&str, &str)> = vec![
        ("lemmy", "01-follow.json"),
        ("lemmy", "02-create-page.json"),
        ("lemmy", "03-create-note.json"),
        ("lemmy", "04-create-note.json"),
        ("lemmy", "05-dislike.json"),
        ("takahe", "02-follow.json"),
        ("takahe", "03-create-note.json"),
        ("takahe", "04-create-note.json"),
    ];
    for (server, file) in steps {
        replay(server, file).await;
    }

    let page = find_post(home, &lemmy.url("/post/4"))
        .await
        .expect("the Lemmy page is stored");
    assert_eq!(
        page.title.as_deref(),
        Some("Lemmy post into remote group 1795761549")
    );
    assert_eq!(
        page.source_markdown.as_deref(),
        Some("Hello **group**, this is the body.")
    );
    assert_eq!(page.dislike_count, 1);
    assert_eq!(page.reply_count, 2, "a comment and a reply to it");
    let nested = find_post(home, &lemmy.url("/comment/4")).await.unwrap();
    assert_eq!(nested.thread_id, Some(page.id));
    assert_eq!(nested.title, None);
    let takahe_note = find_post(
        home,
        &takahe.url("/@alice@takahe.test/posts/649032964952383888/"),
    )
    .await
    .expect("Takahe's single-valued addressing is understood");
    assert_eq!(
        takahe_note.title.as_deref(),
        Some("Hello, a post from Takahe mentioning the group")
    );

    // Both servers got their Accepts, and every relay reached both (they are both members).
    for peer in [lemmy, takahe] {
        peer.wait_for("Accept", WAIT, |received| {
            received.iter().any(|d| d.activity["type"] == "Accept")
        })
        .await;
    }
    wait_for_empty_queue(home, WAIT).await;

    // Then: Lemmy takes its vote back and deletes its page; Takahe deletes its note and leaves.
    let finishing: Vec<(&str, &str)> = vec![
        ("lemmy", "06-undo-like.json"),
        ("lemmy", "07-delete.json"),
        ("takahe", "05-delete-note.json"),
        ("takahe", "01-undo-follow.json"),
    ];
    for (server, file) in finishing {
        replay(server, file).await;
    }
    let page = find_post(home, &lemmy.url("/post/4")).await.unwrap();
    assert_eq!(page.dislike_count, 0);
    assert!(page.deleted_at.is_some());
    let takahe_note = find_post(
        home,
        &takahe.url("/@alice@takahe.test/posts/649032964952383888/"),
    )
    .await
    .unwrap();
    assert!(takahe_note.deleted_at.is_some());
    let members = membership::Entity::find()
        .count(&home.database.connection)
        .await
        .unwrap();
    assert_eq!(members, 1, "Takahe's alice left, Lemmy's admin stays");

    // Kindred fetched the people with GETs signed by its instance actor.
    let instance_key = format!("{}#main-key", home.url("/actor"));
    assert!(
        lemmy.fetch_key_ids().contains(&instance_key),
        "{:?}",
        lemmy.fetch_key_ids()
    );
    wait_for_empty_queue(home, WAIT).await;
    network.stop().await;
}

#[tokio::test]
async fn a_group_that_approves_members_keeps_follows_pending() {
    for backend in testing::backends_under_test() {
        let network = TestNetwork::start_with_peers(&["home"], &["masto"], backend).await;
        let home = network.instance("home");
        let peer = network.peer(0);
        let group = home.create_group("closed").await;
        let mut approving: actor::ActiveModel = group.clone().into();
        approving.manually_approves_followers = Set(true);
        approving.update(&home.database.connection).await.unwrap();
        let document: Value = network.fetch_activity_json(&group.ap_id).await;
        assert_eq!(document["manuallyApprovesFollowers"], true);

        let keys = testing::test_keypairs();
        let alice = peer.add_person("alice", &keys[1].private_key, &keys[1].public_key);
        let inbox = home.url("/inbox");
        let (status, _) = peer
            .send(
                "alice",
                &inbox,
                &mastodon::follow(&alice, &group.ap_id, "1"),
                &Tampering::default(),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED);
        let stored = membership::Entity::find()
            .one(&home.database.connection)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.state, MembershipState::Pending);

        // A pending member may not post yet, and hears nothing: no Accept was sent.
        let note_id = peer.url("/users/alice/statuses/1");
        let note = mastodon::note(&alice, &note_id, &group.ap_id, "closed", "Hello?");
        let (status, _) = peer
            .send(
                "alice",
                &inbox,
                &mastodon::create(&alice, &note),
                &Tampering::default(),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        wait_for_empty_queue(home, WAIT).await;
        assert!(peer.received().is_empty(), "{:?}", peer.received());
        network.stop().await;
    }
}
