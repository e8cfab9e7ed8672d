//! One actor's like (+1) or dislike (-1) on one post.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "votes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub post_id: i64,
    pub actor_id: i64,
    /// +1 for a Like, -1 for a Dislike.
    pub value: i16,
    /// The id of the Like or Dislike activity, which an `Undo` names.
    pub activity_ap_id: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
