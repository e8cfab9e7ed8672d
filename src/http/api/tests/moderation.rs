//! Moderating a group: appointing and dismissing moderators, join requests, posting modes,
//! removing, restoring, locking and pinning posts, and the public moderation log.

use super::*;

#[tokio::test]
async fn the_permission_matrix_of_moderation() {
    testing::for_each_backend(async |backend| {
        let app = start_app(backend, RegistrationMode::Open, GroupCreation::Anyone).await;
        let (router, database) = (&app.router, &app.database);
        let admin = account(router, database, "ada", true).await;
        let owner = account(router, database, "ann", false).await;
        let member = account(router, database, "bob", false).await;
        let other = account(router, database, "cid", false).await;
        let moderator = account(router, database, "dee", false).await;
        let elsewhere = account(router, database, "eve", false).await;
        let id_of = async |token: &str| {
            call(router, Method::GET, "/me", Some(token), None)
                .await
                .json["id"]
                .as_i64()
                .unwrap()
        };
        let (cid_id, dee_id) = (id_of(&other).await, id_of(&moderator).await);
        found_repair(router, &owner, &[]).await;
        call(
            router,
            Method::POST,
            "/groups",
            Some(&elsewhere),
            Some(json!({ "name": "knit", "title": "Knitting" })),
        )
        .await;
        for token in [&member, &moderator] {
            call(
                router,
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
            &call(router, Method::PUT, &appoint, None, None).await,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        );
        for token in [&member, &other, &elsewhere] {
            assert_error(
                &call(router, Method::PUT, &appoint, Some(token), None).await,
                StatusCode::FORBIDDEN,
                "forbidden",
            );
        }
        assert_error(
            &call(
                router,
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
            call(router, Method::PUT, &appoint, Some(&owner), None)
                .await
                .status,
            StatusCode::NO_CONTENT
        );
        let listed = call(router, Method::GET, "/groups/repair/moderators", None, None).await;
        assert_eq!(listed.json[0]["role"], "owner");
        assert_eq!(listed.json[1]["person"]["name"], "dee");
        assert_eq!(
            call(
                router,
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
            router,
            Method::PATCH,
            "/groups/repair",
            Some(&owner),
            Some(json!({ "title": "Repair", "manually_approves_followers": true })),
        )
        .await;
        let joined = call(
            router,
            Method::POST,
            "/groups/repair/membership",
            Some(&other),
            None,
        )
        .await;
        assert_eq!(joined.json["membership"], "pending");
        assert_error(
            &call(router, Method::GET, "/groups/repair/requests", None, None).await,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        );
        for token in [&member, &other, &elsewhere] {
            assert_error(
                &call(
                    router,
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
            router,
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
            &call(router, Method::POST, &approve, Some(&member), None).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
        assert_eq!(
            call(router, Method::POST, &approve, Some(&moderator), None)
                .await
                .status,
            StatusCode::NO_CONTENT
        );
        assert_error(
            &call(router, Method::POST, &approve, Some(&moderator), None).await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
        assert_eq!(
            call(router, Method::GET, "/groups/repair", Some(&other), None)
                .await
                .json["membership"],
            "accepted"
        );

        // Posting mode: moderators only, then members again.
        call(
            router,
            Method::PATCH,
            "/groups/repair",
            Some(&owner),
            Some(json!({ "title": "Repair", "posting_mode": "moderators" })),
        )
        .await;
        let thread = json!({ "title": "A thread", "body": "text" });
        assert_error(
            &call(
                router,
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
                router,
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
                router,
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
            router,
            Method::PATCH,
            "/groups/repair",
            Some(&owner),
            Some(json!({ "title": "Repair", "posting_mode": "members" })),
        )
        .await;
        let posted = call(
            router,
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
            &call(router, Method::POST, &remove, None, None).await,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        );
        for token in [&member, &other, &elsewhere] {
            assert_error(
                &call(router, Method::POST, &remove, Some(token), None).await,
                StatusCode::FORBIDDEN,
                "forbidden",
            );
        }
        assert_error(
            &call(
                router,
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
            router,
            Method::POST,
            &remove,
            Some(&moderator),
            Some(json!({ "reason": "off topic" })),
        )
        .await;
        assert_eq!(removed.status, StatusCode::OK, "{}", removed.json);
        assert_eq!(removed.json["removed"], true);
        let seen = call(
            router,
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
            router,
            Method::GET,
            &format!("/posts/{thread_id}"),
            Some(&moderator),
            None,
        )
        .await;
        assert_eq!(seen_by_moderator.json["thread"]["removed"], true);
        assert_ne!(seen_by_moderator.json["thread"]["content_html"], "");
        let listed = call(router, Method::GET, "/groups/repair/threads", None, None).await;
        assert!(
            listed
                .json
                .as_array()
                .unwrap()
                .iter()
                .all(|thread| thread["id"] != thread_id)
        );
        let restored = call(
            router,
            Method::POST,
            &format!("/posts/{thread_id}/moderate/restore"),
            Some(&admin),
            None,
        )
        .await;
        assert_eq!(restored.json["removed"], false, "{}", restored.json);
        let locked = call(
            router,
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
                router,
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
                router,
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
            router,
            Method::POST,
            &format!("/posts/{thread_id}/moderate/unlock"),
            Some(&owner),
            None,
        )
        .await;
        // Pinning: the thread comes first and is featured.
        call(
            router,
            Method::POST,
            "/groups/repair/threads",
            Some(&member),
            Some(json!({ "title": "Newer", "body": "x" })),
        )
        .await;
        assert_error(
            &call(
                router,
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
            router,
            Method::POST,
            &format!("/posts/{thread_id}/moderate/pin"),
            Some(&moderator),
            None,
        )
        .await;
        assert_eq!(pinned.json["pinned"], true, "{}", pinned.json);
        let listed = call(router, Method::GET, "/groups/repair/threads", None, None).await;
        assert_eq!(
            listed.json[0]["id"], thread_id,
            "pinned first: {}",
            listed.json
        );
        assert_eq!(
            call(
                router,
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
            &call(router, Method::DELETE, &appoint, Some(&member), None).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
        assert_eq!(
            call(router, Method::DELETE, &appoint, Some(&owner), None)
                .await
                .status,
            StatusCode::NO_CONTENT
        );
        assert_error(
            &call(router, Method::POST, &remove, Some(&moderator), None).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );

        // The public log tells all of it, with the reason.
        let log = call(router, Method::GET, "/groups/repair/modlog", None, None).await;
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
