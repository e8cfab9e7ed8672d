//! Groups carry an NSFW flag (`sensitive`, as Lemmy's communities do): set by the owner of a
//! local group, read from a remote group's document; the posts of a sensitive group are
//! sensitive too, and are shown folded on the web.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("actors")
                    .add_column(boolean("sensitive").default(false))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("actors")
                    .drop_column("sensitive")
                    .to_owned(),
            )
            .await
    }
}
