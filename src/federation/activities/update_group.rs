//! `Update{Group}`: the owner (or an administrator) edits a local group's profile, and the group
//! tells its members' servers, as Lemmy and Mastodon refresh a profile.

use crate::{
    context::Context, error::Result, federation::activities::without_context, groups::membership,
};
use kindred_entities::actor;
use url::Url;

/// Enqueues, in `transaction`, the `Update{Group}` of a local group whose profile was just
/// changed (see `actions::groups::edit_group`), for its members' servers.
pub async fn publish_group_update(
    transaction: &impl sea_orm::ConnectionTrait,
    context: &Context,
    updated: &actor::Model,
) -> Result<()> {
    let document = without_context(
        crate::federation::objects::actor::ApubActor::from_row(updated.clone())?.to_json_ld()?,
    );
    let id = crate::federation::activities::new_activity_id(&context.config);
    let update = serde_json::json!({
        "@context": crate::federation::context::object_context(),
        "id": id,
        "type": "Update",
        "actor": updated.ap_id,
        "to": [crate::federation::objects::post::PUBLIC],
        "cc": [updated.followers_url],
        "object": document,
    });
    let inboxes = membership::member_inboxes(transaction, updated.id)
        .await?
        .into_iter()
        .filter_map(|inbox| Url::parse(&inbox).ok());
    crate::federation::delivery::enqueue(
        transaction,
        context,
        &[crate::federation::delivery::OutgoingActivity {
            sender: updated,
            ap_id: &id,
            kind: "Update",
            object_ap_id: Some(&updated.ap_id),
            json: &update,
            in_outbox: true,
            ordering_key: Some(&updated.ap_id),
        }],
        inboxes,
    )
    .await
}
