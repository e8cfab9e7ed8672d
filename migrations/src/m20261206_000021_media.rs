//! Media: the attachments of posts (pictures with their alt text, video, audio, documents and
//! links, as the post's server sent them), a post's content warning, and the cache of remote
//! pictures that Kindred serves through its own media proxy.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("post_attachments")
                    .col(big_pk_auto("id"))
                    .col(big_integer("post_id"))
                    .col(integer("position"))
                    .col(string_len("kind", 16))
                    .col(text("url"))
                    .col(text_null("media_type"))
                    .col(text_null("name"))
                    .col(text_null("blurhash"))
                    .col(integer_null("width"))
                    .col(integer_null("height"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_post_attachments_post_id_position")
                    .table("post_attachments")
                    .col("post_id")
                    .col("position")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("media_cache")
                    .col(big_pk_auto("id"))
                    .col(text_uniq("source_url"))
                    .col(text("storage_key"))
                    .col(text("content_type"))
                    .col(big_integer("byte_size"))
                    .col(integer_null("width"))
                    .col(integer_null("height"))
                    .col(timestamp_with_time_zone("fetched_at"))
                    .col(timestamp_with_time_zone("last_used_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_media_cache_last_used_at")
                    .table("media_cache")
                    .col("last_used_at")
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("posts")
                    .add_column(text_null("content_warning"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("posts")
                    .drop_column("content_warning")
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table("media_cache").to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table("post_attachments").to_owned())
            .await
    }
}
