//! Posts on the wire: `Note`, `Page`, `Article` and `Question`, read leniently (Takahe writes
//! single values where others write arrays; Mastodon sets no `audience`), with the addressing
//! helpers that decide which group a post is for and whether it is public.

use crate::federation::context::object_context;
use activitypub_federation::protocol::helpers::deserialize_skip_error;
use chrono::{DateTime, Utc};
use kindred_entities::{actor, post, post_attachment::AttachmentKind};
use sea_orm::{ConnectionTrait, EntityTrait};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};
use url::Url;

/// The public collection, in the three spellings servers use.
pub const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

pub fn is_public_address(address: &str) -> bool {
    address == PUBLIC || address == "as:Public" || address == "Public"
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostJson {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: Url,
    #[serde(default)]
    pub attributed_to: Value,
    #[serde(default, deserialize_with = "one_or_many_ids")]
    pub to: Vec<String>,
    #[serde(default, deserialize_with = "one_or_many_ids")]
    pub cc: Vec<String>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub audience: Option<Url>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub summary: Option<String>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub content: Option<String>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub source: Option<PostSource>,
    #[serde(default)]
    pub in_reply_to: Option<Value>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub published: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub updated: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub sensitive: Option<bool>,
    #[serde(default, deserialize_with = "one_or_many_values")]
    pub tag: Vec<Value>,
    #[serde(default)]
    pub url: Option<Value>,
    #[serde(default, deserialize_with = "one_or_many_values")]
    pub attachment: Vec<Value>,
    /// Lemmy's thumbnail of a link post (an `Image`).
    #[serde(default)]
    pub image: Option<Value>,
    /// The thread's context (FEP-7888): a collection of its posts, on servers that serve one.
    #[serde(default)]
    pub context: Option<Value>,
    /// The post's direct replies: a collection (an id, or embedded with its first page).
    #[serde(default)]
    pub replies: Option<Value>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostSource {
    pub content: String,
    #[serde(default)]
    pub media_type: Option<String>,
}

/// The kinds of object a group takes as a post.
pub const POST_KINDS: [&str; 4] = ["Note", "Page", "Article", "Question"];

impl PostJson {
    /// Every address in `to`, `cc` and `audience`.
    pub fn addresses(&self) -> impl Iterator<Item = &str> {
        self.to
            .iter()
            .chain(self.cc.iter())
            .map(String::as_str)
            .chain(self.audience.as_ref().map(Url::as_str))
    }

    pub fn is_public(&self) -> bool {
        self.to
            .iter()
            .chain(self.cc.iter())
            .any(|address| is_public_address(address))
    }

    /// The `href`s of the `Mention` tags.
    pub fn mentions(&self) -> Vec<String> {
        self.tag
            .iter()
            .filter(|tag| tag.get("type").and_then(Value::as_str) == Some("Mention"))
            .filter_map(|tag| tag.get("href").and_then(Value::as_str).map(str::to_string))
            .collect()
    }

    /// The author: `attributedTo` as a URL, or the first `Person` in a list of them.
    pub fn author(&self) -> Option<Url> {
        fn find(value: &Value) -> Option<Url> {
            match value {
                Value::String(text) => Url::parse(text).ok(),
                Value::Object(map) => {
                    let kind = map.get("type").and_then(Value::as_str);
                    if kind.is_none() || kind == Some("Person") {
                        map.get("id")
                            .and_then(Value::as_str)
                            .and_then(|id| Url::parse(id).ok())
                    } else {
                        None
                    }
                }
                Value::Array(items) => items.iter().find_map(find),
                _ => None,
            }
        }
        find(&self.attributed_to)
    }

    pub fn in_reply_to(&self) -> Option<Url> {
        self.in_reply_to
            .as_ref()
            .and_then(crate::federation::inbox::id_of)
            .and_then(|id| Url::parse(&id).ok())
    }

    /// The id of `context`, when it is a URL.
    pub fn context_url(&self) -> Option<Url> {
        self.context
            .as_ref()
            .and_then(crate::federation::inbox::id_of)
            .and_then(|id| Url::parse(&id).ok())
    }

    /// The web address of the post: `url` (a string or a Link), else the id.
    pub fn web_url(&self) -> Option<String> {
        match &self.url {
            Some(Value::String(text)) => Some(text.clone()),
            Some(Value::Object(map)) => map.get("href").and_then(Value::as_str).map(str::to_string),
            Some(Value::Array(items)) => items.iter().find_map(|item| match item {
                Value::String(text) => Some(text.clone()),
                Value::Object(map) => map.get("href").and_then(Value::as_str).map(str::to_string),
                _ => None,
            }),
            _ => None,
        }
    }
}

/// What a local post's document names besides the post itself.
pub struct LocalPostLinks<'a> {
    pub group: &'a actor::Model,
    pub author: &'a actor::Model,
    /// The post it answers, with that post's author (mentioned, so Mastodon notifies them).
    pub parent: Option<(&'a post::Model, &'a actor::Model)>,
    /// The thread's context collection (see [`context_of`]).
    pub context: &'a str,
    /// What it carries, in order (`attachment`).
    pub attachments: &'a [kindred_entities::post_attachment::Model],
}

/// The `context` of a post (FEP-7888): for a thread in a local group, the collection of its
/// posts the group serves, `<group>/threads/<thread's row id>`; for one in a remote group, the
/// context its thread named, else the thread's id.
pub fn context_of(group: &actor::Model, post: &post::Model) -> Option<String> {
    if group.local {
        Some(local_thread_context(
            group,
            post.thread_id.unwrap_or(post.id),
        ))
    } else {
        post.context_url.clone()
    }
}

/// The `context` of the thread `thread_id` in the local group `group`: the thread's address.
pub fn local_thread_context(group: &actor::Model, thread_id: i64) -> String {
    format!("{}/threads/{thread_id}", group.ap_id)
}

/// The ActivityPub document of a local post: a `Page` for a thread, a `Note` for a reply, with
/// `audience` naming the group (FEP-1b12), the markdown as `source`, and the group addressed
/// so that every kind of server files it under the group.
pub fn local_post_document(post: &post::Model, links: &LocalPostLinks<'_>) -> Value {
    let group = links.group;
    let mut cc = vec![Value::String(group.ap_id.clone())];
    let mut tags = Vec::new();
    if let Some((_, parent_author)) = links.parent
        && parent_author.id != links.author.id
    {
        cc.push(Value::String(parent_author.ap_id.clone()));
        tags.push(json!({
            "type": "Mention",
            "href": parent_author.ap_id,
            "name": format!("@{}@{}", parent_author.preferred_username, crate::groups::directory::host_of_id(&parent_author.ap_id)),
        }));
    }
    let mut document = json!({
        "@context": object_context(),
        "id": post.ap_id,
        "type": post.kind,
        "attributedTo": links.author.ap_id,
        "to": [PUBLIC],
        "cc": cc,
        "audience": group.ap_id,
        "context": links.context,
        "content": post.content_html,
        "mediaType": "text/html",
        "published": post.published_at,
        "sensitive": post.sensitive,
        "url": post.url.clone().unwrap_or_else(|| post.ap_id.clone()),
        "replies": format!("{}/replies", post.ap_id),
    });
    if let Some(title) = &post.title {
        document["name"] = json!(title);
    }
    if let Some(markdown) = &post.source_markdown {
        document["source"] = json!({ "content": markdown, "mediaType": "text/markdown" });
    }
    if let Some((parent, _)) = links.parent {
        document["inReplyTo"] = json!(parent.ap_id);
    }
    if let Some(updated) = post.updated_at {
        document["updated"] = json!(updated);
    }
    if !tags.is_empty() {
        document["tag"] = Value::Array(tags);
    }
    if let Some(warning) = &post.content_warning {
        // Mastodon's content warning: the text is folded behind `summary`, and `sensitive`
        // hides the pictures too.
        document["summary"] = json!(warning);
        document["sensitive"] = json!(true);
    }
    if !links.attachments.is_empty() {
        document["attachment"] = Value::Array(super::attachment::documents_of(links.attachments));
        // Lemmy shows a post's `image` as its thumbnail.
        if post.parent_id.is_none()
            && let Some(first) = links
                .attachments
                .iter()
                .find(|attachment| attachment.kind == AttachmentKind::Image)
        {
            document["image"] = json!({ "type": "Image", "url": first.url });
        }
    }
    document
}

/// The document of a stored post: loads what [`local_post_document`] links to. A deleted post
/// is a `Tombstone`.
pub async fn document_of(
    database: &impl ConnectionTrait,
    post: &post::Model,
) -> crate::error::Result<Value> {
    if post.deleted_at.is_some() || post.removed_at.is_some() {
        return Ok(tombstone_document(post));
    }
    let actor_by_id = async |id: i64| -> crate::error::Result<actor::Model> {
        crate::database::unique_row(actor::Entity::find_by_id(id), database)
            .await?
            .ok_or_else(|| crate::error::Error::internal(format!("actor {id} is missing")))
    };
    let group = actor_by_id(post.group_id).await?;
    let author = actor_by_id(post.author_id).await?;
    let parent = match post.parent_id {
        Some(parent_id) => {
            crate::database::unique_row(post::Entity::find_by_id(parent_id), database).await?
        }
        None => None,
    };
    let parent_author = match &parent {
        Some(parent) => Some(actor_by_id(parent.author_id).await?),
        None => None,
    };
    let context = match context_of(&group, post) {
        Some(context) => context,
        None => match post.thread_id {
            Some(thread_id) if Some(thread_id) == parent.as_ref().map(|parent| parent.id) => {
                parent.as_ref().map(|parent| parent.ap_id.clone())
            }
            Some(thread_id) => {
                crate::database::unique_row(post::Entity::find_by_id(thread_id), database)
                    .await?
                    .map(|thread| thread.ap_id)
            }
            None => None,
        }
        .unwrap_or_else(|| post.ap_id.clone()),
    };
    let attachments = crate::groups::attachments::of_posts(database, vec![post.id])
        .await?
        .remove(&post.id)
        .unwrap_or_default();
    let mut document = local_post_document(
        post,
        &LocalPostLinks {
            group: &group,
            author: &author,
            parent: parent.as_ref().zip(parent_author.as_ref()),
            context: &context,
            attachments: &attachments,
        },
    );
    if let Some(markdown) = &post.source_markdown {
        add_mentions(
            database,
            &mut document,
            markdown,
            &crate::groups::directory::host_of_id(&post.ap_id),
        )
        .await?;
    }
    Ok(document)
}

/// Adds a `Mention` tag (and a `cc`) for every person the markdown names as `@name` (here) or
/// `@name@host` (anyone this instance knows), so their servers tell them.
async fn add_mentions(
    database: &impl ConnectionTrait,
    document: &mut Value,
    markdown: &str,
    local_host: &str,
) -> crate::error::Result<()> {
    use sea_orm::{ColumnTrait, QueryFilter};
    for (name, host) in mentioned_handles(markdown) {
        let host = host.unwrap_or_else(|| local_host.to_string());
        let candidates = actor::Entity::find()
            .filter(actor::Column::Kind.eq(actor::ActorKind::Person))
            .filter(actor::Column::PreferredUsername.eq(name.clone()))
            .filter(actor::Column::DeletedAt.is_null())
            .all(database)
            .await?;
        let Some(person) = candidates.into_iter().find(|person| {
            crate::hosts::same_host(&crate::groups::directory::host_of_id(&person.ap_id), &host)
        }) else {
            continue;
        };
        let already = document["tag"]
            .as_array()
            .is_some_and(|tags| tags.iter().any(|tag| tag["href"] == json!(person.ap_id)));
        if already {
            continue;
        }
        let tag =
            json!({ "type": "Mention", "href": person.ap_id, "name": format!("@{name}@{host}") });
        match document["tag"].as_array_mut() {
            Some(tags) => tags.push(tag),
            None => document["tag"] = json!([tag]),
        }
        if let Some(cc) = document["cc"].as_array_mut() {
            cc.push(json!(person.ap_id));
        }
    }
    Ok(())
}

/// The `@name` and `@name@host` handles in a text, in order, without repeats.
pub fn mentioned_handles(text: &str) -> Vec<(String, Option<String>)> {
    let mut found = Vec::new();
    for word in text.split(|c: char| c.is_whitespace() || "()[],;!?\"'<>".contains(c)) {
        let Some(handle) = word.strip_prefix('@') else {
            continue;
        };
        let handle = handle.trim_end_matches(['.', ':']);
        let (name, host) = match handle.split_once('@') {
            Some((name, host)) if !host.is_empty() => (name, Some(host.to_lowercase())),
            Some(_) => continue,
            None => (handle, None),
        };
        let valid_name = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-');
        let entry = (name.to_string(), host);
        if valid_name && !found.contains(&entry) {
            found.push(entry);
        }
    }
    found
}

/// A deleted local post, as Lemmy and Mastodon show one.
pub fn tombstone_document(post: &post::Model) -> Value {
    json!({
        "@context": object_context(),
        "id": post.ap_id,
        "type": "Tombstone",
        "formerType": post.kind,
        "deleted": post.deleted_at.or(post.removed_at),
    })
}

/// Reads `"x"`, `["x", "y"]` or `[{"id": "x"}]` as a list of ids, skipping what is neither.
fn one_or_many_ids<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let value = Value::deserialize(deserializer)?;
    let items = match value {
        Value::Array(items) => items,
        Value::Null => Vec::new(),
        single => vec![single],
    };
    Ok(items
        .iter()
        .filter_map(crate::federation::inbox::id_of)
        .collect())
}

