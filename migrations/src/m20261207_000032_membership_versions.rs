//! A version on each group's `actors` row that moves whenever the set of inboxes its members
//! are reached at may have changed: a membership accepted or ended (triggers on
//! `memberships`), or a member's inbox, shared inbox or deletion changed (a trigger on
//! `actors`). Kindred keeps each group's member inboxes in memory under that version, so an
//! inbound post does not read 20,000 memberships to learn what the last one learned.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Moves the version of the group `group` (an SQL expression) names.
fn bump(group: &str) -> String {
    format!("UPDATE actors SET membership_version = membership_version + 1 WHERE id = {group}")
}

/// Moves the version of every group the actor `member` (an SQL expression) is a member of.
fn bump_groups_of(member: &str) -> String {
    format!(
        "UPDATE actors SET membership_version = membership_version + 1 WHERE id IN \
         (SELECT group_id FROM memberships WHERE member_id = {member} AND state = 'accepted')"
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("actors")
                    .add_column(big_integer("membership_version").default(0))
                    .to_owned(),
            )
            .await?;
        let connection = manager.get_connection();
        let statements = match manager.get_database_backend() {
            DatabaseBackend::Sqlite => vec![
                format!(
                    "CREATE TRIGGER memberships_version_after_insert AFTER INSERT ON memberships \
                     WHEN NEW.state = 'accepted' BEGIN {}; END",
                    bump("NEW.group_id")
                ),
                format!(
                    "CREATE TRIGGER memberships_version_after_delete AFTER DELETE ON memberships \
                     WHEN OLD.state = 'accepted' BEGIN {}; END",
                    bump("OLD.group_id")
                ),
                format!(
                    "CREATE TRIGGER memberships_version_after_update AFTER UPDATE OF \
                     state, group_id, member_id ON memberships \
                     WHEN OLD.state = 'accepted' OR NEW.state = 'accepted' \
                     BEGIN {}; {}; END",
                    bump("OLD.group_id"),
                    bump("NEW.group_id")
                ),
                format!(
                    "CREATE TRIGGER actors_member_inbox_changed AFTER UPDATE OF \
                     inbox_url, shared_inbox_url, deleted_at ON actors \
                     WHEN OLD.inbox_url IS NOT NEW.inbox_url \
                     OR OLD.shared_inbox_url IS NOT NEW.shared_inbox_url \
                     OR OLD.deleted_at IS NOT NEW.deleted_at BEGIN {}; END",
                    bump_groups_of("NEW.id")
                ),
            ],
            _ => vec![
                format!(
                    "CREATE FUNCTION memberships_bump_version() RETURNS trigger AS $$ BEGIN \
                     IF TG_OP <> 'INSERT' AND OLD.state = 'accepted' THEN {}; END IF; \
                     IF TG_OP <> 'DELETE' AND NEW.state = 'accepted' THEN {}; END IF; \
                     RETURN NULL; END $$ LANGUAGE plpgsql",
                    bump("OLD.group_id"),
                    bump("NEW.group_id")
                ),
                "CREATE TRIGGER memberships_bump_version AFTER INSERT OR DELETE OR UPDATE OF \
                 state, group_id, member_id ON memberships FOR EACH ROW \
                 EXECUTE FUNCTION memberships_bump_version()"
                    .to_string(),
                // The groups' rows are locked in the order of their ids first: two members
                // of the same groups changing at once would otherwise lock them in whatever
                // order each plan gives, and could wait for each other.
                format!(
                    "CREATE FUNCTION actors_member_inbox_changed() RETURNS trigger AS $$ BEGIN \
                     PERFORM 1 FROM actors WHERE id IN (SELECT group_id FROM memberships \
                     WHERE member_id = NEW.id AND state = 'accepted') \
                     ORDER BY id FOR NO KEY UPDATE; \
                     {}; RETURN NULL; END $$ LANGUAGE plpgsql",
                    bump_groups_of("NEW.id")
                ),
                "CREATE TRIGGER actors_member_inbox_changed AFTER UPDATE OF \
                 inbox_url, shared_inbox_url, deleted_at ON actors FOR EACH ROW \
                 WHEN (OLD.inbox_url IS DISTINCT FROM NEW.inbox_url \
                 OR OLD.shared_inbox_url IS DISTINCT FROM NEW.shared_inbox_url \
                 OR OLD.deleted_at IS DISTINCT FROM NEW.deleted_at) \
                 EXECUTE FUNCTION actors_member_inbox_changed()"
                    .to_string(),
            ],
        };
        for statement in statements {
            connection.execute_unprepared(&statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let connection = manager.get_connection();
        let statements: &[&str] = match manager.get_database_backend() {
            DatabaseBackend::Sqlite => &[
                "DROP TRIGGER IF EXISTS memberships_version_after_insert",
                "DROP TRIGGER IF EXISTS memberships_version_after_delete",
                "DROP TRIGGER IF EXISTS memberships_version_after_update",
                "DROP TRIGGER IF EXISTS actors_member_inbox_changed",
            ],
            _ => &[
                "DROP TRIGGER IF EXISTS memberships_bump_version ON memberships",
                "DROP FUNCTION IF EXISTS memberships_bump_version()",
                "DROP TRIGGER IF EXISTS actors_member_inbox_changed ON actors",
                "DROP FUNCTION IF EXISTS actors_member_inbox_changed()",
            ],
        };
        for statement in statements {
            connection.execute_unprepared(statement).await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table("actors")
                    .drop_column("membership_version")
                    .to_owned(),
            )
            .await
    }
}
