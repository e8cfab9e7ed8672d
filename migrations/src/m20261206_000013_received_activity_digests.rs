//! An inbound activity is known by its id and the SHA-256 of its body, not by its id alone:
//! Takahe sends every edit of a post under one id (`<post>#update`), and each edit must take
//! effect while a redelivery of the same bytes still has one effect. The table is rebuilt
//! (SQLite cannot drop the column's UNIQUE constraint in place); rows recorded before keep an
//! empty digest.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const UNIQUE_INDEX: &str = "idx_received_activities_ap_id_body_digest_unique";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("received_activities_by_digest")
                    .col(big_pk_auto("id"))
                    .col(text("ap_id"))
                    .col(string_len("body_digest", 64).default(""))
                    .col(text("actor_ap_id"))
                    .col(string_len("kind", 32))
                    .col(timestamp_with_time_zone("received_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO received_activities_by_digest
                     (id, ap_id, body_digest, actor_ap_id, kind, received_at)
                 SELECT id, ap_id, '', actor_ap_id, kind, received_at FROM received_activities",
            )
            .await?;
        manager
            .drop_table(Table::drop().table("received_activities").to_owned())
            .await?;
        manager
            .rename_table(
                Table::rename()
                    .table("received_activities_by_digest", "received_activities")
                    .to_owned(),
            )
            .await?;
        if manager.get_database_backend() == sea_orm::DbBackend::Postgres {
            // The copied ids keep their values; the renamed sequence continues after them.
            manager
                .get_connection()
                .execute_unprepared(
                    "SELECT setval(pg_get_serial_sequence('received_activities', 'id'),
                                   COALESCE((SELECT MAX(id) FROM received_activities), 0) + 1,
                                   false)",
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name(UNIQUE_INDEX)
                    .table("received_activities")
                    .col("ap_id")
                    .col("body_digest")
                    .unique()
                    .to_owned(),
            )
            .await
    }

    /// Back to one row per id: of the rows an id has, the first is kept.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("received_activities_by_id")
                    .col(big_pk_auto("id"))
                    .col(text_uniq("ap_id"))
                    .col(text("actor_ap_id"))
                    .col(string_len("kind", 32))
                    .col(timestamp_with_time_zone("received_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO received_activities_by_id (id, ap_id, actor_ap_id, kind, received_at)
                 SELECT id, ap_id, actor_ap_id, kind, received_at FROM received_activities AS row
                 WHERE NOT EXISTS (SELECT 1 FROM received_activities AS earlier
                                   WHERE earlier.ap_id = row.ap_id AND earlier.id < row.id)",
            )
            .await?;
        manager
            .drop_table(Table::drop().table("received_activities").to_owned())
            .await?;
        manager
            .rename_table(
                Table::rename()
                    .table("received_activities_by_id", "received_activities")
                    .to_owned(),
            )
            .await
    }
}
