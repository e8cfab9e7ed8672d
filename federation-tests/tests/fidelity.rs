//! What real servers send arrives whole: Takahe's re-used activity ids, people's boosts of a
//! group's posts, an integrity-proofed activity relayed verifiable (Mitra), and a reply in a
//! group one Kindred hosts for a thread a member on another Kindred started.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::http::StatusCode;
use kindred::testing::{self, Backend};
use kindred_entities::{
    delivery::{self, DeliveryState},
    membership, post,
};
use kindred_federation_tests::{
    ApiClient, TestNetwork, eventually, join_group, mastodon,
    peer::{ReceivedDelivery, Tampering},
    wait_for_empty_queue,
};
use reqwest::Method;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

fn announces_of<'a>(received: &'a [ReceivedDelivery], inner_type: &str) -> Vec<&'a Value> {
    received
        .iter()
        .filter(|delivery| {
            delivery.activity["type"] == "Announce"
                && delivery.activity["object"]["type"] == inner_type
        })
        .map(|delivery| &delivery.activity)
        .collect()
}

/// A note as Takahe 0.11 writes one (see `fixtures/captured-takahe-0.11`): `to`, `cc` and
/// `tag` as single values, `as:Public`, ids ending in `/`.
fn takahe_note(actor: &str, post_id: &str, group: &str, text: &str) -> Value {
    json!({
        "id": post_id,
        "type": "Note",
        "attributedTo": actor,
        "cc": group,
        "content": format!("<p>{text} <span class=\"h-card\"><a href=\"{group}\" class=\"u-url mention\">@<span>circle</span></a></span></p>"),
        "published": "2026-11-27T06:45:17.294Z",
        "sensitive": false,
        "tag": { "type": "Mention", "href": group, "name": "@circle" },
        "to": "as:Public",
        "url": post_id,
    })
}

fn takahe_activity(kind: &str, id: &str, actor: &str, group: &str, object: Value) -> Value {
    json!({
        "@context": ["https://www.w3.org/ns/activitystreams", { "sensitive": "as:sensitive", "Hashtag": "as:Hashtag", "toot": "http://joinmastodon.org/ns#" }],
        "id": id,
        "type": kind,
        "actor": actor,
        "cc": group,
        "object": object,
        "to": "as:Public",
    })
}

#[tokio::test]
async fn takahe_edits_and_unfollows_under_one_id_all_take_effect_and_a_redelivery_once() {
    for backend in testing::backends_under_test() {
        takahe_reuses_ids(backend).await;
    }
}

