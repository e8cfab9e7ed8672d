//! Whole threads across servers (FEP-7888 context collections, Mastodon's `replies`, thread
//! backfill). Three Kindred instances: a thread on alpha with replies from beta, written before
//! anyone on gamma joined, is whole on gamma once its backfill ran, in the same order. A
//! Mastodon-shaped crawler reads every reply of a Kindred thread through `replies`; a
//! Mastodon-shaped server's thread is filled in through its `replies`; a Lemmy-0.19-shaped
//! one, which serves neither, costs one request and is never asked again.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use kindred::{
    federation::discovery,
    testing::{self, Backend},
};
use kindred_entities::{
    actor, post,
    thread_backfill::{self, BackfillOutcome, BackfillState},
};
use kindred_federation_tests::{
    ApiClient, TestInstance, TestNetwork, eventually,
    mastodon::PUBLIC,
    peer::{MastodonPeer, Tampering},
    wait_for_empty_queue,
};
use reqwest::Method;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use std::{collections::BTreeSet, time::Duration};

/// The thread with ActivityPub id `thread_url` on `instance`, as its page holds it: the
/// thread, then its replies by publication; each as (id, the id of its parent).
async fn thread_in_order(instance: &TestInstance, thread_url: &str) -> Vec<(String, String)> {
    let db = &instance.database.connection;
    let thread = post::Entity::find()
        .filter(post::Column::ApId.eq(thread_url))
        .one(db)
        .await
        .unwrap()
        .unwrap();
    let context = instance.context();
    let shown = kindred::groups::posts::thread_with_replies(&context.db, &thread, None, usize::MAX)
        .await
        .unwrap();
    // The page nests each reply under its parent; compared here by publication.
    let mut posts = shown.posts;
    posts[1..].sort_by_key(|reply| (reply.published_at, reply.id));
    let mut ordered = Vec::new();
    for one in posts {
        let parent = match one.parent_id {
            Some(parent_id) => {
                post::Entity::find_by_id(parent_id)
                    .one(db)
                    .await
                    .unwrap()
                    .unwrap()
                    .ap_id
            }
            None => String::new(),
        };
        ordered.push((one.ap_id, parent));
    }
    ordered
}

async fn backfill_of(instance: &TestInstance, start: &str) -> Option<thread_backfill::Model> {
    thread_backfill::Entity::find()
        .filter(thread_backfill::Column::StartApId.eq(start))
        .one(&instance.database.connection)
        .await
        .unwrap()
}

