//! `Undo`: a member leaves (`Undo{Follow}`) or withdraws a vote (`Undo{Like}`,
//! `Undo{Dislike}`). A withdrawn vote is relayed to the members like the vote was.

use crate::config::Config;
use crate::{
    context::Context,
    error::{Error, Result},
    federation::{
        activities::{
            announce, find_local_group_by_id, local_activity, require_same_actor, sender,
        },
        delivery::wake_delivery_worker,
        inbox::{BodyDigest, id_of, record_received},
    },
    groups::{membership, posts},
};
use kindred_entities::{actor, membership as membership_entity, post, vote};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;

#[derive(Debug, Deserialize)]
pub struct Undo {
    pub id: Url,
    pub actor: Url,
    pub object: Value,
}

/// What the Undo takes back, with the id of the object that was followed or voted on.
enum Undone {
    Follow {
        group_ap_id: String,
    },
    Vote {
        post_ap_id: String,
    },
    /// A moderator's removal (`Delete` of someone else's post), restored.
    Removal {
        post_ap_id: String,
    },
    Share {
        activity_ap_id: String,
    },
    Nothing,
}

pub async fn receive(
    context: &Context,
    undo: Undo,
    json: Value,
    digest: &BodyDigest,
) -> Result<()> {
    match what_is_undone(context, &undo).await? {
        Undone::Follow { group_ap_id } => undo_follow(context, &undo, &group_ap_id, digest).await,
        Undone::Vote { post_ap_id } => undo_vote(context, &undo, &post_ap_id, &json, digest).await,
        Undone::Removal { post_ap_id } => {
            undo_removal(context, &undo, &post_ap_id, &json, digest).await
        }
        Undone::Share { activity_ap_id } => {
            undo_share(context, &undo, &activity_ap_id, digest).await
        }
        Undone::Nothing => {
            let transaction = context.db.begin().await?;
            record_received(&transaction, &undo.id, &undo.actor, "Undo", digest).await?;
            transaction.commit().await?;
            Ok(())
        }
    }
}

/// A vote taken back in a remote group a local person follows, as the group announced it.
/// Other Undos (of follows, of moderation) change nothing here.
pub async fn receive_announced(
    context: &Context,
    group: &actor::Model,
    undo: Undo,
    digest: &BodyDigest,
) -> Result<()> {
    let Value::Object(inner) = &undo.object else {
        return Ok(());
    };
    if inner.get("type").and_then(Value::as_str) == Some("Delete") {
        return restore_announced(context, group, &undo, inner, digest).await;
    }
    if !matches!(
        inner.get("type").and_then(Value::as_str),
        Some("Like" | "Dislike")
    ) {
        return Ok(());
    }
    if let Some(inner_actor) = inner.get("actor").and_then(id_of) {
        require_same_actor(&undo.actor, &Url::parse(&inner_actor)?, "undo a vote")?;
    }
    let Some(post_ap_id) = inner.get("object").and_then(id_of) else {
        return Ok(());
    };
    let Some(target) = posts::find_by_ap_id(&context.db, &post_ap_id).await? else {
        return Ok(());
    };
    if target.group_id != group.id {
        return Ok(());
    }
    let voter = sender(context, &undo.actor).await?;
    let transaction = context.db.begin().await?;
    if !record_received(&transaction, &undo.id, &undo.actor, "Undo", digest).await? {
        return Ok(());
    }
    posts::remove_vote(&transaction, &target, &voter).await?;
    transaction.commit().await?;
    Ok(())
}

/// Publishes a moderator's restoring of the post `post_ap_id` (restored already in
/// `transaction`, see `actions::moderation::restore_post`): the group relays `Undo{Delete}` of
/// the removal.
pub async fn publish_restore(
    transaction: &impl sea_orm::ConnectionTrait,
    context: &Context,
    moderator: &actor::Model,
    group: &actor::Model,
    post_ap_id: &str,
) -> Result<()> {
    let removal = crate::federation::activities::undone_activity(
        transaction,
        context,
        "Delete",
        post_ap_id,
        json!({
            "type": "Delete",
            "actor": moderator.ap_id,
            "object": post_ap_id,
            "audience": group.ap_id,
        }),
    )
    .await?;
    let (id, undo) = local_activity(&context.config, "Undo", moderator, group, removal);
    crate::federation::activities::publish_in_group(
        transaction,
        context,
        moderator,
        group,
        (&id, &undo),
        post_ap_id,
        announce::Boost::No,
    )
    .await
}

