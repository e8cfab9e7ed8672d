//! Opening the database (SQLite by default, PostgreSQL when the URL says so) and bringing its
//! schema up to date with `migrations/`.

use crate::{
    config::Config,
    error::{Error, Result},
};
use kindred_migrations::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr, EntityTrait,
    RuntimeErr, Select, Statement,
    sea_query::{CommonTableExpression, SubQueryStatement, WithClause},
    sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous},
};
use std::time::Duration;

/// Connects to the configured database, creating the SQLite file and its folder on first use.
pub async fn connect(config: &Config) -> Result<DatabaseConnection> {
    if !config.database.url.is_empty() {
        return connect_url(&config.database.url, config.database.max_connections).await;
    }
    std::fs::create_dir_all(&config.database.data_dir).map_err(|error| {
        Error::internal(format!(
            "cannot create data directory {}: {error}",
            config.database.data_dir.display()
        ))
    })?;
    // The file is named through the options rather than in the URL, where `%`, `?` or `#` in
    // the data folder's path would be misread.
    connect_with(
        "sqlite://kindred.sqlite?mode=rwc",
        config.database.max_connections,
        Some(config.database.data_dir.join("kindred.sqlite")),
    )
    .await
}

/// As [`connect`], but refuses to create a SQLite database that is not there, naming the file
/// it looked for and how to point at the right one.
pub async fn connect_existing(config: &Config) -> Result<DatabaseConnection> {
    if config.database.url.is_empty() {
        let file = config.database.data_dir.join("kindred.sqlite");
        if !file.is_file() {
            return Err(Error::NotFound(format!(
                "no database at {}: run this where the instance's data is, set \
                 database.data_dir (or KINDRED_DATABASE_DATA_DIR, or --config with a \
                 configuration file) to its folder, or create it with `kindred migrate`",
                std::path::absolute(&file).unwrap_or(file.clone()).display()
            )));
        }
    }
    connect(config).await
}

/// Connects to `url`. SQLite gets one connection in WAL mode: it has a single writer anyway, and
/// one connection keeps transactions from failing with "database is locked" when two of them
/// try to upgrade to writers at once.
pub async fn connect_url(url: &str, max_connections: u32) -> Result<DatabaseConnection> {
    connect_with(url, max_connections, None).await
}

/// As [`connect_url`]; for SQLite, `file` (when given) names the database file instead of the
/// URL's path.
async fn connect_with(
    url: &str,
    max_connections: u32,
    file: Option<std::path::PathBuf>,
) -> Result<DatabaseConnection> {
    let is_sqlite = url.starts_with("sqlite:");
    let mut options = ConnectOptions::new(url.to_string());
    options
        .max_connections(if is_sqlite { 1 } else { max_connections })
        .min_connections(if is_sqlite { 1 } else { 0 })
        .acquire_timeout(Duration::from_secs(30))
        // A ping before every use doubles the round trips of short statements; a broken
        // connection fails its statement instead, and the pool replaces it.
        .test_before_acquire(false)
        .sqlx_logging(false);
    if is_sqlite {
        // One connection held forever: an idle timeout would close it and, for an in-memory
        // database, drop the data with it.
        options
            .idle_timeout(None::<Duration>)
            .max_lifetime(None::<Duration>)
            .map_sqlx_sqlite_opts(move |sqlite| {
                let sqlite = match &file {
                    Some(file) => sqlite.filename(file).create_if_missing(true),
                    None => sqlite,
                };
                // WAL: readers never block the writer. NORMAL: a commit does not wait for
                // fsync (the WAL is synced at checkpoints), so a power cut can lose the last
                // transactions but never corrupts the database.
                sqlite
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10))
                    .pragma("cache_size", "-32000")
                    .pragma("temp_store", "memory")
            });
    }
    Ok(Database::connect(options).await?)
}

