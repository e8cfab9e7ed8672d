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

/// Whether a relayed activity is also boosted by the id of the post it created.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Boost {
    /// A new thread: Mastodon and Takahe show `Announce{object: <post id>}` in followers'
    /// home timelines, and ignore `Announce{Create}`.
    NewThread,
    /// Replies, edits, votes and deletions are never boosted, so a busy group does not flood
    /// timelines.
    No,
}

/// Relays `activity` (the received JSON, unchanged) to every member of `group`, and boosts the
/// post when it is a new thread. `post_ap_id` is the post it concerns: activities about one
/// post reach each inbox in order.
pub async fn relay(
    transaction: &impl ConnectionTrait,
    context: &Context,
    group: &actor::Model,
    activity: &Value,
    post_ap_id: &str,
    boost: Boost,
) -> Result<()> {
    let mut inner = activity.clone();
    // The @context belongs to the outer document.
    if let Value::Object(map) = &mut inner {
        map.remove("@context");
    }
    let inner_id = inner
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or(post_ap_id)
        .to_string();
    let relay_id = new_activity_id(&context.config);
    let relay_json = announce(group, &relay_id, inner);
    let boost_id = new_activity_id(&context.config);
    let boost_json = announce(group, &boost_id, Value::String(post_ap_id.to_string()));

    let mut outgoing = vec![OutgoingActivity {
        sender: group,
        ap_id: &relay_id,
        kind: "Announce",
        object_ap_id: Some(&inner_id),
        json: &relay_json,
        in_outbox: true,
        ordering_key: Some(post_ap_id),
    }];
    if boost == Boost::NewThread {
        outgoing.push(OutgoingActivity {
            sender: group,
            ap_id: &boost_id,
            kind: "Announce",
            object_ap_id: Some(post_ap_id),
            json: &boost_json,
            in_outbox: true,
            ordering_key: Some(post_ap_id),
        });
    }
    let inboxes = membership::member_inboxes(transaction, group.id)
        .await?
        .into_iter()
        .filter_map(|inbox| Url::parse(&inbox).ok());
    delivery::enqueue(transaction, &context.config, &outgoing, inboxes).await
}

fn announce(group: &actor::Model, id: &Url, object: Value) -> Value {
    json!({
        "@context": object_context(),
        "id": id,
        "type": "Announce",
        "actor": group.ap_id,
        "to": [PUBLIC],
        "cc": [group.followers_url],
        "object": object,
        "published": chrono::Utc::now(),
    })
}
