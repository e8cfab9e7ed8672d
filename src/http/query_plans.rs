//! The query plans of what the busiest requests run, on SQLite and PostgreSQL: every statement
//! the pages, the API lists and the ActivityPub collections send while they are served is
//! recorded, and each one that reads `posts` is explained. None may scan the whole table: on
//! SQLite, a `SCAN posts` without an index; on PostgreSQL (sequential scans turned off, so the
//! planner uses an index whenever one can serve), a `Seq Scan on posts`. A list that cost the
//! same on an empty group costs more on a big one only through such a scan.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::{
    accounts::{
        sessions,
        users::{self, NewUser},
    },
    app,
    groups::{directory, posts::Draft},
    testing,
};
use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};
use http_body_util::BodyExt;
use kindred_entities::{session::SessionKind, user::UserState};
use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionSession, TransactionTrait};
use std::sync::{Arc, Mutex};
use tower::ServiceExt;

/// How a plan line reads when it scans all of `posts`.
fn scans_all_posts(backend: DbBackend, line: &str) -> bool {
    match backend {
        DbBackend::Postgres => line.contains("Seq Scan on posts"),
        _ => {
            let line = line.trim();
            (line == "SCAN posts" || line.starts_with("SCAN posts ")) && !line.contains(" USING ")
        }
    }
}

/// The plan of `statement`, one line per step.
async fn plan_of(database: &impl TransactionTrait, statement: &Statement) -> Vec<String> {
    let backend = statement.db_backend;
    let transaction = database.begin().await.unwrap();
    let (prefix, column) = match backend {
        DbBackend::Postgres => {
            transaction
                .execute_unprepared("SET LOCAL enable_seqscan = off")
                .await
                .unwrap();
            ("EXPLAIN ", "QUERY PLAN")
        }
        _ => ("EXPLAIN QUERY PLAN ", "detail"),
    };
    let explained = Statement {
        sql: format!("{prefix}{}", statement.sql),
        values: statement.values.clone(),
        db_backend: backend,
    };
    let rows = transaction
        .query_all_raw(explained)
        .await
        .unwrap_or_else(|error| panic!("EXPLAIN {}: {error}", statement.sql));
    transaction.rollback().await.unwrap();
    rows.iter()
        .map(|row| row.try_get::<String>("", column).unwrap())
        .collect()
}

