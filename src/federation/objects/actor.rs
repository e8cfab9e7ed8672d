//! Actors on the wire: one struct for Group, Person, Application, Service and Organization, read
//! leniently (every captured actor in the fixtures parses) and written the way Lemmy and
//! Mastodon expect a FEP-1b12 group to look.

use crate::{
    config::Config,
    context::AppState,
    error::{Error, Result},
    federation::{address_guard, context::actor_context, instances},
    html,
};
use activitypub_federation::{
    config::Data,
    fetch::object_id::ObjectId,
    protocol::{
        helpers::deserialize_skip_error, public_key::PublicKey, verification::verify_domains_match,
    },
    traits::{Actor, Object},
};
use chrono::{DateTime, Utc};
use kindred_entities::actor::{self, ActorKind};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, sea_query::OnConflict,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

/// A row of the `actors` table, as the federation crate sees it (with its id parsed once).
#[derive(Clone, Debug, PartialEq)]
pub struct ApubActor {
    pub row: actor::Model,
    pub ap_id: Url,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ActorType {
    Person,
    Group,
    Application,
    Service,
    Organization,
}

/// An actor document. Optional fields that other servers fill in their own way are read with
/// `deserialize_skip_error`, so a quirk in one of them never makes the whole actor unreadable.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActorJson {
    #[serde(rename = "type")]
    pub kind: ActorType,
    pub id: ObjectId<ApubActor>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub preferred_username: Option<String>,
    #[serde(
        default,
        deserialize_with = "deserialize_skip_error",
        skip_serializing_if = "Option::is_none"
    )]
    pub name: Option<String>,
    #[serde(
        default,
        deserialize_with = "deserialize_skip_error",
        skip_serializing_if = "Option::is_none"
    )]
    pub summary: Option<String>,
    #[serde(
        default,
        deserialize_with = "deserialize_skip_error",
        skip_serializing_if = "Option::is_none"
    )]
    pub source: Option<Source>,
    #[serde(
        default,
        deserialize_with = "deserialize_skip_error",
        skip_serializing_if = "Option::is_none"
    )]
    pub icon: Option<Value>,
    #[serde(
        default,
        deserialize_with = "deserialize_skip_error",
        skip_serializing_if = "Option::is_none"
    )]
    pub image: Option<Value>,
    pub inbox: Url,
    #[serde(
        default,
        deserialize_with = "deserialize_skip_error",
        skip_serializing_if = "Option::is_none"
    )]
    pub outbox: Option<Url>,
    #[serde(
        default,
        deserialize_with = "deserialize_skip_error",
        skip_serializing_if = "Option::is_none"
    )]
    pub followers: Option<Url>,
    #[serde(
        default,
        deserialize_with = "deserialize_skip_error",
        skip_serializing_if = "Option::is_none"
    )]
    pub featured: Option<Url>,
    /// For a group, its moderators collection (Lemmy); other servers put people here.
    #[serde(
        default,
        deserialize_with = "deserialize_skip_error",
        skip_serializing_if = "Option::is_none"
    )]
    pub attributed_to: Option<Value>,
    #[serde(
        default,
        deserialize_with = "deserialize_skip_error",
        skip_serializing_if = "Option::is_none"
    )]
    pub endpoints: Option<Endpoints>,
    pub public_key: PublicKey,
    #[serde(
        default,
        deserialize_with = "deserialize_skip_error",
        skip_serializing_if = "Option::is_none"
    )]
    pub manually_approves_followers: Option<bool>,
    /// NSFW (Lemmy's communities, Mastodon's accounts).
    #[serde(
        default,
        deserialize_with = "deserialize_skip_error",
        skip_serializing_if = "Option::is_none"
    )]
    pub sensitive: Option<bool>,
    #[serde(
        default,
        deserialize_with = "deserialize_skip_error",
        skip_serializing_if = "Option::is_none"
    )]
    pub posting_restricted_to_mods: Option<bool>,
    #[serde(
        default,
        deserialize_with = "deserialize_skip_error",
        skip_serializing_if = "Option::is_none"
    )]
    pub discoverable: Option<bool>,
    #[serde(
        default,
        deserialize_with = "deserialize_skip_error",
        skip_serializing_if = "Option::is_none"
    )]
    pub published: Option<DateTime<Utc>>,
    #[serde(
        default,
        deserialize_with = "deserialize_skip_error",
        skip_serializing_if = "Option::is_none"
    )]
    pub updated: Option<DateTime<Utc>>,
    #[serde(
        default,
        deserialize_with = "deserialize_skip_error",
        skip_serializing_if = "Option::is_none"
    )]
    pub url: Option<Value>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    pub content: String,
    pub media_type: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoints {
    #[serde(
        default,
        deserialize_with = "deserialize_skip_error",
        skip_serializing_if = "Option::is_none"
    )]
    pub shared_inbox: Option<Url>,
}