/// Waits until the backfill that starts at `start` on `instance` is done, and returns it.
async fn finished_backfill(instance: &TestInstance, start: &str) -> thread_backfill::Model {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(job) = backfill_of(instance, start).await
            && job.state == BackfillState::Done
        {
            return job;
        }
        if tokio::time::Instant::now() > deadline {
            panic!(
                "the backfill of {start} on {} never finished: {:?}",
                instance.name,
                backfill_of(instance, start).await
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_thread_written_before_a_server_joined_is_whole_there_in_the_same_order() {
    for backend in testing::backends_under_test() {
        three_kindred_instances(backend).await;
    }
}

async fn three_kindred_instances(backend: Backend) {
    let network = TestNetwork::start(&["alpha", "beta", "gamma"], backend).await;
    let (alpha, beta, gamma) = (
        network.instance("alpha"),
        network.instance("beta"),
        network.instance("gamma"),
    );
    let ann = ApiClient::sign_up(&network, alpha, "ann").await;
    let bob = ApiClient::sign_up(&network, beta, "bob").await;
    let cat = ApiClient::sign_up(&network, gamma, "cat").await;
    ann.send(
        Method::POST,
        "/groups",
        Some(json!({ "name": "repair", "title": "Repair café" })),
        201,
    )
    .await;
    let remote = format!("repair@{}", alpha.domain);
    bob.send(
        Method::POST,
        &format!("/groups/!{remote}/membership"),
        None,
        200,
    )
    .await;
    eventually("alpha accepts bob", || async {
        bob.get(&format!("/groups/{remote}")).await["membership"] == "accepted"
    })
    .await;

    // Ann's thread; bob answers from beta, ann answers bob, bob answers again: all before
    // anyone on gamma joined.
    let thread = ann
        .send(
            Method::POST,
            "/groups/repair/threads",
            Some(json!({ "title": "Kettle clicks", "body": "It clicks but does not heat." })),
            201,
        )
        .await;
    let thread_url = thread["url"].as_str().unwrap().to_string();
    let thread_on_beta = beta.post_id_when_there(&thread_url).await;
    let first = bob
        .send(
            Method::POST,
            &format!("/posts/{thread_on_beta}/replies"),
            Some(json!({ "body": "Check the thermostat." })),
            201,
        )
        .await;
    let first_on_alpha = alpha
        .post_id_when_there(first["url"].as_str().unwrap())
        .await;
    let answer = ann
        .send(
            Method::POST,
            &format!("/posts/{first_on_alpha}/replies"),
            Some(json!({ "body": "The thermostat is fine." })),
            201,
        )
        .await;
    beta.post_id_when_there(answer["url"].as_str().unwrap())
        .await;
    let second = bob
        .send(
            Method::POST,
            &format!("/posts/{thread_on_beta}/replies"),
            Some(json!({ "body": "Then the element." })),
            201,
        )
        .await;
    alpha
        .post_id_when_there(second["url"].as_str().unwrap())
        .await;
    wait_for_empty_queue(alpha, Duration::from_secs(20)).await;

    // The thread's object names its context collection, which the group serves: every post,
    // the thread first, local ones as objects and beta's by id.
    let object = network.fetch_activity_json(&thread_url).await;
    let context_url = object["context"].as_str().unwrap().to_string();
    assert!(
        context_url.starts_with(&alpha.url("/groups/repair/threads/")),
        "{object}"
    );
    assert_eq!(
        object["replies"],
        json!(format!("{thread_url}/replies")),
        "{object}"
    );
    let collection = network.fetch_activity_json(&context_url).await;
    assert_eq!(collection["type"], "OrderedCollection", "{collection}");
    assert_eq!(collection["attributedTo"], alpha.url("/groups/repair"));
    assert_eq!(collection["totalItems"], 4, "{collection}");
    let page = network
        .fetch_activity_json(collection["first"].as_str().unwrap())
        .await;
    let items = page["orderedItems"].as_array().unwrap();
    assert_eq!(items.len(), 4, "{page}");
    assert_eq!(items[0]["id"], json!(thread_url));
    assert_eq!(items[0]["context"], json!(context_url));
    assert_eq!(items[1], first["url"], "beta's reply is listed by id");
    assert_eq!(items[2]["inReplyTo"], first["url"]);
    // The relayed Announces carry the context too.
    let relayed = kindred_entities::activity::Entity::find()
        .filter(kindred_entities::activity::Column::Kind.eq("Announce"))
        .all(&alpha.database.connection)
        .await
        .unwrap();
    assert!(!relayed.is_empty());
    for announce in &relayed {
        let json: Value = serde_json::from_str(&announce.json).unwrap();
        assert_eq!(json["context"], json!(context_url), "{json}");
    }

    // Cat joins from gamma: the group's history brings the thread, and its backfill the
    // replies, from alpha's context collection and beta's own server.
    cat.send(
        Method::POST,
        &format!("/groups/!{remote}/membership"),
        None,
        200,
    )
    .await;
    let thread_on_gamma = gamma.post_id_when_there(&thread_url).await;
    let job = finished_backfill(gamma, &thread_url).await;
    assert_eq!(job.outcome, Some(BackfillOutcome::Context), "{job:?}");
    assert_eq!(job.posts_added, 3, "{job:?}");
    assert_eq!(job.stopped_by, None);
    assert_eq!(
        thread_in_order(gamma, &thread_url).await,
        thread_in_order(alpha, &thread_url).await,
        "gamma shows the thread as alpha does"
    );

    // Cat answers bob's first reply from gamma; every server shows the same thread.
    let first_on_gamma = gamma
        .post_id_when_there(first["url"].as_str().unwrap())
        .await;
    let late = cat
        .send(
            Method::POST,
            &format!("/posts/{first_on_gamma}/replies"),
            Some(json!({ "body": "Descale it first." })),
            201,
        )
        .await;
    let late_url = late["url"].as_str().unwrap();
    let late_document = network.fetch_activity_json(late_url).await;
    assert_eq!(
        late_document["context"],
        json!(context_url),
        "a reply written on gamma names the thread's context"
    );
    alpha.post_id_when_there(late_url).await;
    beta.post_id_when_there(late_url).await;
    let on_alpha = thread_in_order(alpha, &thread_url).await;
    assert_eq!(on_alpha.len(), 5);
    assert_eq!(thread_in_order(gamma, &thread_url).await, on_alpha);
    assert_eq!(thread_in_order(beta, &thread_url).await, on_alpha);

    // The thread page on gamma says when its replies were last fetched, and offers a refresh;
    // asking at once is refused as too soon.
    let html = network
        .fetch_html(&gamma.url(&format!("/posts/{thread_on_gamma}")))
        .await;
    assert!(
        html.contains("Replies were last fetched from the servers that hold this thread"),
        "{html}"
    );
    // Asking again at once is refused, with the time to wait; the API says the same.
    let (status, _) = cat
        .call(
            Method::POST,
            &format!("/posts/{thread_on_gamma}/backfill"),
            None,
        )
        .await;
    assert_eq!(status, 429);
    let seen = cat.get(&format!("/posts/{thread_on_gamma}")).await;
    assert_eq!(seen["completeness"], "filled_in", "{seen}");
    assert_eq!(seen["replies"].as_array().unwrap().len(), 4);
    network.stop().await;
}

#[tokio::test]
async fn a_crawler_that_reads_only_replies_gets_every_reply_of_a_kindred_thread() {
    for backend in testing::backends_under_test() {
        crawler_of_replies(backend).await;
    }
}

async fn crawler_of_replies(backend: Backend) {
    let network = TestNetwork::start(&["alpha"], backend).await;
    let alpha = network.instance("alpha");
    let ann = ApiClient::sign_up(&network, alpha, "ann").await;
    ann.send(
        Method::POST,
        "/groups",
        Some(json!({ "name": "repair", "title": "Repair café" })),
        201,
    )
    .await;
    let thread = ann
        .send(
            Method::POST,
            "/groups/repair/threads",
            Some(json!({ "title": "Forty-five answers", "body": "Go." })),
            201,
        )
        .await;
    let mut written = BTreeSet::new();
    // More direct replies than one page holds, and a nested one.
    for number in 0..45 {
        let reply = ann
            .send(
                Method::POST,
                &format!("/posts/{}/replies", thread["id"]),
                Some(json!({ "body": format!("Answer {number}") })),
                201,
            )
            .await;
        written.insert(reply["url"].as_str().unwrap().to_string());
    }
    let some_reply = written.iter().next().unwrap().clone();
    let nested = ann
        .send(
            Method::POST,
            &format!(
                "/posts/{}/replies",
                alpha.post_id_when_there(&some_reply).await
            ),
            Some(json!({ "body": "Nested" })),
            201,
        )
        .await;
    written.insert(nested["url"].as_str().unwrap().to_string());

    // As Mastodon's "fetch all replies" does: from the post, its `replies` collection, page
    // after page, then each reply's own.
    let mut crawled = BTreeSet::new();
    let mut to_read = vec![thread["url"].as_str().unwrap().to_string()];
    let mut requests = 0;
    while let Some(url) = to_read.pop() {
        let object = network.fetch_activity_json(&url).await;
        requests += 1;
        let collection = network
            .fetch_activity_json(object["replies"].as_str().unwrap())
            .await;
        requests += 1;
        assert_eq!(collection["type"], "Collection", "{collection}");
        let mut page = collection["first"].clone();
        loop {
            assert_eq!(page["type"], "CollectionPage", "{page}");
            for item in page["items"].as_array().unwrap() {
                let id = item.as_str().unwrap().to_string();
                if crawled.insert(id.clone()) {
                    to_read.push(id);
                }
            }
            let Some(next) = page["next"].as_str() else {
                break;
            };
            page = network.fetch_activity_json(next).await;
            requests += 1;
        }
    }
    assert_eq!(crawled, written);
    assert!(requests < 200, "{requests} requests");

    // The context collection pages the same thread in order, the thread first.
    let object = network
        .fetch_activity_json(thread["url"].as_str().unwrap())
        .await;
    let collection = network
        .fetch_activity_json(object["context"].as_str().unwrap())
        .await;
    assert_eq!(collection["totalItems"], 47);
    let mut listed = Vec::new();
    let mut next = collection["first"].as_str().map(str::to_string);
    while let Some(url) = next {
        let page = network.fetch_activity_json(&url).await;
        listed.extend(
            page["orderedItems"]
                .as_array()
                .unwrap()
                .iter()
                .map(|item| item["id"].as_str().unwrap().to_string()),
        );
        next = page["next"].as_str().map(str::to_string);
    }
    assert_eq!(listed.len(), 47);
    assert_eq!(listed[0], thread["url"].as_str().unwrap());
    assert_eq!(
        listed[1..].iter().cloned().collect::<BTreeSet<_>>(),
        written
    );

    // A removed reply leaves both collections.
    let removed = written.iter().last().unwrap().clone();
    ann.send(
        Method::POST,
        &format!(
            "/posts/{}/moderate/remove",
            alpha.post_id_when_there(&removed).await
        ),
        Some(json!({ "reason": "spam" })),
        200,
    )
    .await;
    let page = network
        .fetch_activity_json(&format!(
            "{}?page=true&after={}",
            object["context"].as_str().unwrap(),
            alpha.post_id_when_there(&removed).await - 1
        ))
        .await;
    assert!(
        !page["orderedItems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|item| item["id"] == json!(removed)),
        "{page}"
    );
    let replies = network
        .fetch_activity_json(&format!(
            "{}/replies?page=true&after={}",
            thread["url"].as_str().unwrap(),
            alpha.post_id_when_there(&removed).await - 1
        ))
        .await;
    assert!(
        !replies["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|item| item == &json!(removed)),
        "{replies}"
    );
    network.stop().await;
}

/// A group on `peer` (a Guppe- or Lemmy-like server) that a person on `home` has joined.
async fn joined_remote_group(
    peer: &MastodonPeer,
    home: &TestInstance,
    name: &str,
    key: usize,
) -> (String, actor::Model) {
    let keys = testing::test_keypairs();
    let group_id = peer.add_person(name, &keys[key].private_key, &keys[key].public_key);
    peer.set_profile(name, json!({ "type": "Group", "name": name }));
    let context = home.context();
    let group = discovery::resolve_group(&context, &group_id).await.unwrap();
    let member = home.create_person(&format!("{name}_member")).await.actor;
    let requested = kindred::actions::groups::join(&context, &member, &group)
        .await
        .unwrap();
    wait_for_empty_queue(home, Duration::from_secs(10)).await;
    let accept = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": peer.url(&format!("/accepts/{name}")),
        "type": "Accept",
        "actor": group_id,
        "object": requested.follow_activity_ap_id,
    });
    let (status, body) = peer
        .send(name, &home.url("/inbox"), &accept, &Tampering::default())
        .await;
    assert!(status.is_success(), "{status}: {body}");
    (group_id, group)
}

/// The group `group_name` on `peer` announces `object` to `home`'s shared inbox.
async fn announced(
    peer: &MastodonPeer,
    home: &TestInstance,
    group_name: &str,
    id: &str,
    object: Value,
) {
    let announce = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": id,
        "type": "Announce",
        "actor": peer.actor_id(group_name),
        "to": [PUBLIC],
        "object": object,
    });
    let (status, body) = peer
        .send(
            group_name,
            &home.url("/inbox"),
            &announce,
            &Tampering::default(),
        )
        .await;
    assert!(status.is_success(), "{status}: {body}");
}

fn add_person(peer: &MastodonPeer, name: &str, key: usize) -> String {
    let keys = testing::test_keypairs();
    let pair = &keys[key % keys.len()];
    peer.add_person(name, &pair.private_key, &pair.public_key)
}

/// A note as Mastodon 4.4 serves it: no context collection, `replies` as a collection whose
/// first page (self-replies, here none) is embedded, with `next` to the others' replies.
fn mastodon_note(
    peer: &MastodonPeer,
    author: &str,
    number: u32,
    parent: Option<&str>,
    cc: &str,
) -> Value {
    let id = format!("{}/statuses/{number}", peer.actor_id(author));
    json!({
        "@context": ["https://www.w3.org/ns/activitystreams", {"sensitive": "as:sensitive"}],
        "id": id,
        "type": "Note",
        "attributedTo": peer.actor_id(author),
        "inReplyTo": parent,
        "to": [PUBLIC],
        "cc": [cc],
        "content": format!("<p>Note {number}</p>"),
        "published": format!("2026-12-01T10:00:{number:02}Z"),
        "replies": {
            "id": format!("{id}/replies"),
            "type": "Collection",
            "first": {
                "type": "CollectionPage",
                "next": format!("{id}/replies?only_other_accounts=true&page=true"),
                "partOf": format!("{id}/replies"),
                "items": []
            }
        }
    })
}

/// Serves the second page of a Mastodon note's replies: the ids of others' replies.
fn serve_replies(peer: &MastodonPeer, author: &str, number: u32, replies: &[&str]) {
    let path = format!("/users/{author}/statuses/{number}/replies");
    let id = peer.url(&path);
    peer.serve_document(
        &format!("{path}?only_other_accounts=true&page=true"),
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{id}?only_other_accounts=true&page=true"),
            "type": "CollectionPage",
            "partOf": id,
            "items": replies,
        }),
    );
}