/// A remote group's moderator restored a post they had removed.
async fn restore_announced(
    context: &Context,
    group: &actor::Model,
    undo: &Undo,
    inner: &serde_json::Map<String, Value>,
    digest: &BodyDigest,
) -> Result<()> {
    let Some(post_ap_id) = inner.get("object").and_then(id_of) else {
        return Ok(());
    };
    let Some(target) = posts::find_by_ap_id(&context.db, &post_ap_id).await? else {
        return Ok(());
    };
    if target.group_id != group.id {
        return Ok(());
    }
    let undoer = sender(context, &undo.actor).await?;
    if target.deleted_at.is_some() && target.author_id == undoer.id {
        // The author restores what they deleted (the group vouches for it).
        let transaction = context.db.begin().await?;
        if !record_received(&transaction, &undo.id, &undo.actor, "Undo", digest).await? {
            return Ok(());
        }
        posts::undelete_post(&transaction, target).await?;
        transaction.commit().await?;
        return Ok(());
    }
    if target.removed_at.is_none() {
        return Ok(());
    }
    if !crate::federation::collections::is_remote_moderator(context, group, &undo.actor).await? {
        return Ok(());
    }
    let moderator = sender(context, &undo.actor).await?;
    let transaction = context.db.begin().await?;
    if !record_received(&transaction, &undo.id, &undo.actor, "Undo", digest).await? {
        return Ok(());
    }
    crate::groups::moderation::set_removed(&transaction, group, target, false, &moderator, None)
        .await?;
    transaction.commit().await?;
    Ok(())
}

/// Enqueues, in `transaction`, a local person's `Undo{Follow}` for the remote `group`, naming
/// the Follow `follow_id` it accepted (see `actions::groups::leave`).
pub async fn publish_unfollow(
    transaction: &impl sea_orm::ConnectionTrait,
    context: &Context,
    person: &actor::Model,
    group: &actor::Model,
    follow_id: &str,
) -> Result<()> {
    let id = crate::federation::activities::new_activity_id(&context.config);
    let undo = json!({
        "@context": crate::federation::context::object_context(),
        "id": id,
        "type": "Undo",
        "actor": person.ap_id,
        "to": [group.ap_id],
        "object": {
            "id": follow_id,
            "type": "Follow",
            "actor": person.ap_id,
            "object": group.ap_id,
        },
    });
    crate::federation::delivery::enqueue(
        transaction,
        context,
        &[crate::federation::delivery::OutgoingActivity {
            sender: person,
            ap_id: &id,
            kind: "Undo",
            object_ap_id: Some(follow_id),
            json: &undo,
            in_outbox: false,
            ordering_key: Some(&group.ap_id),
        }],
        [Url::parse(&group.inbox_url)?],
    )
    .await
}

/// The `Undo` of a local person's earlier vote, embedding the vote as it was sent.
pub fn undo_vote_activity(
    config: &Config,
    voter: &actor::Model,
    group: &actor::Model,
    target: &post::Model,
    earlier: &vote::Model,
) -> (Url, Value) {
    let undone = json!({
        "id": earlier.activity_ap_id,
        "type": if earlier.value > 0 { "Like" } else { "Dislike" },
        "actor": voter.ap_id,
        "object": target.ap_id,
        "audience": group.ap_id,
    });
    local_activity(config, "Undo", voter, group, undone)
}

/// Reads the embedded activity; when only its id is given, finds what that id did here.
async fn what_is_undone(context: &Context, undo: &Undo) -> Result<Undone> {
    let inner_id =
        id_of(&undo.object).ok_or_else(|| Error::bad_request("the Undo names no object"))?;
    if let Value::Object(inner) = &undo.object {
        if let Some(inner_actor) = inner.get("actor").and_then(id_of) {
            require_same_actor(&undo.actor, &Url::parse(&inner_actor)?, "undo an activity")?;
        }
        let target = inner.get("object").and_then(id_of);
        match (inner.get("type").and_then(Value::as_str), target) {
            (Some("Follow"), Some(group_ap_id)) => return Ok(Undone::Follow { group_ap_id }),
            (Some("Delete"), Some(post_ap_id)) => return Ok(Undone::Removal { post_ap_id }),
            (Some("Like" | "Dislike"), Some(post_ap_id)) => {
                return Ok(Undone::Vote { post_ap_id });
            }
            // A ban lifted by a remote group's moderator: nothing to undo here.
            (Some("Block"), _) => return Ok(Undone::Nothing),
            // A person takes back their share (boost) of a post.
            (Some("Announce"), _) => {
                return Ok(Undone::Share {
                    activity_ap_id: inner_id,
                });
            }
            (Some(other), _)
                if other != "Follow"
                    && other != "Like"
                    && other != "Dislike"
                    && other != "Delete" =>
            {
                return Err(Error::bad_request(format!("a group cannot undo {other}")));
            }
            _ => {}
        }
    }
    // Only the id: look for the vote, the follow or the share it was.
    if posts::is_share(&context.db, &inner_id).await? {
        return Ok(Undone::Share {
            activity_ap_id: inner_id,
        });
    }
    if let Some(found) = vote::Entity::find()
        .filter(vote::Column::ActivityApId.eq(&inner_id))
        .one(&context.db)
        .await?
        && let Some(target) = crate::database::unique_row(
            kindred_entities::post::Entity::find_by_id(found.post_id),
            &context.db,
        )
        .await?
    {
        return Ok(Undone::Vote {
            post_ap_id: target.ap_id,
        });
    }
    if let Some(found) = membership_entity::Entity::find()
        .filter(membership_entity::Column::FollowActivityApId.eq(&inner_id))
        .one(&context.db)
        .await?
        && let Some(group) =
            crate::database::unique_row(actor::Entity::find_by_id(found.group_id), &context.db)
                .await?
    {
        return Ok(Undone::Follow {
            group_ap_id: group.ap_id,
        });
    }
    Ok(Undone::Nothing)
}

