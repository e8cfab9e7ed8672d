//! The receiving side of FEP-1b12 against a hostile group. A local person joins a group on a
//! Mastodon-like peer that then tries to speak for others: votes and deletions in a local
//! person's name, a vote by someone on a third server, a post from the third server with
//! forged words (Kindred fetches the real one from its origin), a post that does not exist, a
//! group nobody here follows, an activity id claimed on another server. Only what the group's
//! own server may vouch for gets through. Joining is pending until the Accept; Reject ends it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use kindred::{
    accounts::users::{self, NewUser},
    federation::discovery,
    groups::{membership, posts},
    testing,
};
use kindred_entities::{membership::MembershipState, user::UserState, vote};
use kindred_federation_tests::{
    TestNetwork,
    mastodon::PUBLIC,
    peer::{MastodonPeer, Tampering},
    wait_for_empty_queue,
};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use std::time::Duration;

fn add_person(peer: &MastodonPeer, name: &str, key_index: usize) -> String {
    let keys = testing::test_keypairs();
    let pair = &keys[key_index % keys.len()];
    peer.add_person(name, &pair.private_key, &pair.public_key)
}

fn announce(group: &str, id: &str, object: Value) -> Value {
    json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": id,
        "type": "Announce",
        "actor": group,
        "to": [PUBLIC],
        "object": object,
    })
}

