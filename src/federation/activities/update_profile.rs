//! `Update` of an actor's profile: a remote person's or group's own (Mastodon sends one to
//! every follower's server), and a remote group's announced `Update` of its profile by a
//! moderator (Lemmy's form). Posts' `Update` is in `create_or_update.rs`.

use crate::{
    context::Context,
    error::{Error, Result},
    federation::{
        activities::create_or_update::CreateOrUpdate,
        inbox::{BodyDigest, record_received},
        objects::actor::{ActorJson, store_remote_actor_in, verify_remote_actor},
    },
};
use kindred_entities::actor;
use sea_orm::TransactionTrait;
use serde_json::Value;
use url::Url;

/// The actor types whose profile updates Mastodon and others send to every follower's server.
pub(super) const ACTOR_KINDS: [&str; 5] =
    ["Person", "Service", "Application", "Group", "Organization"];

/// A remote group announces a moderator's `Update` of its profile (Lemmy's form of a
/// community edit; Kindred sends it so to Lemmy-family servers): the group vouches for its own
/// profile, so the stored copy is refreshed, with the same checks as a fetched actor.
pub async fn receive_announced_group_update(
    context: &Context,
    group: &actor::Model,
    inner: &Value,
    digest: &BodyDigest,
) -> Result<()> {
    let Some(activity_id) = inner.get("id").and_then(Value::as_str) else {
        return Err(Error::bad_request("the Update has no id"));
    };
    let Some(activity_actor) = inner.get("actor").and_then(crate::federation::inbox::id_of) else {
        return Err(Error::bad_request("the Update has no actor"));
    };
    if inner["object"].get("id").and_then(Value::as_str) != Some(group.ap_id.as_str()) {
        // Only the announcing group's own profile.
        return Ok(());
    }
    let document: ActorJson = serde_json::from_value(inner["object"].clone())
        .map_err(|error| Error::bad_request(format!("malformed group: {error}")))?;
    let group_url = Url::parse(&group.ap_id)?;
    verify_remote_actor(&context.config, &document, &group_url)?;
    let transaction = context.db.begin().await?;
    if !record_received(
        &transaction,
        &Url::parse(activity_id)?,
        &Url::parse(&activity_actor)?,
        "Update",
        digest,
    )
    .await?
    {
        return Ok(());
    }
    store_remote_actor_in(&transaction, context, document).await?;
    transaction.commit().await?;
    Ok(())
}

/// `Update{Person}` (a profile edit): refresh the cached actor. Only the actor itself may send
/// it; nothing is relayed.
pub(super) async fn update_actor(
    context: &Context,
    activity: &CreateOrUpdate,
    json: &Value,
    digest: &BodyDigest,
) -> Result<()> {
    if activity.object.id != activity.actor {
        return Err(Error::Forbidden(
            "only an actor may update its own profile".into(),
        ));
    }
    let document: ActorJson = serde_json::from_value(json["object"].clone())
        .map_err(|error| Error::bad_request(format!("malformed actor: {error}")))?;
    // The same checks as a fetched actor gets: its id, its key, and every URL in it.
    verify_remote_actor(&context.config, &document, &activity.actor)?;
    // The refreshed actor and the received id are one change.
    let transaction = context.db.begin().await?;
    if !record_received(
        &transaction,
        &activity.id,
        &activity.actor,
        "Update",
        digest,
    )
    .await?
    {
        return Ok(());
    }
    store_remote_actor_in(&transaction, context, document).await?;
    transaction.commit().await?;
    Ok(())
}
