//! Moderation: removed (restorable) and locked posts, a group's posting mode, and the public
//! moderation log.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            timestamp_with_time_zone_null("removed_at"),
            boolean("locked").default(false).to_owned(),
        ] {
            manager
                .alter_table(Table::alter().table("posts").add_column(column).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table("actors")
                    .add_column(string_len("posting_mode", 16).default("members"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("moderation_log")
                    .col(big_pk_auto("id"))
                    .col(big_integer("group_id"))
                    .col(big_integer("moderator_id"))
                    .col(string_len("action", 32))
                    .col(big_integer_null("target_actor_id"))
                    .col(big_integer_null("target_post_id"))
                    .col(text_null("reason"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("moderation_log", "group_id")
                            .to("actors", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from("moderation_log", "moderator_id")
                            .to("actors", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_moderation_log_group_id_id")
                    .table("moderation_log")
                    .col("group_id")
                    .col("id")
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("moderation_log").to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("actors")
                    .drop_column("posting_mode")
                    .to_owned(),
            )
            .await?;
        for column in ["removed_at", "locked"] {
            manager
                .alter_table(Table::alter().table("posts").drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
