//! Pinned threads: shown first in their group and listed in its featured collection.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("posts")
                    .add_column(timestamp_with_time_zone_null("pinned_at"))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("posts")
                    .drop_column("pinned_at")
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
