//! Whole threads: backfills of remote threads (durable jobs the worker runs, with what each
//! found), replies waiting for a parent this instance does not hold yet, and the `context`
//! a remote post names (FEP-7888), kept so that replies written here name it too.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("thread_backfills")
                    .col(big_pk_auto("id"))
                    .col(big_integer("group_id"))
                    .col(text_uniq("start_ap_id"))
                    .col(big_integer_null("thread_id"))
                    .col(string_len("state", 16))
                    .col(integer("attempts").default(0))
                    .col(timestamp_with_time_zone("next_attempt_at"))
                    .col(timestamp_with_time_zone_null("lease_until"))
                    .col(timestamp_with_time_zone("requested_at"))
                    .col(timestamp_with_time_zone_null("finished_at"))
                    .col(string_len_null("outcome", 16))
                    .col(string_len_null("stopped_by", 16))
                    .col(integer("posts_added").default(0))
                    .col(integer("requests_made").default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_thread_backfills_state_next_attempt_at")
                    .table("thread_backfills")
                    .col("state")
                    .col("next_attempt_at")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_thread_backfills_thread_id")
                    .table("thread_backfills")
                    .col("thread_id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("waiting_replies")
                    .col(big_pk_auto("id"))
                    .col(big_integer("group_id"))
                    .col(text_uniq("ap_id"))
                    .col(text("parent_ap_id"))
                    .col(text("object_json"))
                    .col(timestamp_with_time_zone("received_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_waiting_replies_parent_ap_id")
                    .table("waiting_replies")
                    .col("parent_ap_id")
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("posts")
                    .add_column(text_null("context_url"))
                    .to_owned(),
            )
            .await?;
        // The context and replies collections page a thread's posts, and a post's replies, by
        // row id (keyset): one index range per page, however long the thread.
        manager
            .create_index(
                Index::create()
                    .name("idx_posts_thread_id_id")
                    .table("posts")
                    .col("thread_id")
                    .col("id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_posts_parent_id_id")
                    .table("posts")
                    .col("parent_id")
                    .col("id")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for index in ["idx_posts_parent_id_id", "idx_posts_thread_id_id"] {
            manager
                .drop_index(Index::drop().name(index).table("posts").to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table("posts")
                    .drop_column("context_url")
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table("waiting_replies").to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table("thread_backfills").to_owned())
            .await
    }
}
