//! Delivery at scale: order per post and inbox, dead servers parked and revived, two workers on
//! one PostgreSQL database never sending a delivery twice, fast signatures accepted by the
//! federation crate's verifier, and the operator's metrics.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::http::StatusCode;
use kindred::{
    app,
    federation::{
        delivery::{self, OutgoingActivity},
        signatures::{self, SigningKey},
    },
    testing::{self, Backend},
};
use kindred_entities::{
    actor,
    delivery::{self as delivery_entity, DeliveryState},
    instance,
};
use kindred_federation_tests::{
    TestInstance, TestNetwork, join_group, mastodon,
    peer::{MastodonPeer, ReceivedDelivery, Tampering},
    wait_for_empty_queue,
};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, TransactionTrait};
use serde_json::{Value, json};
use std::{collections::HashMap, time::Duration};
use url::Url;

const WAIT: Duration = Duration::from_secs(30);

/// A person on `peer` who has joined `group`.
async fn member(
    peer: &MastodonPeer,
    home: &TestInstance,
    group: &actor::Model,
    name: &str,
    key: usize,
) -> String {
    join_group(peer, home, group, name, key, "1").await
}

/// Alice on `peer` posts status `number` saying `text` into `group` (accepted: 202); returns
/// the note.
async fn post_note(
    peer: &MastodonPeer,
    home: &TestInstance,
    group: &actor::Model,
    alice: &str,
    number: u32,
    text: &str,
) -> Value {
    let note = mastodon::note(
        alice,
        &peer.url(&format!("/users/alice/statuses/{number}")),
        &group.ap_id,
        "repair",
        text,
    );
    let (status, body) = peer
        .send(
            "alice",
            &home.url("/inbox"),
            &mastodon::create(alice, &note),
            &Tampering::default(),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    note
}

fn relayed_types(received: &[ReceivedDelivery]) -> Vec<String> {
    received
        .iter()
        .filter(|delivery| {
            delivery.activity["type"] == "Announce" && delivery.activity["object"].is_object()
        })
        .map(|delivery| {
            delivery.activity["object"]["type"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

async fn deliveries_in_state(instance: &TestInstance, state: DeliveryState) -> u64 {
    delivery_entity::Entity::find()
        .filter(delivery_entity::Column::State.eq(state))
        .count(&instance.database.connection)
        .await
        .unwrap()
}

#[tokio::test]
async fn activities_about_one_post_reach_an_inbox_in_order_after_an_outage() {
    for backend in testing::backends_under_test() {
        let network = TestNetwork::start_with_peers(&["home"], &["masto"], backend).await;
        let home = network.instance("home");
        let peer = network.peer(0);
        let group = home.create_group("repair").await;
        let alice = member(peer, home, &group, "alice", 1).await;
        wait_for_empty_queue(home, WAIT).await;

        // The server is down while the post is made, edited and deleted.
        peer.force_inbox_status(Some(StatusCode::BAD_GATEWAY));
        let note_id = peer.url("/users/alice/statuses/1");
        let note = mastodon::note(&alice, &note_id, &group.ap_id, "repair", "Hello");
        let mut edited = note.clone();
        edited["content"] = json!("<p>Hello again</p>");
        for activity in [
            mastodon::create(&alice, &note),
            mastodon::update(&alice, &edited, "1"),
            mastodon::delete(&alice, &note_id),
        ] {
            let (status, body) = peer
                .send(
                    "alice",
                    &home.url("/inbox"),
                    &activity,
                    &Tampering::default(),
                )
                .await;
            assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        }
        peer.wait_for("a failed attempt", WAIT, |received| !received.is_empty())
            .await;
        peer.force_inbox_status(None);
        peer.clear_received();
        let received = peer
            .wait_for("create, update and delete", WAIT, |received| {
                let types = relayed_types(received);
                ["Create", "Update", "Delete"]
                    .iter()
                    .all(|kind| types.iter().any(|seen| seen == kind))
            })
            .await;
        let types = relayed_types(&received);
        let position = |kind: &str| types.iter().position(|seen| seen == kind).unwrap();
        assert!(
            position("Create") < position("Update") && position("Update") < position("Delete"),
            "{backend:?}: out of order: {types:?}"
        );
        wait_for_empty_queue(home, WAIT).await;

        // The operator's view counts what happened.
        let metrics = network
            .client()
            .get(home.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            metrics.contains("kindred_delivery_queue_depth{state=\"pending\"} 0"),
            "{metrics}"
        );
        assert!(
            metrics.contains("kindred_delivery_attempts_total{outcome=\"retrying\"}"),
            "{metrics}"
        );
        assert!(
            metrics.contains("kindred_inbox_requests_total{result=\"accepted\",status=\"202\"} 4"),
            "{metrics}"
        );
        network.stop().await;
    }
}

#[tokio::test]
async fn a_dead_server_is_parked_then_revived_by_the_probe() {
    for backend in testing::backends_under_test() {
        let network = TestNetwork::start_configured(&["home"], &["masto"], backend, |config| {
            config.delivery.dead_after = Duration::from_secs(1);
            config.delivery.probe_interval = Duration::from_millis(500);
        })
        .await;
        let home = network.instance("home");
        let peer = network.peer(0);
        let group = home.create_group("repair").await;
        let alice = member(peer, home, &group, "alice", 1).await;
        wait_for_empty_queue(home, WAIT).await;

        peer.force_inbox_status(Some(StatusCode::SERVICE_UNAVAILABLE));
        post_note(peer, home, &group, &alice, 1, "One").await;

        // Failing for longer than dead_after: marked dead, its deliveries parked.
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let dead = instance::Entity::find()
                .filter(instance::Column::Host.eq(&peer.domain))
                .filter(instance::Column::DeadSince.is_not_null())
                .count(&home.database.connection)
                .await
                .unwrap();
            if dead == 1 {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{backend:?}: never marked dead"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(
            deliveries_in_state(home, DeliveryState::Parked).await,
            2,
            "relay and boost parked"
        );
        assert_eq!(deliveries_in_state(home, DeliveryState::Pending).await, 0);
        let summary = delivery::queue_summary(&home.database.connection)
            .await
            .unwrap();
        assert_eq!(summary.dead_instances.len(), 1);

        // New work for a dead server is parked by its fan-out, not attempted.
        let attempts_before = peer.received().len();
        let second = post_note(peer, home, &group, &alice, 2, "Two").await;
        let deadline = tokio::time::Instant::now() + WAIT;
        while deliveries_in_state(home, DeliveryState::Parked).await < 4 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{backend:?}: not parked"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Only the probe (which tries the oldest parked delivery) may have knocked meanwhile.
        let second_id = second["id"].as_str().unwrap();
        assert!(
            !peer.received()[attempts_before..]
                .iter()
                .any(|delivery| delivery.activity["object"]["object"]["id"] == second_id),
            "the new thread was attempted at a dead server"
        );

        // It comes back: the probe notices, and everything parked is delivered.
        peer.force_inbox_status(None);
        peer.wait_for("both threads after the revival", WAIT, |received| {
            received[attempts_before.min(received.len())..]
                .iter()
                .filter(|delivery| delivery.activity["object"]["type"] == "Create")
                .count()
                >= 2
        })
        .await;
        wait_for_empty_queue(home, WAIT).await;
        assert_eq!(deliveries_in_state(home, DeliveryState::Parked).await, 0);
        let summary = delivery::queue_summary(&home.database.connection)
            .await
            .unwrap();
        assert!(summary.dead_instances.is_empty() && summary.failing_instances.is_empty());
        network.stop().await;
    }
}

#[tokio::test]
async fn two_workers_on_one_postgres_database_never_send_a_delivery_twice() {
    if !testing::backends_under_test().contains(&Backend::Postgres) {
        // SQLite has one sending process by design; there is nothing to share.
        return;
    }
    let network =
        TestNetwork::start_configured(&["home"], &["masto"], Backend::Postgres, |config| {
            config.delivery.worker = false;
            config.delivery.per_instance_concurrency = 8;
        })
        .await;
    let home = network.instance("home");
    let peer = network.peer(0);
    let group = home.create_group("repair").await;
    let context = home.context();
    let inbox = Url::parse(&peer.url("/inbox")).unwrap();
    const ACTIVITIES: usize = 300;
    let transaction = home.database.connection.begin().await.unwrap();
    for index in 0..ACTIVITIES {
        let id = Url::parse(&home.url(&format!("/activities/test-{index}"))).unwrap();
        let activity = json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": id,
            "type": "Announce",
            "actor": group.ap_id,
            "object": format!("{}/posts/{index}", home.url("")),
        });
        delivery::enqueue(
            &transaction,
            &context,
            &[OutgoingActivity {
                sender: &group,
                ap_id: &id,
                kind: "Announce",
                object_ap_id: None,
                json: &activity,
                in_outbox: false,
                ordering_key: None,
            }],
            [inbox.clone()],
        )
        .await
        .unwrap();
    }
    transaction.commit().await.unwrap();

    // Two workers, each with its own connection pool, as two processes would have.
    let mut workers = Vec::new();
    for _ in 0..2 {
        let connection = kindred::database::connect_url(&home.database.url, 5)
            .await
            .unwrap();
        let mut config = home.config.clone();
        config.delivery.worker = true;
        let federation = app::prepare_with_database(config, testing::test_key_source(), connection)
            .await
            .unwrap();
        workers.push(tokio::spawn(delivery::run_worker(
            federation.to_request_data(),
        )));
    }
    let received = peer
        .wait_for("every delivery", WAIT, |received| {
            received.len() >= ACTIVITIES
        })
        .await;
    wait_for_empty_queue(home, WAIT).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let received = if peer.received().len() > received.len() {
        peer.received()
    } else {
        received
    };
    let mut times_seen: HashMap<String, usize> = HashMap::new();
    for delivery in &received {
        assert!(
            delivery.signature_verified,
            "{:?}",
            delivery.verification_error
        );
        *times_seen
            .entry(delivery.activity["id"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert_eq!(times_seen.len(), ACTIVITIES);
    let twice: Vec<_> = times_seen.iter().filter(|(_, count)| **count > 1).collect();
    assert!(twice.is_empty(), "sent more than once: {twice:?}");
    // Every delivery got through on its first attempt: no retry rows were needed.
    assert_eq!(deliveries_in_state(home, DeliveryState::Pending).await, 0);
    for worker in workers {
        worker.abort();
    }
    network.stop().await;
}

#[tokio::test]
async fn fast_signatures_are_accepted_by_the_federation_crates_verifier() {
    let backend = Backend::Sqlite;
    let network = TestNetwork::start_with_peers(&["home"], &["masto"], backend).await;
    let home = network.instance("home");
    let peer = network.peer(0);
    let group = home.create_group("repair").await;
    let keys = testing::test_keypairs();
    let alice = peer.add_person("alice", &keys[1].private_key, &keys[1].public_key);
    let follow: Value = mastodon::follow(&alice, &group.ap_id, "fast");
    let body = serde_json::to_vec(&follow).unwrap();
    let inbox = Url::parse(&home.url("/inbox")).unwrap();
    let send = |key: &SigningKey| {
        let signed = signatures::sign_post(
            key,
            &format!("{alice}#main-key"),
            &inbox,
            &body,
            std::time::SystemTime::now(),
        )
        .unwrap();
        network
            .client()
            .post(inbox.as_str())
            .headers(signed.into_headers().unwrap())
            .body(body.clone())
            .send()
    };
    let wrong_key = SigningKey::from_pkcs8_pem(&keys[2].private_key).unwrap();
    assert_eq!(send(&wrong_key).await.unwrap().status().as_u16(), 401);
    let right_key = SigningKey::from_pkcs8_pem(&keys[1].private_key).unwrap();
    let response = send(&right_key).await.unwrap();
    assert_eq!(
        response.status().as_u16(),
        202,
        "{}",
        response.text().await.unwrap()
    );
    network.stop().await;
}

#[tokio::test]
async fn nothing_more_is_sent_to_a_server_once_it_is_blocked() {
    use kindred::federation::instances;
    use kindred_entities::activity;
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};
    for backend in testing::backends_under_test() {
        let network = TestNetwork::start_with_peers(&["home"], &["masto"], backend).await;
        let home = network.instance("home");
        let peer = network.peer(0);
        let group = home.create_group("repair").await;
        let alice = member(peer, home, &group, "alice", 1).await;
        wait_for_empty_queue(home, WAIT).await;

        // The server fails, so the relay of Alice's post waits for a retry, when the
        // administrator blocks the server.
        peer.force_inbox_status(Some(StatusCode::BAD_GATEWAY));
        post_note(peer, home, &group, &alice, 1, "Hello").await;
        // Both Announces (the relayed Create and the boost) failed once and wait for a retry.
        let deadline = tokio::time::Instant::now() + WAIT;
        while deliveries_in_state(home, DeliveryState::Pending).await < 2 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{backend:?}: no retries"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        instances::set_blocked(&home.database.connection, &peer.domain, true)
            .await
            .unwrap();
        home.context().blocked_hosts.invalidate().await;
        peer.force_inbox_status(None);
        peer.clear_received();
        // And an activity queued for it before the block, whose fan-out has not begun.
        activity::ActiveModel {
            ap_id: Set(home.url("/activities/queued-before-the-block")),
            actor_id: Set(group.id),
            kind: Set("Announce".to_string()),
            object_ap_id: Set(None),
            json: Set(json!({"type": "Announce", "actor": group.ap_id}).to_string()),
            in_outbox: Set(false),
            created_at: Set(chrono::Utc::now()),
            ordering_key: Set(None),
            targets: Set(Some(json!([peer.url("/inbox")]).to_string())),
            fanout_pending: Set(true),
            fanout_progress: Set(0),
            fanout_leased_until: Set(None),
            ..Default::default()
        }
        .insert(&home.database.connection)
        .await
        .unwrap();
        delivery::wake_delivery_worker(&home.context());

        // The two pending retries and the queued fan-out end as abandoned deliveries that
        // say why; the server gets nothing.
        let deadline = tokio::time::Instant::now() + WAIT;
        let abandoned = loop {
            let rows = delivery_entity::Entity::find()
                .filter(delivery_entity::Column::InstanceHost.eq(&peer.domain))
                .all(&home.database.connection)
                .await
                .unwrap();
            if rows.len() == 3 && rows.iter().all(|row| row.state == DeliveryState::Abandoned) {
                break rows;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{backend:?}: not all abandoned: {:?}",
                rows.iter()
                    .map(|row| (row.state, row.last_error.clone()))
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        for row in abandoned {
            assert!(
                row.last_error
                    .as_deref()
                    .is_some_and(|error| error.contains("blocks the server")),
                "{:?}",
                row.last_error
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(
            peer.received().is_empty(),
            "{backend:?}: a blocked server got {:?}",
            peer.received()
        );
        network.stop().await;
    }
}
