//! Moderation from the pages: approving members, removing, restoring and locking posts,
//! reports, bans and the moderation log.

use super::*;

#[tokio::test]
async fn moderators_approve_members_remove_restore_and_lock_from_the_pages() {
    testing::for_each_backend(async |backend| {
        let app = start_app(backend, RegistrationMode::Open).await;
        let router = &app.router;
        let mut ann = Browser::new(router);
        let mut bob = Browser::new(router);
        let mut anonymous = Browser::new(router);
        ann.register("ann").await;
        bob.register("bob").await;
        let csrf = ann.csrf().await;
        let bob_csrf = bob.csrf().await;
        ann.post(
            "/create-group",
            &[("name", "repair"), ("title", "Repair"), ("csrf", &csrf)],
        )
        .await;

        // The owner turns on approval; bob's request waits on the moderation page.
        let settings = ann
            .post(
                "/groups/repair/edit",
                &[
                    ("title", "Repair"),
                    ("posting_mode", "members"),
                    ("approval", "on"),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert_eq!(settings.status, StatusCode::SEE_OTHER, "{}", settings.body);
        bob.post("/groups/repair/join", &[("csrf", &bob_csrf)])
            .await;
        assert!(
            bob.get("/groups/repair")
                .await
                .body
                .contains("waits for a moderator")
        );
        assert_eq!(
            bob.get("/groups/repair/moderation").await.status,
            StatusCode::FORBIDDEN
        );
        assert!(
            !bob.get("/groups/repair")
                .await
                .body
                .contains("/moderation\"")
        );
        let moderation = ann.get("/groups/repair/moderation").await;
        assert!(moderation.body.contains("bob"), "{}", moderation.body);
        let marker = "action=\"/groups/repair/requests/";
        let start = moderation.body.find(marker).unwrap() + marker.len();
        let bob_id: String = moderation.body[start..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        let approved = ann
            .post(
                &format!("/groups/repair/requests/{bob_id}/approve"),
                &[("csrf", &csrf)],
            )
            .await;
        assert_eq!(
            approved.location.as_deref(),
            Some("/groups/repair/moderation")
        );
        assert!(bob.get("/groups/repair").await.body.contains("Leave group"));

        // Bob posts; ann removes it with a reason, everyone else sees it gone, then restores it.
        let posted = bob
            .post(
                "/groups/repair/new-thread",
                &[
                    ("title", "Cheap watches"),
                    ("body", "Buy now"),
                    ("csrf", &bob_csrf),
                ],
            )
            .await;
        let thread_path = posted.location.unwrap();
        assert!(
            !bob.get(&thread_path).await.body.contains("/moderate/"),
            "members do not moderate"
        );
        let removed = ann
            .post(
                &format!("{thread_path}/moderate/remove"),
                &[("reason", "spam"), ("csrf", &csrf)],
            )
            .await;
        assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.body);
        let public = anonymous.get(&thread_path).await;
        assert!(public.body.contains("(removed by a moderator)"));
        assert!(!public.body.contains("Buy now"));
        assert!(
            !anonymous
                .get("/groups/repair")
                .await
                .body
                .contains("Cheap watches")
        );
        let for_moderator = ann.get(&thread_path).await;
        assert!(for_moderator.body.contains("Buy now") && for_moderator.body.contains("Restore"));
        let log = anonymous.get("/groups/repair/modlog").await;
        assert!(log.body.contains("removed a post"), "{}", log.body);
        assert!(log.body.contains("spam"));
        assert!(
            !log.body.contains("approved a member"),
            "who asked to join stays private"
        );
        ann.post(
            &format!("{thread_path}/moderate/restore"),
            &[("csrf", &csrf)],
        )
        .await;
        assert!(anonymous.get(&thread_path).await.body.contains("Buy now"));

        // A locked thread takes no replies from members.
        ann.post(&format!("{thread_path}/moderate/lock"), &[("csrf", &csrf)])
            .await;
        let locked = bob.get(&thread_path).await;
        assert!(locked.body.contains("This thread is locked"));
        assert!(!locked.body.contains("/reply\""));
        let refused = bob
            .post(
                &format!("{thread_path}/reply"),
                &[("body", "but"), ("csrf", &bob_csrf)],
            )
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert!(
            anonymous
                .get("/groups/repair")
                .await
                .body
                .contains("(locked)")
        );

        // The owner appoints bob; now bob moderates too.
        let appointed = ann
            .post(
                "/groups/repair/moderators",
                &[("member", "bob"), ("csrf", &csrf)],
            )
            .await;
        assert_eq!(
            appointed.status,
            StatusCode::SEE_OTHER,
            "{}",
            appointed.body
        );
        assert!(bob.get(&thread_path).await.body.contains("Unlock thread"));
        let (_, moderators) = anonymous.get_json("/groups/repair/moderators").await;
        assert_eq!(moderators["totalItems"], 2, "{moderators}");
        assert_eq!(
            moderators["orderedItems"][0],
            format!("{PUBLIC_URL}/users/ann")
        );

        // A report from the thread page reaches the moderation page, and is resolved there.
        let reported = anonymous.get(&thread_path).await;
        assert!(
            !reported.body.contains("/report\""),
            "reporting needs an account"
        );
        let sent = bob
            .post(
                &format!("{thread_path}/report"),
                &[("reason", "<b>rude</b>"), ("csrf", &bob_csrf)],
            )
            .await;
        assert!(sent.body.contains("Your report was sent"), "{}", sent.body);
        let page = ann.get("/groups/repair/moderation").await;
        // The report in full: who reported, why, whose post and what it says, with the
        // actions in place.
        for expected in [
            "Reported by <strong>bob</strong>",
            "<blockquote>&lt;b&gt;rude&lt;/b&gt;</blockquote>",
            "Post by <strong>bob</strong> in Repair",
            "<blockquote class=\"reported\">Buy now</blockquote>",
            "/moderate/remove\"",
            "Yes, ban bob",
        ] {
            assert!(page.body.contains(expected), "{expected}: {}", page.body);
        }
        // The moderators' notification names the reporter, not the author.
        let notified = ann.get("/notifications").await;
        assert!(
            notified
                .body
                .contains("bob reported a post</a> in <strong>Repair</strong>"),
            "{}",
            notified.body
        );
        // The author is local: there is no other server to tell.
        let thread = ann.get(&thread_path).await;
        assert!(thread.body.contains("/report\""));
        assert!(!thread.body.contains("tell_author_server"));
        let marker = "action=\"/groups/repair/reports/";
        let start = page.body.find(marker).unwrap() + marker.len();
        let report_id: String = page.body[start..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        ann.post(
            &format!("/groups/repair/reports/{report_id}/resolve"),
            &[("csrf", &csrf)],
        )
        .await;
        assert!(
            ann.get("/groups/repair/moderation")
                .await
                .body
                .contains("No open reports")
        );

        // Bans from the moderation page: cid (a person) and a whole server.
        let mut cid = Browser::new(router);
        cid.register("cid").await;
        let cid_csrf = cid.csrf().await;
        // Without the "I am sure" box, nothing happens.
        let unconfirmed = ann
            .post(
                "/groups/repair/bans",
                &[("who", "cid"), ("reason", "trolling"), ("csrf", &csrf)],
            )
            .await;
        assert_eq!(unconfirmed.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            unconfirmed.body.contains("I am sure"),
            "{}",
            unconfirmed.body
        );
        assert!(
            !ann.get("/groups/repair/moderation")
                .await
                .body
                .contains("cid — trolling")
        );
        let banned = ann
            .post(
                "/groups/repair/bans",
                &[
                    ("who", "cid"),
                    ("reason", "trolling"),
                    ("days", "3"),
                    ("confirm", "on"),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert_eq!(banned.status, StatusCode::SEE_OTHER, "{}", banned.body);
        ann.post(
            "/groups/repair/bans",
            &[("who", "spam.example"), ("confirm", "on"), ("csrf", &csrf)],
        )
        .await;
        let page = ann.get("/groups/repair/moderation").await;
        assert!(page.body.contains("cid — trolling"), "{}", page.body);
        assert!(page.body.contains("everyone on spam.example"));
        let refused = cid
            .post("/groups/repair/join", &[("csrf", &cid_csrf)])
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert!(refused.body.contains("banned from this group"));
        let bad_days = ann
            .post(
                "/groups/repair/bans",
                &[
                    ("who", "cid"),
                    ("days", "soon"),
                    ("confirm", "on"),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert_eq!(bad_days.status, StatusCode::UNPROCESSABLE_ENTITY);
        let marker = "action=\"/groups/repair/bans/";
        let start = page.body.find(marker).unwrap() + marker.len();
        let ban_id: String = page.body[start..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        ann.post(
            &format!("/groups/repair/bans/{ban_id}/lift"),
            &[("csrf", &csrf)],
        )
        .await;
        assert!(
            !ann.get("/groups/repair/moderation")
                .await
                .body
                .contains(&format!("bans/{ban_id}/lift"))
        );
    })
    .await;
}

#[tokio::test]
async fn a_banned_person_gets_no_forms_and_the_last_moderator_cannot_leave() {
    testing::for_each_backend(async |backend| {
        let RepairCafe {
            app: _app,
            mut ann,
            mut bob,
            csrf,
            bob_csrf,
            thread_path,
            ..
        } = repair_cafe(backend).await;
        bob.post("/groups/repair/join", &[("csrf", &bob_csrf)])
            .await;
        let thread = bob.get(&thread_path).await;
        assert!(thread.body.contains("/reply\""), "a member may reply");
        let banned = ann
            .post(
                "/groups/repair/bans",
                &[
                    ("who", "bob"),
                    ("reason", "spam"),
                    ("days", ""),
                    ("confirm", "on"),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert!(banned.status.is_redirection(), "{}", banned.body);
        let thread = bob.get(&thread_path).await;
        assert!(!thread.body.contains("/reply\""), "{}", thread.body);
        assert!(thread.body.contains("You are banned from this group"));
        // Posting anyway (an old tab) is refused, and what was typed comes back with the reason
        // and the site's navigation.
        let reply_path = format!("{thread_path}/reply");
        let refused = bob
            .post(
                &reply_path,
                &[
                    ("body", "My long answer about <b>solder</b> & flux"),
                    ("csrf", &bob_csrf),
                ],
            )
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
        assert!(refused.body.contains("banned"), "{}", refused.body);
        assert!(
            refused
                .body
                .contains("My long answer about &lt;b&gt;solder&lt;/b&gt; &amp; flux</textarea>"),
            "{}",
            refused.body
        );
        assert!(refused.body.contains("href=\"/notifications\""));
        // Beside a post they may not see (removed here), the plain error page names nothing
        // of it: neither its title nor a form.
        ann.post(
            &format!("{thread_path}/moderate/remove"),
            &[("reason", "off topic"), ("csrf", &csrf)],
        )
        .await;
        let hidden = bob
            .post(&reply_path, &[("body", "Still here"), ("csrf", &bob_csrf)])
            .await;
        assert!(hidden.status.is_client_error(), "{}", hidden.body);
        assert!(!hidden.body.contains("Kettle"), "{}", hidden.body);
        assert!(!hidden.body.contains("Still here"));
        let group = bob.get("/groups/repair").await;
        assert!(!group.body.contains("/groups/repair/join\""));
        assert!(!group.body.contains("/new-thread"));
        assert!(
            group.body.contains("You are banned from this group: spam."),
            "{}",
            group.body
        );

        // An error page keeps the site's navigation, for who is signed in.
        let missing = bob.get("/groups/nothing-here").await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        assert!(
            missing.body.contains("href=\"/notifications\""),
            "{}",
            missing.body
        );
        assert!(missing.body.contains("Sign out"));

        // Ann is the only moderator: she may not leave her group without a successor.
        let left = ann.post("/groups/repair/leave", &[("csrf", &csrf)]).await;
        assert_eq!(left.status, StatusCode::CONFLICT, "{}", left.body);
        assert!(left.body.contains("appoint another one"));
        assert!(ann.get("/groups/repair").await.body.contains("Leave group"));
    })
    .await;
}
