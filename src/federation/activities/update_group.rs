//! `Update{Group}`: the owner (or an administrator) edits a local group's profile, and the group
//! tells its members' servers, as Lemmy and Mastodon refresh a profile.

use crate::{
    app::Context,
    error::{Error, Result},
    federation::{activities::without_context, delivery::wake_delivery_worker},
    groups::{membership, moderation},
};
use kindred_entities::actor;
use sea_orm::TransactionTrait;
use url::Url;

/// The owner (or an administrator) edited a local group: the new profile is stored, and the group sends
/// `Update{Group}` to its members' servers (as Lemmy and Mastodon refresh a profile), in one
/// transaction.
pub async fn send_group_update(
    context: &Context,
    editor: &actor::Model,
    group: actor::Model,
    profile: crate::groups::directory::GroupProfile<'_>,
    posting_mode: Option<actor::PostingMode>,
) -> Result<actor::Model> {
    if !group.local {
        return Err(Error::bad_request("only a local group can be edited here"));
    }
    let is_admin = crate::accounts::users::find_by_actor_id(&context.db, editor.id)
        .await?
        .is_some_and(|account| account.is_admin);
    if !is_admin && !membership::is_owner(&context.db, group.id, editor.id).await? {
        return Err(Error::Forbidden(
            "only the group's owner or an administrator may edit it".into(),
        ));
    }
    let transaction = context.db.begin().await?;
    let mut updated = crate::groups::directory::update_group(&transaction, group, profile).await?;
    if let Some(mode) = posting_mode {
        updated = moderation::set_posting_mode(&transaction, updated, mode, editor).await?;
    }
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
    let inboxes = membership::member_inboxes(&transaction, updated.id)
        .await?
        .into_iter()
        .filter_map(|inbox| Url::parse(&inbox).ok());
    crate::federation::delivery::enqueue(
        &transaction,
        context,
        &[crate::federation::delivery::OutgoingActivity {
            sender: &updated,
            ap_id: &id,
            kind: "Update",
            object_ap_id: Some(&updated.ap_id),
            json: &update,
            in_outbox: true,
            ordering_key: Some(&updated.ap_id),
        }],
        inboxes,
    )
    .await?;
    transaction.commit().await?;
    context
        .actor_documents
        .invalidate(updated.local_name.as_deref().unwrap_or_default());
    wake_delivery_worker(context);
    Ok(updated)
}