#[tokio::test]
async fn a_hostile_group_cannot_speak_for_people_on_other_servers() {
    for backend in testing::backends_under_test() {
        let network = TestNetwork::start_with_peers(&["home"], &["evil", "other"], backend).await;
        let home = network.instance("home");
        let evil = network.peer(0);
        let other = network.peer(1);
        let context = home.context();
        let db = &home.database.connection;
        let mut people = Vec::new();
        for name in ["ann", "carol"] {
            people.push(
                users::create_user(
                    db,
                    &context.config,
                    &context.keys,
                    NewUser {
                        name,
                        password: "a long password",
                        email: None,
                        application_text: None,
                    },
                    UserState::Active,
                    false,
                )
                .await
                .unwrap(),
            );
        }
        let (ann, carol) = (&people[0], &people[1]);

        let group_id = add_person(evil, "evilgroup", 1);
        evil.set_profile(
            "evilgroup",
            json!({ "type": "Group", "name": "Evil group" }),
        );
        let eve = add_person(evil, "eve", 2);
        let olivia = add_person(other, "olivia", 3);
        let lonely = add_person(evil, "lonely", 4);
        evil.set_profile("lonely", json!({ "type": "Group" }));
        let group = discovery::resolve_group(&context, &group_id).await.unwrap();
        assert!(!group.local);
        let inbox = home.url("/inbox");
        let send = async |from: &str, activity: &Value| {
            evil.send(from, &inbox, activity, &Tampering::default())
                .await
        };

        // Ann's join stays pending until the group's Accept; carol's is rejected.
        let requested = kindred::actions::groups::join(&context, &ann.actor, &group)
            .await
            .unwrap();
        assert_eq!(requested.state, MembershipState::Pending);
        let carol_request = kindred::actions::groups::join(&context, &carol.actor, &group)
            .await
            .unwrap();
        wait_for_empty_queue(home, Duration::from_secs(10)).await;
        let follows: Vec<_> = evil
            .received()
            .into_iter()
            .filter(|delivery| delivery.activity["type"] == "Follow")
            .collect();
        assert_eq!(follows.len(), 2, "both Follows reached the group's server");
        assert!(
            membership::find(db, group.id, ann.actor.id)
                .await
                .unwrap()
                .unwrap()
                .state
                == MembershipState::Pending
        );
        let accept = json!({
            "id": evil.url("/accepts/1"),
            "type": "Accept",
            "actor": group_id,
            "object": requested.follow_activity_ap_id,
        });
        let (status, body) = send("evilgroup", &accept).await;
        assert!(status.is_success(), "{status}: {body}");
        assert_eq!(
            membership::find(db, group.id, ann.actor.id)
                .await
                .unwrap()
                .unwrap()
                .state,
            MembershipState::Accepted
        );
        let reject = json!({
            "id": evil.url("/rejects/1"),
            "type": "Reject",
            "actor": group_id,
            "object": carol_request.follow_activity_ap_id,
        });
        let (status, _) = send("evilgroup", &reject).await;
        assert!(status.is_success());
        assert!(
            membership::find(db, group.id, carol.actor.id)
                .await
                .unwrap()
                .is_none()
        );

        // Ann writes a thread there.
        let thread = kindred::actions::posts::write_post(
            &context,
            &ann.actor,
            &group,
            None,
            posts::Draft {
                title: Some("Our thread".into()),
                markdown: "Ann's words".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();

        // 1. A vote, 2. a deletion, in ann's name: ignored.
        let forged_like = json!({ "id": evil.url("/likes/1"), "type": "Like", "actor": ann.actor.ap_id, "object": thread.ap_id });
        let forged_delete = json!({ "id": evil.url("/deletes/1"), "type": "Delete", "actor": ann.actor.ap_id, "object": thread.ap_id });
        // 3. A vote by someone on a third server, with an id on the group's server: ignored.
        let foreign_like = json!({ "id": evil.url("/likes/2"), "type": "Like", "actor": olivia, "object": thread.ap_id });
        for (index, inner) in [forged_like, forged_delete, foreign_like]
            .into_iter()
            .enumerate()
        {
            let (status, body) = send(
                "evilgroup",
                &announce(&group_id, &evil.url(&format!("/announces/{index}")), inner),
            )
            .await;
            assert!(status.is_success(), "{status}: {body}");
        }
        let stored = posts::find_by_ap_id(db, &thread.ap_id)
            .await
            .unwrap()
            .unwrap();
        assert!(
            stored.deleted_at.is_none(),
            "a group cannot delete a local post"
        );
        assert_eq!(
            vote::Entity::find()
                .filter(vote::Column::PostId.eq(stored.id))
                .count(db)
                .await
                .unwrap(),
            0,
            "no vote was forged"
        );

        // 4. A reply from the third server with forged words: the real note is fetched.
        let real_note_id = format!("{olivia}/statuses/1");
        let real_note = json!({
            "id": real_note_id,
            "type": "Note",
            "attributedTo": olivia,
            "inReplyTo": thread.ap_id,
            "to": [PUBLIC],
            "cc": [group_id],
            "content": "<p>The real words</p>",
            "published": "2026-11-27T10:00:00Z",
        });
        other.publish_note("olivia", "1", real_note.clone());
        let mut forged_note = real_note.clone();
        forged_note["content"] = json!("<p>FORGED words</p>");
        let forged_create = json!({ "id": format!("{real_note_id}/activity"), "type": "Create", "actor": olivia, "object": forged_note });
        let (status, body) = send(
            "evilgroup",
            &announce(&group_id, &evil.url("/announces/10"), forged_create),
        )
        .await;
        assert!(status.is_success(), "{status}: {body}");
        let reply = posts::find_by_ap_id(db, &real_note_id)
            .await
            .unwrap()
            .unwrap();
        assert!(
            reply.content_html.contains("The real words"),
            "{}",
            reply.content_html
        );
        assert_eq!(reply.parent_id, Some(stored.id));

        // 5. A post that does not exist on the server it names: nothing stored.
        let ghost_id = format!("{olivia}/statuses/404");
        let ghost = json!({ "id": format!("{ghost_id}/activity"), "type": "Create", "actor": olivia, "object": { "id": ghost_id, "type": "Note", "attributedTo": olivia, "inReplyTo": thread.ap_id, "to": [PUBLIC], "content": "boo" } });
        send(
            "evilgroup",
            &announce(&group_id, &evil.url("/announces/11"), ghost),
        )
        .await;
        assert!(posts::find_by_ap_id(db, &ghost_id).await.unwrap().is_none());

        // 6. What happened on the group's own server is taken as announced.
        let eve_note_id = evil.url("/users/eve/statuses/9");
        let eve_create = json!({ "id": format!("{eve_note_id}/activity"), "type": "Create", "actor": eve, "object": {
            "id": eve_note_id, "type": "Note", "attributedTo": eve, "inReplyTo": thread.ap_id,
            "to": [PUBLIC], "cc": [group_id], "content": "<p>Eve agrees</p>" } });
        send(
            "evilgroup",
            &announce(&group_id, &evil.url("/announces/12"), eve_create),
        )
        .await;
        let eve_reply = posts::find_by_ap_id(db, &eve_note_id)
            .await
            .unwrap()
            .unwrap();
        assert!(eve_reply.content_html.contains("Eve agrees"));
        assert_eq!(eve_reply.group_id, group.id);
        // Eve may delete her own reply through the group.
        let eve_delete = json!({ "id": evil.url("/users/eve/deletes/1"), "type": "Delete", "actor": eve, "object": eve_note_id });
        send(
            "evilgroup",
            &announce(&group_id, &evil.url("/announces/13"), eve_delete),
        )
        .await;
        assert!(
            posts::find_by_ap_id(db, &eve_note_id)
                .await
                .unwrap()
                .unwrap()
                .deleted_at
                .is_some()
        );

        // 7. A group nobody here follows is refused.
        let unfollowed = announce(&lonely, &evil.url("/announces/14"), json!(eve_note_id));
        let (status, _) = evil
            .send("lonely", &inbox, &unfollowed, &Tampering::default())
            .await;
        assert_eq!(status.as_u16(), 403);

        // 8. An activity whose id is on another server than its actor is refused.
        let claimed = announce(&group_id, &other.url("/announces/15"), json!(eve_note_id));
        let (status, body) = send("evilgroup", &claimed).await;
        assert_eq!(status.as_u16(), 400, "{body}");
        assert!(body.contains("another server than its actor"));

        network.stop().await;
    }
}
