//! API tests through the router: every endpoint, the permission matrix (anonymous, member,
//! other user, administrator, author) and bad input, and the OpenAPI document against the
//! routes.

use crate::{
    accounts::users::{self, NewUser},
    app,
    config::{GroupCreation, RegistrationMode},
    testing,
};
use axum::{
    Router,
    body::Body,
    http::{Method, Request, StatusCode, header},
};
use http_body_util::BodyExt;
use kindred_entities::user::UserState;
use serde_json::{Value, json};
use tower::ServiceExt;

const PUBLIC_URL: &str = "http://kindred.test:8080";

struct Answer {
    status: StatusCode,
    json: Value,
}

async fn call(
    router: &Router,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Answer {
    let mut request = Request::builder()
        .method(method)
        .uri(format!("/api/v1{path}"))
        .header(header::HOST, "kindred.test:8080");
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let body = match body {
        Some(body) => {
            request = request.header(header::CONTENT_TYPE, "application/json");
            Body::from(body.to_string())
        }
        None => Body::empty(),
    };
    let response = router
        .clone()
        .oneshot(request.body(body).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let json = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("{path}: not JSON: {}", String::from_utf8_lossy(&bytes)))
    };
    Answer { status, json }
}

async fn raw(router: &Router, path: &str, token: &str, content_type: &str, body: &str) -> Answer {
    let response = router
        .clone()
        .oneshot(
            Request::builder()
                .method(Method::POST)
                .uri(format!("/api/v1{path}"))
                .header(header::CONTENT_TYPE, content_type)
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        json: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

async fn router_with(
    database: &testing::TestDatabase,
    registration: RegistrationMode,
    group_creation: GroupCreation,
) -> Router {
    let mut config = testing::test_config(PUBLIC_URL).unwrap();
    config.instance.registration = registration;
    config.instance.group_creation = group_creation;
    let federation = testing::test_federation(config, database).await.unwrap();
    app::router(&federation)
}

/// Creates an account directly and signs it in through the API.
async fn account(
    router: &Router,
    database: &testing::TestDatabase,
    name: &str,
    admin: bool,
) -> String {
    let config = testing::test_config(PUBLIC_URL).unwrap();
    users::create_user(
        &database.connection,
        &config,
        &testing::test_key_source(),
        NewUser {
            name,
            password: "a long password",
            email: None,
            application_text: None,
        },
        UserState::Active,
        admin,
    )
    .await
    .unwrap();
    let answer = call(
        router,
        Method::POST,
        "/auth/token",
        None,
        Some(json!({ "name": name, "password": "a long password", "label": "tests" })),
    )
    .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.json);
    answer.json["token"].as_str().unwrap().to_string()
}

fn assert_error(answer: &Answer, status: StatusCode, code: &str) {
    assert_eq!(answer.status, status, "{}", answer.json);
    assert_eq!(answer.json["error"]["code"], code, "{}", answer.json);
    assert!(answer.json["error"]["message"].as_str().is_some());
}

#[tokio::test]
async fn tokens_accounts_and_the_signed_in_user() {
    testing::for_each_database(async |database| {
        let router = router_with(database, RegistrationMode::Open, GroupCreation::Anyone).await;
        assert_error(
            &call(&router, Method::GET, "/me", None, None).await,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        );
        assert_error(
            &call(&router, Method::GET, "/me", Some("forged"), None).await,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        );
        let wrong = call(
            &router,
            Method::POST,
            "/auth/token",
            None,
            Some(json!({ "name": "nobody", "password": "whatever it is" })),
        )
        .await;
        assert_error(&wrong, StatusCode::UNAUTHORIZED, "unauthorized");

        let registered = call(
            &router,
            Method::POST,
            "/accounts",
            None,
            Some(json!({ "name": "dee", "password": "a long password" })),
        )
        .await;
        assert_eq!(
            registered.status,
            StatusCode::CREATED,
            "{}",
            registered.json
        );
        assert_eq!(registered.json["state"], "active");
        assert_eq!(registered.json["user"]["handle"], "@dee@kindred.test:8080");
        assert_error(
            &call(
                &router,
                Method::POST,
                "/accounts",
                None,
                Some(json!({ "name": "dee", "password": "a long password" })),
            )
            .await,
            StatusCode::CONFLICT,
            "conflict",
        );
        assert_error(
            &call(
                &router,
                Method::POST,
                "/accounts",
                None,
                Some(json!({ "name": "Bad Name", "password": "a long password" })),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        );
        assert_error(
            &call(
                &router,
                Method::POST,
                "/accounts",
                None,
                Some(json!({ "name": "eve", "password": "short" })),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        );
        assert_error(
            &call(
                &router,
                Method::POST,
                "/accounts",
                None,
                Some(json!({ "name": "eve" })),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        );

        let token = account(&router, database, "ann", false).await;
        let other_token = account(&router, database, "bob", false).await;
        let second = call(
            &router,
            Method::POST,
            "/auth/token",
            None,
            Some(json!({ "name": "ann", "password": "a long password", "label": "phone" })),
        )
        .await;
        let second_token = second.json["token"].as_str().unwrap().to_string();
        let tokens = call(&router, Method::GET, "/auth/tokens", Some(&token), None).await;
        assert_eq!(tokens.json.as_array().unwrap().len(), 2, "{}", tokens.json);
        assert_eq!(tokens.json[0]["label"], "phone");
        assert_eq!(tokens.json[0]["current"], false);
        assert_eq!(tokens.json[1]["current"], true);
        assert!(
            tokens.json[0].get("token").is_none(),
            "secrets are never listed"
        );
        let phone_id = tokens.json[0]["id"].as_i64().unwrap();
        // Bob cannot revoke ann's token.
        assert_error(
            &call(
                &router,
                Method::DELETE,
                &format!("/auth/tokens/{phone_id}"),
                Some(&other_token),
                None,
            )
            .await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
        assert_eq!(
            call(
                &router,
                Method::DELETE,
                &format!("/auth/tokens/{phone_id}"),
                Some(&token),
                None
            )
            .await
            .status,
            StatusCode::NO_CONTENT
        );
        assert_error(
            &call(&router, Method::GET, "/me", Some(&second_token), None).await,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        );
        let me = call(&router, Method::GET, "/me", Some(&token), None).await;
        assert_eq!(me.status, StatusCode::OK);
        assert_eq!(me.json["name"], "ann");
        assert_eq!(me.json["url"], format!("{PUBLIC_URL}/users/ann"));
        let revoked = call(&router, Method::DELETE, "/auth/token", Some(&token), None).await;
        assert_eq!(revoked.status, StatusCode::NO_CONTENT);
        assert_error(
            &call(&router, Method::GET, "/me", Some(&token), None).await,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        );

        let closed = router_with(database, RegistrationMode::Closed, GroupCreation::Anyone).await;
        assert_error(
            &call(
                &closed,
                Method::POST,
                "/accounts",
                None,
                Some(json!({ "name": "fay", "password": "a long password" })),
            )
            .await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
    })
    .await;
}

#[tokio::test]
async fn the_permission_matrix_of_groups_threads_replies_votes_edits_and_deletes() {
    testing::for_each_database(async |database| {
        let router = router_with(database, RegistrationMode::Open, GroupCreation::Anyone).await;
        let admin = account(&router, database, "ada", true).await;
        let ann = account(&router, database, "ann", false).await;
        let bob = account(&router, database, "bob", false).await;
        let cid = account(&router, database, "cid", false).await;
        let new_group = json!({ "name": "repair", "title": "Repair café", "summary": "We *fix*" });

        // Creating a group.
        assert_error(
            &call(
                &router,
                Method::POST,
                "/groups",
                None,
                Some(new_group.clone()),
            )
            .await,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        );
        let created = call(
            &router,
            Method::POST,
            "/groups",
            Some(&ann),
            Some(new_group.clone()),
        )
        .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.json);
        assert_eq!(created.json["membership"], "accepted");
        assert_eq!(created.json["summary_html"], "<p>We <em>fix</em></p>\n");
        assert_error(
            &call(
                &router,
                Method::POST,
                "/groups",
                Some(&bob),
                Some(new_group),
            )
            .await,
            StatusCode::CONFLICT,
            "conflict",
        );
        assert_error(
            &call(
                &router,
                Method::POST,
                "/groups",
                Some(&bob),
                Some(json!({ "name": "x", "title": "t".repeat(201) })),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        );
        assert_error(
            &raw(&router, "/groups", &bob, "application/json", "{not json").await,
            StatusCode::BAD_REQUEST,
            "bad_request",
        );
        assert_error(
            &raw(&router, "/groups", &bob, "text/plain", "{}").await,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        );

        // Reading is open to everyone.
        let listed = call(&router, Method::GET, "/groups?q=FIX", None, None).await;
        assert_eq!(listed.json.as_array().unwrap().len(), 1);
        assert_eq!(listed.json[0]["membership"], Value::Null);
        let seen_by_ann = call(&router, Method::GET, "/groups/repair", Some(&ann), None).await;
        assert_eq!(seen_by_ann.json["member_count"], 1);
        assert_error(
            &call(&router, Method::GET, "/groups/nothing", None, None).await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
        assert_error(
            &call(&router, Method::GET, "/no/such/endpoint", None, None).await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
        assert_error(
            &call(&router, Method::GET, "/groups/repair/threads?sort=bogus", None, None).await,
            StatusCode::BAD_REQUEST,
            "bad_request",
        );
        assert_error(
            &call(&router, Method::PUT, "/groups", Some(&bob), None).await,
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        );

        // Starting a thread: members only.
        let thread =
            json!({ "title": "Kettle clicks", "body": "No heat. <img src=x onerror=alert(1)>" });
        assert_error(
            &call(
                &router,
                Method::POST,
                "/groups/repair/threads",
                None,
                Some(thread.clone()),
            )
            .await,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        );
        assert_error(
            &call(
                &router,
                Method::POST,
                "/groups/repair/threads",
                Some(&cid),
                Some(thread.clone()),
            )
            .await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
        assert_error(
            &call(
                &router,
                Method::POST,
                "/groups/repair/threads",
                Some(&admin),
                Some(thread.clone()),
            )
            .await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
        assert_error(
            &call(
                &router,
                Method::POST,
                "/groups/nothing/threads",
                Some(&ann),
                Some(thread.clone()),
            )
            .await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
        assert_error(
            &call(
                &router,
                Method::POST,
                "/groups/repair/threads",
                Some(&ann),
                Some(json!({ "title": "", "body": "x" })),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        );
        let started = call(
            &router,
            Method::POST,
            "/groups/repair/threads",
            Some(&ann),
            Some(thread),
        )
        .await;
        assert_eq!(started.status, StatusCode::CREATED, "{}", started.json);
        let thread_id = started.json["id"].as_i64().unwrap();
        assert_eq!(
            started.json["url"],
            format!("{PUBLIC_URL}/posts/{thread_id}")
        );
        assert!(
            !started.json["content_html"]
                .as_str()
                .unwrap()
                .contains("onerror")
        );
        assert_eq!(started.json["author"]["name"], "ann");

        // Replying: bob joins first; cid is not a member.
        let joined = call(
            &router,
            Method::POST,
            "/groups/repair/membership",
            Some(&bob),
            None,
        )
        .await;
        assert_eq!(joined.json["membership"], "accepted");
        let replies = format!("/posts/{thread_id}/replies");
        assert_error(
            &call(
                &router,
                Method::POST,
                &replies,
                Some(&cid),
                Some(json!({ "body": "hi" })),
            )
            .await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
        assert_error(
            &call(
                &router,
                Method::POST,
                &replies,
                Some(&bob),
                Some(json!({ "body": "  " })),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        );
        assert_error(
            &call(
                &router,
                Method::POST,
                "/posts/abc/replies",
                Some(&bob),
                Some(json!({ "body": "hi" })),
            )
            .await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
        let reply = call(
            &router,
            Method::POST,
            &replies,
            Some(&bob),
            Some(json!({ "body": "Descale it" })),
        )
        .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.json);
        let reply_id = reply.json["id"].as_i64().unwrap();

        // Ann hears of bob's reply.
        assert_error(&call(&router, Method::GET, "/notifications", None, None).await, StatusCode::UNAUTHORIZED, "unauthorized");
        let heard = call(&router, Method::GET, "/notifications", Some(&ann), None).await;
        assert_eq!(heard.json.as_array().unwrap().len(), 1, "{}", heard.json);
        assert_eq!(heard.json[0]["kind"], "reply");
        assert_eq!(heard.json[0]["read"], false);
        assert_eq!(heard.json[0]["post"]["id"], reply_id);
        assert_eq!(call(&router, Method::POST, "/notifications/read", Some(&ann), None).await.status, StatusCode::NO_CONTENT);
        assert_eq!(call(&router, Method::GET, "/notifications", Some(&ann), None).await.json[0]["read"], true);
        assert!(call(&router, Method::GET, "/notifications", Some(&bob), None).await.json.as_array().unwrap().is_empty());

        // Editing the group: its owner or an administrator.
        let group_edit = json!({ "title": "Repair café Lyon", "summary": "Saturdays", "icon_url": "https://images.example/i.png" });
        assert_error(&call(&router, Method::PATCH, "/groups/repair", None, Some(group_edit.clone())).await, StatusCode::UNAUTHORIZED, "unauthorized");
        assert_error(&call(&router, Method::PATCH, "/groups/repair", Some(&bob), Some(group_edit.clone())).await, StatusCode::FORBIDDEN, "forbidden");
        assert_error(&call(&router, Method::PATCH, "/groups/repair", Some(&cid), Some(group_edit.clone())).await, StatusCode::FORBIDDEN, "forbidden");
        assert_error(
            &call(&router, Method::PATCH, "/groups/repair", Some(&ann), Some(json!({ "title": "x", "icon_url": "ftp://x" }))).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        );
        let edited_group = call(&router, Method::PATCH, "/groups/repair", Some(&ann), Some(group_edit)).await;
        assert_eq!(edited_group.status, StatusCode::OK, "{}", edited_group.json);
        assert_eq!(edited_group.json["title"], "Repair café Lyon");
        let by_admin = call(&router, Method::PATCH, "/groups/repair", Some(&admin), Some(json!({ "title": "Repair café" }))).await;
        assert_eq!(by_admin.status, StatusCode::OK, "{}", by_admin.json);
        assert_eq!(by_admin.json["summary_html"], "<p>Saturdays</p>\n", "left out, kept");

        // Votes: any signed-in person, values -1..1.
        let vote = format!("/posts/{thread_id}/vote");
        assert_error(
            &call(
                &router,
                Method::PUT,
                &vote,
                None,
                Some(json!({ "value": 1 })),
            )
            .await,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        );
        assert_error(
            &call(
                &router,
                Method::PUT,
                &vote,
                Some(&cid),
                Some(json!({ "value": 5 })),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        );
        let voted = call(
            &router,
            Method::PUT,
            &vote,
            Some(&cid),
            Some(json!({ "value": 1 })),
        )
        .await;
        assert_eq!(
            voted.json,
            json!({ "likes": 1, "dislikes": 0, "my_vote": 1 })
        );
        call(
            &router,
            Method::PUT,
            &vote,
            Some(&bob),
            Some(json!({ "value": -1 })),
        )
        .await;
        let whole = call(
            &router,
            Method::GET,
            &format!("/posts/{reply_id}"),
            Some(&cid),
            None,
        )
        .await;
        assert_eq!(whole.status, StatusCode::OK);
        assert_eq!(whole.json["thread"]["id"], thread_id);
        assert_eq!(whole.json["thread"]["likes"], 1);
        assert_eq!(whole.json["thread"]["dislikes"], 1);
        assert_eq!(whole.json["thread"]["my_vote"], 1);
        assert_eq!(whole.json["thread"]["reply_count"], 1);
        assert_eq!(whole.json["replies"][0]["parent_id"], thread_id);
        let top = call(
            &router,
            Method::GET,
            "/groups/repair/threads?sort=top",
            None,
            None,
        )
        .await;
        assert_eq!(top.json[0]["id"], thread_id);

        // Editing and deleting: the author only (not another member, not an administrator).
        let post_path = format!("/posts/{thread_id}");
        let edit = json!({ "body": "No heat at all." });
        for (token, who) in [(&bob, "member"), (&cid, "other user"), (&admin, "admin")] {
            let refused = call(
                &router,
                Method::PATCH,
                &post_path,
                Some(token),
                Some(edit.clone()),
            )
            .await;
            assert_error(&refused, StatusCode::FORBIDDEN, "forbidden");
            let refused = call(&router, Method::DELETE, &post_path, Some(token), None).await;
            assert_eq!(refused.status, StatusCode::FORBIDDEN, "{who}");
        }
        assert_error(
            &call(&router, Method::PATCH, &post_path, None, Some(edit.clone())).await,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        );
        let edited = call(&router, Method::PATCH, &post_path, Some(&ann), Some(edit)).await;
        assert_eq!(edited.status, StatusCode::OK, "{}", edited.json);
        assert_eq!(edited.json["title"], "Kettle clicks", "the title stays");
        assert_eq!(edited.json["content_markdown"], "No heat at all.");
        assert!(edited.json["updated"].is_string());
        let deleted = call(&router, Method::DELETE, &post_path, Some(&ann), None).await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT);
        assert_error(
            &call(&router, Method::DELETE, &post_path, Some(&ann), None).await,
            StatusCode::GONE,
            "gone",
        );
        assert_error(
            &call(
                &router,
                Method::PUT,
                &vote,
                Some(&cid),
                Some(json!({ "value": -1 })),
            )
            .await,
            StatusCode::GONE,
            "gone",
        );

        // Leaving.
        assert_eq!(
            call(
                &router,
                Method::DELETE,
                "/groups/repair/membership",
                Some(&bob),
                None
            )
            .await
            .status,
            StatusCode::NO_CONTENT
        );
        assert_error(
            &call(
                &router,
                Method::DELETE,
                "/groups/repair/membership",
                Some(&bob),
                None,
            )
            .await,
            StatusCode::NOT_FOUND,
            "not_found",
        );

        // When only administrators create groups.
        let admins_only =
            router_with(database, RegistrationMode::Open, GroupCreation::Admins).await;
        let group = json!({ "name": "study", "title": "Study" });
        assert_error(
            &call(
                &admins_only,
                Method::POST,
                "/groups",
                Some(&cid),
                Some(group.clone()),
            )
            .await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
        assert_eq!(
            call(
                &admins_only,
                Method::POST,
                "/groups",
                Some(&admin),
                Some(group)
            )
            .await
            .status,
            StatusCode::CREATED
        );
    })
    .await;
}

#[tokio::test]
async fn every_documented_operation_is_routed() {
    testing::for_each_database(async |database| {
        let router = router_with(database, RegistrationMode::Open, GroupCreation::Anyone).await;
        let document = call(&router, Method::GET, "/openapi.json", None, None).await;
        assert_eq!(document.status, StatusCode::OK);
        assert_eq!(document.json["openapi"], "3.1.0");
        let paths = document.json["paths"].as_object().unwrap();
        assert!(paths.len() >= 10);
        for (path, operations) in paths {
            let concrete = path.replace("{name}", "nothing").replace("{id}", "999999");
            for method in operations.as_object().unwrap().keys() {
                let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                let answer = call(&router, method.clone(), &concrete, None, Some(json!({}))).await;
                assert_ne!(
                    answer.status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path}"
                );
                assert_ne!(
                    answer.json["error"]["message"], "API endpoint not found",
                    "{method} {path} is documented but not routed"
                );
            }
        }
    })
    .await;
}

#[tokio::test]
async fn every_route_is_documented() {
    // Routes come only from `routes!` over annotated handlers, so the document lists what the
    // router mounts; this checks that no handler is left out of the list, that every operation
    // is fully described, and that the document is served as built, with this server's URL.
    let (_, document) = super::router_and_document();
    let document = serde_json::to_value(&document).unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    let paths = document["paths"].as_object().unwrap();
    let mut operation_ids = Vec::new();
    for (path, operations) in paths {
        for (method, operation) in operations.as_object().unwrap() {
            let id = operation["operationId"].as_str();
            assert!(
                id.is_some_and(|id| !id.is_empty()),
                "{method} {path}: operationId"
            );
            operation_ids.push(id.unwrap().to_string());
            assert!(
                operation["summary"]
                    .as_str()
                    .is_some_and(|summary| !summary.is_empty() && !summary.contains('\n')),
                "{method} {path}: summary"
            );
            let responses = operation["responses"].as_object().unwrap();
            assert!(!responses.is_empty(), "{method} {path}: responses");
            for (status, response) in responses {
                assert!(status.parse::<u16>().is_ok(), "{method} {path}: {status}");
                assert!(
                    response["description"]
                        .as_str()
                        .is_some_and(|d| !d.is_empty()),
                    "{method} {path}: {status} needs a description"
                );
            }
            // The path's parameters are the ones in the path, each with a schema.
            let mut documented: Vec<&str> = operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|parameter| parameter["in"] == "path")
                .inspect(|parameter| assert!(parameter["schema"].is_object()))
                .map(|parameter| parameter["name"].as_str().unwrap())
                .collect();
            let mut in_path: Vec<&str> = path
                .split('/')
                .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
                .collect();
            documented.sort_unstable();
            in_path.sort_unstable();
            assert_eq!(documented, in_path, "{method} {path}: path parameters");
        }
    }
    operation_ids.sort();
    let mut expected = vec![
        "appointModerator",
        "approvalQueue",
        "closeReport",
        "createBan",
        "createGroup",
        "createThread",
        "createToken",
        "decideJoinRequest",
        "deletePost",
        "dismissModerator",
        "editGroup",
        "editPost",
        "getGroup",
        "getThread",
        "joinGroup",
        "leaveGroup",
        "liftBan",
        "listBans",
        "listGroups",
        "listJoinRequests",
        "listModerators",
        "listNotifications",
        "listReports",
        "listThreads",
        "listTokens",
        "me",
        "moderatePost",
        "moderationLog",
        "openapi",
        "readNotifications",
        "register",
        "removeGroup",
        "removeUser",
        "reply",
        "reportPost",
        "revokeToken",
        "revokeTokenById",
        "vote",
    ];
    expected.sort_unstable();
    assert_eq!(operation_ids, expected);

    // Every `$ref` names a schema the document has.
    fn references(value: &Value, found: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, value) in map {
                    match (key.as_str(), value) {
                        ("$ref", Value::String(target)) => found.push(target.clone()),
                        _ => references(value, found),
                    }
                }
            }
            Value::Array(values) => values.iter().for_each(|value| references(value, found)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    references(&document, &mut found);
    assert!(found.len() > 50);
    let schemas = document["components"]["schemas"].as_object().unwrap();
    for target in &found {
        let name = target.strip_prefix("#/components/schemas/");
        assert!(
            name.is_some_and(|name| schemas.contains_key(name)),
            "{target} does not resolve"
        );
    }

    // The error codes: the ones `Error` and the rejections produce, all documented.
    use crate::error::Error;
    let documented: Vec<&str> = document["components"]["schemas"]["Error"]["properties"]["error"]
        ["properties"]["code"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|code| code.as_str().unwrap())
        .collect();
    assert_eq!(documented, super::auth::ERROR_CODES);
    for error in [
        Error::not_found("thing"),
        Error::Gone("thing".into()),
        Error::bad_request("why"),
        Error::invalid("why"),
        Error::Unauthorized("why".into()),
        Error::Forbidden("why".into()),
        Error::Conflict("why".into()),
        Error::TooManyRequests(std::time::Duration::from_secs(1)),
        Error::PayloadTooLarge,
        Error::RequestTimeout,
        Error::internal("why"),
    ] {
        assert!(documented.contains(&error.code()), "{error}");
    }

    // The words documented for path segments and queries the handlers parse themselves.
    use crate::{
        actions::moderation::{JoinDecision, PostModeration, ReportClosing},
        groups::posts::ThreadOrder,
    };
    type Parses = fn(&str) -> bool;
    let parsers: [(&str, &str, Parses); 4] = [
        ("decideJoinRequest", "decision", |word| {
            JoinDecision::from_path(word).is_ok()
        }),
        ("closeReport", "decision", |word| {
            ReportClosing::from_path(word).is_ok()
        }),
        ("moderatePost", "action", |word| {
            PostModeration::from_path(word).is_ok()
        }),
        ("listThreads", "sort", |word| {
            serde_json::from_value::<ThreadOrder>(json!(word)).is_ok()
        }),
    ];
    for (operation_id, name, parses) in parsers {
        let operation = paths
            .values()
            .flat_map(|operations| operations.as_object().unwrap().values())
            .find(|operation| operation["operationId"] == operation_id)
            .unwrap();
        let parameter = operation["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|parameter| parameter["name"] == name)
            .unwrap();
        let words = parameter["schema"]["enum"].as_array().unwrap();
        assert!(!words.is_empty());
        for word in words {
            assert!(parses(word.as_str().unwrap()), "{operation_id}: {word}");
        }
    }

    testing::for_each_database(async |database| {
        let router = router_with(database, RegistrationMode::Open, GroupCreation::Anyone).await;
        // Served as built, with this server's URL.
        let served = call(&router, Method::GET, "/openapi.json", None, None).await;
        assert_eq!(served.status, StatusCode::OK);
        assert_eq!(
            served.json["servers"],
            json!([{ "url": format!("{PUBLIC_URL}/api/v1") }])
        );
        let mut without_servers = served.json.clone();
        without_servers.as_object_mut().unwrap().remove("servers");
        assert_eq!(without_servers, document);

        // No undocumented method hides on a documented path: each answers 405.
        let mut refused = 0;
        for (path, operations) in paths {
            let operations = operations.as_object().unwrap();
            let concrete = path
                .split('/')
                .map(|segment| {
                    if segment.starts_with('{') {
                        "1"
                    } else {
                        segment
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            for method in [
                Method::GET,
                Method::HEAD,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
                Method::OPTIONS,
                Method::TRACE,
            ] {
                let name = method.as_str().to_lowercase();
                // axum answers HEAD wherever GET is routed.
                if operations.contains_key(&name)
                    || (method == Method::HEAD && operations.contains_key("get"))
                {
                    continue;
                }
                let answer = call(&router, method.clone(), &concrete, None, None).await;
                assert_eq!(
                    answer.status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path} is not documented but answers"
                );
                if method != Method::HEAD {
                    assert_error(
                        &answer,
                        StatusCode::METHOD_NOT_ALLOWED,
                        "method_not_allowed",
                    );
                }
                refused += 1;
            }
        }
        assert!(refused > 100);
    })
    .await;
}

#[tokio::test]
async fn the_permission_matrix_of_moderation() {
    testing::for_each_database(async |database| {
        let router = router_with(database, RegistrationMode::Open, GroupCreation::Anyone).await;
        let admin = account(&router, database, "ada", true).await;
        let owner = account(&router, database, "ann", false).await;
        let member = account(&router, database, "bob", false).await;
        let other = account(&router, database, "cid", false).await;
        let moderator = account(&router, database, "dee", false).await;
        let elsewhere = account(&router, database, "eve", false).await;
        let id_of = async |token: &str| {
            call(&router, Method::GET, "/me", Some(token), None)
                .await
                .json["id"]
                .as_i64()
                .unwrap()
        };
        let (cid_id, dee_id) = (id_of(&other).await, id_of(&moderator).await);
        call(
            &router,
            Method::POST,
            "/groups",
            Some(&owner),
            Some(json!({ "name": "repair", "title": "Repair" })),
        )
        .await;
        call(
            &router,
            Method::POST,
            "/groups",
            Some(&elsewhere),
            Some(json!({ "name": "knit", "title": "Knitting" })),
        )
        .await;
        for token in [&member, &moderator] {
            call(
                &router,
                Method::POST,
                "/groups/repair/membership",
                Some(token),
                None,
            )
            .await;
        }

        // Appointing: the owner or an administrator, and only members.
        let appoint = format!("/groups/repair/moderators/{dee_id}");
        assert_error(
            &call(&router, Method::PUT, &appoint, None, None).await,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        );
        for token in [&member, &other, &elsewhere] {
            assert_error(
                &call(&router, Method::PUT, &appoint, Some(token), None).await,
                StatusCode::FORBIDDEN,
                "forbidden",
            );
        }
        assert_error(
            &call(
                &router,
                Method::PUT,
                &format!("/groups/repair/moderators/{cid_id}"),
                Some(&owner),
                None,
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        );
        assert_eq!(
            call(&router, Method::PUT, &appoint, Some(&owner), None)
                .await
                .status,
            StatusCode::NO_CONTENT
        );
        let listed = call(
            &router,
            Method::GET,
            "/groups/repair/moderators",
            None,
            None,
        )
        .await;
        assert_eq!(listed.json[0]["role"], "owner");
        assert_eq!(listed.json[1]["person"]["name"], "dee");
        assert_eq!(
            call(
                &router,
                Method::GET,
                "/groups/repair",
                Some(&moderator),
                None
            )
            .await
            .json["role"],
            "moderator"
        );

        // Join approval: pending until a moderator decides.
        call(
            &router,
            Method::PATCH,
            "/groups/repair",
            Some(&owner),
            Some(json!({ "title": "Repair", "manually_approves_followers": true })),
        )
        .await;
        let joined = call(
            &router,
            Method::POST,
            "/groups/repair/membership",
            Some(&other),
            None,
        )
        .await;
        assert_eq!(joined.json["membership"], "pending");
        assert_error(
            &call(&router, Method::GET, "/groups/repair/requests", None, None).await,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        );
        for token in [&member, &other, &elsewhere] {
            assert_error(
                &call(
                    &router,
                    Method::GET,
                    "/groups/repair/requests",
                    Some(token),
                    None,
                )
                .await,
                StatusCode::FORBIDDEN,
                "forbidden",
            );
        }
        let requests = call(
            &router,
            Method::GET,
            "/groups/repair/requests",
            Some(&moderator),
            None,
        )
        .await;
        assert_eq!(
            requests.json.as_array().unwrap().len(),
            1,
            "{}",
            requests.json
        );
        assert_eq!(requests.json[0]["person"]["id"], cid_id);
        let approve = format!("/groups/repair/requests/{cid_id}/approve");
        assert_error(
            &call(&router, Method::POST, &approve, Some(&member), None).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
        assert_eq!(
            call(&router, Method::POST, &approve, Some(&moderator), None)
                .await
                .status,
            StatusCode::NO_CONTENT
        );
        assert_error(
            &call(&router, Method::POST, &approve, Some(&moderator), None).await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
        assert_eq!(
            call(&router, Method::GET, "/groups/repair", Some(&other), None)
                .await
                .json["membership"],
            "accepted"
        );

        // Posting mode: moderators only, then members again.
        call(
            &router,
            Method::PATCH,
            "/groups/repair",
            Some(&owner),
            Some(json!({ "title": "Repair", "posting_mode": "moderators" })),
        )
        .await;
        let thread = json!({ "title": "A thread", "body": "text" });
        assert_error(
            &call(
                &router,
                Method::POST,
                "/groups/repair/threads",
                Some(&member),
                Some(thread.clone()),
            )
            .await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
        assert_eq!(
            call(
                &router,
                Method::POST,
                "/groups/repair/threads",
                Some(&moderator),
                Some(thread.clone())
            )
            .await
            .status,
            StatusCode::CREATED
        );
        assert_error(
            &call(
                &router,
                Method::PATCH,
                "/groups/repair",
                Some(&owner),
                Some(json!({ "title": "Repair", "posting_mode": "everyone" })),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        );
        call(
            &router,
            Method::PATCH,
            "/groups/repair",
            Some(&owner),
            Some(json!({ "title": "Repair", "posting_mode": "members" })),
        )
        .await;
        let posted = call(
            &router,
            Method::POST,
            "/groups/repair/threads",
            Some(&member),
            Some(thread),
        )
        .await;
        assert_eq!(posted.status, StatusCode::CREATED);
        let thread_id = posted.json["id"].as_i64().unwrap();

        // Removing, restoring, locking: the group's moderators and administrators only.
        let remove = format!("/posts/{thread_id}/moderate/remove");
        assert_error(
            &call(&router, Method::POST, &remove, None, None).await,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        );
        for token in [&member, &other, &elsewhere] {
            assert_error(
                &call(&router, Method::POST, &remove, Some(token), None).await,
                StatusCode::FORBIDDEN,
                "forbidden",
            );
        }
        assert_error(
            &call(
                &router,
                Method::POST,
                &format!("/posts/{thread_id}/moderate/explode"),
                Some(&owner),
                None,
            )
            .await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
        let removed = call(
            &router,
            Method::POST,
            &remove,
            Some(&moderator),
            Some(json!({ "reason": "off topic" })),
        )
        .await;
        assert_eq!(removed.status, StatusCode::OK, "{}", removed.json);
        assert_eq!(removed.json["removed"], true);
        let seen = call(
            &router,
            Method::GET,
            &format!("/posts/{thread_id}"),
            None,
            None,
        )
        .await;
        assert_eq!(seen.json["thread"]["removed"], true);
        assert_eq!(seen.json["thread"]["content_html"], "");
        // Its moderators still see what was removed, as the thread page shows it to them.
        let seen_by_moderator = call(
            &router,
            Method::GET,
            &format!("/posts/{thread_id}"),
            Some(&moderator),
            None,
        )
        .await;
        assert_eq!(seen_by_moderator.json["thread"]["removed"], true);
        assert_ne!(seen_by_moderator.json["thread"]["content_html"], "");
        let listed = call(&router, Method::GET, "/groups/repair/threads", None, None).await;
        assert!(
            listed
                .json
                .as_array()
                .unwrap()
                .iter()
                .all(|thread| thread["id"] != thread_id)
        );
        let restored = call(
            &router,
            Method::POST,
            &format!("/posts/{thread_id}/moderate/restore"),
            Some(&admin),
            None,
        )
        .await;
        assert_eq!(restored.json["removed"], false, "{}", restored.json);
        let locked = call(
            &router,
            Method::POST,
            &format!("/posts/{thread_id}/moderate/lock"),
            Some(&owner),
            None,
        )
        .await;
        assert_eq!(locked.json["locked"], true);
        let replies = format!("/posts/{thread_id}/replies");
        assert_error(
            &call(
                &router,
                Method::POST,
                &replies,
                Some(&member),
                Some(json!({ "body": "more" })),
            )
            .await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
        assert_eq!(
            call(
                &router,
                Method::POST,
                &replies,
                Some(&moderator),
                Some(json!({ "body": "closing this" }))
            )
            .await
            .status,
            StatusCode::CREATED
        );
        call(
            &router,
            Method::POST,
            &format!("/posts/{thread_id}/moderate/unlock"),
            Some(&owner),
            None,
        )
        .await;
        // Pinning: the thread comes first and is featured.
        call(
            &router,
            Method::POST,
            "/groups/repair/threads",
            Some(&member),
            Some(json!({ "title": "Newer", "body": "x" })),
        )
        .await;
        assert_error(
            &call(
                &router,
                Method::POST,
                &format!("/posts/{thread_id}/moderate/pin"),
                Some(&member),
                None,
            )
            .await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
        let pinned = call(
            &router,
            Method::POST,
            &format!("/posts/{thread_id}/moderate/pin"),
            Some(&moderator),
            None,
        )
        .await;
        assert_eq!(pinned.json["pinned"], true, "{}", pinned.json);
        let listed = call(&router, Method::GET, "/groups/repair/threads", None, None).await;
        assert_eq!(
            listed.json[0]["id"], thread_id,
            "pinned first: {}",
            listed.json
        );
        assert_eq!(
            call(
                &router,
                Method::POST,
                &replies,
                Some(&member),
                Some(json!({ "body": "thanks" }))
            )
            .await
            .status,
            StatusCode::CREATED
        );

        // Dismissing: the owner; a dismissed moderator moderates no more.
        assert_error(
            &call(&router, Method::DELETE, &appoint, Some(&member), None).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
        assert_eq!(
            call(&router, Method::DELETE, &appoint, Some(&owner), None)
                .await
                .status,
            StatusCode::NO_CONTENT
        );
        assert_error(
            &call(&router, Method::POST, &remove, Some(&moderator), None).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );

        // The public log tells all of it, with the reason.
        let log = call(&router, Method::GET, "/groups/repair/modlog", None, None).await;
        let actions: Vec<&str> = log
            .json
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| entry["action"].as_str().unwrap())
            .collect();
        assert!(
            !actions.contains(&"approve_member"),
            "who asked to join stays private"
        );
        for action in [
            "appoint_moderator",
            "posting_mode",
            "remove_post",
            "restore_post",
            "lock_thread",
            "unlock_thread",
            "dismiss_moderator",
        ] {
            assert!(actions.contains(&action), "{action}: {actions:?}");
        }
        let removal = log
            .json
            .as_array()
            .unwrap()
            .iter()
            .find(|entry| entry["action"] == "remove_post")
            .unwrap();
        assert_eq!(removal["reason"], "off topic");
        assert_eq!(removal["moderator"]["name"], "dee");
    })
    .await;
}

#[tokio::test]
async fn bans_end_membership_refuse_activity_and_can_be_lifted() {
    testing::for_each_database(async |database| {
        let router = router_with(database, RegistrationMode::Open, GroupCreation::Anyone).await;
        let owner = account(&router, database, "ann", false).await;
        let member = account(&router, database, "bob", false).await;
        let other = account(&router, database, "cid", false).await;
        let bob_id = call(&router, Method::GET, "/me", Some(&member), None).await.json["id"].as_i64().unwrap();
        let ann_id = call(&router, Method::GET, "/me", Some(&owner), None).await.json["id"].as_i64().unwrap();
        call(&router, Method::POST, "/groups", Some(&owner), Some(json!({ "name": "repair", "title": "Repair" }))).await;
        call(&router, Method::POST, "/groups/repair/membership", Some(&member), None).await;
        let thread = call(&router, Method::POST, "/groups/repair/threads", Some(&member), Some(json!({ "title": "Spam", "body": "buy" }))).await;
        let thread_id = thread.json["id"].as_i64().unwrap();
        let owner_thread = call(&router, Method::POST, "/groups/repair/threads", Some(&owner), Some(json!({ "title": "Rules", "body": "be kind" }))).await;
        let owner_thread_id = owner_thread.json["id"].as_i64().unwrap();

        let ban = json!({ "person_id": bob_id, "reason": "spam", "expires_in_days": 7, "remove_content": true });
        assert_error(&call(&router, Method::POST, "/groups/repair/bans", None, Some(ban.clone())).await, StatusCode::UNAUTHORIZED, "unauthorized");
        assert_error(&call(&router, Method::POST, "/groups/repair/bans", Some(&other), Some(ban.clone())).await, StatusCode::FORBIDDEN, "forbidden");
        assert_error(
            &call(&router, Method::POST, "/groups/repair/bans", Some(&owner), Some(json!({ "person_id": ann_id }))).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        );
        assert_error(
            &call(&router, Method::POST, "/groups/repair/bans", Some(&owner), Some(json!({ "person_id": bob_id, "expires_in_days": 0 }))).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        );
        assert_error(&call(&router, Method::POST, "/groups/repair/bans", Some(&owner), Some(json!({}))).await, StatusCode::UNPROCESSABLE_ENTITY, "invalid");
        assert_eq!(call(&router, Method::POST, "/groups/repair/bans", Some(&owner), Some(ban)).await.status, StatusCode::CREATED);

        // Out of the group, content removed, refused everywhere.
        assert_eq!(call(&router, Method::GET, "/groups/repair", Some(&member), None).await.json["membership"], Value::Null);
        assert_eq!(call(&router, Method::GET, &format!("/posts/{thread_id}"), None, None).await.json["thread"]["removed"], true);
        let rejoin = call(&router, Method::POST, "/groups/repair/membership", Some(&member), None).await;
        assert_error(&rejoin, StatusCode::FORBIDDEN, "forbidden");
        assert!(rejoin.json["error"]["message"].as_str().unwrap().contains("banned from this group until"));
        assert_error(
            &call(&router, Method::PUT, &format!("/posts/{owner_thread_id}/vote"), Some(&member), Some(json!({ "value": 1 }))).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
        assert_error(&call(&router, Method::GET, "/groups/repair/bans", Some(&other), None).await, StatusCode::FORBIDDEN, "forbidden");
        let bans = call(&router, Method::GET, "/groups/repair/bans", Some(&owner), None).await;
        assert_eq!(bans.json[0]["person"]["name"], "bob", "{}", bans.json);
        assert_eq!(bans.json[0]["reason"], "spam");
        assert!(bans.json[0]["expires_at"].is_string());
        let server_ban = call(&router, Method::POST, "/groups/repair/bans", Some(&owner), Some(json!({ "server": "spam.example" }))).await;
        assert_eq!(server_ban.status, StatusCode::CREATED);

        // Lifted, bob may join again.
        let ban_id = bans.json[0]["id"].as_i64().unwrap();
        assert_error(&call(&router, Method::DELETE, &format!("/groups/repair/bans/{ban_id}"), Some(&other), None).await, StatusCode::FORBIDDEN, "forbidden");
        assert_eq!(call(&router, Method::DELETE, &format!("/groups/repair/bans/{ban_id}"), Some(&owner), None).await.status, StatusCode::NO_CONTENT);
        let rejoined = call(&router, Method::POST, "/groups/repair/membership", Some(&member), None).await;
        assert_eq!(rejoined.json["membership"], "accepted");
        let log = call(&router, Method::GET, "/groups/repair/modlog", None, None).await;
        let actions: Vec<&str> = log.json.as_array().unwrap().iter().map(|entry| entry["action"].as_str().unwrap()).collect();
        assert!(actions.contains(&"ban") && actions.contains(&"unban"), "{actions:?}");
    })
    .await;
}

#[tokio::test]
async fn reports_reach_the_moderators_and_only_them() {
    testing::for_each_database(async |database| {
        let router = router_with(database, RegistrationMode::Open, GroupCreation::Anyone).await;
        let owner = account(&router, database, "ann", false).await;
        let member = account(&router, database, "bob", false).await;
        let other = account(&router, database, "cid", false).await;
        call(
            &router,
            Method::POST,
            "/groups",
            Some(&owner),
            Some(json!({ "name": "repair", "title": "Repair" })),
        )
        .await;
        call(
            &router,
            Method::POST,
            "/groups/repair/membership",
            Some(&member),
            None,
        )
        .await;
        let thread = call(
            &router,
            Method::POST,
            "/groups/repair/threads",
            Some(&member),
            Some(json!({ "title": "Hm", "body": "rude words" })),
        )
        .await;
        let thread_id = thread.json["id"].as_i64().unwrap();

        let report = format!("/posts/{thread_id}/report");
        assert_error(
            &call(
                &router,
                Method::POST,
                &report,
                None,
                Some(json!({ "reason": "rude" })),
            )
            .await,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        );
        assert_error(
            &call(
                &router,
                Method::POST,
                "/posts/999999/report",
                Some(&other),
                Some(json!({})),
            )
            .await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
        assert_eq!(
            call(
                &router,
                Method::POST,
                &report,
                Some(&other),
                Some(json!({ "reason": "rude" }))
            )
            .await
            .status,
            StatusCode::CREATED
        );

        // The owner hears of it and sees it; no one else does.
        let heard = call(&router, Method::GET, "/notifications", Some(&owner), None).await;
        assert!(
            heard
                .json
                .as_array()
                .unwrap()
                .iter()
                .any(|one| one["kind"] == "report"),
            "{}",
            heard.json
        );
        for token in [&member, &other] {
            assert_error(
                &call(
                    &router,
                    Method::GET,
                    "/groups/repair/reports",
                    Some(token),
                    None,
                )
                .await,
                StatusCode::FORBIDDEN,
                "forbidden",
            );
        }
        let listed = call(
            &router,
            Method::GET,
            "/groups/repair/reports",
            Some(&owner),
            None,
        )
        .await;
        assert_eq!(listed.json[0]["reason"], "rude", "{}", listed.json);
        assert_eq!(listed.json[0]["reporter"]["name"], "cid");
        assert_eq!(listed.json[0]["state"], "open");
        let report_id = listed.json[0]["id"].as_i64().unwrap();
        let resolve = format!("/groups/repair/reports/{report_id}/resolve");
        assert_error(
            &call(&router, Method::POST, &resolve, Some(&member), None).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
        assert_eq!(
            call(&router, Method::POST, &resolve, Some(&owner), None)
                .await
                .status,
            StatusCode::NO_CONTENT
        );
        assert!(
            call(
                &router,
                Method::GET,
                "/groups/repair/reports",
                Some(&owner),
                None
            )
            .await
            .json
            .as_array()
            .unwrap()
            .is_empty()
        );
        let all = call(
            &router,
            Method::GET,
            "/groups/repair/reports?state=all",
            Some(&owner),
            None,
        )
        .await;
        assert_eq!(all.json[0]["state"], "resolved");
        assert_error(
            &call(
                &router,
                Method::GET,
                "/groups/repair/reports?state=weird",
                Some(&owner),
                None,
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        );
        let log = call(&router, Method::GET, "/groups/repair/modlog", None, None).await;
        assert!(
            log.json
                .as_array()
                .unwrap()
                .iter()
                .all(|entry| entry["action"] != "resolve_report"),
            "reports stay private: {}",
            log.json
        );
    })
    .await;
}

#[tokio::test]
async fn sign_ups_from_one_address_are_throttled() {
    testing::for_each_database(async |database| {
        let mut config = testing::test_config(PUBLIC_URL).unwrap();
        config.instance.registration = RegistrationMode::Open;
        config.instance.registrations_per_hour_per_address = 2;
        let federation = testing::test_federation(config, database).await.unwrap();
        let router = app::router(&federation);
        for name in ["one", "two"] {
            let created = call(
                &router,
                Method::POST,
                "/accounts",
                None,
                Some(json!({ "name": name, "password": "a long password" })),
            )
            .await;
            assert_eq!(created.status, StatusCode::CREATED, "{}", created.json);
        }
        let third = router
            .clone()
            .oneshot(
                Request::builder()
                    .method(Method::POST)
                    .uri("/api/v1/accounts")
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(
                        json!({ "name": "three", "password": "a long password" }).to_string(),
                    ))
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(third.status(), StatusCode::TOO_MANY_REQUESTS);
        let wait: u64 = third.headers()[header::RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=3600).contains(&wait), "{wait}");
    })
    .await;
}

#[tokio::test]
async fn administrators_remove_groups_and_accounts() {
    testing::for_each_database(async |database| {
        let router = router_with(database, RegistrationMode::Open, GroupCreation::Anyone).await;
        let admin = account(&router, database, "ada", true).await;
        let owner = account(&router, database, "ann", false).await;
        let member = account(&router, database, "bob", false).await;
        call(
            &router,
            Method::POST,
            "/groups",
            Some(&owner),
            Some(json!({ "name": "repair", "title": "Repair" })),
        )
        .await;
        call(
            &router,
            Method::POST,
            "/groups/repair/membership",
            Some(&member),
            None,
        )
        .await;

        for (path, who) in [
            ("/groups/repair", &owner),
            ("/groups/repair", &member),
            ("/users/bob", &owner),
        ] {
            assert_error(
                &call(&router, Method::DELETE, path, Some(who), None).await,
                StatusCode::FORBIDDEN,
                "forbidden",
            );
        }
        assert_error(
            &call(&router, Method::DELETE, "/users/ada", Some(&admin), None).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        );
        assert_eq!(
            call(
                &router,
                Method::DELETE,
                "/groups/repair",
                Some(&admin),
                None
            )
            .await
            .status,
            StatusCode::NO_CONTENT
        );
        assert_error(
            &call(&router, Method::GET, "/groups/repair", None, None).await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
        assert_error(
            &call(
                &router,
                Method::DELETE,
                "/groups/repair",
                Some(&admin),
                None,
            )
            .await,
            StatusCode::NOT_FOUND,
            "not_found",
        );

        assert_eq!(
            call(&router, Method::DELETE, "/users/bob", Some(&admin), None)
                .await
                .status,
            StatusCode::NO_CONTENT
        );
        assert_error(
            &call(&router, Method::GET, "/me", Some(&member), None).await,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        );
        let sign_in = call(
            &router,
            Method::POST,
            "/auth/token",
            None,
            Some(json!({ "name": "bob", "password": "a long password" })),
        )
        .await;
        assert_error(&sign_in, StatusCode::FORBIDDEN, "forbidden");
        // The name stays taken.
        let again = call(
            &router,
            Method::POST,
            "/accounts",
            None,
            Some(json!({ "name": "bob", "password": "a long password" })),
        )
        .await;
        assert_error(&again, StatusCode::CONFLICT, "conflict");
    })
    .await;
}

#[tokio::test]
async fn posts_in_a_premoderated_group_wait_for_a_moderator() {
    testing::for_each_database(async |database| {
        let router = router_with(database, RegistrationMode::Open, GroupCreation::Anyone).await;
        let owner = account(&router, database, "ann", false).await;
        let member = account(&router, database, "bob", false).await;
        call(
            &router,
            Method::POST,
            "/groups",
            Some(&owner),
            Some(json!({ "name": "repair", "title": "Repair" })),
        )
        .await;
        call(
            &router,
            Method::PATCH,
            "/groups/repair",
            Some(&owner),
            Some(json!({ "title": "Repair", "posting_mode": "premoderated" })),
        )
        .await;
        call(
            &router,
            Method::POST,
            "/groups/repair/membership",
            Some(&member),
            None,
        )
        .await;
        let posted = call(
            &router,
            Method::POST,
            "/groups/repair/threads",
            Some(&member),
            Some(json!({ "title": "Hello", "body": "first" })),
        )
        .await;
        assert_eq!(posted.status, StatusCode::CREATED);
        assert_eq!(posted.json["awaiting_approval"], true);
        let id = posted.json["id"].as_i64().unwrap();
        assert!(
            call(&router, Method::GET, "/groups/repair/threads", None, None)
                .await
                .json
                .as_array()
                .unwrap()
                .is_empty()
        );
        assert_error(
            &call(&router, Method::GET, &format!("/posts/{id}"), None, None).await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
        assert_eq!(
            call(
                &router,
                Method::GET,
                &format!("/posts/{id}"),
                Some(&member),
                None
            )
            .await
            .status,
            StatusCode::OK
        );
        // The owner's own posts do not wait.
        let owners = call(
            &router,
            Method::POST,
            "/groups/repair/threads",
            Some(&owner),
            Some(json!({ "title": "Rules", "body": "be kind" })),
        )
        .await;
        assert_eq!(owners.json["awaiting_approval"], false);

        assert_error(
            &call(
                &router,
                Method::GET,
                "/groups/repair/queue",
                Some(&member),
                None,
            )
            .await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
        let queue = call(
            &router,
            Method::GET,
            "/groups/repair/queue",
            Some(&owner),
            None,
        )
        .await;
        assert_eq!(queue.json.as_array().unwrap().len(), 1, "{}", queue.json);
        let approve = format!("/posts/{id}/moderate/approve");
        assert_error(
            &call(&router, Method::POST, &approve, Some(&member), None).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
        let approved = call(&router, Method::POST, &approve, Some(&owner), None).await;
        assert_eq!(
            approved.json["awaiting_approval"], false,
            "{}",
            approved.json
        );
        assert_eq!(
            call(&router, Method::GET, "/groups/repair/threads", None, None)
                .await
                .json
                .as_array()
                .unwrap()
                .len(),
            2
        );
        assert_error(
            &call(&router, Method::POST, &approve, Some(&owner), None).await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
    })
    .await;
}

/// Every moderation endpoint against every role: anonymous, member, another group's
/// moderator, the group's moderator, its owner, an administrator. Refused roles get 401 or
/// 403 and change nothing; allowed roles get past the permission check (200, 204, or a 404 or
/// 422 about the thing itself).
#[tokio::test]
async fn every_moderation_endpoint_checks_every_role() {
    testing::for_each_database(async |database| {
        let router = router_with(database, RegistrationMode::Open, GroupCreation::Anyone).await;
        let admin = account(&router, database, "ada", true).await;
        let owner = account(&router, database, "ann", false).await;
        let member = account(&router, database, "bob", false).await;
        let moderator = account(&router, database, "dee", false).await;
        let elsewhere = account(&router, database, "eve", false).await;
        let pat = account(&router, database, "pat", false).await;
        let id_of = async |token: &str| {
            call(&router, Method::GET, "/me", Some(token), None)
                .await
                .json["id"]
                .as_i64()
                .unwrap()
        };
        let (dee_id, pat_id) = (id_of(&moderator).await, id_of(&pat).await);
        call(
            &router,
            Method::POST,
            "/groups",
            Some(&owner),
            Some(json!({ "name": "repair", "title": "Repair" })),
        )
        .await;
        call(
            &router,
            Method::POST,
            "/groups",
            Some(&elsewhere),
            Some(json!({ "name": "knit", "title": "Knit" })),
        )
        .await;
        for token in [&member, &moderator, &pat] {
            call(
                &router,
                Method::POST,
                "/groups/repair/membership",
                Some(token),
                None,
            )
            .await;
        }
        call(
            &router,
            Method::PUT,
            &format!("/groups/repair/moderators/{dee_id}"),
            Some(&owner),
            None,
        )
        .await;
        let thread = call(
            &router,
            Method::POST,
            "/groups/repair/threads",
            Some(&member),
            Some(json!({ "title": "T", "body": "b" })),
        )
        .await;
        let post = thread.json["id"].as_i64().unwrap();

        #[derive(Clone, Copy, PartialEq)]
        enum Allowed {
            Everyone,
            Moderators,
            OwnerAndAdmin,
            AdminOnly,
        }
        let endpoints: Vec<(Method, String, Option<Value>, Allowed)> = vec![
            (
                Method::GET,
                "/groups/repair/requests".into(),
                None,
                Allowed::Moderators,
            ),
            (
                Method::POST,
                format!("/groups/repair/requests/{pat_id}/approve"),
                None,
                Allowed::Moderators,
            ),
            (
                Method::GET,
                "/groups/repair/moderators".into(),
                None,
                Allowed::Everyone,
            ),
            (
                Method::PUT,
                format!("/groups/repair/moderators/{pat_id}"),
                None,
                Allowed::OwnerAndAdmin,
            ),
            (
                Method::DELETE,
                format!("/groups/repair/moderators/{pat_id}"),
                None,
                Allowed::OwnerAndAdmin,
            ),
            (
                Method::GET,
                "/groups/repair/modlog".into(),
                None,
                Allowed::Everyone,
            ),
            (
                Method::POST,
                format!("/posts/{post}/moderate/remove"),
                Some(json!({ "reason": "r" })),
                Allowed::Moderators,
            ),
            (
                Method::POST,
                format!("/posts/{post}/moderate/restore"),
                None,
                Allowed::Moderators,
            ),
            (
                Method::POST,
                format!("/posts/{post}/moderate/lock"),
                None,
                Allowed::Moderators,
            ),
            (
                Method::POST,
                format!("/posts/{post}/moderate/unlock"),
                None,
                Allowed::Moderators,
            ),
            (
                Method::POST,
                format!("/posts/{post}/moderate/pin"),
                None,
                Allowed::Moderators,
            ),
            (
                Method::POST,
                format!("/posts/{post}/moderate/unpin"),
                None,
                Allowed::Moderators,
            ),
            (
                Method::POST,
                format!("/posts/{post}/moderate/approve"),
                None,
                Allowed::Moderators,
            ),
            (
                Method::GET,
                "/groups/repair/bans".into(),
                None,
                Allowed::Moderators,
            ),
            (
                Method::POST,
                "/groups/repair/bans".into(),
                Some(json!({ "server": "spam.example" })),
                Allowed::Moderators,
            ),
            (
                Method::DELETE,
                "/groups/repair/bans/999999".into(),
                None,
                Allowed::Moderators,
            ),
            (
                Method::GET,
                "/groups/repair/reports".into(),
                None,
                Allowed::Moderators,
            ),
            (
                Method::POST,
                "/groups/repair/reports/999999/resolve".into(),
                None,
                Allowed::Moderators,
            ),
            (
                Method::GET,
                "/groups/repair/queue".into(),
                None,
                Allowed::Moderators,
            ),
            (
                Method::PATCH,
                "/groups/repair".into(),
                Some(json!({ "title": "Repair" })),
                Allowed::OwnerAndAdmin,
            ),
            (
                Method::DELETE,
                "/groups/repair".into(),
                None,
                Allowed::AdminOnly,
            ),
        ];
        let roles: [(&str, Option<&str>); 6] = [
            ("anonymous", None),
            ("member", Some(&member)),
            ("another group's moderator", Some(&elsewhere)),
            ("moderator", Some(&moderator)),
            ("owner", Some(&owner)),
            ("admin", Some(&admin)),
        ];
        for (method, path, body, allowed) in &endpoints {
            for (role, token) in roles {
                let may = match (allowed, role) {
                    (Allowed::Everyone, _) => true,
                    (_, "anonymous" | "member" | "another group's moderator") => false,
                    (Allowed::Moderators, _) => true,
                    (Allowed::OwnerAndAdmin, "owner" | "admin") => true,
                    (Allowed::AdminOnly, "admin") => true,
                    _ => false,
                };
                // Removing the group would end the test: its allowed call is checked last.
                if may && *allowed == Allowed::AdminOnly {
                    continue;
                }
                let answer = call(&router, method.clone(), path, token, body.clone()).await;
                if may {
                    assert!(
                        !matches!(
                            answer.status,
                            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
                        ),
                        "{role} may {method} {path}: {} {}",
                        answer.status,
                        answer.json
                    );
                } else {
                    let expected = if token.is_none() {
                        StatusCode::UNAUTHORIZED
                    } else {
                        StatusCode::FORBIDDEN
                    };
                    assert_eq!(
                        answer.status, expected,
                        "{role} may not {method} {path}: {}",
                        answer.json
                    );
                }
            }
        }
        assert_eq!(
            call(
                &router,
                Method::DELETE,
                "/groups/repair",
                Some(&admin),
                None
            )
            .await
            .status,
            StatusCode::NO_CONTENT
        );
    })
    .await;
}

#[tokio::test]
async fn held_and_banned_posts_cannot_be_slipped_out_by_editing() {
    testing::for_each_database(async |database| {
        let router = router_with(database, RegistrationMode::Open, GroupCreation::Anyone).await;
        let owner = account(&router, database, "ann", false).await;
        let member = account(&router, database, "bob", false).await;
        let bob_id = call(&router, Method::GET, "/me", Some(&member), None)
            .await
            .json["id"]
            .as_i64()
            .unwrap();
        call(
            &router,
            Method::POST,
            "/groups",
            Some(&owner),
            Some(json!({ "name": "repair", "title": "Repair" })),
        )
        .await;
        call(
            &router,
            Method::POST,
            "/groups/repair/membership",
            Some(&member),
            None,
        )
        .await;
        let published = call(
            &router,
            Method::POST,
            "/groups/repair/threads",
            Some(&member),
            Some(json!({ "title": "Ok", "body": "fine" })),
        )
        .await;
        let published_id = published.json["id"].as_i64().unwrap();
        call(
            &router,
            Method::PATCH,
            "/groups/repair",
            Some(&owner),
            Some(json!({ "title": "Repair", "posting_mode": "premoderated" })),
        )
        .await;
        let held = call(
            &router,
            Method::POST,
            "/groups/repair/threads",
            Some(&member),
            Some(json!({ "title": "Wait", "body": "v1" })),
        )
        .await;
        let held_id = held.json["id"].as_i64().unwrap();

        // Editing a held post keeps it held (and the edit is what approval will publish).
        let edited = call(
            &router,
            Method::PATCH,
            &format!("/posts/{held_id}"),
            Some(&member),
            Some(json!({ "body": "v2" })),
        )
        .await;
        assert_eq!(edited.json["awaiting_approval"], true, "{}", edited.json);
        assert_error(
            &call(
                &router,
                Method::GET,
                &format!("/posts/{held_id}"),
                None,
                None,
            )
            .await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
        assert_error(
            &call(
                &router,
                Method::PUT,
                &format!("/posts/{held_id}/vote"),
                Some(&owner),
                Some(json!({ "value": 1 })),
            )
            .await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
        assert_error(
            &call(
                &router,
                Method::POST,
                &format!("/posts/{held_id}/replies"),
                Some(&owner),
                Some(json!({ "body": "hi" })),
            )
            .await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
        assert_error(
            &call(
                &router,
                Method::POST,
                &format!("/posts/{held_id}/moderate/pin"),
                Some(&owner),
                None,
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        );

        // A banned author can no longer edit what they wrote.
        call(
            &router,
            Method::POST,
            "/groups/repair/bans",
            Some(&owner),
            Some(json!({ "person_id": bob_id })),
        )
        .await;
        assert_error(
            &call(
                &router,
                Method::PATCH,
                &format!("/posts/{published_id}"),
                Some(&member),
                Some(json!({ "body": "spam" })),
            )
            .await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
        assert_error(
            &call(
                &router,
                Method::POST,
                &format!("/posts/{held_id}/moderate/approve"),
                Some(&owner),
                None,
            )
            .await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
    })
    .await;
}

#[tokio::test]
async fn declared_lengths_and_nul_characters_are_refused_not_cut() {
    testing::for_each_database(async |database| {
        let router = router_with(database, RegistrationMode::Open, GroupCreation::Anyone).await;
        let owner = account(&router, database, "ann", false).await;
        let member = account(&router, database, "bob", false).await;
        call(
            &router,
            Method::POST,
            "/groups",
            Some(&owner),
            Some(json!({ "name": "repair", "title": "Repair" })),
        )
        .await;
        call(
            &router,
            Method::POST,
            "/groups/repair/membership",
            Some(&member),
            None,
        )
        .await;
        let thread = call(
            &router,
            Method::POST,
            "/groups/repair/threads",
            Some(&member),
            Some(json!({ "title": "Hm", "body": "words" })),
        )
        .await;
        let thread_id = thread.json["id"].as_i64().unwrap();
        let bob_id = call(&router, Method::GET, "/me", Some(&member), None)
            .await
            .json["id"]
            .as_i64()
            .unwrap();

        // The OpenAPI document declares these lengths: one character more is refused.
        let report = format!("/posts/{thread_id}/report");
        assert_error(
            &call(
                &router,
                Method::POST,
                &report,
                Some(&member),
                Some(json!({ "reason": "r".repeat(2001) })),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        );
        let remove = format!("/posts/{thread_id}/moderate/remove");
        assert_error(
            &call(
                &router,
                Method::POST,
                &remove,
                Some(&owner),
                Some(json!({ "reason": "r".repeat(1001) })),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        );
        assert_error(
            &call(
                &router,
                Method::POST,
                "/groups/repair/bans",
                Some(&owner),
                Some(json!({ "person_id": bob_id, "reason": "r".repeat(1001) })),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        );
        // At the limit, all of it is kept.
        let kept = call(
            &router,
            Method::POST,
            &report,
            Some(&member),
            Some(json!({ "reason": "r".repeat(2000) })),
        )
        .await;
        assert!(kept.status.is_success(), "{}", kept.json);
        let reports = call(
            &router,
            Method::GET,
            "/groups/repair/reports",
            Some(&owner),
            None,
        )
        .await;
        assert_eq!(
            reports.json[0]["reason"].as_str().unwrap().len(),
            2000,
            "{}",
            reports.json
        );

        // A NUL character anywhere is refused, with nothing stored (PostgreSQL cannot take it).
        let answer = call(
            &router,
            Method::POST,
            "/groups/repair/threads",
            Some(&member),
            Some(json!({ "title": "Nul\u{0}", "body": "x" })),
        )
        .await;
        assert_error(&answer, StatusCode::UNPROCESSABLE_ENTITY, "invalid");
        let answer = raw(
            &router,
            "/groups/repair/threads",
            &member,
            "application/json",
            r#"{"title":"Nul","body":"a\u0000b"}"#,
        )
        .await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
        let threads = call(
            &router,
            Method::GET,
            "/groups/repair/threads",
            Some(&member),
            None,
        )
        .await;
        assert_eq!(
            threads.json.as_array().map_or(0, Vec::len),
            1,
            "{}",
            threads.json
        );
    })
    .await;
}
