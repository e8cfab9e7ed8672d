//! Threads on the pages: writing one, replies and their nesting, notifications, votes,
//! editing and deleting, and the same posts as ActivityPub objects.

use super::*;

#[tokio::test]
async fn a_member_creates_a_group_and_writes_a_thread() {
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
        // The group and the thread were created through their forms (see `repair_cafe`).
        let taken = ann
            .post(
                "/create-group",
                &[("name", "bob"), ("title", "Taken"), ("csrf", &csrf)],
            )
            .await;
        assert_eq!(taken.status, StatusCode::CONFLICT);
        assert!(ann.get("/groups/repair").await.body.contains("New thread"));

        let untitled = ann
            .post(
                "/groups/repair/new-thread",
                &[("title", " "), ("body", "x"), ("csrf", &csrf)],
            )
            .await;
        assert_eq!(untitled.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(untitled.body.contains("a thread needs a title"));

        // Bob is not a member yet: he may read but not reply.
        let page = bob.get(&thread_path).await;
        assert!(page.body.contains("Kettle &lt;clicks&gt;"));
        assert!(page.body.contains("<em>clicks</em>"));
        assert!(!page.body.contains("<script>alert"));
        let refused = bob
            .post(
                &format!("{thread_path}/reply"),
                &[("body", "Descale it"), ("csrf", &bob_csrf)],
            )
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert!(refused.body.contains("join it first"));
    })
    .await;
}

#[tokio::test]
async fn replies_nest_under_what_they_answer() {
    testing::for_each_backend(async |backend| {
        let mut cafe = repair_cafe(backend).await;
        let refused = cafe
            .bob
            .post(
                &format!("{}/reply", cafe.thread_path),
                &[("body", "Descale it"), ("csrf", &cafe.bob_csrf)],
            )
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert!(refused.body.contains("join it first"));
        bob_replies_and_ann_answers(&mut cafe).await;
        let RepairCafe {
            app: _app,
            mut anonymous,
            thread_path,
            ..
        } = cafe;
        // Everyone sees the replies, nested, and the count.
        let page = anonymous.get(&thread_path).await;
        assert!(
            page.body.contains("Descale it <strong>first</strong>"),
            "{}",
            page.body
        );
        assert!(page.body.contains("Thanks!"));
        assert!(page.body.contains("2 replies"));
        assert!(page.body.contains("style=\"--depth:2\""));
        assert!(!page.body.contains("/vote"), "votes need an account");
    })
    .await;
}

#[tokio::test]
async fn replies_and_mentions_notify() {
    testing::for_each_backend(async |backend| {
        let mut cafe = repair_cafe(backend).await;
        bob_replies_and_ann_answers(&mut cafe).await;
        let RepairCafe {
            app: _app,
            mut ann,
            mut bob,
            csrf,
            ..
        } = cafe;
        // Ann hears of the replies to her thread; bob of ann's answer to him.
        let home = ann.get("/").await;
        assert!(
            home.body.contains("aria-label=\"1 unread\""),
            "{}",
            home.body
        );
        let notifications = ann.get("/notifications").await;
        assert!(
            notifications.body.contains("bob replied to you"),
            "{}",
            notifications.body
        );
        assert!(
            notifications
                .body
                .contains("in <strong>Repair café</strong>"),
            "the group is named by its title: {}",
            notifications.body
        );
        assert!(notifications.body.contains("class=\"unread\""));
        assert!(
            ann.get("/").await.body.contains("1 unread"),
            "reading is not marking read"
        );
        let marked = ann.post("/notifications/read", &[("csrf", &csrf)]).await;
        assert_eq!(marked.location.as_deref(), Some("/notifications"));
        assert!(!ann.get("/").await.body.contains("unread\""));
        assert!(
            bob.get("/notifications")
                .await
                .body
                .contains("ann replied to you")
        );
        // A mention of bob in a new thread reaches him too.
        ann.post(
            "/groups/repair/new-thread",
            &[
                ("title", "Tools"),
                ("body", "@bob, can you bring a multimeter?"),
                ("csrf", &csrf),
            ],
        )
        .await;
        assert!(
            bob.get("/notifications")
                .await
                .body
                .contains("ann mentioned you")
        );
        assert!(!ann.get("/notifications").await.body.contains("mentioned"));
    })
    .await;
}

