//! One delivery row per (activity, inbox): a fan-out resumed from its checkpoint inserts the
//! rows of held or failed targets again, and this key makes the second insert a no-op instead
//! of a second send. Duplicates written before the key existed are merged first, keeping the
//! row that is furthest along: a finished one (delivered, rejected or abandoned) over one
//! still waiting, so nothing delivered is sent again; then the most attempts; then the lowest
//! id.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEX: &str = "idx_deliveries_activity_id_inbox_url_unique";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Portable SQL (SQLite and PostgreSQL): drop every row that has a twin ranked higher
        // (finished first, then more attempts, then a smaller id).
        manager
            .get_connection()
            .execute_unprepared(
                "DELETE FROM deliveries WHERE EXISTS (
                    SELECT 1 FROM deliveries AS twin
                    WHERE twin.activity_id = deliveries.activity_id
                      AND twin.inbox_url = deliveries.inbox_url
                      AND twin.id <> deliveries.id
                      AND ((twin.finished_at IS NOT NULL AND deliveries.finished_at IS NULL)
                           OR ((twin.finished_at IS NULL) = (deliveries.finished_at IS NULL)
                               AND (twin.attempts > deliveries.attempts
                                    OR (twin.attempts = deliveries.attempts
                                        AND twin.id < deliveries.id)))))",
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table("deliveries")
                    .col("activity_id")
                    .col("inbox_url")
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(INDEX).table("deliveries").to_owned())
            .await
    }
}
