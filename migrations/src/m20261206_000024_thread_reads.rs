//! What each person has read: for every thread they opened, how many replies it had then, so
//! that lists can say "3 new replies".

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("thread_reads")
                    .col(big_pk_auto("id"))
                    .col(big_integer("user_id"))
                    .col(big_integer("thread_id"))
                    .col(integer("seen_replies"))
                    .col(timestamp_with_time_zone("seen_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_thread_reads_user_thread")
                    .table("thread_reads")
                    .col("user_id")
                    .col("thread_id")
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("thread_reads").to_owned())
            .await
    }
}
