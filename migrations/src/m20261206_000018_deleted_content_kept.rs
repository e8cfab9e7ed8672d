//! A deleted post keeps its content, hidden, for a grace period, so its author can restore it
//! (Lemmy lets authors undo a deletion); `content_purged` says it has been wiped since. Posts
//! deleted before this step had their content wiped at once.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("posts")
                    .add_column(boolean("content_purged").default(false))
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE posts SET content_purged = TRUE WHERE deleted_at IS NOT NULL",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("posts")
                    .drop_column("content_purged")
                    .to_owned(),
            )
            .await
    }
}
