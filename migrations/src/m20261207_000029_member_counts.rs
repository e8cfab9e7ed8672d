//! How many accepted members each group has, and how many of them are local, kept on the
//! group's `actors` row by triggers on `memberships`: every change of a membership (a join, an
//! approval, a leave, a ban, a block, a removed person) moves the counters in its own
//! transaction, whichever code path made it, so no page or collection counts the memberships
//! (20,000 rows in a big group) on each request.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// 1 when the actor `member` names is local, 0 otherwise, in SQL both databases read.
fn is_local(member: &str) -> String {
    format!("(SELECT COUNT(*) FROM actors AS member WHERE member.id = {member} AND member.local)")
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in ["member_count", "local_member_count"] {
            manager
                .alter_table(
                    Table::alter()
                        .table("actors")
                        .add_column(big_integer(column).default(0))
                        .to_owned(),
                )
                .await?;
        }
        let connection = manager.get_connection();
        let add_new = format!(
            "UPDATE actors SET member_count = member_count + 1, \
             local_member_count = local_member_count + {} WHERE id = NEW.group_id",
            is_local("NEW.member_id")
        );
        let take_old = format!(
            "UPDATE actors SET member_count = member_count - 1, \
             local_member_count = local_member_count - {} WHERE id = OLD.group_id",
            is_local("OLD.member_id")
        );
        match manager.get_database_backend() {
            DatabaseBackend::Sqlite => {
                for statement in [
                    format!(
                        "CREATE TRIGGER memberships_count_after_insert AFTER INSERT ON memberships \
                         WHEN NEW.state = 'accepted' BEGIN {add_new}; END"
                    ),
                    format!(
                        "CREATE TRIGGER memberships_count_after_delete AFTER DELETE ON memberships \
                         WHEN OLD.state = 'accepted' BEGIN {take_old}; END"
                    ),
                    format!(
                        "CREATE TRIGGER memberships_count_after_update_old AFTER UPDATE OF \
                         state, group_id, member_id ON memberships WHEN OLD.state = 'accepted' \
                         BEGIN {take_old}; END"
                    ),
                    format!(
                        "CREATE TRIGGER memberships_count_after_update_new AFTER UPDATE OF \
                         state, group_id, member_id ON memberships WHEN NEW.state = 'accepted' \
                         BEGIN {add_new}; END"
                    ),
                ] {
                    connection.execute_unprepared(&statement).await?;
                }
            }
            _ => {
                for statement in [
                    format!(
                        "CREATE FUNCTION memberships_keep_counts() RETURNS trigger AS $$ BEGIN \
                         IF TG_OP <> 'INSERT' AND OLD.state = 'accepted' THEN {take_old}; END IF; \
                         IF TG_OP <> 'DELETE' AND NEW.state = 'accepted' THEN {add_new}; END IF; \
                         RETURN NULL; END $$ LANGUAGE plpgsql"
                    ),
                    "CREATE TRIGGER memberships_keep_counts AFTER INSERT OR DELETE OR UPDATE OF \
                     state, group_id, member_id ON memberships FOR EACH ROW \
                     EXECUTE FUNCTION memberships_keep_counts()"
                        .to_string(),
                ] {
                    connection.execute_unprepared(&statement).await?;
                }
            }
        }
        // The counts of the rows already there, after the triggers exist: a membership that
        // another process changes meanwhile either is counted here or moves the counter once
        // this commits (its trigger waits for the row this locks), never neither.
        connection
            .execute_unprepared(
                "UPDATE actors SET \
                 member_count = (SELECT COUNT(*) FROM memberships \
                   WHERE memberships.group_id = actors.id AND memberships.state = 'accepted'), \
                 local_member_count = (SELECT COUNT(*) FROM memberships \
                   JOIN actors AS member ON member.id = memberships.member_id \
                   WHERE memberships.group_id = actors.id AND memberships.state = 'accepted' \
                   AND member.local) \
                 WHERE kind = 'Group'",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let connection = manager.get_connection();
        match manager.get_database_backend() {
            DatabaseBackend::Sqlite => {
                for statement in [
                    "DROP TRIGGER IF EXISTS memberships_count_after_insert",
                    "DROP TRIGGER IF EXISTS memberships_count_after_delete",
                    "DROP TRIGGER IF EXISTS memberships_count_after_update_old",
                    "DROP TRIGGER IF EXISTS memberships_count_after_update_new",
                ] {
                    connection.execute_unprepared(statement).await?;
                }
            }
            _ => {
                for statement in [
                    "DROP TRIGGER IF EXISTS memberships_keep_counts ON memberships",
                    "DROP FUNCTION IF EXISTS memberships_keep_counts()",
                ] {
                    connection.execute_unprepared(statement).await?;
                }
            }
        }
        for column in ["member_count", "local_member_count"] {
            manager
                .alter_table(
                    Table::alter()
                        .table("actors")
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