async fn takahe_reuses_ids(backend: Backend) {
    let network = TestNetwork::start_with_peers(&["home"], &["takahe", "masto"], backend).await;
    let home = network.instance("home");
    let (takahe, masto) = (network.peer(0), network.peer(1));
    let group = home.create_group("circle").await;
    let inbox = home.url("/inbox");
    let db = &home.database.connection;
    join_group(masto, home, &group, "bob", 2, "1").await;
    let keys = testing::test_keypairs();
    let alice = takahe.add_person_at(
        "alice",
        "/@alice@takahe.test/",
        &keys[1].private_key,
        &keys[1].public_key,
    );
    let follow_id = format!("{alice}follow/649032316798798684/");
    let follow = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": follow_id,
        "type": "Follow",
        "actor": alice,
        "object": group.ap_id,
    });
    let unfollow = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{follow_id}#undo"),
        "type": "Undo",
        "actor": alice,
        "object": { "id": follow_id, "type": "Follow", "actor": alice, "object": group.ap_id },
    });
    let send = async |activity: &Value| {
        let (status, body) = takahe
            .send("alice", &inbox, activity, &Tampering::default())
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{backend:?}: {body}");
    };
    let is_member = async || {
        let alice_row = kindred_entities::actor::Entity::find()
            .filter(kindred_entities::actor::Column::ApId.eq(alice.as_str()))
            .one(db)
            .await
            .unwrap();
        match alice_row {
            Some(row) => {
                membership::Entity::find()
                    .filter(membership::Column::GroupId.eq(group.id))
                    .filter(membership::Column::MemberId.eq(row.id))
                    .count(db)
                    .await
                    .unwrap()
                    > 0
            }
            None => false,
        }
    };

    // Follow, unfollow, follow again and unfollow again: the same two ids, the same bytes.
    send(&follow).await;
    assert!(is_member().await, "{backend:?}");
    send(&unfollow).await;
    assert!(!is_member().await, "{backend:?}: the first unfollow");
    send(&follow).await;
    assert!(is_member().await, "{backend:?}: the Follow id is re-used");
    send(&unfollow).await;
    assert!(
        !is_member().await,
        "{backend:?}: the second unfollow, in the very bytes of the first, is honoured too"
    );
    send(&follow).await;
    wait_for_empty_queue(home, WAIT).await;
    masto.clear_received();

    // A post, then two edits under the one id Takahe gives every edit of it.
    let post_id = format!("{alice}posts/649032964952383888/");
    let create = takahe_activity(
        "Create",
        &format!("{post_id}#create"),
        &alice,
        &group.ap_id,
        takahe_note(&alice, &post_id, &group.ap_id, "Our kettle clicks"),
    );
    send(&create).await;
    let edit = |text: &str| {
        takahe_activity(
            "Update",
            &format!("{post_id}#update"),
            &alice,
            &group.ap_id,
            takahe_note(&alice, &post_id, &group.ap_id, text),
        )
    };
    let content = async || {
        post::Entity::find()
            .filter(post::Column::ApId.eq(post_id.as_str()))
            .one(db)
            .await
            .unwrap()
            .unwrap()
            .content_html
    };
    send(&edit("The kettle clicks, no heat")).await;
    assert!(content().await.contains("no heat"), "{backend:?}");
    send(&edit("Fixed: it was the fuse")).await;
    assert!(
        content().await.contains("the fuse"),
        "{backend:?}: the second edit under the same id takes effect"
    );
    // A true redelivery, the same bytes again, has one effect: no third relay.
    send(&edit("Fixed: it was the fuse")).await;
    wait_for_empty_queue(home, WAIT).await;
    let received = masto
        .wait_for("the relayed edits", WAIT, |received| {
            announces_of(received, "Update").len() >= 2
        })
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let received = if masto.received().len() > received.len() {
        masto.received()
    } else {
        received
    };
    let edits = announces_of(&received, "Update");
    assert_eq!(edits.len(), 2, "{backend:?}: one relay per distinct edit");
    assert!(
        edits[0]["object"]["object"]["content"]
            .as_str()
            .unwrap()
            .contains("no heat")
    );
    assert!(
        edits[1]["object"]["object"]["content"]
            .as_str()
            .unwrap()
            .contains("the fuse")
    );
    network.stop().await;
}

#[tokio::test]
async fn a_persons_boost_is_counted_and_told_and_never_relayed() {
    for backend in testing::backends_under_test() {
        a_boost(backend).await;
    }
}

async fn a_boost(backend: Backend) {
    let network = TestNetwork::start_with_peers(&["home"], &["one", "two"], backend).await;
    let home = network.instance("home");
    let (one, two) = (network.peer(0), network.peer(1));
    let group = home.create_group("repair").await;
    join_group(two, home, &group, "bob", 2, "1").await;
    let ann = ApiClient::sign_up(&network, home, "ann").await;
    ann.send(Method::POST, "/groups/repair/membership", None, 200)
        .await;
    let thread = ann
        .send(
            Method::POST,
            "/groups/repair/threads",
            Some(json!({ "title": "Kettle clicks", "body": "No heat." })),
            201,
        )
        .await;
    let thread_url = thread["url"].as_str().unwrap().to_string();
    let thread_path = format!("/posts/{}", thread["id"]);
    wait_for_empty_queue(home, WAIT).await;
    two.clear_received();

    // Carol on another server boosts it, as Mastodon delivers a boost to the author's server.
    let keys = testing::test_keypairs();
    let carol = one.add_person("carol", &keys[3].private_key, &keys[3].public_key);
    let boost = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{carol}/statuses/9/activity"),
        "type": "Announce",
        "actor": carol,
        "published": "2026-12-06T10:00:00Z",
        "to": [mastodon::PUBLIC],
        "cc": [format!("{carol}/followers"), home.url("/users/ann")],
        "object": thread_url,
    });
    for _ in 0..2 {
        // The second time is a redelivery: still one share.
        let (status, body) = one
            .send("carol", &home.url("/inbox"), &boost, &Tampering::default())
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{backend:?}: {body}");
    }
    let shown = ann.get(&thread_path).await;
    assert_eq!(shown["thread"]["shares"], 1, "{backend:?}: {shown}");
    let notifications = ann.get("/notifications").await;
    assert!(
        notifications
            .as_array()
            .unwrap()
            .iter()
            .any(|notification| notification["kind"] == "share"),
        "{backend:?}: {notifications}"
    );
    // Never relayed to the group's members.
    wait_for_empty_queue(home, WAIT).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        two.received().iter().all(|delivery| {
            delivery.activity["object"]["type"] != "Announce"
                && delivery.activity["object"] != boost["id"]
        }),
        "{backend:?}: {:#?}",
        two.received()
    );

    // Carol takes it back.
    let undo = mastodon::undo(&carol, &boost, "9");
    let (status, body) = one
        .send("carol", &home.url("/inbox"), &undo, &Tampering::default())
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{backend:?}: {body}");
    assert_eq!(ann.get(&thread_path).await["thread"]["shares"], 0);

    // A boost of a post this instance does not hold is taken and changes nothing.
    let unknown = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{carol}/statuses/10/activity"),
        "type": "Announce",
        "actor": carol,
        "to": [mastodon::PUBLIC],
        "object": one.url("/users/carol/statuses/1"),
    });
    let (status, body) = one
        .send(
            "carol",
            &home.url("/inbox"),
            &unknown,
            &Tampering::default(),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{backend:?}: {body}");
    network.stop().await;
}