#[tokio::test]
async fn votes_toggle_and_show_which_is_pressed() {
    testing::for_each_backend(async |backend| {
        let RepairCafe {
            app,
            mut bob,
            bob_csrf,
            thread_path,
            thread_id,
            ..
        } = repair_cafe(backend).await;
        let db = &app.database.connection;
        bob.post("/groups/repair/join", &[("csrf", &bob_csrf)])
            .await;
        // Votes: like, like again (a toggle back to none), dislike.
        let vote = |value: &'static str| [("value", value), ("csrf", bob_csrf.as_str())];
        bob.post(&format!("{thread_path}/vote"), &vote("1")).await;
        assert_eq!(post_by_id(db, thread_id).await.like_count, 1);
        bob.post(&format!("{thread_path}/vote"), &vote("0")).await;
        assert_eq!(post_by_id(db, thread_id).await.like_count, 0);
        bob.post(&format!("{thread_path}/vote"), &vote("-1")).await;
        let voted = post_by_id(db, thread_id).await;
        assert_eq!((voted.like_count, voted.dislike_count), (0, 1));
        assert!(
            bob.get(&thread_path)
                .await
                .body
                .contains("aria-pressed=\"true\" aria-label=\"Dislike, 1 so far\"")
        );
    })
    .await;
}

#[tokio::test]
async fn only_the_author_edits_or_deletes() {
    testing::for_each_backend(async |backend| {
        let mut cafe = repair_cafe(backend).await;
        let reply = bob_replies_and_ann_answers(&mut cafe).await;
        let RepairCafe {
            app,
            mut ann,
            mut bob,
            mut anonymous,
            csrf,
            bob_csrf,
            thread_path,
            ..
        } = cafe;
        let db = &app.database.connection;
        // Only the author edits or deletes.
        let edit_path = format!("/posts/{}/edit", reply.id);
        assert_eq!(ann.get(&edit_path).await.status, StatusCode::FORBIDDEN);
        let not_yours = ann
            .post(&edit_path, &[("body", "hijacked"), ("csrf", &csrf)])
            .await;
        assert_eq!(not_yours.status, StatusCode::FORBIDDEN);
        let edit_form = bob.get(&edit_path).await;
        assert!(
            edit_form.body.contains("Descale it **first**"),
            "the markdown is edited"
        );
        let edited = bob
            .post(
                &edit_path,
                &[("body", "Descale it with vinegar"), ("csrf", &bob_csrf)],
            )
            .await;
        assert_eq!(edited.status, StatusCode::SEE_OTHER);
        assert!(
            post_by_id(db, reply.id)
                .await
                .content_html
                .contains("vinegar")
        );
        let deleted = bob
            .post(
                &format!("/posts/{}/delete", reply.id),
                &[("csrf", &bob_csrf)],
            )
            .await;
        assert_eq!(deleted.status, StatusCode::SEE_OTHER);
        let page = anonymous.get(&thread_path).await;
        assert!(!page.body.contains("vinegar"));
        assert!(page.body.contains("(deleted)"));
        assert!(
            page.body.contains("Thanks!"),
            "answers to a deleted reply stay"
        );
    })
    .await;
}

