//! What moderators and administrators do: remove or restore a post, lock, pin or approve it,
//! appoint and dismiss moderators, decide join requests, ban and lift bans, take reports, and
//! remove a local account or group. Each checks the permission, changes the state and enqueues
//! the activity in one transaction; `federation/activities` only builds and publishes.

use crate::{
    accounts::users,
    actions::lookups,
    context::Context,
    error::{Error, Result},
    federation::{
        activities::{
            add_or_remove::{self, ModeratorChange},
            block, create_or_update, delete, flag, follow, lock, undo,
        },
        delivery::wake_delivery_worker,
    },
    groups::{
        membership,
        moderation::{self, Ban, BanTarget},
    },
};
use kindred_entities::{actor, post};
use sea_orm::TransactionTrait;
use url::Url;

/// What a moderator does to a post, as the paths name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostModeration {
    Remove,
    Restore,
    Lock,
    Unlock,
    Pin,
    Unpin,
    Approve,
}

impl PostModeration {
    /// The action a path segment names (`remove`, `lock`, …), or 404.
    pub fn from_path(segment: &str) -> Result<PostModeration> {
        Ok(match segment {
            "remove" => PostModeration::Remove,
            "restore" => PostModeration::Restore,
            "lock" => PostModeration::Lock,
            "unlock" => PostModeration::Unlock,
            "pin" => PostModeration::Pin,
            "unpin" => PostModeration::Unpin,
            "approve" => PostModeration::Approve,
            _ => return Err(Error::not_found("moderation action")),
        })
    }
}

/// A moderator acts on `target`; `reason` goes with a removal (public, in the log and to other
/// servers). Returns the post as it is now.
pub async fn moderate_post(
    context: &Context,
    moderator: &actor::Model,
    target: post::Model,
    action: PostModeration,
    reason: Option<&str>,
) -> Result<post::Model> {
    match action {
        PostModeration::Remove => remove_post(context, moderator, target, reason).await,
        PostModeration::Restore => restore_post(context, moderator, target).await,
        PostModeration::Lock => lock_thread(context, moderator, target, true).await,
        PostModeration::Unlock => lock_thread(context, moderator, target, false).await,
        PostModeration::Pin => pin_thread(context, moderator, target, true).await,
        PostModeration::Unpin => pin_thread(context, moderator, target, false).await,
        PostModeration::Approve => approve_post(context, moderator, target).await,
    }
}

/// Refuses unless `person` moderates `group`: a local group by its roles, or as an instance
/// administrator; a remote group by the moderators collection its server serves (asked now).
pub async fn require_moderator(
    context: &Context,
    group: &actor::Model,
    person: &actor::Model,
) -> Result<()> {
    if !group.local {
        return if person.local
            && crate::federation::collections::is_remote_moderator(
                context,
                group,
                &Url::parse(&person.ap_id)?,
            )
            .await?
        {
            Ok(())
        } else {
            Err(Error::Forbidden(
                "only the group's moderators may do this".into(),
            ))
        };
    }
    let is_admin = users::find_by_actor_id(&context.db, person.id)
        .await?
        .is_some_and(|account| account.is_admin);
    moderation::require_moderator(&context.db, group, person.id, is_admin).await
}

/// Locks, pins and roles are kept by a group's own server.
fn require_local(group: &actor::Model) -> Result<()> {
    if group.local {
        Ok(())
    } else {
        Err(Error::bad_request(
            "this group is moderated on its own server",
        ))
    }
}

/// A moderator removes a post (restorable): hidden here, and the group relays the removal.
pub async fn remove_post(
    context: &Context,
    moderator: &actor::Model,
    target: post::Model,
    reason: Option<&str>,
) -> Result<post::Model> {
    moderation::check_reason_length(reason, moderation::MAX_REASON_LENGTH)?;
    let group = lookups::actor(&context.db, target.group_id, "group").await?;
    require_moderator(context, &group, moderator).await?;
    if target.deleted_at.is_some() {
        return Err(Error::Gone("post".into()));
    }
    let post_ap_id = target.ap_id.clone();
    let transaction = context.db.begin().await?;
    let removed =
        moderation::set_removed(&transaction, &group, target, true, moderator, reason).await?;
    delete::publish_removal(
        &transaction,
        context,
        moderator,
        &group,
        &post_ap_id,
        reason,
    )
    .await?;
    transaction.commit().await?;
    wake_delivery_worker(context);
    tracing::info!(post = %post_ap_id, moderator = %moderator.ap_id, "a post was removed by a moderator");
    Ok(removed)
}

/// A moderator restores a removed post: shown again here, and the group relays the undoing.
pub async fn restore_post(
    context: &Context,
    moderator: &actor::Model,
    target: post::Model,
) -> Result<post::Model> {
    let group = lookups::actor(&context.db, target.group_id, "group").await?;
    require_moderator(context, &group, moderator).await?;
    let post_ap_id = target.ap_id.clone();
    let transaction = context.db.begin().await?;
    let restored =
        moderation::set_removed(&transaction, &group, target, false, moderator, None).await?;
    undo::publish_restore(&transaction, context, moderator, &group, &post_ap_id).await?;
    transaction.commit().await?;
    wake_delivery_worker(context);
    Ok(restored)
}

