//! Governing a local group: who moderates it, who may post, join requests, removing and
//! restoring posts, locking threads, and the public log of every such action.
//!
//! Like the rest of `groups/`, nothing here speaks ActivityPub: the federation side
//! (`federation/activities/`) calls these and sends what the change means to other servers.

use crate::error::{Error, Result};
use chrono::Utc;
use kindred_entities::{
    actor::{self, PostingMode},
    group_ban,
    membership::{self, MembershipRole, MembershipState},
    moderation_log, post,
    report::{self, ReportState},
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
    Ban,
    Unban,
    ResolveReport,
    DismissReport,
    PinThread,
    UnpinThread,
    ApprovePost,
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
            Action::Ban => "ban",
            Action::Unban => "unban",
            Action::ResolveReport => "resolve_report",
            Action::DismissReport => "dismiss_report",
            Action::PinThread => "pin_thread",
            Action::UnpinThread => "unpin_thread",
            Action::ApprovePost => "approve_post",
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
            "ban" => "banned",
            "unban" => "lifted the ban of",
            "resolve_report" => "resolved a report about",
            "dismiss_report" => "dismissed a report about",
            "pin_thread" => "pinned a thread",
            "unpin_thread" => "unpinned a thread",
            "approve_post" => "approved a post",
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

/// Who or what a ban is for.
pub enum BanTarget<'a> {
    Person(&'a actor::Model),
    /// Everyone on a server (host, with its port if it has one).
    Server(&'a str),
}

/// What a moderator decides when banning.
pub struct Ban<'a> {
    pub reason: Option<&'a str>,
    pub expires_at: Option<chrono::DateTime<Utc>>,
    /// Also remove everything the person (or server) posted in the group.
    pub remove_content: bool,
}

/// Bans a person or a server from a local group: their membership ends, their activities are
/// refused until the ban ends, and with `remove_content` their posts there are removed. A
/// group's moderators cannot be banned.
pub async fn ban(
    database: &impl ConnectionTrait,
    group: &actor::Model,
    target: BanTarget<'_>,
    decision: Ban<'_>,
    by: &actor::Model,
) -> Result<group_ban::Model> {
    let now = Utc::now();
    if decision.expires_at.is_some_and(|at| at <= now) {
        return Err(Error::invalid("a ban ends in the future"));
    }
    let reason = decision
        .reason
        .map(str::trim)
        .filter(|reason| !reason.is_empty())
        .map(|reason| reason.chars().take(MAX_REASON_LENGTH).collect::<String>());
    let (actor_id, host, banned_people) = match target {
        BanTarget::Person(person) => {
            if is_moderator(database, group.id, person.id).await? {
                return Err(Error::invalid(
                    "a moderator cannot be banned; dismiss them first",
                ));
            }
            (Some(person.id), None, vec![person.id])
        }
        BanTarget::Server(host) => {
            let host = crate::hosts::parse_host(host)
                .map_err(|_| Error::invalid("give a host name, like spam.example"))?;
            let people = people_on_server(database, &host).await?;
            (None, Some(host), people)
        }
    };
    lift_bans(database, group.id, actor_id, host.as_deref()).await?;
    let stored = group_ban::ActiveModel {
        group_id: Set(group.id),
        actor_id: Set(actor_id),
        host: Set(host),
        banned_by: Set(by.id),
        reason: Set(reason.clone()),
        expires_at: Set(decision.expires_at),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(database)
    .await?;
    membership::Entity::delete_many()
        .filter(membership::Column::GroupId.eq(group.id))
        .filter(membership::Column::MemberId.is_in(banned_people.clone()))
        .filter(membership::Column::Role.ne(MembershipRole::Owner))
        .exec(database)
        .await?;
    if decision.remove_content {
        post::Entity::update_many()
            .col_expr(
                post::Column::RemovedAt,
                sea_orm::sea_query::Expr::value(now),
            )
            .filter(post::Column::GroupId.eq(group.id))
            .filter(post::Column::AuthorId.is_in(banned_people))
            .filter(post::Column::RemovedAt.is_null())
            .exec(database)
            .await?;
    }
    record(
        database,
        group,
        by,
        Action::Ban,
        actor_id,
        None,
        reason.as_deref(),
    )
    .await?;
    Ok(stored)
}

/// Lifts a ban; returns whether there was one.
pub async fn unban(
    database: &impl ConnectionTrait,
    group: &actor::Model,
    target: BanTarget<'_>,
    by: &actor::Model,
) -> Result<bool> {
    let (actor_id, host) = match target {
        BanTarget::Person(person) => (Some(person.id), None),
        BanTarget::Server(host) => (
            None,
            Some(
                crate::hosts::parse_host(host)
                    .map_err(|_| Error::invalid("give a host name, like spam.example"))?,
            ),
        ),
    };
    let lifted = lift_bans(database, group.id, actor_id, host.as_deref()).await?;
    if lifted {
        record(
            database,
            group,
            by,
            Action::Unban,
            actor_id,
            None,
            host.as_deref(),
        )
        .await?;
    }
    Ok(lifted)
}

async fn lift_bans(
    database: &impl ConnectionTrait,
    group_id: i64,
    actor_id: Option<i64>,
    host: Option<&str>,
) -> Result<bool> {
    let mut query =
        group_ban::Entity::delete_many().filter(group_ban::Column::GroupId.eq(group_id));
    query = match (actor_id, host) {
        (Some(actor_id), _) => query.filter(group_ban::Column::ActorId.eq(actor_id)),
        (None, Some(host)) => query.filter(group_ban::Column::Host.eq(host)),
        (None, None) => return Ok(false),
    };
    Ok(query.exec(database).await?.rows_affected > 0)
}

/// The bans that apply to `person` in the group now (of them, or of their server).
fn active_bans_of(group_id: i64, person: &actor::Model) -> sea_orm::Select<group_ban::Entity> {
    let mut target = sea_orm::Condition::any().add(group_ban::Column::ActorId.eq(person.id));
    if !person.local {
        target = target
            .add(group_ban::Column::Host.eq(crate::groups::directory::host_of_id(&person.ap_id)));
    }
    group_ban::Entity::find()
        .filter(group_ban::Column::GroupId.eq(group_id))
        .filter(target)
        .filter(
            sea_orm::Condition::any()
                .add(group_ban::Column::ExpiresAt.is_null())
                .add(group_ban::Column::ExpiresAt.gt(Utc::now())),
        )
}

/// The ban that applies to `person` in the group now (of them, or of their server), if any.
pub async fn active_ban(
    database: &impl ConnectionTrait,
    group_id: i64,
    person: &actor::Model,
) -> Result<Option<group_ban::Model>> {
    Ok(crate::database::unique_row(active_bans_of(group_id, person), database).await?)
}

/// Where someone stands in a group, read in one query: an accepted member, and banned now.
pub struct Standing {
    pub member: bool,
    pub banned: bool,
}

/// `person`'s standing in the group (one statement: posting checks run for every activity
/// an inbox takes).
pub async fn standing(
    database: &impl ConnectionTrait,
    group_id: i64,
    person: &actor::Model,
) -> Result<Standing> {
    use sea_orm::{
        QueryTrait,
        sea_query::{Expr, Query},
    };
    let membership = membership::Entity::find()
        .select_only()
        .column(membership::Column::Id)
        .filter(membership::Column::GroupId.eq(group_id))
        .filter(membership::Column::MemberId.eq(person.id))
        .filter(membership::Column::State.eq(MembershipState::Accepted))
        .into_query();
    let bans = active_bans_of(group_id, person)
        .select_only()
        .column(group_ban::Column::Id)
        .into_query();
    let query = Query::select()
        .expr_as(Expr::exists(membership), "member")
        .expr_as(Expr::exists(bans), "banned")
        .to_owned();
    let row = database
        .query_one_raw(database.get_database_backend().build(&query))
        .await?
        .ok_or_else(|| Error::internal("a SELECT without FROM returned no row"))?;
    Ok(Standing {
        member: row.try_get("", "member")?,
        banned: row.try_get("", "banned")?,
    })
}

/// Refuses (403) a person banned from the group.
pub async fn require_not_banned(
    database: &impl ConnectionTrait,
    group: &actor::Model,
    person: &actor::Model,
) -> Result<()> {
    match active_ban(database, group.id, person).await? {
        None => Ok(()),
        Some(ban) => Err(Error::Forbidden(match ban.expires_at {
            Some(until) => format!(
                "you are banned from this group until {}",
                until.format("%Y-%m-%d %H:%M UTC")
            ),
            None => "you are banned from this group".to_string(),
        })),
    }
}

/// The group's bans in force, newest first.
pub async fn bans(database: &impl ConnectionTrait, group_id: i64) -> Result<Vec<group_ban::Model>> {
    Ok(group_ban::Entity::find()
        .filter(group_ban::Column::GroupId.eq(group_id))
        .filter(
            sea_orm::Condition::any()
                .add(group_ban::Column::ExpiresAt.is_null())
                .add(group_ban::Column::ExpiresAt.gt(Utc::now())),
        )
        .order_by_desc(group_ban::Column::Id)
        .all(database)
        .await?)
}

/// Actors whose id is on `host`.
async fn people_on_server(database: &impl ConnectionTrait, host: &str) -> Result<Vec<i64>> {
    use kindred_entities::instance;
    let ids: Vec<i64> = actor::Entity::find()
        .select_only()
        .column(actor::Column::Id)
        .filter(
            actor::Column::InstanceId.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(instance::Column::Id)
                    .from(instance::Entity)
                    .and_where(instance::Column::Host.eq(host))
                    .to_owned(),
            ),
        )
        .into_tuple()
        .all(database)
        .await?;
    Ok(ids)
}

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
    Ok(update.update(database).await?)
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

/// Actions kept out of the public log: who asked to join (the member list is private) and
/// which posts were reported.
const PRIVATE_ACTIONS: [&str; 4] = [
    "approve_member",
    "refuse_member",
    "resolve_report",
    "dismiss_report",
];

/// The group's public moderation log, newest first.
pub async fn log_entries(
    database: &impl ConnectionTrait,
    group_id: i64,
    limit: u64,
) -> Result<Vec<moderation_log::Model>> {
    Ok(moderation_log::Entity::find()
        .filter(moderation_log::Column::GroupId.eq(group_id))
        .filter(moderation_log::Column::Action.is_not_in(PRIVATE_ACTIONS))
        .order_by_desc(moderation_log::Column::Id)
        .limit(limit)
        .all(database)
        .await?)
}

/// The most characters a moderation reason keeps.
pub const MAX_REASON_LENGTH: usize = 1000;

/// Refuses (422) a reason a person typed that is longer than `most` characters: the API
/// declares these lengths, and a person should hear that their text was too long rather than
/// find it cut. (Reasons from other servers are cut to fit instead: refusing them would lose
/// the report or the ban.)
pub fn check_reason_length(reason: Option<&str>, most: usize) -> Result<()> {
    match reason {
        Some(reason) if reason.trim().chars().count() > most => Err(Error::invalid(format!(
            "a reason has at most {most} characters"
        ))),
        _ => Ok(()),
    }
}

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

/// The longest reason a report keeps.
pub const MAX_REPORT_LENGTH: usize = 2000;

/// Files a report about `target` (in `group`) by `reporter`, and notifies the group's local
/// moderators. A repeated `flag_ap_id` files nothing new.
pub async fn file_report(
    database: &impl ConnectionTrait,
    group: &actor::Model,
    target: &post::Model,
    reporter: &actor::Model,
    reason: Option<&str>,
    flag_ap_id: Option<&str>,
) -> Result<report::Model> {
    if target.group_id != group.id {
        return Err(Error::not_found("post in this group"));
    }
    if let Some(flag_ap_id) = flag_ap_id
        && let Some(existing) = report::Entity::find()
            .filter(report::Column::FlagApId.eq(flag_ap_id))
            .one(database)
            .await?
    {
        return Ok(existing);
    }
    let reason = reason
        .map(str::trim)
        .filter(|reason| !reason.is_empty())
        .map(|reason| reason.chars().take(MAX_REPORT_LENGTH).collect::<String>());
    let now = Utc::now();
    let filed = report::ActiveModel {
        group_id: Set(group.id),
        post_id: Set(target.id),
        reporter_id: Set(reporter.id),
        reason: Set(reason),
        flag_ap_id: Set(flag_ap_id.map(str::to_string)),
        state: Set(ReportState::Open),
        resolved_by: Set(None),
        created_at: Set(now),
        resolved_at: Set(None),
        ..Default::default()
    }
    .insert(database)
    .await?;
    // Every local moderator hears of it.
    let local_moderators: Vec<i64> = moderators(database, group.id)
        .await?
        .into_iter()
        .filter(|(_, person)| person.local)
        .map(|(_, person)| person.id)
        .collect();
    let accounts: Vec<i64> = kindred_entities::user::Entity::find()
        .select_only()
        .column(kindred_entities::user::Column::Id)
        .filter(kindred_entities::user::Column::ActorId.is_in(local_moderators))
        .into_tuple()
        .all(database)
        .await?;
    if !accounts.is_empty() {
        use kindred_entities::notification::{self, NotificationKind};
        notification::Entity::insert_many(accounts.into_iter().map(|user_id| {
            notification::ActiveModel {
                user_id: Set(user_id),
                kind: Set(NotificationKind::Report),
                post_id: Set(target.id),
                created_at: Set(now),
                read_at: Set(None),
                ..Default::default()
            }
        }))
        .on_conflict(
            sea_orm::sea_query::OnConflict::columns([
                notification::Column::UserId,
                notification::Column::PostId,
                notification::Column::Kind,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(database)
        .await?;
    }
    Ok(filed)
}

/// A group's reports, open ones first, newest first.
pub async fn reports(
    database: &impl ConnectionTrait,
    group_id: i64,
    open_only: bool,
) -> Result<Vec<report::Model>> {
    let mut query = report::Entity::find().filter(report::Column::GroupId.eq(group_id));
    if open_only {
        query = query.filter(report::Column::State.eq(ReportState::Open));
    }
    Ok(query
        .order_by_desc(report::Column::Id)
        .limit(500)
        .all(database)
        .await?)
}

/// Closes a report as resolved or dismissed.
pub async fn close_report(
    database: &impl ConnectionTrait,
    group: &actor::Model,
    report_id: i64,
    resolved: bool,
    by: &actor::Model,
) -> Result<report::Model> {
    let found = report::Entity::find_by_id(report_id)
        .filter(report::Column::GroupId.eq(group.id))
        .one(database)
        .await?
        .ok_or_else(|| Error::not_found("report"))?;
    let post_id = found.post_id;
    let mut update: report::ActiveModel = found.into();
    update.state = Set(if resolved {
        ReportState::Resolved
    } else {
        ReportState::Dismissed
    });
    update.resolved_by = Set(Some(by.id));
    update.resolved_at = Set(Some(Utc::now()));
    let closed = update.update(database).await?;
    let action = if resolved {
        Action::ResolveReport
    } else {
        Action::DismissReport
    };
    record(database, group, by, action, None, Some(post_id), None).await?;
    Ok(closed)
}
