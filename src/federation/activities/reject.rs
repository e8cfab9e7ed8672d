//! `Reject{Follow}`: a remote group refused (or later removed) a local person, and the request
//! or membership ends; a local group's moderator refuses a remote person's request.

use crate::{
    context::Context,
    error::{Error, Result},
    federation::{
        activities::sender,
        inbox::{BodyDigest, id_of, record_received},
    },
};
use kindred_entities::{actor, membership};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, TransactionTrait};
use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;

/// Enqueues the group's Reject of `follower`'s Follow `follow_id`, in the caller's
/// transaction.
pub async fn publish_reject(
    transaction: &impl ConnectionTrait,
    context: &Context,
    group: &actor::Model,
    follower: &actor::Model,
    follow_id: &Url,
) -> Result<()> {
    let id = crate::federation::activities::new_activity_id(&context.config);
    let reject = json!({
        "@context": crate::federation::context::object_context(),
        "id": id,
        "type": "Reject",
        "actor": group.ap_id,
        "to": [follower.ap_id],
        "object": {
            "id": follow_id,
            "type": "Follow",
            "actor": follower.ap_id,
            "object": group.ap_id,
        },
    });
    crate::federation::delivery::enqueue(
        transaction,
        context,
        &[crate::federation::delivery::OutgoingActivity {
            sender: group,
            ap_id: &id,
            kind: "Reject",
            object_ap_id: Some(follow_id.as_str()),
            json: &reject,
            in_outbox: false,
            ordering_key: None,
        }],
        [Url::parse(&follower.inbox_url)?],
    )
    .await
}

#[derive(Debug, Deserialize)]
pub struct Reject {
    pub id: Url,
    pub actor: Url,
    pub object: Value,
}

pub async fn receive(context: &Context, reject: Reject, digest: &BodyDigest) -> Result<()> {
    let follow_id =
        id_of(&reject.object).ok_or_else(|| Error::bad_request("the Reject names no Follow"))?;
    let group = sender(context, &reject.actor).await?;
    let transaction = context.db.begin().await?;
    if !record_received(&transaction, &reject.id, &reject.actor, "Reject", digest).await? {
        return Ok(());
    }
    let ended = membership::Entity::delete_many()
        .filter(membership::Column::GroupId.eq(group.id))
        .filter(membership::Column::FollowActivityApId.eq(follow_id))
        .exec(&transaction)
        .await?
        .rows_affected;
    transaction.commit().await?;
    tracing::info!(group = %group.ap_id, ended, "the group rejected a local person");
    Ok(())
}
