//! Which HTTP signature scheme each remote server accepted: `draft-cavage` or `rfc9421`, written
//! by the delivery worker when the other scheme won a double-knock, so the next delivery to
//! that server is signed the way it takes first. Empty means never learnt: draft-cavage.

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
                    .add_column(string_len_null("signature_scheme", 16))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("instances")
                    .drop_column("signature_scheme")
                    .to_owned(),
            )
            .await
    }
}
