//! The running application: shared state, the federation crate's configuration, the HTTP
//! server and the background workers, wired together once at start-up.

use crate::{
    config::Config,
    crypto::KeypairSource,
    database,
    error::{Error, Result},
    federation::{delivery, objects::actor::ApubActor},
    http, instance,
};
use activitypub_federation::{
    config::{Data, FederationConfig, FederationMiddleware},
    resolver::ValidatingDnsResolver,
};
use sea_orm::DatabaseConnection;
use std::{net::SocketAddr, sync::Arc};
use tokio::{net::TcpListener, sync::Notify};

/// What every request handler and worker can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub config: Arc<Config>,
    pub keys: KeypairSource,
    /// Wakes the delivery worker after new deliveries are committed.
    pub delivery_signal: Arc<Notify>,
}

/// The federation crate's request data around our state; domain functions take it first.
pub type Context = Data<AppState>;

/// A started instance: its address and the handles of its server and delivery worker.
pub struct RunningServer {
    pub local_address: SocketAddr,
    pub federation: FederationConfig<AppState>,
    pub server: tokio::task::JoinHandle<std::io::Result<()>>,
    pub delivery_worker: tokio::task::JoinHandle<()>,
}

impl RunningServer {
    /// Stops the server and the worker at once, as a crash would (nothing is flushed).
    pub async fn kill(self) {
        self.server.abort();
        self.delivery_worker.abort();
        let _ = self.server.await;
        let _ = self.delivery_worker.await;
    }
}

/// Installs the process-wide TLS crypto provider that reqwest's rustls uses. Idempotent.
pub fn install_crypto_provider() {
    // Fails only when a provider is installed already, which is what we want anyway.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Builds the federation crate's configuration: our domain, an HTTP client that refuses
/// private addresses in production, signed fetches by the instance actor.
pub async fn federation_config(state: AppState) -> Result<FederationConfig<AppState>> {
    install_crypto_provider();
    let config = state.config.clone();
    let instance_actor = ApubActor::from_row(
        instance::ensure_instance_actor(&state.db, &config, &state.keys).await?,
    )?;
    let mut client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(config.federation.request_timeout)
        .connect_timeout(config.federation.request_timeout)
        .user_agent(format!(
            "Kindred/{} (+{})",
            env!("CARGO_PKG_VERSION"),
            config.instance.public_url
        ))
        .dns_resolver(Arc::new(ValidatingDnsResolver::new(
            Vec::new(),
            !config.federation.debug,
        )));
    for (host, address) in &config.federation.resolve {
        // The port is ignored by reqwest: it comes from the URL.
        client = client.resolve(host, SocketAddr::new(*address, 0));
    }
    let client = client.build().map_err(Error::internal)?;
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

/// Opens the database, applies migrations and prepares the federation configuration.
pub async fn prepare(config: Config, keys: KeypairSource) -> Result<FederationConfig<AppState>> {
    let db = database::connect(&config).await?;
    database::migrate(&db).await?;
    prepare_with_database(config, keys, db).await
}

/// As [`prepare`], on a database that is already connected and migrated.
pub async fn prepare_with_database(
    config: Config,
    keys: KeypairSource,
    db: DatabaseConnection,
) -> Result<FederationConfig<AppState>> {
    let state = AppState {
        db,
        config: Arc::new(config),
        keys,
        delivery_signal: Arc::new(Notify::new()),
    };
    federation_config(state).await
}

/// The complete router, with the federation middleware that hands handlers their `Context`.
pub fn router(federation: &FederationConfig<AppState>) -> axum::Router {
    http::routes(federation.config.clone()).layer(FederationMiddleware::new(federation.clone()))
}

/// Serves on `listener` and runs the delivery worker, both as background tasks.
pub async fn start(
    federation: FederationConfig<AppState>,
    listener: TcpListener,
) -> Result<RunningServer> {
    let local_address = listener.local_addr().map_err(Error::internal)?;
    let app = router(&federation);
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    let delivery_worker = tokio::spawn(delivery::run_worker(federation.to_request_data()));
    Ok(RunningServer {
        local_address,
        federation,
        server,
        delivery_worker,
    })
}

/// `kindred serve`: everything, until Ctrl-C or SIGTERM.
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
    let delivery_worker = tokio::spawn(delivery::run_worker(federation.to_request_data()));
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .map_err(Error::internal)?;
    // Deliveries in flight are attempted again after the restart: they stay in the database
    // until they succeed.
    delivery_worker.abort();
    tracing::info!("Kindred stopped");
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
