//! Threads and replies in a group: storing a new one, editing, deleting (a tombstone stays),
//! and votes with their counts.

use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use kindred_entities::{actor, post, vote};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, QueryFilter, Statement,
    UpdateMany,
    sea_query::{Expr, ExprTrait, OnConflict},
};
use std::collections::HashMap;

/// The content of a post, already sanitised.
#[derive(Clone)]
pub struct PostContent {
    pub kind: String,
    pub title: Option<String>,
    pub content_html: String,
    pub source_markdown: Option<String>,
    pub url: Option<String>,
    pub sensitive: bool,
    /// A content warning: the post is shown folded behind it.
    pub content_warning: Option<String>,
    /// What it carries: stored with it; on an edit, `None` keeps what it had.
    pub attachments: Option<Vec<crate::groups::attachments::NewAttachment>>,
}

pub async fn find_by_ap_id(
    database: &impl ConnectionTrait,
    ap_id: &str,
) -> Result<Option<post::Model>> {
    Ok(crate::database::unique_row(
        post::Entity::find().filter(post::Column::ApId.eq(ap_id)),
        database,
    )
    .await?)
}

/// A post arriving in a group: its id, the post it answers, its content and when it was made.
pub struct NewPost<'a> {
    pub ap_id: &'a str,
    pub parent: Option<&'a post::Model>,
    pub content: PostContent,
    pub published_at: DateTime<Utc>,
    pub local: bool,
    /// The thread's `context` as a remote post names it (FEP-7888).
    pub context_url: Option<String>,
}

/// Stores a new post by `author` in `group`, as a reply to its parent when it has one, and
/// counts it on its thread.
pub async fn add_post(
    database: &impl ConnectionTrait,
    group: &actor::Model,
    author: &actor::Model,
    new_post: NewPost<'_>,
) -> Result<post::Model> {
    let now = Utc::now();
    let attachments = new_post.content.attachments.clone();
    let thread_id = thread_id_of_reply_to(new_post.parent);
    let stored = new_post_row(group, author, new_post, now)?
        .insert(database)
        .await?;
    if let Some(attachments) = &attachments {
        crate::groups::attachments::add(database, stored.id, attachments).await?;
    }
    if let Some(thread_id) = thread_id {
        reply_counted_on_thread(thread_id, now)
            .exec(database)
            .await?;
    }
    Ok(stored)
}

/// PostgreSQL only: the id a new post will be stored with, drawn from the posts' sequence
/// beforehand, so that what names the post by its id (the relay's thread `context`, its
/// notifications) can be written in the same statement as the post. A drawn id is never
/// handed out again, whether or not the post is stored.
pub async fn draw_post_id(database: &impl ConnectionTrait) -> Result<i64> {
    let row = database
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT nextval(pg_get_serial_sequence('posts', 'id')) AS id",
        ))
        .await?
        .ok_or_else(|| Error::internal("nextval returned no row"))?;
    Ok(row.try_get::<i64>("", "id")?)
}

/// The row of a new post by `author` in `group`, as `add_post` stores it (without its
/// attachments, and without counting it on its thread: see `reply_counted_on_thread`).
pub fn new_post_row(
    group: &actor::Model,
    author: &actor::Model,
    new_post: NewPost<'_>,
    now: DateTime<Utc>,
) -> Result<post::ActiveModel> {
    let NewPost {
        ap_id,
        parent,
        content,
        published_at,
        local,
        context_url,
    } = new_post;
    if let Some(parent) = parent
        && parent.group_id != group.id
    {
        return Err(Error::bad_request(
            "a reply must stay in the group of its thread",
        ));
    }
    let thread_id = thread_id_of_reply_to(parent);
    Ok(post::ActiveModel {
        ap_id: Set(ap_id.to_string()),
        group_id: Set(group.id),
        author_id: Set(author.id),
        parent_id: Set(parent.map(|parent| parent.id)),
        thread_id: Set(thread_id),
        kind: Set(content.kind),
        title: Set(content.title),
        search_text: Set(Some(crate::html::to_plain_text(&content.content_html))),
        content_html: Set(content.content_html),
        source_markdown: Set(content.source_markdown),
        url: Set(content.url),
        sensitive: Set(content.sensitive),
        local: Set(local),
        published_at: Set(published_at),
        updated_at: Set(None),
        deleted_at: Set(None),
        like_count: Set(0),
        dislike_count: Set(0),
        reply_count: Set(0),
        share_count: Set(0),
        last_activity_at: Set(now),
        created_at: Set(now),
        context_url: Set(context_url),
        content_warning: Set(content.content_warning),
        ..Default::default()
    })
}