impl From<ActorKind> for ActorType {
    fn from(kind: ActorKind) -> Self {
        match kind {
            ActorKind::Person => ActorType::Person,
            ActorKind::Group => ActorType::Group,
            ActorKind::Application => ActorType::Application,
            ActorKind::Service => ActorType::Service,
            ActorKind::Organization => ActorType::Organization,
        }
    }
}

impl From<ActorType> for ActorKind {
    fn from(kind: ActorType) -> Self {
        match kind {
            ActorType::Person => ActorKind::Person,
            ActorType::Group => ActorKind::Group,
            ActorType::Application => ActorKind::Application,
            ActorType::Service => ActorKind::Service,
            ActorType::Organization => ActorKind::Organization,
        }
    }
}

impl ApubActor {
    pub fn from_row(row: actor::Model) -> Result<Self> {
        let ap_id = Url::parse(&row.ap_id)
            .map_err(|error| Error::internal(format!("stored actor id {}: {error}", row.ap_id)))?;
        Ok(ApubActor { row, ap_id })
    }

    /// The JSON-LD document for a local actor, with its `@context`.
    pub fn to_json_ld(&self) -> Result<Value> {
        let json = local_actor_json(&self.row)?;
        let mut value = serde_json::to_value(json)?;
        if let Value::Object(map) = &mut value {
            map.insert("@context".to_string(), actor_context());
        }
        // Put `@context` first, as every other server does, to ease reading.
        if let Value::Object(map) = value {
            let mut ordered = serde_json::Map::new();
            if let Some(context) = map.get("@context") {
                ordered.insert("@context".to_string(), context.clone());
            }
            for (key, field) in map {
                if key != "@context" {
                    ordered.insert(key, field);
                }
            }
            return Ok(Value::Object(ordered));
        }
        Ok(value)
    }
}

fn parse_optional_url(value: &Option<String>) -> Option<Url> {
    value.as_deref().and_then(|text| Url::parse(text).ok())
}

fn image_json(url: &Option<String>) -> Option<Value> {
    url.as_ref()
        .map(|url| serde_json::json!({ "type": "Image", "url": url }))
}

/// Builds the wire document of a local actor from its row.
fn local_actor_json(row: &actor::Model) -> Result<ActorJson> {
    let id = Url::parse(&row.ap_id)?;
    let is_group = row.kind == ActorKind::Group;
    Ok(ActorJson {
        kind: row.kind.into(),
        id: id.clone().into(),
        preferred_username: Some(row.preferred_username.clone()),
        name: row.display_name.clone(),
        summary: row.summary_html.clone(),
        source: row.summary_source.as_ref().map(|markdown| Source {
            content: markdown.clone(),
            media_type: "text/markdown".to_string(),
        }),
        icon: image_json(&row.icon_url),
        image: image_json(&row.image_url),
        inbox: Url::parse(&row.inbox_url)?,
        outbox: parse_optional_url(&row.outbox_url),
        followers: parse_optional_url(&row.followers_url),
        featured: parse_optional_url(&row.featured_url),
        attributed_to: row
            .moderators_url
            .as_ref()
            .map(|url| Value::String(url.clone())),
        endpoints: row.shared_inbox_url.as_ref().map(|url| Endpoints {
            shared_inbox: Url::parse(url).ok(),
        }),
        public_key: PublicKey {
            id: format!("{id}#main-key"),
            owner: id.clone(),
            public_key_pem: row.public_key_pem.clone(),
        },
        manually_approves_followers: Some(row.manually_approves_followers),
        sensitive: is_group.then_some(row.sensitive),
        posting_restricted_to_mods: is_group.then_some(row.posting_restricted_to_mods),
        discoverable: Some(row.discoverable),
        published: row.published_at,
        updated: row.updated_at,
        url: row.html_url.as_ref().map(|url| Value::String(url.clone())),
    })
}

/// True for an absolute `http` or `https` URL: the only kind of remote link or image address
/// Kindred stores (a `javascript:` or `data:` address is dropped).
pub fn is_web_url(text: &str) -> bool {
    Url::parse(text).is_ok_and(|url| matches!(url.scheme(), "http" | "https"))
}

/// The first URL found in an `icon`/`image`/`url` value: a string, an object with `url` or
/// `href`, or an array of either.
fn first_url(value: &Option<Value>) -> Option<String> {
    fn find(value: &Value) -> Option<String> {
        match value {
            Value::String(text) => Url::parse(text).ok().map(|url| url.to_string()),
            Value::Object(map) => map.get("url").or_else(|| map.get("href")).and_then(find),
            Value::Array(items) => items.iter().find_map(find),
            _ => None,
        }
    }
    value.as_ref().and_then(find)
}

