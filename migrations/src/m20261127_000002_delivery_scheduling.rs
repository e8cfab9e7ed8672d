//! Delivery at scale: per-instance backoff (`consecutive_failures`, `retry_at`) and an ordering
//! key on deliveries, so activities about one object reach one inbox in order while everything
//! else goes in parallel.

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
                    .add_column(integer("consecutive_failures").default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("instances")
                    .add_column(timestamp_with_time_zone_null("retry_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("deliveries")
                    .add_column(text_null("ordering_key"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_deliveries_inbox_url_ordering_key_state")
                    .table("deliveries")
                    .col("inbox_url")
                    .col("ordering_key")
                    .col("state")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_deliveries_inbox_url_ordering_key_state")
                    .table("deliveries")
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("deliveries")
                    .drop_column("ordering_key")
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("instances")
                    .drop_column("retry_at")
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("instances")
                    .drop_column("consecutive_failures")
                    .to_owned(),
            )
            .await
    }
}
