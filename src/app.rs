//! The running application: the state (`context.rs`), the federation crate's configuration,
//! the HTTP server and the delivery worker, wired together once at start-up.

use crate::{
    caches::ActorDocumentCache,
    config::Config,
    context::{AppState, Context},
    crypto::{
        KeypairSource,
        keys::{SigningKeyCache, VerifyingKeyCache},
    },
    database,
    database_writer::DatabaseWriter,
    error::{Error, Result},
    federation::{address_guard::GuardedResolver, delivery, objects::actor::ApubActor},
    http, instance,
    metrics::Metrics,
};
use activitypub_federation::config::{FederationConfig, FederationMiddleware};
use sea_orm::{DatabaseConnection, DbBackend};
use std::{net::SocketAddr, sync::Arc};
use tokio::{net::TcpListener, sync::Notify};

/// A started instance: its address and the handles of its server and worker tasks.
pub struct RunningServer {
    pub local_address: SocketAddr,
    pub federation: FederationConfig<AppState>,
    pub server: tokio::task::JoinHandle<std::io::Result<()>>,
    pub workers: Vec<tokio::task::JoinHandle<()>>,
}

impl RunningServer {
    /// Stops the server and the workers at once, as a crash would (nothing is flushed).
    pub async fn kill(self) {
        self.server.abort();
        let _ = self.server.await;
        for worker in self.workers {
            worker.abort();
            let _ = worker.await;
        }
    }
}

/// Installs the process-wide TLS crypto provider that reqwest's rustls uses. Idempotent.
pub fn install_crypto_provider() {
    // Fails only when a provider is installed already, which is what we want anyway.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The outgoing HTTP client: no redirects, timeouts, and a resolver that refuses internal
/// addresses unless federation debug mode is on (SSRF protection, see `address_guard.rs`).
pub fn http_client(config: &Config) -> Result<reqwest::Client> {
    install_crypto_provider();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        // A proxy from the environment would resolve names itself, past the address guard.
        .no_proxy()
        .timeout(config.federation.request_timeout)
        .connect_timeout(config.federation.request_timeout)
        .pool_max_idle_per_host(4)
        .user_agent(format!(
            "Kindred/{} (+{})",
            env!("CARGO_PKG_VERSION"),
            config.instance.public_url
        ))
        // Every name resolves through the guard, the fixed test names too, so the address
        // check also covers them; IP literals are checked before each request.
        .dns_resolver(Arc::new(GuardedResolver::new(config)));
    client.build().map_err(Error::internal)
}

/// Opens the database, applies migrations and prepares the federation configuration.
pub async fn prepare(config: Config, keys: KeypairSource) -> Result<FederationConfig<AppState>> {
    let db = database::connect(&config).await?;
    database::migrate(&db).await?;
    database::refresh_planner_statistics(&db).await?;
    prepare_with_database(config, keys, db).await
}

/// As [`prepare`], on a database that is already connected and migrated: builds the state and
/// the federation crate's configuration (our domain, our client, signed fetches by the
/// instance actor).
pub async fn prepare_with_database(
    config: Config,
    keys: KeypairSource,
    db: DatabaseConnection,
) -> Result<FederationConfig<AppState>> {
    let client = http_client(&config)?;
    let instance_actor =
        ApubActor::from_row(instance::ensure_instance_actor(&db, &config, &keys).await?)?;
    let read_db = database::connect_reads(&db, config.database.sqlite_read_connections).await?;
    let writer = Arc::new(DatabaseWriter::start(db.clone())?);
    let media_store = crate::media::store_from_config(&config)?;
    let site_settings =
        Arc::new(crate::site_settings::SiteSettingsCache::load(&config, read_db.clone()).await?);
    let state = AppState {
        db,
        read_db,
        writer,
        config: Arc::new(config),
        keys,
        http_client: client.clone(),
        delivery_signal: Arc::new(Notify::new()),
        backfill_signal: Arc::new(Notify::new()),
        signing_keys: Arc::new(SigningKeyCache::default()),
        verifying_keys: Arc::new(VerifyingKeyCache::default()),
        metrics: Arc::new(Metrics::new().map_err(Error::internal)?),
        actor_documents: Arc::new(ActorDocumentCache::default()),
        usage_statistics: Arc::default(),
        software_learning: Arc::default(),
        blocked_hosts: Arc::new(Default::default()),
        inbox_limits: Arc::new(Default::default()),
        registration_limits: Arc::new(Default::default()),
        actor_fetch_limits: Arc::new(Default::default()),
        address_limits: Arc::new(Default::default()),
        remote_moderators: Arc::new(Default::default()),
        member_inboxes: Arc::default(),
        media_store,
        site_settings,
    };
    let config = state.config.clone();
    FederationConfig::builder()
        .domain(config.domain())
        .app_data(state)
        .debug(config.federation.debug)
        .http_fetch_limit(config.federation.http_fetch_limit)
        .request_timeout(config.federation.request_timeout)
        .client(client.into())
        .http_signature_compat(true)
        .signed_fetch_actor(&instance_actor)
        .build()
        .await
        .map_err(Error::internal)
}

/// The complete router, with the federation middleware that hands handlers their `Context`.
pub fn router(federation: &FederationConfig<AppState>) -> axum::Router {
    http::routes(federation.config.clone()).layer(FederationMiddleware::new(federation.clone()))
}

/// Starts the worker tasks: deliveries, thread backfills, the federation-health samples, the
/// hourly purge, and the reading of remote groups' histories that a stop interrupted.
/// `kindred serve` runs them unless `delivery.worker` is off (separate `kindred worker`
/// processes run them then).
fn spawn_workers(context: Context) -> Vec<tokio::task::JoinHandle<()>> {
    let history_context = context.clone();
    vec![
        tokio::spawn(delivery::run_worker(context.clone())),
        tokio::spawn(crate::federation::backfill::run_backfill_worker(
            context.clone(),
        )),
        tokio::spawn(crate::federation::delivery::health::run_health_sampler(
            context.clone(),
        )),
        tokio::spawn(purge_deleted_content_hourly(context)),
        tokio::spawn(async move {
            if let Err(error) =
                crate::federation::history::read_missing_histories(&history_context).await
            {
                tracing::warn!(%error, "could not look for unread group histories");
            }
        }),
    ]
}

/// The worker tasks of a process that serves HTTP: none when `delivery.worker` is off.
fn spawn_workers_if_configured(
    federation: &FederationConfig<AppState>,
) -> Vec<tokio::task::JoinHandle<()>> {
    if federation.config.delivery.worker {
        spawn_workers(federation.to_request_data())
    } else {
        Vec::new()
    }
}

/// Every hour, wipes the content of posts deleted longer ago than
/// `instance.deleted_content_kept_days` (until then their authors can restore them), keeps
/// the cache of remote pictures within its limits, forgets unused uploads and replies whose
/// parent never came.
async fn purge_deleted_content_hourly(context: Context) {
    let mut hourly = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        hourly.tick().await;
        let kept =
            chrono::Duration::days(i64::from(context.config.instance.deleted_content_kept_days));
        match crate::groups::posts::purge_deleted_content(&context.db, chrono::Utc::now() - kept)
            .await
        {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "purged the content of deleted posts"),
            Err(error) => tracing::warn!(%error, "could not purge deleted posts' content"),
        }
        // The cache of remote pictures, by age and total size.
        match crate::federation::media_proxy::evict(&context).await {
            Ok(0) => {}
            Ok(evicted) => tracing::info!(evicted, "evicted cached remote pictures"),
            Err(error) => tracing::warn!(%error, "could not evict cached pictures"),
        }
        // Pictures uploaded a day ago that no post or profile took.
        match crate::media::uploads::forget_unused(&context.db, context.media_store.as_ref()).await
        {
            Ok(0) => {}
            Ok(forgotten) => tracing::info!(forgotten, "forgot unused uploads"),
            Err(error) => tracing::warn!(%error, "could not forget unused uploads"),
        }
        // Replies whose parent never came, however long their thread's servers were asked.
        match crate::federation::remote_posts::forget_stale_waiting_replies(
            &context.db,
            chrono::Utc::now() - kept,
        )
        .await
        {
            Ok(0) => {}
            Ok(forgotten) => tracing::info!(forgotten, "forgot replies whose parent never came"),
            Err(error) => tracing::warn!(%error, "could not forget stale waiting replies"),
        }
        // SQLite plans with the statistics `PRAGMA optimize` keeps (it analyses what changed
        // enough); without them it takes `parent_id IS NULL` for a rare value and reads every
        // thread of a person's groups to sort them. PostgreSQL's autovacuum does this itself.
        if let Err(error) = crate::database::refresh_planner_statistics(&context.db).await {
            tracing::warn!(%error, "could not refresh the query planner's statistics");
        }
    }
}

