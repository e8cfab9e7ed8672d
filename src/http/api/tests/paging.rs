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

/// Follows a list's `Link` headers from `first` to the end; the ids in the order seen.
async fn follow_pages(app: &TestApp, token: &str, first: &str) -> (Vec<i64>, usize) {
    let mut seen = Vec::new();
    let mut path = first.to_string();
    let mut pages = 0;
    loop {
        let answer = call(&app.router, Method::GET, &path, Some(token), None).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.json);
        pages += 1;
        seen.extend(
            answer
                .json
                .as_array()
                .unwrap()
                .iter()
                .map(|thread| thread["id"].as_i64().unwrap()),
        );
        let Some(link) = answer.link else {
            return (seen, pages);
        };
        let url = link
            .strip_prefix('<')
            .and_then(|rest| rest.split_once(">; rel=\"next\""))
            .map(|(url, _)| url.to_string())
            .unwrap_or_else(|| panic!("not a next link: {link}"));
        path = url
            .split_once("/api/v1")
            .map(|(_, rest)| rest.to_string())
            .unwrap();
        assert!(pages < 100, "the pages never end");
    }
}

#[tokio::test]
async fn every_thread_is_reached_once_in_every_order() {
    testing::for_each_backend(async |backend| {
        let app = TestApp::on(backend)
            .with_user("ann")
            .with_group("repair", "ann")
            .start()
            .await;
        let token = crate::accounts::sessions::create_session(
            &app.database.connection,
            app.person("ann").user.id,
            SessionKind::Api,
            None,
        )
        .await
        .unwrap()
        .token;
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
            let (seen, pages) = follow_pages(
                &app,
                &token,
                &format!("/groups/repair/threads?sort={sort}&limit=10"),
            )
            .await;
            assert_eq!(seen[0], pinned, "{sort}: the pinned thread comes first");
            assert_eq!(pages, 6, "{sort}: 56 unpinned threads, 10 a page");
            let mut sorted = seen.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, all, "{sort}: each thread once");
        }
        // Newest first, ties by id: the order is the one the list promised.
        let (seen, _) = follow_pages(&app, &token, "/groups/repair/threads?sort=new&limit=7").await;
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

/// A thread's place among those made (its creation order).
fn expected_index(all_sorted_by_id: &[i64], id: i64) -> usize {
    all_sorted_by_id
        .iter()
        .position(|other| *other == id)
        .unwrap()
}
