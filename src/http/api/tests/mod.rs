//! API tests through the router: every endpoint, the permission matrix (anonymous, member,
//! other user, administrator, author) and bad input, and the OpenAPI document against the
//! routes. This file holds the client and the shared helpers; the tests are beside it by
//! subject.

mod accounts;
mod bans_and_reports;
mod conformance;
mod groups;
mod limits;
mod moderation;
mod moderation_roles;
mod openapi;
mod paging;
mod posts;
mod premoderation;

use crate::{
    accounts::users::{self, NewUser},
    config::{GroupCreation, RegistrationMode},
    testing::{self, Backend, TestApp},
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

const PUBLIC_URL: &str = testing::TEST_PUBLIC_URL;

struct Answer {
    status: StatusCode,
    json: Value,
    /// The `Link` header (the next page of a list).
    link: Option<String>,
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
    let link = response
        .headers()
        .get(header::LINK)
        .map(|value| value.to_str().unwrap().to_string());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let json = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("{path}: not JSON: {}", String::from_utf8_lossy(&bytes)))
    };
    Answer { status, json, link }
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
        link: None,
    }
}

/// An app on a fresh `backend` database with the given sign-up and group-creation rules. Keep
/// it bound for the whole test: it owns the database.
async fn start_app(
    backend: Backend,
    registration: RegistrationMode,
    group_creation: GroupCreation,
) -> TestApp {
    TestApp::on(backend)
        .configured(|config| {
            config.instance.registration = registration;
            config.instance.group_creation = group_creation;
        })
        .start()
        .await
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

/// `owner` founds the group "repair" ("Repair") and each of `members` joins it, all through
/// the API.
async fn found_repair(router: &Router, owner: &str, members: &[&String]) {
    call(
        router,
        Method::POST,
        "/groups",
        Some(owner),
        Some(json!({ "name": "repair", "title": "Repair" })),
    )
    .await;
    for member in members {
        call(
            router,
            Method::POST,
            "/groups/repair/membership",
            Some(member),
            None,
        )
        .await;
    }
}
