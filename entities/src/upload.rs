//! A picture a local person uploaded, re-encoded and kept in the media store.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "uploads")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Its key in the media store: the digest of its bytes and an extension.
    pub storage_key: String,
    pub uploader_id: i64,
    pub content_type: String,
    pub byte_size: i64,
    pub width: i32,
    pub height: i32,
    /// The alt text given with it (plain text).
    pub description: Option<String>,
    /// Its blurred placeholder.
    pub blurhash: Option<String>,
    /// When a post or a profile first used it; uploads never used are forgotten after a day.
    pub used_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
