//! Pictures people here upload, as other servers see them. Ann uploads through the API (as an
//! app would); the picture is kept without its EXIF. Her thread reaches a Lemmy-shaped and a
//! Mastodon-shaped member server with `attachment` items each of them reads (an `Image` with a
//! URL, `mediaType`, alt text as `name`, `width` and `height`; Lemmy's `image` thumbnail; the
//! content warning as `summary`), and either server can fetch the picture. Her new avatar and
//! the group's new icon and banner reach both as `Update`s. A bomb, a 50 MB file, a
//! non-picture and a JSON body are refused with nothing kept.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use kindred::testing::{
    self, Backend,
    pictures::{GPS_MARKER, contains, jpeg_with_gps, png, png_bomb},
};
use kindred_entities::upload;
use kindred_federation_tests::{
    ApiClient, TestInstance, TestNetwork, join_group,
    peer::{MastodonPeer, ReceivedDelivery},
    wait_for_empty_queue,
};
use reqwest::Method;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

/// Everything `peer` received once `home` has sent all it had to send.
async fn settled(home: &TestInstance, peer: &MastodonPeer) -> Vec<ReceivedDelivery> {
    wait_for_empty_queue(home, WAIT).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    peer.received()
}

/// Every activity `peer` received, on its own or inside the group's Announce.
fn activities(received: &[ReceivedDelivery]) -> Vec<Value> {
    received
        .iter()
        .flat_map(|delivery| {
            let activity = &delivery.activity;
            [activity.clone(), activity["object"].clone()]
        })
        .collect()
}

/// The post carrying pictures among what a server received: in a Create, or in the group's
/// Announce of the Create.
fn post_with_pictures(received: &[ReceivedDelivery]) -> Option<Value> {
    received
        .iter()
        .flat_map(|delivery| {
            let activity = &delivery.activity;
            [
                activity.clone(),
                activity["object"].clone(),
                activity["object"]["object"].clone(),
            ]
        })
        .find(|object| {
            matches!(object["type"].as_str(), Some("Page" | "Note"))
                && object.get("attachment").is_some()
        })
}

/// The attachment items as Lemmy 0.19 reads them: each an object whose `type` is `Link`,
/// `Image` or `Document`, with its address in `url` (`href` for a `Link`) as one absolute URL;
/// the first one is the post's link.
fn lemmy_reads(page: &Value) -> Vec<String> {
    page["attachment"]
        .as_array()
        .expect("attachment is a list")
        .iter()
        .map(|item| {
            let kind = item["type"].as_str().unwrap();
            assert!(["Link", "Image", "Document"].contains(&kind), "{item}");
            let address = if kind == "Link" {
                &item["href"]
            } else {
                &item["url"]
            };
            url::Url::parse(address.as_str().expect("one URL"))
                .unwrap()
                .to_string()
        })
        .collect()
}

/// A picture as Mastodon keeps it: the URL, the media type, the description and the size.
type MastodonMedia = (String, String, Option<String>, (i64, i64));

/// The attachment items as Mastodon 4 reads them: the URL (a string, or a `Link`'s `href`),
/// the media type, the description (`summary`, else `name`) and the size.
fn mastodon_reads(note: &Value) -> Vec<MastodonMedia> {
    note["attachment"]
        .as_array()
        .expect("attachment is a list")
        .iter()
        .map(|item| {
            let url = match &item["url"] {
                Value::String(url) => url.clone(),
                Value::Object(link) => link["href"].as_str().unwrap().to_string(),
                other => panic!("no URL: {other}"),
            };
            let description = item["summary"]
                .as_str()
                .or_else(|| item["name"].as_str())
                .map(str::to_string);
            (
                url,
                item["mediaType"].as_str().unwrap().to_string(),
                description,
                (
                    item["width"].as_i64().unwrap(),
                    item["height"].as_i64().unwrap(),
                ),
            )
        })
        .collect()
}

#[tokio::test]
async fn uploaded_pictures_reach_mastodon_and_lemmy() {
    for backend in testing::backends_under_test() {
        uploaded_pictures(backend).await;
    }
}

