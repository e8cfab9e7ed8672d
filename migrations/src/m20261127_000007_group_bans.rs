//! Bans from a group: of one person, or of everyone on a server, with a reason and an optional
//! end.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("group_bans")
                    .col(big_pk_auto("id"))
                    .col(big_integer("group_id"))
                    .col(big_integer_null("actor_id"))
                    .col(text_null("host"))
                    .col(big_integer("banned_by"))
                    .col(text_null("reason"))
                    .col(timestamp_with_time_zone_null("expires_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("group_bans", "group_id")
                            .to("actors", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from("group_bans", "actor_id")
                            .to("actors", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from("group_bans", "banned_by")
                            .to("actors", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_group_bans_group_id_actor_id")
                    .table("group_bans")
                    .col("group_id")
                    .col("actor_id")
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("group_bans").to_owned())
            .await?;
        Ok(())
    }
}
