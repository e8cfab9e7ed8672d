//! Indexes that match the thread lists' queries, so a page reads its rows in order and stops
//! instead of sorting every thread of a group (or of every group a person joined): threads
//! only (partial, `parent_id IS NULL`), by group and each order (newest, active, top), across
//! groups for the home feed, and a group's pinned threads. Measured by the `scale` bench.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Name and definition; the same SQL on SQLite and PostgreSQL (both take partial and
/// expression indexes).
const INDEXES: [(&str, &str); 6] = [
    (
        "idx_threads_group_new",
        "ON posts (group_id, published_at, id) WHERE parent_id IS NULL",
    ),
    (
        "idx_threads_group_active",
        "ON posts (group_id, last_activity_at, id) WHERE parent_id IS NULL",
    ),
    (
        "idx_threads_group_top",
        "ON posts (group_id, (like_count - dislike_count), published_at, id) WHERE parent_id IS NULL",
    ),
    (
        "idx_threads_new",
        "ON posts (published_at, id) WHERE parent_id IS NULL",
    ),
    (
        "idx_threads_active",
        "ON posts (last_activity_at, id) WHERE parent_id IS NULL",
    ),
    (
        "idx_posts_pinned",
        "ON posts (group_id, pinned_at) WHERE pinned_at IS NOT NULL",
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let connection = manager.get_connection();
        for (name, definition) in INDEXES {
            connection
                .execute_unprepared(&format!("CREATE INDEX {name} {definition}"))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let connection = manager.get_connection();
        for (name, _) in INDEXES {
            connection
                .execute_unprepared(&format!("DROP INDEX {name}"))
                .await?;
        }
        Ok(())
    }
}
