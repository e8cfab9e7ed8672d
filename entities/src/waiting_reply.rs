//! A reply a remote group announced whose parent this instance does not hold yet: kept, and
//! stored as a post once the parent arrives.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "waiting_replies")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub group_id: i64,
    #[sea_orm(unique)]
    pub ap_id: String,
    pub parent_ap_id: String,
    /// The reply as its origin served it (already verified).
    pub object_json: String,
    pub received_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