/// FEP-8b32 with the `eddsa-jcs-2022` cryptosuite, as Mitra signs: the proof covers the
/// whole activity, `@context` included, canonicalised with JCS (RFC 8785).
mod integrity_proof {
    use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
    use serde_json::Value;
    use sha2::{Digest, Sha256};

    fn hash_data(document: &Value, proof_options: &Value) -> Vec<u8> {
        let mut hash = Sha256::digest(serde_jcs::to_vec(proof_options).unwrap()).to_vec();
        hash.extend(Sha256::digest(serde_jcs::to_vec(document).unwrap()));
        hash
    }

    /// Signs `document` (an activity with its `@context`) and adds the proof.
    pub fn sign(document: &Value, key: &Ed25519KeyPair, verification_method: &str) -> Value {
        let mut proof = serde_json::json!({
            "type": "DataIntegrityProof",
            "cryptosuite": "eddsa-jcs-2022",
            "verificationMethod": verification_method,
            "proofPurpose": "assertionMethod",
            "created": "2026-12-06T10:00:00Z",
        });
        let mut options = proof.clone();
        options["@context"] = document["@context"].clone();
        let signature = key.sign(&hash_data(document, &options));
        proof["proofValue"] = format!("z{}", bs58::encode(signature.as_ref()).into_string()).into();
        let mut signed = document.clone();
        signed["proof"] = proof;
        signed
    }

    /// Verifies the proof of `signed` with `public_key`.
    pub fn verify(signed: &Value, public_key: &[u8]) -> bool {
        let mut document = signed.clone();
        let Some(mut proof) = document.as_object_mut().and_then(|map| map.remove("proof")) else {
            return false;
        };
        let Some(proof_value) = proof
            .as_object_mut()
            .and_then(|map| map.remove("proofValue"))
        else {
            return false;
        };
        let Some(encoded) = proof_value
            .as_str()
            .and_then(|value| value.strip_prefix('z'))
        else {
            return false;
        };
        let Ok(signature) = bs58::decode(encoded).into_vec() else {
            return false;
        };
        proof["@context"] = document["@context"].clone();
        UnparsedPublicKey::new(&ED25519, public_key)
            .verify(&hash_data(&document, &proof), &signature)
            .is_ok()
    }

    pub fn new_key() -> Ed25519KeyPair {
        let random = ring::rand::SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&random).unwrap();
        Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap()
    }

    pub fn public_key(key: &Ed25519KeyPair) -> Vec<u8> {
        key.public_key().as_ref().to_vec()
    }
}

