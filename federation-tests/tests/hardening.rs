//! Hostile servers, as they were seen attacking Kindred: a production instance refusing to
//! deliver to internal addresses, edits judged by the post's own group, blocks that hold
//! whatever the host's spelling, resumed fan-outs that write each delivery once, and inbox
//! POSTs that cost nothing until their signature verifies.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::http::StatusCode;
use kindred::{
    federation::{
        delivery::{self, OutgoingActivity},
        instances,
        signatures::{self, SigningKey},
    },
    groups::moderation::{self, Ban, BanTarget},
    testing,
};
use kindred_entities::{
    activity, actor,
    delivery::{self as delivery_entity, DeliveryState},
    instance, post,
};
use kindred_federation_tests::{
    TestInstance, TestNetwork, bind_on_random_loopback_address, join_group, mastodon,
    peer::Tampering, wait_for_empty_queue,
};
use sea_orm::{
    ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, TransactionTrait, sea_query::Expr,
};
use serde_json::json;
use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};
use url::Url;

const WAIT: Duration = Duration::from_secs(30);

/// A listener that counts the connections made to it and answers none.
async fn connection_trap() -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    let listener = bind_on_random_loopback_address().await;
    let address = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = connections.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    (address, connections)
}

/// Has `group` send an Announce to each of `inboxes`, through the delivery queue.
async fn enqueue_announce(home: &TestInstance, group: &actor::Model, inboxes: &[String]) {
    let context = home.context();
    let id = Url::parse(&home.url(&format!("/activities/{}", uuid_like()))).unwrap();
    let json = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": id,
        "type": "Announce",
        "actor": group.ap_id,
        "object": home.url("/posts/1"),
        "to": [mastodon::PUBLIC],
    });
    let transaction = home.database.connection.begin().await.unwrap();
    delivery::enqueue(
        &transaction,
        &context,
        &[OutgoingActivity {
            sender: group,
            ap_id: &id,
            kind: "Announce",
            object_ap_id: None,
            json: &json,
            in_outbox: false,
            ordering_key: None,
        }],
        inboxes.iter().map(|inbox| Url::parse(inbox).unwrap()),
    )
    .await
    .unwrap();
    transaction.commit().await.unwrap();
    delivery::wake_delivery_worker(&context);
}

