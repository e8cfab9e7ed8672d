//! Local accounts: a user row for each local Person actor (password hash, role, state) and the
//! sessions that sign a browser or an API client in.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("users")
                    .col(big_pk_auto("id"))
                    .col(big_integer_uniq("actor_id"))
                    .col(text_uniq("name"))
                    .col(text("password_hash"))
                    .col(text_null("email"))
                    .col(boolean("is_admin").default(false))
                    .col(string_len("state", 16))
                    .col(text_null("application_text"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("last_login_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("users", "actor_id")
                            .to("actors", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("sessions")
                    .col(big_pk_auto("id"))
                    .col(big_integer("user_id"))
                    // Only a SHA-256 of the token is stored: a leaked table signs no one in.
                    .col(text_uniq("token_hash"))
                    .col(string_len("kind", 8))
                    .col(text_null("label"))
                    .col(text("csrf_token"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("last_used_at"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("sessions", "user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_sessions_user_id")
                    .table("sessions")
                    .col("user_id")
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["sessions", "users"] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
