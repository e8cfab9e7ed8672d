//! A fan-out records, at each checkpoint, the targets past its progress that already have
//! their outcome (a slow server early in the list no longer holds back the record of the fast
//! ones after it), so a crash resends only what was in flight.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("activities")
                    .add_column(text_null("fanout_done"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("activities")
                    .drop_column("fanout_done")
                    .to_owned(),
            )
            .await
    }
}
