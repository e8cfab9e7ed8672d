//! Pre-moderation: a post in a pre-moderated group waits, with the activity that brought it,
//! until a moderator approves it.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            boolean("awaiting_approval").default(false).to_owned(),
            text_null("pending_activity"),
        ] {
            manager
                .alter_table(Table::alter().table("posts").add_column(column).to_owned())
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in ["awaiting_approval", "pending_activity"] {
            manager
                .alter_table(Table::alter().table("posts").drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
