//! One moderation action in a group, as shown in its public moderation log.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "moderation_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub group_id: i64,
    /// The person who acted.
    pub moderator_id: i64,
    /// What was done: `remove_post`, `restore_post`, `lock_thread`, `unlock_thread`,
    /// `approve_member`, `refuse_member`, `appoint_moderator`, `dismiss_moderator`,
    /// `posting_mode`.
    pub action: String,
    pub target_actor_id: Option<i64>,
    pub target_post_id: Option<i64>,
    pub reason: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
