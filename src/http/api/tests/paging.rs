//! Lists a page at a time: every thread of a group is reached exactly once by following the
//! `Link: <…>; rel="next"` headers, in every order, with ties on the sort key (the same time,
//! the same score); pinned threads come first on the first page only; a forged cursor is 400.

use super::*;
use crate::{actions, groups::posts::Draft, testing::TestApp};
use kindred_entities::{post, session::SessionKind};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};

/// `count` threads in ann's group "repair", written through the action layer; their times and
/// scores are then set so that many tie.
async fn many_threads(app: &TestApp, count: usize) -> Vec<i64> {
    let context = app.context();
    let (ann, group) = (&app.person("ann").actor, app.group("repair"));
    let mut ids = Vec::new();
    for number in 0..count {
        let draft = Draft {
            title: Some(format!("Thread {number}")),
            markdown: "Body".into(),
            ..Default::default()
        };
        ids.push(
            actions::posts::start_thread(&context, ann, group, draft)
                .await
                .unwrap()
                .id,
        );
    }
    let base = chrono::Utc::now() - chrono::Duration::days(1);
    for (index, id) in ids.iter().enumerate() {
        // Five threads share each time, and scores run 0..3.
        let at = base + chrono::Duration::seconds((index / 5) as i64);
        post::Entity::update_many()
            .col_expr(post::Column::PublishedAt, Expr::value(at))
            .col_expr(post::Column::LastActivityAt, Expr::value(at))
            .col_expr(post::Column::LikeCount, Expr::value((index % 4) as i32))
            .filter(post::Column::Id.eq(*id))
            .exec(&app.database.connection)
            .await
            .unwrap();
    }
    ids
}

/// An API token of `name`, one of the app's people.
async fn api_token(app: &TestApp, name: &str) -> String {
    crate::accounts::sessions::create_session(
        &app.database.connection,
        app.person(name).user.id,
        SessionKind::Api,
        None,
    )
    .await
    .unwrap()
    .token
}

#[tokio::test]
async fn every_thread_is_reached_once_in_every_order() {
    testing::for_each_backend(async |backend| {
        let app = TestApp::on(backend)
            .with_user("ann")
            .with_group("repair", "ann")
            .start()
            .await;
        let token = api_token(&app, "ann").await;
        let mut all = many_threads(&app, 57).await;
        // One pinned thread: first on the first page, never again.
        let pinned = all[10];
        post::Entity::update_many()
            .col_expr(post::Column::PinnedAt, Expr::value(chrono::Utc::now()))
            .filter(post::Column::Id.eq(pinned))
            .exec(&app.database.connection)
            .await
            .unwrap();
        all.sort_unstable();
        for sort in ["new", "active", "top"] {
            let (seen, pages) = follow_any(
                &app,
                &token,
                &format!("/groups/repair/threads?sort={sort}&limit=10"),
                thread_id,
            )
            .await;
            assert_eq!(seen[0], pinned, "{sort}: the pinned thread comes first");
            assert_eq!(pages, 6, "{sort}: 56 unpinned threads, 10 a page");
            let mut sorted = seen.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, all, "{sort}: each thread once");
        }
        // Newest first, ties by id: the order is the one the list promised.
        let (seen, _) = follow_any(
            &app,
            &token,
            "/groups/repair/threads?sort=new&limit=7",
            thread_id,
        )
        .await;
        let unpinned: Vec<i64> = seen[1..].to_vec();
        let mut expected = all.clone();
        expected.retain(|id| *id != pinned);
        expected.sort_by_key(|id| {
            let index = expected_index(&all, *id);
            (std::cmp::Reverse(index / 5), std::cmp::Reverse(*id))
        });
        assert_eq!(unpinned, expected);

        let forged = call(
            &app.router,
            Method::GET,
            "/groups/repair/threads?cursor=1.2.3.4",
            Some(&token),
            None,
        )
        .await;
        assert_error(&forged, StatusCode::BAD_REQUEST, "bad_request");
    })
    .await;
}

/// An entry's `id`.
fn thread_id(entry: &Value) -> i64 {
    entry["id"].as_i64().unwrap()
}

/// A thread's place among those made (its creation order).
fn expected_index(all_sorted_by_id: &[i64], id: i64) -> usize {
    all_sorted_by_id
        .iter()
        .position(|other| *other == id)
        .unwrap()
}

