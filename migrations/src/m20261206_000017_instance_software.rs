//! When a server's software (from its NodeInfo) was last read, so it is read again daily: the
//! software decides what the server is sent (`federation/software.rs`).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("instances")
                    .add_column(timestamp_with_time_zone_null("software_checked_at"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("instances")
                    .drop_column("software_checked_at")
                    .to_owned(),
            )
            .await
    }
}
