//! `Like` and `Dislike` of a post in a local group: the vote is stored, the counts follow, and
//! the group relays the vote to its members.

use crate::{
    app::Context,
    error::{Error, Result},
    federation::{
        activities::{announce, sender},
        delivery::wake_delivery_worker,
        inbox::{id_of, record_received},
    },
    groups::posts,
};
use kindred_entities::actor;
use sea_orm::{EntityTrait, TransactionTrait};
use serde::Deserialize;
use serde_json::Value;
use url::Url;

#[derive(Debug, Deserialize)]
pub struct Vote {
    pub id: Url,
    pub actor: Url,
    #[serde(rename = "type")]
    pub kind: String,
    pub object: Value,
}

pub async fn receive(context: &Context, vote: Vote, json: Value) -> Result<()> {
    let post_ap_id =
        id_of(&vote.object).ok_or_else(|| Error::bad_request("the vote names no post"))?;
    let target = posts::find_by_ap_id(&context.db, &post_ap_id)
        .await?
        .ok_or_else(|| Error::not_found("post"))?;
    if target.deleted_at.is_some() {
        return Err(Error::Gone("post".into()));
    }
    let group = actor::Entity::find_by_id(target.group_id)
        .one(&context.db)
        .await?
        .ok_or_else(|| Error::not_found("group"))?;
    let voter = sender(context, &vote.actor).await?;
    let value = if vote.kind == "Dislike" { -1 } else { 1 };

    let transaction = context.db.begin().await?;
    if !record_received(&transaction, &vote.id, &vote.actor, &vote.kind).await? {
        return Ok(());
    }
    posts::set_vote(&transaction, &target, &voter, value, vote.id.as_str()).await?;
    if group.local {
        announce::relay(
            &transaction,
            context,
            &group,
            &json,
            &target.ap_id,
            announce::Boost::No,
        )
        .await?;
    }
    transaction.commit().await?;
    wake_delivery_worker(context);
    Ok(())
}
