//! When this instance last read a remote group's history (its outbox) for the people here who
//! joined it, so a new member sees the group's threads rather than an empty page, and a
//! history read interrupted by a restart is read again.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("actors")
                    .add_column(timestamp_with_time_zone_null("history_read_at"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("actors")
                    .drop_column("history_read_at")
                    .to_owned(),
            )
            .await
    }
}
