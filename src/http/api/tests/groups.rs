//! Groups through the API: creating (and who may), reading, editing, joining and leaving.

use super::*;

#[tokio::test]
async fn creating_reading_editing_joining_and_leaving_groups() {
    testing::for_each_backend(async |backend| {
        let app = start_app(backend, RegistrationMode::Open, GroupCreation::Anyone).await;
        let (router, database) = (&app.router, &app.database);
        let admin = account(router, database, "ada", true).await;
        let ann = account(router, database, "ann", false).await;
        let bob = account(router, database, "bob", false).await;
        let cid = account(router, database, "cid", false).await;
        let new_group = json!({ "name": "repair", "title": "Repair café", "summary": "We *fix*" });

        // Creating a group.
        assert_error(
            &call(
                router,
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
            router,
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
                router,
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
                router,
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
            &raw(router, "/groups", &bob, "application/json", "{not json").await,
            StatusCode::BAD_REQUEST,
            "bad_request",
        );
        assert_error(
            &raw(router, "/groups", &bob, "text/plain", "{}").await,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        );

        // Reading is open to everyone.
        let listed = call(router, Method::GET, "/groups?q=FIX", None, None).await;
        assert_eq!(listed.json.as_array().unwrap().len(), 1);
        assert_eq!(listed.json[0]["membership"], Value::Null);
        let seen_by_ann = call(router, Method::GET, "/groups/repair", Some(&ann), None).await;
        assert_eq!(seen_by_ann.json["member_count"], 1);
        assert_error(
            &call(router, Method::GET, "/groups/nothing", None, None).await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
        assert_error(
            &call(router, Method::GET, "/no/such/endpoint", None, None).await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
        assert_error(
            &call(router, Method::GET, "/groups/repair/threads?sort=bogus", None, None).await,
            StatusCode::BAD_REQUEST,
            "bad_request",
        );
        assert_error(
            &call(router, Method::PUT, "/groups", Some(&bob), None).await,
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        );

        // Joining.
        let joined = call(
            router,
            Method::POST,
            "/groups/repair/membership",
            Some(&bob),
            None,
        )
        .await;
        assert_eq!(joined.json["membership"], "accepted");

        // Editing the group: its owner or an administrator.
        let group_edit = json!({ "title": "Repair café Lyon", "summary": "Saturdays", "icon_url": "https://images.example/i.png" });
        assert_error(&call(router, Method::PATCH, "/groups/repair", None, Some(group_edit.clone())).await, StatusCode::UNAUTHORIZED, "unauthorized");
        assert_error(&call(router, Method::PATCH, "/groups/repair", Some(&bob), Some(group_edit.clone())).await, StatusCode::FORBIDDEN, "forbidden");
        assert_error(&call(router, Method::PATCH, "/groups/repair", Some(&cid), Some(group_edit.clone())).await, StatusCode::FORBIDDEN, "forbidden");
        assert_error(
            &call(router, Method::PATCH, "/groups/repair", Some(&ann), Some(json!({ "title": "x", "icon_url": "ftp://x" }))).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        );
        let edited_group = call(router, Method::PATCH, "/groups/repair", Some(&ann), Some(group_edit)).await;
        assert_eq!(edited_group.status, StatusCode::OK, "{}", edited_group.json);
        assert_eq!(edited_group.json["title"], "Repair café Lyon");
        let by_admin = call(router, Method::PATCH, "/groups/repair", Some(&admin), Some(json!({ "title": "Repair café" }))).await;
        assert_eq!(by_admin.status, StatusCode::OK, "{}", by_admin.json);
        assert_eq!(by_admin.json["summary_html"], "<p>Saturdays</p>\n", "left out, kept");

        // Leaving.
        assert_eq!(
            call(
                router,
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
                router,
                Method::DELETE,
                "/groups/repair/membership",
                Some(&bob),
                None,
            )
            .await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
    })
    .await;
}

#[tokio::test]
async fn only_administrators_create_groups_when_so_configured() {
    testing::for_each_backend(async |backend| {
        let app = start_app(backend, RegistrationMode::Open, GroupCreation::Admins).await;
        let (admins_only, database) = (&app.router, &app.database);
        let admin = account(admins_only, database, "ada", true).await;
        let cid = account(admins_only, database, "cid", false).await;
        let group = json!({ "name": "study", "title": "Study" });
        assert_error(
            &call(
                admins_only,
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
                admins_only,
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
