//! A backfill of a remote thread: a durable job the worker runs to fetch the replies this
//! instance missed, with what it found.

use sea_orm::entity::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum BackfillState {
    /// Waiting for the worker (from `next_attempt_at`).
    #[sea_orm(string_value = "pending")]
    Pending,
    /// Claimed by a worker until `lease_until`.
    #[sea_orm(string_value = "running")]
    Running,
    /// Finished: `outcome` says what the thread's servers offered.
    #[sea_orm(string_value = "done")]
    Done,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum BackfillOutcome {
    /// The thread's `context` resolved to a collection, which was read (FEP-f228).
    #[sea_orm(string_value = "context")]
    Context,
    /// No context collection: `inReplyTo` was walked up and `replies` down.
    #[sea_orm(string_value = "replies")]
    Replies,
    /// The thread's server serves neither (Lemmy 0.19): what it announced is all there is.
    #[sea_orm(string_value = "neither")]
    Neither,
    /// The thread's server could not be reached, after every attempt.
    #[sea_orm(string_value = "unreachable")]
    Unreachable,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "thread_backfills")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The remote group the thread is in.
    pub group_id: i64,
    /// Where the crawl starts: the thread's id, or a reply's whose parent is not held.
    #[sea_orm(unique)]
    pub start_ap_id: String,
    /// The thread, once it is held here.
    pub thread_id: Option<i64>,
    pub state: BackfillState,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    pub lease_until: Option<DateTimeUtc>,
    /// When it was last asked for (a new thread, an orphan reply, a person's refresh).
    pub requested_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
    pub outcome: Option<BackfillOutcome>,
    /// The bound that ended the last run early, if one did: posts, depth, time, requests.
    pub stopped_by: Option<String>,
    pub posts_added: i32,
    pub requests_made: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
