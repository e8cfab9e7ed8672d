//! What every page does with bad requests: forms without their token or from another site,
//! malformed requests, signed-out visitors and missing pages.

use super::*;

#[tokio::test]
async fn every_form_refuses_a_post_without_its_token_or_from_another_site() {
    testing::for_each_backend(async |backend| {
        let RepairCafe {
            app,
            mut ann,
            csrf,
            thread_path,
            thread_id,
            ..
        } = repair_cafe(backend).await;
        let db = &app.database.connection;
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
    })
    .await;
}

#[tokio::test]
async fn malformed_requests_from_a_browser_get_an_error_page() {
    testing::for_each_backend(async |backend| {
        let app = start_app(backend, RegistrationMode::Open).await;
        let mut anonymous = Browser::new(&app.router);
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
    })
    .await;
}

#[tokio::test]
async fn signed_out_visitors_are_sent_to_sign_in_and_errors_are_pages() {
    testing::for_each_backend(async |backend| {
        let app = start_app(backend, RegistrationMode::Open).await;
        let router = &app.router;
        let mut anonymous = Browser::new(router);
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
