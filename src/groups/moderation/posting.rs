//! Who may post and see what: posting modes, held (pre-moderated) posts, removals, locks
//! and pins.

use super::*;

/// Whether a new post by `author` in `group` waits for a moderator's approval.
pub async fn needs_approval(
    database: &impl ConnectionTrait,
    group: &actor::Model,
    author: &actor::Model,
) -> Result<bool> {
    Ok(group.local
        && group.posting_mode == PostingMode::Premoderated
        && !is_moderator(database, group.id, author.id).await?)
}

/// Posts waiting for approval in a group, oldest first.
pub async fn approval_queue(
    database: &impl ConnectionTrait,
    group_id: i64,
) -> Result<Vec<post::Model>> {
    Ok(post::Entity::find()
        .filter(post::Column::GroupId.eq(group_id))
        .filter(post::Column::AwaitingApproval.eq(true))
        .filter(post::Column::DeletedAt.is_null())
        .order_by_asc(post::Column::Id)
        .all(database)
        .await?)
}

/// Whether someone may see a post that waits for approval: its author, the group's
/// moderators, administrators.
pub async fn may_see_held(
    database: &impl ConnectionTrait,
    group: &actor::Model,
    held: &post::Model,
    actor_id: i64,
    is_admin: bool,
) -> Result<bool> {
    Ok(
        actor_id == held.author_id
            || is_admin
            || is_moderator(database, group.id, actor_id).await?,
    )
}

/// Holds a just-stored post for approval, keeping the activity that brought it.
pub async fn hold_for_approval(
    database: &impl ConnectionTrait,
    stored: post::Model,
    activity: &serde_json::Value,
) -> Result<post::Model> {
    let mut update: post::ActiveModel = stored.into();
    update.awaiting_approval = Set(true);
    update.pending_activity = Set(Some(activity.to_string()));
    let held = update.update(database).await?;
    if let Some(thread_id) = held.thread_id {
        crate::groups::posts::recount_replies(database, thread_id).await?;
    }
    Ok(held)
}

/// A moderator approves a waiting post: it shows, and the activity it came with is returned to
/// be relayed.
pub async fn approve_post(
    database: &impl ConnectionTrait,
    group: &actor::Model,
    waiting: post::Model,
    by: &actor::Model,
) -> Result<(post::Model, Option<serde_json::Value>)> {
    if waiting.group_id != group.id || !waiting.awaiting_approval {
        return Err(Error::not_found("post waiting for approval"));
    }
    let activity = waiting
        .pending_activity
        .as_deref()
        .and_then(|text| serde_json::from_str(text).ok());
    let post_id = waiting.id;
    let mut update: post::ActiveModel = waiting.into();
    update.awaiting_approval = Set(false);
    update.pending_activity = Set(None);
    let approved = update.update(database).await?;
    if let Some(thread_id) = approved.thread_id {
        crate::groups::posts::recount_replies(database, thread_id).await?;
    }
    record(
        database,
        group,
        by,
        Action::ApprovePost,
        None,
        Some(post_id),
        None,
    )
    .await?;
    Ok((approved, activity))
}

/// Whether `author` may post in `group` under its posting mode (and, for a reply, whether the
/// thread is open).
pub async fn may_post(
    database: &impl ConnectionTrait,
    group: &actor::Model,
    author: &actor::Model,
    thread: Option<&post::Model>,
) -> Result<()> {
    let standing = if group.local {
        let standing = standing(database, group.id, author).await?;
        if standing.banned {
            // Read again for its end date, which the refusal names.
            require_not_banned(database, group, author).await?;
        }
        Some(standing)
    } else {
        None
    };
    if let Some(thread) = thread
        && thread.locked
        && !is_moderator(database, group.id, author.id).await?
    {
        return Err(Error::Forbidden("this thread is locked".into()));
    }
    if !group.local {
        // The group's own server decides; here only members write to it.
        return if crate::groups::membership::is_member(database, group.id, author.id).await? {
            Ok(())
        } else {
            Err(Error::Forbidden(
                "only members may post in this group: join it first".into(),
            ))
        };
    }
    match group.posting_mode {
        PostingMode::Open => Ok(()),
        PostingMode::Members | PostingMode::Premoderated => {
            if standing.is_some_and(|standing| standing.member) {
                Ok(())
            } else {
                Err(Error::Forbidden(
                    "only members may post in this group: join it first".into(),
                ))
            }
        }
        PostingMode::Moderators => {
            if is_moderator(database, group.id, author.id).await? {
                Ok(())
            } else {
                Err(Error::Forbidden(
                    "only the moderators post in this group".into(),
                ))
            }
        }
    }
}

