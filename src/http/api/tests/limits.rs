//! Limits on what the API takes: sign-ups per address, declared lengths and NUL characters.

use super::*;

#[tokio::test]
async fn sign_ups_from_one_address_are_throttled() {
    testing::for_each_backend(async |backend| {
        let app = TestApp::on(backend)
            .configured(|config| {
                config.instance.registration = RegistrationMode::Open;
                config.instance.registrations_per_hour_per_address = 2;
            })
            .start()
            .await;
        let router = &app.router;
        for name in ["one", "two"] {
            let created = call(
                router,
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
async fn declared_lengths_and_nul_characters_are_refused_not_cut() {
    testing::for_each_backend(async |backend| {
        let app = start_app(backend, RegistrationMode::Open, GroupCreation::Anyone).await;
        let (router, database) = (&app.router, &app.database);
        let owner = account(router, database, "ann", false).await;
        let member = account(router, database, "bob", false).await;
        found_repair(router, &owner, &[&member]).await;
        let thread = call(
            router,
            Method::POST,
            "/groups/repair/threads",
            Some(&member),
            Some(json!({ "title": "Hm", "body": "words" })),
        )
        .await;
        let thread_id = thread.json["id"].as_i64().unwrap();
        let bob_id = call(router, Method::GET, "/me", Some(&member), None)
            .await
            .json["id"]
            .as_i64()
            .unwrap();

        // The OpenAPI document declares these lengths: one character more is refused.
        let report = format!("/posts/{thread_id}/report");
        assert_error(
            &call(
                router,
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
                router,
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
                router,
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
            router,
            Method::POST,
            &report,
            Some(&member),
            Some(json!({ "reason": "r".repeat(2000) })),
        )
        .await;
        assert!(kept.status.is_success(), "{}", kept.json);
        let reports = call(
            router,
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
            router,
            Method::POST,
            "/groups/repair/threads",
            Some(&member),
            Some(json!({ "title": "Nul\u{0}", "body": "x" })),
        )
        .await;
        assert_error(&answer, StatusCode::UNPROCESSABLE_ENTITY, "invalid");
        let answer = raw(
            router,
            "/groups/repair/threads",
            &member,
            "application/json",
            r#"{"title":"Nul","body":"a\u0000b"}"#,
        )
        .await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
        let threads = call(
            router,
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
