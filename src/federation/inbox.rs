//! The inbox pipeline: size limit, JSON shape and address caps, the sender's server and rate
//! limits, the HTTP signature's form and the digest, duplicate check, then the sender's key
//! (stored, or fetched and stored only once the signature verifies with it; ring and a cache
//! of parsed keys, since the federation crate's pure-Rust RSA took half the inbox's CPU), then
//! dispatch by activity type.
//! Every refusal is a 4xx with a short reason, logged, and changes nothing.

use crate::{
    context::Context,
    error::{Error, Result},
    federation::{
        activities,
        objects::actor::{ActorJson, ApubActor, store_remote_actor, verify_remote_actor},
        signatures,
    },
};
use activitypub_federation::fetch::{fetch_object_http, object_id::ObjectId};
use axum::{
    body::Body,
    http::{HeaderMap, Request, StatusCode, header},
};
use kindred_entities::{actor, received_activity};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, Insert, QueryFilter, QuerySelect,
    QueryTrait,
    sea_query::{Expr, OnConflict},
};
use serde_json::Value;
use std::time::SystemTime;
use url::Url;

/// Receives one POST to a group inbox or the shared inbox. Everything that costs nothing is
/// checked before anything that costs something: the body, its shape and addresses, the
/// sender's server, the rate limits, the signature's form and age and the digest come before
/// any lookup; a fetch of an unknown signer comes last, is rate-limited per server, and its
/// actor is stored only once the signature verifies with the key it published.
pub async fn receive(context: &Context, request: Request<Body>) -> Result<StatusCode> {
    let (parts, body) = request.into_parts();
    let limit = context.config.http.max_body_bytes;
    if declared_length(&parts.headers).is_some_and(|length| length > limit) {
        return Err(Error::PayloadTooLarge);
    }
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| Error::PayloadTooLarge)?;
    let json: Value = serde_json::from_slice(&bytes)
        .map_err(|_| Error::bad_request("the body is not valid JSON"))?;
    let digest = BodyDigest::of(&bytes);
    let summary = ActivitySummary::of(&json)?;
    // An activity's id lives on its actor's server; otherwise a sender could claim another
    // server's ids and have the real activities dropped as duplicates.
    let actor_host = crate::federation::instances::host_of(&summary.actor)?;
    if crate::federation::instances::host_of(&summary.id)? != actor_host {
        return Err(Error::bad_request(
            "the activity's id is on another server than its actor",
        ));
    }
    let blocked =
        crate::federation::instances::cached_blocked_hosts(context, &context.read_db).await?;
    if !crate::federation::instances::federates_with(&context.config, &blocked, &actor_host) {
        return Err(Error::Forbidden(
            "this server does not federate with yours".into(),
        ));
    }
    // Checked now, charged once the signature verifies: forged requests cannot spend a real
    // sender's allowance.
    let limits = &context.config.federation;
    let host_key = format!("host:{actor_host}");
    context
        .inbox_limits
        .peek(
            summary.actor.as_str(),
            limits.inbox_limit_per_actor_per_minute,
        )
        .and_then(|()| {
            context
                .inbox_limits
                .peek(&host_key, limits.inbox_limit_per_instance_per_minute)
        })
        .map_err(Error::TooManyRequests)?;
    verify_activity_urls(context, &summary)?;

    // The signature's form, what it covers and its age, and the digest: no key needed.
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|path| path.as_str())
        .unwrap_or("/");
    // Either scheme: RFC 9421 when `Signature-Input` is present (Fedify and NodeBB knock with
    // it first), draft-cavage otherwise.
    let signature = signatures::InboundSignature::parse(
        parts.method.as_str(),
        path_and_query,
        &parts.headers,
        &context.config.instance.public_url,
        SystemTime::now(),
    )?;
    signature.verify_digest(&parts.headers, &bytes)?;
    // The key must be the actor's own: on its server (usually `<actor>#main-key`).
    let key_host = Url::parse(signature.key_id())
        .ok()
        .and_then(|key_id| crate::federation::instances::host_of(&key_id).ok());
    if key_host.as_deref() != Some(actor_host.as_str()) {
        return Err(Error::Unauthorized(
            "the signature's key is not on the actor's server".into(),
        ));
    }

    // Mastodon announces an account's deletion to every server it knows, signed by a key
    // whose actor is already gone (410): when we never stored that actor, there is nothing to
    // delete and nothing to verify against.
    let (stored, received_before) =
        find_sender(&context.read_db, &summary.actor, &summary.id, &digest).await?;
    if summary.kind == "Delete"
        && summary.object_id.as_ref() == Some(&summary.actor)
        && stored.is_none()
    {
        tracing::debug!(actor = %summary.actor, "ignoring the deletion of an unknown actor");
        return Ok(StatusCode::ACCEPTED);
    }
    // A second delivery of the same activity (the same id and the same bytes) has no effect;
    // an id re-used for other content is a new activity (Takahe sends every edit of a post as
    // `<post>#update`). Joining and leaving are always honoured, even in the same bytes again:
    // Takahe re-uses a Follow's id after an Undo, and sends every unfollow as the same
    // `<follow>#undo`; both are harmless to repeat.
    let joins_or_leaves = summary.kind == "Follow"
        || (summary.kind == "Undo" && json["object"]["type"].as_str() == Some("Follow"));
    let received_before = match received_before {
        Some(received_before) => received_before,
        None if joins_or_leaves => false,
        None => was_received(&context.read_db, &summary.id, &digest).await?,
    };
    if !joins_or_leaves && received_before {
        tracing::debug!(id = %summary.id, "duplicate activity ignored");
        return Ok(StatusCode::ACCEPTED);
    }

    let sender = verified_sender(context, &summary.actor, &actor_host, stored, &signature).await?;
    // The signature verified (whatever the activity's fate): charge the sender.
    let _ = context.inbox_limits.take(
        summary.actor.as_str(),
        limits.inbox_limit_per_actor_per_minute,
    );
    let _ = context
        .inbox_limits
        .take(&host_key, limits.inbox_limit_per_instance_per_minute);
    tracing::debug!(id = %summary.id, kind = %summary.kind, "receiving activity");
    activities::dispatch(context, json, &sender, &digest).await?;
    Ok(StatusCode::ACCEPTED)
}

