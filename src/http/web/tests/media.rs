//! Pictures people here upload, through the forms a browser without JavaScript sends
//! (`multipart/form-data`): with a thread or a reply (alt text, content warning), as an avatar,
//! as a group's icon and banner. What is kept has no EXIF; a bomb, a 50 MB file, a fifth
//! picture and what is not a picture are refused with nothing kept; documents carry what
//! Mastodon and Lemmy read.

use super::*;
use crate::testing::pictures::{GPS_MARKER, contains, jpeg_with_gps, png, png_bomb};
use kindred_entities::upload;
use sea_orm::PaginatorTrait;

/// The upload URL's path in a document, and the bytes served there.
async fn served(browser: &mut Browser, url: &str) -> Page {
    let path = url.strip_prefix(PUBLIC_URL.trim_end_matches('/')).unwrap();
    browser.get(path).await
}

/// How many files the instance's media directory holds.
fn files_in(directory: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(directory) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| {
            if entry.path().is_dir() {
                files_in(&entry.path())
            } else {
                1
            }
        })
        .sum()
}

#[tokio::test]
async fn a_thread_and_a_reply_carry_pictures_without_their_exif() {
    testing::for_each_backend(async |backend| {
        let mut cafe = repair_cafe(backend).await;
        let csrf = cafe.csrf.clone();
        let photo = jpeg_with_gps(640, 480);
        assert!(contains(&photo, GPS_MARKER));
        let posted = cafe
            .ann
            .post_multipart(
                "/groups/repair/new-thread",
                &[
                    ("title", "The toaster, opened"),
                    ("body", "What is this *part*?"),
                    ("content_warning", "Sharp edges"),
                    (
                        "picture_1_alt",
                        "A toaster's base, opened, with a burnt wire",
                    ),
                    ("csrf", &csrf),
                ],
                &[
                    ("picture_1", "IMG_0001.JPG", &photo),
                    ("picture_2", "diagram.png", &png(300, 200)),
                    // An empty file input, as browsers send one.
                    ("picture_3", "", b""),
                ],
            )
            .await;
        assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.body);
        let thread_path = posted.location.unwrap();

        // The document carries the pictures in the shape Mastodon and Lemmy read.
        let (_, document) = cafe.anonymous.get_json(&thread_path).await;
        let attachments = document["attachment"].as_array().unwrap();
        assert_eq!(attachments.len(), 2, "{document}");
        let first = &attachments[0];
        assert_eq!(first["type"], "Image");
        assert_eq!(first["mediaType"], "image/jpeg");
        assert_eq!(first["name"], "A toaster's base, opened, with a burnt wire");
        assert_eq!(
            (first["width"].as_i64(), first["height"].as_i64()),
            (Some(640), Some(480))
        );
        let url = first["url"].as_str().unwrap();
        assert!(
            url.starts_with(&format!(
                "{}/media/uploads/",
                PUBLIC_URL.trim_end_matches('/')
            )),
            "{url}"
        );
        assert_eq!(first["blurhash"].as_str().map(str::len), Some(28));
        assert_eq!(attachments[1]["mediaType"], "image/png");
        assert!(
            attachments[1].get("name").is_none(),
            "no alt text was given"
        );
        assert_eq!(document["image"]["url"], url, "Lemmy's thumbnail");
        assert_eq!(document["summary"], "Sharp edges");
        assert_eq!(document["sensitive"], true);

        // What is served has no EXIF, and is a JPEG still.
        let picture = served(&mut cafe.anonymous, url).await;
        assert_eq!(picture.status, StatusCode::OK);
        assert_eq!(picture.content_type.as_deref(), Some("image/jpeg"));
        assert!(picture.bytes.starts_with(&[0xFF, 0xD8]));
        assert!(!contains(&picture.bytes, GPS_MARKER));
        assert!(!contains(&picture.bytes, b"Exif"));

        // The page shows them, folded behind the warning, with their alt text.
        let page = cafe.anonymous.get(&thread_path).await;
        assert!(page.body.contains("Sharp edges"), "{}", page.body);
        assert!(
            page.body
                .contains("alt=\"A toaster's base, opened, with a burnt wire\"")
        );
        assert!(page.body.contains("src=\"/media/attachments/"));

        // Bob joins and replies with a picture and no text.
        let bob_csrf = cafe.bob_csrf.clone();
        cafe.bob
            .post("/groups/repair/join", &[("csrf", &bob_csrf)])
            .await;
        let thread_id = thread_path.trim_start_matches("/posts/");
        let replied = cafe
            .bob
            .post_multipart(
                &format!("/posts/{thread_id}/reply"),
                &[
                    ("body", ""),
                    ("picture_1_alt", "The same part, new"),
                    ("csrf", &bob_csrf),
                ],
                &[("picture_1", "part.png", &png(120, 80))],
            )
            .await;
        assert_eq!(replied.status, StatusCode::SEE_OTHER, "{}", replied.body);
        let database = &cafe.app.database.connection;
        let kept = upload::Entity::find().all(database).await.unwrap();
        assert_eq!(kept.len(), 3);
        assert!(kept.iter().all(|row| row.used_at.is_some()), "all are used");

        // A fifth picture is one too many, and nothing of that post is kept.
        let too_many = cafe
            .ann
            .post_multipart(
                "/groups/repair/new-thread",
                &[("title", "Five"), ("csrf", &csrf)],
                &[
                    ("picture_1", "1.png", &png(10, 10)),
                    ("picture_2", "2.png", &png(10, 10)),
                    ("picture_3", "3.png", &png(10, 10)),
                    ("picture_4", "4.png", &png(10, 10)),
                    ("picture_5", "5.png", &png(10, 10)),
                ],
            )
            .await;
        assert_eq!(too_many.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            too_many.body.contains("at most 4 pictures"),
            "{}",
            too_many.body
        );
        assert!(
            too_many.body.contains("value=\"Five\""),
            "what was typed is kept"
        );
        assert_eq!(upload::Entity::find().count(database).await.unwrap(), 3);
    })
    .await;
}

