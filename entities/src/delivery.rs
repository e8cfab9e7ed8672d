//! One outgoing activity on its way to one remote inbox, written when the first attempt of the
//! fan-out did not get through (to retry it), was refused, or waits for a dead server.

use sea_orm::entity::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum DeliveryState {
    /// Waiting for its `next_attempt_at`.
    #[sea_orm(string_value = "pending")]
    Pending,
    /// The inbox answered 2xx.
    #[sea_orm(string_value = "delivered")]
    Delivered,
    /// The inbox answered a final 4xx (not 408 or 429): retrying cannot change it.
    #[sea_orm(string_value = "rejected")]
    Rejected,
    /// Its server is marked dead: kept, not attempted, until a probe finds it answering again
    /// or an operator retries it.
    #[sea_orm(string_value = "parked")]
    Parked,
    /// Given up on after the retry window; visible to the operator and retryable.
    #[sea_orm(string_value = "abandoned")]
    Abandoned,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "deliveries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub activity_id: i64,
    pub inbox_url: String,
    /// Host (and port) of the inbox, so work can be scheduled per remote server.
    pub instance_host: String,
    pub state: DeliveryState,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    pub last_attempt_at: Option<DateTimeUtc>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    /// A worker owns the row until this time; after it, another worker may take it over.
    pub leased_until: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
    /// Deliveries with the same key to the same inbox are sent one after another, oldest first
    /// (the id of the post they concern: its Create before its Update). `None`: no order.
    pub ordering_key: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
