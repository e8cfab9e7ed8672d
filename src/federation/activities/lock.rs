//! `Lock`: a moderator locks a thread so it takes no new replies (`Undo{Lock}` unlocks it),
//! relayed by the group as Lemmy federates a locked post.

use crate::{
    app::Context,
    error::{Error, Result},
    federation::{
        activities::{announce, local_activity, publish_in_group, require_moderator},
        delivery::wake_delivery_worker,
    },
    groups::moderation,
};
use kindred_entities::{actor, post};
use sea_orm::{EntityTrait, TransactionTrait};
use serde_json::{Value, json};

/// Locks (or unlocks) a thread of a local group.
pub async fn send_lock(
    context: &Context,
    moderator: &actor::Model,
    thread: post::Model,
    locked: bool,
) -> Result<post::Model> {
    let group = actor::Entity::find_by_id(thread.group_id)
        .one(&context.db)
        .await?
        .ok_or_else(|| Error::not_found("group"))?;
    require_moderator(context, &group, moderator).await?;
    if !group.local {
        return Err(Error::bad_request(
            "this group is moderated on its own server",
        ));
    }
    let post_ap_id = thread.ap_id.clone();
    let (id, activity) = if locked {
        local_activity(
            &context.config,
            "Lock",
            moderator,
            &group,
            Value::String(post_ap_id.clone()),
        )
    } else {
        let lock = crate::federation::activities::undone_activity(
            context,
            "Lock",
            &post_ap_id,
            json!({
                "type": "Lock",
                "actor": moderator.ap_id,
                "object": post_ap_id,
                "audience": group.ap_id,
            }),
        )
        .await?;
        local_activity(&context.config, "Undo", moderator, &group, lock)
    };
    let transaction = context.db.begin().await?;
    let changed = moderation::set_locked(&transaction, &group, thread, locked, moderator).await?;
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