/// The thread a reply to `parent` belongs to: the parent's thread, or the parent itself when it
/// starts one. `None` for a new thread.
pub fn thread_id_of_reply_to(parent: Option<&post::Model>) -> Option<i64> {
    parent.map(|parent| parent.thread_id.unwrap_or(parent.id))
}

/// Counts a new reply on its thread, and moves the thread's last activity to `now`.
pub fn reply_counted_on_thread(thread_id: i64, now: DateTime<Utc>) -> UpdateMany<post::Entity> {
    post::Entity::update_many()
        .col_expr(
            post::Column::ReplyCount,
            Expr::col(post::Column::ReplyCount).add(1),
        )
        .col_expr(post::Column::LastActivityAt, Expr::value(now))
        .filter(post::Column::Id.eq(thread_id))
}

/// Sets a thread's reply count from its replies that show: neither deleted, nor removed, nor
/// waiting for approval (as Lemmy counts them). Called whenever one of those changes.
pub async fn recount_replies(database: &impl ConnectionTrait, thread_id: i64) -> Result<()> {
    let showing = post::Entity::find()
        .filter(post::Column::ThreadId.eq(thread_id))
        .filter(post::Column::DeletedAt.is_null())
        .filter(post::Column::RemovedAt.is_null())
        .filter(post::Column::AwaitingApproval.eq(false))
        .count(database)
        .await? as i32;
    post::Entity::update_many()
        .col_expr(post::Column::ReplyCount, Expr::value(showing))
        .filter(post::Column::Id.eq(thread_id))
        .exec(database)
        .await?;
    Ok(())
}

/// Names a freshly stored local post by its final id (which contains its row id).
pub async fn assign_ap_id(
    database: &impl ConnectionTrait,
    stored: post::Model,
    ap_id: &str,
) -> Result<post::Model> {
    let mut update: post::ActiveModel = stored.into();
    update.ap_id = Set(ap_id.to_string());
    update.url = Set(Some(ap_id.to_string()));
    Ok(update.update(database).await?)
}

/// Replaces a post's content after an edit by its author.
pub async fn edit_post(
    database: &impl ConnectionTrait,
    existing: post::Model,
    content: PostContent,
    updated_at: DateTime<Utc>,
) -> Result<post::Model> {
    if existing.deleted_at.is_some() {
        return Err(Error::Gone("post".into()));
    }
    if let Some(attachments) = &content.attachments {
        crate::groups::attachments::replace(database, existing.id, attachments).await?;
    }
    let mut update: post::ActiveModel = existing.into();
    update.title = Set(content.title);
    update.search_text = Set(Some(crate::html::to_plain_text(&content.content_html)));
    update.content_html = Set(content.content_html);
    update.source_markdown = Set(content.source_markdown);
    update.url = Set(content.url);
    update.sensitive = Set(content.sensitive);
    update.content_warning = Set(content.content_warning);
    update.updated_at = Set(Some(updated_at));
    Ok(update.update(database).await?)
}

/// Deletes a post: the row stays as a tombstone so replies keep their place, and its content
/// is kept, hidden, until [`purge_deleted_content`] wipes it, so that its author can restore
/// it meanwhile ([`undelete_post`]).
pub async fn delete_post(
    database: &impl ConnectionTrait,
    existing: post::Model,
) -> Result<post::Model> {
    let mut update: post::ActiveModel = existing.into();
    update.deleted_at = Set(Some(Utc::now()));
    let deleted = update.update(database).await?;
    if let Some(thread_id) = deleted.thread_id {
        recount_replies(database, thread_id).await?;
    }
    Ok(deleted)
}

