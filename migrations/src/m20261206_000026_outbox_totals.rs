//! How many activities each actor's outbox holds, kept as a counter in the transaction that
//! adds one, so the outbox need not count them on every request (a count grows with the group).

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
                    .add_column(big_integer("outbox_total").default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE actors SET outbox_total = (SELECT COUNT(*) FROM activities \
                 WHERE activities.actor_id = actors.id AND activities.in_outbox = TRUE) \
                 WHERE local = TRUE",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("actors")
                    .drop_column("outbox_total")
                    .to_owned(),
            )
            .await
    }
}