#[tokio::test]
async fn a_bomb_a_huge_file_and_a_non_picture_are_refused_and_nothing_is_kept() {
    testing::for_each_backend(async |backend| {
        let mut cafe = repair_cafe(backend).await;
        let csrf = cafe.csrf.clone();
        let media_directory = cafe.app.context().config.database.data_dir.join("media");
        let bomb = cafe
            .ann
            .post_multipart(
                "/groups/repair/new-thread",
                &[("title", "Bomb"), ("csrf", &csrf)],
                &[("picture_1", "bomb.png", &png_bomb())],
            )
            .await;
        assert_eq!(bomb.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            bomb.body.contains("100000×100000 pixels is too big"),
            "{}",
            bomb.body
        );

        let fifty_megabytes = vec![0xAB; 50 * 1024 * 1024];
        let huge = cafe
            .ann
            .post_multipart(
                "/groups/repair/new-thread",
                &[("title", "Huge"), ("csrf", &csrf)],
                &[("picture_1", "huge.jpg", &fifty_megabytes)],
            )
            .await;
        assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE);

        let text = cafe
            .ann
            .post_multipart(
                "/groups/repair/new-thread",
                &[("title", "Not a picture"), ("csrf", &csrf)],
                &[(
                    "picture_1",
                    "page.png",
                    b"<html><script>alert(1)</script></html>",
                )],
            )
            .await;
        assert_eq!(text.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            text.body.contains("not a PNG, JPEG, GIF or WebP"),
            "{}",
            text.body
        );

        // A NUL in a text field is refused like anywhere else.
        let nul = cafe
            .ann
            .post_multipart(
                "/groups/repair/new-thread",
                &[("title", "Nul\0here"), ("csrf", &csrf)],
                &[("picture_1", "ok.png", &png(10, 10))],
            )
            .await;
        assert_eq!(nul.status, StatusCode::UNPROCESSABLE_ENTITY);

        // Only the routes that take pictures read multipart bodies unchecked: elsewhere (an
        // inbox, a button) a NUL is refused by the guard as in any other body.
        for elsewhere in ["/inbox", "/groups/repair/inbox", "/groups/repair/join"] {
            let smuggled = cafe
                .ann
                .post_multipart(elsewhere, &[("object", "{\"content\":\"a\u{0}b\"}")], &[])
                .await;
            assert_eq!(
                smuggled.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{elsewhere}"
            );
        }

        let database = &cafe.app.database.connection;
        assert_eq!(upload::Entity::find().count(database).await.unwrap(), 0);
        assert_eq!(files_in(&media_directory), 0, "nothing was stored");
        assert_eq!(
            post::Entity::find().count(database).await.unwrap(),
            1,
            "only the first thread"
        );
    })
    .await;
}

