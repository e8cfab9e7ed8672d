//! Groups on the pages: joining by address and leaving, the owner's settings, the Atom feed
//! and the directory's search.

use super::*;

#[tokio::test]
async fn joining_by_address_and_leaving() {
    testing::for_each_backend(async |backend| {
        let RepairCafe {
            app,
            mut bob,
            bob_csrf,
            thread_path,
            ..
        } = repair_cafe(backend).await;
        let router = &app.router;
        bob.post("/groups/repair/join", &[("csrf", &bob_csrf)])
            .await;
        // Joining by address: a local group by its handle; an unreachable server is a clear error.
        let cid_token = {
            let mut cid = Browser::new(router);
            cid.register("cid").await;
            let cid_csrf = cid.csrf().await;
            let joined = cid
                .post(
                    "/join-remote",
                    &[
                        ("address", "!repair@kindred.test:8080"),
                        ("csrf", &cid_csrf),
                    ],
                )
                .await;
            assert_eq!(joined.location.as_deref(), Some("/groups/repair"));
            assert!(cid.get("/groups/repair").await.body.contains("Leave group"));
            let unreachable = cid
                .post(
                    "/join-remote",
                    &[("address", "!nothing@127.0.0.1:1"), ("csrf", &cid_csrf)],
                )
                .await;
            assert_eq!(
                unreachable.status,
                StatusCode::NOT_FOUND,
                "{}",
                unreachable.body
            );
            assert!(unreachable.body.contains("group at that address not found"));
            cid_csrf
        };
        assert!(!cid_token.is_empty());

        // Leaving works; a left member may no longer post.
        bob.post("/groups/repair/leave", &[("csrf", &bob_csrf)])
            .await;
        let after = bob
            .post(
                &format!("{thread_path}/reply"),
                &[("body", "again"), ("csrf", &bob_csrf)],
            )
            .await;
        assert_eq!(after.status, StatusCode::FORBIDDEN);
    })
    .await;
}

