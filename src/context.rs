//! The application state every handler, action and worker reaches, and `Context`, the
//! federation crate's request data around it. It holds connections, configuration, keys,
//! limits and caches, and depends on no handler or federation code: those depend on it.

use crate::{
    caches::{ActorDocumentCache, BlockedHostsCache, RemoteModeratorsCache},
    config::Config,
    crypto::{
        KeypairSource,
        keys::{SigningKeyCache, VerifyingKeyCache},
    },
    database_writer::DatabaseWriter,
    metrics::Metrics,
};
use activitypub_federation::config::Data;
use sea_orm::DatabaseConnection;
use std::sync::Arc;
use tokio::sync::Notify;

/// What every request handler and worker can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// Every write and every transaction goes here.
    pub db: DatabaseConnection,
    /// Plain reads outside a transaction may go here: on SQLite, read-only connections beside
    /// the one writer; on PostgreSQL, the same pool as `db`. Never use it for a read that must
    /// see a transaction still open on `db`, and never while holding a PostgreSQL transaction
    /// (a second connection per request can exhaust the pool).
    pub read_db: DatabaseConnection,
    /// Write transactions committed in batches on a thread of their own (SQLite), for the
    /// busiest paths: see `database_writer.rs`.
    pub writer: Arc<DatabaseWriter>,
    pub config: Arc<Config>,
    pub keys: KeypairSource,
    /// The HTTP client for everything outgoing: it refuses private addresses in production.
    pub http_client: reqwest::Client,
    /// Wakes the delivery worker after new deliveries are committed.
    pub delivery_signal: Arc<Notify>,
    /// Wakes the thread backfill worker after a backfill is scheduled.
    pub backfill_signal: Arc<Notify>,
    pub signing_keys: Arc<SigningKeyCache>,
    /// Remote actors' public keys, parsed once.
    pub verifying_keys: Arc<VerifyingKeyCache>,
    pub metrics: Arc<Metrics>,
    /// Rendered local actor documents, served for a few seconds without a database read.
    pub actor_documents: Arc<ActorDocumentCache>,
    /// The servers whose software (NodeInfo) is to be read, and the tasks reading them.
    pub software_learning: Arc<crate::federation::software::SoftwareLearning>,
    /// NodeInfo's usage figures, counted at most every ten minutes.
    pub usage_statistics: Arc<crate::caches::UsageStatisticsCache>,
    /// Blocked servers, read from the database every few seconds.
    pub blocked_hosts: Arc<BlockedHostsCache>,
    /// Inbox POSTs per remote actor and per remote server.
    pub inbox_limits: Arc<crate::rate_limit::RateLimiter>,
    /// Sign-ups per client address.
    pub registration_limits: Arc<crate::rate_limit::RateLimiter>,
    /// Fetches of unknown inbox signers, per remote server.
    pub actor_fetch_limits: Arc<crate::rate_limit::RateLimiter>,
    /// Requests per client address (pages, anonymous POSTs, inbox POSTs).
    pub address_limits: Arc<crate::rate_limit::RateLimiter>,
    /// Remote groups' moderators, as last fetched, for showing pages.
    pub remote_moderators: Arc<RemoteModeratorsCache>,
    /// Local groups' member inboxes, by the group's `membership_version`.
    pub member_inboxes: Arc<crate::caches::MemberInboxCache>,
    /// Where pictures are kept (the media proxy's cache).
    pub media_store: Arc<dyn crate::media::MediaStore>,
    /// The instance's name, description, registration mode and group-creation policy: the
    /// config's, under what an administrator saved. Read these here, never from `config`.
    pub site_settings: Arc<crate::site_settings::SiteSettingsCache>,
}

/// The federation crate's request data around our state; domain functions take it first.
pub type Context = Data<AppState>;