/// Sets who may post in a local group.
pub async fn set_posting_mode(
    database: &impl ConnectionTrait,
    group: actor::Model,
    mode: PostingMode,
    by: &actor::Model,
) -> Result<actor::Model> {
    if group.posting_mode == mode {
        return Ok(group);
    }
    let mut update: actor::ActiveModel = group.into();
    update.posting_mode = Set(mode);
    update.posting_restricted_to_mods = Set(mode == PostingMode::Moderators);
    update.updated_at = Set(Some(Utc::now()));
    let updated = update.update(database).await?;
    record(
        database,
        &updated,
        by,
        Action::ChangePostingMode,
        None,
        None,
        Some(match mode {
            PostingMode::Open => "anyone",
            PostingMode::Members => "members",
            PostingMode::Moderators => "moderators only",
            PostingMode::Premoderated => "members, approved by a moderator",
        }),
    )
    .await?;
    Ok(updated)
}

/// Removes a post (hidden, restorable) or restores it.
pub async fn set_removed(
    database: &impl ConnectionTrait,
    group: &actor::Model,
    target: post::Model,
    removed: bool,
    by: &actor::Model,
    reason: Option<&str>,
) -> Result<post::Model> {
    if target.group_id != group.id {
        return Err(Error::not_found("post in this group"));
    }
    if target.removed_at.is_some() == removed {
        return Ok(target);
    }
    let post_id = target.id;
    let mut update: post::ActiveModel = target.into();
    update.removed_at = Set(removed.then(Utc::now));
    let updated = update.update(database).await?;
    if let Some(thread_id) = updated.thread_id {
        crate::groups::posts::recount_replies(database, thread_id).await?;
    }
    let action = if removed {
        Action::RemovePost
    } else {
        Action::RestorePost
    };
    record(database, group, by, action, None, Some(post_id), reason).await?;
    Ok(updated)
}

/// Locks a thread (no new replies) or unlocks it.
pub async fn set_locked(
    database: &impl ConnectionTrait,
    group: &actor::Model,
    thread: post::Model,
    locked: bool,
    by: &actor::Model,
) -> Result<post::Model> {
    if thread.group_id != group.id || thread.parent_id.is_some() {
        return Err(Error::invalid("only a thread of this group can be locked"));
    }
    if thread.locked == locked {
        return Ok(thread);
    }
    let post_id = thread.id;
    let mut update: post::ActiveModel = thread.into();
    update.locked = Set(locked);
    let updated = update.update(database).await?;
    let action = if locked {
        Action::LockThread
    } else {
        Action::UnlockThread
    };
    record(database, group, by, action, None, Some(post_id), None).await?;
    Ok(updated)
}

/// Pins a thread (shown first, featured) or unpins it.
pub async fn set_pinned(
    database: &impl ConnectionTrait,
    group: &actor::Model,
    thread: post::Model,
    pinned: bool,
    by: &actor::Model,
) -> Result<post::Model> {
    if thread.group_id != group.id || thread.parent_id.is_some() {
        return Err(Error::invalid("only a thread of this group can be pinned"));
    }
    if pinned && (thread.awaiting_approval || thread.removed_at.is_some()) {
        return Err(Error::invalid("only a thread that is shown can be pinned"));
    }
    if thread.pinned_at.is_some() == pinned {
        return Ok(thread);
    }
    let post_id = thread.id;
    let mut update: post::ActiveModel = thread.into();
    update.pinned_at = Set(pinned.then(Utc::now));
    let updated = update.update(database).await?;
    let action = if pinned {
        Action::PinThread
    } else {
        Action::UnpinThread
    };
    record(database, group, by, action, None, Some(post_id), None).await?;
    Ok(updated)
}

/// A group's pinned threads, most recently pinned first.
pub async fn pinned_threads(
    database: &impl ConnectionTrait,
    group_id: i64,
) -> Result<Vec<post::Model>> {
    Ok(post::Entity::find()
        .filter(post::Column::GroupId.eq(group_id))
        .filter(post::Column::PinnedAt.is_not_null())
        .filter(post::Column::DeletedAt.is_null())
        .filter(post::Column::RemovedAt.is_null())
        .filter(post::Column::AwaitingApproval.eq(false))
        .order_by_desc(post::Column::PinnedAt)
        .all(database)
        .await?)
}
