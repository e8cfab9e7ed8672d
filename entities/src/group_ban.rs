//! A ban from a local group: of one person (`actor_id`) or of a whole server (`host`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "group_bans")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub group_id: i64,
    pub actor_id: Option<i64>,
    /// Everyone on this server (host, with its port if it has one).
    pub host: Option<String>,
    /// The moderator who banned.
    pub banned_by: i64,
    pub reason: Option<String>,
    /// `None`: until lifted.
    pub expires_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