async fn uploaded_pictures(backend: Backend) {
    let network = TestNetwork::start_with_peers(&["home"], &["lemmy", "masto"], backend).await;
    let home = network.instance("home");
    let (lemmy, masto) = (network.peer(0), network.peer(1));
    lemmy.set_software("lemmy");
    masto.set_software("mastodon");
    let ann = ApiClient::sign_up(&network, home, "ann").await;
    ann.send(
        Method::POST,
        "/groups",
        Some(json!({ "name": "repair", "title": "Repair café" })),
        201,
    )
    .await;
    let group = kindred::groups::directory::find_local_group(&home.database.connection, "repair")
        .await
        .unwrap();
    join_group(lemmy, home, &group, "lem", 1, "1").await;
    join_group(masto, home, &group, "bob", 2, "1").await;
    wait_for_empty_queue(home, WAIT).await;
    lemmy.clear_received();
    masto.clear_received();

    // What is refused is refused with nothing kept.
    assert_eq!(ann.upload_picture(&png_bomb(), None).await.0, 422);
    assert_eq!(
        ann.upload_picture(&vec![7; 50 * 1024 * 1024], None).await.0,
        413
    );
    let (status, refusal) = ann.upload_picture(b"%PDF-1.7 not a picture", None).await;
    assert_eq!(status, 422, "{refusal}");
    assert_eq!(refusal["error"]["code"], "invalid");
    let (status, _) = ann
        .call(Method::POST, "/media", Some(json!({ "file": "x" })))
        .await;
    assert_eq!(status, 415);
    let database = &home.database.connection;
    assert_eq!(upload::Entity::find().count(database).await.unwrap(), 0);

    // A photo with a GPS position goes up; what is kept has no EXIF.
    let (status, picture) = ann
        .upload_picture(&jpeg_with_gps(800, 600), Some("The toaster's burnt wire"))
        .await;
    assert_eq!(status, 201, "{picture}");
    assert_eq!(
        (picture["width"].as_i64(), picture["height"].as_i64()),
        (Some(800), Some(600))
    );
    let picture_url = picture["url"].as_str().unwrap().to_string();
    let kept = network.client().get(&picture_url).send().await.unwrap();
    assert_eq!(kept.headers()["content-type"], "image/jpeg");
    let kept = kept.bytes().await.unwrap();
    assert!(!contains(&kept, GPS_MARKER) && !contains(&kept, b"Exif"));

    ann.send(
        Method::POST,
        "/groups/repair/threads",
        Some(json!({
            "title": "What is this wire?",
            "body": "Found inside.",
            "content_warning": "Burnt smell",
            "picture_ids": [picture["id"]],
        })),
        201,
    )
    .await;

    // Lemmy: the first attachment is the post's link, and `image` its thumbnail.
    let lemmy_page = post_with_pictures(&settled(home, lemmy).await).expect("Lemmy got it");
    assert_eq!(lemmy_page["type"], "Page");
    assert_eq!(lemmy_reads(&lemmy_page), vec![picture_url.clone()]);
    assert_eq!(lemmy_page["image"]["url"], picture_url.as_str());

    // Mastodon: the picture with its alt text and size, behind the content warning.
    // Mastodon is sent the group's boost, `Announce{object: <post id>}`, and fetches the post.
    let boosted = settled(home, masto)
        .await
        .iter()
        .find_map(|delivery| {
            let activity = &delivery.activity;
            (activity["type"] == "Announce")
                .then(|| activity["object"].as_str().map(str::to_string))
                .flatten()
        })
        .expect("Mastodon got the boost");
    let mastodon_post = network.fetch_activity_json(&boosted).await;
    assert_eq!(
        mastodon_reads(&mastodon_post),
        vec![(
            picture_url.clone(),
            "image/jpeg".to_string(),
            Some("The toaster's burnt wire".to_string()),
            (800, 600)
        )]
    );
    assert_eq!(mastodon_post["summary"], "Burnt smell");
    assert_eq!(mastodon_post["sensitive"], true);

    // Both servers fetch the picture as they do: unsigned, from its URL.
    let fetched = network.client().get(&picture_url).send().await.unwrap();
    assert_eq!(fetched.status(), 200);
    assert_eq!(fetched.bytes().await.unwrap(), kept);

    // A new avatar reaches both as an Update of ann; the group's icon and banner as the
    // group's Update (Mastodon) and the announced Update by its owner (Lemmy).
    lemmy.clear_received();
    masto.clear_received();
    let (_, avatar) = ann.upload_picture(&png(256, 256), None).await;
    let avatar_url = avatar["url"].as_str().unwrap().to_string();
    let me = ann
        .send(
            Method::PATCH,
            "/me",
            Some(json!({
                "display_name": "Ann Fixit",
                "bio": "I mend *kettles*.",
                "avatar_picture_id": avatar["id"],
            })),
            200,
        )
        .await;
    assert_eq!(me["avatar_url"], avatar_url.as_str());
    assert_eq!(me["bio"], "I mend *kettles*.");
    let (_, icon) = ann.upload_picture(&png(128, 128), None).await;
    let (_, banner) = ann.upload_picture(&png(1500, 500), None).await;
    ann.send(
        Method::PATCH,
        "/groups/repair",
        Some(json!({
            "title": "Repair café",
            "icon_url": icon["url"],
            "banner_url": banner["url"],
        })),
        200,
    )
    .await;
    for peer in [lemmy, masto] {
        let updates: Vec<Value> = activities(&settled(home, peer).await)
            .into_iter()
            .filter(|activity| activity["type"] == "Update")
            .collect();
        let person = updates
            .iter()
            .find(|update| update["object"]["type"] == "Person")
            .unwrap_or_else(|| panic!("{}: no Update of ann: {updates:#?}", peer.domain));
        assert_eq!(person["object"]["icon"]["url"], avatar_url.as_str());
        assert_eq!(person["object"]["name"], "Ann Fixit");
        assert!(
            person["object"]["summary"]
                .as_str()
                .unwrap()
                .contains("<em>kettles</em>")
        );
        let group_update = updates
            .iter()
            .find(|update| update["object"]["type"] == "Group")
            .unwrap_or_else(|| panic!("{}: no Update of the group", peer.domain));
        assert_eq!(group_update["object"]["icon"]["url"], icon["url"]);
        assert_eq!(group_update["object"]["image"]["url"], banner["url"]);
    }
    network.stop().await;
}