/// The moderators collection of a group, when `attributedTo` is a single URL (Lemmy's way).
fn moderators_collection(value: &Option<Value>) -> Option<String> {
    match value {
        Some(Value::String(text)) => Url::parse(text).ok().map(|url| url.to_string()),
        _ => None,
    }
}

/// A readable name for an actor that gave no `preferredUsername`: the last path segment.
fn fallback_username(id: &Url) -> String {
    id.path_segments()
        .and_then(|mut segments| segments.rfind(|segment| !segment.is_empty()))
        .map(str::to_string)
        .unwrap_or_else(|| id.host_str().unwrap_or("unknown").to_string())
}

#[async_trait::async_trait]
impl Object for ApubActor {
    type DataType = AppState;
    type Kind = ActorJson;
    type Error = Error;

    fn id(&self) -> &Url {
        &self.ap_id
    }

    fn last_refreshed_at(&self) -> Option<DateTime<Utc>> {
        if self.row.local {
            None
        } else {
            Some(self.row.last_refreshed_at)
        }
    }

    async fn read_from_id(object_id: Url, data: &Data<AppState>) -> Result<Option<Self>> {
        crate::database::unique_row(
            actor::Entity::find().filter(actor::Column::ApId.eq(object_id.as_str())),
            &data.read_db,
        )
        .await?
        .map(ApubActor::from_row)
        .transpose()
    }

    async fn into_json(self, _data: &Data<AppState>) -> Result<ActorJson> {
        local_actor_json(&self.row)
    }

    async fn verify(json: &ActorJson, expected_domain: &Url, data: &Data<AppState>) -> Result<()> {
        verify_remote_actor(&data.config, json, expected_domain)
    }

    async fn from_json(json: ActorJson, data: &Data<AppState>) -> Result<Self> {
        store_remote_actor(data, json).await
    }
}

/// Inserts or refreshes a remote actor from its document (summary sanitised, names as text).
/// Whether an actor document may be stored: its id is on the server it came from, its key is
/// its own, and its inbox is on its own server at an address Kindred may send to. Every path
/// that stores a remote actor, a fetch or an `Update` of the actor, checks it.
pub fn verify_remote_actor(config: &Config, json: &ActorJson, expected_domain: &Url) -> Result<()> {
    let id = json.id.inner();
    verify_domains_match(id, expected_domain)?;
    if json.public_key.owner != *id {
        return Err(Error::bad_request(
            "the actor's key belongs to another actor",
        ));
    }
    if same_server_endpoint(config, id, &json.inbox).is_none() {
        return Err(Error::bad_request(
            "the actor's inbox is not on its own server, or not at an address this instance sends to",
        ));
    }
    Ok(())
}

/// `url` when Kindred may later request it for the actor `id`: on the actor's own server
/// (scheme, host and port) and allowed by the address guard. Anything else is dropped.
fn same_server_endpoint(config: &Config, id: &Url, url: &Url) -> Option<Url> {
    let same_server =
        url.scheme() == id.scheme() && instances::host_of(url).ok() == instances::host_of(id).ok();
    (same_server && address_guard::is_allowed_outbound_url(config, url)).then(|| url.clone())
}

/// A picture's address from a remote document: a web URL Kindred may fetch (pages show it).
fn allowed_image_url(config: &Config, text: Option<String>) -> Option<String> {
    text.filter(|text| {
        is_web_url(text)
            && Url::parse(text)
                .is_ok_and(|url| address_guard::is_allowed_outbound_url(config, &url))
    })
}

pub async fn store_remote_actor(data: &Data<AppState>, json: ActorJson) -> Result<ApubActor> {
    store_remote_actor_in(&data.db, data, json).await
}