/// The author restores their deleted post, while its content is still kept. A post whose
/// content was purged is gone for good (410).
pub async fn undelete_post(
    database: &impl ConnectionTrait,
    deleted: post::Model,
) -> Result<post::Model> {
    if deleted.deleted_at.is_none() {
        return Ok(deleted);
    }
    if deleted.content_purged {
        return Err(Error::Gone("post".into()));
    }
    let mut update: post::ActiveModel = deleted.into();
    update.deleted_at = Set(None);
    let restored = update.update(database).await?;
    if let Some(thread_id) = restored.thread_id {
        recount_replies(database, thread_id).await?;
    }
    Ok(restored)
}

/// Wipes the content of posts deleted before `deleted_before`: after the grace period in which
/// their authors could restore them. Returns how many were purged.
pub async fn purge_deleted_content(
    database: &impl ConnectionTrait,
    deleted_before: DateTime<Utc>,
) -> Result<u64> {
    let purged = post::Entity::update_many()
        .col_expr(post::Column::Title, Expr::value(Option::<String>::None))
        .col_expr(post::Column::ContentHtml, Expr::value(String::new()))
        .col_expr(
            post::Column::SearchText,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            post::Column::SourceMarkdown,
            Expr::value(Option::<String>::None),
        )
        .col_expr(post::Column::Url, Expr::value(Option::<String>::None))
        .col_expr(post::Column::ContentPurged, Expr::value(true))
        .filter(post::Column::DeletedAt.lt(deleted_before))
        .filter(post::Column::ContentPurged.eq(false))
        .exec(database)
        .await?;
    Ok(purged.rows_affected)
}

