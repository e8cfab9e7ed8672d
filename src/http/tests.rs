//! HTTP tests through the whole router (no socket): discovery, the Group actor and its content
//! negotiation, collections, NodeInfo counts and clean 404s, on every database under test.

use crate::{
    groups::directory::{self, NewGroup},
    testing::{self, Backend, TestApp},
};
use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode, header},
};
use chrono::Utc;
use http_body_util::BodyExt;
use kindred_entities::{
    actor::{self, ActorKind},
    post,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter,
};
use serde_json::Value;
use tower::ServiceExt;

const PUBLIC_URL: &str = testing::TEST_PUBLIC_URL;
const DOMAIN: &str = "kindred.test:8080";

struct Response {
    status: StatusCode,
    content_type: String,
    body: String,
}

impl Response {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|error| panic!("not JSON ({error}): {}", self.body))
    }
}

/// An app with one local group, "repair_cafe", with a title and summary to escape.
async fn app_with_group(backend: Backend) -> TestApp {
    let app = TestApp::on(backend).start().await;
    directory::create_group(
        &app.database.connection,
        &app.context().config,
        &testing::test_key_source(),
        NewGroup {
            name: "repair_cafe",
            title: "Repair Café <Lyon>",
            summary_markdown: Some("We **fix** things.\n\n<script>alert(1)</script>"),
        },
    )
    .await
    .unwrap();
    app
}

async fn get(app: &TestApp, path: &str, accept: Option<&str>) -> Response {
    let mut request = Request::builder().uri(path).header(header::HOST, DOMAIN);
    if let Some(accept) = accept {
        request = request.header(header::ACCEPT, accept);
    }
    let answer = app.call(request.body(Body::empty()).unwrap()).await;
    Response {
        status: answer.status,
        content_type: answer
            .header(header::CONTENT_TYPE)
            .unwrap_or_default()
            .to_string(),
        body: answer.body,
    }
}

const ACTIVITY_JSON: &str = "application/activity+json";
const LD_JSON: &str = "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"";

#[tokio::test]
async fn webfinger_finds_a_group_in_the_shape_mastodon_reads() {
    testing::for_each_backend(async |backend| {
        let app = app_with_group(backend).await;
        let response = get(
            &app,
            "/.well-known/webfinger?resource=acct:repair_cafe@kindred.test:8080",
            None,
        )
        .await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.body);
        assert!(response.content_type.starts_with("application/jrd+json"));
        let jrd = response.json();
        assert_eq!(jrd["subject"], "acct:repair_cafe@kindred.test:8080");
        let links = jrd["links"].as_array().unwrap();
        // Mastodon follows the last `self` link: it must be the group's ActivityPub id.
        let self_link = links.iter().rfind(|link| link["rel"] == "self").unwrap();
        assert_eq!(self_link["type"], "application/activity+json");
        assert_eq!(
            self_link["href"],
            "http://kindred.test:8080/groups/repair_cafe"
        );
        assert_eq!(
            self_link["properties"]["https://www.w3.org/ns/activitystreams#type"],
            "Group"
        );
        assert!(links.iter().any(|link| {
            link["rel"] == "http://webfinger.net/rel/profile-page" && link["type"] == "text/html"
        }));
    })
    .await;
}

