//! A report to a group's moderators about a post, from someone here or a remote `Flag`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum ReportState {
    #[sea_orm(string_value = "open")]
    Open,
    /// A moderator acted on it.
    #[sea_orm(string_value = "resolved")]
    Resolved,
    /// A moderator found nothing to do.
    #[sea_orm(string_value = "dismissed")]
    Dismissed,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reports")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub group_id: i64,
    pub post_id: i64,
    /// Who reported (a local person, a remote person, or a remote instance actor).
    pub reporter_id: i64,
    pub reason: Option<String>,
    /// The id of the `Flag` that brought or carried it.
    pub flag_ap_id: Option<String>,
    pub state: ReportState,
    pub resolved_by: Option<i64>,
    pub created_at: DateTimeUtc,
    pub resolved_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
