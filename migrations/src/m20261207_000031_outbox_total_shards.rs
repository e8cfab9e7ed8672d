//! Outbox totals move from one column on the actor's row to several rows per actor (shards)
//! that are summed: every post into a group raised the group's row, and on PostgreSQL that
//! row's lock was held until the post's transaction committed, so concurrent posts to one
//! group waited for each other (`Lock: transactionid` in `pg_stat_activity`) and the group's
//! row grew a chain of dead versions that every read of it walked.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("outbox_totals")
                    .col(big_integer("actor_id"))
                    .col(integer("shard"))
                    .col(big_integer("total").default(0))
                    .primary_key(Index::create().col("actor_id").col("shard"))
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO outbox_totals (actor_id, shard, total) \
                 SELECT id, 0, outbox_total FROM actors WHERE outbox_total <> 0",
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("actors")
                    .drop_column("outbox_total")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
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
                "UPDATE actors SET outbox_total = (SELECT COALESCE(SUM(total), 0) \
                 FROM outbox_totals WHERE outbox_totals.actor_id = actors.id)",
            )
            .await?;
        manager
            .drop_table(Table::drop().table("outbox_totals").to_owned())
            .await
    }
}
