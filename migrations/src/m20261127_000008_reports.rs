//! Reports: someone (here or elsewhere) tells a group's moderators about a post.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("reports")
                    .col(big_pk_auto("id"))
                    .col(big_integer("group_id"))
                    .col(big_integer("post_id"))
                    .col(big_integer("reporter_id"))
                    .col(text_null("reason"))
                    .col(text_null("flag_ap_id"))
                    .col(string_len("state", 16))
                    .col(big_integer_null("resolved_by"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("resolved_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("reports", "group_id")
                            .to("actors", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from("reports", "post_id")
                            .to("posts", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from("reports", "reporter_id")
                            .to("actors", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_reports_group_id_state")
                    .table("reports")
                    .col("group_id")
                    .col("state")
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("reports").to_owned())
            .await?;
        Ok(())
    }
}
