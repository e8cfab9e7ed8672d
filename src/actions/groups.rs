//! Taking part in groups, and keeping one: joining and leaving (here or on another server), and
//! editing a local group's profile.

use crate::{
    accounts::{sessions::SignedIn, users},
    config::GroupCreation,
    context::Context,
    error::{Error, Result},
    federation::{
        activities::{follow, undo, update_group},
        delivery::wake_delivery_worker,
    },
    groups::{
        directory::{self, GroupProfile, NewGroup},
        membership, moderation,
    },
};
use kindred_entities::{
    actor,
    membership::{self as membership_entity, MembershipState},
};
use sea_orm::TransactionTrait;

/// Whether `person` may create groups here (the group-creation policy, `site_settings`).
pub fn may_create_groups(context: &Context, person: &SignedIn) -> Result<()> {
    if context.site_settings.current().group_creation == GroupCreation::Admins
        && !person.account.user.is_admin
    {
        return Err(Error::Forbidden(
            "only administrators create groups on this instance".into(),
        ));
    }
    Ok(())
}

/// A signed-in person creates a local group, and is its founding owner and first member.
pub async fn create_group(
    context: &Context,
    founder: &SignedIn,
    new_group: NewGroup<'_>,
) -> Result<actor::Model> {
    may_create_groups(context, founder)?;
    let group =
        directory::create_group(&context.db, &context.config, &context.keys, new_group).await?;
    membership::found(&context.db, &group, &founder.account.actor).await?;
    tracing::info!(group = %group.ap_id, founder = %founder.account.actor.ap_id, "a group was created");
    Ok(group)
}

/// A local person joins `group`. A local group takes them at once (or keeps the request for
/// its moderators) unless they are banned; a remote group gets a `Follow`, and the membership
/// waits for its `Accept`.
pub async fn join(
    context: &Context,
    person: &actor::Model,
    group: &actor::Model,
) -> Result<membership_entity::Model> {
    if group.local {
        moderation::require_not_banned(&context.db, group, person).await?;
        return membership::join(&context.db, group, person, None).await;
    }
    if let Some(existing) = membership::find(&context.db, group.id, person.id).await?
        && existing.state == MembershipState::Accepted
    {
        return Ok(existing);
    }
    let (follow_id, activity) = follow::follow_activity(context, person, group);
    let transaction = context.db.begin().await?;
    let stored =
        membership::request_remote(&transaction, group, person, follow_id.as_str()).await?;
    follow::publish_follow(
        &transaction,
        context,
        person,
        group,
        (&follow_id, &activity),
    )
    .await?;
    transaction.commit().await?;
    wake_delivery_worker(context);
    Ok(stored)
}

/// A local person leaves `group` (or withdraws a request); a remote group gets an
/// `Undo{Follow}`. Returns whether there was a membership. The last moderator of a local
/// group cannot leave it (409): they hand it over first, or it would have nobody to run it.
pub async fn leave(context: &Context, person: &actor::Model, group: &actor::Model) -> Result<bool> {
    let Some(existing) = membership::find(&context.db, group.id, person.id).await? else {
        return Ok(false);
    };
    if group.local
        && existing.state == MembershipState::Accepted
        && existing.role != kindred_entities::membership::MembershipRole::Member
    {
        let others = moderation::moderators(&context.db, group.id)
            .await?
            .into_iter()
            .filter(|(_, moderator)| moderator.id != person.id)
            .count();
        if others == 0 {
            return Err(Error::Conflict(
                "you are the group's last moderator: appoint another one before you leave".into(),
            ));
        }
    }
    let transaction = context.db.begin().await?;
    membership::leave(&transaction, group.id, person.id).await?;
    if !group.local
        && let Some(follow_id) = &existing.follow_activity_ap_id
    {
        undo::publish_unfollow(&transaction, context, person, group, follow_id).await?;
    }
    transaction.commit().await?;
    wake_delivery_worker(context);
    Ok(true)
}

/// The owner (or an administrator) edits a local group: the new profile (and posting mode) is
/// stored and the group sends `Update{Group}` to its members' servers, in one transaction.
pub async fn edit_group(
    context: &Context,
    editor: &actor::Model,
    group: actor::Model,
    profile: GroupProfile<'_>,
    posting_mode: Option<actor::PostingMode>,
) -> Result<actor::Model> {
    if !group.local {
        return Err(Error::bad_request("only a local group can be edited here"));
    }
    let is_admin = users::find_by_actor_id(&context.db, editor.id)
        .await?
        .is_some_and(|account| account.is_admin);
    if !is_admin && !membership::is_owner(&context.db, group.id, editor.id).await? {
        return Err(Error::Forbidden(
            "only the group's owner or an administrator may edit it".into(),
        ));
    }
    let transaction = context.db.begin().await?;
    let mut updated = directory::update_group(&transaction, group, profile).await?;
    crate::media::uploads::mark_used_by_url(
        &transaction,
        &context.config,
        &[updated.icon_url.as_deref(), updated.image_url.as_deref()],
    )
    .await?;
    if let Some(mode) = posting_mode {
        updated = moderation::set_posting_mode(&transaction, updated, mode, editor).await?;
    }
    update_group::publish_group_update(&transaction, context, &updated, editor).await?;
    transaction.commit().await?;
    context
        .actor_documents
        .invalidate(updated.local_name.as_deref().unwrap_or_default());
    wake_delivery_worker(context);
    Ok(updated)
}
