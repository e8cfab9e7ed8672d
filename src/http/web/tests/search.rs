//! Search from the header of every page: groups by name, threads and replies by their words
//! (every word, as a word or the start of one), on SQLite's FTS5 and PostgreSQL's `tsvector`
//! alike; edits are found by their new words, removed posts are not found, the database's
//! query syntax cannot be reached, and the API pages the same results.

use super::*;

#[tokio::test]
async fn threads_and_replies_are_found_by_their_words_and_only_when_shown() {
    testing::for_each_backend(async |backend| {
        let mut cafe = repair_cafe(backend).await;
        let reply = bob_replies_and_ann_answers(&mut cafe).await;
        let RepairCafe {
            app,
            mut ann,
            mut anonymous,
            csrf,
            thread_path,
            ..
        } = cafe;
        let front = anonymous.get("/groups/repair").await;
        assert!(
            front.body.contains("href=\"/search\""),
            "reachable from every page"
        );

        let found = anonymous.get("/search?q=kettle").await;
        assert_eq!(found.status, StatusCode::OK, "{}", found.body);
        assert!(
            found.body.contains("Kettle &lt;clicks&gt;"),
            "{}",
            found.body
        );
        assert!(found.body.contains("in <a href=\"/groups/repair\">"));
        // A prefix, words anywhere, in any order, and a group by its name.
        for words in ["kett", "heat CLICKS", "café"] {
            let page = anonymous
                .get(&format!("/search?q={}", form_encode(words)))
                .await;
            assert!(
                page.body.contains("Kettle &lt;clicks&gt;") || page.body.contains("Repair café"),
                "{words}: {}",
                page.body
            );
        }
        let replies = anonymous.get("/search?q=descale").await;
        assert!(
            replies.body.contains("Reply in: Kettle &lt;clicks&gt;"),
            "{}",
            replies.body
        );
        // A reply links to its own address, which finds the page of its thread that shows it.
        assert!(
            replies
                .body
                .contains(&format!("href=\"/posts/{}\"", reply.id))
        );
        assert!(
            anonymous
                .get("/search?q=toaster")
                .await
                .body
                .contains("Nothing found.")
        );
        // The search engines' own syntax is only words here.
        for hostile in [
            "\"kettle\" OR *",
            "kettle:* | heat",
            "NEAR(kettle heat)",
            "*",
            "'; DROP TABLE posts; --",
        ] {
            let page = anonymous
                .get(&format!("/search?q={}", form_encode(hostile)))
                .await;
            assert_eq!(page.status, StatusCode::OK, "{hostile}: {}", page.body);
        }

        // An edit is found by its new words only.
        let edited = ann
            .post(
                &format!("{thread_path}/edit"),
                &[
                    ("title", "Kettle <clicks>"),
                    ("body", "Solved: the thermostat."),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert_eq!(edited.status, StatusCode::SEE_OTHER, "{}", edited.body);
        assert!(
            anonymous
                .get("/search?q=thermostat")
                .await
                .body
                .contains("Kettle &lt;clicks&gt;")
        );
        assert!(
            anonymous
                .get("/search?q=heat")
                .await
                .body
                .contains("Nothing found.")
        );

        // A removed reply is not found.
        ann.post(
            &format!("/posts/{}/moderate/remove", reply.id),
            &[("reason", "off topic"), ("csrf", &csrf)],
        )
        .await;
        assert!(
            anonymous
                .get("/search?q=descale")
                .await
                .body
                .contains("Nothing found.")
        );

        // The API: the same results, a page at a time.
        let (status, first) = anonymous.get_json("/api/v1/search?q=thanks%20kettle").await;
        assert_eq!(status, StatusCode::OK, "{first}");
        assert_eq!(first.as_array().unwrap().len(), 0, "no post holds both");
        let (_, posts) = anonymous.get_json("/api/v1/search?q=kettle&limit=1").await;
        assert_eq!(posts[0]["title"], "Kettle <clicks>");
        let bad = anonymous.get("/api/v1/search?q=kettle&cursor=x").await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        drop(app);
    })
    .await;
}

#[tokio::test]
async fn search_pages_go_from_the_latest_match_to_the_first_without_gaps_or_repeats() {
    testing::for_each_backend(async |backend| {
        let cafe = repair_cafe(backend).await;
        let RepairCafe {
            app,
            mut ann,
            mut anonymous,
            csrf,
            ..
        } = cafe;
        // Seven more threads about toasters, and one about bikes between them.
        let mut toaster_threads = Vec::new();
        for number in 0..8 {
            let title = if number == 3 {
                "Bike chain".to_string()
            } else {
                format!("Toaster number {number}")
            };
            let posted = ann
                .post(
                    "/groups/repair/new-thread",
                    &[
                        ("title", title.as_str()),
                        ("body", "Bring it on Saturday."),
                        ("csrf", &csrf),
                    ],
                )
                .await;
            assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.body);
            let id: i64 = posted
                .location
                .unwrap()
                .trim_start_matches("/posts/")
                .parse()
                .unwrap();
            if number != 3 {
                toaster_threads.push(id);
            }
        }
        toaster_threads.reverse();

        let mut listed = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..10 {
            let address = match &cursor {
                None => "/api/v1/search?q=toaster&limit=3".to_string(),
                Some(cursor) => format!("/api/v1/search?q=toaster&limit=3&cursor={cursor}"),
            };
            let response = anonymous.get(&address).await;
            assert_eq!(response.status, StatusCode::OK, "{}", response.body);
            let page: serde_json::Value = serde_json::from_str(&response.body).unwrap();
            let page = page.as_array().unwrap();
            assert!(page.len() <= 3);
            listed.extend(page.iter().map(|post| post["id"].as_i64().unwrap()));
            cursor = response
                .link
                .as_deref()
                .and_then(|link| link.split("cursor=").nth(1))
                .map(|rest| rest.split(['>', '&']).next().unwrap().to_string());
            if cursor.is_none() {
                break;
            }
        }
        assert_eq!(listed, toaster_threads, "the latest first, each once");
        drop(app);
    })
    .await;
}
