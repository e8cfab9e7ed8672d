//! A remote server Kindred has talked to, keyed by its host (with port when it has one), with
//! the health that delivery scheduling keeps (backoff after failures, dead after a long outage)
//! and the HTTP signature scheme it accepts.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "instances")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub host: String,
    /// NodeInfo's `software.name`, lower case: it decides what the server is sent.
    pub software: Option<String>,
    pub software_version: Option<String>,
    /// When the NodeInfo was last read (it is read again after a day).
    pub software_checked_at: Option<DateTimeUtc>,
    pub first_seen_at: DateTimeUtc,
    pub last_success_at: Option<DateTimeUtc>,
    pub failing_since: Option<DateTimeUtc>,
    pub dead_since: Option<DateTimeUtc>,
    pub blocked: bool,
    /// Failed attempts in a row; reset by a success.
    pub consecutive_failures: i32,
    /// While in the future, nothing is sent to this server (its backoff).
    pub retry_at: Option<DateTimeUtc>,
    /// The HTTP signature scheme the server accepted when the other was refused
    /// (`draft-cavage` or `rfc9421`); deliveries knock with it first. None: draft-cavage.
    pub signature_scheme: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
