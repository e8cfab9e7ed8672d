//! `Like` and `Dislike` of a post in a local group: the vote is stored, the counts follow, and
//! the group relays the vote to its members.

use crate::{
    context::Context,
    error::{Error, Result},
    federation::{
        activities::{announce, local_activity, publish_in_group, sender, undo},
        delivery::wake_delivery_worker,
        inbox::{BodyDigest, id_of, record_received},
    },
    groups::posts,
};
use kindred_entities::{actor, post};
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

pub async fn receive(
    context: &Context,
    vote: Vote,
    json: Value,
    digest: &BodyDigest,
) -> Result<()> {
    let post_ap_id =
        id_of(&vote.object).ok_or_else(|| Error::bad_request("the vote names no post"))?;
    let target = posts::find_by_ap_id(&context.db, &post_ap_id)
        .await?
        .ok_or_else(|| Error::not_found("post"))?;
    if target.deleted_at.is_some() {
        return Err(Error::Gone("post".into()));
    }
    if target.awaiting_approval {
        return Err(Error::not_found("post"));
    }
    let group =
        crate::database::unique_row(actor::Entity::find_by_id(target.group_id), &context.db)
            .await?
            .ok_or_else(|| Error::not_found("group"))?;
    let voter = sender(context, &vote.actor).await?;
    if group.local {
        crate::groups::moderation::require_not_banned(&context.db, &group, &voter).await?;
    }
    let value = if vote.kind == "Dislike" { -1 } else { 1 };

    let transaction = context.db.begin().await?;
    if !record_received(&transaction, &vote.id, &vote.actor, &vote.kind, digest).await? {
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

/// A vote in a remote group a local person follows, as the group announced it.
pub async fn receive_announced(
    context: &Context,
    group: &actor::Model,
    vote: Vote,
    digest: &BodyDigest,
) -> Result<()> {
    let Some(post_ap_id) = id_of(&vote.object) else {
        return Err(Error::bad_request("the vote names no post"));
    };
    let Some(target) = posts::find_by_ap_id(&context.db, &post_ap_id).await? else {
        return Ok(());
    };
    if target.group_id != group.id || target.deleted_at.is_some() {
        return Ok(());
    }
    let voter = sender(context, &vote.actor).await?;
    let value = if vote.kind == "Dislike" { -1 } else { 1 };
    let transaction = context.db.begin().await?;
    if !record_received(&transaction, &vote.id, &vote.actor, &vote.kind, digest).await? {
        return Ok(());
    }
    posts::set_vote(&transaction, &target, &voter, value, vote.id.as_str()).await?;
    transaction.commit().await?;
    Ok(())
}

/// A local person's vote on `target` as an activity: a `Like` for 1, a `Dislike` for -1. Its
/// id is kept with the stored vote, so that an `Undo` can name it later.
pub fn vote_activity(
    context: &Context,
    voter: &actor::Model,
    group: &actor::Model,
    target: &post::Model,
    value: i16,
) -> (Url, Value) {
    let kind = if value > 0 { "Like" } else { "Dislike" };
    local_activity(
        &context.config,
        kind,
        voter,
        group,
        Value::String(target.ap_id.clone()),
    )
}

/// Publishes a local person's vote (made by [`vote_activity`], stored already) in
/// `transaction` (see `actions::posts::vote`).
pub async fn publish_vote(
    transaction: &impl sea_orm::ConnectionTrait,
    context: &Context,
    voter: &actor::Model,
    group: &actor::Model,
    target: &post::Model,
    vote: (&Url, &Value),
) -> Result<()> {
    publish_in_group(
        transaction,
        context,
        voter,
        group,
        vote,
        &target.ap_id,
        announce::Boost::No,
    )
    .await
}

/// Publishes the `Undo` of a local person's earlier vote in `transaction`. Lemmy and Mbin
/// expect the old vote undone before a new one replaces it.
pub async fn publish_vote_undone(
    transaction: &impl sea_orm::ConnectionTrait,
    context: &Context,
    voter: &actor::Model,
    group: &actor::Model,
    target: &post::Model,
    earlier: &kindred_entities::vote::Model,
) -> Result<()> {
    let (id, undo) = undo::undo_vote_activity(&context.config, voter, group, target, earlier);
    publish_in_group(
        transaction,
        context,
        voter,
        group,
        (&id, &undo),
        &target.ap_id,
        announce::Boost::No,
    )
    .await
}
