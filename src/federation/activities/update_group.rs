//! `Update{Group}`: the owner (or an administrator) edits a local group's profile, and the group
//! tells its members' servers, in the form each takes: Mastodon refreshes a profile on an
//! Update made by the Group; Lemmy takes it only when a moderator (a Person) made it and the
//! group announces it.

use crate::{
    context::Context,
    error::Result,
    federation::{
        activities::{new_activity_id, without_context},
        context::object_context,
        delivery::{OutgoingActivity, enqueue},
        instances::host_of,
        objects::{actor::ApubActor, post::PUBLIC},
        software,
    },
    groups::membership,
};
use kindred_entities::actor;
use serde_json::json;
use url::Url;

/// Enqueues, in `transaction`, the update of a local group whose profile `editor` just
/// changed (see `actions::groups::edit_group`), for its members' servers: as the Group's own
/// `Update` where that is taken, as its `Announce` of the editor's `Update` where only that is
/// (`software::what_to_send`).
pub async fn publish_group_update(
    transaction: &impl sea_orm::ConnectionTrait,
    context: &Context,
    updated: &actor::Model,
    editor: &actor::Model,
) -> Result<()> {
    let document = without_context(ApubActor::from_row(updated.clone())?.to_json_ld()?);
    let member_servers: Vec<Url> = membership::member_inboxes(transaction, updated.id)
        .await?
        .into_iter()
        .filter_map(|inbox| Url::parse(&inbox).ok())
        .collect();
    let families = software::families_of(context, transaction, &member_servers).await?;
    let sending = |inbox: &Url| {
        let family = host_of(inbox)
            .ok()
            .and_then(|host| families.get(&host).copied())
            .unwrap_or(software::ServerFamily::Unknown);
        software::what_to_send(family)
    };

    // Mastodon's form: the Group updates itself.
    let by_group_id = new_activity_id(&context.config);
    let by_group = json!({
        "@context": object_context(),
        "id": by_group_id,
        "type": "Update",
        "actor": updated.ap_id,
        "to": [PUBLIC],
        "cc": [updated.followers_url],
        "object": document,
    });
    enqueue(
        transaction,
        context,
        &[OutgoingActivity {
            sender: updated,
            ap_id: &by_group_id,
            kind: "Update",
            object_ap_id: Some(&updated.ap_id),
            json: &by_group,
            in_outbox: true,
            ordering_key: Some(&updated.ap_id),
        }],
        member_servers
            .iter()
            .filter(|inbox| sending(inbox).group_update_by_group)
            .cloned(),
    )
    .await?;

    // Lemmy's form: the editor (a moderator) updates the Group, and the group announces it.
    let by_moderator_id = new_activity_id(&context.config);
    let by_moderator = json!({
        "@context": object_context(),
        "id": by_moderator_id,
        "type": "Update",
        "actor": editor.ap_id,
        "to": [PUBLIC],
        "cc": [updated.ap_id],
        "audience": updated.ap_id,
        "object": document,
    });
    let announce_id = new_activity_id(&context.config);
    let announce = json!({
        "@context": object_context(),
        "id": announce_id,
        "type": "Announce",
        "actor": updated.ap_id,
        "to": [PUBLIC],
        "cc": [updated.followers_url],
        "object": without_context(by_moderator.clone()),
    });
    let moderator_form_to: Vec<Url> = member_servers
        .iter()
        .filter(|inbox| sending(inbox).group_update_by_moderator)
        .cloned()
        .collect();
    // The editor's Update is kept (and served at its id) but sent only inside the Announce.
    enqueue(
        transaction,
        context,
        &[OutgoingActivity {
            sender: editor,
            ap_id: &by_moderator_id,
            kind: "Update",
            object_ap_id: Some(&updated.ap_id),
            json: &by_moderator,
            in_outbox: true,
            ordering_key: None,
        }],
        std::iter::empty(),
    )
    .await?;
    enqueue(
        transaction,
        context,
        &[OutgoingActivity {
            sender: updated,
            ap_id: &announce_id,
            kind: "Announce",
            object_ap_id: Some(&updated.ap_id),
            json: &announce,
            in_outbox: true,
            ordering_key: Some(&updated.ap_id),
        }],
        moderator_form_to,
    )
    .await
}
