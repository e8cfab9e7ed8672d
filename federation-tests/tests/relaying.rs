//! Joining and relaying, end to end: Mastodon-like peers follow a Kindred group, post, reply,
//! edit, vote and delete; every member's server receives the group's signed Announces, once per
//! server, with the activity inside exactly as it was sent.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::http::StatusCode;
use kindred::testing::{self, Backend};
use kindred_entities::{membership, post, received_activity};
use kindred_federation_tests::{
    TestInstance, TestNetwork, mastodon,
    peer::{MastodonPeer, ReceivedDelivery, Tampering},
    wait_for_empty_queue,
};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::Value;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

/// Adds a person to a peer with one of the committed test keys.
fn add_person(peer: &MastodonPeer, name: &str, key_index: usize) -> String {
    let keys = testing::test_keypairs();
    let pair = &keys[key_index % keys.len()];
    peer.add_person(name, &pair.private_key, &pair.public_key)
}

fn announces_of<'a>(
    received: &'a [ReceivedDelivery],
    inner_type: &str,
) -> Vec<&'a ReceivedDelivery> {
    received
        .iter()
        .filter(|delivery| {
            delivery.activity["type"] == "Announce"
                && delivery.activity["object"]["type"] == inner_type
        })
        .collect()
}

fn boosts(received: &[ReceivedDelivery]) -> Vec<&ReceivedDelivery> {
    received
        .iter()
        .filter(|delivery| {
            delivery.activity["type"] == "Announce" && delivery.activity["object"].is_string()
        })
        .collect()
}

async fn count<E: EntityTrait>(instance: &TestInstance) -> u64
where
    E::Model: Sync,
{
    E::find()
        .count(&instance.database.connection)
        .await
        .unwrap()
}

#[tokio::test]
async fn members_join_post_reply_edit_vote_and_delete_and_every_server_hears_once() {
    for backend in testing::backends_under_test() {
        whole_conversation(backend).await;
    }
}