#[tokio::test]
async fn webfinger_edge_cases() {
    testing::for_each_backend(async |backend| {
        let app = app_with_group(backend).await;
        let cases = [
            // Case-insensitive name and host; `acct:` optional; the actor's URL works too.
            (
                "resource=acct:Repair_Cafe@KINDRED.test:8080",
                StatusCode::OK,
            ),
            ("resource=repair_cafe@kindred.test:8080", StatusCode::OK),
            (
                "resource=http://kindred.test:8080/groups/repair_cafe",
                StatusCode::OK,
            ),
            (
                "resource=acct:nobody@kindred.test:8080",
                StatusCode::NOT_FOUND,
            ),
            (
                "resource=acct:repair_cafe@elsewhere.example",
                StatusCode::NOT_FOUND,
            ),
            (
                "resource=acct:repair_cafe@kindred.test",
                StatusCode::NOT_FOUND,
            ),
            (
                "resource=http://kindred.test:8080/groups/nobody",
                StatusCode::NOT_FOUND,
            ),
            ("resource=acct:repair_cafe", StatusCode::BAD_REQUEST),
            ("resource=acct:@kindred.test:8080", StatusCode::BAD_REQUEST),
            ("resource=", StatusCode::BAD_REQUEST),
            ("", StatusCode::BAD_REQUEST),
            ("resource=http://%zz", StatusCode::BAD_REQUEST),
        ];
        for (query, expected) in cases {
            let response = get(&app, &format!("/.well-known/webfinger?{query}"), None).await;
            assert_eq!(response.status, expected, "{query}: {}", response.body);
            if expected == StatusCode::OK {
                assert_eq!(
                    response.json()["subject"],
                    "acct:repair_cafe@kindred.test:8080"
                );
            } else {
                assert!(!response.body.is_empty(), "a refusal says why: {query}");
            }
        }
    })
    .await;
}

#[tokio::test]
async fn group_actor_has_every_field_lemmy_and_mastodon_read() {
    testing::for_each_backend(async |backend| {
        let app = app_with_group(backend).await;
        let response = get(&app, "/groups/repair_cafe", Some(ACTIVITY_JSON)).await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.body);
        assert_eq!(response.content_type, "application/activity+json");
        let group = response.json();
        let id = "http://kindred.test:8080/groups/repair_cafe";
        assert_eq!(
            group["@context"][0],
            "https://www.w3.org/ns/activitystreams"
        );
        assert_eq!(group["@context"][1], "https://w3id.org/security/v1");
        assert_eq!(group["type"], "Group");
        assert_eq!(group["id"], id);
        assert_eq!(group["preferredUsername"], "repair_cafe");
        assert_eq!(group["name"], "Repair Café <Lyon>");
        let summary = group["summary"].as_str().unwrap();
        assert!(summary.contains("<strong>fix</strong>"), "{summary}");
        assert!(!summary.contains("<script"), "{summary}");
        assert_eq!(group["source"]["mediaType"], "text/markdown");
        assert!(
            group["source"]["content"]
                .as_str()
                .unwrap()
                .contains("**fix**")
        );
        assert_eq!(group["inbox"], format!("{id}/inbox"));
        assert_eq!(group["outbox"], format!("{id}/outbox"));
        assert_eq!(group["followers"], format!("{id}/followers"));
        assert_eq!(group["featured"], format!("{id}/featured"));
        assert_eq!(group["attributedTo"], format!("{id}/moderators"));
        assert_eq!(
            group["endpoints"]["sharedInbox"],
            "http://kindred.test:8080/inbox"
        );
        assert_eq!(group["publicKey"]["id"], format!("{id}#main-key"));
        assert_eq!(group["publicKey"]["owner"], id);
        assert!(
            group["publicKey"]["publicKeyPem"]
                .as_str()
                .unwrap()
                .starts_with("-----BEGIN PUBLIC KEY-----")
        );
        assert_eq!(group["manuallyApprovesFollowers"], false);
        assert_eq!(group["postingRestrictedToMods"], false);
        assert_eq!(group["discoverable"], true);
        assert!(group["published"].is_string());
        assert_eq!(group["url"], id);
        assert!(group.get("privateKeyPem").is_none() && !response.body.contains("PRIVATE"));

        // Every field Lemmy's own group document has that a FEP-1b12 group needs, we have.
        let lemmy: Value = serde_json::from_str(include_str!(
            "../../federation-tests/fixtures/lemmy/objects/group.json"
        ))
        .unwrap();
        for key in [
            "id",
            "type",
            "preferredUsername",
            "name",
            "summary",
            "source",
            "inbox",
            "followers",
            "attributedTo",
            "featured",
            "postingRestrictedToMods",
            "endpoints",
            "outbox",
            "publicKey",
            "published",
        ] {
            assert!(
                lemmy.get(key).is_some() && group.get(key).is_some(),
                "{key}"
            );
        }
        // And our document reads back through the same struct that reads everyone else's.
        let parsed: crate::federation::objects::actor::ActorJson =
            serde_json::from_value(group.clone()).unwrap();
        assert_eq!(parsed.inbox.as_str(), format!("{id}/inbox"));
    })
    .await;
}