/// Brings SQLite's planner statistics up to date where they have drifted (`PRAGMA optimize`,
/// as SQLite advises long-running applications to run now and then); nothing on PostgreSQL,
/// whose autovacuum analyses tables itself.
pub async fn refresh_planner_statistics(database: &DatabaseConnection) -> Result<()> {
    if database.get_database_backend() == DbBackend::Sqlite {
        // 0x10002: every table that would gain from it, not only those this connection
        // queried; SQLite bounds the work (an analysis limit) on its own.
        database
            .execute_unprepared("PRAGMA optimize=0x10002")
            .await?;
    }
    Ok(())
}

/// The connections that serve reads. On PostgreSQL that is the same pool. On an SQLite file
/// it is a pool of read-only connections beside the single writer: in WAL mode readers never
/// wait for the writer, so lookups no longer queue behind transactions on the one connection
/// (each statement costs a round trip to the connection's thread, and the writer's time is
/// what limits how many activities an inbox takes per second). An in-memory SQLite database
/// lives in its one connection, so it is read there too; and with `read_connections` 0, every
/// read is (a machine short of memory, or a test that watches every statement).
pub async fn connect_reads(
    database: &DatabaseConnection,
    read_connections: u32,
) -> Result<DatabaseConnection> {
    if database.get_database_backend() != DbBackend::Sqlite || read_connections == 0 {
        return Ok(database.clone());
    }
    let row = database
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT file FROM pragma_database_list WHERE name = 'main'".to_string(),
        ))
        .await?;
    let file: String = match row {
        Some(row) => row.try_get("", "file")?,
        None => String::new(),
    };
    if file.is_empty() {
        return Ok(database.clone());
    }
    // The file is named through the options rather than in the URL, where `%`, `?` or `#` in
    // a path would be misread.
    let file = std::path::PathBuf::from(file);
    let mut options = ConnectOptions::new("sqlite://kindred.sqlite?mode=ro".to_string());
    options
        .max_connections(read_connections)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        .test_before_acquire(false)
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(move |sqlite| {
            sqlite
                .filename(&file)
                .read_only(true)
                .create_if_missing(false)
                .busy_timeout(Duration::from_secs(10))
                .pragma("cache_size", "-8000")
                .pragma("temp_store", "memory")
        });
    Ok(Database::connect(options).await?)
}

/// The row a lookup by a unique key finds, if any: use it instead of `Select::one` where a
/// lookup is frequent. `one` appends `LIMIT ?`, and SQLite (3.51, as bundled) marks a bound
/// LIMIT as a value the query plan depends on: every new binding expires the statement, so
/// each `one` is parsed and planned again, which made half the CPU time of the inbox's
/// lookups. The filter must match at most a few rows (a unique key): all of them are read.
pub async fn unique_row<E: EntityTrait>(
    select: Select<E>,
    database: &impl ConnectionTrait,
) -> std::result::Result<Option<E::Model>, DbErr> {
    Ok(select.all(database).await?.into_iter().next())
}

/// The first row of a select whose filter matches only a handful of rows (an `IN` over a few
/// keys), read as [`unique_row`] reads, for the same reason. Give the select an order, so
/// that "first" means something.
pub async fn first_of_few<E: EntityTrait>(
    select: Select<E>,
    database: &impl ConnectionTrait,
) -> std::result::Result<Option<E::Model>, DbErr> {
    Ok(select.all(database).await?.into_iter().next())
}

