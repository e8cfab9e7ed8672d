//! Two operator tables: the instance's settings an administrator changed on the web (over the
//! config file's defaults), and the federation-health samples the admin charts are drawn from.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One row (id 1) at most; a NULL column means "as the config file says".
        manager
            .create_table(
                Table::create()
                    .table("site_settings")
                    .col(big_integer("id").primary_key())
                    .col(text_null("name"))
                    .col(text_null("description"))
                    .col(string_len_null("registration", 16))
                    .col(string_len_null("group_creation", 16))
                    .col(big_integer_null("updated_by_user_id"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;
        // Every few minutes, what the delivery worker did since the last sample and the queue
        // as it stood.
        manager
            .create_table(
                Table::create()
                    .table("federation_health_samples")
                    .col(big_pk_auto("id"))
                    .col(timestamp_with_time_zone("sampled_at"))
                    .col(big_integer("delivered"))
                    .col(big_integer("failed"))
                    .col(big_integer("refused"))
                    .col(big_integer("queue_depth"))
                    .col(big_integer("failing_servers"))
                    .col(big_integer("dead_servers"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_federation_health_samples_sampled_at")
                    .table("federation_health_samples")
                    .col("sampled_at")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("federation_health_samples").to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table("site_settings").to_owned())
            .await
    }
}
