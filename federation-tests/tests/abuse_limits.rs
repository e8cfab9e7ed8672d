//! Limits against abuse, with Mastodon-like peers: a blocked server is refused (403), gets no
//! deliveries and its people's posts are hidden until it is unblocked; an actor that sends too
//! fast is answered 429; a post that mentions too many people is refused.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use kindred::{
    federation::instances,
    groups::{
        posts::ThreadOrder,
        thread_lists::{self, ThreadSource},
    },
    testing,
};
use kindred_federation_tests::{
    TestNetwork, mastodon,
    peer::{MastodonPeer, Tampering},
    wait_for_empty_queue,
};
use serde_json::json;
use std::time::Duration;

fn add_person(peer: &MastodonPeer, name: &str, key_index: usize) -> String {
    let keys = testing::test_keypairs();
    let pair = &keys[key_index % keys.len()];
    peer.add_person(name, &pair.private_key, &pair.public_key)
}

#[tokio::test]
async fn blocked_servers_fast_senders_and_mass_mentions_are_refused() {
    for backend in testing::backends_under_test() {
        scenario(backend).await;
    }
}

async fn scenario(backend: testing::Backend) {
    let network = TestNetwork::start_configured(&["home"], &["good", "spam"], backend, |config| {
        config.federation.inbox_limit_per_actor_per_minute = 8;
        config.federation.max_mentions_per_post = 3;
    })
    .await;
    let home = network.instance("home");
    let (good, spam) = (network.peer(0), network.peer(1));
    let context = home.context();
    let db = &home.database.connection;
    let group = home.create_group("repair").await;
    let inbox = format!("{}/inbox", group.ap_id);
    let alice = add_person(good, "alice", 1);
    let mallory = add_person(spam, "mallory", 2);
    let send = async |peer: &MastodonPeer, name: &str, activity: &serde_json::Value| {
        peer.send(name, &inbox, activity, &Tampering::default())
            .await
    };

    for (peer, name, actor) in [(good, "alice", &alice), (spam, "mallory", &mallory)] {
        let (status, body) = send(peer, name, &mastodon::follow(actor, &group.ap_id, "1")).await;
        assert!(status.is_success(), "{body}");
    }
    let spam_note = mastodon::note(
        &mallory,
        &spam.url("/users/mallory/statuses/1"),
        &group.ap_id,
        "repair",
        "Cheap watches",
    );
    let (status, _) = send(spam, "mallory", &mastodon::create(&mallory, &spam_note)).await;
    assert!(status.is_success());
    wait_for_empty_queue(home, Duration::from_secs(10)).await;
    let listed = thread_lists::page_of_threads(
        db,
        ThreadSource::Group(group.id),
        ThreadOrder::New,
        None,
        10,
    )
    .await
    .unwrap()
    .threads;
    assert_eq!(listed.len(), 1);

    // The admin blocks the spam server.
    instances::set_blocked(db, &spam.domain, true)
        .await
        .unwrap();
    context.blocked_hosts.invalidate().await;
    let again = mastodon::note(
        &mallory,
        &spam.url("/users/mallory/statuses/2"),
        &group.ap_id,
        "repair",
        "More watches",
    );
    let (status, body) = send(spam, "mallory", &mastodon::create(&mallory, &again)).await;
    assert_eq!(status.as_u16(), 403, "{body}");
    assert!(body.contains("does not federate"));
    assert!(
        thread_lists::page_of_threads(
            db,
            ThreadSource::Group(group.id),
            ThreadOrder::New,
            None,
            10
        )
        .await
        .unwrap()
        .threads
        .is_empty(),
        "its posts are hidden"
    );
    let before = spam.received().len();
    let note = mastodon::note(
        &alice,
        &good.url("/users/alice/statuses/1"),
        &group.ap_id,
        "repair",
        "Toaster fixed",
    );
    let (status, body) = send(good, "alice", &mastodon::create(&alice, &note)).await;
    assert!(status.is_success(), "{body}");
    good.wait_for(
        "alice's post relayed",
        Duration::from_secs(10),
        |received| received.iter().any(|d| d.activity["type"] == "Announce"),
    )
    .await;
    wait_for_empty_queue(home, Duration::from_secs(10)).await;
    assert_eq!(
        spam.received().len(),
        before,
        "nothing is delivered to a blocked server"
    );

    // Unblocked, its old post shows again.
    instances::set_blocked(db, &spam.domain, false)
        .await
        .unwrap();
    assert_eq!(
        thread_lists::page_of_threads(
            db,
            ThreadSource::Group(group.id),
            ThreadOrder::New,
            None,
            10
        )
        .await
        .unwrap()
        .threads
        .len(),
        2
    );

    // Too many mentions.
    let mut loud = mastodon::note(
        &alice,
        &good.url("/users/alice/statuses/2"),
        &group.ap_id,
        "repair",
        "Hey all",
    );
    for index in 0..4 {
        loud["tag"].as_array_mut().unwrap().push(json!({
            "type": "Mention",
            "href": good.url(&format!("/users/someone{index}")),
        }));
    }
    let (status, body) = send(good, "alice", &mastodon::create(&alice, &loud)).await;
    assert_eq!(status.as_u16(), 403, "{body}");
    assert!(body.contains("mention at most"));

    // Too fast: the bucket of 8 is spent (alice sent 3 already), the next is 429.
    let mut answers = Vec::new();
    for index in 0..8 {
        let like = mastodon::like(&alice, note["id"].as_str().unwrap(), &format!("{index}"));
        answers.push(send(good, "alice", &like).await);
    }
    let refused = answers
        .iter()
        .filter(|(status, _)| status.as_u16() == 429)
        .count();
    assert!(refused >= 1, "{answers:?}");
    assert!(
        answers
            .iter()
            .any(|(_, body)| body.contains("try again in"))
    );

    network.stop().await;
}