/// A person takes back their share of a post: it no longer counts.
async fn undo_share(
    context: &Context,
    undo: &Undo,
    activity_ap_id: &str,
    digest: &BodyDigest,
) -> Result<()> {
    let sharer = sender(context, &undo.actor).await?;
    let transaction = context.db.begin().await?;
    if !record_received(&transaction, &undo.id, &undo.actor, "Undo", digest).await? {
        return Ok(());
    }
    posts::remove_share(&transaction, activity_ap_id, &sharer).await?;
    transaction.commit().await?;
    Ok(())
}

/// A moderator of a local group (on another server) restores a post they removed.
async fn undo_removal(
    context: &Context,
    undo: &Undo,
    post_ap_id: &str,
    json: &Value,
    digest: &BodyDigest,
) -> Result<()> {
    let target = posts::find_by_ap_id(&context.db, post_ap_id)
        .await?
        .ok_or_else(|| Error::not_found("post"))?;
    let group =
        crate::database::unique_row(actor::Entity::find_by_id(target.group_id), &context.db)
            .await?
            .ok_or_else(|| Error::not_found("group"))?;
    let moderator = sender(context, &undo.actor).await?;
    // Who deleted it decides who may undo it: the author their own deletion (as Lemmy lets
    // authors), the group's moderators a removal.
    if group.local && target.deleted_at.is_some() && target.author_id == moderator.id {
        let transaction = context.db.begin().await?;
        if !record_received(&transaction, &undo.id, &undo.actor, "Undo", digest).await? {
            return Ok(());
        }
        posts::undelete_post(&transaction, target).await?;
        announce::relay(
            &transaction,
            context,
            &group,
            json,
            post_ap_id,
            announce::Boost::No,
        )
        .await?;
        transaction.commit().await?;
        wake_delivery_worker(context);
        return Ok(());
    }
    if !group.local
        || !crate::groups::moderation::is_moderator(&context.db, group.id, moderator.id).await?
    {
        return Err(Error::Forbidden(
            "only the group's moderators may restore a post".into(),
        ));
    }
    let transaction = context.db.begin().await?;
    if !record_received(&transaction, &undo.id, &undo.actor, "Undo", digest).await? {
        return Ok(());
    }
    crate::groups::moderation::set_removed(&transaction, &group, target, false, &moderator, None)
        .await?;
    announce::relay(
        &transaction,
        context,
        &group,
        json,
        post_ap_id,
        announce::Boost::No,
    )
    .await?;
    transaction.commit().await?;
    wake_delivery_worker(context);
    Ok(())
}

async fn undo_follow(
    context: &Context,
    undo: &Undo,
    group_ap_id: &str,
    digest: &BodyDigest,
) -> Result<()> {
    let group = find_local_group_by_id(&context.db, group_ap_id)
        .await?
        .ok_or_else(|| Error::not_found("group"))?;
    let follower = sender(context, &undo.actor).await?;
    let transaction = context.db.begin().await?;
    // Leaving is always honoured, even in the very bytes of an earlier unfollow: Takahe sends
    // every Undo{Follow} of one person under one id.
    record_received(&transaction, &undo.id, &undo.actor, "Undo", digest).await?;
    membership::leave(&transaction, group.id, follower.id).await?;
    transaction.commit().await?;
    tracing::info!(group = %group.ap_id, follower = %follower.ap_id, "member left");
    Ok(())
}

async fn undo_vote(
    context: &Context,
    undo: &Undo,
    post_ap_id: &str,
    json: &Value,
    digest: &BodyDigest,
) -> Result<()> {
    let target = posts::find_by_ap_id(&context.db, post_ap_id)
        .await?
        .ok_or_else(|| Error::not_found("post"))?;
    let group =
        crate::database::unique_row(actor::Entity::find_by_id(target.group_id), &context.db)
            .await?
            .ok_or_else(|| Error::not_found("group"))?;
    let voter = sender(context, &undo.actor).await?;
    let transaction = context.db.begin().await?;
    if !record_received(&transaction, &undo.id, &undo.actor, "Undo", digest).await? {
        return Ok(());
    }
    posts::remove_vote(&transaction, &target, &voter).await?;
    if group.local {
        announce::relay(
            &transaction,
            context,
            &group,
            json,
            &target.ap_id,
            announce::Boost::No,
        )
        .await?;
    }
    transaction.commit().await?;
    wake_delivery_worker(context);
    Ok(())
}
