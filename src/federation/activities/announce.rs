//! `Announce`: how a group relays (FEP-1b12). Every accepted activity is wrapped, exactly as
//! received, in an Announce to Public and the group's followers, one delivery per shared
//! inbox. A new thread is also boosted by id, so Mastodon followers see it in their timelines.

use crate::{
    app::Context,
    error::Result,
    federation::{
        activities::new_activity_id,
        context::object_context,
        delivery::{self, OutgoingActivity},
        objects::post::PUBLIC,
    },
    groups::membership,
};
use kindred_entities::actor;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use url::Url;

/// Relays `activity` (the received JSON, unchanged) to every member of `group`. `post_ap_id`
/// is the post it concerns: activities about one post reach each inbox in order.
pub async fn relay(
    transaction: &impl ConnectionTrait,
    context: &Context,
    group: &actor::Model,
    activity: &Value,
    post_ap_id: &str,
) -> Result<()> {
    let mut inner = activity.clone();
    // The @context belongs to the outer document.
    if let Value::Object(map) = &mut inner {
        map.remove("@context");
    }
    let activity_id = inner
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or(post_ap_id)
        .to_string();
    send(transaction, context, group, inner, &activity_id, post_ap_id).await
}

/// Boosts a new thread by its id (`Announce{object: <post id>}`): Mastodon and Takahe show
/// that in followers' timelines, where they ignore `Announce{Create}`. Replies and votes are
/// never boosted, so a busy group does not flood timelines.
pub async fn boost(
    transaction: &impl ConnectionTrait,
    context: &Context,
    group: &actor::Model,
    post_ap_id: &str,
) -> Result<()> {
    send(
        transaction,
        context,
        group,
        Value::String(post_ap_id.to_string()),
        post_ap_id,
        post_ap_id,
    )
    .await
}

async fn send(
    transaction: &impl ConnectionTrait,
    context: &Context,
    group: &actor::Model,
    object: Value,
    object_ap_id: &str,
    post_ap_id: &str,
) -> Result<()> {
    let id = new_activity_id(&context.config);
    let announce = json!({
        "@context": object_context(),
        "id": id,
        "type": "Announce",
        "actor": group.ap_id,
        "to": [PUBLIC],
        "cc": [group.followers_url],
        "object": object,
        "published": chrono::Utc::now(),
    });
    let inboxes = membership::member_inboxes(transaction, group.id)
        .await?
        .into_iter()
        .filter_map(|inbox| Url::parse(&inbox).ok());
    delivery::enqueue(
        transaction,
        &context.config,
        OutgoingActivity {
            sender: group,
            ap_id: &id,
            kind: "Announce",
            object_ap_id: Some(object_ap_id),
            json: &announce,
            in_outbox: true,
            ordering_key: Some(post_ap_id),
        },
        inboxes,
    )
    .await?;
    Ok(())
}