/// As [`store_remote_actor`], in `database` (a transaction, when the caller records more with
/// it). The document is checked again here ([`verify_remote_actor`]), whoever calls.
pub async fn store_remote_actor_in(
    database: &impl ConnectionTrait,
    data: &Data<AppState>,
    json: ActorJson,
) -> Result<ApubActor> {
    let config = &data.config;
    let id = json.id.inner().clone();
    verify_remote_actor(config, &json, &id)?;
    let endpoint = |url: Option<Url>| url.and_then(|url| same_server_endpoint(config, &id, &url));
    let instance = instances::find_or_create(database, &id).await?;
    let now = Utc::now();
    let preferred_username = json
        .preferred_username
        .as_deref()
        .map(html::to_plain_text)
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| fallback_username(&id));
    let row = actor::ActiveModel {
        ap_id: Set(id.to_string()),
        kind: Set(json.kind.into()),
        local: Set(false),
        local_name: Set(None),
        preferred_username: Set(preferred_username),
        display_name: Set(json.name.as_deref().map(html::plain_text_field)),
        summary_html: Set(json.summary.as_deref().map(html::sanitize)),
        summary_source: Set(json.source.map(|source| source.content)),
        icon_url: Set(allowed_image_url(config, first_url(&json.icon))),
        image_url: Set(allowed_image_url(config, first_url(&json.image))),
        inbox_url: Set(json.inbox.to_string()),
        shared_inbox_url: Set(endpoint(
            json.endpoints.and_then(|endpoints| endpoints.shared_inbox),
        )
        .map(|url| url.to_string())),
        outbox_url: Set(endpoint(json.outbox).map(|url| url.to_string())),
        followers_url: Set(endpoint(json.followers).map(|url| url.to_string())),
        featured_url: Set(endpoint(json.featured).map(|url| url.to_string())),
        moderators_url: Set(endpoint(
            moderators_collection(&json.attributed_to).and_then(|text| Url::parse(&text).ok()),
        )
        .map(|url| url.to_string())),
        html_url: Set(first_url(&json.url).filter(|url| is_web_url(url))),
        public_key_pem: Set(json.public_key.public_key_pem),
        private_key_pem: Set(None),
        manually_approves_followers: Set(json.manually_approves_followers.unwrap_or(false)),
        sensitive: Set(json.sensitive.unwrap_or(false)),
        posting_restricted_to_mods: Set(json.posting_restricted_to_mods.unwrap_or(false)),
        discoverable: Set(json.discoverable.unwrap_or(true)),
        instance_id: Set(Some(instance.id)),
        published_at: Set(json.published),
        updated_at: Set(json.updated),
        last_refreshed_at: Set(now),
        deleted_at: Set(None),
        created_at: Set(now),
        ..Default::default()
    };
    actor::Entity::insert(row)
        .on_conflict(
            OnConflict::column(actor::Column::ApId)
                .update_columns([
                    actor::Column::Kind,
                    actor::Column::PreferredUsername,
                    actor::Column::DisplayName,
                    actor::Column::SummaryHtml,
                    actor::Column::SummarySource,
                    actor::Column::IconUrl,
                    actor::Column::ImageUrl,
                    actor::Column::InboxUrl,
                    actor::Column::SharedInboxUrl,
                    actor::Column::OutboxUrl,
                    actor::Column::FollowersUrl,
                    actor::Column::FeaturedUrl,
                    actor::Column::ModeratorsUrl,
                    actor::Column::HtmlUrl,
                    actor::Column::PublicKeyPem,
                    actor::Column::ManuallyApprovesFollowers,
                    actor::Column::PostingRestrictedToMods,
                    actor::Column::Discoverable,
                    actor::Column::UpdatedAt,
                    actor::Column::LastRefreshedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(database)
        .await?;
    let stored = actor::Entity::find()
        .filter(actor::Column::ApId.eq(id.as_str()))
        .filter(actor::Column::Local.eq(false))
        .one(database)
        .await?
        .ok_or_else(|| Error::bad_request("the actor's id is taken by a local actor"))?;
    ApubActor::from_row(stored)
}

impl Actor for ApubActor {
    fn public_key_pem(&self) -> &str {
        &self.row.public_key_pem
    }

    fn private_key_pem(&self) -> Option<String> {
        self.row.private_key_pem.clone()
    }

    /// The inbox was validated as a URL when the row was written; an unreadable one falls
    /// back to the actor id, where a delivery fails visibly instead of vanishing.
    fn inbox(&self) -> Url {
        Url::parse(&self.row.inbox_url).unwrap_or_else(|_| self.ap_id.clone())
    }

    fn shared_inbox(&self) -> Option<Url> {
        parse_optional_url(&self.row.shared_inbox_url)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn every_captured_actor_parses() {
        for (name, text) in crate::testing::fixtures::ACTORS {
            let actor: ActorJson = serde_json::from_str(text)
                .unwrap_or_else(|error| panic!("{name} does not parse: {error}"));
            assert!(!actor.public_key.public_key_pem.is_empty(), "{name}");
        }
    }

    #[test]
    fn image_urls_are_found_in_every_shape() {
        let shapes = [
            serde_json::json!("https://a.example/i.png"),
            serde_json::json!({"type": "Image", "url": "https://a.example/i.png"}),
            serde_json::json!([{"type": "Image", "url": "https://a.example/i.png"}]),
            serde_json::json!({"type": "Link", "href": "https://a.example/i.png"}),
        ];
        for shape in shapes {
            assert_eq!(
                first_url(&Some(shape)).as_deref(),
                Some("https://a.example/i.png")
            );
        }
    }
}
