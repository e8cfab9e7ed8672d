//! Posts on the wire: `Note`, `Page`, `Article` and `Question`, read leniently (Takahe writes
//! single values where others write arrays; Mastodon sets no `audience`), with the addressing
//! helpers that decide which group a post is for and whether it is public.

use activitypub_federation::protocol::helpers::deserialize_skip_error;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
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
