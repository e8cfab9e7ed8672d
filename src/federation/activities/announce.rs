//! `Announce`: how a group relays (FEP-1b12). A local group wraps every accepted activity,
//! exactly as received, in an Announce to Public and its followers, one delivery per shared
//! inbox; a new thread is also boosted by id, so Mastodon followers see it in their timelines.
//! A remote group's Announce brings what happened in it to its members here.

use crate::{
    context::{AppState, Context},
    error::{Error, Result},
    federation::{
        activities::{create_or_update, delete, new_activity_id, parse, sender, undo, vote},
        context::object_context,
        delivery::{self, OutgoingActivity},
        inbox::{BodyDigest, id_of, record_received},
        instances::host_of,
        objects::post::PUBLIC,
        software,
    },
    groups::{membership, posts},
};
use activitypub_federation::{error::Error as FederationError, fetch::fetch_object_http};
use kindred_entities::actor::{self, ActorKind};
use sea_orm::{ConnectionTrait, TransactionTrait};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use url::Url;

/// Whether a relayed activity is also boosted by the id of the post it created.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Boost {
    /// A new thread: Mastodon and Takahe show `Announce{object: <post id>}` in followers'
    /// home timelines, and ignore `Announce{Create}`.
    NewThread,
    /// Replies, edits, votes and deletions are never boosted, so a busy group does not flood
    /// timelines.
    No,
}

/// Relays `activity` (the received JSON, unchanged, `@context` and all) to every member of `group`, and boosts the
/// post when it is a new thread. `post_ap_id` is the post it concerns: activities about one
/// post reach each inbox in order.
pub async fn relay(
    transaction: &impl ConnectionTrait,
    context: &Context,
    group: &actor::Model,
    activity: &Value,
    post_ap_id: &str,
    boost: Boost,
) -> Result<()> {
    let member_inboxes = membership::member_inboxes(transaction, group.id).await?;
    let thread_context = posts::find_by_ap_id(transaction, post_ap_id)
        .await?
        .and_then(|post| crate::federation::objects::post::context_of(group, &post));
    relay_to(
        transaction,
        context,
        group,
        activity,
        (post_ap_id, thread_context.as_deref()),
        boost,
        &member_inboxes,
    )
    .await
}

/// As [`relay`], to inboxes the caller read already (`membership::member_inboxes`), so that a
/// transaction on the database writer does not spend a statement on them. `about` is the post
/// the activity concerns, with its thread's context (see `objects::post::context_of`), which
/// the Announces carry: the relayed activity itself goes unchanged.
pub async fn relay_to(
    transaction: &impl ConnectionTrait,
    context: &Context,
    group: &actor::Model,
    activity: &Value,
    about: (&str, Option<&str>),
    boost: Boost,
    member_inboxes: &BTreeSet<String>,
) -> Result<()> {
    relay_statements(
        transaction,
        context,
        group,
        activity,
        about,
        boost,
        member_inboxes,
    )
    .await?
    .run(transaction)
    .await
}

