//! An activity a local actor sent (Accept, Announce, Create, …), kept as the exact JSON that is
//! signed and delivered, listed in the actor's outbox when `in_outbox` is set, and fanned out to
//! its target inboxes by the delivery worker.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "activities")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub ap_id: String,
    /// The local actor that sends (and signs) this activity.
    pub actor_id: i64,
    pub kind: String,
    /// The id of the object or activity this one is about, when it has one.
    pub object_ap_id: Option<String>,
    /// The activity exactly as it goes on the wire.
    #[sea_orm(column_type = "Text")]
    pub json: String,
    pub in_outbox: bool,
    pub created_at: DateTimeUtc,
    /// Activities with the same key reach each inbox in order (the id of the post they
    /// concern); `None`: no order.
    pub ordering_key: Option<String>,
    /// The inboxes to send it to, as a JSON array of URLs (sorted, distinct, remote only).
    #[sea_orm(column_type = "Text", nullable)]
    pub targets: Option<String>,
    /// True until every target has been attempted once.
    pub fanout_pending: bool,
    /// How many targets (in order) have been attempted: a restarted fan-out resumes there.
    pub fanout_progress: i32,
    /// A worker owns the fan-out until this time.
    pub fanout_leased_until: Option<DateTimeUtc>,
    /// The targets past `fanout_progress` that already have their outcome, as of the last
    /// checkpoint: a bit per target index, as base64 (a restart skips them).
    #[sea_orm(column_type = "Text", nullable)]
    pub fanout_done: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
