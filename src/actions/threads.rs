//! Seeing a thread: the one query behind the thread page and the API's thread, so that both
//! show the same posts to the same people.

use crate::{
    accounts::sessions::SignedIn,
    actions::lookups,
    context::Context,
    error::{Error, Result},
    groups::{membership, moderation, posts},
};
use kindred_entities::{
    actor, post,
    thread_backfill::{self, BackfillOutcome, BackfillState},
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use std::collections::HashMap;

/// A thread as `viewer` may see it.
pub struct ThreadView {
    pub group: actor::Model,
    pub thread: post::Model,
    /// The thread, then one page of replies, each after its parent (a reply's `parent_id`
    /// gives the nesting).
    pub posts: Vec<post::Model>,
    /// The cursor of the next page of replies, when there is one.
    pub next_replies: Option<String>,
    /// The authors of `posts`, by id.
    pub authors: HashMap<i64, actor::Model>,
    /// The viewer's votes on `posts`, by post id.
    pub my_votes: HashMap<i64, i16>,
    /// Whether the viewer moderates the group: they see what was removed, and the buttons.
    pub moderating: bool,
    /// For a thread of a remote group, how whole it is here; `None` for local groups' threads
    /// (always whole) and remote ones never filled in.
    pub completeness: Option<Completeness>,
    /// What the posts carry (pictures, links…), by post id.
    pub attachments: HashMap<i64, Vec<kindred_entities::post_attachment::Model>>,
}

/// How whole a remote group's thread is here, from its latest backfill.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Completeness {
    /// Its replies are being fetched from the servers that hold them.
    FillingIn,
    /// Filled in from the thread's collections; `stopped_by` names the bound that cut the last
    /// run short, if one did.
    FilledIn {
        finished_at: chrono::DateTime<chrono::Utc>,
        stopped_by: Option<String>,
    },
    /// The thread's server lists no replies (Lemmy 0.19 and others): only what was announced
    /// to this server is here.
    NotListed,
    /// The thread's server could not be reached.
    Unreachable,
}

impl Completeness {
    fn of(backfill: &thread_backfill::Model) -> Completeness {
        match (backfill.state, backfill.outcome) {
            (BackfillState::Pending | BackfillState::Running, _) => Completeness::FillingIn,
            (BackfillState::Done, Some(BackfillOutcome::Context | BackfillOutcome::Replies)) => {
                Completeness::FilledIn {
                    finished_at: backfill.finished_at.unwrap_or(backfill.requested_at),
                    stopped_by: backfill.stopped_by.clone(),
                }
            }
            (BackfillState::Done, Some(BackfillOutcome::Unreachable)) => Completeness::Unreachable,
            (BackfillState::Done, _) => Completeness::NotListed,
        }
    }
}

/// A signed-in person asks for a remote group's thread to be fetched again from the servers
/// that hold it: the worker does it, at most once per `backfill.refresh_after` per thread.
pub async fn refresh_thread(context: &Context, thread: &post::Model) -> Result<()> {
    if thread.parent_id.is_some() {
        return Err(Error::bad_request("only a whole thread is refreshed"));
    }
    crate::federation::backfill::request_refresh(context, thread).await
}

/// The thread `thread` with a page of its replies (`replies_after`: the cursor a page gave;
/// `per_page`: about how many), authors and the viewer's votes. A thread waiting for approval
/// is shown only to its author and the group's moderators (404 to everyone else).
pub async fn thread_view(
    context: &Context,
    thread: post::Model,
    viewer: Option<&SignedIn>,
    replies_after: Option<&str>,
    per_page: usize,
) -> Result<ThreadView> {
    let replies_after = crate::paging::parse_id_cursor(replies_after)?;
    let group = lookups::actor(&context.db, thread.group_id, "group").await?;
    if thread.awaiting_approval {
        let allowed = match viewer {
            Some(viewer) => {
                moderation::may_see_held(
                    &context.db,
                    &group,
                    &thread,
                    viewer.account.actor.id,
                    viewer.account.user.is_admin,
                )
                .await?
            }
            None => false,
        };
        if !allowed {
            return Err(Error::not_found("post"));
        }
    }
    let posts::ThreadPage {
        posts: all,
        next: next_replies,
    } = posts::thread_with_replies(&context.read_db, &thread, replies_after, per_page).await?;
    let (authors, my_votes) = authors_and_votes(context, &all, viewer).await?;
    let moderating = match viewer {
        Some(viewer) => moderates(context, &group, viewer).await?,
        None => false,
    };
    let completeness = if group.local {
        None
    } else {
        crate::federation::backfill::status_of_thread(&context.read_db, &thread)
            .await?
            .map(|backfill| Completeness::of(&backfill))
    };
    let attachments = crate::groups::attachments::of_posts(
        &context.read_db,
        all.iter().map(|post| post.id).collect(),
    )
    .await?;
    // The viewer has read it as it is now: lists stop saying it has new replies.
    if let Some(viewer) = viewer {
        crate::accounts::thread_reads::mark_read(&context.db, viewer.account.user.id, &thread)
            .await?;
    }
    Ok(ThreadView {
        attachments,
        group,
        thread,
        posts: all,
        next_replies,
        authors,
        my_votes,
        moderating,
        completeness,
    })
}

/// The authors of `listed` by id, and the viewer's votes on them by post id: two queries,
/// for a thread or a list of threads.
pub async fn authors_and_votes(
    context: &Context,
    listed: &[post::Model],
    viewer: Option<&SignedIn>,
) -> Result<(HashMap<i64, actor::Model>, HashMap<i64, i16>)> {
    let mut author_ids: Vec<i64> = listed.iter().map(|post| post.author_id).collect();
    author_ids.sort_unstable();
    author_ids.dedup();
    let authors = actor::Entity::find()
        .filter(actor::Column::Id.is_in(author_ids))
        .all(&context.db)
        .await?
        .into_iter()
        .map(|author| (author.id, author))
        .collect();
    let votes = match viewer {
        Some(viewer) => posts::votes_by(
            &context.db,
            viewer.account.actor.id,
            listed.iter().map(|post| post.id).collect(),
        )
        .await?
        .into_iter()
        .collect(),
        None => HashMap::new(),
    };
    Ok((authors, votes))
}

/// Whether `viewer` moderates `group`: an administrator or a moderator here for a local group;
/// for a remote group, what its server says (asked at most once a minute, and only for its
/// members here).
async fn moderates(context: &Context, group: &actor::Model, viewer: &SignedIn) -> Result<bool> {
    if group.local {
        return Ok(viewer.account.user.is_admin
            || moderation::is_moderator(&context.db, group.id, viewer.account.actor.id).await?);
    }
    if !membership::is_member(&context.db, group.id, viewer.account.actor.id).await? {
        return Ok(false);
    }
    crate::federation::collections::is_remote_moderator_for_display(
        context,
        group,
        &url::Url::parse(&viewer.account.actor.ap_id)?,
    )
    .await
}
