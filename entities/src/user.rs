//! A local account: the person behind a local Person actor, with a password and a role.

use sea_orm::entity::prelude::*;

/// Whether an account may sign in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum UserState {
    #[sea_orm(string_value = "active")]
    Active,
    /// Registered while registration needs approval; waits for an admin.
    #[sea_orm(string_value = "pending")]
    Pending,
    /// Turned off by an admin: cannot sign in, sessions revoked.
    #[sea_orm(string_value = "disabled")]
    Disabled,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The local Person actor this account speaks as.
    #[sea_orm(unique)]
    pub actor_id: i64,
    /// The lower-case handle, equal to the actor's `local_name`.
    #[sea_orm(unique)]
    pub name: String,
    /// An Argon2id hash in PHC string format.
    pub password_hash: String,
    pub email: Option<String>,
    pub is_admin: bool,
    pub state: UserState,
    /// What the applicant wrote when registration needs approval.
    pub application_text: Option<String>,
    pub created_at: DateTimeUtc,
    pub last_login_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
