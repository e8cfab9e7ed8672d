//! Bans (of people and servers, with their content, and lifted again) and reports, which reach
//! the group's moderators and only them.

use super::*;

#[tokio::test]
async fn bans_end_membership_refuse_activity_and_can_be_lifted() {
    testing::for_each_backend(async |backend| {
        let app = start_app(backend, RegistrationMode::Open, GroupCreation::Anyone).await;
        let (router, database) = (&app.router, &app.database);
        let owner = account(router, database, "ann", false).await;
        let member = account(router, database, "bob", false).await;
        let other = account(router, database, "cid", false).await;
        let bob_id = call(router, Method::GET, "/me", Some(&member), None).await.json["id"].as_i64().unwrap();
        let ann_id = call(router, Method::GET, "/me", Some(&owner), None).await.json["id"].as_i64().unwrap();
        call(router, Method::POST, "/groups", Some(&owner), Some(json!({ "name": "repair", "title": "Repair" }))).await;
        call(router, Method::POST, "/groups/repair/membership", Some(&member), None).await;
        let thread = call(router, Method::POST, "/groups/repair/threads", Some(&member), Some(json!({ "title": "Spam", "body": "buy" }))).await;
        let thread_id = thread.json["id"].as_i64().unwrap();
        let owner_thread = call(router, Method::POST, "/groups/repair/threads", Some(&owner), Some(json!({ "title": "Rules", "body": "be kind" }))).await;
        let owner_thread_id = owner_thread.json["id"].as_i64().unwrap();

        let ban = json!({ "person_id": bob_id, "reason": "spam", "expires_in_days": 7, "remove_content": true });
        assert_error(&call(router, Method::POST, "/groups/repair/bans", None, Some(ban.clone())).await, StatusCode::UNAUTHORIZED, "unauthorized");
        assert_error(&call(router, Method::POST, "/groups/repair/bans", Some(&other), Some(ban.clone())).await, StatusCode::FORBIDDEN, "forbidden");
        assert_error(
            &call(router, Method::POST, "/groups/repair/bans", Some(&owner), Some(json!({ "person_id": ann_id }))).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        );
        assert_error(
            &call(router, Method::POST, "/groups/repair/bans", Some(&owner), Some(json!({ "person_id": bob_id, "expires_in_days": 0 }))).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        );
        assert_error(&call(router, Method::POST, "/groups/repair/bans", Some(&owner), Some(json!({}))).await, StatusCode::UNPROCESSABLE_ENTITY, "invalid");
        assert_eq!(call(router, Method::POST, "/groups/repair/bans", Some(&owner), Some(ban)).await.status, StatusCode::CREATED);

        // Out of the group, content removed, refused everywhere.
        assert_eq!(call(router, Method::GET, "/groups/repair", Some(&member), None).await.json["membership"], Value::Null);
        assert_eq!(call(router, Method::GET, &format!("/posts/{thread_id}"), None, None).await.json["thread"]["removed"], true);
        let rejoin = call(router, Method::POST, "/groups/repair/membership", Some(&member), None).await;
        assert_error(&rejoin, StatusCode::FORBIDDEN, "forbidden");
        assert!(rejoin.json["error"]["message"].as_str().unwrap().contains("banned from this group until"));
        assert_error(
            &call(router, Method::PUT, &format!("/posts/{owner_thread_id}/vote"), Some(&member), Some(json!({ "value": 1 }))).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
        assert_error(&call(router, Method::GET, "/groups/repair/bans", Some(&other), None).await, StatusCode::FORBIDDEN, "forbidden");
        let bans = call(router, Method::GET, "/groups/repair/bans", Some(&owner), None).await;
        assert_eq!(bans.json[0]["person"]["name"], "bob", "{}", bans.json);
        assert_eq!(bans.json[0]["reason"], "spam");
        assert!(bans.json[0]["expires_at"].is_string());
        let server_ban = call(router, Method::POST, "/groups/repair/bans", Some(&owner), Some(json!({ "server": "spam.example" }))).await;
        assert_eq!(server_ban.status, StatusCode::CREATED);

        // Lifted, bob may join again.
        let ban_id = bans.json[0]["id"].as_i64().unwrap();
        assert_error(&call(router, Method::DELETE, &format!("/groups/repair/bans/{ban_id}"), Some(&other), None).await, StatusCode::FORBIDDEN, "forbidden");
        assert_eq!(call(router, Method::DELETE, &format!("/groups/repair/bans/{ban_id}"), Some(&owner), None).await.status, StatusCode::NO_CONTENT);
        let rejoined = call(router, Method::POST, "/groups/repair/membership", Some(&member), None).await;
        assert_eq!(rejoined.json["membership"], "accepted");
        let log = call(router, Method::GET, "/groups/repair/modlog", None, None).await;
        let actions: Vec<&str> = log.json.as_array().unwrap().iter().map(|entry| entry["action"].as_str().unwrap()).collect();
        assert!(actions.contains(&"ban") && actions.contains(&"unban"), "{actions:?}");
    })
    .await;
}

#[tokio::test]
async fn reports_reach_the_moderators_and_only_them() {
    testing::for_each_backend(async |backend| {
        let app = start_app(backend, RegistrationMode::Open, GroupCreation::Anyone).await;
        let (router, database) = (&app.router, &app.database);
        let owner = account(router, database, "ann", false).await;
        let member = account(router, database, "bob", false).await;
        let other = account(router, database, "cid", false).await;
        found_repair(router, &owner, &[&member]).await;
        let thread = call(
            router,
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
                router,
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
                router,
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
                router,
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
        let heard = call(router, Method::GET, "/notifications", Some(&owner), None).await;
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
        // It names the reporter (cid), not the author of the reported post (bob).
        let report_heard = heard
            .json
            .as_array()
            .unwrap()
            .iter()
            .find(|one| one["kind"] == "report")
            .unwrap();
        assert_eq!(report_heard["actor"]["handle"], "cid", "{report_heard}");
        assert_eq!(report_heard["post"]["author"]["handle"], "bob");
        for token in [&member, &other] {
            assert_error(
                &call(
                    router,
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
            router,
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
            &call(router, Method::POST, &resolve, Some(&member), None).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
        assert_eq!(
            call(router, Method::POST, &resolve, Some(&owner), None)
                .await
                .status,
            StatusCode::NO_CONTENT
        );
        assert!(
            call(
                router,
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
            router,
            Method::GET,
            "/groups/repair/reports?state=all",
            Some(&owner),
            None,
        )
        .await;
        assert_eq!(all.json[0]["state"], "resolved");
        assert_error(
            &call(
                router,
                Method::GET,
                "/groups/repair/reports?state=weird",
                Some(&owner),
                None,
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        );
        let log = call(router, Method::GET, "/groups/repair/modlog", None, None).await;
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