#[tokio::test]
async fn no_page_list_or_collection_scans_the_whole_posts_table() {
    testing::for_each_backend(async |backend| {
        let mut database = testing::fresh_database(backend).await.unwrap();
        let recorded: Arc<Mutex<Vec<Statement>>> = Arc::default();
        let recorder = recorded.clone();
        database.connection.set_metric_callback(move |info| {
            recorder.lock().unwrap().push(info.statement.clone());
        });
        let mut config = testing::test_config(testing::TEST_PUBLIC_URL).unwrap();
        // Reads through the one recorded connection.
        config.database.sqlite_read_connections = 0;
        let federation = testing::test_federation(config.clone(), &database)
            .await
            .unwrap();
        let router = app::router(&federation);
        let context = federation.to_request_data();
        let db = &context.db;

        // A group with threads, replies, a vote, a report and a notification.
        let mut people = Vec::new();
        for (name, admin) in [("ann", true), ("bob", false)] {
            people.push(
                users::create_user(
                    db,
                    &config,
                    &testing::test_key_source(),
                    NewUser {
                        name,
                        password: testing::TEST_PASSWORD,
                        email: None,
                        application_text: None,
                    },
                    UserState::Active,
                    admin,
                )
                .await
                .unwrap(),
            );
        }
        let (ann, bob) = (&people[0], &people[1]);
        let group = directory::create_group(
            db,
            &config,
            &testing::test_key_source(),
            directory::NewGroup {
                name: "repair",
                title: "Repair café",
                summary_markdown: None,
            },
        )
        .await
        .unwrap();
        crate::groups::membership::found(db, &group, &ann.actor)
            .await
            .unwrap();
        crate::actions::groups::join(&context, &bob.actor, &group)
            .await
            .unwrap();
        let mut threads = Vec::new();
        for number in 0..12 {
            let thread = crate::actions::posts::start_thread(
                &context,
                &ann.actor,
                &group,
                Draft {
                    title: Some(format!("Kettle {number}")),
                    markdown: format!("The kettle number {number} clicks"),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
            for reply in 0..3 {
                crate::actions::posts::reply_to(
                    &context,
                    &bob.actor,
                    &thread,
                    Draft {
                        markdown: format!("Descale kettle {number}, try {reply}"),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            }
            threads.push(thread);
        }
        let thread = threads[3].clone();
        crate::actions::posts::vote(&context, &bob.actor, &thread, 1)
            .await
            .unwrap();
        crate::actions::moderation::report_post(&context, &bob.actor, &thread, Some("spam"), false)
            .await
            .unwrap();
        let ann_web = sessions::create_session(db, ann.user.id, SessionKind::Web, None)
            .await
            .unwrap()
            .token;
        let bob_api = sessions::create_session(db, bob.user.id, SessionKind::Api, None)
            .await
            .unwrap()
            .token;

        let activity_json = "application/activity+json";
        let id = thread.id;
        let requests: Vec<(String, &str, Option<&str>, Option<&str>)> = vec![
            // ActivityPub collections, as other servers read them.
            ("/groups/repair/outbox".into(), activity_json, None, None),
            (
                "/groups/repair/outbox?page=1".into(),
                activity_json,
                None,
                None,
            ),
            ("/groups/repair/followers".into(), activity_json, None, None),
            ("/groups/repair/featured".into(), activity_json, None, None),
            (
                format!("/groups/repair/threads/{id}"),
                activity_json,
                None,
                None,
            ),
            (
                format!("/groups/repair/threads/{id}?page=true"),
                activity_json,
                None,
                None,
            ),
            (format!("/posts/{id}/replies"), activity_json, None, None),
            (format!("/posts/{id}"), activity_json, None, None),
            // Pages, signed in.
            ("/".into(), "text/html", Some(ann_web.as_str()), None),
            ("/groups".into(), "text/html", Some(&ann_web), None),
            ("/groups/repair".into(), "text/html", Some(&ann_web), None),
            (
                "/groups/repair?sort=active".into(),
                "text/html",
                Some(&ann_web),
                None,
            ),
            (
                "/groups/repair?sort=top".into(),
                "text/html",
                Some(&ann_web),
                None,
            ),
            (format!("/posts/{id}"), "text/html", Some(&ann_web), None),
            (
                "/search?q=kettle+descale".into(),
                "text/html",
                Some(&ann_web),
                None,
            ),
            ("/notifications".into(), "text/html", Some(&ann_web), None),
            ("/users/bob".into(), "text/html", Some(&ann_web), None),
            (
                "/groups/repair/moderation".into(),
                "text/html",
                Some(&ann_web),
                None,
            ),
            (
                "/groups/repair/modlog".into(),
                "text/html",
                Some(&ann_web),
                None,
            ),
            (
                "/groups/repair/feed.atom".into(),
                "application/atom+xml",
                None,
                None,
            ),
            // The API's lists.
            (
                "/api/v1/groups/repair/threads?limit=5".into(),
                "application/json",
                None,
                Some(&bob_api),
            ),
            (
                "/api/v1/groups/repair/threads?sort=top&limit=5".into(),
                "application/json",
                None,
                Some(&bob_api),
            ),
            (
                "/api/v1/groups/repair/threads?sort=active&limit=5".into(),
                "application/json",
                None,
                Some(&bob_api),
            ),
            (
                "/api/v1/search?q=kettle".into(),
                "application/json",
                None,
                Some(&bob_api),
            ),
            (
                format!("/api/v1/posts/{id}"),
                "application/json",
                None,
                Some(&bob_api),
            ),
            (
                "/api/v1/notifications".into(),
                "application/json",
                None,
                Some(&bob_api),
            ),
        ];
        recorded.lock().unwrap().clear();
        let mut next_pages = Vec::new();
        for (path, accept, session, token) in &requests {
            let mut request = Request::builder()
                .uri(path)
                .header(header::HOST, "kindred.test:8080")
                .header(header::ACCEPT, *accept);
            if let Some(session) = session {
                request = request.header(header::COOKIE, format!("kindred_session={session}"));
            }
            if let Some(token) = token {
                request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
            }
            let response = router
                .clone()
                .oneshot(request.body(Body::empty()).unwrap())
                .await
                .unwrap();
            let status = response.status();
            if let Some(link) = response.headers().get(header::LINK) {
                next_pages.push(link.to_str().unwrap().to_string());
            }
            let body = response.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(
                status,
                StatusCode::OK,
                "{path}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        // A later page of each API list, through the cursor it gave.
        for link in &next_pages {
            let path = testing::next_page_path(link, "8080").unwrap();
            let response = router
                .clone()
                .oneshot(
                    Request::builder()
                        .uri(&path)
                        .header(header::HOST, "kindred.test:8080")
                        .header(header::AUTHORIZATION, format!("Bearer {bob_api}"))
                        .body(Body::empty())
                        .unwrap(),
                )
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{path}");
        }
        assert!(!next_pages.is_empty(), "the lists were paged");

        let statements: Vec<Statement> = recorded.lock().unwrap().drain(..).collect();
        let mut explained = std::collections::BTreeSet::new();
        let mut full_scans = Vec::new();
        for statement in &statements {
            let sql = &statement.sql;
            let reads_posts = sql.contains("\"posts\"") || sql.contains(" posts ");
            if !reads_posts || !explained.insert(sql.clone()) {
                continue;
            }
            let plan = plan_of(db, statement).await;
            if plan
                .iter()
                .any(|line| scans_all_posts(db.get_database_backend(), line))
            {
                // The column list says little; where it reads from and how says it all.
                let from = sql
                    .find(" FROM ")
                    .map_or(sql.as_str(), |start| &sql[start..]);
                full_scans.push(format!("…{from}\n  {}", plan.join("\n  ")));
            }
        }
        assert!(
            explained.len() >= 20,
            "only {} statements read posts",
            explained.len()
        );
        assert!(
            full_scans.is_empty(),
            "{backend:?}: {} statements scan all of posts:\n\n{}",
            full_scans.len(),
            full_scans.join("\n\n")
        );
        drop(router);
        drop(federation);
        database.remove().await.unwrap();
    })
    .await;
}