#[tokio::test]
async fn an_integrity_proofed_activity_is_relayed_verifiable() {
    let network =
        TestNetwork::start_with_peers(&["home"], &["mitra", "masto"], Backend::Sqlite).await;
    let home = network.instance("home");
    let (mitra, masto) = (network.peer(0), network.peer(1));
    let group = home.create_group("circle").await;
    let dana = join_group(mitra, home, &group, "dana", 1, "1").await;
    join_group(masto, home, &group, "bob", 2, "1").await;
    wait_for_empty_queue(home, WAIT).await;
    masto.clear_received();

    let key = integrity_proof::new_key();
    let note_id = mitra.url("/users/dana/statuses/1");
    let note = mastodon::note(&dana, &note_id, &group.ap_id, "circle", "Soldering at 7");
    mitra.publish_note("dana", "1", note.clone());
    let mut create = mastodon::create(&dana, &note);
    create["@context"] = json!([
        "https://www.w3.org/ns/activitystreams",
        "https://w3id.org/security/data-integrity/v1",
        { "sensitive": "as:sensitive", "Hashtag": "as:Hashtag" }
    ]);
    let signed = integrity_proof::sign(&create, &key, &format!("{dana}#ed25519-key"));
    assert!(integrity_proof::verify(
        &signed,
        &integrity_proof::public_key(&key)
    ));
    let (status, body) = mitra
        .send("dana", &home.url("/inbox"), &signed, &Tampering::default())
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let received = masto
        .wait_for("the relayed Create", WAIT, |received| {
            !announces_of(received, "Create").is_empty()
        })
        .await;
    let relayed = announces_of(&received, "Create")[0]["object"].clone();
    assert_eq!(
        relayed, signed,
        "embedded as received, @context and proof included"
    );
    assert!(
        integrity_proof::verify(&relayed, &integrity_proof::public_key(&key)),
        "the proof verifies over the relayed activity"
    );
    network.stop().await;
}

#[tokio::test]
async fn a_reply_in_a_group_hosted_elsewhere_reaches_the_threads_author_on_a_third_kindred() {
    for backend in testing::backends_under_test() {
        three_kindreds(backend).await;
    }
}

async fn three_kindreds(backend: Backend) {
    let network = TestNetwork::start(&["home", "beta", "gamma"], backend).await;
    let (home, beta, gamma) = (
        network.instance("home"),
        network.instance("beta"),
        network.instance("gamma"),
    );
    home.create_group("repair").await;
    let handle = format!("repair@{}", home.domain);
    let ann = ApiClient::sign_up(&network, beta, "ann").await;
    let cid = ApiClient::sign_up(&network, gamma, "cid").await;
    for (client, name) in [(&ann, "ann"), (&cid, "cid")] {
        client
            .send(
                Method::POST,
                &format!("/groups/{handle}/membership"),
                None,
                200,
            )
            .await;
        eventually(&format!("{name}'s membership is accepted"), async || {
            client.get(&format!("/groups/{handle}")).await["membership"] == "accepted"
        })
        .await;
    }

    // Ann, on beta, starts a thread in the group on home.
    let thread = ann
        .send(
            Method::POST,
            &format!("/groups/{handle}/threads"),
            Some(json!({ "title": "Kettle clicks", "body": "No heat." })),
            201,
        )
        .await;
    let thread_url = thread["url"].as_str().unwrap().to_string();
    // Cid, on gamma, sees it through the group and answers.
    let on_gamma = async || {
        cid.get(&format!("/groups/{handle}/threads"))
            .await
            .as_array()
            .unwrap()
            .iter()
            .find(|listed| listed["url"] == thread_url.as_str())
            .cloned()
    };
    eventually("the thread reaches gamma", async || {
        on_gamma().await.is_some()
    })
    .await;
    let on_gamma = on_gamma().await.unwrap();
    cid.send(
        Method::POST,
        &format!("/posts/{}/replies", on_gamma["id"]),
        Some(json!({ "body": "Descale it first." })),
        201,
    )
    .await;

    // Beta takes the copy sent straight to ann's server (no 403), and ann sees the reply,
    // which the group's Announce brought, in her thread and her notifications.
    let thread_path = format!("/posts/{}", thread["id"]);
    eventually("the reply reaches ann's thread on beta", async || {
        ann.get(&thread_path).await["replies"]
            .as_array()
            .is_some_and(|replies| !replies.is_empty())
    })
    .await;
    eventually("ann is told of the reply", async || {
        ann.get("/notifications")
            .await
            .as_array()
            .unwrap()
            .iter()
            .any(|notification| notification["kind"] == "reply")
    })
    .await;
    for instance in [home, gamma] {
        wait_for_empty_queue(instance, WAIT).await;
        let refused = delivery::Entity::find()
            .filter(delivery::Column::State.eq(DeliveryState::Rejected))
            .all(&instance.database.connection)
            .await
            .unwrap();
        assert!(
            refused.is_empty(),
            "{backend:?}: {} had deliveries refused: {refused:#?}",
            instance.name
        );
    }
    network.stop().await;
}