fn uuid_like() -> String {
    format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

async fn deliveries(home: &TestInstance) -> Vec<delivery_entity::Model> {
    delivery_entity::Entity::find()
        .all(&home.database.connection)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_production_instance_never_delivers_to_an_internal_address() {
    for backend in testing::backends_under_test() {
        // `inward.test` resolves to a loopback address through the test-only hook, which
        // leaves the address check on; the debug instance shows the trap does catch a send.
        let (trap, connections) = connection_trap().await;
        let network = TestNetwork::start_configured(&["prod", "dev"], &[], backend, |config| {
            config
                .federation
                .resolve
                .insert("inward.test".into(), trap.ip());
            if config.instance.public_url.as_str().contains("prod.test") {
                config.federation.debug = false;
            }
        })
        .await;
        let targets = [
            format!("https://inward.test:{}/inbox", trap.port()),
            format!("https://{}/inbox", trap),
            format!("https://[::ffff:{}]:{}/inbox", trap.ip(), trap.port()),
            format!("http://inward.test:{}/inbox", trap.port()),
        ];

        let production = network.instance("prod");
        let group = production.create_group("circle").await;
        enqueue_announce(production, &group, &targets).await;
        wait_for_empty_queue(production, WAIT).await;
        let refused = deliveries(production).await;
        assert_eq!(refused.len(), targets.len(), "{backend:?}: {refused:?}");
        for row in &refused {
            assert_eq!(row.state, DeliveryState::Rejected, "{backend:?}: {row:?}");
            let reason = row.last_error.as_deref().unwrap_or_default();
            assert!(
                reason.contains("internal address") || reason.contains("scheme"),
                "{backend:?}: {reason}"
            );
        }
        assert_eq!(
            connections.load(Ordering::SeqCst),
            0,
            "{backend:?}: the production instance connected to the internal address"
        );

        let debug = network.instance("dev");
        let group = debug.create_group("circle").await;
        enqueue_announce(
            debug,
            &group,
            &[format!("http://inward.test:{}/inbox", trap.port())],
        )
        .await;
        let deadline = tokio::time::Instant::now() + WAIT;
        while connections.load(Ordering::SeqCst) == 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{backend:?}: trap never reached"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        network.stop().await;
    }
}

async fn stored_text(home: &TestInstance, ap_id: &str) -> String {
    post::Entity::find()
        .filter(post::Column::ApId.eq(ap_id))
        .one(&home.database.connection)
        .await
        .unwrap()
        .unwrap()
        .content_html
}

#[tokio::test]
async fn an_edit_is_judged_by_the_group_its_post_belongs_to() {
    for backend in testing::backends_under_test() {
        let network = TestNetwork::start_with_peers(&["home"], &["masto"], backend).await;
        let home = network.instance("home");
        let peer = network.peer(0);
        let circle = home.create_group("circle").await;
        let cafe = home.create_group("cafe").await;
        let alice = join_group(peer, home, &circle, "alice", 1, "1").await;
        // Bob is in the café only: he receives what the café relays.
        join_group(peer, home, &cafe, "bob", 2, "2").await;
        wait_for_empty_queue(home, WAIT).await;

        let note = mastodon::note(
            &alice,
            &peer.url("/users/alice/statuses/1"),
            &circle.ap_id,
            "circle",
            "Our kettle switch broke",
        );
        let (status, body) = peer
            .send(
                "alice",
                &home.url("/inbox"),
                &mastodon::create(&alice, &note),
                &Tampering::default(),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        wait_for_empty_queue(home, WAIT).await;
        peer.clear_received();

        // Alice is no member of the café: an edit of her circle post addressed there is the
        // circle's business. The circle, where she is a member, relays it; the café does not.
        let mut edited = note.clone();
        edited["content"] = json!("<p>Edited, addressed to the café</p>");
        edited["cc"] = json!([cafe.ap_id]);
        edited["tag"] = json!([{ "type": "Mention", "href": cafe.ap_id }]);
        let (status, body) = peer
            .send(
                "alice",
                &home.url("/groups/cafe/inbox"),
                &mastodon::update(&alice, &edited, "1"),
                &Tampering::default(),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{backend:?}: {body}");
        wait_for_empty_queue(home, WAIT).await;
        let relayed_by: Vec<String> = peer
            .received()
            .iter()
            .filter(|delivery| delivery.activity["object"]["type"] == "Update")
            .map(|delivery| delivery.activity["actor"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(relayed_by, vec![circle.ap_id.clone()], "{backend:?}");
        peer.clear_received();
        let mut edited = edited.clone();
        edited["content"] = json!("<p>Edited while banned</p>");

        // Banned from the circle, she cannot edit there by addressing the café either.
        let alice_row = actor::Entity::find()
            .filter(actor::Column::ApId.eq(alice.as_str()))
            .one(&home.database.connection)
            .await
            .unwrap()
            .unwrap();
        moderation::ban(
            &home.database.connection,
            &circle,
            BanTarget::Person(&alice_row),
            Ban {
                reason: Some("spam"),
                expires_at: None,
                remove_content: false,
            },
            &circle,
        )
        .await
        .unwrap();
        let (status, body) = peer
            .send(
                "alice",
                &home.url("/groups/cafe/inbox"),
                &mastodon::update(&alice, &edited, "2"),
                &Tampering::default(),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{backend:?}: {body}");
        assert!(
            stored_text(home, note["id"].as_str().unwrap())
                .await
                .contains("addressed to the café"),
            "{backend:?}: the banned author's edit was applied"
        );
        wait_for_empty_queue(home, WAIT).await;
        assert!(
            peer.received()
                .iter()
                .all(|delivery| delivery.activity["object"]["type"] != "Update"),
            "{backend:?}: an Update was relayed"
        );
        network.stop().await;
    }
}

#[tokio::test]
async fn a_block_holds_however_the_host_is_spelled() {
    for backend in testing::backends_under_test() {
        let network = TestNetwork::start_with_peers(&["home"], &["masto"], backend).await;
        let home = network.instance("home");
        let peer = network.peer(0);
        let group = home.create_group("circle").await;
        let (name, port) = peer.domain.split_once(':').unwrap();
        // The operator types it with capitals and a trailing dot.
        instances::set_blocked(
            &home.database.connection,
            &format!("{}.:{port}", name.to_uppercase()),
            true,
        )
        .await
        .unwrap();
        home.context().blocked_hosts.invalidate().await;
        assert!(
            instances::set_blocked(&home.database.connection, "bad..host", true)
                .await
                .is_err()
        );

        let keys = testing::test_keypairs();
        let alice = peer.add_person("alice", &keys[1].private_key, &keys[1].public_key);
        let dotted = alice.replacen(&format!("{name}:"), &format!("{name}.:"), 1);
        for actor_id in [alice.clone(), dotted] {
            let (status, body) = peer
                .send(
                    "alice",
                    &home.url("/inbox"),
                    &json!({
                        "@context": "https://www.w3.org/ns/activitystreams",
                        "id": format!("{actor_id}#follows/1"),
                        "type": "Follow",
                        "actor": actor_id,
                        "object": group.ap_id,
                    }),
                    &Tampering::default(),
                )
                .await;
            assert_eq!(
                status,
                StatusCode::FORBIDDEN,
                "{backend:?} {actor_id}: {body}"
            );
        }
        let hosts: Vec<String> = instance::Entity::find()
            .all(&home.database.connection)
            .await
            .unwrap()
            .into_iter()
            .map(|row| row.host)
            .collect();
        assert_eq!(
            hosts,
            vec![peer.domain.clone()],
            "{backend:?}: one row per server"
        );
        network.stop().await;
    }
}

#[tokio::test]
async fn a_resumed_fan_out_writes_each_delivery_row_once() {
    for backend in testing::backends_under_test() {
        let network = TestNetwork::start_with_peers(&["home"], &["masto"], backend).await;
        let home = network.instance("home");
        let peer = network.peer(0);
        let group = home.create_group("circle").await;
        join_group(peer, home, &group, "alice", 1, "1").await;
        wait_for_empty_queue(home, WAIT).await;

        // The member's server is dead: the fan-out parks its delivery as a row.
        instance::Entity::update_many()
            .col_expr(instance::Column::ConsecutiveFailures, Expr::value(5))
            .col_expr(
                instance::Column::DeadSince,
                Expr::value(Some(chrono::Utc::now())),
            )
            .filter(instance::Column::Host.eq(&peer.domain))
            .exec(&home.database.connection)
            .await
            .unwrap();
        enqueue_announce(home, &group, &[peer.url("/inbox")]).await;
        wait_for_empty_queue(home, WAIT).await;
        assert_eq!(deliveries(home).await.len(), 1, "{backend:?}");

        // A crash before the fan-out's end was recorded: it resumes from its checkpoint.
        activity::Entity::update_many()
            .col_expr(activity::Column::FanoutPending, Expr::value(true))
            .col_expr(activity::Column::FanoutProgress, Expr::value(0))
            .filter(activity::Column::Kind.eq("Announce"))
            .exec(&home.database.connection)
            .await
            .unwrap();
        delivery::wake_delivery_worker(&home.context());
        wait_for_empty_queue(home, WAIT).await;
        let rows = deliveries(home).await;
        assert_eq!(rows.len(), 1, "{backend:?}: {rows:?}");
        assert_eq!(rows[0].state, DeliveryState::Parked);
        network.stop().await;
    }
}

#[tokio::test]
async fn a_resumed_fan_out_skips_the_targets_its_checkpoint_recorded_as_done() {
    for backend in testing::backends_under_test() {
        let network =
            TestNetwork::start_with_peers(&["home"], &["masto-a", "masto-b"], backend).await;
        let home = network.instance("home");
        let (first, second) = (network.peer(0), network.peer(1));
        let group = home.create_group("circle").await;
        let inboxes = [first.url("/inbox"), second.url("/inbox")];
        enqueue_announce(home, &group, &inboxes).await;
        wait_for_empty_queue(home, WAIT).await;
        first
            .wait_for("the first copy", WAIT, |received| !received.is_empty())
            .await;
        second
            .wait_for("the first copy", WAIT, |received| !received.is_empty())
            .await;

        // A crash after a checkpoint that had the second server's outcome but not the
        // first's (a slow server ahead of it in the list): the fan-out resumes, and only the
        // first server gets the activity again.
        let announce = activity::Entity::find()
            .filter(activity::Column::Kind.eq("Announce"))
            .one(&home.database.connection)
            .await
            .unwrap()
            .unwrap();
        let targets: Vec<String> =
            serde_json::from_str(announce.targets.as_deref().unwrap()).unwrap();
        let second_index = targets
            .iter()
            .position(|target| *target == inboxes[1])
            .unwrap();
        let mut bits = vec![0_u8; targets.len().div_ceil(8)];
        bits[second_index / 8] |= 1 << (second_index % 8);
        use base64::Engine;
        let done = base64::engine::general_purpose::STANDARD_NO_PAD.encode(bits);
        activity::Entity::update_many()
            .col_expr(activity::Column::FanoutPending, Expr::value(true))
            .col_expr(activity::Column::FanoutProgress, Expr::value(0))
            .col_expr(activity::Column::FanoutDone, Expr::value(Some(done)))
            .filter(activity::Column::Id.eq(announce.id))
            .exec(&home.database.connection)
            .await
            .unwrap();
        first.clear_received();
        second.clear_received();
        delivery::wake_delivery_worker(&home.context());
        first
            .wait_for("the resent copy", WAIT, |received| !received.is_empty())
            .await;
        wait_for_empty_queue(home, WAIT).await;
        assert!(
            second.received().is_empty(),
            "{backend:?}: sent twice to the second server"
        );
        let finished = activity::Entity::find_by_id(announce.id)
            .one(&home.database.connection)
            .await
            .unwrap()
            .unwrap();
        assert!(!finished.fanout_pending);
        assert_eq!(
            finished.fanout_done, None,
            "the record goes once the fan-out ends"
        );
        network.stop().await;
    }
}

async fn actor_count(home: &TestInstance) -> u64 {
    actor::Entity::find()
        .count(&home.database.connection)
        .await
        .unwrap()
}

#[tokio::test]
async fn inbox_posts_cost_nothing_until_their_signature_verifies() {
    for backend in testing::backends_under_test() {
        let network = TestNetwork::start_configured(&["home"], &["masto"], backend, |config| {
            config.federation.actor_fetches_per_instance_per_minute = 3;
        })
        .await;
        let home = network.instance("home");
        let peer = network.peer(0);
        let group = home.create_group("circle").await;
        let keys = testing::test_keypairs();
        let actors_before = actor_count(home).await;

        // Unsigned, or with a signature that covers too little to ever be accepted: refused
        // before anyone is looked up or fetched. (The digest is right, so only the
        // signature's form can stop them.)
        let signer = SigningKey::from_pkcs8_pem(&keys[1].private_key).unwrap();
        for number in 0..30 {
            let name = format!("ghost{number}");
            peer.add_person(&name, &keys[1].private_key, &keys[1].public_key);
            let id = peer.actor_id(&name);
            let follow = mastodon::follow(&id, &group.ap_id, "1");
            if number % 2 == 0 {
                let (status, _) = peer
                    .send(
                        &name,
                        &home.url("/inbox"),
                        &follow,
                        &Tampering {
                            unsigned: true,
                            ..Tampering::default()
                        },
                    )
                    .await;
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{backend:?}");
                continue;
            }
            let body = serde_json::to_vec(&follow).unwrap();
            let inbox = Url::parse(&home.url("/inbox")).unwrap();
            let mut headers = signatures::sign_post(
                &signer,
                &format!("{id}#main-key"),
                &inbox,
                &body,
                std::time::SystemTime::now(),
            )
            .unwrap()
            .into_headers()
            .unwrap();
            headers.insert(
                "signature",
                format!("keyId=\"{id}#main-key\",headers=\"digest\",signature=\"AAAA\"")
                    .parse()
                    .unwrap(),
            );
            let response = network
                .client()
                .post(inbox.as_str())
                .headers(headers)
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 401, "{backend:?}");
        }
        assert!(peer.fetch_key_ids().is_empty(), "{backend:?}: fetched");
        assert_eq!(actor_count(home).await, actors_before, "{backend:?}");

        // Signed with another key than the actor publishes: fetched, but never stored.
        peer.add_person("mallory", &keys[2].private_key, &keys[2].public_key);
        let mallory = peer.actor_id("mallory");
        let (status, _) = peer
            .send(
                "mallory",
                &home.url("/inbox"),
                &mastodon::follow(&mallory, &group.ap_id, "1"),
                &Tampering {
                    sign_with_key: Some(keys[3].private_key.clone()),
                    ..Tampering::default()
                },
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{backend:?}");
        assert_eq!(
            actor_count(home).await,
            actors_before,
            "{backend:?}: stored"
        );

        // New signers from one server are fetched within the per-server allowance (mallory's
        // fetch counted too); beyond it, 429 before any fetch.
        let mut statuses = Vec::new();
        for number in 0..3 {
            let name = format!("newcomer{number}");
            peer.add_person(&name, &keys[4].private_key, &keys[4].public_key);
            let id = peer.actor_id(&name);
            let (status, body) = peer
                .send(
                    &name,
                    &home.url("/inbox"),
                    &mastodon::follow(&id, &group.ap_id, "1"),
                    &Tampering::default(),
                )
                .await;
            statuses.push((status, body));
        }
        assert_eq!(
            statuses[0].0,
            StatusCode::ACCEPTED,
            "{backend:?}: {statuses:?}"
        );
        assert_eq!(
            statuses[1].0,
            StatusCode::ACCEPTED,
            "{backend:?}: {statuses:?}"
        );
        assert_eq!(
            statuses[2].0,
            StatusCode::TOO_MANY_REQUESTS,
            "{backend:?}: {statuses:?}"
        );
        assert_eq!(actor_count(home).await, actors_before + 2, "{backend:?}");
        network.stop().await;
    }
}

#[tokio::test]
async fn an_actor_update_gets_the_checks_a_fetched_actor_gets() {
    for backend in testing::backends_under_test() {
        let network = TestNetwork::start_with_peers(&["home"], &["masto"], backend).await;
        let home = network.instance("home");
        let peer = network.peer(0);
        let group = home.create_group("circle").await;
        let alice = join_group(peer, home, &group, "alice", 1, "1").await;
        wait_for_empty_queue(home, WAIT).await;
        let fetched = network.fetch_activity_json(&alice).await;

        // Alice sends her profile, changed by `change`, as an `Update`; returns the answer's
        // status and her row as stored afterwards.
        let send_profile = async |number: u32, change: &dyn Fn(&mut serde_json::Value)| {
            let mut document = fetched.clone();
            change(&mut document);
            let update = json!({
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": format!("{alice}#updates/{number}"),
                "type": "Update",
                "actor": alice,
                "object": document,
            });
            let (status, _) = peer
                .send("alice", &home.url("/inbox"), &update, &Tampering::default())
                .await;
            let row = actor::Entity::find()
                .filter(actor::Column::ApId.eq(alice.as_str()))
                .one(&home.database.connection)
                .await
                .unwrap()
                .unwrap();
            (status, row)
        };

        // The shared inbox on another server, internal collections: dropped; an inbox
        // elsewhere: the whole update is refused.
        let (status, row) = send_profile(1, &|document| {
            document["endpoints"] = json!({ "sharedInbox": "http://169.254.169.254/inbox" });
            document["followers"] = json!("http://10.0.0.1/followers");
        })
        .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{backend:?}");
        assert_eq!(row.shared_inbox_url, None, "{backend:?}");
        assert_eq!(row.followers_url, None, "{backend:?}");

        let (status, row) = send_profile(2, &|document| {
            document["inbox"] = json!("http://169.254.169.254/inbox");
        })
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{backend:?}");
        assert_eq!(row.inbox_url, peer.url("/users/alice/inbox"), "{backend:?}");
        network.stop().await;
    }
}
