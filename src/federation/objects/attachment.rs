//! Attachments on the wire, read leniently, as each kind of server sends them: Mastodon's
//! `Document`s (a picture with `name` as its alt text, `blurhash`, `width`, `height`),
//! `Image`, `Video` and `Audio` objects, Lemmy's link posts (`attachment: [{type: Link,
//! href}]`, with `image` as the thumbnail) and `summary` as a content warning. Only http(s)
//! URLs that Kindred may connect to are kept; alt texts become plain text.

use crate::{
    config::Config,
    federation::{address_guard, objects::post::PostJson},
    groups::attachments::{MAX_ATTACHMENTS, NewAttachment},
    html,
};
use kindred_entities::post_attachment::{self, AttachmentKind};
use serde_json::Value;
use url::Url;

/// The longest alt text kept (Mastodon allows 1,500 characters).
const MAX_ALT_TEXT: usize = 1_500;

/// The longest content warning kept.
const MAX_CONTENT_WARNING: usize = 500;

/// The attachments of `object`, in order, then its `image` (Lemmy's thumbnail of a link post)
/// unless one of them is that picture already.
pub fn attachments_of(config: &Config, object: &PostJson) -> Vec<NewAttachment> {
    let mut found: Vec<NewAttachment> = object
        .attachment
        .iter()
        .filter_map(|item| attachment_of(config, item))
        .collect();
    if let Some(image) = object
        .image
        .as_ref()
        .and_then(|image| attachment_of(config, image))
        && !found.iter().any(|attachment| attachment.url == image.url)
    {
        found.push(NewAttachment {
            kind: AttachmentKind::Image,
            ..image
        });
    }
    found.truncate(MAX_ATTACHMENTS);
    found
}

/// A post's content warning: its `summary`, as plain text.
pub fn content_warning_of(object: &PostJson) -> Option<String> {
    let text = html::plain_text_field(&html::to_plain_text(object.summary.as_deref()?));
    (!text.is_empty()).then(|| text.chars().take(MAX_CONTENT_WARNING).collect())
}

/// The `attachment` items of a local post, in the shape Mastodon and Lemmy read: a picture as
/// an `Image` with `mediaType`, `url`, `name` (its alt text), `width` and `height`; a link as
/// a `Link` with `href`.
pub fn documents_of(attachments: &[post_attachment::Model]) -> Vec<Value> {
    attachments
        .iter()
        .map(|attachment| {
            let kind = match attachment.kind {
                AttachmentKind::Link => {
                    return serde_json::json!({ "type": "Link", "href": attachment.url });
                }
                AttachmentKind::Image => "Image",
                AttachmentKind::Video => "Video",
                AttachmentKind::Audio => "Audio",
                AttachmentKind::Document => "Document",
            };
            let mut item = serde_json::json!({ "type": kind, "url": attachment.url });
            let optional = [
                ("mediaType", attachment.media_type.clone().map(Value::from)),
                ("name", attachment.name.clone().map(Value::from)),
                ("blurhash", attachment.blurhash.clone().map(Value::from)),
                ("width", attachment.width.map(Value::from)),
                ("height", attachment.height.map(Value::from)),
            ];
            for (key, value) in optional {
                if let Some(value) = value {
                    item[key] = value;
                }
            }
            item
        })
        .collect()
}

