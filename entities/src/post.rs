//! A thread (top-level post) or a reply in a group, local or remote.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "posts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub ap_id: String,
    pub group_id: i64,
    pub author_id: i64,
    /// The post this one answers; `None` for a thread.
    pub parent_id: Option<i64>,
    /// The thread (top-level post) this reply belongs to; `None` for a thread.
    pub thread_id: Option<i64>,
    /// The ActivityStreams object type as received or sent: Page, Note, Article, Question.
    pub kind: String,
    pub title: Option<String>,
    /// Sanitised HTML, safe to show.
    pub content_html: String,
    pub source_markdown: Option<String>,
    pub url: Option<String>,
    pub sensitive: bool,
    pub local: bool,
    pub published_at: DateTimeUtc,
    pub updated_at: Option<DateTimeUtc>,
    /// Set when the author deleted the post; the row stays as a tombstone.
    pub deleted_at: Option<DateTimeUtc>,
    pub like_count: i32,
    pub dislike_count: i32,
    pub reply_count: i32,
    /// How many people on other servers shared (boosted) it.
    pub share_count: i32,
    /// A deleted post's content is wiped after a grace period (`instance.
    /// deleted_content_kept_days`); until then its author can restore it.
    pub content_purged: bool,
    pub last_activity_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    /// Set when a moderator removed the post; a moderator can restore it.
    pub removed_at: Option<DateTimeUtc>,
    /// A locked thread takes no new replies.
    pub locked: bool,
    /// When a moderator pinned the thread (shown first, in the featured collection).
    pub pinned_at: Option<DateTimeUtc>,
    /// In a pre-moderated group: hidden until a moderator approves it.
    pub awaiting_approval: bool,
    /// The activity that brought a waiting post, relayed when it is approved.
    pub pending_activity: Option<String>,
    /// The thread's `context` as a remote post named it (FEP-7888), which replies written
    /// here name too; `None` for local groups' posts, whose context Kindred serves.
    pub context_url: Option<String>,
    /// A content warning (`summary`): the post is shown folded behind it.
    pub content_warning: Option<String>,
    /// The text without its markup, for full-text search (indexed by FTS5 on SQLite, a
    /// generated `tsvector` on PostgreSQL).
    pub search_text: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
