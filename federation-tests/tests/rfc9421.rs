//! RFC 9421 HTTP Message Signatures, end to end: a Fedify-shaped peer that knocks with RFC 9421
//! first is taken at the first knock (one request per activity), and a server that takes only
//! RFC 9421 gets Kindred's deliveries by double-knocking, after which Kindred remembers the
//! scheme and knocks with it first (and knocks again when the server changes its mind).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::http::StatusCode;
use kindred::testing::{self, Backend};
use kindred_entities::{delivery, instance};
use kindred_federation_tests::{
    TestInstance, TestNetwork, mastodon,
    peer::{MastodonPeer, ReceivedDelivery, SentRequest, SignatureScheme, Tampering},
    wait_for_empty_queue,
};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

fn add_person(peer: &MastodonPeer, name: &str, key_index: usize) -> String {
    let keys = testing::test_keypairs();
    let pair = &keys[key_index % keys.len()];
    peer.add_person(name, &pair.private_key, &pair.public_key)
}

/// What `instances` holds for `peer`'s server on `home`: the remembered scheme and the failures
/// in a row.
async fn server_record(home: &TestInstance, peer: &MastodonPeer) -> (Option<String>, i32) {
    let row = instance::Entity::find()
        .filter(instance::Column::Host.eq(&peer.domain))
        .one(&home.database.connection)
        .await
        .unwrap()
        .expect("an instance row for the peer");
    (row.signature_scheme, row.consecutive_failures)
}

/// The requests that carried an `Accept` to `inbox_path`, in order: each knock's scheme and
/// the answer it got.
fn accept_knocks(
    received: &[ReceivedDelivery],
    inbox_path: &str,
) -> Vec<(Option<SignatureScheme>, StatusCode)> {
    received
        .iter()
        .filter(|delivery| {
            delivery.activity["type"] == "Accept" && delivery.inbox_path == inbox_path
        })
        .map(|delivery| (delivery.scheme, delivery.answered))
        .collect()
}

fn knocks(sent: &[SentRequest]) -> Vec<(SignatureScheme, StatusCode)> {
    sent.iter()
        .map(|request| (request.scheme, request.status))
        .collect()
}

#[tokio::test]
async fn a_fedify_peer_knocking_with_rfc_9421_is_taken_at_the_first_knock() {
    for backend in testing::backends_under_test() {
        fedify_first_knock(backend).await;
    }
}

