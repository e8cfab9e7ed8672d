//! Governing a local group: who moderates it, who may post, join requests, removing and
//! restoring posts, locking threads, and the public log of every such action.
//!
//! Like the rest of `groups/`, nothing here speaks ActivityPub: the federation side
//! (`federation/activities/`) calls these and sends what the change means to other servers.

use crate::error::{Error, Result};
use chrono::Utc;
use kindred_entities::{
    actor::{self, PostingMode},
    membership::{self, MembershipRole, MembershipState},
    moderation_log, post,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

/// A moderation action, as the log names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    RemovePost,
    RestorePost,
    LockThread,
    UnlockThread,
    ApproveMember,
    RefuseMember,
    AppointModerator,
    DismissModerator,
    ChangePostingMode,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::RemovePost => "remove_post",
            Action::RestorePost => "restore_post",
            Action::LockThread => "lock_thread",
            Action::UnlockThread => "unlock_thread",
            Action::ApproveMember => "approve_member",
            Action::RefuseMember => "refuse_member",
            Action::AppointModerator => "appoint_moderator",
            Action::DismissModerator => "dismiss_moderator",
            Action::ChangePostingMode => "posting_mode",
        }
    }

    /// How the public log words it.
    pub fn describe(name: &str) -> &'static str {
        match name {
            "remove_post" => "removed a post",
            "restore_post" => "restored a post",
            "lock_thread" => "locked a thread",
            "unlock_thread" => "unlocked a thread",
            "approve_member" => "approved a member",
            "refuse_member" => "refused a join request",
            "appoint_moderator" => "appointed a moderator",
            "dismiss_moderator" => "dismissed a moderator",
            "posting_mode" => "changed who may post",
            _ => "acted",
        }
    }
}

/// The role `actor_id` has in the group, if an accepted member.
pub async fn role_of(
    database: &impl ConnectionTrait,
    group_id: i64,
    actor_id: i64,
) -> Result<Option<MembershipRole>> {
    Ok(membership::Entity::find()
        .filter(membership::Column::GroupId.eq(group_id))
        .filter(membership::Column::MemberId.eq(actor_id))
        .filter(membership::Column::State.eq(MembershipState::Accepted))
        .one(database)
        .await?
        .map(|found| found.role))
}

/// True for the group's owner and its moderators.
pub async fn is_moderator(
    database: &impl ConnectionTrait,
    group_id: i64,
    actor_id: i64,
) -> Result<bool> {
    Ok(matches!(
        role_of(database, group_id, actor_id).await?,
        Some(MembershipRole::Owner | MembershipRole::Moderator)
    ))
}

/// Refuses with 403 unless `actor_id` moderates the group (or `is_admin`: instance
/// administrators may moderate every local group, as on Lemmy).
pub async fn require_moderator(
    database: &impl ConnectionTrait,
    group: &actor::Model,
    actor_id: i64,
    is_admin: bool,
) -> Result<()> {
    if !group.local {
        return Err(Error::bad_request(
            "this group is moderated on its own server",
        ));
    }
    if is_admin || is_moderator(database, group.id, actor_id).await? {
        Ok(())
    } else {
        Err(Error::Forbidden(
            "only the group's moderators may do this".into(),
        ))
    }
}

/// The owner and moderators, owner first.
pub async fn moderators(
    database: &impl ConnectionTrait,
    group_id: i64,
) -> Result<Vec<(MembershipRole, actor::Model)>> {
    let roles = membership::Entity::find()
        .filter(membership::Column::GroupId.eq(group_id))
        .filter(membership::Column::State.eq(MembershipState::Accepted))
        .filter(membership::Column::Role.is_in([MembershipRole::Owner, MembershipRole::Moderator]))
        .order_by_asc(membership::Column::Id)
        .all(database)
        .await?;
    let people = actor::Entity::find()
        .filter(actor::Column::Id.is_in(roles.iter().map(|found| found.member_id)))
        .all(database)
        .await?;
    let mut listed: Vec<(MembershipRole, actor::Model)> = roles
        .iter()
        .filter_map(|found| {
            people
                .iter()
                .find(|person| person.id == found.member_id)
                .map(|person| (found.role, person.clone()))
        })
        .collect();
    listed.sort_by_key(|(role, _)| *role != MembershipRole::Owner);
    Ok(listed)
}

