//! Shares: a person on another server boosts (`Announce`s) a post. Each is kept once per
//! person and post, with the id an `Undo` names, and counted on the post; a notification can
//! now name who did what (the sharer).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("shares")
                    .col(big_pk_auto("id"))
                    .col(big_integer("post_id"))
                    .col(big_integer("actor_id"))
                    .col(text_uniq("activity_ap_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_shares_post_id_actor_id_unique")
                    .table("shares")
                    .col("post_id")
                    .col("actor_id")
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("posts")
                    .add_column(integer("share_count").default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("notifications")
                    .add_column(big_integer_null("actor_id"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("notifications")
                    .drop_column("actor_id")
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("posts")
                    .drop_column("share_count")
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table("shares").to_owned())
            .await
    }
}