/// The statements `relay_to` runs, for a caller that runs them together with others.
/// `database` is only read (which software each member server runs, when not remembered).
pub async fn relay_statements(
    database: &impl ConnectionTrait,
    context: &Context,
    group: &actor::Model,
    activity: &Value,
    about: (&str, Option<&str>),
    boost: Boost,
    member_inboxes: &BTreeSet<String>,
) -> Result<delivery::EnqueueStatements> {
    let (post_ap_id, thread_context) = about;
    // Embedded exactly as received, `@context` included: it defines the terms the activity
    // uses (Mastodon's `sensitive`, `Hashtag`), and an integrity proof (FEP-8b32) covers it.
    let inner = activity.clone();
    let inner_id = inner
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or(post_ap_id)
        .to_string();
    let relay_id = new_activity_id(&context.config);
    let relay_json = announce(group, &relay_id, inner, thread_context);
    let boost_id = new_activity_id(&context.config);
    let boost_json = announce(
        group,
        &boost_id,
        Value::String(post_ap_id.to_string()),
        thread_context,
    );

    // What each member server takes (`software::what_to_send`): Lemmy-family servers the
    // relay (not of what came from them) and no boost, microblogs the boost and no relay
    // (they ignore it), servers not known yet both.
    let member_inboxes: Vec<Url> = member_inboxes
        .iter()
        .filter_map(|inbox| Url::parse(inbox).ok())
        .collect();
    let families = software::families_of(context, database, &member_inboxes).await?;
    let origin_host = activity
        .get("actor")
        .and_then(id_of)
        .and_then(|actor| Url::parse(&actor).ok())
        .and_then(|actor| host_of(&actor).ok());
    let sending = |inbox: &Url| {
        let host = host_of(inbox).unwrap_or_default();
        let family = families
            .get(&host)
            .copied()
            .unwrap_or(software::ServerFamily::Unknown);
        (
            software::what_to_send(family),
            Some(&host) == origin_host.as_ref(),
        )
    };
    let relay_inboxes: Vec<Url> = member_inboxes
        .iter()
        .filter(|inbox| {
            let (sending, is_origin) = sending(inbox);
            sending.relay && (sending.relay_to_origin || !is_origin)
        })
        .cloned()
        .collect();
    let relay_activity = OutgoingActivity {
        sender: group,
        ap_id: &relay_id,
        kind: "Announce",
        object_ap_id: Some(&inner_id),
        json: &relay_json,
        in_outbox: true,
        ordering_key: Some(post_ap_id),
    };
    let boost_inboxes: Vec<Url> = member_inboxes
        .iter()
        .filter(|inbox| sending(inbox).0.boost)
        .cloned()
        .collect();
    let boost_activity = OutgoingActivity {
        sender: group,
        ap_id: &boost_id,
        kind: "Announce",
        object_ap_id: Some(post_ap_id),
        json: &boost_json,
        in_outbox: true,
        // A boost names the post by id and carries no state of it: a server that gets it
        // first fetches the post from its origin, and one that gets it after a Delete finds
        // the post gone. It need not wait for the relayed Create to reach every server
        // (behind the slowest of them, up to a request timeout).
        ordering_key: None,
    };
    // One statement stores both (and one raises the outbox counter once).
    let mut sends: Vec<(&OutgoingActivity<'_>, &[Url])> = vec![(&relay_activity, &relay_inboxes)];
    if boost == Boost::NewThread {
        sends.push((&boost_activity, &boost_inboxes));
    }
    delivery::enqueue_statements(database, context, &sends).await
}

fn announce(group: &actor::Model, id: &Url, object: Value, thread_context: Option<&str>) -> Value {
    let mut announce = json!({
        "@context": object_context(),
        "id": id,
        "type": "Announce",
        "actor": group.ap_id,
        "to": [PUBLIC],
        "cc": [group.followers_url],
        "object": object,
        "published": chrono::Utc::now(),
    });
    if let Some(thread_context) = thread_context {
        announce["context"] = json!(thread_context);
    }
    announce
}

#[derive(Debug, Deserialize)]
pub struct Announce {
    pub id: Url,
    pub actor: Url,
    pub object: Value,
}

/// The receiving side of FEP-1b12: a remote group that someone here follows announces what
/// happened in it. The announcer must be that group; an activity or object from another
/// server than the group's is fetched again from its origin rather than trusted as embedded;
/// what this instance itself sent comes back too and is skipped.
pub async fn receive(
    context: &Context,
    announce: Announce,
    _json: Value,
    digest: &BodyDigest,
) -> Result<()> {
    let group = sender(context, &announce.actor).await?;
    if group.kind != ActorKind::Group {
        return receive_share(context, &announce, &group, digest).await;
    }
    if group.local {
        return Err(Error::bad_request(
            "only a remote group's announcements are taken here",
        ));
    }
    if membership::local_member_count(&context.db, group.id).await? == 0 {
        return Err(Error::Forbidden(
            "no one on this instance follows that group".into(),
        ));
    }
    if let Some(inner) = verified_inner(context, &group, &announce.object).await? {
        apply_announced(context, &group, &inner, digest).await?;
    }
    let transaction = context.db.begin().await?;
    record_received(
        &transaction,
        &announce.id,
        &announce.actor,
        "Announce",
        digest,
    )
    .await?;
    transaction.commit().await?;
    Ok(())
}

/// Applies an activity a remote group announced (already checked by [`verified_inner`]) to
/// this instance's copy of the group.
async fn apply_announced(
    context: &Context,
    group: &actor::Model,
    inner: &Value,
    digest: &BodyDigest,
) -> Result<()> {
    let kind = inner
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match kind {
        "Update" if inner["object"]["type"] == "Group" => {
            crate::federation::activities::update_profile::receive_announced_group_update(
                context, group, inner, digest,
            )
            .await?
        }
        "Create" | "Update" => {
            create_or_update::receive_announced(context, group, parse(inner)?, digest).await?
        }
        "Delete" => delete::receive_announced(context, group, parse(inner)?, digest).await?,
        "Like" | "Dislike" => {
            vote::receive_announced(context, group, parse(inner)?, digest).await?
        }
        "Undo"
            if matches!(
                inner["object"]["type"].as_str(),
                Some("Lock" | "Add" | "Remove")
            ) =>
        {
            crate::federation::activities::lock::receive_announced(context, group, inner, digest)
                .await?
        }
        "Undo" => undo::receive_announced(context, group, parse(inner)?, digest).await?,
        "Block" => {
            crate::federation::activities::block::receive(context, parse(inner)?, digest).await?
        }
        "Lock" | "Add" | "Remove" => {
            crate::federation::activities::lock::receive_announced(context, group, inner, digest)
                .await?
        }
        _ => {}
    }
    Ok(())
}

/// One item of a remote group's outbox, read because a person here joined the group: a thread
/// the group announced is stored as if its Announce had just arrived (an object from another
/// server than the group's is fetched again from its origin). Replies, votes and the rest of
/// the history are left. Returns whether the item was a thread.
pub async fn apply_history_item(
    context: &Context,
    group: &actor::Model,
    item: &Value,
) -> Result<bool> {
    if item.get("type").and_then(Value::as_str) != Some("Announce")
        || item.get("actor").and_then(id_of).as_deref() != Some(group.ap_id.as_str())
    {
        return Ok(false);
    }
    let Some(inner) = verified_inner(context, group, &item["object"]).await? else {
        return Ok(false);
    };
    let is_thread = inner.get("type").and_then(Value::as_str) == Some("Create")
        && inner["object"].get("inReplyTo").is_none_or(Value::is_null);
    // A thread appears twice in an outbox (its Create relayed, and boosted by id), and may be
    // here already.
    let already_here = match inner["object"].get("id").and_then(Value::as_str) {
        Some(post_ap_id) => posts::find_by_ap_id(&context.db, post_ap_id)
            .await?
            .is_some(),
        None => false,
    };
    if !is_thread || already_here {
        return Ok(false);
    }
    let digest = BodyDigest::of(&serde_json::to_vec(item)?);
    create_or_update::receive_announced(context, group, parse(&inner)?, &digest).await?;
    Ok(true)
}

/// A person on another server shared (boosted) a post, as Mastodon, Takahe and Pleroma
/// deliver a boost to the author's server: it is counted on the post once per person and its
/// author here is told. It is never relayed: a share is the sharer's own, addressed to their
/// followers. A share of a post unknown here is taken (202) and changes nothing, so the sender
/// does not retry it.
async fn receive_share(
    context: &Context,
    announce: &Announce,
    sharer: &actor::Model,
    digest: &BodyDigest,
) -> Result<()> {
    let Some(shared_ap_id) = id_of(&announce.object) else {
        return Err(Error::bad_request("the Announce names no object"));
    };
    let shared = posts::find_by_ap_id(&context.db, &shared_ap_id)
        .await?
        .filter(|shared| shared.deleted_at.is_none() && !shared.awaiting_approval);
    let transaction = context.db.begin().await?;
    if !record_received(
        &transaction,
        &announce.id,
        &announce.actor,
        "Announce",
        digest,
    )
    .await?
    {
        return Ok(());
    }
    if let Some(shared) = &shared
        && posts::record_share(&transaction, shared, sharer, announce.id.as_str()).await?
    {
        crate::accounts::notifications::notify_about_share(&transaction, shared, sharer).await?;
    }
    transaction.commit().await?;
    Ok(())
}

/// The announced activity, checked: `None` when there is nothing to do (our own activity come
/// back, a type Kindred does not follow yet, an object that could not be confirmed).
async fn verified_inner(
    context: &Context,
    group: &actor::Model,
    object: &Value,
) -> Result<Option<Value>> {
    let group_host = host_of(&Url::parse(&group.ap_id)?)?;
    let local_host = context.config.domain();
    let Some(inner_id) = id_of(object).and_then(|id| Url::parse(&id).ok()) else {
        return Err(Error::bad_request("the Announce names no object"));
    };
    if host_of(&inner_id)? == local_host {
        return Ok(None);
    }
    let Value::Object(map) = object else {
        // A boost by id (Guppe, Kindred's own boosts): a post we may not have yet.
        if posts::find_by_ap_id(&context.db, inner_id.as_str())
            .await?
            .is_some()
        {
            return Ok(None);
        }
        let Ok(fetched) = fetch_object_http::<AppState, Value>(&inner_id, context).await else {
            tracing::info!(object = %inner_id, "an announced object could not be fetched");
            return Ok(None);
        };
        let fetched = fetched.object;
        let author = fetched
            .get("attributedTo")
            .and_then(id_of)
            .ok_or_else(|| Error::bad_request("the announced object has no author"))?;
        return Ok(Some(json!({
            "id": format!("{inner_id}#announced"),
            "type": "Create",
            "actor": author,
            "object": fetched,
        })));
    };
    let kind = map.get("type").and_then(Value::as_str).unwrap_or_default();
    // Whoever the activity names as its actor must be on the server its id is on: a group can
    // vouch for what happened on its own server, never for what someone elsewhere did. What
    // people here did is known here already; a group cannot speak for them.
    let Some(inner_actor) = map
        .get("actor")
        .and_then(id_of)
        .and_then(|id| Url::parse(&id).ok())
    else {
        return Err(Error::bad_request("the announced activity has no actor"));
    };
    if host_of(&inner_actor)? == local_host {
        return Ok(None);
    }
    if host_of(&inner_actor)? != host_of(&inner_id)? {
        tracing::info!(activity = %inner_id, actor = %inner_actor, "an announced activity whose id is not on its actor's server was skipped");
        return Ok(None);
    }
    let from_the_group = host_of(&inner_id)? == group_host;
    match kind {
        "Create" | "Update" => {
            let Some(object_id) = map
                .get("object")
                .and_then(id_of)
                .and_then(|id| Url::parse(&id).ok())
            else {
                return Err(Error::bad_request("the announced activity has no object"));
            };
            if host_of(&object_id)? == local_host {
                return Ok(None);
            }
            let embedded = map.get("object").is_some_and(Value::is_object);
            if from_the_group && host_of(&object_id)? == group_host && embedded {
                return Ok(Some(object.clone()));
            }
            // From elsewhere: take the object as its own server serves it now.
            let Ok(fetched) = fetch_object_http::<AppState, Value>(&object_id, context).await
            else {
                tracing::info!(object = %object_id, "an announced post could not be fetched");
                return Ok(None);
            };
            if id_of(&fetched.object).as_deref() != Some(object_id.as_str()) {
                return Ok(None);
            }
            let mut confirmed = object.clone();
            confirmed["object"] = fetched.object;
            Ok(Some(confirmed))
        }
        "Delete" => {
            let Some(object_id) = map
                .get("object")
                .and_then(id_of)
                .and_then(|id| Url::parse(&id).ok())
            else {
                return Err(Error::bad_request("the announced Delete has no object"));
            };
            if from_the_group || host_of(&object_id)? == group_host {
                return Ok(Some(object.clone()));
            }
            // Confirm with the object's own server that it is gone.
            match fetch_object_http::<AppState, Value>(&object_id, context).await {
                Err(FederationError::NotFound | FederationError::ObjectDeleted(_)) => {
                    Ok(Some(object.clone()))
                }
                Ok(fetched)
                    if fetched.object.get("type").and_then(Value::as_str) == Some("Tombstone") =>
                {
                    Ok(Some(object.clone()))
                }
                _ => {
                    tracing::info!(object = %object_id, "an announced Delete was not confirmed");
                    Ok(None)
                }
            }
        }
        "Like" | "Dislike" | "Undo" | "Block" | "Lock" | "Add" | "Remove" => {
            if from_the_group {
                return Ok(Some(object.clone()));
            }
            match fetch_object_http::<AppState, Value>(&inner_id, context).await {
                Ok(fetched)
                    if fetched.object.get("type") == map.get("type")
                        && fetched.object.get("actor").and_then(id_of)
                            == map.get("actor").and_then(id_of) =>
                {
                    Ok(Some(fetched.object))
                }
                _ => {
                    tracing::info!(activity = %inner_id, "an announced vote was not confirmed");
                    Ok(None)
                }
            }
        }
        // Moderation (Add, Remove, Block, Lock, …) arrives with moderation support.
        _ => Ok(None),
    }
}