/// Records `voter`'s like (+1) or dislike (-1) of `target`, replacing an earlier vote.
pub async fn set_vote(
    database: &impl ConnectionTrait,
    target: &post::Model,
    voter: &actor::Model,
    value: i16,
    activity_ap_id: &str,
) -> Result<()> {
    vote::Entity::insert(vote::ActiveModel {
        post_id: Set(target.id),
        actor_id: Set(voter.id),
        value: Set(value),
        activity_ap_id: Set(activity_ap_id.to_string()),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([vote::Column::PostId, vote::Column::ActorId])
            .update_columns([vote::Column::Value, vote::Column::ActivityApId])
            .to_owned(),
    )
    .exec_without_returning(database)
    .await?;
    recount_votes(database, target.id).await
}

/// Withdraws `voter`'s vote on `target`. Returns whether there was one.
pub async fn remove_vote(
    database: &impl ConnectionTrait,
    target: &post::Model,
    voter: &actor::Model,
) -> Result<bool> {
    let removed = vote::Entity::delete_many()
        .filter(vote::Column::PostId.eq(target.id))
        .filter(vote::Column::ActorId.eq(voter.id))
        .exec(database)
        .await?
        .rows_affected;
    recount_votes(database, target.id).await?;
    Ok(removed > 0)
}

/// Records that `sharer` shared (boosted) `shared` with the activity `activity_ap_id`: once
/// per person and post, whatever the number of Announces. Returns whether it is new.
pub async fn record_share(
    database: &impl ConnectionTrait,
    shared: &post::Model,
    sharer: &actor::Model,
    activity_ap_id: &str,
) -> Result<bool> {
    use kindred_entities::share;
    let inserted = share::Entity::insert(share::ActiveModel {
        post_id: Set(shared.id),
        actor_id: Set(sharer.id),
        activity_ap_id: Set(activity_ap_id.to_string()),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([share::Column::PostId, share::Column::ActorId])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(database)
    .await?;
    recount_shares(database, shared.id).await?;
    Ok(inserted > 0)
}

/// Takes back the share `activity_ap_id` made (its sharer's `Undo`). Returns whether there
/// was one.
pub async fn remove_share(
    database: &impl ConnectionTrait,
    activity_ap_id: &str,
    sharer: &actor::Model,
) -> Result<bool> {
    use kindred_entities::share;
    let Some(found) = share::Entity::find()
        .filter(share::Column::ActivityApId.eq(activity_ap_id))
        .filter(share::Column::ActorId.eq(sharer.id))
        .one(database)
        .await?
    else {
        return Ok(false);
    };
    share::Entity::delete_by_id(found.id).exec(database).await?;
    recount_shares(database, found.post_id).await?;
    Ok(true)
}

/// Whether `activity_ap_id` is a share recorded here.
pub async fn is_share(database: &impl ConnectionTrait, activity_ap_id: &str) -> Result<bool> {
    use kindred_entities::share;
    Ok(share::Entity::find()
        .filter(share::Column::ActivityApId.eq(activity_ap_id))
        .count(database)
        .await?
        > 0)
}

/// Sets the post's share count from its shares, so it can never drift.
async fn recount_shares(database: &impl ConnectionTrait, post_id: i64) -> Result<()> {
    use kindred_entities::share;
    let shares = share::Entity::find()
        .filter(share::Column::PostId.eq(post_id))
        .count(database)
        .await? as i32;
    post::Entity::update_many()
        .col_expr(post::Column::ShareCount, Expr::value(shares))
        .filter(post::Column::Id.eq(post_id))
        .exec(database)
        .await?;
    Ok(())
}

/// Sets the post's like and dislike counts from its votes, so they can never drift.
async fn recount_votes(database: &impl ConnectionTrait, post_id: i64) -> Result<()> {
    let count = |value: i16| {
        vote::Entity::find()
            .filter(vote::Column::PostId.eq(post_id))
            .filter(vote::Column::Value.eq(value))
            .count(database)
    };
    let likes = count(1).await? as i32;
    let dislikes = count(-1).await? as i32;
    post::Entity::update_many()
        .col_expr(post::Column::LikeCount, Expr::value(likes))
        .col_expr(post::Column::DislikeCount, Expr::value(dislikes))
        .filter(post::Column::Id.eq(post_id))
        .exec(database)
        .await?;
    Ok(())
}

/// How a group's threads are listed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThreadOrder {
    /// Newest first.
    #[default]
    New,
    /// Most recent reply first.
    Active,
    /// Highest score (likes minus dislikes) first.
    Top,
}

impl ThreadOrder {
    /// The order as a page's or the API's `sort` parameter names it.
    pub fn as_query_value(self) -> &'static str {
        match self {
            ThreadOrder::New => "new",
            ThreadOrder::Active => "active",
            ThreadOrder::Top => "top",
        }
    }
}

/// People on blocked servers: their posts are hidden.
pub(crate) fn authors_on_blocked_servers() -> sea_orm::sea_query::SelectStatement {
    use kindred_entities::instance;
    use sea_orm::sea_query::Query;
    Query::select()
        .column(actor::Column::Id)
        .from(actor::Entity)
        .and_where(
            actor::Column::InstanceId.in_subquery(
                Query::select()
                    .column(instance::Column::Id)
                    .from(instance::Entity)
                    .and_where(instance::Column::Blocked.eq(true))
                    .to_owned(),
            ),
        )
        .to_owned()
}

/// The posts `ids`, by id: one query.
pub async fn posts_by_id(
    database: &impl ConnectionTrait,
    ids: impl Iterator<Item = i64>,
) -> Result<std::collections::HashMap<i64, post::Model>> {
    let mut ids: Vec<i64> = ids.collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    Ok(post::Entity::find()
        .filter(post::Column::Id.is_in(ids))
        .all(database)
        .await?
        .into_iter()
        .map(|post| (post.id, post))
        .collect())
}

/// The longest thread title, in characters (Lemmy's limit).
pub const MAX_TITLE_LENGTH: usize = 200;
/// The longest body of a post, in characters of markdown.
pub const MAX_BODY_LENGTH: usize = 50_000;

/// The longest content warning a local post may have.
pub const MAX_CONTENT_WARNING_LENGTH: usize = 500;

/// What a local user wrote: a title for a thread (none for a reply), a markdown body, and
/// optionally a content warning and the pictures they uploaded for it.
#[derive(Clone, Debug, Default)]
pub struct Draft {
    pub title: Option<String>,
    pub markdown: String,
    /// Shown instead of the post until a reader opens it.
    pub content_warning: Option<String>,
    /// Their uploads, in order (`media::uploads`); on an edit, `None` keeps the pictures.
    pub picture_ids: Option<Vec<i64>>,
}

impl Draft {
    /// Checks the lengths and renders the body: a thread needs a title, a reply needs a body.
    /// Markdown may contain HTML; what it renders to is sanitised like any remote content.
    pub fn into_content(self, is_reply: bool) -> Result<PostContent> {
        let title = self
            .title
            .map(|title| title.trim().to_string())
            .filter(|title| !title.is_empty());
        let markdown = self.markdown.trim().to_string();
        match (&title, is_reply) {
            (None, false) => return Err(Error::invalid("a thread needs a title")),
            (Some(_), true) => return Err(Error::invalid("a reply has no title")),
            (Some(title), false) if title.chars().count() > MAX_TITLE_LENGTH => {
                return Err(Error::invalid(format!(
                    "a title has at most {MAX_TITLE_LENGTH} characters"
                )));
            }
            _ => {}
        }
        let has_pictures = self.picture_ids.as_ref().is_some_and(|ids| !ids.is_empty());
        if is_reply && markdown.is_empty() && !has_pictures {
            return Err(Error::invalid("a reply needs some text or a picture"));
        }
        let content_warning = self
            .content_warning
            .as_deref()
            .map(crate::html::plain_text_field)
            .filter(|warning| !warning.is_empty());
        if content_warning
            .as_ref()
            .is_some_and(|warning| warning.chars().count() > MAX_CONTENT_WARNING_LENGTH)
        {
            return Err(Error::invalid(format!(
                "a content warning has at most {MAX_CONTENT_WARNING_LENGTH} characters"
            )));
        }
        if markdown.chars().count() > MAX_BODY_LENGTH {
            return Err(Error::invalid(format!(
                "a post has at most {MAX_BODY_LENGTH} characters"
            )));
        }
        Ok(PostContent {
            kind: if is_reply { "Note" } else { "Page" }.to_string(),
            title,
            content_html: crate::html::markdown_to_html(&markdown),
            source_markdown: Some(markdown),
            url: None,
            sensitive: false,
            content_warning,
            // Resolved from `picture_ids` by the action, which knows who uploaded what.
            attachments: None,
        })
    }
}

/// Replies a thread page shows at most (whole branches are kept together, so a page may hold
/// more when one branch is longer).
pub const REPLIES_PER_PAGE: usize = 200;

/// One page of a thread: the thread, then replies in the order they nest.
pub struct ThreadPage {
    /// The thread first, then the page's replies, each after its parent.
    pub posts: Vec<post::Model>,
    /// Where the next page starts (the last top-level reply shown), when there is more.
    pub next: Option<String>,
}

/// The thread and a page of its replies: whole branches (a top-level reply with everything
/// under it), oldest branch first, until about `per_page` replies. `after` is the cursor the
/// previous page gave. Only ids and parents of the whole thread are read to cut the page; the
/// posts themselves are read for the page only, so a long thread's page costs about what a
/// short thread's does.
pub async fn thread_with_replies(
    database: &impl ConnectionTrait,
    thread: &post::Model,
    after: Option<i64>,
    per_page: usize,
) -> Result<ThreadPage> {
    let outline = thread_outline(database, thread).await?;
    let (page_ids, next) = page_of_branches(thread.id, &outline, after, per_page);
    let mut replies = if page_ids.is_empty() {
        Vec::new()
    } else {
        post::Entity::find()
            .filter(post::Column::Id.is_in(page_ids.iter().copied()))
            .all(database)
            .await?
    };
    let position: HashMap<i64, usize> = page_ids
        .iter()
        .enumerate()
        .map(|(index, id)| (*id, index))
        .collect();
    replies.sort_by_key(|reply| position.get(&reply.id).copied().unwrap_or(usize::MAX));
    replies.insert(0, thread.clone());
    Ok(ThreadPage {
        posts: replies,
        next: next.map(|id| id.to_string()),
    })
}

/// The cursor of the page of `thread` that shows `reply_id` (`None`: the first page), for
/// links to a reply deep in a long thread. The thread's tree is built once and its pages cut
/// in one pass.
pub async fn page_cursor_of_reply(
    database: &impl ConnectionTrait,
    thread: &post::Model,
    reply_id: i64,
    per_page: usize,
) -> Result<Option<String>> {
    let outline = thread_outline(database, thread).await?;
    Ok(page_cursor_in_outline(thread.id, &outline, reply_id, per_page).map(|id| id.to_string()))
}

/// From a thread's outline, the top-level reply after which the page showing `reply_id`
/// starts (`None`: the first page, or a reply the outline does not hold).
fn page_cursor_in_outline(
    thread_id: i64,
    outline: &[(i64, Option<i64>)],
    reply_id: i64,
    per_page: usize,
) -> Option<i64> {
    let branches = Branches::of(thread_id, outline);
    let mut start = 0;
    loop {
        let (ids, end) = branches.page_from(start, per_page);
        if ids.contains(&reply_id) {
            return start.checked_sub(1).map(|last| branches.top_level[last]);
        }
        if end == start || end >= branches.top_level.len() {
            return None;
        }
        start = end;
    }
}

/// Every shown reply of `thread` as (id, parent id), oldest first: the little a page needs
/// to be cut.
async fn thread_outline(
    database: &impl ConnectionTrait,
    thread: &post::Model,
) -> Result<Vec<(i64, Option<i64>)>> {
    use sea_orm::{QueryOrder, QuerySelect};
    Ok(post::Entity::find()
        .select_only()
        .column(post::Column::Id)
        .column(post::Column::ParentId)
        .filter(post::Column::ThreadId.eq(thread.id))
        .filter(post::Column::AwaitingApproval.eq(false))
        .filter(post::Column::AuthorId.not_in_subquery(authors_on_blocked_servers()))
        .order_by_asc(post::Column::PublishedAt)
        .order_by_asc(post::Column::Id)
        .into_tuple()
        .all(database)
        .await?)
}

/// From a thread's outline (reply id and parent id, oldest first), the ids of one page in
/// nesting order, and the top-level reply the next page starts after. A reply whose parent is
/// not in the outline hangs from the thread.
fn page_of_branches(
    thread_id: i64,
    outline: &[(i64, Option<i64>)],
    after: Option<i64>,
    per_page: usize,
) -> (Vec<i64>, Option<i64>) {
    let branches = Branches::of(thread_id, outline);
    let start = match after {
        Some(after) => branches
            .top_level
            .iter()
            .position(|id| *id == after)
            .map_or(branches.top_level.len(), |index| index + 1),
        None => 0,
    };
    let (page, end) = branches.page_from(start, per_page);
    let next = (end > start && end < branches.top_level.len()).then(|| branches.top_level[end - 1]);
    (page, next)
}

/// A thread's replies as a tree: its top-level replies, oldest first, and each reply's
/// replies.
struct Branches {
    top_level: Vec<i64>,
    children: HashMap<i64, Vec<i64>>,
}

impl Branches {
    fn of(thread_id: i64, outline: &[(i64, Option<i64>)]) -> Branches {
        let known: std::collections::HashSet<i64> = outline.iter().map(|(id, _)| *id).collect();
        let mut children: HashMap<i64, Vec<i64>> = HashMap::new();
        let mut top_level = Vec::new();
        for (id, parent) in outline {
            match parent.filter(|parent| *parent != thread_id && known.contains(parent)) {
                Some(parent) => children.entry(parent).or_default().push(*id),
                None => top_level.push(*id),
            }
        }
        Branches {
            top_level,
            children,
        }
    }

    /// The page that starts at the top-level reply `start` (an index): the ids, each reply
    /// before its own replies and siblings oldest first, whole branches until the page holds
    /// `per_page`; and the index of the first top-level reply it does not show.
    fn page_from(&self, start: usize, per_page: usize) -> (Vec<i64>, usize) {
        let mut page = Vec::new();
        let mut end = start.min(self.top_level.len());
        for root in self.top_level.iter().skip(start) {
            if page.len() >= per_page {
                break;
            }
            let mut stack = vec![*root];
            while let Some(id) = stack.pop() {
                page.push(id);
                if let Some(under) = self.children.get(&id) {
                    stack.extend(under.iter().rev());
                }
            }
            end += 1;
        }
        (page, end)
    }
}

/// The votes `voter` gave in a set of posts, as (post id, value).
pub async fn votes_by(
    database: &impl ConnectionTrait,
    voter_id: i64,
    post_ids: Vec<i64>,
) -> Result<Vec<(i64, i16)>> {
    use sea_orm::QuerySelect;
    Ok(vote::Entity::find()
        .select_only()
        .column(vote::Column::PostId)
        .column(vote::Column::Value)
        .filter(vote::Column::ActorId.eq(voter_id))
        .filter(vote::Column::PostId.is_in(post_ids))
        .into_tuple()
        .all(database)
        .await?)
}

/// The longest title a thread keeps; longer first lines are cut with an ellipsis.
pub const MAX_TITLE_CHARACTERS: usize = 200;

/// The first non-empty line of `content_html` as text, without mentions of the group. A
/// mention goes, the punctuation after it stays with the words before it ("Hello @grp, a
/// post" is "Hello, a post"); punctuation left dangling at the start goes too.
pub fn title_from_first_line(content_html: &str, group_name: &str) -> String {
    let with_line_breaks = content_html
        .replace("<br>", "\n")
        .replace("<br/>", "\n")
        .replace("<br />", "\n")
        .replace("</p>", "</p>\n");
    let text = crate::html::to_plain_text(&with_line_breaks);
    let short_mention = format!("@{}", group_name.to_lowercase());
    let full_mention = format!("{short_mention}@");
    for line in text.lines() {
        let mut cleaned = String::new();
        for word in line.split_whitespace() {
            let bare = word.trim_end_matches([',', ':', ';', '.', '!', '?']);
            let lowered = bare.to_lowercase();
            if lowered == short_mention || lowered.starts_with(&full_mention) {
                // The mention goes; what punctuated it stays where it was.
                cleaned.push_str(&word[bare.len()..]);
                continue;
            }
            if !cleaned.is_empty() {
                cleaned.push(' ');
            }
            cleaned.push_str(word);
        }
        let cleaned = cleaned
            .trim_start_matches([',', ':', ';', '-', '.', ' '])
            .trim();
        if !cleaned.is_empty() {
            return shorten_title(cleaned);
        }
    }
    "Untitled".to_string()
}

pub fn shorten_title(text: &str) -> String {
    if text.chars().count() <= MAX_TITLE_CHARACTERS {
        return text.to_string();
    }
    let mut short: String = text.chars().take(MAX_TITLE_CHARACTERS - 1).collect();
    short.push('…');
    short
}

#[cfg(test)]
mod draft_tests {
    use super::*;

    fn draft(title: Option<&str>, markdown: &str) -> Draft {
        Draft {
            title: title.map(str::to_string),
            markdown: markdown.to_string(),
            ..Default::default()
        }
    }

    #[test]
    fn drafts_are_checked_and_rendered_safely() {
        let thread = draft(Some(" Fixing a kettle "), "It *clicks*.<script>x</script>")
            .into_content(false)
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(thread.kind, "Page");
        assert_eq!(thread.title.as_deref(), Some("Fixing a kettle"));
        assert!(thread.content_html.contains("<em>clicks</em>"));
        assert!(!thread.content_html.contains("<script"));
        assert_eq!(
            thread.source_markdown.as_deref(),
            Some("It *clicks*.<script>x</script>")
        );
        let reply = draft(None, "Same here").into_content(true);
        assert!(reply.is_ok_and(|reply| reply.kind == "Note" && reply.title.is_none()));

        for (bad, is_reply) in [
            (draft(None, "no title"), false),
            (draft(Some("   "), "blank title"), false),
            (draft(Some(&"t".repeat(MAX_TITLE_LENGTH + 1)), ""), false),
            (draft(Some("a title"), "replies have none"), true),
            (draft(None, "  "), true),
            (draft(None, &"b".repeat(MAX_BODY_LENGTH + 1)), true),
        ] {
            assert!(
                matches!(bad.clone().into_content(is_reply), Err(Error::Invalid(_))),
                "{bad:?}"
            );
        }
    }
}

#[cfg(test)]
mod title_tests {
    use super::*;

    #[test]
    fn a_mastodon_note_is_titled_by_its_first_line_without_the_mention() {
        let content = r#"<p><span class="h-card"><a href="https://k.example/groups/repair" class="u-url mention">@<span>repair</span></a></span> Toaster fixed!<br>It was the fuse.</p>"#;
        assert_eq!(title_from_first_line(content, "repair"), "Toaster fixed!");
        let takahe = r#"<p>Hello <span class="h-card"><a href="https://fedi-tls.test/users/grp">@<span>grp</span></a></span>, a post from Takahe</p>"#;
        assert_eq!(
            title_from_first_line(takahe, "grp"),
            "Hello, a post from Takahe"
        );
        // As Mastodon writes a post that starts with the mention: the words and punctuation
        // of the title stay, the colon left dangling goes.
        let mastodon = r#"<p><span class="h-card"><a href="https://k.example/groups/circle" class="u-url mention">@<span>circle</span></a></span>: Hi, our kettle switch broke</p>"#;
        assert_eq!(
            title_from_first_line(mastodon, "circle"),
            "Hi, our kettle switch broke"
        );
        assert_eq!(
            title_from_first_line("<p>Ask @circle@k.example: why? Thanks.</p>", "circle"),
            "Ask: why? Thanks."
        );
        assert_eq!(
            title_from_first_line("<p>@repair@k.example</p>", "repair"),
            "Untitled"
        );
        let long = format!("<p>{}</p>", "word ".repeat(100));
        assert_eq!(
            title_from_first_line(&long, "repair").chars().count(),
            MAX_TITLE_CHARACTERS
        );
    }
}

/// What a local person wrote, newest first (their posts are made here, so in id order), as
/// their profile lists it: neither deleted, removed nor waiting for approval. At most
/// `limit`, with ids below `below` when given (a later page, `crate::paging`).
pub async fn recent_by_author(
    database: &impl ConnectionTrait,
    author_id: i64,
    below: Option<i64>,
    limit: u64,
) -> Result<Vec<post::Model>> {
    use sea_orm::{QueryOrder, QuerySelect};
    let mut written = post::Entity::find()
        .filter(post::Column::AuthorId.eq(author_id))
        .filter(post::Column::DeletedAt.is_null())
        .filter(post::Column::RemovedAt.is_null())
        .filter(post::Column::AwaitingApproval.eq(false));
    if let Some(below) = below {
        written = written.filter(post::Column::Id.lt(below));
    }
    Ok(written
        .order_by_desc(post::Column::Id)
        .limit(limit)
        .all(database)
        .await?)
}

#[cfg(test)]
mod thread_paging_tests {
    use super::*;

    #[test]
    fn a_page_holds_whole_branches_and_the_next_starts_after_its_last() {
        // Thread 1: replies 2, 5, 7 at the top; 3 and 4 under 2 (4 under 3); 6 under 5; 9's
        // parent is unknown, so it hangs from the thread.
        let outline = [
            (2, Some(1)),
            (3, Some(2)),
            (4, Some(3)),
            (5, Some(1)),
            (6, Some(5)),
            (7, Some(1)),
            (9, Some(100)),
        ];
        assert_eq!(
            page_of_branches(1, &outline, None, 100),
            (vec![2, 3, 4, 5, 6, 7, 9], None),
            "each reply after its parent, siblings oldest first"
        );
        // Three a page: 2's branch has three, so the page ends after it.
        assert_eq!(
            page_of_branches(1, &outline, None, 3),
            (vec![2, 3, 4], Some(2))
        );
        assert_eq!(
            page_of_branches(1, &outline, Some(2), 3),
            (vec![5, 6, 7], Some(7))
        );
        assert_eq!(page_of_branches(1, &outline, Some(7), 3), (vec![9], None));
        // A branch longer than a page is kept whole.
        assert_eq!(
            page_of_branches(1, &outline, None, 1),
            (vec![2, 3, 4], Some(2))
        );
        // A cursor that names no top-level reply gives an empty page, not the first again.
        assert_eq!(page_of_branches(1, &outline, Some(3), 3), (vec![], None));
        // The page a link to a reply opens: the one that shows it when the thread is read
        // page after page.
        for per_page in 1..=4 {
            let mut shown_after = HashMap::new();
            let mut after = None;
            loop {
                let (ids, next) = page_of_branches(1, &outline, after, per_page);
                for id in ids {
                    shown_after.insert(id, after);
                }
                match next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
            for (id, _) in &outline {
                assert_eq!(
                    page_cursor_in_outline(1, &outline, *id, per_page),
                    shown_after[id],
                    "reply {id}, {per_page} a page"
                );
            }
            assert_eq!(page_cursor_in_outline(1, &outline, 1000, per_page), None);
        }
    }
}
