//! `Accept{Follow}`: the group's answer to a join request, sent to the follower's inbox.
//! Lemmy parses it only when the embedded Follow names its actor as a plain URL, so the Follow
//! is restated in that form (with its original id) rather than echoed.

use crate::{
    app::Context,
    error::Result,
    federation::{
        activities::new_activity_id,
        context::object_context,
        delivery::{self, OutgoingActivity},
    },
};
use kindred_entities::actor;
use sea_orm::ConnectionTrait;
use serde_json::json;
use url::Url;

/// Enqueues the group's Accept of `follower`'s Follow `follow_id`.
pub async fn send(
    transaction: &impl ConnectionTrait,
    context: &Context,
    group: &actor::Model,
    follower: &actor::Model,
    follow_id: &Url,
) -> Result<()> {
    let id = new_activity_id(&context.config);
    let accept = json!({
        "@context": object_context(),
        "id": id,
        "type": "Accept",
        "actor": group.ap_id,
        "to": [follower.ap_id],
        "object": {
            "id": follow_id,
            "type": "Follow",
            "actor": follower.ap_id,
            "object": group.ap_id,
        },
    });
    delivery::enqueue(
        transaction,
        &context.config,
        &[OutgoingActivity {
            sender: group,
            ap_id: &id,
            kind: "Accept",
            object_ap_id: Some(follow_id.as_str()),
            json: &accept,
            in_outbox: false,
            ordering_key: None,
        }],
        [Url::parse(&follower.inbox_url)?],
    )
    .await?;
    Ok(())
}
