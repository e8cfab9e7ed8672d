//! Premoderated groups: posts wait for a moderator, and neither editing nor a ban slips a held
//! post out.

use super::*;

#[tokio::test]
async fn posts_in_a_premoderated_group_wait_for_a_moderator() {
    testing::for_each_backend(async |backend| {
        let app = start_app(backend, RegistrationMode::Open, GroupCreation::Anyone).await;
        let (router, database) = (&app.router, &app.database);
        let owner = account(router, database, "ann", false).await;
        let member = account(router, database, "bob", false).await;
        found_repair(router, &owner, &[]).await;
        call(
            router,
            Method::PATCH,
            "/groups/repair",
            Some(&owner),
            Some(json!({ "title": "Repair", "posting_mode": "premoderated" })),
        )
        .await;
        call(
            router,
            Method::POST,
            "/groups/repair/membership",
            Some(&member),
            None,
        )
        .await;
        let posted = call(
            router,
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
            call(router, Method::GET, "/groups/repair/threads", None, None)
                .await
                .json
                .as_array()
                .unwrap()
                .is_empty()
        );
        assert_error(
            &call(router, Method::GET, &format!("/posts/{id}"), None, None).await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
        assert_eq!(
            call(
                router,
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
            router,
            Method::POST,
            "/groups/repair/threads",
            Some(&owner),
            Some(json!({ "title": "Rules", "body": "be kind" })),
        )
        .await;
        assert_eq!(owners.json["awaiting_approval"], false);

        assert_error(
            &call(
                router,
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
            router,
            Method::GET,
            "/groups/repair/queue",
            Some(&owner),
            None,
        )
        .await;
        assert_eq!(queue.json.as_array().unwrap().len(), 1, "{}", queue.json);
        let approve = format!("/posts/{id}/moderate/approve");
        assert_error(
            &call(router, Method::POST, &approve, Some(&member), None).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
        let approved = call(router, Method::POST, &approve, Some(&owner), None).await;
        assert_eq!(
            approved.json["awaiting_approval"], false,
            "{}",
            approved.json
        );
        assert_eq!(
            call(router, Method::GET, "/groups/repair/threads", None, None)
                .await
                .json
                .as_array()
                .unwrap()
                .len(),
            2
        );
        assert_error(
            &call(router, Method::POST, &approve, Some(&owner), None).await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
    })
    .await;
}

#[tokio::test]
async fn held_and_banned_posts_cannot_be_slipped_out_by_editing() {
    testing::for_each_backend(async |backend| {
        let app = start_app(backend, RegistrationMode::Open, GroupCreation::Anyone).await;
        let (router, database) = (&app.router, &app.database);
        let owner = account(router, database, "ann", false).await;
        let member = account(router, database, "bob", false).await;
        let bob_id = call(router, Method::GET, "/me", Some(&member), None)
            .await
            .json["id"]
            .as_i64()
            .unwrap();
        found_repair(router, &owner, &[&member]).await;
        let published = call(
            router,
            Method::POST,
            "/groups/repair/threads",
            Some(&member),
            Some(json!({ "title": "Ok", "body": "fine" })),
        )
        .await;
        let published_id = published.json["id"].as_i64().unwrap();
        call(
            router,
            Method::PATCH,
            "/groups/repair",
            Some(&owner),
            Some(json!({ "title": "Repair", "posting_mode": "premoderated" })),
        )
        .await;
        let held = call(
            router,
            Method::POST,
            "/groups/repair/threads",
            Some(&member),
            Some(json!({ "title": "Wait", "body": "v1" })),
        )
        .await;
        let held_id = held.json["id"].as_i64().unwrap();

        // Editing a held post keeps it held (and the edit is what approval will publish).
        let edited = call(
            router,
            Method::PATCH,
            &format!("/posts/{held_id}"),
            Some(&member),
            Some(json!({ "body": "v2" })),
        )
        .await;
        assert_eq!(edited.json["awaiting_approval"], true, "{}", edited.json);
        assert_error(
            &call(
                router,
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
                router,
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
                router,
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
                router,
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
            router,
            Method::POST,
            "/groups/repair/bans",
            Some(&owner),
            Some(json!({ "person_id": bob_id })),
        )
        .await;
        assert_error(
            &call(
                router,
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
                router,
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