#[tokio::test]
async fn a_mastodon_shaped_thread_is_filled_in_through_replies_and_a_lemmy_shaped_one_costs_one_request()
 {
    for backend in testing::backends_under_test() {
        mastodon_and_lemmy_shaped(backend).await;
    }
}

async fn mastodon_and_lemmy_shaped(backend: Backend) {
    let network = TestNetwork::start_with_peers(&["home"], &["masto", "lemmy"], backend).await;
    let home = network.instance("home");
    let (masto, lemmy) = (network.peer(0), network.peer(1));
    let (club_id, _club) = joined_remote_group(masto, home, "club", 1).await;
    let mia = add_person(masto, "mia", 2);
    add_person(masto, "max", 3);

    // Mia's note, boosted by the group; max and mia answered before anyone here joined.
    let root = mastodon_note(masto, "mia", 1, None, &club_id);
    let root_id = masto.publish_note("mia", "1", root.clone());
    let first = masto.publish_note(
        "max",
        "2",
        mastodon_note(masto, "max", 2, Some(&root_id), &mia),
    );
    let second = masto.publish_note(
        "max",
        "3",
        mastodon_note(masto, "max", 3, Some(&root_id), &mia),
    );
    let mut nested = mastodon_note(masto, "mia", 4, Some(&first), &club_id);
    // A `replies` given by id only, to be fetched.
    nested["replies"] = json!(format!("{}/statuses/4/replies", masto.actor_id("mia")));
    let nested_id = masto.publish_note("mia", "4", nested);
    masto.serve_document(
        "/users/mia/statuses/4/replies",
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": masto.url("/users/mia/statuses/4/replies"),
            "type": "Collection",
            "first": { "type": "CollectionPage", "partOf": masto.url("/users/mia/statuses/4/replies"), "items": [] }
        }),
    );
    serve_replies(masto, "mia", 1, &[&first, &second]);
    serve_replies(masto, "max", 2, &[&nested_id]);
    serve_replies(masto, "max", 3, &[]);

    announced(
        masto,
        home,
        "club",
        &masto.url("/users/club/statuses/99/activity"),
        json!(root_id),
    )
    .await;
    let job = finished_backfill(home, &root_id).await;
    assert_eq!(job.outcome, Some(BackfillOutcome::Replies), "{job:?}");
    assert_eq!(job.posts_added, 3, "{job:?}");
    let order = thread_in_order(home, &root_id).await;
    assert_eq!(
        order,
        vec![
            (root_id.clone(), String::new()),
            (first.clone(), root_id.clone()),
            (second.clone(), root_id.clone()),
            (nested_id.clone(), first.clone()),
        ]
    );

    // A Lemmy 0.19 community serves neither a context nor replies: the backfill asks for the
    // post once, says so, and never asks again.
    let (community_id, _community) = joined_remote_group(lemmy, home, "lcomm", 4).await;
    let lem = add_person(lemmy, "lem", 5);
    let page_id = lemmy.url("/post/7");
    let page = json!({
        "id": page_id,
        "type": "Page",
        "attributedTo": lem,
        "to": [community_id, PUBLIC],
        "audience": community_id,
        "name": "Soldering irons",
        "content": "<p>Which one?</p>",
        "published": "2026-12-01T09:00:00Z",
    });
    lemmy.serve_document("/post/7", page.clone());
    let create = json!({
        "id": lemmy.url("/activities/create/7"),
        "type": "Create",
        "actor": lem,
        "to": [PUBLIC],
        "object": page,
    });
    announced(
        lemmy,
        home,
        "lcomm",
        &lemmy.url("/activities/announce/7"),
        create,
    )
    .await;
    let job = finished_backfill(home, &page_id).await;
    assert_eq!(job.outcome, Some(BackfillOutcome::Neither), "{job:?}");
    assert_eq!(job.requests_made, 1, "{job:?}");
    tokio::time::sleep(Duration::from_millis(600)).await;
    let asked = lemmy
        .gets()
        .iter()
        .filter(|path| path.starts_with("/post/7"))
        .count();
    assert_eq!(asked, 1, "{:?}", lemmy.gets());
    let thread_on_home = home.post_id_when_there(&page_id).await;
    let html = network
        .fetch_html(&home.url(&format!("/posts/{thread_on_home}")))
        .await;
    assert!(html.contains("does not list its replies"), "{html}");

    // A reply whose parent is not held waits for it rather than being dropped: the group
    // announces a reply to a post of its server that nobody here saw; the backfill fetches
    // the parent and the reply is attached under it.
    let missing_parent = lemmy.url("/comment/8");
    lemmy.serve_document(
        "/comment/8",
        json!({
            "id": missing_parent,
            "type": "Note",
            "attributedTo": lem,
            "to": [PUBLIC],
            "cc": [community_id],
            "audience": community_id,
            "inReplyTo": page_id,
            "content": "<p>A Hakko.</p>",
            "published": "2026-12-01T09:05:00Z",
        }),
    );
    let orphan_id = lemmy.url("/comment/9");
    let orphan = json!({
        "id": orphan_id,
        "type": "Note",
        "attributedTo": lem,
        "to": [PUBLIC],
        "cc": [community_id],
        "audience": community_id,
        "inReplyTo": missing_parent,
        "content": "<p>Seconded.</p>",
        "published": "2026-12-01T09:10:00Z",
    });
    announced(
        lemmy,
        home,
        "lcomm",
        &lemmy.url("/activities/announce/9"),
        json!({
            "id": lemmy.url("/activities/create/9"),
            "type": "Create",
            "actor": lem,
            "to": [PUBLIC],
            "object": orphan,
        }),
    )
    .await;
    finished_backfill(home, &orphan_id).await;
    let order = thread_in_order(home, &page_id).await;
    assert_eq!(
        order,
        vec![
            (page_id.clone(), String::new()),
            (missing_parent.clone(), page_id.clone()),
            (orphan_id.clone(), missing_parent.clone()),
        ]
    );
    network.stop().await;
}

