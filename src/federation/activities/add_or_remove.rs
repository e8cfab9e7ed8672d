//! `Add` and `Remove` on a group's collections: the owner appoints or dismisses a moderator
//! (the moderators collection), a moderator pins or unpins a thread (the featured collection),
//! and the group relays it as Lemmy federates these.

use crate::{
    app::Context,
    error::{Error, Result},
    federation::{
        activities::{announce, local_activity, publish_in_group},
        delivery::wake_delivery_worker,
    },
    groups::{membership, moderation},
};
use kindred_entities::actor;
use sea_orm::TransactionTrait;
use serde_json::Value;

/// What the owner does to a member's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModeratorChange {
    Appoint,
    Dismiss,
}

/// The owner (or an administrator) makes a member a moderator, or a moderator a member again.
pub async fn send_moderator_change(
    context: &Context,
    by: &actor::Model,
    group: &actor::Model,
    member: &actor::Model,
    change: ModeratorChange,
) -> Result<()> {
    let appoint = change == ModeratorChange::Appoint;
    if !group.local {
        return Err(Error::bad_request(
            "this group is moderated on its own server",
        ));
    }
    let is_admin = crate::accounts::users::find_by_actor_id(&context.db, by.id)
        .await?
        .is_some_and(|account| account.is_admin);
    if !is_admin && !membership::is_owner(&context.db, group.id, by.id).await? {
        return Err(Error::Forbidden(
            "only the group's owner appoints moderators".into(),
        ));
    }
    let moderators_url = group
        .moderators_url
        .clone()
        .ok_or_else(|| Error::internal("a local group without a moderators collection"))?;
    let kind = if appoint { "Add" } else { "Remove" };
    let (id, mut activity) = local_activity(
        &context.config,
        kind,
        by,
        group,
        Value::String(member.ap_id.clone()),
    );
    activity["target"] = Value::String(moderators_url.clone());
    let transaction = context.db.begin().await?;
    moderation::set_moderator(&transaction, group, member, appoint, by).await?;
    publish_in_group(
        &transaction,
        context,
        by,
        group,
        (&id, &activity),
        &moderators_url,
        announce::Boost::No,
    )
    .await?;
    transaction.commit().await?;
    wake_delivery_worker(context);
    Ok(())
}

/// A moderator pins (or unpins) a thread of a local group.
pub async fn send_pin(
    context: &Context,
    moderator: &actor::Model,
    thread: kindred_entities::post::Model,
    pinned: bool,
) -> Result<kindred_entities::post::Model> {
    use sea_orm::EntityTrait;
    let group =
        crate::database::unique_row(actor::Entity::find_by_id(thread.group_id), &context.db)
            .await?
            .ok_or_else(|| Error::not_found("group"))?;
    crate::federation::activities::require_moderator(context, &group, moderator).await?;
    if !group.local {
        return Err(Error::bad_request(
            "this group is moderated on its own server",
        ));
    }
    let featured_url = group
        .featured_url
        .clone()
        .ok_or_else(|| Error::internal("a local group without a featured collection"))?;
    let post_ap_id = thread.ap_id.clone();
    let (id, mut activity) = local_activity(
        &context.config,
        if pinned { "Add" } else { "Remove" },
        moderator,
        &group,
        Value::String(post_ap_id.clone()),
    );
    activity["target"] = Value::String(featured_url);
    let transaction = context.db.begin().await?;
    let changed = moderation::set_pinned(&transaction, &group, thread, pinned, moderator).await?;
    publish_in_group(
        &transaction,
        context,
        moderator,
        &group,
        (&id, &activity),
        &post_ap_id,
        announce::Boost::No,
    )
    .await?;
    transaction.commit().await?;
    wake_delivery_worker(context);
    Ok(changed)
}