#[tokio::test]
async fn notifications_and_the_moderation_log_are_paged_by_cursor() {
    testing::for_each_backend(async |backend| {
        let app = TestApp::on(backend)
            .with_user("ann")
            .with_user("bob")
            .with_group("repair", "ann")
            .start()
            .await;
        let context = app.context();
        let (ann, bob, group) = (
            &app.person("ann").actor,
            &app.person("bob").actor,
            app.group("repair"),
        );
        crate::groups::membership::join(&context.db, group, bob, None)
            .await
            .unwrap();
        let token = api_token(&app, "ann").await;
        let thread = actions::posts::start_thread(
            &context,
            ann,
            group,
            Draft {
                title: Some("Kettle".into()),
                markdown: "Clicks".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        // 60 replies: 60 notifications for ann.
        for number in 0..60 {
            let draft = Draft {
                markdown: format!("Reply {number}"),
                ..Default::default()
            };
            actions::posts::reply_to(&context, bob, &thread, draft)
                .await
                .unwrap();
        }
        // 40 pins and unpins: 40 entries in the log.
        let mut pinned = thread.clone();
        for number in 0..40 {
            pinned = actions::moderation::pin_thread(&context, ann, pinned, number % 2 == 0)
                .await
                .unwrap();
        }
        let (ids, pages) = follow_any(&app, &token, "/notifications?limit=25", thread_id).await;
        assert_eq!((ids.len(), pages), (60, 3));
        let mut unique = ids.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), 60, "each once");
        assert!(ids.windows(2).all(|pair| pair[0] > pair[1]), "newest first");
        let (entries, pages) =
            follow_any(&app, &token, "/groups/repair/modlog?limit=15", |entry| {
                entry["created_at"].as_str().unwrap().len() as i64
            })
            .await;
        assert_eq!((entries.len(), pages), (40, 3));
        let forged = call(
            &app.router,
            Method::GET,
            "/notifications?cursor=-5",
            Some(&token),
            None,
        )
        .await;
        assert_error(&forged, StatusCode::BAD_REQUEST, "bad_request");
    })
    .await;
}

/// Follows a list's `Link` headers from `first` to the end; what `key` gives of each entry.
async fn follow_any(
    app: &TestApp,
    token: &str,
    first: &str,
    key: impl Fn(&Value) -> i64,
) -> (Vec<i64>, usize) {
    let mut seen = Vec::new();
    let mut path = first.to_string();
    let mut pages = 0;
    loop {
        let answer = call(&app.router, Method::GET, &path, Some(token), None).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.json);
        pages += 1;
        seen.extend(answer.json.as_array().unwrap().iter().map(&key));
        let Some(link) = answer.link else {
            return (seen, pages);
        };
        path = testing::next_page_path(&link, "/api/v1").unwrap();
        assert!(pages < 100, "the pages never end");
    }
}

#[tokio::test]
async fn a_long_thread_is_read_a_page_of_branches_at_a_time() {
    testing::for_each_backend(async |backend| {
        let app = TestApp::on(backend)
            .with_user("ann")
            .with_group("repair", "ann")
            .start()
            .await;
        let context = app.context();
        let (ann, group) = (&app.person("ann").actor, app.group("repair"));
        let token = api_token(&app, "ann").await;
        let thread = actions::posts::start_thread(
            &context,
            ann,
            group,
            Draft {
                title: Some("A long one".into()),
                markdown: "Body".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        // Ten top-level replies, each with two under it: thirty in all.
        let mut written = Vec::new();
        for number in 0..10 {
            let draft = |text: String| Draft {
                markdown: text,
                ..Default::default()
            };
            let (top, _) =
                actions::posts::reply_to(&context, ann, &thread, draft(format!("top {number}")))
                    .await
                    .unwrap();
            let (under, _) =
                actions::posts::reply_to(&context, ann, &top, draft(format!("under {number}")))
                    .await
                    .unwrap();
            let (deeper, _) =
                actions::posts::reply_to(&context, ann, &under, draft(format!("deeper {number}")))
                    .await
                    .unwrap();
            written.extend([top.id, under.id, deeper.id]);
        }
        // Seven a page: three branches (nine replies) a page, each whole, in order.
        let mut seen = Vec::new();
        let mut path = format!("/posts/{}?limit=7", thread.id);
        let mut pages = 0;
        loop {
            let answer = call(&app.router, Method::GET, &path, Some(&token), None).await;
            assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.json);
            assert_eq!(answer.json["thread"]["id"], thread.id);
            let replies = answer.json["replies"].as_array().unwrap();
            pages += 1;
            for reply in replies {
                let parent = reply["parent_id"].as_i64().unwrap();
                assert!(
                    parent == thread.id
                        || seen.contains(&parent)
                        || replies.iter().any(|other| other["id"] == parent),
                    "each reply comes with its parent"
                );
                seen.push(reply["id"].as_i64().unwrap());
            }
            let Some(link) = answer.link else { break };
            path = testing::next_page_path(&link, "/api/v1").unwrap();
            assert!(pages < 20, "the pages never end");
        }
        assert_eq!(seen, written, "every reply once, in nesting order");
        assert_eq!(pages, 4, "9 + 9 + 9 + 3");
        let forged = call(
            &app.router,
            Method::GET,
            &format!("/posts/{}?cursor=abc", thread.id),
            None,
            None,
        )
        .await;
        assert_error(&forged, StatusCode::BAD_REQUEST, "bad_request");
    })
    .await;
}
