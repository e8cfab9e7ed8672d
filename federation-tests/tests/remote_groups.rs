//! Two Kindred instances, cross-instance discussion both ways: a person on alpha joins a group
//! on beta through alpha's API, and from then on threads, replies, edits, votes and deletions
//! made on either side show up on the other (alpha → beta by Create/Update/Like/Delete to the
//! group's inbox; beta → alpha by the group's Announce).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use kindred::testing;
use kindred_entities::post;
use kindred_federation_tests::{
    ApiClient, TestInstance, TestNetwork, eventually, wait_for_empty_queue,
};
use reqwest::Method;
use sea_orm::EntityTrait;
use serde_json::json;
use std::time::Duration;

async fn post_row(instance: &TestInstance, id: i64) -> post::Model {
    post::Entity::find_by_id(id)
        .one(&instance.database.connection)
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn a_person_on_one_instance_takes_part_in_a_group_on_another() {
    for backend in testing::backends_under_test() {
        let network = TestNetwork::start(&["alpha", "beta"], backend).await;
        let alpha = network.instance("alpha");
        let beta = network.instance("beta");
        let ann = ApiClient::sign_up(&network, alpha, "ann").await;
        let bob = ApiClient::sign_up(&network, beta, "bob").await;
        bob.send(
            Method::POST,
            "/groups",
            Some(json!({ "name": "repair", "title": "Repair café", "summary": "We *fix* things" })),
            201,
        )
        .await;

        // Ann joins by handle; alpha looks the group up and follows it; beta accepts.
        let remote = format!("repair@{}", beta.domain);
        let joined = ann
            .send(
                Method::POST,
                &format!("/groups/!{remote}/membership"),
                None,
                200,
            )
            .await;
        assert_eq!(joined["name"], remote);
        assert_eq!(joined["local"], false);
        eventually("beta accepts ann", || async {
            ann.get(&format!("/groups/{remote}")).await["membership"] == "accepted"
        })
        .await;
        assert_eq!(bob.get("/groups/repair").await["member_count"], 2);

        // Bob's thread on beta reaches alpha through the group's Announce.
        let thread = bob
            .send(
                Method::POST,
                "/groups/repair/threads",
                Some(json!({ "title": "Kettle clicks", "body": "It clicks but does not *heat*." })),
                201,
            )
            .await;
        let thread_url = thread["url"].as_str().unwrap().to_string();
        let thread_on_alpha = alpha.post_id_when_there(&thread_url).await;
        let listed = ann.get(&format!("/groups/{remote}/threads")).await;
        assert_eq!(listed[0]["title"], "Kettle clicks");
        assert!(
            listed[0]["content_html"]
                .as_str()
                .unwrap()
                .contains("<em>heat</em>")
        );
        assert!(
            listed[0]["author"]["url"]
                .as_str()
                .unwrap()
                .contains(&beta.domain)
        );

        // Ann replies from alpha; beta stores the reply under bob's thread.
        let reply = ann
            .send(
                Method::POST,
                &format!("/posts/{thread_on_alpha}/replies"),
                Some(json!({ "body": "Check the thermostat." })),
                201,
            )
            .await;
        let reply_url = reply["url"].as_str().unwrap().to_string();
        assert!(reply_url.contains(&alpha.domain));
        let reply_on_beta = beta.post_id_when_there(&reply_url).await;
        let seen = bob.get(&format!("/posts/{}", thread["id"])).await;
        assert_eq!(seen["replies"][0]["author"]["name"], "ann");
        assert_eq!(seen["replies"][0]["parent_id"], thread["id"]);

        // Ann starts a thread from alpha; bob answers on beta; ann sees the answer.
        let own = ann
            .send(
                Method::POST,
                &format!("/groups/{remote}/threads"),
                Some(json!({ "title": "Bike lights", "body": "Dynamo or battery?" })),
                201,
            )
            .await;
        let own_url = own["url"].as_str().unwrap().to_string();
        let own_on_beta = beta.post_id_when_there(&own_url).await;
        assert_eq!(
            post_row(beta, own_on_beta).await.title.as_deref(),
            Some("Bike lights")
        );
        let answer = bob
            .send(
                Method::POST,
                &format!("/posts/{own_on_beta}/replies"),
                Some(json!({ "body": "Dynamo, **always**." })),
                201,
            )
            .await;
        let answer_on_alpha = alpha
            .post_id_when_there(answer["url"].as_str().unwrap())
            .await;
        assert!(
            post_row(alpha, answer_on_alpha)
                .await
                .content_html
                .contains("<strong>always</strong>")
        );
        assert_eq!(
            post_row(alpha, answer_on_alpha).await.parent_id,
            Some(own["id"].as_i64().unwrap())
        );

        // Ann mentions bob from alpha: the post carries a Mention tag and bob hears of it.
        let mention = ann
            .send(
                Method::POST,
                &format!("/posts/{}/replies", own["id"]),
                Some(json!({ "body": format!("Thanks @bob@{}, dynamo it is.", beta.domain) })),
                201,
            )
            .await;
        let mention_document = network
            .fetch_activity_json(mention["url"].as_str().unwrap())
            .await;
        assert_eq!(
            mention_document["tag"][0]["type"], "Mention",
            "{mention_document}"
        );
        assert!(
            mention_document["tag"][0]["href"]
                .as_str()
                .unwrap()
                .ends_with("/users/bob"),
            "{mention_document}"
        );
        eventually("bob is told of the mention", || async {
            bob.get("/notifications")
                .await
                .as_array()
                .is_some_and(|all| all.iter().any(|one| one["kind"] == "mention"))
        })
        .await;

        // Edits flow both ways.
        bob.send(
            Method::PATCH,
            &format!("/posts/{}", thread["id"]),
            Some(json!({ "body": "It clicks; the element is dead." })),
            200,
        )
        .await;
        eventually("bob's edit reaches alpha", || async {
            post_row(alpha, thread_on_alpha)
                .await
                .content_html
                .contains("element is dead")
        })
        .await;
        ann.send(
            Method::PATCH,
            &format!("/posts/{}", reply["id"]),
            Some(json!({ "body": "Check the thermostat, then the element." })),
            200,
        )
        .await;
        eventually("ann's edit reaches beta", || async {
            post_row(beta, reply_on_beta)
                .await
                .content_html
                .contains("then the element")
        })
        .await;

        // Votes flow both ways.
        bob.send(
            Method::PUT,
            &format!("/posts/{reply_on_beta}/vote"),
            Some(json!({ "value": 1 })),
            200,
        )
        .await;
        let reply_on_alpha = reply["id"].as_i64().unwrap();
        eventually("bob's like reaches alpha", || async {
            post_row(alpha, reply_on_alpha).await.like_count == 1
        })
        .await;
        ann.send(
            Method::PUT,
            &format!("/posts/{thread_on_alpha}/vote"),
            Some(json!({ "value": -1 })),
            200,
        )
        .await;
        let thread_on_beta = thread["id"].as_i64().unwrap();
        eventually("ann's dislike reaches beta", || async {
            post_row(beta, thread_on_beta).await.dislike_count == 1
        })
        .await;
        ann.send(
            Method::PUT,
            &format!("/posts/{thread_on_alpha}/vote"),
            Some(json!({ "value": 0 })),
            200,
        )
        .await;
        eventually("ann's withdrawn vote reaches beta", || async {
            post_row(beta, thread_on_beta).await.dislike_count == 0
        })
        .await;

        // Deletions flow both ways.
        ann.send(
            Method::DELETE,
            &format!("/posts/{reply_on_alpha}"),
            None,
            204,
        )
        .await;
        eventually("ann's deletion reaches beta", || async {
            post_row(beta, reply_on_beta).await.deleted_at.is_some()
        })
        .await;
        bob.send(
            Method::DELETE,
            &format!("/posts/{}", answer["id"]),
            None,
            204,
        )
        .await;
        eventually("bob's deletion reaches alpha", || async {
            post_row(alpha, answer_on_alpha).await.deleted_at.is_some()
        })
        .await;

        // The group's profile edits reach alpha as Update{Group}.
        bob.send(
            Method::PATCH,
            "/groups/repair",
            Some(json!({ "title": "Repair café Lyon", "summary": "Every *Saturday*" })),
            200,
        )
        .await;
        eventually("the group's new title reaches alpha", || async {
            ann.get(&format!("/groups/{remote}")).await["title"] == "Repair café Lyon"
        })
        .await;

        // Ann leaves: beta ends the membership, and stops relaying to alpha.
        ann.send(
            Method::DELETE,
            &format!("/groups/{remote}/membership"),
            None,
            204,
        )
        .await;
        eventually("beta sees ann leave", || async {
            bob.get("/groups/repair").await["member_count"] == 1
        })
        .await;

        wait_for_empty_queue(alpha, Duration::from_secs(20)).await;
        wait_for_empty_queue(beta, Duration::from_secs(20)).await;
        network.stop().await;
    }
}
