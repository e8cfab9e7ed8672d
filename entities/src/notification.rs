//! Something a local person should see: a reply to their post, or a post that mentions them.

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
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notifications")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    pub kind: NotificationKind,
    /// The reply, the post with the mention, or the reported post.
    pub post_id: i64,
    pub created_at: DateTimeUtc,
    pub read_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