/// Serves on `listener` and runs the delivery worker, both as background tasks.
pub async fn start(
    federation: FederationConfig<AppState>,
    listener: TcpListener,
) -> Result<RunningServer> {
    let local_address = listener.local_addr().map_err(Error::internal)?;
    let app = router(&federation);
    let settings = federation.config.http.clone();
    let server = tokio::spawn(async move {
        http::server::serve(listener, app, &settings, std::future::pending()).await
    });
    let workers = spawn_workers_if_configured(&federation);
    Ok(RunningServer {
        local_address,
        federation,
        server,
        workers,
    })
}

/// `kindred serve`: HTTP (and, unless `delivery.worker` is off, delivery) until Ctrl-C or
/// SIGTERM.
pub async fn serve(config: Config) -> Result<()> {
    if config.federation.debug {
        tracing::warn!(
            "federation.debug is on: plain http and private addresses are allowed; never use this in production"
        );
    }
    let listen = config.http.listen;
    let federation = prepare(config, KeypairSource::Generate).await?;
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|error| Error::internal(format!("cannot listen on {listen}: {error}")))?;
    tracing::info!(
        "Kindred listening on {listen}, public URL {}",
        federation.config.instance.public_url
    );
    let app = router(&federation);
    let workers = spawn_workers_if_configured(&federation);
    http::server::serve(listener, app, &federation.config.http, shutdown_signal())
        .await
        .map_err(Error::internal)?;
    // Deliveries in flight are attempted again after the restart: they stay in the database
    // until they succeed.
    for worker in workers {
        worker.abort();
    }
    tracing::info!("Kindred stopped");
    Ok(())
}

/// `kindred worker`: only the delivery worker, for running several against one PostgreSQL.
pub async fn work(config: Config) -> Result<()> {
    let federation = prepare(config, KeypairSource::Generate).await?;
    if federation.db.get_database_backend() == DbBackend::Sqlite {
        tracing::warn!(
            "kindred worker on SQLite: make sure no `kindred serve` with delivery.worker = true sends from the same file"
        );
    }
    tracing::info!("Kindred delivery worker started");
    let workers = spawn_workers(federation.to_request_data());
    shutdown_signal().await;
    for worker in workers {
        worker.abort();
    }
    tracing::info!("Kindred delivery worker stopped");
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}