#[tokio::test]
async fn content_negotiation_serves_json_ld_or_html() {
    testing::for_each_backend(async |backend| {
        let app = app_with_group(backend).await;

        let ld = get(&app, "/groups/repair_cafe", Some(LD_JSON)).await;
        assert_eq!(ld.status, StatusCode::OK);
        assert_eq!(ld.content_type, LD_JSON);
        assert_eq!(ld.json()["type"], "Group");

        let browser = get(
            &app,
            "/groups/repair_cafe",
            Some("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
        )
        .await;
        assert_eq!(browser.status, StatusCode::OK);
        assert!(browser.content_type.starts_with("text/html"));
        // The title is escaped, the handle and how to follow from Mastodon are shown.
        assert!(
            browser.body.contains("Repair Café &lt;Lyon&gt;"),
            "{}",
            browser.body
        );
        assert!(browser.body.contains("@repair_cafe@kindred.test:8080"));
        assert!(browser.body.contains("Mastodon"));
        assert!(!browser.body.contains("<script>alert"));

        let curl = get(&app, "/groups/repair_cafe", Some("*/*")).await;
        assert!(curl.content_type.starts_with("text/html"));

        for accept in [Some(ACTIVITY_JSON), Some("text/html"), None] {
            let missing = get(&app, "/groups/nobody", accept).await;
            assert_eq!(missing.status, StatusCode::NOT_FOUND, "{accept:?}");
            // A plain reason for ActivityPub clients, an error page for browsers.
            assert!(missing.body.contains("group not found"), "{}", missing.body);
        }
    })
    .await;
}

#[tokio::test]
async fn collections_answer_at_the_urls_the_actor_names() {
    testing::for_each_backend(async |backend| {
        let app = app_with_group(backend).await;
        let outbox = get(&app, "/groups/repair_cafe/outbox", Some(ACTIVITY_JSON)).await;
        assert_eq!(outbox.status, StatusCode::OK);
        let outbox = outbox.json();
        assert_eq!(outbox["type"], "OrderedCollection");
        assert_eq!(outbox["totalItems"], 0);
        let first_page = get(
            &app,
            "/groups/repair_cafe/outbox?page=1",
            Some(ACTIVITY_JSON),
        )
        .await
        .json();
        assert_eq!(first_page["type"], "OrderedCollectionPage");
        assert_eq!(first_page["orderedItems"], serde_json::json!([]));
        let zero = get(
            &app,
            "/groups/repair_cafe/outbox?page=0",
            Some(ACTIVITY_JSON),
        )
        .await;
        assert_eq!(zero.status, StatusCode::BAD_REQUEST);

        let followers = get(&app, "/groups/repair_cafe/followers", Some(ACTIVITY_JSON))
            .await
            .json();
        assert_eq!(followers["totalItems"], 0);
        assert!(followers.get("orderedItems").is_none());
        for path in ["moderators", "featured"] {
            let collection = get(&app, &format!("/groups/repair_cafe/{path}"), None).await;
            assert_eq!(collection.status, StatusCode::OK);
            assert_eq!(collection.json()["type"], "OrderedCollection");
        }
        let missing = get(&app, "/groups/nobody/outbox", Some(ACTIVITY_JSON)).await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test]
async fn nodeinfo_reports_real_counts() {
    testing::for_each_backend(async |backend| {
        let app = app_with_group(backend).await;
        let database = &app.database;
        let links = get(&app, "/.well-known/nodeinfo", None).await.json();
        assert_eq!(
            links["links"][0]["href"],
            "http://kindred.test:8080/nodeinfo/2.1"
        );

        let before = get(&app, "/nodeinfo/2.1", None).await.json();
        assert_eq!(before["usage"]["users"]["total"], 0);
        assert_eq!(before["usage"]["localPosts"], 0);
        assert_eq!(before["metadata"]["localGroups"], 1);

        // One local person who posted today, one who never posted, one remote post.
        let now = Utc::now();
        let group = directory::find_local_group(&database.connection, "repair_cafe")
            .await
            .unwrap();
        let mut people = Vec::new();
        for (index, name) in ["ada", "grace"].iter().enumerate() {
            let person = actor::ActiveModel {
                ap_id: Set(format!("{PUBLIC_URL}/users/{name}")),
                kind: Set(ActorKind::Person),
                local: Set(true),
                local_name: Set(Some(name.to_string())),
                preferred_username: Set(name.to_string()),
                inbox_url: Set(format!("{PUBLIC_URL}/users/{name}/inbox")),
                public_key_pem: Set(testing::test_keypairs()[index].public_key.clone()),
                manually_approves_followers: Set(false),
                posting_restricted_to_mods: Set(false),
                discoverable: Set(true),
                last_refreshed_at: Set(now),
                created_at: Set(now),
                ..Default::default()
            }
            .insert(&database.connection)
            .await
            .unwrap();
            people.push(person);
        }
        for (index, local) in [true, false].into_iter().enumerate() {
            post::ActiveModel {
                ap_id: Set(format!("{PUBLIC_URL}/posts/{index}")),
                group_id: Set(group.id),
                author_id: Set(people[0].id),
                kind: Set("Page".to_string()),
                title: Set(Some("Fixing a toaster".to_string())),
                content_html: Set("<p>Steps</p>".to_string()),
                sensitive: Set(false),
                local: Set(local),
                published_at: Set(now),
                like_count: Set(0),
                dislike_count: Set(0),
                reply_count: Set(0),
                last_activity_at: Set(now),
                created_at: Set(now),
                ..Default::default()
            }
            .insert(&database.connection)
            .await
            .unwrap();
        }

        // The figures are kept ten minutes: until then the first count stands.
        let cached = get(&app, "/nodeinfo/2.1", None).await.json();
        assert_eq!(cached["usage"]["localPosts"], 0);
        app.context().usage_statistics.invalidate();
        for version in ["2.1", "2.0"] {
            let response = get(&app, &format!("/nodeinfo/{version}"), None).await;
            assert_eq!(response.status, StatusCode::OK);
            assert!(
                response
                    .content_type
                    .contains(&format!("schema/{version}#"))
            );
            let nodeinfo = response.json();
            assert_eq!(nodeinfo["version"], version);
            assert_eq!(nodeinfo["software"]["name"], "kindred");
            assert_eq!(nodeinfo["protocols"], serde_json::json!(["activitypub"]));
            assert_eq!(nodeinfo["openRegistrations"], false);
            assert_eq!(nodeinfo["usage"]["users"]["total"], 2);
            assert_eq!(nodeinfo["usage"]["users"]["activeMonth"], 1);
            assert_eq!(nodeinfo["usage"]["users"]["activeHalfyear"], 1);
            assert_eq!(nodeinfo["usage"]["localPosts"], 1);
        }
    })
    .await;
}

#[tokio::test]
async fn host_meta_health_instance_actor_and_unknown_paths() {
    testing::for_each_backend(async |backend| {
        let app = app_with_group(backend).await;
        let host_meta = get(&app, "/.well-known/host-meta", None).await;
        assert_eq!(host_meta.status, StatusCode::OK);
        assert!(host_meta.content_type.starts_with("application/xrd+xml"));
        assert!(
            host_meta
                .body
                .contains("http://kindred.test:8080/.well-known/webfinger?resource={uri}")
        );

        let health = get(&app, "/healthz", None).await;
        assert_eq!(
            (health.status, health.body.as_str()),
            (StatusCode::OK, "ok")
        );

        let instance_actor = get(&app, "/actor", Some(ACTIVITY_JSON)).await;
        assert_eq!(instance_actor.status, StatusCode::OK);
        let instance_actor = instance_actor.json();
        assert_eq!(instance_actor["type"], "Application");
        assert_eq!(instance_actor["id"], "http://kindred.test:8080/actor");
        assert_eq!(
            instance_actor["publicKey"]["owner"],
            "http://kindred.test:8080/actor"
        );

        let home = get(&app, "/", Some("text/html")).await;
        assert_eq!(home.status, StatusCode::OK);
        assert!(home.body.contains("Repair Café &lt;Lyon&gt;"));

        for path in [
            "/nothing",
            "/groups/",
            "/groups/repair_cafe/nothing",
            "/.well-known/other",
        ] {
            let response = get(&app, path, None).await;
            assert_eq!(response.status, StatusCode::NOT_FOUND, "{path}");
            assert!(response.content_type.starts_with("text/plain"), "{path}");
        }
    })
    .await;
}

async fn send(
    router: &Router,
    request: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8_lossy(&bytes).to_string())
}

fn inbox_post(body: String) -> Request<Body> {
    Request::builder()
        .method("POST")
        .uri("/inbox")
        .header(header::HOST, DOMAIN)
        .header(header::CONTENT_TYPE, "application/activity+json")
        .body(Body::from(body))
        .unwrap()
}

#[tokio::test]
async fn hostile_strings_get_a_4xx_and_change_nothing() {
    testing::for_each_backend(async |backend| {
        let app = app_with_group(backend).await;
        let router = &app.router;
        // A NUL character: in inbound JSON, in a form, in a path.
        let follow = r#"{"id":"https://evil.example/a","type":"Follow","actor":"https://evil.example/u\u0000","object":"http://kindred.test:8080/groups/repair_cafe"}"#;
        let (status, _, body) = send(router, inbox_post(follow.to_string())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(body.contains("NUL"), "{body}");
        let form = Request::builder()
            .method("POST")
            .uri("/login")
            .header(header::HOST, DOMAIN)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from("name=ann%00&password=x&csrf=y"))
            .unwrap();
        assert_eq!(send(router, form).await.0, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            get(&app, "/groups/repair%00cafe", None).await.status,
            StatusCode::UNPROCESSABLE_ENTITY
        );
        // An escaped backslash before `u0000` is text, not a NUL.
        let text = r#"{"id":"https://evil.example/a","type":"Follow","actor":"https://evil.example/u\\u0000","object":"x"}"#;
        assert_eq!(
            send(router, inbox_post(text.to_string())).await.0,
            StatusCode::UNAUTHORIZED,
            "reaches the signature check"
        );

        // Forty thousand addresses: refused before any lookup.
        let addresses: Vec<String> = (0..40_000).map(|n| format!("https://e.x/{n}")).collect();
        let crowded = serde_json::json!({
            "id": "https://e.x/activity",
            "type": "Create",
            "actor": "https://e.x/u",
            "cc": addresses,
            "object": { "id": "https://e.x/n", "type": "Note" },
        });
        let (status, _, body) = send(router, inbox_post(crowded.to_string())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body.contains("addresses"), "{body}");
    })
    .await;
}

#[tokio::test]
async fn each_client_address_has_an_allowance_and_hears_when_to_come_back() {
    let app = TestApp::on(Backend::Sqlite)
        .configured(|config| {
            config.http.reads_per_minute_per_address = 3;
            config.http.anonymous_posts_per_minute_per_address = 2;
        })
        .start()
        .await;
    let router = &app.router;
    let from = |address: &str, method: &str, path: &str| {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, DOMAIN)
            .header(header::ACCEPT, "text/html")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from("name=a&password=b&csrf=c"))
            .unwrap();
        request.extensions_mut().insert(axum::extract::ConnectInfo(
            format!("{address}:40000")
                .parse::<std::net::SocketAddr>()
                .unwrap(),
        ));
        request
    };
    for _ in 0..3 {
        assert_eq!(
            send(router, from("192.0.2.1", "GET", "/")).await.0,
            StatusCode::OK
        );
    }
    let (status, headers, body) = send(router, from("192.0.2.1", "GET", "/")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(headers.contains_key(header::RETRY_AFTER), "{headers:?}");
    assert!(
        body.contains("<html") || body.contains("<!DOCTYPE"),
        "a page for a browser: {body}"
    );
    assert_eq!(
        send(router, from("192.0.2.2", "GET", "/")).await.0,
        StatusCode::OK
    );
    // Servers reading ActivityPub documents are not counted as page views.
    let mut actor = from("192.0.2.1", "GET", "/groups/none");
    actor
        .headers_mut()
        .insert(header::ACCEPT, "application/activity+json".parse().unwrap());
    assert_eq!(send(router, actor).await.0, StatusCode::NOT_FOUND);
    // Sign-in attempts by someone not signed in have their own, smaller allowance.
    for _ in 0..2 {
        assert_ne!(
            send(router, from("192.0.2.3", "POST", "/login")).await.0,
            StatusCode::TOO_MANY_REQUESTS
        );
    }
    let (status, headers, _) = send(router, from("192.0.2.3", "POST", "/login")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(headers.contains_key(header::RETRY_AFTER));
}

#[tokio::test]
async fn the_outbox_pages_by_keyset_and_counts_with_a_counter() {
    testing::for_each_backend(async |backend| {
        let app = TestApp::on(backend)
            .with_user("ann")
            .with_group("repair", "ann")
            .start()
            .await;
        let context = app.context();
        for number in 0..45 {
            crate::actions::posts::start_thread(
                &context,
                &app.person("ann").actor,
                app.group("repair"),
                crate::groups::posts::Draft {
                    title: Some(format!("Thread {number}")),
                    markdown: "Body".into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        }
        let collection = get(&app, "/groups/repair/outbox", Some(ACTIVITY_JSON))
            .await
            .json();
        let total = collection["totalItems"].as_u64().unwrap();
        assert!(total >= 45, "{collection}");
        assert!(
            collection.get("last").is_none(),
            "no link that costs a count"
        );
        // Following `next` from the first page reaches every activity once, newest first.
        let mut seen: Vec<String> = Vec::new();
        let mut page = collection["first"].as_str().unwrap().to_string();
        loop {
            let path = page.split_once("8080").unwrap().1.to_string();
            let document = get(&app, &path, Some(ACTIVITY_JSON)).await.json();
            assert_eq!(document["totalItems"], total);
            seen.extend(
                document["orderedItems"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|item| item["id"].as_str().unwrap().to_string()),
            );
            match document["next"].as_str() {
                Some(next) => {
                    assert!(next.contains("before="), "{next}");
                    page = next.to_string();
                }
                None => break,
            }
        }
        assert_eq!(seen.len() as u64, total);
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), seen.len(), "each activity once");
        // The stored counter is the number of rows.
        let counted = kindred_entities::activity::Entity::find()
            .filter(kindred_entities::activity::Column::ActorId.eq(app.group("repair").id))
            .filter(kindred_entities::activity::Column::InOutbox.eq(true))
            .count(&app.database.connection)
            .await
            .unwrap();
        assert_eq!(counted, total);
        // Kept in several rows (one per transaction in turn), summed when read.
        let counter_rows = kindred_entities::outbox_total::Entity::find()
            .filter(kindred_entities::outbox_total::Column::ActorId.eq(app.group("repair").id))
            .count(&app.database.connection)
            .await
            .unwrap();
        assert!(counter_rows > 1, "{counter_rows} rows");
        // Numbered pages still answer (links from before), and a bad page is 400.
        let second = get(&app, "/groups/repair/outbox?page=2", Some(ACTIVITY_JSON))
            .await
            .json();
        assert_eq!(second["orderedItems"][0]["id"], seen[20].as_str());
        assert_eq!(
            get(&app, "/groups/repair/outbox?page=nope", Some(ACTIVITY_JSON))
                .await
                .status,
            StatusCode::BAD_REQUEST
        );
    })
    .await;
}
