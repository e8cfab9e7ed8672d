//! Pictures that local people upload (to a post, as an avatar, as a group's icon or banner):
//! re-encoded, kept in the media store under the digest of their bytes, and served from
//! `/media/uploads/<key>`. A row is one upload by one person; `used_at` is set once a post or
//! a profile uses it, so uploads that were never used can be forgotten.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("uploads")
                    .col(big_pk_auto("id"))
                    .col(text("storage_key"))
                    .col(big_integer("uploader_id"))
                    .col(text("content_type"))
                    .col(big_integer("byte_size"))
                    .col(integer("width"))
                    .col(integer("height"))
                    .col(text_null("description"))
                    .col(text_null("blurhash"))
                    .col(timestamp_with_time_zone_null("used_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_uploads_storage_key")
                    .table("uploads")
                    .col("storage_key")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_uploads_used_at_created_at")
                    .table("uploads")
                    .col("used_at")
                    .col("created_at")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("uploads").to_owned())
            .await
    }
}
