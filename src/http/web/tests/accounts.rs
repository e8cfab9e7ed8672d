//! Accounts on the pages: registering, signing in and out, passwords and tokens, closed and
//! approval registration, and the throttled sign-in page.

use super::*;

#[tokio::test]
async fn accounts_register_sign_in_change_password_and_sign_out() {
    testing::for_each_backend(async |backend| {
        let app = start_app(backend, RegistrationMode::Open).await;
        let (router, database) = (&app.router, &app.database);
        let mut ann = Browser::new(router);

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
        let mut visitor = Browser::new(closed);
        assert!(!visitor.get("/").await.body.contains("href=\"/register\""));
        assert_eq!(visitor.get("/register").await.status, StatusCode::FORBIDDEN);

        let approval_app = start_app(backend, RegistrationMode::Approval).await;
        let (approval, database) = (&approval_app.router, &approval_app.database);
        let mut applicant = Browser::new(approval);
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
        let mut dan = Browser::new(approval);
        sign_in(&mut dan, "dan").await;
        assert_eq!(dan.get("/admin").await.status, StatusCode::FORBIDDEN);
        let dan_csrf = dan.csrf().await;
        let not_admin = dan
            .post("/admin/users/cid/approve", &[("csrf", &dan_csrf)])
            .await;
        assert_eq!(not_admin.status, StatusCode::FORBIDDEN);
        let mut ada = Browser::new(approval);
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
async fn a_throttled_sign_in_page_says_when_to_come_back() {
    let app = TestApp::on(Backend::Sqlite)
        .configured(|config| config.instance.registration = RegistrationMode::Closed)
        .with_user("wendy_web_throttle")
        .start()
        .await;
    let router = &app.router;
    let mut guesser = Browser::new(router);
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

/// Signs `browser` in as `name`, with the test password.
async fn sign_in_as(browser: &mut Browser, name: &str) {
    let csrf = browser.get("/login").await.csrf();
    let signed_in = browser
        .post(
            "/login",
            &[
                ("name", name),
                ("password", testing::TEST_PASSWORD),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.body
    );
}

#[tokio::test]
async fn an_administrator_changes_the_instance_settings_and_reads_federation_health() {
    testing::for_each_backend(async |backend| {
        let app = TestApp::on(backend)
            .configured(|config| config.instance.registration = RegistrationMode::Open)
            .with_admin("ada")
            .with_user("dan")
            .start()
            .await;
        let router = &app.router;
        let mut visitor = Browser::new(router);
        assert!(
            visitor
                .get("/groups")
                .await
                .body
                .contains("href=\"/register\"")
        );
        let mut dan = Browser::new(router);
        sign_in_as(&mut dan, "dan").await;
        let mut ada = Browser::new(router);
        sign_in_as(&mut ada, "ada").await;

        let settings = [
            ("name", "Zero-waste <circle>"),
            ("description", "We mend & share"),
            ("registration", "closed"),
            ("group_creation", "admins"),
        ];
        let with_csrf = |csrf: &str| {
            let mut fields: Vec<(&str, String)> = settings
                .iter()
                .map(|(name, value)| (*name, value.to_string()))
                .collect();
            fields.push(("csrf", csrf.to_string()));
            fields
        };
        // Not an administrator: refused, nothing changes.
        let dan_csrf = dan.csrf().await;
        let fields = with_csrf(&dan_csrf);
        let fields: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
        assert_eq!(
            dan.post("/admin/settings", &fields).await.status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            dan.get("/admin/federation").await.status,
            StatusCode::FORBIDDEN
        );

        // The administrator's form shows the config's values, and saves new ones.
        let admin_page = ada.get("/admin").await;
        assert!(
            admin_page.body.contains("value=\"open\" selected"),
            "{}",
            admin_page.body
        );
        let ada_csrf = ada.csrf().await;
        let fields = with_csrf(&ada_csrf);
        let fields: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let saved = ada.post("/admin/settings", &fields).await;
        assert_eq!(
            saved.location.as_deref(),
            Some("/admin#settings"),
            "{}",
            saved.body
        );
        let admin_page = ada.get("/admin").await;
        assert!(admin_page.body.contains("value=\"closed\" selected"));
        assert!(admin_page.body.contains("value=\"admins\" selected"));

        // They apply at once: the name and description on the pages, registration closed,
        // groups made by administrators only, and NodeInfo says so.
        let directory = visitor.get("/groups").await;
        assert!(
            directory.body.contains("Zero-waste &lt;circle&gt;"),
            "{}",
            directory.body
        );
        assert!(directory.body.contains("We mend &amp; share"));
        assert!(!directory.body.contains("href=\"/register\""));
        assert_eq!(visitor.get("/register").await.status, StatusCode::FORBIDDEN);
        let dan_csrf = dan.csrf().await;
        let refused = dan
            .post(
                "/create-group",
                &[("name", "bikes"), ("title", "Bikes"), ("csrf", &dan_csrf)],
            )
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
        let (_, nodeinfo) = visitor.get_json("/nodeinfo/2.1").await;
        assert_eq!(nodeinfo["openRegistrations"], false);
        assert_eq!(nodeinfo["metadata"]["nodeName"], "Zero-waste <circle>");

        // A value the form does not offer is refused.
        let mut bad = fields.clone();
        bad[2] = ("registration", "sometimes");
        assert_eq!(
            ada.post("/admin/settings", &bad).await.status,
            StatusCode::UNPROCESSABLE_ENTITY
        );

        // Federation health: the day's samples as SVG bars, and the servers failing now.
        kindred_entities::federation_health_sample::Entity::insert(
            kindred_entities::federation_health_sample::ActiveModel {
                id: sea_orm::ActiveValue::NotSet,
                sampled_at: sea_orm::ActiveValue::Set(chrono::Utc::now()),
                delivered: sea_orm::ActiveValue::Set(42),
                failed: sea_orm::ActiveValue::Set(3),
                refused: sea_orm::ActiveValue::Set(1),
                queue_depth: sea_orm::ActiveValue::Set(7),
                failing_servers: sea_orm::ActiveValue::Set(2),
                dead_servers: sea_orm::ActiveValue::Set(1),
            },
        )
        .exec(&app.database.connection)
        .await
        .unwrap();
        let health = ada.get("/admin/federation").await;
        assert_eq!(health.status, StatusCode::OK, "{}", health.body);
        assert!(
            health.body.contains("42 delivered, 3 failed"),
            "{}",
            health.body
        );
        assert_eq!(health.body.matches("<svg").count(), 3);
        assert!(health.body.contains("<rect class=\"delivered\""));
        assert!(health.body.contains("42 delivered</title>"));
        assert!(health.body.contains("7 waiting</title>"));
        assert!(health.body.contains("3 failing or dead</title>"));
        assert!(health.body.contains("Every server answers."));
        assert!(!health.body.contains("<script"));
    })
    .await;
}
