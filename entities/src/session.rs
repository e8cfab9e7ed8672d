//! A signed-in browser (cookie) or API client (bearer token) of a local account.

use sea_orm::entity::prelude::*;

/// How the token is presented.
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(8))")]
pub enum SessionKind {
    /// A browser session cookie; forms carry its CSRF token.
    #[sea_orm(string_value = "web")]
    Web,
    /// An `Authorization: Bearer` token for the client API.
    #[sea_orm(string_value = "api")]
    Api,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    /// SHA-256 of the token, hex; the token itself is only ever in the client's hands.
    #[sea_orm(unique)]
    pub token_hash: String,
    pub kind: SessionKind,
    /// A name the user gave an API token, to recognise it when revoking.
    pub label: Option<String>,
    /// The synchronizer token every form of a web session must carry.
    pub csrf_token: String,
    pub created_at: DateTimeUtc,
    pub last_used_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
