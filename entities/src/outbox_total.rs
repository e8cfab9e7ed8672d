//! How many activities a local actor's outbox holds, kept in several rows per actor (shards)
//! whose sum is the total: each transaction that adds to an outbox raises one shard, so
//! concurrent posts to one group do not all wait for the same row's lock until they commit.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox_totals")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub actor_id: i64,
    /// Which of the actor's rows (0 to `SHARDS - 1` in `federation::outbox_totals`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub shard: i32,
    /// This row's part of the total.
    pub total: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
