//! `Follow`: a remote person joins a local group (the membership is stored and, unless the
//! group approves members by hand, the group's `Accept` is enqueued in the same transaction),
//! and a local person joins a group: at once when it is local, by a `Follow` sent to its inbox
//! when it is remote (pending until its `Accept` arrives).

use crate::{
    context::Context,
    error::{Error, Result},
    federation::{
        activities::{accept, find_local_group_by_id, new_activity_id, sender},
        context::object_context,
        delivery::{self, OutgoingActivity, wake_delivery_worker},
        inbox::{BodyDigest, id_of, record_received},
    },
    groups::membership,
};
use kindred_entities::{actor, membership::MembershipState};
use sea_orm::TransactionTrait;
use serde::Deserialize;
use serde_json::{Value, json};
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
pub async fn receive(context: &Context, follow: Follow, digest: &BodyDigest) -> Result<()> {
    let group_id =
        id_of(&follow.object).ok_or_else(|| Error::bad_request("the Follow names no object"))?;
    let group = find_local_group_by_id(&context.db, &group_id)
        .await?
        .ok_or_else(|| Error::not_found("group"))?;
    let follower = sender(context, &follow.actor).await?;
    crate::groups::moderation::require_not_banned(&context.db, &group, &follower).await?;

    let transaction = context.db.begin().await?;
    record_received(&transaction, &follow.id, &follow.actor, "Follow", digest).await?;
    let stored =
        membership::join(&transaction, &group, &follower, Some(follow.id.as_str())).await?;
    if stored.state == MembershipState::Accepted {
        accept::publish_accept(&transaction, context, &group, &follower, &follow.id).await?;
    }
    transaction.commit().await?;
    wake_delivery_worker(context);
    // What the new member's server runs decides what it is sent: read it now (in the
    // background, unless known), before the group's first post for it.
    crate::federation::software::family_of_server(context, &follow.actor).await?;
    tracing::info!(group = %group.ap_id, follower = %follower.ap_id, state = ?stored.state, "follow received");
    Ok(())
}

/// A local person's `Follow` of the remote `group`; its id is kept with the pending
/// membership, so that an `Undo` can name it later.
pub fn follow_activity(
    context: &Context,
    person: &actor::Model,
    group: &actor::Model,
) -> (Url, Value) {
    let id = new_activity_id(&context.config);
    let follow = json!({
        "@context": object_context(),
        "id": id,
        "type": "Follow",
        "actor": person.ap_id,
        "object": group.ap_id,
        "to": [group.ap_id],
    });
    (id, follow)
}

/// Enqueues the `Follow` made by [`follow_activity`] for the group's inbox, in `transaction`
/// (see `actions::groups::join`).
pub async fn publish_follow(
    transaction: &impl sea_orm::ConnectionTrait,
    context: &Context,
    person: &actor::Model,
    group: &actor::Model,
    follow: (&Url, &Value),
) -> Result<()> {
    let (id, follow) = follow;
    delivery::enqueue(
        transaction,
        context,
        &[OutgoingActivity {
            sender: person,
            ap_id: id,
            kind: "Follow",
            object_ap_id: Some(&group.ap_id),
            json: follow,
            in_outbox: false,
            ordering_key: Some(&group.ap_id),
        }],
        [Url::parse(&group.inbox_url)?],
    )
    .await
}

/// Publishes a moderator's decision on a remote person's join request (decided already in
/// `transaction`, see `actions::moderation::decide_join_request`): the group's `Accept` or
/// `Reject` of their `Follow`. A local person's request needs no activity.
pub async fn publish_join_decision(
    transaction: &impl sea_orm::ConnectionTrait,
    context: &Context,
    group: &actor::Model,
    member: &actor::Model,
    follow_activity_ap_id: Option<&str>,
    approve: bool,
) -> Result<()> {
    let Some(follow_id) = follow_activity_ap_id.and_then(|id| Url::parse(id).ok()) else {
        return Ok(());
    };
    if member.local {
        return Ok(());
    }
    if approve {
        accept::publish_accept(transaction, context, group, member, &follow_id).await
    } else {
        crate::federation::activities::reject::publish_reject(
            transaction,
            context,
            group,
            member,
            &follow_id,
        )
        .await
    }
}
