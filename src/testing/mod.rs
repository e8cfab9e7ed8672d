//! Helpers for Kindred's own tests: fresh databases on SQLite and PostgreSQL, pre-generated key
//! pairs, captured fixtures and an in-process app. Not used by the server itself.

pub mod dataset;
pub mod fixtures;
pub mod pictures;
mod test_app;

pub use test_app::{TEST_PASSWORD, TEST_PUBLIC_URL, TestApp, TestAppBuilder, TestResponse};

use crate::{
    app,
    config::{self, Config},
    context::AppState,
    crypto::KeypairSource,
    database,
    error::{Error, Result},
};
use activitypub_federation::{config::FederationConfig, http_signatures::Keypair};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use std::{io::Write, sync::OnceLock};
use url::Url;

/// RSA key pairs generated once with OpenSSL and committed, because generating RSA-2048 keys
/// takes up to a second each. Never use them outside tests.
const TEST_KEYPAIRS_JSON: &str =
    include_str!("../../federation-tests/fixtures/keys/test-keypairs.json");

/// The committed test key pairs.
pub fn test_keypairs() -> Vec<Keypair> {
    let parsed: Vec<serde_json::Value> =
        serde_json::from_str(TEST_KEYPAIRS_JSON).unwrap_or_default();
    parsed
        .iter()
        .filter_map(|pair| {
            Some(Keypair {
                private_key: pair.get("private_key")?.as_str()?.to_string(),
                public_key: pair.get("public_key")?.as_str()?.to_string(),
            })
        })
        .collect()
}

/// A key source for test instances: the committed pairs, handed out in turn.
pub fn test_key_source() -> KeypairSource {
    KeypairSource::pregenerated(test_keypairs())
}

/// Which database a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database made for one test, removed again by [`TestDatabase::remove`].
pub struct TestDatabase {
    pub backend: Backend,
    pub url: String,
    pub connection: DatabaseConnection,
    /// Keeps the SQLite file's folder alive for the test's duration.
    _directory: Option<tempfile::TempDir>,
    /// For PostgreSQL: the administrative URL and the database name, to drop it afterwards.
    postgres_admin: Option<(String, String)>,
}

impl TestDatabase {
    /// A fresh, migrated SQLite database in a temporary folder.
    pub async fn sqlite() -> Result<TestDatabase> {
        let directory = tempfile::tempdir().map_err(Error::internal)?;
        let url = format!(
            "sqlite://{}?mode=rwc",
            directory.path().join("kindred.sqlite").display()
        );
        let connection = database::connect_url(&url, 1).await?;
        database::migrate(&connection).await?;
        Ok(TestDatabase {
            backend: Backend::Sqlite,
            url,
            connection,
            _directory: Some(directory),
            postgres_admin: None,
        })
    }

    /// A fresh, migrated PostgreSQL database on the server at `admin_url`.
    pub async fn postgres(admin_url: &str) -> Result<TestDatabase> {
        let name = format!("kindred_test_{}", uuid::Uuid::new_v4().simple());
        let admin = database::connect_url(admin_url, 1).await?;
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await?;
        admin.close().await?;
        let mut url = Url::parse(admin_url).map_err(Error::internal)?;
        url.set_path(&format!("/{name}"));
        let connection = database::connect_url(url.as_str(), 5).await?;
        database::migrate(&connection).await?;
        Ok(TestDatabase {
            backend: Backend::Postgres,
            url: url.to_string(),
            connection,
            _directory: None,
            postgres_admin: Some((admin_url.to_string(), name)),
        })
    }

    /// Closes the connection and drops a PostgreSQL test database.
    pub async fn remove(mut self) -> Result<()> {
        self.connection.clone().close().await?;
        if let Some((admin_url, name)) = self.postgres_admin.take() {
            drop_postgres_database(&admin_url, &name).await?;
        }
        Ok(())
    }
}

/// A PostgreSQL test database is dropped even when its test panicked, so failed runs do not
/// leave databases behind on the server.
impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = self.postgres_admin.take()
            && let Err(error) =
                run_on_own_runtime(async move { drop_postgres_database(&admin_url, &name).await })
        {
            let _ = writeln!(
                std::io::stderr(),
                "cannot drop a PostgreSQL test database: {error}"
            );
        }
    }
}

async fn drop_postgres_database(admin_url: &str, name: &str) -> Result<()> {
    let admin = database::connect_url(admin_url, 1).await?;
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await?;
    admin.close().await?;
    Ok(())
}

