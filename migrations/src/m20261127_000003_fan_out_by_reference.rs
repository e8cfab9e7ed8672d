//! Fan-out by reference: an outgoing activity carries its list of target inboxes and is fanned
//! out by the worker, so accepting an activity costs one row whatever the number of follower
//! servers. Delivery rows are written only for the deliveries that need a retry (or were
//! refused, or wait for a dead server).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            text_null("ordering_key"),
            text_null("targets"),
            boolean("fanout_pending").default(false).to_owned(),
            integer("fanout_progress").default(0).to_owned(),
            timestamp_with_time_zone_null("fanout_leased_until"),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table("activities")
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("idx_activities_fanout_pending_id")
                    .table("activities")
                    .col("fanout_pending")
                    .col("id")
                    .to_owned(),
            )
            .await?;
        // Retries are claimed by state and due time; these three are no longer read, and a
        // fan-out looks up waiting deliveries by ordering key first.
        for index in [
            "idx_deliveries_instance_host_state",
            "idx_deliveries_activity_id",
            "idx_deliveries_inbox_url_ordering_key_state",
        ] {
            manager
                .drop_index(Index::drop().name(index).table("deliveries").to_owned())
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("idx_deliveries_ordering_key_inbox_url_state")
                    .table("deliveries")
                    .col("ordering_key")
                    .col("inbox_url")
                    .col("state")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_deliveries_ordering_key_inbox_url_state")
                    .table("deliveries")
                    .to_owned(),
            )
            .await?;
        for (name, columns) in [
            (
                "idx_deliveries_instance_host_state",
                vec!["instance_host", "state"],
            ),
            ("idx_deliveries_activity_id", vec!["activity_id"]),
            (
                "idx_deliveries_inbox_url_ordering_key_state",
                vec!["inbox_url", "ordering_key", "state"],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table("deliveries");
            for column in columns {
                index.col(column);
            }
            manager.create_index(index.to_owned()).await?;
        }
        manager
            .drop_index(
                Index::drop()
                    .name("idx_activities_fanout_pending_id")
                    .table("activities")
                    .to_owned(),
            )
            .await?;
        for column in [
            "fanout_leased_until",
            "fanout_progress",
            "fanout_pending",
            "targets",
            "ordering_key",
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table("activities")
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