/// The actor whose signature `signature` is, verified. A known actor is checked with its
/// stored key, and its profile refreshed when stale once it has proved who it is; when the
/// stored key fails (keys change), it is fetched again, at most once in ten minutes. An
/// unknown actor is fetched within `federation.actor_fetches_per_instance_per_minute` for its
/// server. Either is stored only when the signature verifies with the key its document
/// publishes.
async fn verified_sender(
    context: &Context,
    actor_id: &Url,
    actor_host: &str,
    stored: Option<actor::Model>,
    signature: &signatures::InboundSignature,
) -> Result<actor::Model> {
    if let Some(row) = stored {
        let key = context.verifying_keys.get_or_parse(&row.public_key_pem)?;
        let verified = signature.verify(&key);
        if verified.is_ok() {
            if row.local || !is_due_for_refresh(&row) {
                // The row just read: `dereference` would read it again, a statement on every
                // activity to learn what this one already knows.
                return Ok(row);
            }
            // Refreshed only when stale; a failed refresh keeps the stored actor.
            return Ok(ObjectId::<ApubActor>::from(actor_id.clone())
                .dereference(context)
                .await?
                .row);
        }
        if row.local {
            return verified.map(|()| row);
        }
        // The key may have changed since the actor was stored: fetch it again, but at most
        // once in ten minutes per actor, so that forged requests naming a known actor cannot
        // make Kindred fetch it over and over.
        if context
            .actor_fetch_limits
            .take_from(&format!("refetch:{actor_id}"), 1, 1.0 / 600.0)
            .is_err()
        {
            return verified.map(|()| row);
        }
    }
    // Every fetch of a signer, new or changed, draws on its server's allowance.
    context
        .actor_fetch_limits
        .take(
            actor_host,
            context
                .config
                .federation
                .actor_fetches_per_instance_per_minute,
        )
        .map_err(Error::TooManyRequests)?;
    let fetched = fetch_object_http::<_, ActorJson>(actor_id, context)
        .await?
        .object;
    verify_remote_actor(&context.config, &fetched, actor_id)?;
    let key = context
        .verifying_keys
        .get_or_parse(&fetched.public_key.public_key_pem)?;
    signature.verify(&key)?;
    Ok(store_remote_actor(context, fetched).await?.row)
}

