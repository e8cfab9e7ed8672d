//! What a post carries besides its text: a picture, a video, a sound, a document or a link,
//! with its alt text, as the post's server described it.

use sea_orm::entity::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum AttachmentKind {
    #[sea_orm(string_value = "image")]
    Image,
    #[sea_orm(string_value = "video")]
    Video,
    #[sea_orm(string_value = "audio")]
    Audio,
    #[sea_orm(string_value = "document")]
    Document,
    /// A link the post is about (Lemmy's link posts).
    #[sea_orm(string_value = "link")]
    Link,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "post_attachments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub post_id: i64,
    /// Order within the post, from 0.
    pub position: i32,
    pub kind: AttachmentKind,
    /// Where it is, on its own server: shown through the media proxy, never hot-linked.
    pub url: String,
    pub media_type: Option<String>,
    /// The alt text (plain text).
    pub name: Option<String>,
    pub blurhash: Option<String>,
    pub width: Option<i32>,
    pub height: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