#[tokio::test]
async fn a_profile_and_a_group_get_pictures_and_documents_name_them() {
    testing::for_each_backend(async |backend| {
        let mut cafe = repair_cafe(backend).await;
        let csrf = cafe.csrf.clone();
        let saved = cafe
            .ann
            .post_multipart(
                "/settings/profile",
                &[
                    ("display_name", "Ann Fixit"),
                    ("bio", "I mend *kettles*."),
                    ("csrf", &csrf),
                ],
                &[("avatar", "me.jpg", &jpeg_with_gps(200, 200))],
            )
            .await;
        assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
        let (_, person) = cafe.anonymous.get_json("/users/ann").await;
        assert_eq!(person["name"], "Ann Fixit");
        assert!(
            person["summary"]
                .as_str()
                .unwrap()
                .contains("<em>kettles</em>"),
            "{person}"
        );
        let avatar_url = person["icon"]["url"].as_str().unwrap();
        let avatar = served(&mut cafe.anonymous, avatar_url).await;
        assert_eq!(avatar.status, StatusCode::OK);
        assert!(!contains(&avatar.bytes, GPS_MARKER));
        let profile_page = cafe.anonymous.get("/users/ann").await;
        assert!(profile_page.body.contains("Ann Fixit"));
        assert!(profile_page.body.contains("<em>kettles</em>"));
        assert!(profile_page.body.contains("src=\"/media/actors/"));

        // The avatar is removed; the name and bio stay as sent.
        let removed = cafe
            .ann
            .post(
                "/settings/profile",
                &[
                    ("display_name", "Ann Fixit"),
                    ("bio", "I mend *kettles*."),
                    ("remove_avatar", "on"),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.body);
        let (_, person) = cafe.anonymous.get_json("/users/ann").await;
        assert!(person.get("icon").is_none_or(Value::is_null), "{person}");

        // The owner uploads the group's icon and banner.
        let edited = cafe
            .ann
            .post_multipart(
                "/groups/repair/edit",
                &[
                    ("title", "Repair café"),
                    ("summary", "We fix things"),
                    ("posting_mode", "members"),
                    ("csrf", &csrf),
                ],
                &[
                    ("icon", "icon.png", &png(128, 128)),
                    ("banner", "banner.jpg", &jpeg_with_gps(1200, 300)),
                ],
            )
            .await;
        assert_eq!(edited.status, StatusCode::SEE_OTHER, "{}", edited.body);
        let (_, group) = cafe.anonymous.get_json("/groups/repair").await;
        let icon = group["icon"]["url"].as_str().unwrap();
        let banner = group["image"]["url"].as_str().unwrap();
        assert!(icon.contains("/media/uploads/") && banner.contains("/media/uploads/"));
        let banner_bytes = served(&mut cafe.anonymous, banner).await;
        assert!(!contains(&banner_bytes.bytes, GPS_MARKER));
        let group_page = cafe.anonymous.get("/groups/repair").await;
        assert!(
            group_page.body.contains("class=\"banner\""),
            "{}",
            group_page.body
        );
        let banner_path = group_page
            .body
            .split("src=\"")
            .find(|rest| rest.contains("/banner\""))
            .map(|rest| rest.split('"').next().unwrap().to_string())
            .unwrap();
        let shown = cafe.anonymous.get(&banner_path).await;
        assert_eq!(shown.status, StatusCode::OK);
        assert_eq!(shown.bytes, banner_bytes.bytes, "shown from the store");
    })
    .await;
}

#[tokio::test]
async fn processes_that_share_an_s3_bucket_serve_each_others_pictures() {
    let Some(configure) = crate::testing::pictures::s3_media_config() else {
        return;
    };
    testing::for_each_backend(async |backend| {
        let app = TestApp::on(backend)
            .configured(|config| {
                config.instance.registration = RegistrationMode::Open;
                configure(config);
            })
            .start()
            .await;
        // A second `kindred serve` on the same database and bucket, with a data directory of
        // its own: it has none of the first one's files.
        let mut second_config = (*app.context().config).clone();
        second_config.database.data_dir =
            std::env::temp_dir().join(format!("kindred-test-{}", uuid::Uuid::new_v4()));
        let second = testing::test_federation(second_config, &app.database)
            .await
            .unwrap();
        let mut first_browser = Browser::new(&app.router);
        let mut second_browser = Browser::new(&crate::app::router(&second));
        first_browser.register("ann").await;
        let csrf = first_browser.csrf().await;
        let saved = first_browser
            .post_multipart(
                "/settings/profile",
                &[("display_name", "Ann"), ("bio", ""), ("csrf", &csrf)],
                &[("avatar", "me.jpg", &jpeg_with_gps(64, 64))],
            )
            .await;
        assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
        let (_, person) = second_browser.get_json("/users/ann").await;
        let from_second =
            served(&mut second_browser, person["icon"]["url"].as_str().unwrap()).await;
        assert_eq!(from_second.status, StatusCode::OK);
        assert_eq!(from_second.content_type.as_deref(), Some("image/jpeg"));
        let from_first = served(&mut first_browser, person["icon"]["url"].as_str().unwrap()).await;
        assert_eq!(from_first.bytes, from_second.bytes);
    })
    .await;
}
