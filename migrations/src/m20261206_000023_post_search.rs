//! Full-text search of posts: `posts.search_text` holds a post's text without its markup
//! (written by Kindred with the post), indexed with the title by SQLite's FTS5 (an
//! external-content table kept by triggers) or PostgreSQL's `tsvector` (a generated column
//! with a GIN index). The `simple` configuration and FTS5's default tokenizer: no stemming,
//! since a community's language is not known; searches match word prefixes instead.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("posts")
                    .add_column(text_null("search_text"))
                    .to_owned(),
            )
            .await?;
        let connection = manager.get_connection();
        // Posts written before this migration: their HTML stands in for their text (tags
        // become a few stray words) until they are next edited.
        connection
            .execute_unprepared(
                "UPDATE posts SET search_text = content_html WHERE content_purged = FALSE",
            )
            .await?;
        match manager.get_database_backend() {
            DatabaseBackend::Sqlite => {
                for statement in [
                    "CREATE VIRTUAL TABLE posts_fts USING fts5(title, search_text, \
                     content='posts', content_rowid='id')",
                    "CREATE TRIGGER posts_fts_after_insert AFTER INSERT ON posts BEGIN \
                     INSERT INTO posts_fts(rowid, title, search_text) \
                     VALUES (new.id, new.title, new.search_text); END",
                    "CREATE TRIGGER posts_fts_after_delete AFTER DELETE ON posts BEGIN \
                     INSERT INTO posts_fts(posts_fts, rowid, title, search_text) \
                     VALUES ('delete', old.id, old.title, old.search_text); END",
                    "CREATE TRIGGER posts_fts_after_update AFTER UPDATE OF title, search_text \
                     ON posts BEGIN \
                     INSERT INTO posts_fts(posts_fts, rowid, title, search_text) \
                     VALUES ('delete', old.id, old.title, old.search_text); \
                     INSERT INTO posts_fts(rowid, title, search_text) \
                     VALUES (new.id, new.title, new.search_text); END",
                    "INSERT INTO posts_fts(posts_fts) VALUES ('rebuild')",
                ] {
                    connection.execute_unprepared(statement).await?;
                }
            }
            _ => {
                for statement in [
                    "ALTER TABLE posts ADD COLUMN search_vector tsvector GENERATED ALWAYS AS \
                     (to_tsvector('simple', coalesce(title, '') || ' ' || \
                     coalesce(search_text, ''))) STORED",
                    "CREATE INDEX idx_posts_search_vector ON posts USING GIN (search_vector)",
                ] {
                    connection.execute_unprepared(statement).await?;
                }
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let connection = manager.get_connection();
        match manager.get_database_backend() {
            DatabaseBackend::Sqlite => {
                for statement in [
                    "DROP TRIGGER IF EXISTS posts_fts_after_insert",
                    "DROP TRIGGER IF EXISTS posts_fts_after_delete",
                    "DROP TRIGGER IF EXISTS posts_fts_after_update",
                    "DROP TABLE IF EXISTS posts_fts",
                ] {
                    connection.execute_unprepared(statement).await?;
                }
            }
            _ => {
                connection
                    .execute_unprepared("ALTER TABLE posts DROP COLUMN IF EXISTS search_vector")
                    .await?;
            }
        }
        manager
            .alter_table(
                Table::alter()
                    .table("posts")
                    .drop_column("search_text")
                    .to_owned(),
            )
            .await
    }
}