/// Whether a remote actor's stored profile is old enough to be fetched again: after the
/// interval the federation crate's `dereference` refetches at (a day, or 20 seconds in debug
/// builds: `ACTOR_REFETCH_INTERVAL_SECONDS` in activitypub_federation 0.7.0-beta.14, which is
/// private; check it again when the crate is upgraded).
fn is_due_for_refresh(row: &actor::Model) -> bool {
    let interval = if cfg!(debug_assertions) {
        chrono::Duration::seconds(20)
    } else {
        chrono::Duration::days(1)
    };
    row.last_refreshed_at < chrono::Utc::now() - interval
}

/// The URL rules the federation crate applies to an activity: https (plain http only in debug
/// mode), and never an id of this instance's own.
fn verify_activity_urls(context: &Context, summary: &ActivitySummary) -> Result<()> {
    for url in [&summary.id, &summary.actor] {
        match url.scheme() {
            "https" => {}
            "http" if context.config.federation.debug => {}
            _ => return Err(Error::bad_request(format!("invalid URL scheme in {url}"))),
        }
    }
    if crate::federation::instances::host_of(&summary.id)? == context.config.domain() {
        return Err(Error::bad_request(
            "the activity claims to come from this instance",
        ));
    }
    Ok(())
}

fn declared_length(headers: &HeaderMap) -> Option<usize> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// The most addresses (`to`, `cc`, `bto`, `bcc`, `audience`, on the activity and its object
/// together) an inbound activity may have. Real servers address a few collections and the
/// people mentioned; a group's own relay addresses two.
pub const MAX_ADDRESSES: usize = 1000;

/// The most tags (mentions, hashtags, emoji) an inbound activity may carry.
pub const MAX_TAGS: usize = 1000;

/// The most objects an inbound activity may name (a `Flag` names the reported posts and
/// people; Mastodon sends a handful).
pub const MAX_OBJECTS: usize = 100;

/// The fields every activity must have, read before anything else.
struct ActivitySummary {
    id: Url,
    actor: Url,
    kind: String,
    object_id: Option<Url>,
}

impl ActivitySummary {
    fn of(json: &Value) -> Result<ActivitySummary> {
        let url_field = |name: &str| -> Result<Url> {
            let text = json
                .get(name)
                .and_then(id_of)
                .ok_or_else(|| Error::bad_request(format!("the activity has no `{name}`")))?;
            Url::parse(&text).map_err(|_| Error::bad_request(format!("`{name}` is not a URL")))
        };
        let kind = json
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::bad_request("the activity has no `type`"))?
            .to_string();
        // Addresses and tags are looked up in the database: a bounded number of them, so
        // that no activity can make a query with tens of thousands of parameters.
        let count = |document: &Value, fields: &[&str]| -> usize {
            fields
                .iter()
                .map(|field| match document.get(*field) {
                    Some(Value::Array(items)) => items.len(),
                    Some(Value::Null) | None => 0,
                    Some(_) => 1,
                })
                .sum()
        };
        const ADDRESS_FIELDS: [&str; 5] = ["to", "cc", "bto", "bcc", "audience"];
        let object = json.get("object").unwrap_or(&Value::Null);
        let addresses = count(json, &ADDRESS_FIELDS) + count(object, &ADDRESS_FIELDS);
        if addresses > MAX_ADDRESSES {
            return Err(Error::bad_request(format!(
                "the activity has {addresses} addresses; at most {MAX_ADDRESSES} are taken"
            )));
        }
        // An activity about several objects (a report names the post and its author) is
        // looked up object by object: bounded too.
        let objects = match object {
            Value::Array(items) => items.len(),
            _ => 1,
        };
        if objects > MAX_OBJECTS {
            return Err(Error::bad_request(format!(
                "the activity names {objects} objects; at most {MAX_OBJECTS} are taken"
            )));
        }
        let tags = count(json, &["tag"]) + count(object, &["tag"]);
        if tags > MAX_TAGS {
            return Err(Error::bad_request(format!(
                "the activity has {tags} tags; at most {MAX_TAGS} are taken"
            )));
        }
        Ok(ActivitySummary {
            id: url_field("id")?,
            actor: url_field("actor")?,
            kind,
            object_id: json
                .get("object")
                .and_then(id_of)
                .and_then(|text| Url::parse(&text).ok()),
        })
    }
}