/// Runs `work` to the end on a runtime of its own, in a thread of its own: for `Drop`, which
/// cannot await, and may run on a runtime whose only thread it is blocking.
fn run_on_own_runtime<T: Send + 'static>(
    work: impl std::future::Future<Output = Result<T>> + Send + 'static,
) -> Result<T> {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(Error::internal)?
            .block_on(work)
    })
    .join()
    .map_err(|_| Error::internal("the clean-up thread panicked"))?
}

/// How many activities still wait for their fan-out in the database at `url`, read over a
/// connection of its own (see [`run_on_own_runtime`]).
pub fn count_pending_fan_outs_blocking(url: &str) -> Result<u64> {
    let url = url.to_string();
    run_on_own_runtime(async move {
        let connection = database::connect_url(&url, 1).await?;
        let summary = crate::federation::delivery::queue_summary(&connection).await?;
        connection.close().await?;
        Ok(summary.fan_outs_pending)
    })
}

/// The backends this test run covers: SQLite always, PostgreSQL when `TEST_POSTGRES_URL` names
/// a server. Says loudly (on stderr, past the test harness's capture) when it is SQLite only.
pub fn backends_under_test() -> Vec<Backend> {
    if config::postgres_url_for_tests().is_some() {
        vec![Backend::Sqlite, Backend::Postgres]
    } else {
        static WARNED: OnceLock<()> = OnceLock::new();
        WARNED.get_or_init(|| {
            let _ = writeln!(
                std::io::stderr(),
                "\n*** TEST_POSTGRES_URL is not set: database tests run on SQLite ONLY ***\n"
            );
        });
        vec![Backend::Sqlite]
    }
}

/// A fresh database of the given backend.
pub async fn fresh_database(backend: Backend) -> Result<TestDatabase> {
    match backend {
        Backend::Sqlite => TestDatabase::sqlite().await,
        Backend::Postgres => {
            let admin_url = config::postgres_url_for_tests()
                .ok_or_else(|| Error::internal("TEST_POSTGRES_URL is not set"))?;
            TestDatabase::postgres(&admin_url).await
        }
    }
}

/// Runs `test` once per backend under test, each time on a fresh database, and removes the
/// database afterwards. A failing assertion inside `test` fails the test as usual.
pub async fn for_each_database<F>(test: F)
where
    F: AsyncFn(&TestDatabase),
{
    for backend in backends_under_test() {
        let database = match fresh_database(backend).await {
            Ok(database) => database,
            Err(error) => panic!("cannot create a {backend:?} test database: {error}"),
        };
        test(&database).await;
        if let Err(error) = database.remove().await {
            panic!("cannot remove a {backend:?} test database: {error}");
        }
    }
}

/// Runs `test` once per backend under test (see [`backends_under_test`]); the test builds its
/// own [`TestApp`] on the backend it is given.
pub async fn for_each_backend<F>(test: F)
where
    F: AsyncFn(Backend),
{
    for backend in backends_under_test() {
        test(backend).await;
    }
}

/// The part after `prefix` of the address a `Link: <…>; rel="next"` header names (with
/// `prefix` "/api/v1", the path to call the API's router with; with the host and port, the
/// path for the whole router).
pub fn next_page_path(link: &str, prefix: &str) -> Option<String> {
    link.trim_start_matches('<')
        .split_once(">; rel=\"next\"")
        .and_then(|(url, _)| url.split_once(prefix))
        .map(|(_, rest)| rest.to_string())
}

/// A configuration for a test instance reachable at `public_url`.
pub fn test_config(public_url: &str) -> Result<Config> {
    let mut config = Config::default();
    config.instance.public_url = Url::parse(public_url).map_err(Error::internal)?;
    config.federation.debug = true;
    config.federation.request_timeout = std::time::Duration::from_secs(3);
    // Retry soon, so tests of failing servers do not wait for the production backoff.
    config.delivery.retry_initial = std::time::Duration::from_millis(500);
    config.delivery.retry_max = std::time::Duration::from_secs(2);
    config.log.filter = "warn".to_string();
    // Every instance, peer and browser of a test connects from 127.0.0.1.
    config.http.max_connections_per_address = 1024;
    // Each instance keeps its media apart.
    config.database.data_dir =
        std::env::temp_dir().join(format!("kindred-test-{}", uuid::Uuid::new_v4()));
    Ok(config)
}

/// The federation configuration (and so the whole app state) of a test instance on `database`.
pub async fn test_federation(
    config: Config,
    database: &TestDatabase,
) -> Result<FederationConfig<AppState>> {
    app::prepare_with_database(config, test_key_source(), database.connection.clone()).await
}
