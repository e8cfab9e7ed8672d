//! `Accept{Follow}`: a group's answer to a join request. A local group sends it to the
//! follower's inbox (Lemmy parses it only when the embedded Follow names its actor as a plain
//! URL, so the Follow is restated in that form, with its original id, rather than echoed); a
//! remote group's Accept of a local person's Follow makes the membership accepted.

use crate::{
    context::Context,
    error::{Error, Result},
    federation::{
        activities::{new_activity_id, sender},
        context::object_context,
        delivery::{self, OutgoingActivity},
        inbox::{BodyDigest, id_of, record_received},
    },
    groups::membership,
};
use kindred_entities::actor;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, TransactionTrait};
use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;

#[derive(Debug, Deserialize)]
pub struct Accept {
    pub id: Url,
    pub actor: Url,
    pub object: Value,
}

/// A remote group accepted a local person's Follow: the pending membership becomes accepted.
/// An Accept of a Follow this instance never sent changes nothing.
pub async fn receive(context: &Context, accept: Accept, digest: &BodyDigest) -> Result<()> {
    let follow_id =
        id_of(&accept.object).ok_or_else(|| Error::bad_request("the Accept names no Follow"))?;
    let group = sender(context, &accept.actor).await?;
    if group.kind != actor::ActorKind::Group {
        return Err(Error::bad_request("only a group accepts members here"));
    }
    // The follower, when the Accept restates the Follow (Lemmy does, Mastodon may not).
    let follower = match accept.object.get("actor").and_then(id_of) {
        Some(follower_id) => actor::Entity::find()
            .filter(actor::Column::ApId.eq(follower_id))
            .filter(actor::Column::Local.eq(true))
            .one(&context.db)
            .await?
            .map(|row| row.id),
        None => None,
    };
    let transaction = context.db.begin().await?;
    if !record_received(&transaction, &accept.id, &accept.actor, "Accept", digest).await? {
        return Ok(());
    }
    let accepted = membership::accept_remote(&transaction, group.id, follower, &follow_id).await?;
    transaction.commit().await?;
    match accepted {
        Some(_) => {
            tracing::info!(group = %group.ap_id, "the group accepted a local member");
            // The first member here: read what the group already holds.
            crate::federation::history::read_in_background(context, group);
        }
        None => {
            tracing::info!(group = %group.ap_id, follow = %follow_id, "Accept of an unknown Follow ignored")
        }
    }
    Ok(())
}

/// Enqueues the group's Accept of `follower`'s Follow `follow_id`.
pub async fn publish_accept(
    transaction: &impl ConnectionTrait,
    context: &Context,
    group: &actor::Model,
    follower: &actor::Model,
    follow_id: &Url,
) -> Result<()> {
    let id = new_activity_id(&context.config);
    let accept = json!({
        "@context": object_context(),
        "id": id,
        "type": "Accept",
        "actor": group.ap_id,
        "to": [follower.ap_id],
        "object": {
            "id": follow_id,
            "type": "Follow",
            "actor": follower.ap_id,
            "object": group.ap_id,
        },
    });
    delivery::enqueue(
        transaction,
        context,
        &[OutgoingActivity {
            sender: group,
            ap_id: &id,
            kind: "Accept",
            object_ap_id: Some(follow_id.as_str()),
            json: &accept,
            in_outbox: false,
            ordering_key: None,
        }],
        [Url::parse(&follower.inbox_url)?],
    )
    .await?;
    Ok(())
}
