//! One sample of federation health: what the delivery worker did since the sample before, and
//! the queue as it stood, taken every few minutes for the admin charts.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "federation_health_samples")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub sampled_at: DateTimeUtc,
    /// Deliveries that reached their inbox since the sample before.
    pub delivered: i64,
    /// Attempts that failed (to be retried, or given up on) since the sample before.
    pub failed: i64,
    /// Deliveries an inbox refused for good, or that were not sent (blocked, internal address).
    pub refused: i64,
    /// Deliveries waiting: retries due, parked ones, and fan-out targets not yet reached.
    pub queue_depth: i64,
    /// Servers with recent failures, and servers marked dead.
    pub failing_servers: i64,
    pub dead_servers: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
