//! Moderating a local group with members on a Mastodon-like server: an approval-mode join
//! stays pending until a moderator approves it (the peer then gets an Accept it can verify) or
//! refuses it (a Reject); a moderator's removal, restoration, lock and appointment reach the
//! members' servers as the group's Announce of Delete, Undo{Delete}, Lock and Add; posting
//! restricted to moderators refuses a member's post.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use kindred::{
    accounts::users::{self, NewUser},
    actions::moderation::{self as moderation_actions, JoinDecision},
    federation::activities::add_or_remove,
    groups::{directory, membership, moderation, posts},
    testing,
};
use kindred_entities::{actor::PostingMode, membership::MembershipState, user::UserState};
use kindred_federation_tests::{
    TestNetwork, mastodon,
    peer::{MastodonPeer, Tampering},
    wait_for_empty_queue,
};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(15);

fn add_person(peer: &MastodonPeer, name: &str, key_index: usize) -> String {
    let keys = testing::test_keypairs();
    let pair = &keys[key_index % keys.len()];
    peer.add_person(name, &pair.private_key, &pair.public_key)
}

#[tokio::test]
async fn moderation_reaches_the_members_servers() {
    for backend in testing::backends_under_test() {
        let network = TestNetwork::start_with_peers(&["home"], &["masto"], backend).await;
        let home = network.instance("home");
        let peer = network.peer(0);
        let context = home.context();
        let db = &home.database.connection;
        let ann = users::create_user(
            db,
            &context.config,
            &context.keys,
            NewUser {
                name: "ann",
                password: "a long password",
                email: None,
                application_text: None,
            },
            UserState::Active,
            false,
        )
        .await
        .unwrap();
        let group = home.create_group("repair").await;
        membership::found(db, &group, &ann.actor).await.unwrap();
        let group = directory::update_group(
            db,
            group,
            directory::GroupProfile {
                title: "Repair",
                summary_markdown: None,
                icon_url: None,
                banner_url: None,
                manually_approves_followers: Some(true),
                sensitive: None,
            },
        )
        .await
        .unwrap();
        let inbox = format!("{}/inbox", group.ap_id);
        let alice = add_person(peer, "alice", 1);
        let mallory = add_person(peer, "mallory", 2);

        // Two join requests wait; nothing is sent until a moderator decides.
        for (name, actor) in [("alice", &alice), ("mallory", &mallory)] {
            let follow = mastodon::follow(actor, &group.ap_id, "1");
            let (status, body) = peer
                .send(name, &inbox, &follow, &Tampering::default())
                .await;
            assert!(status.is_success(), "{body}");
        }
        let alice_row =
            kindred::federation::activities::sender(&context, &url::Url::parse(&alice).unwrap())
                .await
                .unwrap();
        let mallory_row =
            kindred::federation::activities::sender(&context, &url::Url::parse(&mallory).unwrap())
                .await
                .unwrap();
        assert_eq!(
            membership::find(db, group.id, alice_row.id)
                .await
                .unwrap()
                .unwrap()
                .state,
            MembershipState::Pending
        );
        let note = mastodon::note(
            &alice,
            &peer.url("/users/alice/statuses/1"),
            &group.ap_id,
            "repair",
            "Hello?",
        );
        let (status, _) = peer
            .send(
                "alice",
                &inbox,
                &mastodon::create(&alice, &note),
                &Tampering::default(),
            )
            .await;
        assert_eq!(status.as_u16(), 403, "a pending member cannot post");
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            peer.received()
                .iter()
                .all(|delivery| delivery.activity["type"] != "Accept")
        );

        moderation_actions::decide_join_request(
            &context,
            &ann.actor,
            &group,
            &alice_row,
            JoinDecision::Approve,
        )
        .await
        .unwrap();
        moderation_actions::decide_join_request(
            &context,
            &ann.actor,
            &group,
            &mallory_row,
            JoinDecision::Refuse,
        )
        .await
        .unwrap();
        let received = peer
            .wait_for("Accept and Reject", WAIT, |received| {
                received.iter().any(|d| d.activity["type"] == "Accept")
                    && received.iter().any(|d| d.activity["type"] == "Reject")
            })
            .await;
        let accept = received
            .iter()
            .find(|d| d.activity["type"] == "Accept")
            .unwrap();
        assert!(accept.signature_verified, "{:?}", accept.verification_error);
        assert_eq!(accept.activity["object"]["actor"], alice.as_str());
        let reject = received
            .iter()
            .find(|d| d.activity["type"] == "Reject")
            .unwrap();
        assert!(reject.signature_verified);
        assert_eq!(reject.activity["object"]["actor"], mallory.as_str());
        assert!(
            membership::find(db, group.id, mallory_row.id)
                .await
                .unwrap()
                .is_none()
        );

        // Alice posts; ann removes it, restores it, locks it; alice's server hears each.
        let (status, body) = peer
            .send(
                "alice",
                &inbox,
                &mastodon::create(&alice, &note),
                &Tampering::default(),
            )
            .await;
        assert!(status.is_success(), "{body}");
        let thread = posts::find_by_ap_id(db, note["id"].as_str().unwrap())
            .await
            .unwrap()
            .unwrap();
        let thread =
            moderation_actions::remove_post(&context, &ann.actor, thread, Some("off topic"))
                .await
                .unwrap();
        let thread = moderation_actions::restore_post(&context, &ann.actor, thread)
            .await
            .unwrap();
        let thread = moderation_actions::lock_thread(&context, &ann.actor, thread, true)
            .await
            .unwrap();
        moderation_actions::pin_thread(&context, &ann.actor, thread, true)
            .await
            .unwrap();
        moderation_actions::change_moderator(
            &context,
            &ann.actor,
            &group,
            &alice_row,
            add_or_remove::ModeratorChange::Appoint,
        )
        .await
        .unwrap();
        let received = peer
            .wait_for("the moderation announcements", WAIT, |received| {
                let announced: Vec<&str> = received
                    .iter()
                    .filter(|d| d.activity["type"] == "Announce")
                    .filter_map(|d| d.activity["object"]["type"].as_str())
                    .collect();
                ["Delete", "Undo", "Lock", "Add"]
                    .iter()
                    .all(|kind| announced.contains(kind))
                    && announced.iter().filter(|kind| **kind == "Add").count() >= 2
            })
            .await;
        for announce in received.iter().filter(|d| d.activity["type"] == "Announce") {
            assert!(
                announce.signature_verified,
                "{:?}",
                announce.verification_error
            );
            assert_eq!(announce.activity["actor"], group.ap_id.as_str());
        }
        let removal = received
            .iter()
            .find(|d| d.activity["object"]["type"] == "Delete")
            .unwrap();
        assert_eq!(
            removal.activity["object"]["actor"],
            ann.actor.ap_id.as_str()
        );
        assert_eq!(removal.activity["object"]["object"], note["id"]);
        assert_eq!(removal.activity["object"]["summary"], "off topic");
        let add = received
            .iter()
            .find(|d| {
                d.activity["object"]["type"] == "Add"
                    && d.activity["object"]["target"]
                        == group.moderators_url.clone().unwrap().as_str()
            })
            .unwrap();
        assert_eq!(add.activity["object"]["object"], alice.as_str());
        assert_eq!(
            add.activity["object"]["target"],
            group.moderators_url.clone().unwrap().as_str()
        );
        assert!(
            received
                .iter()
                .any(|d| d.activity["object"]["type"] == "Add"
                    && d.activity["object"]["target"]
                        == group.featured_url.clone().unwrap().as_str()),
            "the pin is announced"
        );
        let featured = network
            .fetch_activity_json(group.featured_url.as_deref().unwrap())
            .await;
        assert_eq!(featured["orderedItems"][0], note["id"], "{featured}");
        let collection = network
            .fetch_activity_json(group.moderators_url.as_deref().unwrap())
            .await;
        assert_eq!(collection["totalItems"], 2, "{collection}");

        // Posting restricted to moderators: the group's Actor says so, and a member is refused.
        let group = moderation::set_posting_mode(db, group, PostingMode::Moderators, &ann.actor)
            .await
            .unwrap();
        context.actor_documents.invalidate("repair");
        let document = network.fetch_activity_json(&group.ap_id).await;
        assert_eq!(document["postingRestrictedToMods"], true);
        let member = add_person(peer, "bea", 3);
        let follow = mastodon::follow(&member, &group.ap_id, "2");
        peer.send("bea", &inbox, &follow, &Tampering::default())
            .await;
        let bea_row =
            kindred::federation::activities::sender(&context, &url::Url::parse(&member).unwrap())
                .await
                .unwrap();
        moderation_actions::decide_join_request(
            &context,
            &ann.actor,
            &group,
            &bea_row,
            JoinDecision::Approve,
        )
        .await
        .unwrap();
        let bea_note = mastodon::note(
            &member,
            &peer.url("/users/bea/statuses/1"),
            &group.ap_id,
            "repair",
            "Me too",
        );
        let (status, body) = peer
            .send(
                "bea",
                &inbox,
                &mastodon::create(&member, &bea_note),
                &Tampering::default(),
            )
            .await;
        assert_eq!(status.as_u16(), 403, "{body}");
        assert!(body.contains("only the moderators post"));
        // Alice, now a moderator, still may.
        let alice_note = mastodon::note(
            &alice,
            &peer.url("/users/alice/statuses/2"),
            &group.ap_id,
            "repair",
            "Rules",
        );
        let (status, body) = peer
            .send(
                "alice",
                &inbox,
                &mastodon::create(&alice, &alice_note),
                &Tampering::default(),
            )
            .await;
        assert!(status.is_success(), "{body}");

        // A remote Flag reaches the local moderator; a local report reaches the remote moderator
        // (alice) and, when asked, the author's server.
        let rules_post = posts::find_by_ap_id(db, alice_note["id"].as_str().unwrap())
            .await
            .unwrap()
            .unwrap();
        let flag = serde_json::json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": peer.url("/flags/1"),
            "type": "Flag",
            "actor": member,
            "object": [alice, rules_post.ap_id],
            "content": "This is not nice",
        });
        let (status, body) = peer
            .send("bea", &home.url("/inbox"), &flag, &Tampering::default())
            .await;
        assert!(status.is_success(), "{body}");
        let filed = moderation::reports(db, group.id, true, None, 50)
            .await
            .unwrap();
        assert_eq!(filed.len(), 1);
        assert_eq!(filed[0].reason.as_deref(), Some("This is not nice"));
        assert_eq!(
            kindred::accounts::notifications::unread_count(db, ann.user.id)
                .await
                .unwrap(),
            1,
            "the local moderator is told"
        );
        peer.clear_received();
        moderation_actions::report_post(&context, &ann.actor, &rules_post, Some("spam link"), true)
            .await
            .unwrap();
        let received = peer
            .wait_for("the Flags", WAIT, |received| {
                received
                    .iter()
                    .filter(|d| d.activity["type"] == "Flag")
                    .count()
                    >= 2
            })
            .await;
        let flags: Vec<_> = received
            .iter()
            .filter(|d| d.activity["type"] == "Flag")
            .collect();
        assert!(flags.iter().all(|flag| flag.signature_verified));
        assert!(
            flags
                .iter()
                .any(|flag| flag.activity["actor"] == group.ap_id.as_str()
                    && flag.activity["content"] == "spam link"),
            "the remote moderator hears it from the group: {flags:#?}"
        );
        assert!(
            flags
                .iter()
                .any(|flag| flag.activity["actor"] == home.url("/actor")
                    && flag.activity["object"][0] == alice.as_str()),
            "the author's server hears it from the instance: {flags:#?}"
        );
        let private = network
            .client()
            .get(flags[0].activity["id"].as_str().unwrap())
            .header("accept", "application/activity+json")
            .send()
            .await
            .unwrap();
        assert_eq!(private.status().as_u16(), 404, "reports are not published");

        // Bea is banned: her server hears the Block, and her next post is refused.
        moderation::set_posting_mode(db, group.clone(), PostingMode::Members, &ann.actor)
            .await
            .unwrap();
        moderation_actions::ban(
            &context,
            &ann.actor,
            &group,
            moderation::BanTarget::Person(&bea_row),
            moderation::Ban {
                reason: Some("rude"),
                expires_at: None,
                remove_content: false,
            },
        )
        .await
        .unwrap();
        let received = peer
            .wait_for("the Block", WAIT, |received| {
                received.iter().any(|d| {
                    d.activity["type"] == "Block" || d.activity["object"]["type"] == "Block"
                })
            })
            .await;
        let block_activity = received
            .iter()
            .map(|d| {
                if d.activity["type"] == "Block" {
                    &d.activity
                } else {
                    &d.activity["object"]
                }
            })
            .find(|activity| activity["type"] == "Block")
            .unwrap();
        assert_eq!(block_activity["object"], member.as_str());
        assert_eq!(block_activity["target"], group.ap_id.as_str());
        assert_eq!(block_activity["summary"], "rude");
        let bea_again = mastodon::note(
            &member,
            &peer.url("/users/bea/statuses/2"),
            &group.ap_id,
            "repair",
            "Let me in",
        );
        let (status, body) = peer
            .send(
                "bea",
                &inbox,
                &mastodon::create(&member, &bea_again),
                &Tampering::default(),
            )
            .await;
        assert_eq!(status.as_u16(), 403, "{body}");
        assert!(body.contains("banned"));
        let refollow = mastodon::follow(&member, &group.ap_id, "3");
        let (status, _) = peer
            .send("bea", &inbox, &refollow, &Tampering::default())
            .await;
        assert_eq!(status.as_u16(), 403);

        // Pre-moderated: alice's post (she moderates, so use a plain member) waits; the group
        // relays it only once approved.
        moderation::set_posting_mode(db, group.clone(), PostingMode::Premoderated, &ann.actor)
            .await
            .unwrap();
        let cleo = add_person(peer, "cleo", 4);
        peer.send(
            "cleo",
            &inbox,
            &mastodon::follow(&cleo, &group.ap_id, "1"),
            &Tampering::default(),
        )
        .await;
        let cleo_row =
            kindred::federation::activities::sender(&context, &url::Url::parse(&cleo).unwrap())
                .await
                .unwrap();
        moderation_actions::decide_join_request(
            &context,
            &ann.actor,
            &group,
            &cleo_row,
            JoinDecision::Approve,
        )
        .await
        .unwrap();
        wait_for_empty_queue(home, WAIT).await;
        peer.clear_received();
        let waiting_note = mastodon::note(
            &cleo,
            &peer.url("/users/cleo/statuses/1"),
            &group.ap_id,
            "repair",
            "Please approve",
        );
        let (status, body) = peer
            .send(
                "cleo",
                &inbox,
                &mastodon::create(&cleo, &waiting_note),
                &Tampering::default(),
            )
            .await;
        assert!(status.is_success(), "{body}");
        wait_for_empty_queue(home, WAIT).await;
        assert!(
            peer.received()
                .iter()
                .all(|d| d.activity["type"] != "Announce"),
            "nothing relayed before approval"
        );
        let waiting = moderation::approval_queue(db, group.id).await.unwrap();
        assert_eq!(waiting.len(), 1);
        moderation_actions::approve_post(&context, &ann.actor, waiting[0].clone())
            .await
            .unwrap();
        peer.wait_for("the approved post relayed", WAIT, |received| {
            received.iter().any(|d| {
                d.activity["type"] == "Announce"
                    && d.activity["object"]["object"]["id"] == waiting_note["id"]
            })
        })
        .await;

        // An administrator removes the group: its members' servers hear the Delete.
        peer.clear_received();
        kindred::actions::accounts::remove_group(
            &context,
            kindred::actions::accounts::Remover::Operator,
            &group.preferred_username,
        )
        .await
        .unwrap();
        let received = peer
            .wait_for("the group's Delete", WAIT, |received| {
                received.iter().any(|d| d.activity["type"] == "Delete")
            })
            .await;
        let removal = received
            .iter()
            .find(|d| d.activity["type"] == "Delete")
            .unwrap();
        // Signed by the group; receivers check it with the key they keep (this test peer keeps
        // none and cannot fetch the removed actor, as Mastodon would not need to).
        assert_eq!(
            removal.key_id.as_deref(),
            Some(format!("{}#main-key", group.ap_id).as_str())
        );
        assert_eq!(removal.activity["actor"], group.ap_id.as_str());
        assert_eq!(removal.activity["object"], group.ap_id.as_str());
        let gone = network
            .client()
            .get(&group.ap_id)
            .header("accept", "application/activity+json")
            .send()
            .await
            .unwrap();
        assert_eq!(gone.status().as_u16(), 404);

        wait_for_empty_queue(home, WAIT).await;
        network.stop().await;
    }
}
