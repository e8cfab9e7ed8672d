//! Writing in a group: a thread or a reply, an edit, a deletion, a vote. Each checks who may
//! do it, changes the post in one transaction with what other servers must hear (published by
//! `federation/activities/`), and wakes the delivery worker after the commit.

use crate::{
    accounts::notifications,
    actions::lookups,
    context::Context,
    error::{Error, Result},
    federation::{
        activities::{create_or_update, delete, vote},
        delivery::wake_delivery_worker,
        objects::post::mentioned_handles,
    },
    groups::{moderation, posts},
    media::uploads,
};
use kindred_entities::{actor, post};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};

/// A local person starts a thread in `group` (see [`write_post`] for the rules); the draft
/// needs a title.
pub async fn start_thread(
    context: &Context,
    author: &actor::Model,
    group: &actor::Model,
    draft: posts::Draft,
) -> Result<post::Model> {
    write_post(context, author, group, None, draft).await
}

/// A local person replies to `parent` (see [`write_post`] for the rules); the draft has no
/// title. Returns the reply and the group it is in.
pub async fn reply_to(
    context: &Context,
    author: &actor::Model,
    parent: &post::Model,
    draft: posts::Draft,
) -> Result<(post::Model, actor::Model)> {
    let group = lookups::actor(&context.db, parent.group_id, "group").await?;
    let reply = write_post(context, author, &group, Some(parent), draft).await?;
    Ok((reply, group))
}

/// A local person writes a thread (no `parent`) or a reply in a group: members only (or as
/// the group's posting mode says), not while banned, not in a locked thread, not under a
/// deleted or removed post. In a pre-moderated group the post waits for a moderator. The
/// pictures it carries are the author's own uploads, at most four.
pub async fn write_post(
    context: &Context,
    author: &actor::Model,
    group: &actor::Model,
    parent: Option<&post::Model>,
    draft: posts::Draft,
) -> Result<post::Model> {
    if parent.is_some_and(|parent| parent.awaiting_approval) {
        return Err(Error::not_found("post"));
    }
    // The thread a reply joins: the parent itself when it opens the thread. (A thread row
    // that is gone leaves the reply to the group's rules alone.)
    let thread = match parent {
        None => None,
        Some(parent) => match parent.thread_id {
            None => Some(parent.clone()),
            Some(thread_id) => lookups::post(&context.db, thread_id).await.ok(),
        },
    };
    moderation::may_post(&context.db, group, author, thread.as_ref()).await?;
    let held = moderation::needs_approval(&context.db, group, author).await?;
    if let Some(parent) = parent
        && (parent.deleted_at.is_some() || parent.removed_at.is_some())
    {
        return Err(Error::Gone("post".into()));
    }
    let most_mentions = context.config.federation.max_mentions_per_post;
    if mentioned_handles(&draft.markdown).len() > most_mentions {
        return Err(Error::invalid(format!(
            "a post may mention at most {most_mentions} people"
        )));
    }
    let mentioned: Vec<String> =
        notifications::local_mentions(&draft.markdown, &context.config.domain())
            .into_iter()
            .map(|name| {
                context
                    .config
                    .url_for(&format!("/users/{name}"))
                    .to_string()
            })
            .collect();
    let picture_ids = draft.picture_ids.clone().unwrap_or_default();
    let pictures =
        uploads::attachments_for_post(&context.db, &context.config, author.id, &picture_ids)
            .await?;
    let mut content = draft.into_content(parent.is_some())?;
    content.attachments = Some(pictures);
    // The posts of a group that is not safe for work are too (as Lemmy requires).
    content.sensitive = group.sensitive;
    // A local post's id is its page, `/posts/<row id>`, as on Lemmy: the row is inserted
    // under a unique placeholder and named once its id is known, in the same transaction.
    let placeholder = format!("urn:uuid:{}", uuid::Uuid::new_v4());
    let transaction = context.db.begin().await?;
    let stored = posts::add_post(
        &transaction,
        group,
        author,
        posts::NewPost {
            ap_id: &placeholder,
            parent,
            content,
            published_at: chrono::Utc::now(),
            local: true,
            // A reply in a remote group's thread names the context its thread named.
            context_url: parent.and_then(|parent| parent.context_url.clone()),
        },
    )
    .await?;
    let ap_id = context.config.url_for(&format!("/posts/{}", stored.id));
    let stored = posts::assign_ap_id(&transaction, stored, ap_id.as_str()).await?;
    uploads::mark_used(&transaction, &picture_ids).await?;
    if !held {
        notifications::notify_about_new_post(&transaction, &stored, &mentioned).await?;
    }
    let stored =
        create_or_update::publish_new_post(&transaction, context, author, group, stored, held)
            .await?;
    transaction.commit().await?;
    wake_delivery_worker(context);
    tracing::info!(post = %stored.ap_id, group = %group.ap_id, held, "a post was written");
    Ok(stored)
}