fn attachment_of(config: &Config, item: &Value) -> Option<NewAttachment> {
    let (kind_name, url, link_media_type) = match item {
        Value::String(url) => ("Link", url.clone(), None),
        Value::Object(map) => {
            let kind_name = map.get("type").and_then(Value::as_str).unwrap_or("Link");
            let (url, link_media_type) = url_of(map.get("url").or_else(|| map.get("href"))?)?;
            (kind_name, url, link_media_type)
        }
        _ => return None,
    };
    let parsed = Url::parse(&url).ok()?;
    if !matches!(parsed.scheme(), "http" | "https")
        || !address_guard::is_allowed_outbound_url(config, &parsed)
    {
        return None;
    }
    let media_type = item
        .get("mediaType")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or(link_media_type)
        .filter(|media_type| media_type.len() < 100);
    let kind = match (kind_name, media_type.as_deref()) {
        ("Image", _) => AttachmentKind::Image,
        ("Video", _) => AttachmentKind::Video,
        ("Audio", _) => AttachmentKind::Audio,
        (_, Some(media_type)) if media_type.starts_with("image/") => AttachmentKind::Image,
        (_, Some(media_type)) if media_type.starts_with("video/") => AttachmentKind::Video,
        (_, Some(media_type)) if media_type.starts_with("audio/") => AttachmentKind::Audio,
        // Lemmy's image posts are a Link to the picture, often without a media type.
        ("Link", None) if looks_like_a_picture(&parsed) => AttachmentKind::Image,
        ("Link", _) => AttachmentKind::Link,
        ("Document", _) => AttachmentKind::Document,
        // PropertyValue (profile fields), Hashtag and the like are not attachments of a post.
        _ => return None,
    };
    let name = item
        .get("name")
        .and_then(Value::as_str)
        .map(|name| {
            html::plain_text_field(name)
                .chars()
                .take(MAX_ALT_TEXT)
                .collect::<String>()
        })
        .filter(|name| !name.is_empty());
    let dimension = |key: &str| {
        item.get(key)
            .and_then(Value::as_i64)
            .and_then(|value| i32::try_from(value).ok())
            .filter(|value| *value > 0)
    };
    Some(NewAttachment {
        kind,
        url: parsed.to_string(),
        media_type,
        name,
        blurhash: item
            .get("blurhash")
            .and_then(Value::as_str)
            .filter(|hash| hash.len() <= 100 && hash.chars().all(|c| c.is_ascii_graphic()))
            .map(str::to_string),
        width: dimension("width"),
        height: dimension("height"),
    })
}

/// The URL (and the media type a `Link` gives) of a `url` value: a string, a `Link`, or a list
/// of them (the first).
fn url_of(value: &Value) -> Option<(String, Option<String>)> {
    match value {
        Value::String(url) => Some((url.clone(), None)),
        Value::Object(map) => {
            let url = map
                .get("href")
                .or_else(|| map.get("url"))
                .and_then(Value::as_str)?;
            let media_type = map
                .get("mediaType")
                .and_then(Value::as_str)
                .map(str::to_string);
            Some((url.to_string(), media_type))
        }
        Value::Array(items) => items.iter().find_map(url_of),
        _ => None,
    }
}

fn looks_like_a_picture(url: &Url) -> bool {
    let path = url.path().to_ascii_lowercase();
    [".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif"]
        .iter()
        .any(|extension| path.ends_with(extension))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn fixture(path: &str) -> PostJson {
        let text = std::fs::read_to_string(format!(
            "{}/federation-tests/fixtures/{path}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let mut value: Value = serde_json::from_str(&text).unwrap();
        if value.get("object").is_some_and(Value::is_object) {
            value = value["object"].clone();
        }
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn every_shape_in_the_fixtures_is_read() {
        let config = crate::config::Config::default();
        let note = fixture("mastodon/objects/note_2.json");
        let found = attachments_of(&config, &note);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].kind, AttachmentKind::Image);
        assert!(
            found[0]
                .name
                .as_deref()
                .unwrap()
                .starts_with("The KDE dragons")
        );
        assert!(found[0].blurhash.is_some());

        let link_post = fixture("lemmy/objects/page_image_and_link.json");
        let found = attachments_of(&config, &link_post);
        let kinds: Vec<_> = found.iter().map(|attachment| attachment.kind).collect();
        assert_eq!(kinds, vec![AttachmentKind::Image, AttachmentKind::Link]);

        let image_post = fixture("lemmy/activities/create_or_update/create_page.json");
        let found = attachments_of(&config, &image_post);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].kind, AttachmentKind::Image, "a Link to a .jpg");

        // A thumbnail that is the linked picture itself is not listed twice.
        let page = fixture("lemmy/objects/page.json");
        assert_eq!(attachments_of(&config, &page).len(), 1);
    }

    #[test]
    fn hostile_urls_and_alt_texts_are_cleaned() {
        let mut config = crate::config::Config::default();
        config.federation.debug = false;
        let note: PostJson = serde_json::from_value(serde_json::json!({
            "type": "Note",
            "id": "https://m.example/1",
            "summary": "<b>Spoilers</b>\u{0} ahead",
            "attachment": [
                {"type": "Document", "mediaType": "image/png", "url": "javascript:alert(1)"},
                {"type": "Document", "mediaType": "image/png", "url": "http://127.0.0.1/secret.png"},
                {"type": "Image", "url": "https://m.example/a.png", "name": "<script>x</script>A cat\n\nsleeping"},
                {"type": "PropertyValue", "name": "Site", "value": "x"}
            ]
        }))
        .unwrap();
        let found = attachments_of(&config, &note);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].name.as_deref(),
            Some("<script>x</script>A cat sleeping")
        );
        assert_eq!(content_warning_of(&note).as_deref(), Some("Spoilers ahead"));
    }
}
