//! Web tests through the whole router, as a browser without JavaScript would use the pages:
//! cookies kept between requests, forms posted with the CSRF token read from the page.

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
    body: String,
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
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Page {
            status,
            location,
            retry_after,
            body: String::from_utf8_lossy(&bytes).to_string(),
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

#[tokio::test]
async fn accounts_register_sign_in_change_password_and_sign_out() {
    testing::for_each_backend(async |backend| {
        let app = start_app(backend, RegistrationMode::Open).await;
        let (router, database) = (&app.router, &app.database);
        let mut ann = Browser::new(&router);

        // A form without its token, or from another site, changes nothing.
        ann.get("/register").await;
        let forged = ann
            .post(
                "/register",
                &[
                    ("name", "ann"),
                    ("password", "a long password"),
                    ("password_again", "a long password"),
                ],
            )
            .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN);
        let csrf = ann.get("/register").await.csrf();
        let cross_site = ann
            .post_from(
                "/register",
                &[
                    ("name", "ann"),
                    ("password", "a long password"),
                    ("password_again", "a long password"),
                    ("csrf", &csrf),
                ],
                "https://evil.example",
            )
            .await;
        assert_eq!(cross_site.status, StatusCode::FORBIDDEN);
        assert!(
            crate::accounts::users::find_by_name(&database.connection, "ann")
                .await
                .unwrap()
                .is_none()
        );

        // Mismatched passwords are shown on the form, with what was typed kept.
        let mismatch = ann
            .post(
                "/register",
                &[
                    ("name", "ann"),
                    ("password", "a long password"),
                    ("password_again", "another one"),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert_eq!(mismatch.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(mismatch.body.contains("the two passwords differ"));
        assert!(mismatch.body.contains("value=\"ann\""));

        ann.register("ann").await;
        let csp = ann
            .router
            .clone()
            .oneshot(Request::builder().uri("/").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(
            csp.headers()[header::CONTENT_SECURITY_POLICY],
            crate::http::CONTENT_SECURITY_POLICY
        );
        assert_eq!(csp.headers()[header::X_FRAME_OPTIONS], "DENY");
        let home = ann.get("/").await;
        assert!(home.body.contains("href=\"/users/ann\""), "{}", home.body);
        assert!(home.body.contains("Sign out"));

        // Change the password, sign out, sign in with the new one.
        let csrf = ann.csrf().await;
        let wrong = ann
            .post(
                "/settings/password",
                &[
                    ("current_password", "not the password"),
                    ("new_password", "a newer password"),
                    ("new_password_again", "a newer password"),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert_eq!(wrong.status, StatusCode::FORBIDDEN);
        assert!(wrong.body.contains("the current password is wrong"));
        let changed = ann
            .post(
                "/settings/password",
                &[
                    ("current_password", "a long password"),
                    ("new_password", "a newer password"),
                    ("new_password_again", "a newer password"),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert_eq!(changed.status, StatusCode::OK);
        assert!(changed.body.contains("Password changed"));
        // An API token made on the settings page works once, shown once, and can be revoked.
        let made = ann
            .post("/settings/tokens", &[("label", "laptop"), ("csrf", &csrf)])
            .await;
        assert_eq!(made.status, StatusCode::OK);
        let marker = "not shown again): ";
        let start = made.body.find(marker).unwrap() + marker.len();
        let token: String = made.body[start..]
            .chars()
            .take_while(|c| *c != '<')
            .collect();
        let me = ann
            .request(
                Request::builder()
                    .uri("/api/v1/me")
                    .header(header::AUTHORIZATION, format!("Bearer {token}")),
                Body::empty(),
            )
            .await;
        assert_eq!(me.status, StatusCode::OK, "{}", me.body);
        let settings = ann.get("/settings").await;
        assert!(settings.body.contains("laptop"));
        assert!(!settings.body.contains(&token));
        let revoke_marker = "action=\"/settings/tokens/";
        let start = settings.body.find(revoke_marker).unwrap() + revoke_marker.len();
        let id: String = settings.body[start..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        ann.post(&format!("/settings/tokens/{id}/revoke"), &[("csrf", &csrf)])
            .await;
        assert!(!ann.get("/settings").await.body.contains("laptop"));

        let out = ann.post("/logout", &[("csrf", &csrf)]).await;
        assert_eq!(out.status, StatusCode::SEE_OTHER);
        assert!(!ann.cookies.contains_key("kindred_session"));
        assert_eq!(
            ann.get("/settings").await.location.as_deref(),
            Some("/login")
        );

        let csrf = ann.get("/login").await.csrf();
        let refused = ann
            .post(
                "/login",
                &[
                    ("name", "ann"),
                    ("password", "a long password"),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        assert!(refused.body.contains("wrong name or password"));
        let signed_in = ann
            .post(
                "/login",
                &[
                    ("name", "ANN"),
                    ("password", "a newer password"),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
        assert!(ann.get("/").await.body.contains("Sign out"));

        // The account is a Person actor others can find and verify.
        let (status, person) = ann.get_json("/users/ann").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(person["type"], "Person");
        assert_eq!(person["inbox"], format!("{PUBLIC_URL}/users/ann/inbox"));
        assert!(
            person["publicKey"]["publicKeyPem"]
                .as_str()
                .unwrap()
                .contains("PUBLIC KEY")
        );
        let webfinger = ann
            .get("/.well-known/webfinger?resource=acct:ann@kindred.test:8080")
            .await;
        assert!(webfinger.body.contains("\"Person\""), "{}", webfinger.body);
        assert_eq!(ann.get_json("/users/ann/outbox").await.0, StatusCode::OK);
        assert_eq!(ann.get("/users/ann").await.status, StatusCode::OK);
        let nobody = ann
            .request(
                Request::builder()
                    .uri("/users/nobody")
                    .header(header::ACCEPT, "application/activity+json"),
                Body::empty(),
            )
            .await;
        assert_eq!(nobody.status, StatusCode::NOT_FOUND);
        assert_eq!(nobody.body, "user not found");
        // A group's name is not a person.
        assert_eq!(ann.get("/users/repair").await.status, StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test]
async fn closed_and_approval_registration() {
    testing::for_each_backend(async |backend| {
        let app = start_app(backend, RegistrationMode::Closed).await;
        let closed = &app.router;
        let mut visitor = Browser::new(&closed);
        assert!(!visitor.get("/").await.body.contains("href=\"/register\""));
        assert_eq!(visitor.get("/register").await.status, StatusCode::FORBIDDEN);

        let approval_app = start_app(backend, RegistrationMode::Approval).await;
        let (approval, database) = (&approval_app.router, &approval_app.database);
        let mut applicant = Browser::new(&approval);
        let form = applicant.get("/register").await;
        assert!(form.body.contains("Why do you want to join?"));
        let done = applicant
            .post(
                "/register",
                &[
                    ("name", "cid"),
                    ("password", "a long password"),
                    ("password_again", "a long password"),
                    ("application", "I fix bikes"),
                    ("csrf", &form.csrf()),
                ],
            )
            .await;
        assert_eq!(done.status, StatusCode::OK);
        assert!(done.body.contains("waits for an administrator"));
        assert!(!applicant.cookies.contains_key("kindred_session"));
        let csrf = applicant.get("/login").await.csrf();
        let pending = applicant
            .post(
                "/login",
                &[
                    ("name", "cid"),
                    ("password", "a long password"),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert_eq!(pending.status, StatusCode::FORBIDDEN);

        // An administrator approves the registration from the admin page.
        let config = testing::test_config(PUBLIC_URL).unwrap();
        for (name, admin) in [("ada", true), ("dan", false)] {
            crate::accounts::users::create_user(
                &database.connection,
                &config,
                &testing::test_key_source(),
                crate::accounts::users::NewUser {
                    name,
                    password: "a long password",
                    email: None,
                    application_text: None,
                },
                kindred_entities::user::UserState::Active,
                admin,
            )
            .await
            .unwrap();
        }
        let sign_in = async |browser: &mut Browser, name: &str| {
            let csrf = browser.get("/login").await.csrf();
            browser
                .post(
                    "/login",
                    &[
                        ("name", name),
                        ("password", "a long password"),
                        ("csrf", &csrf),
                    ],
                )
                .await
        };
        let mut dan = Browser::new(&approval);
        sign_in(&mut dan, "dan").await;
        assert_eq!(dan.get("/admin").await.status, StatusCode::FORBIDDEN);
        let dan_csrf = dan.csrf().await;
        let not_admin = dan
            .post("/admin/users/cid/approve", &[("csrf", &dan_csrf)])
            .await;
        assert_eq!(not_admin.status, StatusCode::FORBIDDEN);
        let mut ada = Browser::new(&approval);
        sign_in(&mut ada, "ada").await;
        let admin_page = ada.get("/admin").await;
        assert!(
            admin_page.body.contains("I fix bikes"),
            "{}",
            admin_page.body
        );
        let ada_csrf = ada.csrf().await;
        let approved = ada
            .post("/admin/users/cid/approve", &[("csrf", &ada_csrf)])
            .await;
        assert_eq!(approved.location.as_deref(), Some("/admin"));
        let signed_in = sign_in(&mut applicant, "cid").await;
        assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    })
    .await;
}

#[tokio::test]
async fn members_write_threads_reply_vote_edit_and_delete() {
    testing::for_each_backend(async |backend| {
        let app = start_app(backend, RegistrationMode::Open).await;
        let (router, database) = (&app.router, &app.database);
        let db = &database.connection;
        let mut ann = Browser::new(&router);
        let mut bob = Browser::new(&router);
        let mut anonymous = Browser::new(&router);
        ann.register("ann").await;
        bob.register("bob").await;

        // Ann creates a group and is its first member.
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
        let taken = ann
            .post(
                "/create-group",
                &[("name", "bob"), ("title", "Taken"), ("csrf", &csrf)],
            )
            .await;
        assert_eq!(taken.status, StatusCode::CONFLICT);
        assert!(ann.get("/groups/repair").await.body.contains("New thread"));

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
        let untitled = ann
            .post(
                "/groups/repair/new-thread",
                &[("title", " "), ("body", "x"), ("csrf", &csrf)],
            )
            .await;
        assert_eq!(untitled.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(untitled.body.contains("a thread needs a title"));

        // Bob is not a member yet: he may read but not reply.
        let bob_csrf = bob.csrf().await;
        let page = bob.get(&thread_path).await;
        assert!(page.body.contains("Kettle &lt;clicks&gt;"));
        assert!(page.body.contains("<em>clicks</em>"));
        assert!(!page.body.contains("<script>alert"));
        let refused = bob
            .post(
                &format!("{thread_path}/reply"),
                &[("body", "Descale it"), ("csrf", &bob_csrf)],
            )
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert!(refused.body.contains("join it first"));
        bob.post("/groups/repair/join", &[("csrf", &bob_csrf)])
            .await;
        let replied = bob
            .post(
                &format!("{thread_path}/reply"),
                &[("body", "Descale it **first**"), ("csrf", &bob_csrf)],
            )
            .await;
        assert_eq!(replied.status, StatusCode::SEE_OTHER, "{}", replied.body);
        let reply = post::Entity::find()
            .filter(post::Column::ThreadId.eq(thread_id))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        let nested = ann
            .post(
                &format!("/posts/{}/reply", reply.id),
                &[("body", "Thanks!"), ("csrf", &csrf)],
            )
            .await;
        assert_eq!(nested.status, StatusCode::SEE_OTHER);

        // Everyone sees the replies, nested, and the count.
        let page = anonymous.get(&thread_path).await;
        assert!(
            page.body.contains("Descale it <strong>first</strong>"),
            "{}",
            page.body
        );
        assert!(page.body.contains("Thanks!"));
        assert!(page.body.contains("2 replies"));
        assert!(page.body.contains("style=\"--depth:2\""));
        assert!(!page.body.contains("/vote"), "votes need an account");

        // Ann hears of the replies to her thread; bob of ann's answer to him.
        let home = ann.get("/").await;
        assert!(
            home.body.contains("aria-label=\"1 unread\""),
            "{}",
            home.body
        );
        let notifications = ann.get("/notifications").await;
        assert!(
            notifications.body.contains("bob replied to you"),
            "{}",
            notifications.body
        );
        assert!(notifications.body.contains("class=\"unread\""));
        assert!(
            ann.get("/").await.body.contains("1 unread"),
            "reading is not marking read"
        );
        let marked = ann.post("/notifications/read", &[("csrf", &csrf)]).await;
        assert_eq!(marked.location.as_deref(), Some("/notifications"));
        assert!(!ann.get("/").await.body.contains("unread\""));
        assert!(
            bob.get("/notifications")
                .await
                .body
                .contains("ann replied to you")
        );
        // A mention of bob in a new thread reaches him too.
        ann.post(
            "/groups/repair/new-thread",
            &[
                ("title", "Tools"),
                ("body", "@bob, can you bring a multimeter?"),
                ("csrf", &csrf),
            ],
        )
        .await;
        assert!(
            bob.get("/notifications")
                .await
                .body
                .contains("ann mentioned you")
        );
        assert!(!ann.get("/notifications").await.body.contains("mentioned"));

        // Votes: like, like again (a toggle back to none), dislike.
        let vote = |value: &'static str| [("value", value), ("csrf", bob_csrf.as_str())];
        bob.post(&format!("{thread_path}/vote"), &vote("1")).await;
        assert_eq!(post_by_id(db, thread_id).await.like_count, 1);
        bob.post(&format!("{thread_path}/vote"), &vote("0")).await;
        assert_eq!(post_by_id(db, thread_id).await.like_count, 0);
        bob.post(&format!("{thread_path}/vote"), &vote("-1")).await;
        let voted = post_by_id(db, thread_id).await;
        assert_eq!((voted.like_count, voted.dislike_count), (0, 1));
        assert!(
            bob.get(&thread_path)
                .await
                .body
                .contains("aria-pressed=\"true\" aria-label=\"Dislike\"")
        );

        // Only the author edits or deletes.
        let edit_path = format!("/posts/{}/edit", reply.id);
        assert_eq!(ann.get(&edit_path).await.status, StatusCode::FORBIDDEN);
        let not_yours = ann
            .post(&edit_path, &[("body", "hijacked"), ("csrf", &csrf)])
            .await;
        assert_eq!(not_yours.status, StatusCode::FORBIDDEN);
        let edit_form = bob.get(&edit_path).await;
        assert!(
            edit_form.body.contains("Descale it **first**"),
            "the markdown is edited"
        );
        let edited = bob
            .post(
                &edit_path,
                &[("body", "Descale it with vinegar"), ("csrf", &bob_csrf)],
            )
            .await;
        assert_eq!(edited.status, StatusCode::SEE_OTHER);
        assert!(
            post_by_id(db, reply.id)
                .await
                .content_html
                .contains("vinegar")
        );
        let deleted = bob
            .post(
                &format!("/posts/{}/delete", reply.id),
                &[("csrf", &bob_csrf)],
            )
            .await;
        assert_eq!(deleted.status, StatusCode::SEE_OTHER);
        let page = anonymous.get(&thread_path).await;
        assert!(!page.body.contains("vinegar"));
        assert!(page.body.contains("(deleted)"));
        assert!(
            page.body.contains("Thanks!"),
            "answers to a deleted reply stay"
        );

        // The posts are ActivityPub objects at their ids.
        let (status, page_json) = anonymous.get_json(&thread_path).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(page_json["type"], "Page");
        assert_eq!(page_json["id"], format!("{PUBLIC_URL}{thread_path}"));
        assert_eq!(page_json["name"], "Kettle <clicks>");
        assert_eq!(page_json["audience"], format!("{PUBLIC_URL}/groups/repair"));
        assert_eq!(page_json["attributedTo"], format!("{PUBLIC_URL}/users/ann"));
        assert_eq!(page_json["source"]["mediaType"], "text/markdown");
        let (status, tombstone) = anonymous.get_json(&format!("/posts/{}", reply.id)).await;
        assert_eq!(status, StatusCode::GONE);
        assert_eq!(tombstone["type"], "Tombstone");
        let answer = post::Entity::find()
            .filter(post::Column::ParentId.eq(reply.id))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        let (_, note) = anonymous.get_json(&format!("/posts/{}", answer.id)).await;
        assert_eq!(note["type"], "Note");
        assert_eq!(
            note["inReplyTo"],
            format!("{PUBLIC_URL}/posts/{}", reply.id)
        );
        assert_eq!(note["context"], format!("{PUBLIC_URL}{thread_path}"));
        assert_eq!(note["tag"][0]["href"], format!("{PUBLIC_URL}/users/bob"));

        // Each action is in its author's outbox and relayed by the group (FEP-1b12).
        let group = crate::groups::directory::find_local_group(db, "repair")
            .await
            .unwrap();
        let announced: Vec<String> = activity::Entity::find()
            .filter(activity::Column::ActorId.eq(group.id))
            .all(db)
            .await
            .unwrap()
            .into_iter()
            .map(|row| {
                let json: Value = serde_json::from_str(&row.json).unwrap();
                json["object"]["type"]
                    .as_str()
                    .unwrap_or("boost")
                    .to_string()
            })
            .collect();
        for kind in [
            "Create", "Update", "Delete", "Like", "Dislike", "Undo", "boost",
        ] {
            assert!(
                announced.iter().any(|announced| announced == kind),
                "{kind}: {announced:?}"
            );
        }
        let ann_actor = actor::Entity::find()
            .filter(actor::Column::ApId.eq(format!("{PUBLIC_URL}/users/ann")))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        // Her two threads and her reply (votes by others are in their outboxes).
        let (_, outbox) = anonymous.get_json("/users/ann/outbox?page=1").await;
        assert_eq!(
            outbox["orderedItems"].as_array().unwrap().len(),
            3,
            "{outbox}"
        );
        assert!(ann_actor.local);

        // Joining by address: a local group by its handle; an unreachable server is a clear error.
        let cid_token = {
            let mut cid = Browser::new(&router);
            cid.register("cid").await;
            let cid_csrf = cid.csrf().await;
            let joined = cid
                .post(
                    "/join-remote",
                    &[
                        ("address", "!repair@kindred.test:8080"),
                        ("csrf", &cid_csrf),
                    ],
                )
                .await;
            assert_eq!(joined.location.as_deref(), Some("/groups/repair"));
            assert!(cid.get("/groups/repair").await.body.contains("Leave group"));
            let unreachable = cid
                .post(
                    "/join-remote",
                    &[("address", "!nothing@127.0.0.1:1"), ("csrf", &cid_csrf)],
                )
                .await;
            assert_eq!(
                unreachable.status,
                StatusCode::NOT_FOUND,
                "{}",
                unreachable.body
            );
            assert!(unreachable.body.contains("group at that address not found"));
            cid_csrf
        };
        assert!(!cid_token.is_empty());

        // Leaving works; a left member may no longer post.
        bob.post("/groups/repair/leave", &[("csrf", &bob_csrf)])
            .await;
        let after = bob
            .post(
                &format!("{thread_path}/reply"),
                &[("body", "again"), ("csrf", &bob_csrf)],
            )
            .await;
        assert_eq!(after.status, StatusCode::FORBIDDEN);

        // The owner edits the group; nobody else may.
        assert_eq!(
            bob.get("/groups/repair/edit").await.status,
            StatusCode::FORBIDDEN
        );
        let not_owner = bob
            .post(
                "/groups/repair/edit",
                &[("title", "Mine"), ("csrf", &bob_csrf)],
            )
            .await;
        assert_eq!(not_owner.status, StatusCode::FORBIDDEN);
        assert!(ann.get("/groups/repair").await.body.contains("Edit group"));
        let bad_icon = ann
            .post(
                "/groups/repair/edit",
                &[
                    ("title", "Repair café"),
                    ("icon_url", "javascript:alert(1)"),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert_eq!(bad_icon.status, StatusCode::UNPROCESSABLE_ENTITY);
        let edited = ann
            .post(
                "/groups/repair/edit",
                &[
                    ("title", "Repair café Lyon"),
                    ("summary", "Every *Saturday*"),
                    ("icon_url", "https://images.example/wrench.png"),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert_eq!(edited.status, StatusCode::SEE_OTHER, "{}", edited.body);
        let group_page = anonymous.get("/groups/repair").await;
        assert!(group_page.body.contains("Repair café Lyon"));
        assert!(group_page.body.contains("<em>Saturday</em>"));
        assert!(
            group_page
                .body
                .contains("src=\"https://images.example/wrench.png\"")
        );
        let (_, group_json) = anonymous.get_json("/groups/repair").await;
        assert_eq!(
            group_json["name"], "Repair café Lyon",
            "the cached actor was refreshed"
        );

        assert!(group_page.body.contains("type=\"application/atom+xml\""));

        // Every form refuses a POST without its token, and one from another site.
        let post_routes = [
            "/logout".to_string(),
            "/settings/password".to_string(),
            "/settings/tokens".to_string(),
            "/settings/tokens/1/revoke".to_string(),
            "/notifications/read".to_string(),
            "/create-group".to_string(),
            "/join-remote".to_string(),
            "/groups/repair/join".to_string(),
            "/groups/repair/leave".to_string(),
            "/groups/repair/edit".to_string(),
            "/groups/repair/new-thread".to_string(),
            format!("{thread_path}/reply"),
            format!("{thread_path}/vote"),
            format!("{thread_path}/edit"),
            format!("{thread_path}/delete"),
            "/admin/users/bob/approve".to_string(),
            "/groups/repair/requests/1/approve".to_string(),
            "/groups/repair/moderators".to_string(),
            "/groups/repair/moderators/1/dismiss".to_string(),
            "/groups/repair/bans".to_string(),
            "/groups/repair/bans/1/lift".to_string(),
            format!("{thread_path}/moderate/remove"),
            format!("{thread_path}/moderate/lock"),
            format!("{thread_path}/report"),
            "/groups/repair/reports/1/resolve".to_string(),
        ];
        for route in &post_routes {
            let fields = [
                ("value", "1"),
                ("title", "t"),
                ("body", "b"),
                ("address", "repair"),
            ];
            let without_token = ann.post(route, &fields).await;
            assert_eq!(without_token.status, StatusCode::FORBIDDEN, "{route}");
            assert!(
                without_token.body.contains("form expired"),
                "{route}: {}",
                without_token.body
            );
            let mut with_token = fields.to_vec();
            with_token.push(("csrf", &csrf));
            let cross_site = ann
                .post_from(route, &with_token, "https://evil.example")
                .await;
            assert_eq!(cross_site.status, StatusCode::FORBIDDEN, "{route}");
            assert!(cross_site.body.contains("another site"), "{route}");
        }
        assert_eq!(
            post_by_id(db, thread_id).await.title.as_deref(),
            Some("Kettle <clicks>")
        );

        // Malformed requests from a browser get an error page, not a bare text.
        let malformed = anonymous.get("/posts/not-a-number").await;
        assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
        assert!(
            malformed.body.contains("<h1>Bad Request</h1>"),
            "{}",
            malformed.body
        );
        let missing = anonymous.get("/no/such/page").await;
        assert!(missing.body.contains("<h1>Not Found</h1>"));

        // The Atom feed lists the threads, with their HTML escaped inside the XML.
        let feed = anonymous.get("/groups/repair/feed.atom").await;
        assert_eq!(feed.status, StatusCode::OK);
        assert!(feed.body.starts_with("<?xml"));
        assert!(
            feed.body.contains("<title>Kettle &lt;clicks&gt;</title>"),
            "{}",
            feed.body
        );
        assert!(feed.body.contains("&lt;em&gt;clicks&lt;/em&gt;"));
        assert!(!feed.body.contains("<script"));

        // The front page lists and searches groups.
        assert!(
            anonymous
                .get("/?q=REPAIR")
                .await
                .body
                .contains("Repair café")
        );
        assert!(
            anonymous
                .get("/?q=saturday")
                .await
                .body
                .contains("Repair café")
        );
        assert!(
            anonymous
                .get("/?q=knitting")
                .await
                .body
                .contains("No group matches")
        );
        let sorted = anonymous.get("/groups/repair?sort=top").await;
        assert!(sorted.body.contains("Kettle &lt;clicks&gt;"));
    })
    .await;
}

#[tokio::test]
async fn signed_out_visitors_are_sent_to_sign_in_and_errors_are_pages() {
    testing::for_each_backend(async |backend| {
        let app = start_app(backend, RegistrationMode::Open).await;
        let router = &app.router;
        let mut anonymous = Browser::new(&router);
        for path in ["/settings", "/create-group"] {
            let page = anonymous.get(path).await;
            assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}");
            assert_eq!(page.location.as_deref(), Some("/login"));
        }
        let vote = anonymous
            .post("/posts/1/vote", &[("value", "1"), ("csrf", "x")])
            .await;
        assert_eq!(vote.location.as_deref(), Some("/login"));
        let missing = anonymous.get("/posts/999").await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        assert!(
            missing.body.contains("<h1>Not Found</h1>"),
            "{}",
            missing.body
        );
        assert!(missing.body.contains("post not found"));
        let missing_json = anonymous
            .request(
                Request::builder()
                    .uri("/posts/999")
                    .header(header::ACCEPT, "application/activity+json"),
                Body::empty(),
            )
            .await;
        assert_eq!(missing_json.status, StatusCode::NOT_FOUND);
        assert_eq!(missing_json.body, "post not found");
    })
    .await;
}

async fn post_by_id(database: &sea_orm::DatabaseConnection, id: i64) -> post::Model {
    crate::database::unique_row(post::Entity::find_by_id(id), database)
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn moderators_approve_members_remove_restore_and_lock_from_the_pages() {
    testing::for_each_backend(async |backend| {
        let app = start_app(backend, RegistrationMode::Open).await;
        let router = &app.router;
        let mut ann = Browser::new(&router);
        let mut bob = Browser::new(&router);
        let mut anonymous = Browser::new(&router);
        ann.register("ann").await;
        bob.register("bob").await;
        let csrf = ann.csrf().await;
        let bob_csrf = bob.csrf().await;
        ann.post(
            "/create-group",
            &[("name", "repair"), ("title", "Repair"), ("csrf", &csrf)],
        )
        .await;

        // The owner turns on approval; bob's request waits on the moderation page.
        let settings = ann
            .post(
                "/groups/repair/edit",
                &[
                    ("title", "Repair"),
                    ("posting_mode", "members"),
                    ("approval", "on"),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert_eq!(settings.status, StatusCode::SEE_OTHER, "{}", settings.body);
        bob.post("/groups/repair/join", &[("csrf", &bob_csrf)])
            .await;
        assert!(
            bob.get("/groups/repair")
                .await
                .body
                .contains("waits for a moderator")
        );
        assert_eq!(
            bob.get("/groups/repair/moderation").await.status,
            StatusCode::FORBIDDEN
        );
        assert!(
            !bob.get("/groups/repair")
                .await
                .body
                .contains("/moderation\"")
        );
        let moderation = ann.get("/groups/repair/moderation").await;
        assert!(moderation.body.contains("bob"), "{}", moderation.body);
        let marker = "action=\"/groups/repair/requests/";
        let start = moderation.body.find(marker).unwrap() + marker.len();
        let bob_id: String = moderation.body[start..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        let approved = ann
            .post(
                &format!("/groups/repair/requests/{bob_id}/approve"),
                &[("csrf", &csrf)],
            )
            .await;
        assert_eq!(
            approved.location.as_deref(),
            Some("/groups/repair/moderation")
        );
        assert!(bob.get("/groups/repair").await.body.contains("Leave group"));

        // Bob posts; ann removes it with a reason, everyone else sees it gone, then restores it.
        let posted = bob
            .post(
                "/groups/repair/new-thread",
                &[
                    ("title", "Cheap watches"),
                    ("body", "Buy now"),
                    ("csrf", &bob_csrf),
                ],
            )
            .await;
        let thread_path = posted.location.unwrap();
        assert!(
            !bob.get(&thread_path).await.body.contains("/moderate/"),
            "members do not moderate"
        );
        let removed = ann
            .post(
                &format!("{thread_path}/moderate/remove"),
                &[("reason", "spam"), ("csrf", &csrf)],
            )
            .await;
        assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.body);
        let public = anonymous.get(&thread_path).await;
        assert!(public.body.contains("(removed by a moderator)"));
        assert!(!public.body.contains("Buy now"));
        assert!(
            !anonymous
                .get("/groups/repair")
                .await
                .body
                .contains("Cheap watches")
        );
        let for_moderator = ann.get(&thread_path).await;
        assert!(for_moderator.body.contains("Buy now") && for_moderator.body.contains("Restore"));
        let log = anonymous.get("/groups/repair/modlog").await;
        assert!(log.body.contains("removed a post"), "{}", log.body);
        assert!(log.body.contains("spam"));
        assert!(
            !log.body.contains("approved a member"),
            "who asked to join stays private"
        );
        ann.post(
            &format!("{thread_path}/moderate/restore"),
            &[("csrf", &csrf)],
        )
        .await;
        assert!(anonymous.get(&thread_path).await.body.contains("Buy now"));

        // A locked thread takes no replies from members.
        ann.post(&format!("{thread_path}/moderate/lock"), &[("csrf", &csrf)])
            .await;
        let locked = bob.get(&thread_path).await;
        assert!(locked.body.contains("This thread is locked"));
        assert!(!locked.body.contains("/reply\""));
        let refused = bob
            .post(
                &format!("{thread_path}/reply"),
                &[("body", "but"), ("csrf", &bob_csrf)],
            )
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert!(
            anonymous
                .get("/groups/repair")
                .await
                .body
                .contains("(locked)")
        );

        // The owner appoints bob; now bob moderates too.
        let appointed = ann
            .post(
                "/groups/repair/moderators",
                &[("member", "bob"), ("csrf", &csrf)],
            )
            .await;
        assert_eq!(
            appointed.status,
            StatusCode::SEE_OTHER,
            "{}",
            appointed.body
        );
        assert!(bob.get(&thread_path).await.body.contains("Unlock thread"));
        let (_, moderators) = anonymous.get_json("/groups/repair/moderators").await;
        assert_eq!(moderators["totalItems"], 2, "{moderators}");
        assert_eq!(
            moderators["orderedItems"][0],
            format!("{PUBLIC_URL}/users/ann")
        );

        // A report from the thread page reaches the moderation page, and is resolved there.
        let reported = anonymous.get(&thread_path).await;
        assert!(
            !reported.body.contains("/report\""),
            "reporting needs an account"
        );
        let sent = bob
            .post(
                &format!("{thread_path}/report"),
                &[("reason", "<b>rude</b>"), ("csrf", &bob_csrf)],
            )
            .await;
        assert!(sent.body.contains("Your report was sent"), "{}", sent.body);
        let page = ann.get("/groups/repair/moderation").await;
        assert!(
            page.body
                .contains("reported by bob: “&lt;b&gt;rude&lt;/b&gt;”"),
            "{}",
            page.body
        );
        let marker = "action=\"/groups/repair/reports/";
        let start = page.body.find(marker).unwrap() + marker.len();
        let report_id: String = page.body[start..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        ann.post(
            &format!("/groups/repair/reports/{report_id}/resolve"),
            &[("csrf", &csrf)],
        )
        .await;
        assert!(
            ann.get("/groups/repair/moderation")
                .await
                .body
                .contains("No open reports")
        );

        // Bans from the moderation page: cid (a person) and a whole server.
        let mut cid = Browser::new(&router);
        cid.register("cid").await;
        let cid_csrf = cid.csrf().await;
        let banned = ann
            .post(
                "/groups/repair/bans",
                &[
                    ("who", "cid"),
                    ("reason", "trolling"),
                    ("days", "3"),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert_eq!(banned.status, StatusCode::SEE_OTHER, "{}", banned.body);
        ann.post(
            "/groups/repair/bans",
            &[("who", "spam.example"), ("csrf", &csrf)],
        )
        .await;
        let page = ann.get("/groups/repair/moderation").await;
        assert!(page.body.contains("cid — trolling"), "{}", page.body);
        assert!(page.body.contains("everyone on spam.example"));
        let refused = cid
            .post("/groups/repair/join", &[("csrf", &cid_csrf)])
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert!(refused.body.contains("banned from this group"));
        let bad_days = ann
            .post(
                "/groups/repair/bans",
                &[("who", "cid"), ("days", "soon"), ("csrf", &csrf)],
            )
            .await;
        assert_eq!(bad_days.status, StatusCode::UNPROCESSABLE_ENTITY);
        let marker = "action=\"/groups/repair/bans/";
        let start = page.body.find(marker).unwrap() + marker.len();
        let ban_id: String = page.body[start..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        ann.post(
            &format!("/groups/repair/bans/{ban_id}/lift"),
            &[("csrf", &csrf)],
        )
        .await;
        assert!(
            !ann.get("/groups/repair/moderation")
                .await
                .body
                .contains(&format!("bans/{ban_id}/lift"))
        );
    })
    .await;
}

#[tokio::test]
async fn a_throttled_sign_in_page_says_when_to_come_back() {
    let app = start_app(Backend::Sqlite, RegistrationMode::Closed).await;
    let (router, database) = (&app.router, &app.database);
    let config = testing::test_config(PUBLIC_URL).unwrap();
    crate::accounts::users::create_user(
        &database.connection,
        &config,
        &testing::test_key_source(),
        crate::accounts::users::NewUser {
            name: "wendy_web_throttle",
            password: "a long password",
            email: None,
            application_text: None,
        },
        kindred_entities::user::UserState::Active,
        false,
    )
    .await
    .unwrap();
    let mut guesser = Browser::new(&router);
    let csrf = guesser.get("/login").await.csrf();
    let attempt = async |browser: &mut Browser, password: &str| {
        browser
            .post(
                "/login",
                &[
                    ("name", "wendy_web_throttle"),
                    ("password", password),
                    ("csrf", &csrf),
                ],
            )
            .await
    };
    for _ in 0..crate::accounts::users::MAX_SIGN_IN_FAILURES {
        assert_eq!(
            attempt(&mut guesser, "guess").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let throttled = attempt(&mut guesser, "a long password").await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = throttled.retry_after.as_deref().unwrap().parse().unwrap();
    assert!(wait > 0 && wait <= 15 * 60, "{wait}");
    assert!(
        throttled.body.contains("try again in"),
        "{}",
        throttled.body
    );
}
