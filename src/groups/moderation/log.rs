//! The public moderation log: every action, who took it and why; reasons and their lengths.

use super::*;

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

/// Actions kept out of the public log: who asked to join (the member list is private) and
/// which posts were reported.
pub(super) const PRIVATE_ACTIONS: [&str; 4] = [
    "approve_member",
    "refuse_member",
    "resolve_report",
    "dismiss_report",
];

/// The group's public moderation log, newest first: at most `limit`, with ids below `below`
/// when given (a later page, `crate::paging`).
pub async fn log_entries(
    database: &impl ConnectionTrait,
    group_id: i64,
    below: Option<i64>,
    limit: u64,
) -> Result<Vec<moderation_log::Model>> {
    let mut entries =
        moderation_log::Entity::find().filter(moderation_log::Column::GroupId.eq(group_id));
    if let Some(below) = below {
        entries = entries.filter(moderation_log::Column::Id.lt(below));
    }
    Ok(entries
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

pub(super) async fn record(
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