/// Reads a single value or a list of them as a list.
fn one_or_many_values<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Value>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::Array(items) => items,
        Value::Null => Vec::new(),
        single => vec![single],
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn takahe_single_values_and_public_spelling_are_understood() {
        let create: Value = serde_json::from_str(include_str!(
            "../../../federation-tests/fixtures/captured-takahe-0.11/takahe-user-to-group/03-create-note.json"
        ))
        .unwrap();
        let note: PostJson = serde_json::from_value(create["object"].clone()).unwrap();
        assert!(note.is_public());
        assert_eq!(note.cc, vec!["https://fedi-tls.test/users/grp"]);
        assert_eq!(note.mentions(), vec!["https://fedi-tls.test/users/grp"]);
        assert_eq!(
            note.author().unwrap().as_str(),
            "https://takahe.test/@alice@takahe.test/"
        );
    }

    #[test]
    fn lemmy_page_has_audience_title_and_source() {
        let create: Value = serde_json::from_str(include_str!(
            "../../../federation-tests/fixtures/captured-lemmy-0.19.20/lemmy-user-to-remote-group/02-create-page.json"
        ))
        .unwrap();
        let page: PostJson = serde_json::from_value(create["object"].clone()).unwrap();
        assert_eq!(page.kind, "Page");
        assert_eq!(
            page.audience.unwrap().as_str(),
            "http://fedi-peer2:8701/users/grp"
        );
        assert_eq!(
            page.name.as_deref(),
            Some("Lemmy post into remote group 1795761549")
        );
        assert!(page.source.unwrap().content.contains("**group**"));
    }

    #[test]
    fn handles_are_found_in_markdown() {
        assert_eq!(
            mentioned_handles("Hi @ann, ask @Bob@lemmy.example: and @ann again. Not a@b or @."),
            vec![
                ("ann".to_string(), None),
                ("Bob".to_string(), Some("lemmy.example".to_string())),
            ]
        );
    }

    #[test]
    fn peertube_style_attributed_to_lists_find_the_person() {
        let post: PostJson = serde_json::from_value(serde_json::json!({
            "type": "Note",
            "id": "https://v.example/videos/1",
            "attributedTo": [
                {"type": "Group", "id": "https://v.example/c/channel"},
                {"type": "Person", "id": "https://v.example/a/person"}
            ]
        }))
        .unwrap();
        assert_eq!(
            post.author().unwrap().as_str(),
            "https://v.example/a/person"
        );
    }
}
