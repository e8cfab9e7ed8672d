//! Accounts through the API: registration, tokens, the signed-in user, and administrators
//! removing groups and accounts.

use super::*;

#[tokio::test]
async fn tokens_accounts_and_the_signed_in_user() {
    testing::for_each_backend(async |backend| {
        let app = start_app(backend, RegistrationMode::Open, GroupCreation::Anyone).await;
        let (router, database) = (&app.router, &app.database);
        assert_error(
            &call(router, Method::GET, "/me", None, None).await,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        );
        assert_error(
            &call(router, Method::GET, "/me", Some("forged"), None).await,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        );
        let wrong = call(
            router,
            Method::POST,
            "/auth/token",
            None,
            Some(json!({ "name": "nobody", "password": "whatever it is" })),
        )
        .await;
        assert_error(&wrong, StatusCode::UNAUTHORIZED, "unauthorized");

        let registered = call(
            router,
            Method::POST,
            "/accounts",
            None,
            Some(json!({ "name": "dee", "password": "a long password" })),
        )
        .await;
        assert_eq!(
            registered.status,
            StatusCode::CREATED,
            "{}",
            registered.json
        );
        assert_eq!(registered.json["state"], "active");
        assert_eq!(registered.json["user"]["handle"], "@dee@kindred.test:8080");
        assert_error(
            &call(
                router,
                Method::POST,
                "/accounts",
                None,
                Some(json!({ "name": "dee", "password": "a long password" })),
            )
            .await,
            StatusCode::CONFLICT,
            "conflict",
        );
        assert_error(
            &call(
                router,
                Method::POST,
                "/accounts",
                None,
                Some(json!({ "name": "Bad Name", "password": "a long password" })),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        );
        assert_error(
            &call(
                router,
                Method::POST,
                "/accounts",
                None,
                Some(json!({ "name": "eve", "password": "short" })),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        );
        assert_error(
            &call(
                router,
                Method::POST,
                "/accounts",
                None,
                Some(json!({ "name": "eve" })),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        );

        let token = account(router, database, "ann", false).await;
        let other_token = account(router, database, "bob", false).await;
        let second = call(
            router,
            Method::POST,
            "/auth/token",
            None,
            Some(json!({ "name": "ann", "password": "a long password", "label": "phone" })),
        )
        .await;
        let second_token = second.json["token"].as_str().unwrap().to_string();
        let tokens = call(router, Method::GET, "/auth/tokens", Some(&token), None).await;
        assert_eq!(tokens.json.as_array().unwrap().len(), 2, "{}", tokens.json);
        assert_eq!(tokens.json[0]["label"], "phone");
        assert_eq!(tokens.json[0]["current"], false);
        assert_eq!(tokens.json[1]["current"], true);
        assert!(
            tokens.json[0].get("token").is_none(),
            "secrets are never listed"
        );
        let phone_id = tokens.json[0]["id"].as_i64().unwrap();
        // Bob cannot revoke ann's token.
        assert_error(
            &call(
                router,
                Method::DELETE,
                &format!("/auth/tokens/{phone_id}"),
                Some(&other_token),
                None,
            )
            .await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
        assert_eq!(
            call(
                router,
                Method::DELETE,
                &format!("/auth/tokens/{phone_id}"),
                Some(&token),
                None
            )
            .await
            .status,
            StatusCode::NO_CONTENT
        );
        assert_error(
            &call(router, Method::GET, "/me", Some(&second_token), None).await,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        );
        let me = call(router, Method::GET, "/me", Some(&token), None).await;
        assert_eq!(me.status, StatusCode::OK);
        assert_eq!(me.json["name"], "ann");
        assert_eq!(me.json["url"], format!("{PUBLIC_URL}/users/ann"));
        let revoked = call(router, Method::DELETE, "/auth/token", Some(&token), None).await;
        assert_eq!(revoked.status, StatusCode::NO_CONTENT);
        assert_error(
            &call(router, Method::GET, "/me", Some(&token), None).await,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        );

        let closed_app = start_app(backend, RegistrationMode::Closed, GroupCreation::Anyone).await;
        assert_error(
            &call(
                &closed_app.router,
                Method::POST,
                "/accounts",
                None,
                Some(json!({ "name": "fay", "password": "a long password" })),
            )
            .await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
    })
    .await;
}

#[tokio::test]
async fn administrators_remove_groups_and_accounts() {
    testing::for_each_backend(async |backend| {
        let app = start_app(backend, RegistrationMode::Open, GroupCreation::Anyone).await;
        let (router, database) = (&app.router, &app.database);
        let admin = account(router, database, "ada", true).await;
        let owner = account(router, database, "ann", false).await;
        let member = account(router, database, "bob", false).await;
        found_repair(router, &owner, &[&member]).await;

        for (path, who) in [
            ("/groups/repair", &owner),
            ("/groups/repair", &member),
            ("/users/bob", &owner),
        ] {
            assert_error(
                &call(router, Method::DELETE, path, Some(who), None).await,
                StatusCode::FORBIDDEN,
                "forbidden",
            );
        }
        assert_error(
            &call(router, Method::DELETE, "/users/ada", Some(&admin), None).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        );
        assert_eq!(
            call(router, Method::DELETE, "/groups/repair", Some(&admin), None)
                .await
                .status,
            StatusCode::NO_CONTENT
        );
        assert_error(
            &call(router, Method::GET, "/groups/repair", None, None).await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
        assert_error(
            &call(router, Method::DELETE, "/groups/repair", Some(&admin), None).await,
            StatusCode::NOT_FOUND,
            "not_found",
        );

        assert_eq!(
            call(router, Method::DELETE, "/users/bob", Some(&admin), None)
                .await
                .status,
            StatusCode::NO_CONTENT
        );
        assert_error(
            &call(router, Method::GET, "/me", Some(&member), None).await,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        );
        let sign_in = call(
            router,
            Method::POST,
            "/auth/token",
            None,
            Some(json!({ "name": "bob", "password": "a long password" })),
        )
        .await;
        assert_error(&sign_in, StatusCode::FORBIDDEN, "forbidden");
        // The name stays taken.
        let again = call(
            router,
            Method::POST,
            "/accounts",
            None,
            Some(json!({ "name": "bob", "password": "a long password" })),
        )
        .await;
        assert_error(&again, StatusCode::CONFLICT, "conflict");
    })
    .await;
}