/// A local person edits their own post (not while banned from its group). With
/// `picture_ids`, its pictures are replaced by those uploads; without, they are kept.
pub async fn edit_post(
    context: &Context,
    editor: &actor::Model,
    existing: post::Model,
    draft: posts::Draft,
) -> Result<post::Model> {
    if existing.author_id != editor.id {
        return Err(Error::Forbidden("only its author may edit a post".into()));
    }
    let group = lookups::actor(&context.db, existing.group_id, "group").await?;
    let picture_ids = draft.picture_ids.clone();
    let pictures = match &picture_ids {
        Some(ids) => {
            Some(uploads::attachments_for_post(&context.db, &context.config, editor.id, ids).await?)
        }
        None => None,
    };
    let mut content = draft.into_content(existing.parent_id.is_some())?;
    content.attachments = pictures;
    content.sensitive = group.sensitive || existing.sensitive;
    if group.local {
        moderation::require_not_banned(&context.db, &group, editor).await?;
    }
    let transaction = context.db.begin().await?;
    let edited = posts::edit_post(&transaction, existing, content, chrono::Utc::now()).await?;
    uploads::mark_used(&transaction, picture_ids.as_deref().unwrap_or_default()).await?;
    let edited =
        create_or_update::publish_edit(&transaction, context, editor, &group, edited).await?;
    transaction.commit().await?;
    wake_delivery_worker(context);
    Ok(edited)
}

/// A local person deletes their own post: a tombstone stays.
pub async fn delete_post(
    context: &Context,
    author: &actor::Model,
    target: post::Model,
) -> Result<post::Model> {
    if target.author_id != author.id {
        return Err(Error::Forbidden("only its author may delete a post".into()));
    }
    if target.deleted_at.is_some() {
        return Err(Error::Gone("post".into()));
    }
    let group = lookups::actor(&context.db, target.group_id, "group").await?;
    let post_ap_id = target.ap_id.clone();
    let transaction = context.db.begin().await?;
    let deleted = posts::delete_post(&transaction, target).await?;
    delete::publish_delete(&transaction, context, author, &group, &post_ap_id).await?;
    transaction.commit().await?;
    wake_delivery_worker(context);
    tracing::info!(post = %post_ap_id, "a post was deleted by its author");
    Ok(deleted)
}

/// A local person likes (1) or dislikes (-1) a post, or takes their vote back (0). Voting the
/// same way twice changes nothing; a banned person does not vote.
pub async fn vote(
    context: &Context,
    voter: &actor::Model,
    target: &post::Model,
    value: i16,
) -> Result<()> {
    if target.deleted_at.is_some() {
        return Err(Error::Gone("post".into()));
    }
    if target.awaiting_approval {
        return Err(Error::not_found("post"));
    }
    if !matches!(value, -1..=1) {
        return Err(Error::bad_request("a vote is 1, -1 or 0"));
    }
    let group = lookups::actor(&context.db, target.group_id, "group").await?;
    let earlier = kindred_entities::vote::Entity::find()
        .filter(kindred_entities::vote::Column::PostId.eq(target.id))
        .filter(kindred_entities::vote::Column::ActorId.eq(voter.id))
        .one(&context.db)
        .await?;
    if group.local {
        moderation::require_not_banned(&context.db, &group, voter).await?;
    }
    if earlier.as_ref().map_or(0, |earlier| earlier.value) == value {
        return Ok(());
    }
    let transaction = context.db.begin().await?;
    if let Some(earlier) = &earlier {
        posts::remove_vote(&transaction, target, voter).await?;
        vote::publish_vote_undone(&transaction, context, voter, &group, target, earlier).await?;
    }
    if value != 0 {
        let (id, activity) = vote::vote_activity(context, voter, &group, target, value);
        posts::set_vote(&transaction, target, voter, value, id.as_str()).await?;
        vote::publish_vote(
            &transaction,
            context,
            voter,
            &group,
            target,
            (&id, &activity),
        )
        .await?;
    }
    transaction.commit().await?;
    wake_delivery_worker(context);
    Ok(())
}
