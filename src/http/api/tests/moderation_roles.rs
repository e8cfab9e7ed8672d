//! Every moderation endpoint against every role: anonymous, member, another group's
//! moderator, the group's moderator, its owner and an administrator.

use super::*;

/// Every moderation endpoint against every role: anonymous, member, another group's
/// moderator, the group's moderator, its owner, an administrator. Refused roles get 401 or
/// 403 and change nothing; allowed roles get past the permission check (200, 204, or a 404 or
/// 422 about the thing itself).
#[tokio::test]
async fn every_moderation_endpoint_checks_every_role() {
    testing::for_each_backend(async |backend| {
        let app = start_app(backend, RegistrationMode::Open, GroupCreation::Anyone).await;
        let (router, database) = (&app.router, &app.database);
        let admin = account(router, database, "ada", true).await;
        let owner = account(router, database, "ann", false).await;
        let member = account(router, database, "bob", false).await;
        let moderator = account(router, database, "dee", false).await;
        let elsewhere = account(router, database, "eve", false).await;
        let pat = account(router, database, "pat", false).await;
        let id_of = async |token: &str| {
            call(router, Method::GET, "/me", Some(token), None)
                .await
                .json["id"]
                .as_i64()
                .unwrap()
        };
        let (dee_id, pat_id) = (id_of(&moderator).await, id_of(&pat).await);
        found_repair(router, &owner, &[]).await;
        call(
            router,
            Method::POST,
            "/groups",
            Some(&elsewhere),
            Some(json!({ "name": "knit", "title": "Knit" })),
        )
        .await;
        for token in [&member, &moderator, &pat] {
            call(
                router,
                Method::POST,
                "/groups/repair/membership",
                Some(token),
                None,
            )
            .await;
        }
        call(
            router,
            Method::PUT,
            &format!("/groups/repair/moderators/{dee_id}"),
            Some(&owner),
            None,
        )
        .await;
        let thread = call(
            router,
            Method::POST,
            "/groups/repair/threads",
            Some(&member),
            Some(json!({ "title": "T", "body": "b" })),
        )
        .await;
        let post = thread.json["id"].as_i64().unwrap();

        #[derive(Clone, Copy, PartialEq)]
        enum Allowed {
            Everyone,
            Moderators,
            OwnerAndAdmin,
            AdminOnly,
        }
        let endpoints: Vec<(Method, String, Option<Value>, Allowed)> = vec![
            (
                Method::GET,
                "/groups/repair/requests".into(),
                None,
                Allowed::Moderators,
            ),
            (
                Method::POST,
                format!("/groups/repair/requests/{pat_id}/approve"),
                None,
                Allowed::Moderators,
            ),
            (
                Method::GET,
                "/groups/repair/moderators".into(),
                None,
                Allowed::Everyone,
            ),
            (
                Method::PUT,
                format!("/groups/repair/moderators/{pat_id}"),
                None,
                Allowed::OwnerAndAdmin,
            ),
            (
                Method::DELETE,
                format!("/groups/repair/moderators/{pat_id}"),
                None,
                Allowed::OwnerAndAdmin,
            ),
            (
                Method::GET,
                "/groups/repair/modlog".into(),
                None,
                Allowed::Everyone,
            ),
            (
                Method::POST,
                format!("/posts/{post}/moderate/remove"),
                Some(json!({ "reason": "r" })),
                Allowed::Moderators,
            ),
            (
                Method::POST,
                format!("/posts/{post}/moderate/restore"),
                None,
                Allowed::Moderators,
            ),
            (
                Method::POST,
                format!("/posts/{post}/moderate/lock"),
                None,
                Allowed::Moderators,
            ),
            (
                Method::POST,
                format!("/posts/{post}/moderate/unlock"),
                None,
                Allowed::Moderators,
            ),
            (
                Method::POST,
                format!("/posts/{post}/moderate/pin"),
                None,
                Allowed::Moderators,
            ),
            (
                Method::POST,
                format!("/posts/{post}/moderate/unpin"),
                None,
                Allowed::Moderators,
            ),
            (
                Method::POST,
                format!("/posts/{post}/moderate/approve"),
                None,
                Allowed::Moderators,
            ),
            (
                Method::GET,
                "/groups/repair/bans".into(),
                None,
                Allowed::Moderators,
            ),
            (
                Method::POST,
                "/groups/repair/bans".into(),
                Some(json!({ "server": "spam.example" })),
                Allowed::Moderators,
            ),
            (
                Method::DELETE,
                "/groups/repair/bans/999999".into(),
                None,
                Allowed::Moderators,
            ),
            (
                Method::GET,
                "/groups/repair/reports".into(),
                None,
                Allowed::Moderators,
            ),
            (
                Method::POST,
                "/groups/repair/reports/999999/resolve".into(),
                None,
                Allowed::Moderators,
            ),
            (
                Method::GET,
                "/groups/repair/queue".into(),
                None,
                Allowed::Moderators,
            ),
            (
                Method::PATCH,
                "/groups/repair".into(),
                Some(json!({ "title": "Repair" })),
                Allowed::OwnerAndAdmin,
            ),
            (
                Method::DELETE,
                "/groups/repair".into(),
                None,
                Allowed::AdminOnly,
            ),
        ];
        let roles: [(&str, Option<&str>); 6] = [
            ("anonymous", None),
            ("member", Some(&member)),
            ("another group's moderator", Some(&elsewhere)),
            ("moderator", Some(&moderator)),
            ("owner", Some(&owner)),
            ("admin", Some(&admin)),
        ];
        for (method, path, body, allowed) in &endpoints {
            for (role, token) in roles {
                let may = match (allowed, role) {
                    (Allowed::Everyone, _) => true,
                    (_, "anonymous" | "member" | "another group's moderator") => false,
                    (Allowed::Moderators, _) => true,
                    (Allowed::OwnerAndAdmin, "owner" | "admin") => true,
                    (Allowed::AdminOnly, "admin") => true,
                    _ => false,
                };
                // Removing the group would end the test: its allowed call is checked last.
                if may && *allowed == Allowed::AdminOnly {
                    continue;
                }
                let answer = call(router, method.clone(), path, token, body.clone()).await;
                if may {
                    assert!(
                        !matches!(
                            answer.status,
                            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
                        ),
                        "{role} may {method} {path}: {} {}",
                        answer.status,
                        answer.json
                    );
                } else {
                    let expected = if token.is_none() {
                        StatusCode::UNAUTHORIZED
                    } else {
                        StatusCode::FORBIDDEN
                    };
                    assert_eq!(
                        answer.status, expected,
                        "{role} may not {method} {path}: {}",
                        answer.json
                    );
                }
            }
        }
        assert_eq!(
            call(router, Method::DELETE, "/groups/repair", Some(&admin), None)
                .await
                .status,
            StatusCode::NO_CONTENT
        );
    })
    .await;
}
