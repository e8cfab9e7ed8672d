//! Web tests through the whole router, as a browser without JavaScript would use the pages:
//! cookies kept between requests, forms posted with the CSRF token read from the page. This
//! file holds the browser and the shared starting points; the tests are beside it by subject.

mod accounts;
mod forms_and_errors;
mod groups;
mod media;
mod moderation;
mod search;
mod threads;

use crate::{
    config::RegistrationMode,
    testing::{self, Backend, TestApp},
};
use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode, header},
};
use http_body_util::BodyExt;
use kindred_entities::{activity, actor, post};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;
use std::collections::BTreeMap;
use tower::ServiceExt;

const PUBLIC_URL: &str = testing::TEST_PUBLIC_URL;
const DOMAIN: &str = "kindred.test:8080";

/// A browser: one router, its own cookies.
#[derive(Clone)]
struct Browser {
    router: Router,
    cookies: BTreeMap<String, String>,
}

struct Page {
    status: StatusCode,
    location: Option<String>,
    retry_after: Option<String>,
    /// The `Link` header (an API list's next page).
    link: Option<String>,
    body: String,
    /// The body as sent (a picture, say).
    bytes: Vec<u8>,
    content_type: Option<String>,
}

impl Page {
    /// The CSRF token of the first form on the page.
    fn csrf(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        let start = self
            .body
            .find(marker)
            .unwrap_or_else(|| panic!("no form on the page: {}", self.body))
            + marker.len();
        let end = self.body[start..].find('"').unwrap() + start;
        self.body[start..end].to_string()
    }
}

impl Browser {
    fn new(router: &Router) -> Browser {
        Browser {
            router: router.clone(),
            cookies: BTreeMap::new(),
        }
    }

    async fn request(&mut self, request: http::request::Builder, body: Body) -> Page {
        let cookie_header = self
            .cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ");
        let mut request = request.header(header::HOST, DOMAIN);
        if !cookie_header.is_empty() {
            request = request.header(header::COOKIE, cookie_header);
        }
        let response = self
            .router
            .clone()
            .oneshot(request.body(body).unwrap())
            .await
            .unwrap();
        for value in response.headers().get_all(header::SET_COOKIE) {
            let text = value.to_str().unwrap();
            let (pair, _) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
        let status = response.status();
        let location = response
            .headers()
            .get(header::LOCATION)
            .map(|value| value.to_str().unwrap().to_string());
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .map(|value| value.to_str().unwrap().to_string());
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|value| value.to_str().unwrap().to_string());
        let link = response
            .headers()
            .get(header::LINK)
            .map(|value| value.to_str().unwrap().to_string());
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Page {
            status,
            location,
            retry_after,
            link,
            body: String::from_utf8_lossy(&bytes).to_string(),
            bytes: bytes.to_vec(),
            content_type,
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        self.request(
            Request::builder()
                .uri(path)
                .header(header::ACCEPT, "text/html"),
            Body::empty(),
        )
        .await
    }

    async fn get_json(&mut self, path: &str) -> (StatusCode, Value) {
        let page = self
            .request(
                Request::builder()
                    .uri(path)
                    .header(header::ACCEPT, "application/activity+json"),
                Body::empty(),
            )
            .await;
        let json = serde_json::from_str(&page.body)
            .unwrap_or_else(|error| panic!("{path}: not JSON ({error}): {}", page.body));
        (page.status, json)
    }

    /// Posts a form the way a browser on our own site does (with an `Origin` header).
    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        self.post_from(path, fields, PUBLIC_URL).await
    }

    async fn post_from(&mut self, path: &str, fields: &[(&str, &str)], origin: &str) -> Page {
        let body = fields
            .iter()
            .map(|(name, value)| format!("{name}={}", form_encode(value)))
            .collect::<Vec<_>>()
            .join("&");
        self.request(
            Request::builder()
                .method("POST")
                .uri(path)
                .header(header::ORIGIN, origin)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded"),
            Body::from(body),
        )
        .await
    }

