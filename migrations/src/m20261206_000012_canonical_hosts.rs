//! Hosts in the one form Kindred compares them in (see `src/hosts.rs`): lower case, without a
//! trailing dot. Before it, `blocked.test.` was another server than `blocked.test`, so a row
//! may exist in both spellings: the two are merged (the actors of the dotted one move to the
//! canonical one, which keeps a block either had), and group bans are rewritten.

use sea_orm_migration::{
    prelude::*,
    sea_orm::{ConnectionTrait, TransactionTrait},
};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// `host` or `host:port` without the dot that ends a fully qualified name, in lower case: the
/// form of `kindred::hosts::host_of`, written out again because the migrations crate does not
/// depend on kindred (and a shipped migration must not change when that code does).
fn canonical(host: &str) -> String {
    let host = host.trim().to_ascii_lowercase();
    if host.starts_with('[') {
        return host;
    }
    match host.rsplit_once(':') {
        Some((name, port)) => format!("{}:{port}", name.strip_suffix('.').unwrap_or(name)),
        None => host.strip_suffix('.').unwrap_or(&host).to_string(),
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let transaction = manager.get_connection().begin().await?;
        let instances = transaction
            .query_all(
                Query::select()
                    .columns(["id", "host"])
                    .column("blocked")
                    .from("instances"),
            )
            .await?;
        for row in instances {
            let id: i64 = row.try_get("", "id")?;
            let host: String = row.try_get("", "host")?;
            let blocked: bool = row.try_get("", "blocked")?;
            let wanted = canonical(&host);
            if wanted == host {
                continue;
            }
            let twin = transaction
                .query_one(
                    Query::select()
                        .column("id")
                        .from("instances")
                        .and_where(Expr::col("host").eq(wanted.as_str())),
                )
                .await?;
            match twin {
                None => {
                    transaction
                        .execute(
                            Query::update()
                                .table("instances")
                                .value("host", wanted.as_str())
                                .and_where(Expr::col("id").eq(id)),
                        )
                        .await?;
                }
                Some(twin) => {
                    let twin_id: i64 = twin.try_get("", "id")?;
                    transaction
                        .execute(
                            Query::update()
                                .table("actors")
                                .value("instance_id", twin_id)
                                .and_where(Expr::col("instance_id").eq(id)),
                        )
                        .await?;
                    if blocked {
                        transaction
                            .execute(
                                Query::update()
                                    .table("instances")
                                    .value("blocked", true)
                                    .and_where(Expr::col("id").eq(twin_id)),
                            )
                            .await?;
                    }
                    transaction
                        .execute(
                            Query::delete()
                                .from_table("instances")
                                .and_where(Expr::col("id").eq(id)),
                        )
                        .await?;
                }
            }
        }
        let bans = transaction
            .query_all(
                Query::select()
                    .columns(["id", "host"])
                    .from("group_bans")
                    .and_where(Expr::col("host").is_not_null()),
            )
            .await?;
        for row in bans {
            let id: i64 = row.try_get("", "id")?;
            let host: String = row.try_get("", "host")?;
            let wanted = canonical(&host);
            if wanted != host {
                transaction
                    .execute(
                        Query::update()
                            .table("group_bans")
                            .value("host", wanted.as_str())
                            .and_where(Expr::col("id").eq(id)),
                    )
                    .await?;
            }
        }
        transaction.commit().await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // The old spellings are not kept; the canonical ones work with the old code too.
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::canonical;

    #[test]
    fn spellings_of_one_server_become_one() {
        assert_eq!(canonical("Blocked.Test."), "blocked.test");
        assert_eq!(canonical("a.test.:8080"), "a.test:8080");
        assert_eq!(canonical("a.test"), "a.test");
        assert_eq!(canonical("[::1]:8080"), "[::1]:8080");
    }
}
