//! Something a local person should see: a reply to their post, a post that mentions them, a
//! report in a group they moderate, a share of their post.

use sea_orm::entity::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum NotificationKind {
    #[sea_orm(string_value = "reply")]
    Reply,
    #[sea_orm(string_value = "mention")]
    Mention,
    /// A post in a group you moderate was reported.
    #[sea_orm(string_value = "report")]
    Report,
    /// Someone on another server shared (boosted) your post.
    #[sea_orm(string_value = "share")]
    Share,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notifications")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    pub kind: NotificationKind,
    /// The reply, the post with the mention, the reported or the shared post.
    pub post_id: i64,
    /// Who did it, where the post does not say (the sharer).
    pub actor_id: Option<i64>,
    pub created_at: DateTimeUtc,
    pub read_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