#[tokio::test]
async fn the_owner_edits_the_group_and_nobody_else() {
    testing::for_each_backend(async |backend| {
        let RepairCafe {
            app: _app,
            mut ann,
            mut bob,
            mut anonymous,
            csrf,
            bob_csrf,
            ..
        } = repair_cafe(backend).await;
        // The owner edits the group; nobody else may.
        assert_eq!(
            bob.get("/groups/repair/edit").await.status,
            StatusCode::FORBIDDEN
        );
        let not_owner = bob
            .post(
                "/groups/repair/edit",
                &[("title", "Mine"), ("csrf", &bob_csrf)],
            )
            .await;
        assert_eq!(not_owner.status, StatusCode::FORBIDDEN);
        assert!(ann.get("/groups/repair").await.body.contains("Edit group"));
        let bad_icon = ann
            .post(
                "/groups/repair/edit",
                &[
                    ("title", "Repair café"),
                    ("icon_url", "javascript:alert(1)"),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert_eq!(bad_icon.status, StatusCode::UNPROCESSABLE_ENTITY);
        let edited = ann
            .post(
                "/groups/repair/edit",
                &[
                    ("title", "Repair café Lyon"),
                    ("summary", "Every *Saturday*"),
                    ("icon_url", "https://images.example/wrench.png"),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert_eq!(edited.status, StatusCode::SEE_OTHER, "{}", edited.body);
        let group_page = anonymous.get("/groups/repair").await;
        assert!(group_page.body.contains("Repair café Lyon"));
        assert!(group_page.body.contains("<em>Saturday</em>"));
        // The icon is shown through the media proxy, never from its own server.
        assert!(
            group_page.body.contains("src=\"/media/actors/")
                && !group_page.body.contains("src=\"https://images.example"),
            "{}",
            group_page.body
        );
        let (_, group_json) = anonymous.get_json("/groups/repair").await;
        assert_eq!(
            group_json["name"], "Repair café Lyon",
            "the cached actor was refreshed"
        );

        assert!(group_page.body.contains("type=\"application/atom+xml\""));
    })
    .await;
}

#[tokio::test]
async fn the_atom_feed_escapes_html_inside_the_xml() {
    testing::for_each_backend(async |backend| {
        let RepairCafe {
            app: _app,
            mut anonymous,
            ..
        } = repair_cafe(backend).await;
        // The Atom feed lists the threads, with their HTML escaped inside the XML.
        let feed = anonymous.get("/groups/repair/feed.atom").await;
        assert_eq!(feed.status, StatusCode::OK);
        assert!(feed.body.starts_with("<?xml"));
        assert!(
            feed.body.contains("<title>Kettle &lt;clicks&gt;</title>"),
            "{}",
            feed.body
        );
        assert!(feed.body.contains("&lt;em&gt;clicks&lt;/em&gt;"));
        assert!(!feed.body.contains("<script"));
    })
    .await;
}

#[tokio::test]
async fn the_front_page_lists_and_searches_groups() {
    testing::for_each_backend(async |backend| {
        let RepairCafe {
            app: _app,
            mut ann,
            mut anonymous,
            csrf,
            ..
        } = repair_cafe(backend).await;
        ann.post(
            "/groups/repair/edit",
            &[
                ("title", "Repair café Lyon"),
                ("summary", "Every *Saturday*"),
                ("csrf", &csrf),
            ],
        )
        .await;
        // The front page lists and searches groups.
        assert!(
            anonymous
                .get("/?q=REPAIR")
                .await
                .body
                .contains("Repair café")
        );
        assert!(
            anonymous
                .get("/?q=saturday")
                .await
                .body
                .contains("Repair café")
        );
        assert!(
            anonymous
                .get("/?q=knitting")
                .await
                .body
                .contains("No group matches")
        );
        let sorted = anonymous.get("/groups/repair?sort=top").await;
        assert!(sorted.body.contains("Kettle &lt;clicks&gt;"));
    })
    .await;
}

#[tokio::test]
async fn a_group_pages_past_fifty_threads_and_members_get_a_home_feed() {
    testing::for_each_backend(async |backend| {
        let RepairCafe {
            app,
            mut ann,
            mut bob,
            mut anonymous,
            ..
        } = repair_cafe(backend).await;
        let context = app.context();
        let ann_actor = crate::groups::directory::find_local_actor_by_name(&context.db, "ann")
            .await
            .unwrap()
            .unwrap();
        let group = crate::groups::directory::find_local_group(&context.db, "repair")
            .await
            .unwrap();
        for number in 0..55 {
            let draft = crate::groups::posts::Draft {
                title: Some(format!("Question {number}")),
                markdown: "Why?".into(),
                ..Default::default()
            };
            crate::actions::posts::start_thread(&context, &ann_actor, &group, draft)
                .await
                .unwrap();
        }
        let listed = |body: &str| body.matches("<li><a href=\"/posts/").count();
        let first = anonymous.get("/groups/repair").await;
        assert_eq!(listed(&first.body), 50, "{}", first.body);
        assert!(first.body.contains("Question 54"), "newest first");
        let next = first
            .body
            .split("rel=\"next\" href=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("a link to the older threads")
            .replace("&amp;", "&");
        let second = anonymous.get(&next).await;
        assert_eq!(second.status, StatusCode::OK);
        assert_eq!(
            listed(&second.body),
            6,
            "55 and the first thread: 56 in all"
        );
        assert!(
            second.body.contains("Kettle &lt;clicks&gt;"),
            "the oldest is last"
        );
        assert!(second.body.contains("← Newest"));
        assert!(!second.body.contains("rel=\"next\""));
        let forged = anonymous.get("/groups/repair?after=no.such.cursor").await;
        assert_eq!(forged.status, StatusCode::BAD_REQUEST);

        // Ann's front page is her feed; bob joined nothing and sees the directory.
        let feed = ann.get("/").await;
        assert!(feed.body.contains("Your groups"), "{}", feed.body);
        assert!(
            feed.body
                .contains("in <a href=\"/groups/repair\">Repair café</a>")
        );
        assert_eq!(listed(&feed.body), 50);
        assert!(
            feed.body.contains("href=\"/groups\""),
            "the directory is one click away"
        );
        let directory = bob.get("/").await;
        assert!(!directory.body.contains("Your groups"));
        assert!(directory.body.contains("Repair café"));
        assert!(anonymous.get("/groups").await.body.contains("Repair café"));
    })
    .await;
}

#[tokio::test]
async fn threads_with_replies_since_a_person_last_opened_them_say_how_many() {
    testing::for_each_backend(async |backend| {
        let mut cafe = repair_cafe(backend).await;
        let thread_path = cafe.thread_path.clone();
        // Ann opens her thread; nothing is new to her.
        cafe.ann.get(&thread_path).await;
        assert!(!cafe.ann.get("/groups/repair").await.body.contains("new)"));
        // Bob replies, ann answers: two replies since ann last looked.
        bob_replies_and_ann_answers(&mut cafe).await;
        let listed = cafe.ann.get("/groups/repair").await;
        assert!(listed.body.contains("(2 new)"), "{}", listed.body);
        assert!(
            cafe.ann.get("/").await.body.contains("(2 new)"),
            "in the feed too"
        );
        // Opening the thread reads them.
        cafe.ann.get(&thread_path).await;
        assert!(!cafe.ann.get("/groups/repair").await.body.contains("new)"));
        // Bob never opened it: no marker for him, nor for visitors.
        assert!(!cafe.bob.get("/groups/repair").await.body.contains("new)"));
        assert!(
            !cafe
                .anonymous
                .get("/groups/repair")
                .await
                .body
                .contains("new)")
        );
    })
    .await;
}