/// Runs `writes` (inserts, updates, deletes that do not read each other's results) so that
/// they take effect together or not at all. On PostgreSQL they are sent as one statement,
/// each but the last a data-modifying `WITH` part: one round trip, atomic without a
/// transaction around it (and so without the two round trips of `BEGIN` and `COMMIT`). The
/// parts run on one snapshot and do not see each other's rows; foreign keys are checked at
/// the end of the statement, so a row may reference another inserted beside it (unique
/// indexes are checked row by row). PostgreSQL's documentation leaves the parts' order open;
/// its executor runs the last write first and then the others from the last to the first, so
/// give first what should lock last. Should two statements still wait for each other in a
/// circle, PostgreSQL ends one of them after a second (`deadlock_timeout`), and it is run
/// once more. Elsewhere the writes run one after the other, in order, on `database`, which
/// must then be a transaction.
pub async fn run_together(
    database: &impl ConnectionTrait,
    mut writes: Vec<SubQueryStatement>,
) -> std::result::Result<(), DbErr> {
    let backend = database.get_database_backend();
    if backend != DbBackend::Postgres {
        for write in writes {
            database.execute_raw(build(backend, write)).await?;
        }
        return Ok(());
    }
    let Some(last) = writes.pop() else {
        return Ok(());
    };
    let statement = if writes.is_empty() {
        build(backend, last)
    } else {
        let mut with = WithClause::new();
        for (index, write) in writes.into_iter().enumerate() {
            with.cte(
                CommonTableExpression::new()
                    .query(write)
                    .table_name(format!("write_{index}"))
                    .to_owned(),
            );
        }
        backend.build(&with.query(last))
    };
    match database.execute_raw(statement.clone()).await {
        Err(error) if is_deadlock(&error) => {
            tracing::warn!("a statement was ended to break a deadlock; running it again");
            database.execute_raw(statement).await?;
        }
        outcome => {
            outcome?;
        }
    }
    Ok(())
}

fn build(backend: DbBackend, write: SubQueryStatement) -> Statement {
    match write {
        SubQueryStatement::InsertStatement(statement) => backend.build(&statement),
        SubQueryStatement::UpdateStatement(statement) => backend.build(&statement),
        SubQueryStatement::DeleteStatement(statement) => backend.build(&statement),
        SubQueryStatement::SelectStatement(statement) => backend.build(&statement),
        SubQueryStatement::WithStatement(statement) => backend.build(&statement),
    }
}

/// Whether PostgreSQL ended the statement to break a deadlock (SQLSTATE 40P01).
fn is_deadlock(error: &DbErr) -> bool {
    match error {
        DbErr::Exec(RuntimeErr::SqlxError(error)) | DbErr::Query(RuntimeErr::SqlxError(error)) => {
            error
                .as_database_error()
                .and_then(|error| error.code())
                .as_deref()
                == Some("40P01")
        }
        _ => false,
    }
}

/// Applies every migration the database has not seen yet; returns how many ran.
pub async fn migrate(database: &DatabaseConnection) -> Result<usize> {
    let pending = Migrator::get_pending_migrations(database).await?.len();
    Migrator::up(database, None).await?;
    Ok(pending)
}

