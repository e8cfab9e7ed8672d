//! Moderating a post: remove or restore it, lock or unlock its thread, pin or unpin it, approve
//! it out of the pre-moderation queue. One entry for the thread page's buttons and the API's
//! `POST /posts/{id}/moderate/{action}`. The permission checks still live in the
//! `federation/activities/*::send_*` functions this calls (to be moved here).

use crate::{
    app::Context,
    error::{Error, Result},
    federation::activities::{add_or_remove, create_or_update, delete, lock, undo},
};
use kindred_entities::{actor, post};

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
        PostModeration::Remove => delete::send_removal(context, moderator, target, reason).await,
        PostModeration::Restore => undo::send_restore(context, moderator, target).await,
        PostModeration::Lock => lock::send_lock(context, moderator, target, true).await,
        PostModeration::Unlock => lock::send_lock(context, moderator, target, false).await,
        PostModeration::Pin => add_or_remove::send_pin(context, moderator, target, true).await,
        PostModeration::Unpin => add_or_remove::send_pin(context, moderator, target, false).await,
        PostModeration::Approve => {
            create_or_update::send_approval(context, moderator, target).await
        }
    }
}
