//! A follow of a group: a remote or local person who joined (or asked to join) a group,
//! local or remote.

use sea_orm::entity::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum MembershipState {
    /// Waiting for a moderator (local group) or for the remote group's `Accept`.
    #[sea_orm(string_value = "pending")]
    Pending,
    #[sea_orm(string_value = "accepted")]
    Accepted,
}

/// What a member may do in the group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum MembershipRole {
    #[sea_orm(string_value = "member")]
    Member,
    /// Founded the group: may edit it and appoint moderators.
    #[sea_orm(string_value = "owner")]
    Owner,
    /// Appointed by the owner: may approve members, remove and restore posts, lock threads.
    #[sea_orm(string_value = "moderator")]
    Moderator,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "memberships")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub group_id: i64,
    pub member_id: i64,
    pub state: MembershipState,
    /// The id of the `Follow` that asked for this membership; the `Accept` embeds it.
    pub follow_activity_ap_id: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub role: MembershipRole,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