/// Whether the database answers (`SELECT 1`), for `/healthz`.
pub async fn ping(database: &DatabaseConnection) -> Result<()> {
    database.execute_unprepared("SELECT 1").await?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::testing;
    use sea_orm::{ConnectionTrait, DbBackend, Statement};

    #[tokio::test]
    async fn migrations_apply_once_and_roll_back_cleanly() {
        testing::for_each_database(async |database| {
            let connection = &database.connection;
            // The test database was migrated when it was made: nothing is left to apply.
            assert_eq!(migrate(connection).await.unwrap(), 0);
            assert!(
                Migrator::get_pending_migrations(connection)
                    .await
                    .unwrap()
                    .is_empty()
            );
            let applied = Migrator::get_applied_migrations(connection).await.unwrap();
            assert_eq!(applied.len(), Migrator::migrations().len());

            // Every table exists and starts empty.
            for table in [
                "instances",
                "actors",
                "memberships",
                "posts",
                "votes",
                "received_activities",
                "activities",
                "deliveries",
            ] {
                let row = connection
                    .query_one_raw(Statement::from_string(
                        connection.get_database_backend(),
                        format!("SELECT COUNT(*) AS n FROM {table}"),
                    ))
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(row.try_get::<i64>("", "n").unwrap(), 0, "{table}");
            }

            // Down removes everything, up brings it back.
            Migrator::down(connection, None).await.unwrap();
            assert_eq!(
                Migrator::get_pending_migrations(connection)
                    .await
                    .unwrap()
                    .len(),
                Migrator::migrations().len()
            );
            assert_eq!(
                migrate(connection).await.unwrap(),
                Migrator::migrations().len()
            );
        })
        .await;
    }

    #[tokio::test]
    async fn unique_activitypub_ids_are_enforced() {
        use kindred_entities::received_activity;
        use sea_orm::{ActiveModelTrait, ActiveValue::Set};
        testing::for_each_database(async |database| {
            let row = || received_activity::ActiveModel {
                ap_id: Set("https://a.example/activities/1".to_string()),
                actor_ap_id: Set("https://a.example/users/a".to_string()),
                kind: Set("Follow".to_string()),
                received_at: Set(chrono::Utc::now()),
                ..Default::default()
            };
            row().insert(&database.connection).await.unwrap();
            assert!(row().insert(&database.connection).await.is_err());
        })
        .await;
    }

    #[tokio::test]
    async fn sqlite_file_is_created_in_wal_mode() {
        let directory = tempfile::tempdir().unwrap();
        let mut config = crate::config::Config::default();
        // A folder whose name a URL would misread.
        config.database.data_dir = directory.path().join("nested #1?").join("data%20");
        let connection = connect(&config).await.unwrap();
        migrate(&connection).await.unwrap();
        assert!(config.database.data_dir.join("kindred.sqlite").exists());
        let row = connection
            .query_one_raw(Statement::from_string(
                DbBackend::Sqlite,
                "PRAGMA journal_mode".to_string(),
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.try_get::<String>("", "journal_mode").unwrap(), "wal");
        let row = connection
            .query_one_raw(Statement::from_string(
                DbBackend::Sqlite,
                "PRAGMA synchronous".to_string(),
            ))
            .await
            .unwrap()
            .unwrap();
        // 1 is NORMAL: commits do not wait for fsync.
        assert_eq!(row.try_get::<i32>("", "synchronous").unwrap(), 1);

        // The read connections open the same file, read-only.
        let reads = connect_reads(&connection, 2).await.unwrap();
        let migrations = Migrator::get_applied_migrations(&reads).await.unwrap();
        assert_eq!(migrations.len(), Migrator::migrations().len());
        assert!(
            reads
                .execute_unprepared("CREATE TABLE not_allowed (id INTEGER)")
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn writes_run_together_take_effect_together_or_not_at_all() {
        use crate::federation::inbox::{BodyDigest, record_received_insert};
        use kindred_entities::received_activity;
        use sea_orm::{EntityTrait, PaginatorTrait, QueryTrait, SqlErr, TransactionTrait};
        testing::for_each_database(async |database| {
            let connection = &database.connection;
            let actor = url::Url::parse("https://remote.example/users/ana").unwrap();
            let record = |number: u32| -> SubQueryStatement {
                let id = url::Url::parse(&format!("{actor}/activities/{number}")).unwrap();
                record_received_insert(&id, &actor, "Create", &BodyDigest::of(b"the body"))
                    .into_query()
                    .into()
            };
            // PostgreSQL needs no transaction: the writes are one statement. Elsewhere they
            // are statements of the caller's transaction.
            let run = async |writes: Vec<SubQueryStatement>| {
                if connection.get_database_backend() == DbBackend::Postgres {
                    run_together(connection, writes).await
                } else {
                    let transaction = connection.begin().await.unwrap();
                    let outcome = run_together(&transaction, writes).await;
                    if outcome.is_ok() {
                        transaction.commit().await.unwrap();
                    }
                    outcome
                }
            };
            let stored = async || {
                received_activity::Entity::find()
                    .count(connection)
                    .await
                    .unwrap()
            };

            run(vec![record(1), record(2)]).await.unwrap();
            run(vec![record(3)]).await.unwrap();
            assert_eq!(stored().await, 3);
            run(Vec::new()).await.unwrap();

            // The first write would succeed, the second conflicts: neither takes effect.
            let is_conflict = |error: &DbErr| {
                matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
            };
            let refused = run(vec![record(4), record(2)]).await.unwrap_err();
            assert!(is_conflict(&refused), "{refused}");
            assert_eq!(stored().await, 3);
            // The same when the conflicting write comes first.
            let refused = run(vec![record(3), record(5)]).await.unwrap_err();
            assert!(is_conflict(&refused), "{refused}");
            assert_eq!(stored().await, 3);
        })
        .await;
    }
}