#[tokio::test]
async fn a_hostile_server_cannot_make_a_backfill_run_forever() {
    bounded(Backend::Sqlite).await;
}

async fn bounded(backend: Backend) {
    const MAX_POSTS: usize = 25;
    let network = TestNetwork::start_configured(&["home"], &["evil"], backend, |config| {
        config.backfill.max_posts = MAX_POSTS;
        config.backfill.max_requests_per_host = 200;
        config.backfill.refresh_after = Duration::ZERO;
    })
    .await;
    let home = network.instance("home");
    let evil = network.peer(0);
    let (trap_id, _trap) = joined_remote_group(evil, home, "trap", 1).await;
    let eve = add_person(evil, "eve", 2);
    let note_at = |number: u64| evil.url(&format!("/n/{number}"));
    // Every note `/n/k` (k ≥ 1) answers `/n/{k-1}`, lists `/n/{k+1}` as its reply, and names
    // a context of 100,000 items: an endless chain down and a huge list across.
    let generated_eve = eve.clone();
    let generated_trap = trap_id.clone();
    let base = evil.url("");
    evil.serve_generated(std::sync::Arc::new(move |path: &str| {
        let base = base.trim_end_matches('/');
        if let Some(number) = path
            .strip_prefix("/n/")
            .and_then(|rest| rest.parse::<u64>().ok())
        {
            let id = format!("{base}/n/{number}");
            let mut note = json!({
                "id": id,
                "type": "Note",
                "attributedTo": generated_eve,
                "to": [PUBLIC],
                "cc": [generated_trap],
                "content": format!("<p>Link {number}</p>"),
                "published": "2026-12-01T08:00:00Z",
                "replies": {
                    "id": format!("{id}/replies"),
                    "type": "Collection",
                    "first": {
                        "type": "CollectionPage",
                        "items": [format!("{base}/n/{}", number + 1)],
                    }
                },
            });
            if number > 0 {
                note["inReplyTo"] = json!(format!("{base}/n/{}", number - 1));
            }
            return Some(note);
        }
        if let Some(context) = path.strip_prefix("/c/") {
            // `/c/1` the collection; `/c/1?page=N` its pages of 50, 2,000 pages in all.
            let (_, query) = context.split_once('?').unwrap_or((context, ""));
            let page: u64 = query
                .strip_prefix("page=")
                .and_then(|number| number.parse().ok())
                .unwrap_or(0);
            if page == 0 {
                return Some(json!({
                    "id": format!("{base}/c/1"),
                    "type": "OrderedCollection",
                    "totalItems": 100_000,
                    "first": format!("{base}/c/1?page=1"),
                }));
            }
            let items: Vec<String> = (0..50)
                .map(|offset| format!("{base}/m/{}", page * 50 + offset))
                .collect();
            return Some(json!({
                "id": format!("{base}/c/1?page={page}"),
                "type": "OrderedCollectionPage",
                "partOf": format!("{base}/c/1"),
                "orderedItems": items,
                "next": format!("{base}/c/1?page={}", page + 1),
            }));
        }
        if let Some(number) = path
            .strip_prefix("/m/")
            .and_then(|rest| rest.parse::<u64>().ok())
        {
            return Some(json!({
                "id": format!("{base}/m/{number}"),
                "type": "Note",
                "attributedTo": generated_eve,
                "to": [PUBLIC],
                "inReplyTo": format!("{base}/t/1"),
                "context": format!("{base}/c/1"),
                "content": format!("<p>Item {number}</p>"),
            }));
        }
        if path == "/t/1" {
            return Some(json!({
                "id": format!("{base}/t/1"),
                "type": "Page",
                "name": "A huge context",
                "attributedTo": generated_eve,
                "to": [PUBLIC, generated_trap],
                "audience": generated_trap,
                "context": format!("{base}/c/1"),
                "content": "<p>Everything</p>",
            }));
        }
        None
    }));

    // The endless chain: the group announces its first link.
    let send_announce = async |number: u32, object: &str| {
        announced(
            evil,
            home,
            "trap",
            &evil.url(&format!("/announces/{number}")),
            json!(object),
        )
        .await;
    };
    send_announce(1, &note_at(0)).await;
    let chain = finished_backfill(home, &note_at(0)).await;
    assert_eq!(chain.stopped_by.as_deref(), Some("posts"), "{chain:?}");
    assert!(chain.posts_added as usize <= MAX_POSTS, "{chain:?}");
    assert!(chain.requests_made as usize <= MAX_POSTS + 10, "{chain:?}");

    // The huge context.
    send_announce(2, &evil.url("/t/1")).await;
    let huge = finished_backfill(home, &evil.url("/t/1")).await;
    assert_eq!(huge.outcome, Some(BackfillOutcome::Context), "{huge:?}");
    assert_eq!(huge.stopped_by.as_deref(), Some("posts"), "{huge:?}");
    assert!(huge.posts_added as usize <= MAX_POSTS, "{huge:?}");
    assert!(huge.requests_made <= 200, "{huge:?}");
    let stored = post::Entity::find()
        .filter(
            Condition::any()
                .add(post::Column::ApId.starts_with(evil.url("/m/")))
                .add(post::Column::ApId.starts_with(evil.url("/n/"))),
        )
        .order_by_asc(post::Column::Id)
        .all(&home.database.connection)
        .await
        .unwrap();
    assert!(stored.len() <= 2 * MAX_POSTS + 1, "{}", stored.len());

    // A person may ask for a thread again (here at once: `refresh_after` is 0); the new run
    // is bounded as the first was.
    let ann = ApiClient::sign_up(&network, home, "ann").await;
    let chain_thread = chain.thread_id.unwrap();
    let seen = ann.get(&format!("/posts/{chain_thread}")).await;
    assert_eq!(seen["completeness"], "cut_short", "{seen}");
    let (status, body) = ann
        .call(
            Method::POST,
            &format!("/posts/{chain_thread}/backfill"),
            None,
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let again = backfill_of(home, &note_at(0)).await.unwrap();
        if again.state == BackfillState::Done && again.finished_at > chain.finished_at {
            // The posts held already are read again for their replies: bounded by the
            // requests a run may make to one server.
            assert!(again.requests_made <= 200, "{again:?}");
            assert!(again.posts_added as usize <= MAX_POSTS, "{again:?}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{again:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Nothing else was held up: the instance answers, and a person here can still post.
    ann.send(
        Method::POST,
        "/groups",
        Some(json!({ "name": "calm", "title": "Calm" })),
        201,
    )
    .await;
    network.stop().await;
}