/// The id of a reference: a string, or an object's `id`.
pub fn id_of(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Object(map) => map.get("id").and_then(Value::as_str).map(str::to_string),
        _ => None,
    }
}

/// The sender's stored row, if any, and then whether this activity (its id in these bytes) was
/// received before: the inbox's first two lookups in one query. The second is `None` when the
/// sender is not stored (then `was_received` answers it, if it is needed).
async fn find_sender(
    database: &impl ConnectionTrait,
    sender_id: &Url,
    activity_id: &Url,
    digest: &BodyDigest,
) -> Result<(Option<actor::Model>, Option<bool>)> {
    #[derive(FromQueryResult)]
    struct SenderAndReceived {
        #[sea_orm(nested)]
        sender: actor::Model,
        received_before: bool,
    }
    let received_before = received_activity::Entity::find()
        .select_only()
        .expr(Expr::val(1))
        .filter(received_activity::Column::ApId.eq(activity_id.as_str()))
        .filter(received_activity::Column::BodyDigest.eq(digest.as_str()))
        .into_query();
    let found = actor::Entity::find()
        .filter(actor::Column::ApId.eq(sender_id.as_str()))
        .expr_as(Expr::exists(received_before), "received_before")
        .into_model::<SenderAndReceived>()
        .all(database)
        .await?
        .into_iter()
        .next();
    Ok(match found {
        Some(found) => (Some(found.sender), Some(found.received_before)),
        None => (None, None),
    })
}

/// Whether this activity (its id, in these bytes) was received before.
pub async fn was_received(
    database: &impl ConnectionTrait,
    id: &Url,
    digest: &BodyDigest,
) -> Result<bool> {
    Ok(crate::database::unique_row(
        received_activity::Entity::find()
            .filter(received_activity::Column::ApId.eq(id.as_str()))
            .filter(received_activity::Column::BodyDigest.eq(digest.as_str())),
        database,
    )
    .await?
    .is_some())
}

/// What tells one inbound activity from another besides its id: the SHA-256 of the body it
/// arrived in (lower-case hex). A redelivery of the same bytes has the same digest; an id
/// re-used for new content has another. An activity announced by a group is known by the
/// digest of the Announce that carried it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyDigest(String);

impl BodyDigest {
    pub fn of(body: &[u8]) -> BodyDigest {
        use sha2::{Digest, Sha256};
        let hash = Sha256::digest(body);
        BodyDigest(hash.iter().map(|byte| format!("{byte:02x}")).collect())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Records an inbound activity (its id and body digest) in `transaction`. Returns false when
/// it was recorded before (a concurrent duplicate), in which case the caller must not apply
/// it again.
pub async fn record_received(
    transaction: &impl ConnectionTrait,
    id: &Url,
    actor: &Url,
    kind: &str,
    digest: &BodyDigest,
) -> Result<bool> {
    let inserted = received_activity::Entity::insert(received_row(id, actor, kind, digest))
        .on_conflict(
            OnConflict::columns([
                received_activity::Column::ApId,
                received_activity::Column::BodyDigest,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(transaction)
        .await?;
    Ok(inserted > 0)
}

/// The insert that records an inbound activity, for a caller that runs it together with the
/// activity's effects (`database::run_together`). When the activity was recorded before, it
/// fails with a unique violation, and so do the effects.
pub fn record_received_insert(
    id: &Url,
    actor: &Url,
    kind: &str,
    digest: &BodyDigest,
) -> Insert<received_activity::ActiveModel> {
    received_activity::Entity::insert(received_row(id, actor, kind, digest))
}

fn received_row(
    id: &Url,
    actor: &Url,
    kind: &str,
    digest: &BodyDigest,
) -> received_activity::ActiveModel {
    received_activity::ActiveModel {
        ap_id: Set(id.to_string()),
        body_digest: Set(digest.as_str().to_string()),
        actor_ap_id: Set(actor.to_string()),
        kind: Set(kind.to_string()),
        received_at: Set(chrono::Utc::now()),
        ..Default::default()
    }
}