/// Makes an accepted member a moderator, or a moderator a member again. The owner's role does
/// not change this way.
pub async fn set_moderator(
    database: &impl ConnectionTrait,
    group: &actor::Model,
    member: &actor::Model,
    moderator: bool,
    by: &actor::Model,
) -> Result<()> {
    let Some(found) = membership::Entity::find()
        .filter(membership::Column::GroupId.eq(group.id))
        .filter(membership::Column::MemberId.eq(member.id))
        .filter(membership::Column::State.eq(MembershipState::Accepted))
        .one(database)
        .await?
    else {
        return Err(Error::invalid("only a member of the group can moderate it"));
    };
    if found.role == MembershipRole::Owner {
        return Err(Error::invalid("the owner's role cannot be changed"));
    }
    let mut update: membership::ActiveModel = found.into();
    update.role = Set(if moderator {
        MembershipRole::Moderator
    } else {
        MembershipRole::Member
    });
    update.updated_at = Set(Utc::now());
    update.update(database).await?;
    let action = if moderator {
        Action::AppointModerator
    } else {
        Action::DismissModerator
    };
    record(database, group, by, action, Some(member.id), None, None).await
}

/// Join requests waiting for a moderator, oldest first, with who asked.
pub async fn pending_requests(
    database: &impl ConnectionTrait,
    group_id: i64,
) -> Result<Vec<(membership::Model, actor::Model)>> {
    let pending = membership::Entity::find()
        .filter(membership::Column::GroupId.eq(group_id))
        .filter(membership::Column::State.eq(MembershipState::Pending))
        .order_by_asc(membership::Column::Id)
        .all(database)
        .await?;
    let people = actor::Entity::find()
        .filter(actor::Column::Id.is_in(pending.iter().map(|found| found.member_id)))
        .all(database)
        .await?;
    Ok(pending
        .into_iter()
        .filter_map(|found| {
            let person = people
                .iter()
                .find(|person| person.id == found.member_id)?
                .clone();
            Some((found, person))
        })
        .collect())
}

/// Decides a pending join request: approved, the membership is accepted; refused, it is
/// removed. Returns the request as it was (its Follow id is what the answer names).
pub async fn decide_request(
    database: &impl ConnectionTrait,
    group: &actor::Model,
    member: &actor::Model,
    approve: bool,
    by: &actor::Model,
) -> Result<membership::Model> {
    let found = membership::Entity::find()
        .filter(membership::Column::GroupId.eq(group.id))
        .filter(membership::Column::MemberId.eq(member.id))
        .filter(membership::Column::State.eq(MembershipState::Pending))
        .one(database)
        .await?
        .ok_or_else(|| Error::not_found("join request"))?;
    if approve {
        let mut update: membership::ActiveModel = found.clone().into();
        update.state = Set(MembershipState::Accepted);
        update.updated_at = Set(Utc::now());
        update.update(database).await?;
    } else {
        membership::Entity::delete_by_id(found.id)
            .exec(database)
            .await?;
    }
    let action = if approve {
        Action::ApproveMember
    } else {
        Action::RefuseMember
    };
    record(database, group, by, action, Some(member.id), None, None).await?;
    Ok(found)
}

/// Whether `author` may post in `group` under its posting mode (and, for a reply, whether the
/// thread is open).
pub async fn may_post(
    database: &impl ConnectionTrait,
    group: &actor::Model,
    author: &actor::Model,
    thread: Option<&post::Model>,
) -> Result<()> {
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
        PostingMode::Members => {
            if crate::groups::membership::is_member(database, group.id, author.id).await? {
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

/// The group's moderation log, newest first.
pub async fn log_entries(
    database: &impl ConnectionTrait,
    group_id: i64,
    limit: u64,
) -> Result<Vec<moderation_log::Model>> {
    Ok(moderation_log::Entity::find()
        .filter(moderation_log::Column::GroupId.eq(group_id))
        .order_by_desc(moderation_log::Column::Id)
        .limit(limit)
        .all(database)
        .await?)
}

/// The most characters a moderation reason keeps.
pub const MAX_REASON_LENGTH: usize = 1000;

async fn record(
    database: &impl ConnectionTrait,
    group: &actor::Model,
    by: &actor::Model,
    action: Action,
    target_actor_id: Option<i64>,
    target_post_id: Option<i64>,
    reason: Option<&str>,
) -> Result<()> {
    let reason = reason
        .map(str::trim)
        .filter(|reason| !reason.is_empty())
        .map(|reason| reason.chars().take(MAX_REASON_LENGTH).collect::<String>());
    moderation_log::ActiveModel {
        group_id: Set(group.id),
        moderator_id: Set(by.id),
        action: Set(action.name().to_string()),
        target_actor_id: Set(target_actor_id),
        target_post_id: Set(target_post_id),
        reason: Set(reason),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(database)
    .await?;
    Ok(())
}
