//! `Reject{Follow}`: a remote group refused (or later removed) a local person; the request or
//! membership ends.

use crate::{
    app::Context,
    error::{Error, Result},
    federation::{
        activities::sender,
        inbox::{id_of, record_received},
    },
};
use kindred_entities::membership;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
use serde::Deserialize;
use serde_json::Value;
use url::Url;

#[derive(Debug, Deserialize)]
pub struct Reject {
    pub id: Url,
    pub actor: Url,
    pub object: Value,
}

pub async fn receive(context: &Context, reject: Reject) -> Result<()> {
    let follow_id =
        id_of(&reject.object).ok_or_else(|| Error::bad_request("the Reject names no Follow"))?;
    let group = sender(context, &reject.actor).await?;
    let transaction = context.db.begin().await?;
    if !record_received(&transaction, &reject.id, &reject.actor, "Reject").await? {
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
