//! Remote servers, one row per host: found or created when Kindred first meets one of their
//! actors or inboxes.

use crate::error::{Error, Result};
use chrono::Utc;
use kindred_entities::instance;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, sea_query::OnConflict,
};
use url::Url;

/// The host of a URL as Kindred keys instances: see [`crate::hosts`].
pub use crate::hosts::host_of;

/// The instance row for the server that hosts `url`, created on first sight.
pub async fn find_or_create(database: &impl ConnectionTrait, url: &Url) -> Result<instance::Model> {
    let host = host_of(url)?;
    let row = instance::ActiveModel {
        host: Set(host.clone()),
        first_seen_at: Set(Utc::now()),
        blocked: Set(false),
        ..Default::default()
    };
    instance::Entity::insert(row)
        .on_conflict(
            OnConflict::column(instance::Column::Host)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(database)
        .await?;
    instance::Entity::find()
        .filter(instance::Column::Host.eq(host))
        .one(database)
        .await?
        .ok_or_else(|| Error::internal("instance row vanished after insert"))
}

/// Blocks (or unblocks) a server: its actors' requests are refused, nothing is delivered to
/// it, and its people's posts are hidden.
pub async fn set_blocked(database: &impl ConnectionTrait, host: &str, blocked: bool) -> Result<()> {
    let host = crate::hosts::parse_host(host)?;
    let url = Url::parse(&format!("https://{host}/"))
        .map_err(|_| Error::invalid("give a host name, like lemmy.example"))?;
    let row = find_or_create(database, &url).await?;
    instance::Entity::update_many()
        .col_expr(
            instance::Column::Blocked,
            sea_orm::sea_query::Expr::value(blocked),
        )
        .filter(instance::Column::Id.eq(row.id))
        .exec(database)
        .await?;
    Ok(())
}

/// Every blocked server's host.
pub async fn blocked_hosts(
    database: &impl ConnectionTrait,
) -> Result<std::collections::BTreeSet<String>> {
    use sea_orm::QuerySelect;
    let hosts: Vec<String> = instance::Entity::find()
        .select_only()
        .column(instance::Column::Host)
        .filter(instance::Column::Blocked.eq(true))
        .into_tuple()
        .all(database)
        .await?;
    Ok(hosts.into_iter().collect())
}

/// The blocked hosts, from the state's cache (read from `database` at most every few seconds).
pub async fn cached_blocked_hosts(
    context: &crate::context::Context,
    database: &impl ConnectionTrait,
) -> Result<std::collections::BTreeSet<String>> {
    context
        .blocked_hosts
        .get_or_load(blocked_hosts(database))
        .await
}

/// Whether this instance federates with `host` under the allowlist (if any) and `blocked`.
pub fn federates_with(
    config: &crate::config::Config,
    blocked: &std::collections::BTreeSet<String>,
    host: &str,
) -> bool {
    // Callers pass hosts made by `host_of`; the allowlist was made canonical when the
    // configuration was loaded. A stray trailing dot still names the same server.
    let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    if !config.federation.allowlist.is_empty() && !config.federation.allowlist.contains(&host) {
        return false;
    }
    !blocked.contains(&host)
}

#[cfg(test)]
mod policy_tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn blocked_servers_and_the_allowlist_decide_who_federates() {
        let mut config = crate::config::Config::default();
        let blocked: BTreeSet<String> = ["spam.example".to_string()].into();
        assert!(federates_with(&config, &blocked, "lemmy.example"));
        assert!(!federates_with(&config, &blocked, "SPAM.example"));
        config.federation.allowlist = vec!["lemmy.example".into(), "friends.example:8443".into()];
        assert!(federates_with(&config, &blocked, "lemmy.example"));
        assert!(federates_with(&config, &blocked, "friends.example:8443"));
        assert!(!federates_with(&config, &blocked, "friends.example"));
        assert!(!federates_with(&config, &blocked, "mastodon.example"));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod canonical_host_tests {
    use super::*;
    use kindred_entities::actor;
    use kindred_migrations::{Migrator, MigratorTrait};
    use sea_orm::PaginatorTrait;

    #[tokio::test]
    async fn the_migration_merges_spellings_of_one_server_and_blocks_hold() {
        crate::testing::for_each_database(async |database| {
            let db = &database.connection;
            // A person, made with today's schema.
            let config = crate::testing::test_config("http://kindred.test").unwrap();
            let person = crate::accounts::users::create_user(
                db,
                &config,
                &crate::testing::test_key_source(),
                crate::accounts::users::NewUser {
                    name: "ann",
                    password: "a long password",
                    email: None,
                    application_text: None,
                },
                kindred_entities::user::UserState::Active,
                false,
            )
            .await
            .unwrap();
            // As a database written before hosts were canonical: undo that step and the ones
            // after it, write the two spellings an attacker could make (in plain SQL: the
            // entities describe today's tables), then migrate again.
            let canonical_hosts_and_later = Migrator::migrations().len()
                - Migrator::migrations()
                    .iter()
                    .position(|step| step.name() == "m20261206_000012_canonical_hosts")
                    .unwrap();
            Migrator::down(db, Some(canonical_hosts_and_later as u32))
                .await
                .unwrap();
            let backend = db.get_database_backend();
            let insert_instance = async |host: &str, blocked: bool| -> i64 {
                let row = db
                    .query_one_raw(sea_orm::Statement::from_sql_and_values(
                        backend,
                        "INSERT INTO instances (host, first_seen_at, blocked) \
                         VALUES ($1, $2, $3) RETURNING id",
                        [host.into(), Utc::now().into(), blocked.into()],
                    ))
                    .await
                    .unwrap()
                    .unwrap();
                row.try_get::<i64>("", "id").unwrap()
            };
            let canonical_id = insert_instance("blocked.test", true).await;
            let dotted_id = insert_instance("blocked.test.", false).await;
            insert_instance("other.test.:8443", false).await;
            db.execute_raw(sea_orm::Statement::from_sql_and_values(
                backend,
                "UPDATE actors SET instance_id = $1 WHERE id = $2",
                [dotted_id.into(), person.actor.id.into()],
            ))
            .await
            .unwrap();

            Migrator::up(db, None).await.unwrap();
            let hosts: Vec<String> = instance::Entity::find()
                .all(db)
                .await
                .unwrap()
                .into_iter()
                .map(|row| row.host)
                .collect();
            assert_eq!(hosts.len(), 2, "{hosts:?}");
            assert!(hosts.contains(&"other.test:8443".to_string()), "{hosts:?}");
            assert_eq!(
                blocked_hosts(db).await.unwrap(),
                ["blocked.test".to_string()].into()
            );
            assert_eq!(
                actor::Entity::find()
                    .filter(actor::Column::InstanceId.eq(canonical_id))
                    .count(db)
                    .await
                    .unwrap(),
                1,
                "the dotted row's actors moved"
            );
        })
        .await;
    }
}