#[tokio::test]
async fn microblog_members_get_the_authors_own_edits_and_deletions() {
    for backend in testing::backends_under_test() {
        edits_reach_microblogs(backend).await;
    }
}

async fn edits_reach_microblogs(backend: Backend) {
    let network = TestNetwork::start_with_peers(&["home"], &["masto"], backend).await;
    let home = network.instance("home");
    let masto = network.peer(0);
    let group = home.create_group("repair").await;
    // Two members on one server: it still gets each activity once.
    join_group(masto, home, &group, "bob", 2, "1").await;
    join_group(masto, home, &group, "carol", 3, "1").await;
    let ann = ApiClient::sign_up(&network, home, "ann").await;
    ann.send(Method::POST, "/groups/repair/membership", None, 200)
        .await;
    let thread = ann
        .send(
            Method::POST,
            "/groups/repair/threads",
            Some(json!({ "title": "Kettle clicks", "body": "No heat." })),
            201,
        )
        .await;
    let thread_path = format!("/posts/{}", thread["id"]);
    let ann_id = home.url("/users/ann");
    wait_for_empty_queue(home, WAIT).await;
    masto.clear_received();

    ann.send(
        Method::PATCH,
        &thread_path,
        Some(json!({ "body": "No heat: it was the fuse." })),
        200,
    )
    .await;
    ann.send(Method::DELETE, &thread_path, None, 204).await;
    let received = masto
        .wait_for("ann's own Update and Delete", WAIT, |received| {
            ["Update", "Delete"].iter().all(|kind| {
                received
                    .iter()
                    .any(|delivery| delivery.activity["type"] == *kind)
            })
        })
        .await;
    wait_for_empty_queue(home, WAIT).await;
    let received = if masto.received().len() > received.len() {
        masto.received()
    } else {
        received
    };
    for kind in ["Update", "Delete"] {
        let own: Vec<&ReceivedDelivery> = received
            .iter()
            .filter(|delivery| delivery.activity["type"] == kind)
            .collect();
        assert_eq!(
            own.len(),
            1,
            "{backend:?}: {kind} once per server: {own:#?}"
        );
        assert_eq!(own[0].activity["actor"], ann_id.as_str(), "{backend:?}");
        assert!(own[0].signature_verified, "{:?}", own[0].verification_error);
        assert_eq!(
            own[0].key_id.as_deref(),
            Some(format!("{ann_id}#main-key").as_str()),
            "{backend:?}: signed by the author"
        );
        // The group's Announce of it goes too, for Lemmy-family servers.
        assert_eq!(
            announces_of(&received, kind).len(),
            1,
            "{backend:?}: {kind}"
        );
    }
    let update = received
        .iter()
        .find(|delivery| delivery.activity["type"] == "Update")
        .unwrap();
    assert!(
        update.activity["object"]["content"]
            .as_str()
            .unwrap()
            .contains("the fuse")
    );
    network.stop().await;
}

