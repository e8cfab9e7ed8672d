//! `Follow`: a remote person joins a local group. The membership is stored and, unless the
//! group approves members by hand, the group's `Accept` is enqueued in the same transaction.

use crate::{
    app::Context,
    error::{Error, Result},
    federation::{
        activities::{accept, find_local_group_by_id, sender},
        delivery::wake_delivery_worker,
        inbox::{id_of, record_received},
    },
    groups::membership,
};
use kindred_entities::membership::MembershipState;
use sea_orm::TransactionTrait;
use serde::Deserialize;
use serde_json::Value;
use url::Url;

#[derive(Debug, Deserialize)]
pub struct Follow {
    pub id: Url,
    pub actor: Url,
    pub object: Value,
}

/// Stores the membership (or the pending request) and answers with an Accept. Always honoured,
/// even when the id was seen before: Takahe re-uses a Follow's id after an Undo, and Lemmy
/// sends a Follow again when it did not see the Accept.
pub async fn receive(context: &Context, follow: Follow) -> Result<()> {
    let group_id =
        id_of(&follow.object).ok_or_else(|| Error::bad_request("the Follow names no object"))?;
    let group = find_local_group_by_id(&context.db, &group_id)
        .await?
        .ok_or_else(|| Error::not_found("group"))?;
    let follower = sender(context, &follow.actor).await?;

    let transaction = context.db.begin().await?;
    record_received(&transaction, &follow.id, &follow.actor, "Follow").await?;
    let stored =
        membership::join(&transaction, &group, &follower, Some(follow.id.as_str())).await?;
    if stored.state == MembershipState::Accepted {
        accept::send(&transaction, context, &group, &follower, &follow.id).await?;
    }
    transaction.commit().await?;
    wake_delivery_worker(context);
    tracing::info!(group = %group.ap_id, follower = %follower.ap_id, state = ?stored.state, "follow received");
    Ok(())
}
