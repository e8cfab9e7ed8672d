//! Every inbound activity Kindred accepted, by its id and the SHA-256 of its body: a second
//! delivery of the same bytes has no effect, while an id re-used for different content (as
//! Takahe does for edits) is a new activity.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "received_activities")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub ap_id: String,
    /// Lower-case hex SHA-256 of the body as received; empty for rows from before digests.
    pub body_digest: String,
    pub actor_ap_id: String,
    pub kind: String,
    pub received_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
