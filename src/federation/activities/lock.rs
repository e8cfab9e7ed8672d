//! `Lock`: a moderator locks a thread so it takes no new replies (`Undo{Lock}` unlocks it),
//! relayed by the group as Lemmy federates a locked post. On the receiving side, a remote
//! group's announced Lock (and its pins, `Add`/`Remove` on its featured collection) are
//! applied to this instance's copy of its threads.

use crate::{
    context::Context,
    error::Result,
    federation::activities::{announce, local_activity, publish_in_group},
    groups::moderation,
};
use kindred_entities::actor;
use sea_orm::TransactionTrait;
use serde_json::{Value, json};

/// Publishes a moderator's lock (or unlock) of the thread `post_ap_id` of a local group,
/// changed already in `transaction` (see `actions::moderation::lock_thread`).
pub async fn publish_lock(
    transaction: &impl sea_orm::ConnectionTrait,
    context: &Context,
    moderator: &actor::Model,
    group: &actor::Model,
    post_ap_id: &str,
    locked: bool,
) -> Result<()> {
    let (id, activity) = if locked {
        local_activity(
            &context.config,
            "Lock",
            moderator,
            group,
            Value::String(post_ap_id.to_string()),
        )
    } else {
        let lock = crate::federation::activities::undone_activity(
            transaction,
            context,
            "Lock",
            post_ap_id,
            json!({
                "type": "Lock",
                "actor": moderator.ap_id,
                "object": post_ap_id,
                "audience": group.ap_id,
            }),
        )
        .await?;
        local_activity(&context.config, "Undo", moderator, group, lock)
    };
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

/// A remote group's moderator locked or unlocked a thread, or pinned or unpinned one
/// (announced by the group, already checked to come from its server or its origin): applied
/// here once the group's moderators collection confirms the moderator.
pub async fn receive_announced(
    context: &Context,
    group: &actor::Model,
    activity: &Value,
    digest: &crate::federation::inbox::BodyDigest,
) -> Result<()> {
    use crate::federation::inbox::{id_of, record_received};
    let kind = activity["type"].as_str().unwrap_or_default();
    let (Some(id), Some(actor_id)) = (
        id_of(activity).and_then(|id| url::Url::parse(&id).ok()),
        activity
            .get("actor")
            .and_then(id_of)
            .and_then(|id| url::Url::parse(&id).ok()),
    ) else {
        return Ok(());
    };
    // What is changed, and how: Lock / Undo{Lock}, Add / Remove on the featured collection.
    let (undone, inner) = if kind == "Undo" {
        (true, &activity["object"])
    } else {
        (false, activity)
    };
    let inner_kind = inner["type"].as_str().unwrap_or_default();
    let Some(post_ap_id) = inner.get("object").and_then(id_of) else {
        return Ok(());
    };
    let change = match inner_kind {
        "Lock" => Change::Lock(!undone),
        "Add" | "Remove"
            if inner.get("target").and_then(id_of).as_deref() == group.featured_url.as_deref()
                && group.featured_url.is_some() =>
        {
            Change::Pin((inner_kind == "Add") != undone)
        }
        _ => return Ok(()),
    };
    let Some(thread) = crate::groups::posts::find_by_ap_id(&context.db, &post_ap_id).await? else {
        return Ok(());
    };
    if thread.group_id != group.id || thread.parent_id.is_some() {
        return Ok(());
    }
    if actor_id.as_str() != group.ap_id
        && !crate::federation::collections::is_remote_moderator(context, group, &actor_id).await?
    {
        tracing::info!(activity = %id, "an announced lock or pin by someone who does not moderate the group was skipped");
        return Ok(());
    }
    let moderator = crate::federation::activities::sender(context, &actor_id).await?;
    let transaction = context.db.begin().await?;
    if !record_received(&transaction, &id, &actor_id, kind, digest).await? {
        return Ok(());
    }
    match change {
        Change::Lock(locked) => {
            moderation::set_locked(&transaction, group, thread, locked, &moderator).await?;
        }
        Change::Pin(pinned) => {
            // A thread hidden here (removed, waiting) is not pinned here either.
            if !pinned || (thread.removed_at.is_none() && !thread.awaiting_approval) {
                moderation::set_pinned(&transaction, group, thread, pinned, &moderator).await?;
            }
        }
    }
    transaction.commit().await?;
    Ok(())
}

enum Change {
    Lock(bool),
    Pin(bool),
}