    /// Posts a `multipart/form-data` form, as a browser does for a form with file inputs:
    /// `fields` are text, `files` are (input name, file name, bytes).
    async fn post_multipart(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, &[u8])],
    ) -> Page {
        let boundary = "----kindred-test-boundary-7MA4YWxkTrZu0gW";
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        }
        for (name, file_name, bytes) in files {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        self.request(
            Request::builder()
                .method("POST")
                .uri(path)
                .header(header::ORIGIN, PUBLIC_URL)
                .header(
                    header::CONTENT_TYPE,
                    format!("multipart/form-data; boundary={boundary}"),
                ),
            Body::from(body),
        )
        .await
    }

    /// Registers `name` and stays signed in.
    async fn register(&mut self, name: &str) {
        let form = self.get("/register").await;
        assert_eq!(form.status, StatusCode::OK, "{}", form.body);
        let csrf = form.csrf();
        let done = self
            .post(
                "/register",
                &[
                    ("name", name),
                    ("password", "a long password"),
                    ("password_again", "a long password"),
                    ("email", ""),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        assert!(self.cookies.contains_key("kindred_session"));
    }

    /// The CSRF token of signed-in forms, read from the settings page.
    async fn csrf(&mut self) -> String {
        self.get("/settings").await.csrf()
    }
}

fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

async fn start_app(backend: Backend, registration: RegistrationMode) -> TestApp {
    TestApp::on(backend)
        .configured(|config| config.instance.registration = registration)
        .start()
        .await
}

pub(super) async fn post_by_id(database: &sea_orm::DatabaseConnection, id: i64) -> post::Model {
    crate::database::unique_row(post::Entity::find_by_id(id), database)
        .await
        .unwrap()
        .unwrap()
}

/// The starting point of most page tests: ann created her group "repair" ("Repair café",
/// "We *fix* things") through its form and wrote the thread "Kettle <clicks>" in it; bob is
/// registered and not a member.
struct RepairCafe {
    app: TestApp,
    ann: Browser,
    bob: Browser,
    anonymous: Browser,
    csrf: String,
    bob_csrf: String,
    thread_path: String,
    thread_id: i64,
}

async fn repair_cafe(backend: Backend) -> RepairCafe {
    let app = start_app(backend, RegistrationMode::Open).await;
    let mut ann = Browser::new(&app.router);
    let mut bob = Browser::new(&app.router);
    let anonymous = Browser::new(&app.router);
    ann.register("ann").await;
    bob.register("bob").await;
    let csrf = ann.csrf().await;
    assert_eq!(ann.get("/create-group").await.status, StatusCode::OK);
    let created = ann
        .post(
            "/create-group",
            &[
                ("name", "repair"),
                ("title", "Repair café"),
                ("summary", "We *fix* things"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(
        created.location.as_deref(),
        Some("/groups/repair"),
        "{}",
        created.body
    );
    let posted = ann
        .post(
            "/groups/repair/new-thread",
            &[
                ("title", "Kettle <clicks>"),
                ("body", "It *clicks* but <script>alert(1)</script> no heat."),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.body);
    let thread_path = posted.location.unwrap();
    let thread_id: i64 = thread_path.trim_start_matches("/posts/").parse().unwrap();
    let bob_csrf = bob.csrf().await;
    RepairCafe {
        app,
        ann,
        bob,
        anonymous,
        csrf,
        bob_csrf,
        thread_path,
        thread_id,
    }
}

/// Bob joins and replies to the thread ("Descale it **first**"); ann answers his reply
/// ("Thanks!"). Returns bob's reply.
async fn bob_replies_and_ann_answers(cafe: &mut RepairCafe) -> post::Model {
    let thread_path = &cafe.thread_path;
    cafe.bob
        .post("/groups/repair/join", &[("csrf", &cafe.bob_csrf)])
        .await;
    let replied = cafe
        .bob
        .post(
            &format!("{thread_path}/reply"),
            &[("body", "Descale it **first**"), ("csrf", &cafe.bob_csrf)],
        )
        .await;
    assert_eq!(replied.status, StatusCode::SEE_OTHER, "{}", replied.body);
    let reply = post::Entity::find()
        .filter(post::Column::ThreadId.eq(cafe.thread_id))
        .one(&cafe.app.database.connection)
        .await
        .unwrap()
        .unwrap();
    let nested = cafe
        .ann
        .post(
            &format!("/posts/{}/reply", reply.id),
            &[("body", "Thanks!"), ("csrf", &cafe.csrf)],
        )
        .await;
    assert_eq!(nested.status, StatusCode::SEE_OTHER);
    reply
}
