//! The first schema: instances, actors, memberships, posts, votes, received activity ids,
//! outgoing activities and their deliveries.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("instances")
                    .col(big_pk_auto("id"))
                    .col(text_uniq("host"))
                    .col(text_null("software"))
                    .col(text_null("software_version"))
                    .col(timestamp_with_time_zone("first_seen_at"))
                    .col(timestamp_with_time_zone_null("last_success_at"))
                    .col(timestamp_with_time_zone_null("failing_since"))
                    .col(timestamp_with_time_zone_null("dead_since"))
                    .col(boolean("blocked").default(false))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("actors")
                    .col(big_pk_auto("id"))
                    .col(text_uniq("ap_id"))
                    .col(string_len("kind", 16))
                    .col(boolean("local"))
                    .col(text_null("local_name").unique_key())
                    .col(text("preferred_username"))
                    .col(text_null("display_name"))
                    .col(text_null("summary_html"))
                    .col(text_null("summary_source"))
                    .col(text_null("icon_url"))
                    .col(text_null("image_url"))
                    .col(text("inbox_url"))
                    .col(text_null("shared_inbox_url"))
                    .col(text_null("outbox_url"))
                    .col(text_null("followers_url"))
                    .col(text_null("featured_url"))
                    .col(text_null("moderators_url"))
                    .col(text_null("html_url"))
                    .col(text("public_key_pem"))
                    .col(text_null("private_key_pem"))
                    .col(boolean("manually_approves_followers").default(false))
                    .col(boolean("posting_restricted_to_mods").default(false))
                    .col(boolean("discoverable").default(true))
                    .col(big_integer_null("instance_id"))
                    .col(timestamp_with_time_zone_null("published_at"))
                    .col(timestamp_with_time_zone_null("updated_at"))
                    .col(timestamp_with_time_zone("last_refreshed_at"))
                    .col(timestamp_with_time_zone_null("deleted_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("actors", "instance_id")
                            .to("instances", "id")
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        create_index(manager, "actors", &["kind", "local"], false).await?;

        manager
            .create_table(
                Table::create()
                    .table("memberships")
                    .col(big_pk_auto("id"))
                    .col(big_integer("group_id"))
                    .col(big_integer("member_id"))
                    .col(string_len("state", 16))
                    .col(text_null("follow_activity_ap_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut cascade_to_actor("memberships", "group_id"))
                    .foreign_key(&mut cascade_to_actor("memberships", "member_id"))
                    .to_owned(),
            )
            .await?;
        create_index(manager, "memberships", &["group_id", "member_id"], true).await?;
        create_index(manager, "memberships", &["member_id"], false).await?;

        manager
            .create_table(
                Table::create()
                    .table("posts")
                    .col(big_pk_auto("id"))
                    .col(text_uniq("ap_id"))
                    .col(big_integer("group_id"))
                    .col(big_integer("author_id"))
                    .col(big_integer_null("parent_id"))
                    .col(big_integer_null("thread_id"))
                    .col(string_len("kind", 16))
                    .col(text_null("title"))
                    .col(text("content_html"))
                    .col(text_null("source_markdown"))
                    .col(text_null("url"))
                    .col(boolean("sensitive").default(false))
                    .col(boolean("local"))
                    .col(timestamp_with_time_zone("published_at"))
                    .col(timestamp_with_time_zone_null("updated_at"))
                    .col(timestamp_with_time_zone_null("deleted_at"))
                    .col(integer("like_count").default(0))
                    .col(integer("dislike_count").default(0))
                    .col(integer("reply_count").default(0))
                    .col(timestamp_with_time_zone("last_activity_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut cascade_to_actor("posts", "group_id"))
                    .foreign_key(&mut cascade_to_actor("posts", "author_id"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("posts", "parent_id")
                            .to("posts", "id")
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from("posts", "thread_id")
                            .to("posts", "id")
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        create_index(manager, "posts", &["group_id", "published_at"], false).await?;
        create_index(manager, "posts", &["thread_id"], false).await?;
        create_index(manager, "posts", &["parent_id"], false).await?;
        create_index(manager, "posts", &["author_id"], false).await?;

        manager
            .create_table(
                Table::create()
                    .table("votes")
                    .col(big_pk_auto("id"))
                    .col(big_integer("post_id"))
                    .col(big_integer("actor_id"))
                    .col(small_integer("value"))
                    .col(text("activity_ap_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("votes", "post_id")
                            .to("posts", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(&mut cascade_to_actor("votes", "actor_id"))
                    .to_owned(),
            )
            .await?;
        create_index(manager, "votes", &["post_id", "actor_id"], true).await?;
        create_index(manager, "votes", &["activity_ap_id"], false).await?;

        manager
            .create_table(
                Table::create()
                    .table("received_activities")
                    .col(big_pk_auto("id"))
                    .col(text_uniq("ap_id"))
                    .col(text("actor_ap_id"))
                    .col(string_len("kind", 32))
                    .col(timestamp_with_time_zone("received_at"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("activities")
                    .col(big_pk_auto("id"))
                    .col(text_uniq("ap_id"))
                    .col(big_integer("actor_id"))
                    .col(string_len("kind", 32))
                    .col(text_null("object_ap_id"))
                    .col(text("json"))
                    .col(boolean("in_outbox"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut cascade_to_actor("activities", "actor_id"))
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "activities",
            &["actor_id", "in_outbox", "id"],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table("deliveries")
                    .col(big_pk_auto("id"))
                    .col(big_integer("activity_id"))
                    .col(text("inbox_url"))
                    .col(text("instance_host"))
                    .col(string_len("state", 16))
                    .col(integer("attempts").default(0))
                    .col(timestamp_with_time_zone("next_attempt_at"))
                    .col(timestamp_with_time_zone_null("last_attempt_at"))
                    .col(integer_null("last_status"))
                    .col(text_null("last_error"))
                    .col(timestamp_with_time_zone_null("leased_until"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("finished_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("deliveries", "activity_id")
                            .to("activities", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        create_index(manager, "deliveries", &["state", "next_attempt_at"], false).await?;
        create_index(manager, "deliveries", &["instance_host", "state"], false).await?;
        create_index(manager, "deliveries", &["activity_id"], false).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "deliveries",
            "activities",
            "received_activities",
            "votes",
            "posts",
            "memberships",
            "actors",
            "instances",
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

/// A foreign key from `table.column` to `actors.id` that goes away with the actor.
fn cascade_to_actor(table: &'static str, column: &'static str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, column)
        .to("actors", "id")
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

/// Creates `idx_<table>_<columns>` (unique when asked) on the given columns.
async fn create_index(
    manager: &SchemaManager<'_>,
    table: &'static str,
    columns: &[&'static str],
    unique: bool,
) -> Result<(), DbErr> {
    let mut index = Index::create();
    index
        .name(format!("idx_{table}_{}", columns.join("_")))
        .table(table);
    for column in columns {
        index.col(*column);
    }
    if unique {
        index.unique();
    }
    manager.create_index(index.to_owned()).await
}
