//! A remote server Kindred has talked to, keyed by its host (with port when it has one), with
//! the health that delivery scheduling keeps: backoff after failures, dead after a long outage.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "instances")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub host: String,
    pub software: Option<String>,
    pub software_version: Option<String>,
    pub first_seen_at: DateTimeUtc,
    pub last_success_at: Option<DateTimeUtc>,
    pub failing_since: Option<DateTimeUtc>,
    pub dead_since: Option<DateTimeUtc>,
    pub blocked: bool,
    /// Failed attempts in a row; reset by a success.
    pub consecutive_failures: i32,
    /// While in the future, nothing is sent to this server (its backoff).
    pub retry_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
