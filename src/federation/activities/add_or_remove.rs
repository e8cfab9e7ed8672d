//! `Add` and `Remove` on a group's collections: the owner appoints or dismisses a moderator
//! (the moderators collection), a moderator pins or unpins a thread (the featured collection),
//! and the group relays it as Lemmy federates these.

use crate::{
    context::Context,
    error::{Error, Result},
    federation::activities::{announce, local_activity, publish_in_group},
};
use kindred_entities::actor;
use serde_json::Value;

/// What the owner does to a member's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModeratorChange {
    Appoint,
    Dismiss,
}

/// Publishes the owner's appointing or dismissal of a moderator, changed already in
/// `transaction` (see `actions::moderation::change_moderator`): `Add` or `Remove` on the
/// group's moderators collection.
pub async fn publish_moderator_change(
    transaction: &impl sea_orm::ConnectionTrait,
    context: &Context,
    by: &actor::Model,
    group: &actor::Model,
    member: &actor::Model,
    change: ModeratorChange,
) -> Result<()> {
    let moderators_url = group
        .moderators_url
        .clone()
        .ok_or_else(|| Error::internal("a local group without a moderators collection"))?;
    let kind = match change {
        ModeratorChange::Appoint => "Add",
        ModeratorChange::Dismiss => "Remove",
    };
    let (id, mut activity) = local_activity(
        &context.config,
        kind,
        by,
        group,
        Value::String(member.ap_id.clone()),
    );
    activity["target"] = Value::String(moderators_url.clone());
    publish_in_group(
        transaction,
        context,
        by,
        group,
        (&id, &activity),
        &moderators_url,
        announce::Boost::No,
    )
    .await
}

/// Publishes a moderator's pin (or unpin) of the thread `post_ap_id`, changed already in
/// `transaction` (see `actions::moderation::pin_thread`): `Add` or `Remove` on the group's
/// featured collection.
pub async fn publish_pin(
    transaction: &impl sea_orm::ConnectionTrait,
    context: &Context,
    moderator: &actor::Model,
    group: &actor::Model,
    post_ap_id: &str,
    pinned: bool,
) -> Result<()> {
    let featured_url = group
        .featured_url
        .clone()
        .ok_or_else(|| Error::internal("a local group without a featured collection"))?;
    let (id, mut activity) = local_activity(
        &context.config,
        if pinned { "Add" } else { "Remove" },
        moderator,
        group,
        Value::String(post_ap_id.to_string()),
    );
    activity["target"] = Value::String(featured_url);
    publish_in_group(
        transaction,
        context,
        moderator,
        group,
        (&id, &activity),
        post_ap_id,
        announce::Boost::No,
    )
    .await
}