async fn whole_conversation(backend: Backend) {
    let network =
        TestNetwork::start_with_peers(&["home"], &["masto-one", "masto-two"], backend).await;
    let home = network.instance("home");
    let (one, two) = (network.peer(0), network.peer(1));
    let group = home.create_group("repair").await.ap_id;
    let group_inbox = format!("{group}/inbox");
    let shared_inbox = home.url("/inbox");
    let alice = add_person(one, "alice", 1);
    let bob = add_person(two, "bob", 2);
    let carol = add_person(two, "carol", 3);

    // Joining: each Follow is answered with an Accept the peer can verify.
    for (peer, name, actor) in [
        (one, "alice", &alice),
        (two, "bob", &bob),
        (two, "carol", &carol),
    ] {
        let follow = mastodon::follow(actor, &group, "1");
        let (status, body) = peer
            .send(name, &group_inbox, &follow, &Tampering::default())
            .await;
        assert_eq!(
            status,
            StatusCode::ACCEPTED,
            "{backend:?} follow by {name}: {body}"
        );
    }
    for (peer, count) in [(one, 1), (two, 2)] {
        let received = peer
            .wait_for("Accepts", WAIT, |received| {
                received
                    .iter()
                    .filter(|d| d.activity["type"] == "Accept")
                    .count()
                    >= count
            })
            .await;
        for accept in received.iter().filter(|d| d.activity["type"] == "Accept") {
            assert!(accept.signature_verified, "{:?}", accept.verification_error);
            assert_eq!(
                accept.key_id.as_deref(),
                Some(format!("{group}#main-key").as_str())
            );
            assert_eq!(accept.activity["actor"], group.as_str());
            // Lemmy reads the embedded Follow only with its actor as a plain URL.
            assert!(accept.activity["object"]["actor"].is_string());
            assert_eq!(accept.activity["object"]["object"], group.as_str());
            assert!(
                accept.inbox_path.ends_with("/inbox") && accept.inbox_path.starts_with("/users/")
            );
        }
    }
    let followers: Value = network
        .fetch_activity_json(&format!("{group}/followers"))
        .await;
    assert_eq!(followers["totalItems"], 3);
    wait_for_empty_queue(home, WAIT).await;
    one.clear_received();
    two.clear_received();

    // A new thread from Mastodon: relayed as Announce{Create} (verbatim) and boosted by id,
    // once per server although two members live on masto-two.
    let note_id = one.url("/users/alice/statuses/1");
    let note = mastodon::note(
        &alice,
        &note_id,
        &group,
        "repair",
        "Toaster fixed!<br>It was the fuse.",
    );
    one.publish_note("alice", "1", note.clone());
    let create = mastodon::create(&alice, &note);
    let (status, body) = one
        .send("alice", &shared_inbox, &create, &Tampering::default())
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    for peer in [one, two] {
        let received = peer
            .wait_for("the new thread", WAIT, |received| {
                announces_of(received, "Create").len() == 1 && boosts(received).len() == 1
            })
            .await;
        let relayed = announces_of(&received, "Create")[0];
        assert!(
            relayed.signature_verified,
            "{:?}",
            relayed.verification_error
        );
        assert_eq!(
            relayed.inbox_path, "/inbox",
            "one delivery per shared inbox"
        );
        assert_eq!(relayed.activity["actor"], group.as_str());
        assert_eq!(relayed.activity["to"][0], mastodon::PUBLIC);
        assert_eq!(relayed.activity["cc"][0], format!("{group}/followers"));
        assert_eq!(
            relayed.activity["object"], create,
            "relayed verbatim, @context included"
        );
        assert_eq!(boosts(&received)[0].activity["object"], note_id.as_str());
    }
    let thread = post::Entity::find()
        .one(&home.database.connection)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(thread.title.as_deref(), Some("Toaster fixed!"));
    assert!(thread.content_html.contains("It was the fuse."));

    // A reply that addresses only the parent's author still reaches the group: relayed, not
    // boosted.
    let reply_id = two.url("/users/bob/statuses/2");
    let reply = mastodon::reply(&bob, &reply_id, &note_id, &alice, "Which fuse was it?");
    let (status, body) = two
        .send(
            "bob",
            &shared_inbox,
            &mastodon::create(&bob, &reply),
            &Tampering::default(),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    one.wait_for("the reply", WAIT, |received| {
        announces_of(received, "Create").len() == 2
    })
    .await;
    assert_eq!(
        boosts(&one.received()).len(),
        1,
        "replies are never boosted"
    );

    // Edit, like, undo the like, delete: each relayed once to each server.
    let mut edited = note.clone();
    edited["content"] = Value::String("<p>Toaster fixed! (edited)</p>".into());
    edited["updated"] = Value::String("2026-11-27T10:10:00Z".into());
    let steps = [
        (
            "alice",
            one,
            mastodon::update(&alice, &edited, "1"),
            "Update",
        ),
        ("carol", two, mastodon::like(&carol, &note_id, "1"), "Like"),
        (
            "carol",
            two,
            mastodon::undo(&carol, &mastodon::like(&carol, &note_id, "1"), "1"),
            "Undo",
        ),
        ("alice", one, mastodon::delete(&alice, &note_id), "Delete"),
    ];
    for (sender, peer, activity, kind) in steps {
        let (status, body) = peer
            .send(sender, &shared_inbox, &activity, &Tampering::default())
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{kind}: {body}");
        for listener in [one, two] {
            let received = listener
                .wait_for(kind, WAIT, |received| {
                    announces_of(received, kind).len() == 1
                })
                .await;
            assert_eq!(
                announces_of(&received, kind)[0].activity["object"],
                activity
            );
        }
        let stored = post::Entity::find_by_id(thread.id)
            .one(&home.database.connection)
            .await
            .unwrap()
            .unwrap();
        match kind {
            "Update" => assert!(stored.content_html.contains("(edited)")),
            "Like" => assert_eq!(stored.like_count, 1),
            "Undo" => assert_eq!(stored.like_count, 0),
            _ => {
                assert!(stored.deleted_at.is_some(), "the tombstone stays");
                // Its content is kept, hidden, for its author to restore until it is purged.
                assert!(!stored.content_purged);
            }
        }
    }
    wait_for_empty_queue(home, WAIT).await;
    for delivery in one.received().iter().chain(two.received().iter()) {
        assert!(
            delivery.signature_verified,
            "{:?}",
            delivery.verification_error
        );
    }

    // The outbox lists the group's announces, newest first.
    let outbox: Value = network
        .fetch_activity_json(&format!("{group}/outbox?page=1"))
        .await;
    assert_eq!(outbox["totalItems"], 7);
    assert_eq!(outbox["orderedItems"][0]["object"]["type"], "Delete");

    // Leaving: Undo{Follow} ends the membership.
    let follow = mastodon::follow(&bob, &group, "1");
    let (status, _) = two
        .send(
            "bob",
            &group_inbox,
            &mastodon::undo(&bob, &follow, "2"),
            &Tampering::default(),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(count::<membership::Entity>(home).await, 2);
    network.stop().await;
}

#[tokio::test]
async fn hostile_or_unwelcome_requests_are_refused_and_change_nothing() {
    for backend in testing::backends_under_test() {
        refusals(backend).await;
    }
}

async fn refusals(backend: Backend) {
    let network = TestNetwork::start_with_peers(&["home"], &["masto"], backend).await;
    let home = network.instance("home");
    let peer = network.peer(0);
    let group = home.create_group("repair").await.ap_id;
    let shared_inbox = home.url("/inbox");
    let alice = add_person(peer, "alice", 1);
    let mallory = add_person(peer, "mallory", 2);
    let follow = mastodon::follow(&alice, &group, "1");
    let (status, _) = peer
        .send("alice", &shared_inbox, &follow, &Tampering::default())
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);

    let note_id = peer.url("/users/alice/statuses/1");
    let note = mastodon::note(&alice, &note_id, &group, "repair", "Hello");
    let create = mastodon::create(&alice, &note);
    let other_key = testing::test_keypairs()[7].private_key.clone();

    let before = (
        count::<post::Entity>(home).await,
        count::<membership::Entity>(home).await,
        count::<received_activity::Entity>(home).await,
    );
    let big = serde_json::json!({ "id": format!("{alice}#big"), "type": "Create", "actor": alice, "padding": "x".repeat(1_100_000) });
    let mut followers_only = note.clone();
    followers_only["to"] = serde_json::json!([format!("{alice}/followers")]);
    followers_only["cc"] = serde_json::json!([group.clone()]);
    let cases: Vec<(&str, &str, Value, Tampering, StatusCode)> = vec![
        (
            "forged signature",
            "alice",
            create.clone(),
            Tampering {
                sign_with_key: Some(other_key),
                ..Default::default()
            },
            StatusCode::UNAUTHORIZED,
        ),
        (
            "wrong digest",
            "alice",
            create.clone(),
            Tampering {
                wrong_digest: true,
                ..Default::default()
            },
            StatusCode::UNAUTHORIZED,
        ),
        (
            "stale date",
            "alice",
            create.clone(),
            Tampering {
                date_offset_seconds: -3 * 3600,
                ..Default::default()
            },
            StatusCode::UNAUTHORIZED,
        ),
        (
            "dated hours ahead",
            "alice",
            create.clone(),
            Tampering {
                date_offset_seconds: 3 * 3600,
                ..Default::default()
            },
            StatusCode::UNAUTHORIZED,
        ),
        (
            "unsigned",
            "alice",
            create.clone(),
            Tampering {
                unsigned: true,
                ..Default::default()
            },
            StatusCode::UNAUTHORIZED,
        ),
        (
            "oversize body",
            "alice",
            big,
            Tampering::default(),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            "non-member",
            "mallory",
            mastodon::create(
                &mallory,
                &mastodon::note(
                    &mallory,
                    &peer.url("/users/mallory/statuses/9"),
                    &group,
                    "repair",
                    "Buy now",
                ),
            ),
            Tampering::default(),
            StatusCode::FORBIDDEN,
        ),
        (
            "followers-only",
            "alice",
            mastodon::create(&alice, &followers_only),
            Tampering::default(),
            StatusCode::FORBIDDEN,
        ),
        (
            "unknown group",
            "alice",
            mastodon::create(
                &alice,
                &mastodon::note(
                    &alice,
                    &peer.url("/users/alice/statuses/2"),
                    &home.url("/groups/nobody"),
                    "nobody",
                    "Hi",
                ),
            ),
            Tampering::default(),
            StatusCode::NOT_FOUND,
        ),
        (
            "author is not the actor",
            "mallory",
            {
                let mut forged = create.clone();
                forged["actor"] = Value::String(mallory.clone());
                forged["id"] = Value::String(format!("{mallory}#x"));
                forged
            },
            Tampering::default(),
            StatusCode::FORBIDDEN,
        ),
        (
            "unsupported type",
            "alice",
            serde_json::json!({"id": format!("{alice}#move"), "type": "Move", "actor": alice, "object": alice}),
            Tampering::default(),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (what, sender, activity, tampering, expected) in cases {
        let (status, body) = peer
            .send(sender, &shared_inbox, &activity, &tampering)
            .await;
        assert_eq!(status, expected, "{backend:?} {what}: {body}");
        assert!(
            !body.is_empty() && body.len() < 200,
            "{what}: a short reason: {body}"
        );
        let after = (
            count::<post::Entity>(home).await,
            count::<membership::Entity>(home).await,
            count::<received_activity::Entity>(home).await,
        );
        assert_eq!(after, before, "{what} changed something");
    }

    // Malformed JSON and an inbox of a group that does not exist.
    let client = network.client();
    let response = client
        .post(&shared_inbox)
        .header("content-type", "application/activity+json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let (status, _) = peer
        .send(
            "alice",
            &home.url("/groups/nobody/inbox"),
            &create,
            &Tampering::default(),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The same activity twice has one effect and is relayed once.
    for _ in 0..2 {
        let (status, body) = peer
            .send("alice", &shared_inbox, &create, &Tampering::default())
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    }
    assert_eq!(count::<post::Entity>(home).await, 1);
    peer.wait_for("the relayed thread", WAIT, |received| {
        announces_of(received, "Create").len() == 1
    })
    .await;

    // Someone else on the same server cannot edit Alice's post.
    let mut hijacked = note.clone();
    hijacked["attributedTo"] = Value::String(mallory.clone());
    hijacked["content"] = Value::String("<p>Buy now</p>".to_string());
    let (status, body) = peer
        .send(
            "mallory",
            &shared_inbox,
            &mastodon::update(&mallory, &hijacked, "1"),
            &Tampering::default(),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("only its author"), "{body}");
    let stored = post::Entity::find()
        .one(&home.database.connection)
        .await
        .unwrap()
        .unwrap();
    assert!(!stored.content_html.contains("Buy now"));
    wait_for_empty_queue(home, WAIT).await;
    assert_eq!(announces_of(&peer.received(), "Create").len(), 1);

    // Takahe re-uses a Follow's id after an Undo: joining again must work.
    let (status, _) = peer
        .send(
            "alice",
            &shared_inbox,
            &mastodon::undo(&alice, &follow, "1"),
            &Tampering::default(),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(count::<membership::Entity>(home).await, 0);
    let (status, _) = peer
        .send("alice", &shared_inbox, &follow, &Tampering::default())
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(count::<membership::Entity>(home).await, 1);

    // A profile edit (Update{Person}, which Mastodon sends to every follower's server)
    // refreshes the cached actor; nobody may edit someone else's.
    let profile: Value = network
        .client()
        .get(&alice)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut edited = profile.clone();
    edited["name"] = Value::String("Alice Liddell".into());
    let update = serde_json::json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{alice}#updates/1"),
        "type": "Update",
        "actor": alice,
        "to": [mastodon::PUBLIC],
        "object": edited,
    });
    let (status, body) = peer
        .send(
            "mallory",
            &shared_inbox,
            &{
                let mut forged = update.clone();
                forged["actor"] = Value::String(mallory.clone());
                forged["id"] = Value::String(format!("{mallory}#updates/1"));
                forged
            },
            &Tampering::default(),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = peer
        .send("alice", &shared_inbox, &update, &Tampering::default())
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let stored = kindred_entities::actor::Entity::find()
        .all(&home.database.connection)
        .await
        .unwrap()
        .into_iter()
        .find(|row| row.ap_id == alice)
        .unwrap();
    assert_eq!(stored.display_name.as_deref(), Some("Alice Liddell"));

    // Copies of one activity arriving at once (a server retrying while the first is still in
    // flight): every copy is taken, and there is one post and one relay. On PostgreSQL the
    // copies that pass the duplicate check together meet in the one statement that stores a
    // post, which fails for all but the first.
    let second_note = mastodon::note(
        &alice,
        &peer.url("/users/alice/statuses/2"),
        &group,
        "repair",
        "Hello again",
    );
    let second_create = mastodon::create(&alice, &second_note);
    let posts_before = count::<post::Entity>(home).await;
    let untampered = Tampering::default();
    let copies = (0..8).map(|_| peer.send("alice", &shared_inbox, &second_create, &untampered));
    for (status, body) in futures::future::join_all(copies).await {
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    }
    assert_eq!(count::<post::Entity>(home).await, posts_before + 1);
    wait_for_empty_queue(home, WAIT).await;
    let relayed_second = announces_of(&peer.received(), "Create")
        .into_iter()
        .filter(|announce| announce.activity["object"]["object"]["id"] == second_note["id"])
        .count();
    assert_eq!(relayed_second, 1);
    network.stop().await;
}

#[tokio::test]
async fn a_crash_during_fan_out_loses_nothing() {
    for backend in testing::backends_under_test() {
        crash_during_fan_out(backend).await;
    }
}

async fn crash_during_fan_out(backend: Backend) {
    let mut network =
        TestNetwork::start_with_peers(&["home"], &["masto-one", "masto-two"], backend).await;
    let group = network.instance("home").create_group("repair").await.ap_id;
    let shared_inbox = network.instance("home").url("/inbox");
    let (one, two) = (network.peer(0).clone(), network.peer(1).clone());
    let alice = add_person(&one, "alice", 1);
    let bob = add_person(&two, "bob", 2);
    for (peer, name, actor) in [(&one, "alice", &alice), (&two, "bob", &bob)] {
        let (status, _) = peer
            .send(
                name,
                &shared_inbox,
                &mastodon::follow(actor, &group, "1"),
                &Tampering::default(),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED);
    }
    wait_for_empty_queue(network.instance("home"), WAIT).await;

    // masto-two is down (503): its deliveries fail and wait for their retry.
    two.force_inbox_status(Some(StatusCode::SERVICE_UNAVAILABLE));
    two.clear_received();
    let note_id = one.url("/users/alice/statuses/1");
    let create = mastodon::create(
        &alice,
        &mastodon::note(&alice, &note_id, &group, "repair", "Hello"),
    );
    let (status, _) = one
        .send("alice", &shared_inbox, &create, &Tampering::default())
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    two.wait_for("a failed attempt", WAIT, |received| !received.is_empty())
        .await;

    // Crash, come back, and masto-two recovers: everything still arrives.
    let home = network
        .instances
        .iter_mut()
        .find(|instance| instance.name == "home")
        .unwrap();
    home.crash_and_restart().await;
    two.force_inbox_status(None);
    two.clear_received();
    two.wait_for("the deliveries after the restart", WAIT, |received| {
        announces_of(received, "Create").len() == 1 && boosts(received).len() == 1
    })
    .await;
    wait_for_empty_queue(network.instance("home"), WAIT).await;
    one.wait_for("masto-one's copy", WAIT, |received| {
        announces_of(received, "Create").len() == 1
    })
    .await;
    network.stop().await;
}
