//! `Add` and `Remove` on a group's moderators collection: the owner appoints or dismisses a
//! moderator, and the group relays it as Lemmy federates a moderator change.

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

/// The owner (or an administrator) makes a member a moderator, or a moderator a member again.
pub async fn send_moderator_change(
    context: &Context,
    by: &actor::Model,
    group: &actor::Model,
    member: &actor::Model,
    appoint: bool,
) -> Result<()> {
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