async fn fedify_first_knock(backend: Backend) {
    let network = TestNetwork::start_with_peers(&["home"], &["fedify"], backend).await;
    let home = network.instance("home");
    let fedify = network.peer(0);
    fedify.sign_rfc9421_first(true);
    let group = home.create_group("repair").await.ap_id;
    let alice = add_person(fedify, "alice", 1);

    // A Follow to the group's inbox and a post to the shared inbox: one request each.
    let (status, body) = fedify
        .send(
            "alice",
            &format!("{group}/inbox"),
            &mastodon::follow(&alice, &group, "1"),
            &Tampering::default(),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{backend:?} follow: {body}");
    let note_id = fedify.url("/users/alice/statuses/1");
    let note = mastodon::note(&alice, &note_id, &group, "repair", "Kettle fixed!");
    fedify.publish_note("alice", "1", note.clone());
    let (status, body) = fedify
        .send(
            "alice",
            &home.url("/inbox"),
            &mastodon::create(&alice, &note),
            &Tampering::default(),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{backend:?} post: {body}");
    assert_eq!(
        knocks(&fedify.sent()),
        [
            (SignatureScheme::Rfc9421, StatusCode::ACCEPTED),
            (SignatureScheme::Rfc9421, StatusCode::ACCEPTED),
        ],
        "{backend:?}: exactly one request per activity"
    );

    // A bad RFC 9421 signature is refused with 401, so Fedify knocks again in draft-cavage
    // (refused too: its digest is as wrong).
    let (status, _) = fedify
        .send(
            "alice",
            &home.url("/inbox"),
            &mastodon::like(&alice, &note_id, "1"),
            &Tampering {
                wrong_digest: true,
                ..Tampering::default()
            },
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{backend:?}");
    assert_eq!(
        knocks(&fedify.sent()[2..]),
        [
            (SignatureScheme::Rfc9421, StatusCode::UNAUTHORIZED),
            (SignatureScheme::DraftCavage, StatusCode::UNAUTHORIZED),
        ],
        "{backend:?}"
    );

    // Kindred's own Accept goes out in draft-cavage, which Fedify takes: nothing to remember.
    let received = fedify
        .wait_for("the Accept", WAIT, |received| {
            !accept_knocks(received, "/users/alice/inbox").is_empty()
        })
        .await;
    assert_eq!(
        accept_knocks(&received, "/users/alice/inbox"),
        [(Some(SignatureScheme::DraftCavage), StatusCode::ACCEPTED)],
        "{backend:?}"
    );
    wait_for_empty_queue(home, WAIT).await;
    let followers = network
        .fetch_activity_json(&format!("{group}/followers"))
        .await;
    assert_eq!(followers["totalItems"], 1, "{backend:?}");
    assert_eq!(server_record(home, fedify).await, (None, 0), "{backend:?}");
    network.stop().await;
}

#[tokio::test]
async fn a_server_taking_only_rfc_9421_gets_deliveries_and_its_scheme_is_remembered() {
    for backend in testing::backends_under_test() {
        double_knock_and_remember(backend).await;
    }
}

/// `name` on `peer` follows `group` (202), and Kindred's Accept to them is awaited; returns
/// the knocks that carried it.
async fn join_and_wait_for_accept(
    network: &TestNetwork,
    peer: &MastodonPeer,
    group: &str,
    name: &str,
    key_index: usize,
) -> Vec<(Option<SignatureScheme>, StatusCode)> {
    let actor = add_person(peer, name, key_index);
    let (status, body) = peer
        .send(
            name,
            &format!("{group}/inbox"),
            &mastodon::follow(&actor, group, "1"),
            &Tampering::default(),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "follow by {name}: {body}");
    let inbox_path = format!("/users/{name}/inbox");
    let received = peer
        .wait_for("an Accept taken", WAIT, |received| {
            accept_knocks(received, &inbox_path)
                .iter()
                .any(|(_, answered)| *answered == StatusCode::ACCEPTED)
        })
        .await;
    wait_for_empty_queue(network.instance("home"), WAIT).await;
    accept_knocks(&received, &inbox_path)
}

async fn double_knock_and_remember(backend: Backend) {
    let mut network = TestNetwork::start_with_peers(&["home"], &["strict"], backend).await;
    let strict = network.peer(0).clone();
    let strict = &strict;
    strict.accept_only(Some(SignatureScheme::Rfc9421));
    let group = network.instance("home").create_group("repair").await.ap_id;

    // The first delivery: draft-cavage is refused, RFC 9421 at once is taken, and the server's
    // scheme is remembered. The two knocks are one attempt: delivered, no failure recorded.
    let knocks = join_and_wait_for_accept(&network, strict, &group, "alice", 1).await;
    assert_eq!(
        knocks,
        [
            (Some(SignatureScheme::DraftCavage), StatusCode::UNAUTHORIZED),
            (Some(SignatureScheme::Rfc9421), StatusCode::ACCEPTED),
        ],
        "{backend:?}"
    );
    let home = network.instance("home");
    let accepted = strict
        .received()
        .into_iter()
        .find(|delivery| delivery.answered == StatusCode::ACCEPTED)
        .unwrap();
    assert!(
        accepted.signature_verified,
        "{:?}",
        accepted.verification_error
    );
    assert_eq!(
        accepted.key_id.as_deref(),
        Some(format!("{group}#main-key").as_str())
    );
    assert_eq!(
        server_record(home, strict).await,
        (Some("rfc9421".to_string()), 0),
        "{backend:?}"
    );
    let delivery_rows = delivery::Entity::find()
        .count(&home.database.connection)
        .await
        .unwrap();
    assert_eq!(
        delivery_rows, 0,
        "{backend:?}: delivered at the first attempt"
    );

    // The next delivery to that server goes out in RFC 9421 first, even after a restart (the
    // scheme is in the database, not only in the worker's memory): no 401 in between.
    network.instances[0].crash_and_restart().await;
    let home = network.instance("home");
    strict.clear_received();
    let knocks = join_and_wait_for_accept(&network, strict, &group, "bob", 2).await;
    assert_eq!(
        knocks,
        [(Some(SignatureScheme::Rfc9421), StatusCode::ACCEPTED)],
        "{backend:?}"
    );

    // The server changes its mind: the remembered scheme is refused, draft-cavage is taken at
    // once, and that is remembered instead.
    strict.accept_only(Some(SignatureScheme::DraftCavage));
    strict.clear_received();
    let knocks = join_and_wait_for_accept(&network, strict, &group, "carol", 3).await;
    assert_eq!(
        knocks,
        [
            (Some(SignatureScheme::Rfc9421), StatusCode::UNAUTHORIZED),
            (Some(SignatureScheme::DraftCavage), StatusCode::ACCEPTED),
        ],
        "{backend:?}"
    );
    assert_eq!(
        server_record(home, strict).await,
        (Some("draft-cavage".to_string()), 0),
        "{backend:?}"
    );
    network.stop().await;
}
