//! `Update` of an actor's profile: a remote person's or group's own (Mastodon sends one to
//! every follower's server), a remote group's announced `Update` of its profile by a
//! moderator (Lemmy's form), and a local person's own, sent when they edit their profile. A
//! local group's is in `update_group.rs`; posts' `Update` is in `create_or_update.rs`.

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

/// Enqueues, in `transaction`, the `Update{Person}` of a local person whose profile just
/// changed (see `actions::accounts::edit_profile`), for every server that shows their posts:
/// the servers of the remote groups they belong to, and the members' servers of the local
/// ones. Mastodon and Lemmy both take a person's `Update` of themselves.
pub async fn publish_person_update(
    transaction: &impl sea_orm::ConnectionTrait,
    context: &Context,
    person: &actor::Model,
) -> Result<()> {
    use crate::federation::{
        activities::{new_activity_id, without_context},
        context::object_context,
        delivery::{OutgoingActivity, enqueue},
        objects::{actor::ApubActor, post::PUBLIC},
    };
    use kindred_entities::membership::{self, MembershipState};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

    let document = without_context(ApubActor::from_row(person.clone())?.to_json_ld()?);
    let activity_id = new_activity_id(&context.config);
    let update = serde_json::json!({
        "@context": object_context(),
        "id": activity_id,
        "type": "Update",
        "actor": person.ap_id,
        "to": [PUBLIC],
        "cc": [person.followers_url],
        "object": document,
    });
    let group_ids: Vec<i64> = membership::Entity::find()
        .select_only()
        .column(membership::Column::GroupId)
        .filter(membership::Column::MemberId.eq(person.id))
        .filter(membership::Column::State.eq(MembershipState::Accepted))
        .into_tuple()
        .all(transaction)
        .await?;
    let groups = actor::Entity::find()
        .filter(actor::Column::Id.is_in(group_ids))
        .filter(actor::Column::DeletedAt.is_null())
        .all(transaction)
        .await?;
    let mut inboxes = std::collections::BTreeSet::new();
    for group in groups {
        if group.local {
            inboxes.extend(crate::groups::membership::member_inboxes(transaction, group.id).await?);
        } else {
            inboxes.insert(group.shared_inbox_url.unwrap_or(group.inbox_url));
        }
    }
    enqueue(
        transaction,
        context,
        &[OutgoingActivity {
            sender: person,
            ap_id: &activity_id,
            kind: "Update",
            object_ap_id: Some(&person.ap_id),
            json: &update,
            in_outbox: true,
            ordering_key: Some(&person.ap_id),
        }],
        inboxes
            .into_iter()
            .filter_map(|inbox| Url::parse(&inbox).ok()),
    )
    .await
}