#[tokio::test]
async fn posts_are_activitypub_objects_in_outboxes_and_relayed_by_the_group() {
    testing::for_each_backend(async |backend| {
        let mut cafe = repair_cafe(backend).await;
        let reply = bob_replies_and_ann_answers(&mut cafe).await;
        let RepairCafe {
            app,
            mut ann,
            mut bob,
            mut anonymous,
            csrf,
            bob_csrf,
            thread_path,
            ..
        } = cafe;
        let db = &app.database.connection;
        // What the other tests do, so that every kind of activity is there: a second thread
        // (mentioning bob), a like taken back and a dislike, an edit and a deletion.
        ann.post(
            "/groups/repair/new-thread",
            &[
                ("title", "Tools"),
                ("body", "@bob, can you bring a multimeter?"),
                ("csrf", &csrf),
            ],
        )
        .await;
        for value in ["1", "0", "-1"] {
            bob.post(
                &format!("{thread_path}/vote"),
                &[("value", value), ("csrf", &bob_csrf)],
            )
            .await;
        }
        let edit_path = format!("/posts/{}/edit", reply.id);
        bob.post(
            &edit_path,
            &[("body", "Descale it with vinegar"), ("csrf", &bob_csrf)],
        )
        .await;
        bob.post(
            &format!("/posts/{}/delete", reply.id),
            &[("csrf", &bob_csrf)],
        )
        .await;

        // The posts are ActivityPub objects at their ids.
        let (status, page_json) = anonymous.get_json(&thread_path).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(page_json["type"], "Page");
        assert_eq!(page_json["id"], format!("{PUBLIC_URL}{thread_path}"));
        assert_eq!(page_json["name"], "Kettle <clicks>");
        assert_eq!(page_json["audience"], format!("{PUBLIC_URL}/groups/repair"));
        assert_eq!(page_json["attributedTo"], format!("{PUBLIC_URL}/users/ann"));
        assert_eq!(page_json["source"]["mediaType"], "text/markdown");
        let (status, tombstone) = anonymous.get_json(&format!("/posts/{}", reply.id)).await;
        assert_eq!(status, StatusCode::GONE);
        assert_eq!(tombstone["type"], "Tombstone");
        let answer = post::Entity::find()
            .filter(post::Column::ParentId.eq(reply.id))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        let (_, note) = anonymous.get_json(&format!("/posts/{}", answer.id)).await;
        assert_eq!(note["type"], "Note");
        assert_eq!(
            note["inReplyTo"],
            format!("{PUBLIC_URL}/posts/{}", reply.id)
        );
        // The thread's context collection, which the group serves (FEP-7888).
        let thread_id = thread_path.trim_start_matches("/posts/");
        assert_eq!(
            note["context"],
            format!("{PUBLIC_URL}/groups/repair/threads/{thread_id}")
        );
        assert_eq!(
            note["replies"],
            format!("{PUBLIC_URL}/posts/{}/replies", answer.id)
        );
        assert_eq!(note["tag"][0]["href"], format!("{PUBLIC_URL}/users/bob"));

        // Each action is in its author's outbox and relayed by the group (FEP-1b12).
        let group = crate::groups::directory::find_local_group(db, "repair")
            .await
            .unwrap();
        let announced: Vec<String> = activity::Entity::find()
            .filter(activity::Column::ActorId.eq(group.id))
            .all(db)
            .await
            .unwrap()
            .into_iter()
            .map(|row| {
                let json: Value = serde_json::from_str(&row.json).unwrap();
                json["object"]["type"]
                    .as_str()
                    .unwrap_or("boost")
                    .to_string()
            })
            .collect();
        for kind in [
            "Create", "Update", "Delete", "Like", "Dislike", "Undo", "boost",
        ] {
            assert!(
                announced.iter().any(|announced| announced == kind),
                "{kind}: {announced:?}"
            );
        }
        let ann_actor = actor::Entity::find()
            .filter(actor::Column::ApId.eq(format!("{PUBLIC_URL}/users/ann")))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        // Her two threads and her reply (votes by others are in their outboxes).
        let (_, outbox) = anonymous.get_json("/users/ann/outbox?page=1").await;
        assert_eq!(
            outbox["orderedItems"].as_array().unwrap().len(),
            3,
            "{outbox}"
        );
        assert!(ann_actor.local);
    })
    .await;
}

#[tokio::test]
async fn a_long_thread_pages_its_replies_and_a_link_to_a_late_reply_finds_its_page() {
    testing::for_each_backend(async |backend| {
        let RepairCafe {
            app,
            mut anonymous,
            thread_path,
            thread_id,
            ..
        } = repair_cafe(backend).await;
        let context = app.context();
        let thread = post_by_id(&app.database.connection, thread_id).await;
        let ann = crate::groups::directory::find_local_actor_by_name(&context.db, "ann")
            .await
            .unwrap()
            .unwrap();
        let per_page = crate::groups::posts::REPLIES_PER_PAGE;
        let mut last = None;
        for number in 0..per_page + 5 {
            let draft = crate::groups::posts::Draft {
                markdown: format!("Answer number {number}"),
                ..Default::default()
            };
            let (reply, _) = crate::actions::posts::reply_to(&context, &ann, &thread, draft)
                .await
                .unwrap();
            last = Some(reply.id);
        }
        let first = anonymous.get(&thread_path).await;
        assert_eq!(first.body.matches("class=\"post reply\"").count(), per_page);
        assert!(first.body.contains("Answer number 0<"));
        assert!(!first.body.contains(&format!("Answer number {per_page}<")));
        let marker = "rel=\"next\" href=\"";
        let start = first.body.find(marker).expect("a link to more replies") + marker.len();
        let next: String = first.body[start..]
            .chars()
            .take_while(|c| *c != '"')
            .collect();
        let second = anonymous.get(&next).await;
        assert_eq!(second.body.matches("class=\"post reply\"").count(), 5);
        assert!(second.body.contains(&format!("Answer number {per_page}<")));
        assert!(second.body.contains("← First replies"));
        assert!(!second.body.contains("rel=\"next\""));
        // A link to the last reply lands on the page that shows it.
        let last = last.unwrap();
        let found = anonymous.get(&format!("/posts/{last}")).await;
        assert_eq!(
            found.location.as_deref(),
            Some(format!("{next}#post-{last}").as_str())
        );
    })
    .await;
}