#[tokio::test]
async fn a_new_member_elsewhere_sees_the_groups_latest_threads() {
    let network =
        TestNetwork::start_with_peers(&["home", "beta"], &["masto"], Backend::Sqlite).await;
    let (home, beta) = (network.instance("home"), network.instance("beta"));
    let masto = network.peer(0);
    let group = home.create_group("repair").await;
    let ann = ApiClient::sign_up(&network, home, "ann").await;
    ann.send(Method::POST, "/groups/repair/membership", None, 200)
        .await;
    // One thread from a Mastodon member: its server, not the group's, is its origin.
    let dana = join_group(masto, home, &group, "dana", 1, "1").await;
    let note_id = masto.url("/users/dana/statuses/1");
    let note = mastodon::note(&dana, &note_id, &group.ap_id, "repair", "From Mastodon");
    masto.publish_note("dana", "1", note.clone());
    let (status, body) = masto
        .send(
            "dana",
            &home.url("/inbox"),
            &mastodon::create(&dana, &note),
            &Tampering::default(),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    for number in 1..=60 {
        ann.send(
            Method::POST,
            "/groups/repair/threads",
            Some(json!({ "title": format!("Thread {number}"), "body": "Text." })),
            201,
        )
        .await;
        if number % 20 == 0 {
            // Replies in the outbox are not threads: they come with the threads' backfill.
            let threads = ann.get("/groups/repair/threads").await;
            ann.send(
                Method::POST,
                &format!("/posts/{}/replies", threads[0]["id"]),
                Some(json!({ "body": "A reply." })),
                201,
            )
            .await;
        }
    }
    wait_for_empty_queue(home, WAIT).await;

    let bob = ApiClient::sign_up(&network, beta, "bob").await;
    let handle = format!("repair@{}", home.domain);
    bob.send(
        Method::POST,
        &format!("/groups/{handle}/membership"),
        None,
        200,
    )
    .await;
    let copy = async || {
        kindred_entities::actor::Entity::find()
            .filter(kindred_entities::actor::Column::ApId.eq(group.ap_id.as_str()))
            .one(&beta.database.connection)
            .await
            .unwrap()
            .unwrap()
    };
    eventually("the group's history is read on beta", async || {
        copy().await.history_read_at.is_some()
    })
    .await;
    let stored = post::Entity::find()
        .filter(post::Column::GroupId.eq(copy().await.id))
        .filter(post::Column::ParentId.is_null())
        .all(&beta.database.connection)
        .await
        .unwrap();
    assert_eq!(
        stored.len(),
        50,
        "the latest 50 threads (history_threads_on_join)"
    );
    // The replies to threads 20, 40 and 60 come with the threads' backfills.
    eventually(
        "the replies of the threads read are filled in",
        async || {
            post::Entity::find()
                .filter(post::Column::GroupId.eq(copy().await.id))
                .filter(post::Column::ParentId.is_not_null())
                .all(&beta.database.connection)
                .await
                .unwrap()
                .len()
                == 3
        },
    )
    .await;
    assert!(
        stored
            .iter()
            .any(|thread| thread.title.as_deref() == Some("Thread 60"))
    );
    assert!(
        !stored
            .iter()
            .any(|thread| thread.title.as_deref() == Some("Thread 10"))
    );
    let listed = bob.get(&format!("/groups/{handle}/threads")).await;
    assert!(!listed.as_array().unwrap().is_empty());
    network.stop().await;
}

#[tokio::test]
async fn history_reaches_back_to_threads_whose_origin_is_not_the_groups_server() {
    let network =
        TestNetwork::start_with_peers(&["home", "beta"], &["masto"], Backend::Sqlite).await;
    let (home, beta) = (network.instance("home"), network.instance("beta"));
    let masto = network.peer(0);
    let group = home.create_group("repair").await;
    let dana = join_group(masto, home, &group, "dana", 1, "1").await;
    let note_id = masto.url("/users/dana/statuses/1");
    let note = mastodon::note(&dana, &note_id, &group.ap_id, "repair", "From Mastodon");
    masto.publish_note("dana", "1", note.clone());
    let (status, body) = masto
        .send(
            "dana",
            &home.url("/inbox"),
            &mastodon::create(&dana, &note),
            &Tampering::default(),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    wait_for_empty_queue(home, WAIT).await;
    masto.clear_received();

    let bob = ApiClient::sign_up(&network, beta, "bob").await;
    bob.send(
        Method::POST,
        &format!("/groups/repair@{}/membership", home.domain),
        None,
        200,
    )
    .await;
    eventually("the Mastodon thread reaches beta", async || {
        post::Entity::find()
            .filter(post::Column::ApId.eq(note_id.as_str()))
            .count(&beta.database.connection)
            .await
            .unwrap()
            == 1
    })
    .await;
    // Fetched from its origin, as the group's server may not vouch for another's post.
    assert!(
        masto
            .fetch_key_ids()
            .iter()
            .any(|key| key.contains(&beta.domain)),
        "beta fetched the note from Mastodon: {:?}",
        masto.fetch_key_ids()
    );
    network.stop().await;
}