/// A moderator locks (or unlocks) a thread of a local group: it takes no new replies.
pub async fn lock_thread(
    context: &Context,
    moderator: &actor::Model,
    thread: post::Model,
    locked: bool,
) -> Result<post::Model> {
    set_thread_flag(context, moderator, thread, ThreadFlag::Locked, locked).await
}

/// A moderator pins (or unpins) a thread of a local group to the top of its page.
pub async fn pin_thread(
    context: &Context,
    moderator: &actor::Model,
    thread: post::Model,
    pinned: bool,
) -> Result<post::Model> {
    set_thread_flag(context, moderator, thread, ThreadFlag::Pinned, pinned).await
}

/// What a moderator turns on or off on a thread, kept by the group's own server.
#[derive(Debug, Clone, Copy)]
enum ThreadFlag {
    Locked,
    Pinned,
}

async fn set_thread_flag(
    context: &Context,
    moderator: &actor::Model,
    thread: post::Model,
    flag: ThreadFlag,
    on: bool,
) -> Result<post::Model> {
    let group = lookups::actor(&context.db, thread.group_id, "group").await?;
    require_moderator(context, &group, moderator).await?;
    require_local(&group)?;
    let post_ap_id = thread.ap_id.clone();
    let transaction = context.db.begin().await?;
    let changed = match flag {
        ThreadFlag::Locked => {
            let changed =
                moderation::set_locked(&transaction, &group, thread, on, moderator).await?;
            lock::publish_lock(&transaction, context, moderator, &group, &post_ap_id, on).await?;
            changed
        }
        ThreadFlag::Pinned => {
            let changed =
                moderation::set_pinned(&transaction, &group, thread, on, moderator).await?;
            add_or_remove::publish_pin(&transaction, context, moderator, &group, &post_ap_id, on)
                .await?;
            changed
        }
    };
    transaction.commit().await?;
    wake_delivery_worker(context);
    Ok(changed)
}

/// A moderator approves a post waiting in a pre-moderated group: it shows, and goes out as if
/// it had just arrived.
pub async fn approve_post(
    context: &Context,
    moderator: &actor::Model,
    waiting: post::Model,
) -> Result<post::Model> {
    let group = lookups::actor(&context.db, waiting.group_id, "group").await?;
    require_moderator(context, &group, moderator).await?;
    let author = lookups::actor(&context.db, waiting.author_id, "author").await?;
    if waiting.removed_at.is_some() {
        return Err(Error::invalid(
            "a removed post cannot be approved; restore it first",
        ));
    }
    moderation::require_not_banned(&context.db, &group, &author).await?;
    let transaction = context.db.begin().await?;
    let (approved, held_activity) =
        moderation::approve_post(&transaction, &group, waiting, moderator).await?;
    create_or_update::publish_approval(
        &transaction,
        context,
        &group,
        &author,
        &approved,
        held_activity.as_ref(),
    )
    .await?;
    transaction.commit().await?;
    wake_delivery_worker(context);
    Ok(approved)
}

/// The owner (or an administrator) makes a member a moderator, or a moderator a member again.
pub async fn change_moderator(
    context: &Context,
    by: &actor::Model,
    group: &actor::Model,
    member: &actor::Model,
    change: ModeratorChange,
) -> Result<()> {
    require_local(group)?;
    let is_admin = users::find_by_actor_id(&context.db, by.id)
        .await?
        .is_some_and(|account| account.is_admin);
    if !is_admin && !membership::is_owner(&context.db, group.id, by.id).await? {
        return Err(Error::Forbidden(
            "only the group's owner appoints moderators".into(),
        ));
    }
    let transaction = context.db.begin().await?;
    moderation::set_moderator(
        &transaction,
        group,
        member,
        change == ModeratorChange::Appoint,
        by,
    )
    .await?;
    add_or_remove::publish_moderator_change(&transaction, context, by, group, member, change)
        .await?;
    transaction.commit().await?;
    wake_delivery_worker(context);
    Ok(())
}

/// What a moderator answers to a join request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinDecision {
    Approve,
    Refuse,
}

impl JoinDecision {
    /// The decision a path segment names (`approve` or `refuse`), or 404.
    pub fn from_path(segment: &str) -> Result<JoinDecision> {
        match segment {
            "approve" => Ok(JoinDecision::Approve),
            "refuse" => Ok(JoinDecision::Refuse),
            _ => Err(Error::not_found("decision")),
        }
    }
}

/// A moderator decides a join request: approved, the member is in (a remote one gets the
/// group's `Accept`); refused, the request ends (a remote one gets a `Reject`).
pub async fn decide_join_request(
    context: &Context,
    moderator: &actor::Model,
    group: &actor::Model,
    member: &actor::Model,
    decision: JoinDecision,
) -> Result<()> {
    require_moderator(context, group, moderator).await?;
    let approve = decision == JoinDecision::Approve;
    let transaction = context.db.begin().await?;
    let request =
        moderation::decide_request(&transaction, group, member, approve, moderator).await?;
    follow::publish_join_decision(
        &transaction,
        context,
        group,
        member,
        request.follow_activity_ap_id.as_deref(),
        approve,
    )
    .await?;
    transaction.commit().await?;
    wake_delivery_worker(context);
    Ok(())
}

