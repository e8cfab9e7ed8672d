//! Posts through the API: starting threads, replying (and the author hearing of it), votes,
//! edits and deletes, each against who may.

use super::*;

#[tokio::test]
async fn threads_and_replies_are_for_members_and_their_authors_hear_of_replies() {
    testing::for_each_backend(async |backend| {
        let app = start_app(backend, RegistrationMode::Open, GroupCreation::Anyone).await;
        let (router, database) = (&app.router, &app.database);
        let admin = account(router, database, "ada", true).await;
        let ann = account(router, database, "ann", false).await;
        let bob = account(router, database, "bob", false).await;
        let cid = account(router, database, "cid", false).await;
        call(
            router,
            Method::POST,
            "/groups",
            Some(&ann),
            Some(json!({ "name": "repair", "title": "Repair café", "summary": "We *fix*" })),
        )
        .await;

        // Starting a thread: members only.
        let thread =
            json!({ "title": "Kettle clicks", "body": "No heat. <img src=x onerror=alert(1)>" });
        assert_error(
            &call(
                router,
                Method::POST,
                "/groups/repair/threads",
                None,
                Some(thread.clone()),
            )
            .await,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        );
        assert_error(
            &call(
                router,
                Method::POST,
                "/groups/repair/threads",
                Some(&cid),
                Some(thread.clone()),
            )
            .await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
        assert_error(
            &call(
                router,
                Method::POST,
                "/groups/repair/threads",
                Some(&admin),
                Some(thread.clone()),
            )
            .await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
        assert_error(
            &call(
                router,
                Method::POST,
                "/groups/nothing/threads",
                Some(&ann),
                Some(thread.clone()),
            )
            .await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
        assert_error(
            &call(
                router,
                Method::POST,
                "/groups/repair/threads",
                Some(&ann),
                Some(json!({ "title": "", "body": "x" })),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        );
        let started = call(
            router,
            Method::POST,
            "/groups/repair/threads",
            Some(&ann),
            Some(thread),
        )
        .await;
        assert_eq!(started.status, StatusCode::CREATED, "{}", started.json);
        let thread_id = started.json["id"].as_i64().unwrap();
        assert_eq!(
            started.json["url"],
            format!("{PUBLIC_URL}/posts/{thread_id}")
        );
        assert!(
            !started.json["content_html"]
                .as_str()
                .unwrap()
                .contains("onerror")
        );
        assert_eq!(started.json["author"]["name"], "ann");

        // Replying: bob joins first; cid is not a member.
        let joined = call(
            router,
            Method::POST,
            "/groups/repair/membership",
            Some(&bob),
            None,
        )
        .await;
        assert_eq!(joined.json["membership"], "accepted");
        let replies = format!("/posts/{thread_id}/replies");
        assert_error(
            &call(
                router,
                Method::POST,
                &replies,
                Some(&cid),
                Some(json!({ "body": "hi" })),
            )
            .await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
        assert_error(
            &call(
                router,
                Method::POST,
                &replies,
                Some(&bob),
                Some(json!({ "body": "  " })),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        );
        assert_error(
            &call(
                router,
                Method::POST,
                "/posts/abc/replies",
                Some(&bob),
                Some(json!({ "body": "hi" })),
            )
            .await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
        let reply = call(
            router,
            Method::POST,
            &replies,
            Some(&bob),
            Some(json!({ "body": "Descale it" })),
        )
        .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.json);
        let reply_id = reply.json["id"].as_i64().unwrap();

        // Ann hears of bob's reply.
        assert_error(
            &call(router, Method::GET, "/notifications", None, None).await,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        );
        let heard = call(router, Method::GET, "/notifications", Some(&ann), None).await;
        assert_eq!(heard.json.as_array().unwrap().len(), 1, "{}", heard.json);
        assert_eq!(heard.json[0]["kind"], "reply");
        assert_eq!(heard.json[0]["read"], false);
        assert_eq!(heard.json[0]["post"]["id"], reply_id);
        assert_eq!(heard.json[0]["actor"]["handle"], "bob");
        assert_eq!(heard.json[0]["post"]["group"], "repair");
        assert_eq!(heard.json[0]["post"]["group_title"], "Repair café");
        assert_eq!(
            call(
                router,
                Method::POST,
                "/notifications/read",
                Some(&ann),
                None
            )
            .await
            .status,
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            call(router, Method::GET, "/notifications", Some(&ann), None)
                .await
                .json[0]["read"],
            true
        );
        assert!(
            call(router, Method::GET, "/notifications", Some(&bob), None)
                .await
                .json
                .as_array()
                .unwrap()
                .is_empty()
        );
    })
    .await;
}

#[tokio::test]
async fn votes_edits_and_deletes() {
    testing::for_each_backend(async |backend| {
        let app = start_app(backend, RegistrationMode::Open, GroupCreation::Anyone).await;
        let (router, database) = (&app.router, &app.database);
        let admin = account(router, database, "ada", true).await;
        let ann = account(router, database, "ann", false).await;
        let bob = account(router, database, "bob", false).await;
        let cid = account(router, database, "cid", false).await;
        call(
            router,
            Method::POST,
            "/groups",
            Some(&ann),
            Some(json!({ "name": "repair", "title": "Repair café", "summary": "We *fix*" })),
        )
        .await;
        call(
            router,
            Method::POST,
            "/groups/repair/membership",
            Some(&bob),
            None,
        )
        .await;
        let thread =
            json!({ "title": "Kettle clicks", "body": "No heat. <img src=x onerror=alert(1)>" });
        let started = call(
            router,
            Method::POST,
            "/groups/repair/threads",
            Some(&ann),
            Some(thread),
        )
        .await;
        assert_eq!(started.status, StatusCode::CREATED, "{}", started.json);
        let thread_id = started.json["id"].as_i64().unwrap();
        let reply = call(
            router,
            Method::POST,
            &format!("/posts/{thread_id}/replies"),
            Some(&bob),
            Some(json!({ "body": "Descale it" })),
        )
        .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.json);
        let reply_id = reply.json["id"].as_i64().unwrap();

        // Votes: any signed-in person, values -1..1.
        let vote = format!("/posts/{thread_id}/vote");
        assert_error(
            &call(
                router,
                Method::PUT,
                &vote,
                None,
                Some(json!({ "value": 1 })),
            )
            .await,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        );
        assert_error(
            &call(
                router,
                Method::PUT,
                &vote,
                Some(&cid),
                Some(json!({ "value": 5 })),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        );
        let voted = call(
            router,
            Method::PUT,
            &vote,
            Some(&cid),
            Some(json!({ "value": 1 })),
        )
        .await;
        assert_eq!(
            voted.json,
            json!({ "likes": 1, "dislikes": 0, "my_vote": 1 })
        );
        call(
            router,
            Method::PUT,
            &vote,
            Some(&bob),
            Some(json!({ "value": -1 })),
        )
        .await;
        let whole = call(
            router,
            Method::GET,
            &format!("/posts/{reply_id}"),
            Some(&cid),
            None,
        )
        .await;
        assert_eq!(whole.status, StatusCode::OK);
        assert_eq!(whole.json["thread"]["id"], thread_id);
        assert_eq!(whole.json["thread"]["likes"], 1);
        assert_eq!(whole.json["thread"]["dislikes"], 1);
        assert_eq!(whole.json["thread"]["my_vote"], 1);
        assert_eq!(whole.json["thread"]["reply_count"], 1);
        assert_eq!(whole.json["replies"][0]["parent_id"], thread_id);
        let top = call(
            router,
            Method::GET,
            "/groups/repair/threads?sort=top",
            None,
            None,
        )
        .await;
        assert_eq!(top.json[0]["id"], thread_id);

        // Editing and deleting: the author only (not another member, not an administrator).
        let post_path = format!("/posts/{thread_id}");
        let edit = json!({ "body": "No heat at all." });
        for (token, who) in [(&bob, "member"), (&cid, "other user"), (&admin, "admin")] {
            let refused = call(
                router,
                Method::PATCH,
                &post_path,
                Some(token),
                Some(edit.clone()),
            )
            .await;
            assert_error(&refused, StatusCode::FORBIDDEN, "forbidden");
            let refused = call(router, Method::DELETE, &post_path, Some(token), None).await;
            assert_eq!(refused.status, StatusCode::FORBIDDEN, "{who}");
        }
        assert_error(
            &call(router, Method::PATCH, &post_path, None, Some(edit.clone())).await,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        );
        let edited = call(router, Method::PATCH, &post_path, Some(&ann), Some(edit)).await;
        assert_eq!(edited.status, StatusCode::OK, "{}", edited.json);
        assert_eq!(edited.json["title"], "Kettle clicks", "the title stays");
        assert_eq!(edited.json["content_markdown"], "No heat at all.");
        assert!(edited.json["updated"].is_string());
        let deleted = call(router, Method::DELETE, &post_path, Some(&ann), None).await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT);
        assert_error(
            &call(router, Method::DELETE, &post_path, Some(&ann), None).await,
            StatusCode::GONE,
            "gone",
        );
        assert_error(
            &call(
                router,
                Method::PUT,
                &vote,
                Some(&cid),
                Some(json!({ "value": -1 })),
            )
            .await,
            StatusCode::GONE,
            "gone",
        );
    })
    .await;
}