/// A moderator bans a person or a whole server from `group`. A person's ban is federated
/// (announced, and sent to their server); a server's stays local, as there is no activity
/// for it.
pub async fn ban(
    context: &Context,
    moderator: &actor::Model,
    group: &actor::Model,
    target: BanTarget<'_>,
    decision: Ban<'_>,
) -> Result<()> {
    moderation::check_reason_length(decision.reason, moderation::MAX_REASON_LENGTH)?;
    require_moderator(context, group, moderator).await?;
    let person = match &target {
        BanTarget::Person(person) => Some((*person).clone()),
        BanTarget::Server(_) => None,
    };
    let transaction = context.db.begin().await?;
    moderation::ban(&transaction, group, target, decision, moderator).await?;
    if let Some(person) = &person {
        block::publish_ban(&transaction, context, moderator, group, person, &decision).await?;
    }
    transaction.commit().await?;
    wake_delivery_worker(context);
    Ok(())
}

/// A moderator lifts a ban; a person's server hears `Undo{Block}`.
pub async fn lift_ban(
    context: &Context,
    moderator: &actor::Model,
    group: &actor::Model,
    target: BanTarget<'_>,
) -> Result<()> {
    require_moderator(context, group, moderator).await?;
    let person = match &target {
        BanTarget::Person(person) => Some((*person).clone()),
        BanTarget::Server(_) => None,
    };
    let transaction = context.db.begin().await?;
    if !moderation::unban(&transaction, group, target, moderator).await? {
        return Err(Error::not_found("ban"));
    }
    if let Some(person) = &person {
        block::publish_unban(&transaction, context, moderator, group, person).await?;
    }
    transaction.commit().await?;
    wake_delivery_worker(context);
    Ok(())
}

/// Lifts the ban with this id, as the group's list of bans shows it.
pub async fn lift_ban_by_id(
    context: &Context,
    moderator: &actor::Model,
    group: &actor::Model,
    ban_id: i64,
) -> Result<()> {
    require_moderator(context, group, moderator).await?;
    let found = moderation::bans(&context.db, group.id)
        .await?
        .into_iter()
        .find(|ban| ban.id == ban_id)
        .ok_or_else(|| Error::not_found("ban"))?;
    match (found.actor_id, found.host) {
        (Some(actor_id), _) => {
            let person = lookups::actor(&context.db, actor_id, "person").await?;
            lift_ban(context, moderator, group, BanTarget::Person(&person)).await
        }
        (None, Some(host)) => lift_ban(context, moderator, group, BanTarget::Server(&host)).await,
        (None, None) => Err(Error::not_found("ban")),
    }
}

/// A local person reports a post to its group's moderators (kept here for a local group, a
/// `Flag` to a remote one); with `tell_author_server`, the author's server hears too.
pub async fn report_post(
    context: &Context,
    reporter: &actor::Model,
    target: &post::Model,
    reason: Option<&str>,
    tell_author_server: bool,
) -> Result<()> {
    moderation::check_reason_length(reason, moderation::MAX_REPORT_LENGTH)?;
    let group = lookups::actor(&context.db, target.group_id, "group").await?;
    let author = lookups::actor(&context.db, target.author_id, "author").await?;
    let reason: Option<String> = reason
        .map(str::trim)
        .filter(|reason| !reason.is_empty())
        .map(|reason| reason.chars().take(moderation::MAX_REPORT_LENGTH).collect());
    let transaction = context.db.begin().await?;
    if group.local {
        moderation::file_report(
            &transaction,
            &group,
            target,
            reporter,
            reason.as_deref(),
            None,
        )
        .await?;
    }
    flag::publish_report(
        &transaction,
        context,
        reporter,
        &group,
        &author,
        target,
        reason.as_deref(),
        tell_author_server,
    )
    .await?;
    transaction.commit().await?;
    wake_delivery_worker(context);
    Ok(())
}

/// What a moderator does with a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportClosing {
    /// Something was done about it.
    Resolve,
    /// Nothing needed doing.
    Dismiss,
}

impl ReportClosing {
    /// The closing a path segment names (`resolve` or `dismiss`), or 404.
    pub fn from_path(segment: &str) -> Result<ReportClosing> {
        match segment {
            "resolve" => Ok(ReportClosing::Resolve),
            "dismiss" => Ok(ReportClosing::Dismiss),
            _ => Err(Error::not_found("decision")),
        }
    }
}

/// A moderator of a local group closes one of its reports; it stays in the log.
pub async fn close_report(
    context: &Context,
    moderator: &actor::Model,
    group: &actor::Model,
    report_id: i64,
    closing: ReportClosing,
) -> Result<()> {
    require_moderator(context, group, moderator).await?;
    moderation::close_report(
        &context.db,
        group,
        report_id,
        closing == ReportClosing::Resolve,
        moderator,
    )
    .await?;
    Ok(())
}
