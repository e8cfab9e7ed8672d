//! Typed configuration, loaded once at start-up from `config/defaults.toml`, an optional file
//! and `KINDRED_*` environment variables. This is the only place that reads the environment.

use serde::{Deserialize, Serialize};
use std::{
    collections::BTreeMap,
    fmt,
    net::{IpAddr, SocketAddr},
    path::{Path, PathBuf},
    time::Duration,
};
use url::Url;

/// The defaults, compiled in so that the binary runs anywhere without the source tree.
pub const DEFAULTS_TOML: &str = include_str!("../config/defaults.toml");

/// The prefix of the environment variables that override configuration keys.
const ENVIRONMENT_PREFIX: &str = "KINDRED_";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub instance: InstanceConfig,
    pub http: HttpConfig,
    pub database: DatabaseConfig,
    pub federation: FederationConfig,
    pub delivery: DeliveryConfig,
    pub backfill: BackfillConfig,
    pub media: MediaConfig,
    pub log: LogConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceConfig {
    pub public_url: Url,
    pub name: String,
    pub description: String,
    pub registration: RegistrationMode,
    pub group_creation: GroupCreation,
    /// Sign-ups accepted per hour from one client address (0: no limit).
    pub registrations_per_hour_per_address: u32,
    /// Days a deleted post's content is kept, hidden behind its tombstone, so its author can
    /// restore it (as Lemmy lets authors); then it is purged.
    pub deleted_content_kept_days: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegistrationMode {
    Open,
    Approval,
    Closed,
}

/// Who may create a group from the web interface or the API (`kindred group create` always
/// can).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupCreation {
    /// Every signed-in user, as on Lemmy by default.
    Anyone,
    /// Only administrators.
    Admins,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    pub listen: SocketAddr,
    pub max_body_bytes: usize,
    pub metrics: bool,
    /// How long a connection may take to send a request's headers, and how long an idle
    /// keep-alive connection is kept (slowloris).
    #[serde(rename = "header_read_timeout_seconds", with = "whole_seconds")]
    pub header_read_timeout: Duration,
    /// How long a request's body may take to arrive.
    #[serde(rename = "body_read_timeout_seconds", with = "whole_seconds")]
    pub body_read_timeout: Duration,
    /// How long one request may take in all before it is answered 408.
    #[serde(rename = "request_timeout_seconds", with = "whole_seconds")]
    pub request_timeout: Duration,
    /// Connections served at once; more wait to be accepted.
    pub max_connections: usize,
    /// Connections one client address may hold at once (trusted proxies excepted); more are
    /// closed at once.
    pub max_connections_per_address: usize,
    /// Page and API reads one client address may make per minute (0: no limit).
    pub reads_per_minute_per_address: u32,
    /// POSTs one client address may make per minute while not signed in, to forms and the
    /// API (0: no limit).
    pub anonymous_posts_per_minute_per_address: u32,
    /// POSTs to the inboxes one client address may make per minute, before any signature is
    /// checked (0: no limit). Every server behind one address shares it.
    pub inbox_posts_per_minute_per_address: u32,
    /// Reverse proxies whose `X-Forwarded-For` names the client (their own address does not).
    pub trusted_proxies: Vec<IpAddr>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    pub url: String,
    pub data_dir: PathBuf,
    pub max_connections: u32,
    /// Read-only connections beside SQLite's one writer (WAL readers run in parallel); 0:
    /// reads go through the writer's connection too.
    pub sqlite_read_connections: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FederationConfig {
    pub debug: bool,
    pub http_fetch_limit: u32,
    #[serde(rename = "request_timeout_seconds", with = "whole_seconds")]
    pub request_timeout: Duration,
    pub resolve: BTreeMap<String, IpAddr>,
    /// When not empty, the only servers (hosts, with the port if they have one) this instance
    /// federates with; every other is refused in and out.
    pub allowlist: Vec<String>,
    /// A post that mentions more people than this is refused as spam.
    pub max_mentions_per_post: usize,
    /// Inbox POSTs one remote actor may make in a minute (a burst of that many, refilled
    /// evenly); more are answered 429 with `Retry-After`.
    pub inbox_limit_per_actor_per_minute: u32,
    /// The same for all actors of one remote server together.
    pub inbox_limit_per_instance_per_minute: u32,
    /// Fetches of actors that signed an inbox POST but are not known here yet (or whose key
    /// changed), per remote server and minute; more are answered 429 before anything is
    /// fetched.
    pub actor_fetches_per_instance_per_minute: u32,
    /// When a person here joins a group on another server, this many of its latest threads
    /// are read from its outbox, so they do not find an empty group (0: none).
    pub history_threads_on_join: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryConfig {
    pub concurrency: usize,
    pub per_instance_concurrency: usize,
    #[serde(rename = "retry_initial_seconds", with = "whole_seconds")]
    pub retry_initial: Duration,
    #[serde(rename = "retry_max_seconds", with = "whole_seconds")]
    pub retry_max: Duration,
    #[serde(rename = "give_up_after_seconds", with = "whole_seconds")]
    pub give_up_after: Duration,
    #[serde(rename = "dead_after_seconds", with = "whole_seconds")]
    pub dead_after: Duration,
    #[serde(rename = "probe_interval_seconds", with = "whole_seconds")]
    pub probe_interval: Duration,
    pub worker: bool,
}

/// The bounds of a thread backfill (`federation/backfill/`): every run stops at the first it
/// reaches, whatever the remote servers serve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackfillConfig {
    /// The most posts one run stores (or considers), however long the thread.
    pub max_posts: usize,
    /// The longest `inReplyTo` chain walked up, and the deepest `replies` followed down.
    pub max_depth: usize,
    /// How long one run may take in all.
    #[serde(rename = "max_run_seconds", with = "whole_seconds")]
    pub max_run_time: Duration,
    /// The most requests one run makes to any one remote server.
    pub max_requests_per_host: usize,
    /// How many backfills one worker runs at once.
    pub concurrency: usize,
    /// How long after a thread was last filled in a person may ask for it again.
    #[serde(rename = "refresh_after_seconds", with = "whole_seconds")]
    pub refresh_after: Duration,
}

/// Pictures: what the media proxy fetches and keeps (`media/`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaConfig {
    /// The largest remote file the media proxy fetches, in bytes.
    pub max_remote_bytes: u64,
    /// The most pixels (width × height) a picture may have; more is refused before decoding.
    pub max_pixels: u64,
    /// Pictures are shown at most this many pixels wide and high (shrunk, re-encoded).
    pub max_side: u32,
    /// Remote pictures are kept this long after they were last shown, in days.
    pub cache_max_age_days: u32,
    /// The most bytes the cache of remote pictures holds; the least recently shown go first.
    pub cache_max_bytes: u64,
    /// The largest picture a local person may upload, in bytes (before it is re-encoded).
    pub max_upload_bytes: u64,
    /// Where media is kept: a directory under `database.data_dir`, or an S3-compatible store.
    pub store: MediaStoreKind,
    /// The S3 bucket (with `store = "s3"`); it must exist.
    pub s3_bucket: String,
    /// The S3 endpoint (`https://s3.eu-west-1.amazonaws.com`, or another provider's); empty
    /// means Amazon's for `s3_region`.
    pub s3_endpoint: String,
    pub s3_region: String,
    /// The credentials; empty means the usual `AWS_*` environment variables.
    pub s3_access_key_id: String,
    pub s3_secret_access_key: String,
    /// Keys are stored under this prefix in the bucket (`kindred/`), so that a bucket can be
    /// shared with other things.
    pub s3_prefix: String,
}

/// Where media is kept (`media.store`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaStoreKind {
    /// Files under `database.data_dir`/media.
    Filesystem,
    /// An S3-compatible object store, which several `kindred serve` processes can share.
    S3,
}

impl MediaConfig {
    /// The largest multipart request a form with pictures may send: four pictures at their
    /// limit, and room for the text.
    pub fn max_upload_request_bytes(&self) -> usize {
        usize::try_from(self.max_upload_bytes.saturating_mul(4) + 256 * 1024).unwrap_or(usize::MAX)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    pub filter: String,
    /// `text` (one readable line an event) or `json` (one JSON object a line, for log
    /// collectors).
    pub format: LogFormat,
}

/// How log lines are written (`log.format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl Default for Config {
    /// The same values as `config/defaults.toml`; a test keeps the two in agreement.
    fn default() -> Self {
        Config {
            instance: InstanceConfig {
                public_url: default_public_url(),
                name: "Kindred".to_string(),
                description: "A Kindred instance: groups for communities of practice.".to_string(),
                registration: RegistrationMode::Closed,
                group_creation: GroupCreation::Anyone,
                registrations_per_hour_per_address: 10,
                deleted_content_kept_days: 30,
            },
            http: HttpConfig {
                listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
                max_body_bytes: 1024 * 1024,
                metrics: true,
                header_read_timeout: Duration::from_secs(10),
                body_read_timeout: Duration::from_secs(30),
                request_timeout: Duration::from_secs(60),
                max_connections: 4096,
                max_connections_per_address: 64,
                reads_per_minute_per_address: 600,
                anonymous_posts_per_minute_per_address: 30,
                inbox_posts_per_minute_per_address: 6000,
                trusted_proxies: Vec::new(),
            },
            database: DatabaseConfig {
                url: String::new(),
                data_dir: PathBuf::from("data"),
                max_connections: 10,
                sqlite_read_connections: 4,
            },
            federation: FederationConfig {
                debug: true,
                http_fetch_limit: 20,
                request_timeout: Duration::from_secs(10),
                resolve: BTreeMap::new(),
                allowlist: Vec::new(),
                max_mentions_per_post: 20,
                inbox_limit_per_actor_per_minute: 120,
                inbox_limit_per_instance_per_minute: 3000,
                actor_fetches_per_instance_per_minute: 60,
                history_threads_on_join: 50,
            },
            delivery: DeliveryConfig {
                concurrency: 64,
                per_instance_concurrency: 4,
                retry_initial: Duration::from_secs(10),
                retry_max: Duration::from_secs(3600),
                give_up_after: Duration::from_secs(48 * 3600),
                dead_after: Duration::from_secs(24 * 3600),
                probe_interval: Duration::from_secs(3600),
                worker: true,
            },
            backfill: BackfillConfig {
                max_posts: 500,
                max_depth: 100,
                max_run_time: Duration::from_secs(120),
                max_requests_per_host: 600,
                concurrency: 2,
                refresh_after: Duration::from_secs(600),
            },
            media: MediaConfig {
                max_remote_bytes: 10 * 1024 * 1024,
                max_pixels: 40_000_000,
                max_side: 1600,
                cache_max_age_days: 30,
                cache_max_bytes: 1024 * 1024 * 1024,
                max_upload_bytes: 16 * 1024 * 1024,
                store: MediaStoreKind::Filesystem,
                s3_bucket: String::new(),
                s3_endpoint: String::new(),
                s3_region: "us-east-1".to_string(),
                s3_access_key_id: String::new(),
                s3_secret_access_key: String::new(),
                s3_prefix: String::new(),
            },
            log: LogConfig {
                filter: "info,sqlx::postgres::notice=warn".to_string(),
                format: LogFormat::Text,
            },
        }
    }
}

#[allow(clippy::expect_used)]
fn default_public_url() -> Url {
    Url::parse("http://localhost:8080").expect("a constant URL parses")
}

impl Config {
    /// Loads the configuration the way `kindred` does at start-up: defaults, then the file
    /// (when given), then the process's `KINDRED_*` environment variables.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let file_contents = match file {
            Some(path) => Some((
                path.display().to_string(),
                std::fs::read_to_string(path).map_err(|error| {
                    ConfigError(format!("cannot read {}: {error}", path.display()))
                })?,
            )),
            None => None,
        };
        let environment = std::env::vars().filter(|(name, _)| name.starts_with(ENVIRONMENT_PREFIX));
        Self::load_from(
            file_contents
                .as_ref()
                .map(|(name, text)| (name.as_str(), text.as_str())),
            environment,
        )
    }

    /// Loads from the given file text (named for messages) and environment variables, on top of
    /// the defaults. Separate from [`Config::load`] so tests can feed it exactly what they want.
    pub fn load_from(
        file: Option<(&str, &str)>,
        environment: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut merged: toml::Table = toml::from_str(DEFAULTS_TOML)
            .map_err(|error| ConfigError(format!("built-in defaults are broken: {error}")))?;
        let defaults = merged.clone();

        if let Some((file_name, text)) = file {
            let overrides: toml::Table = toml::from_str(text)
                .map_err(|error| ConfigError(format!("{file_name}: {error}")))?;
            merge_file_into(&mut merged, &defaults, overrides, file_name)?;
        }

        let mut environment: Vec<(String, String)> = environment
            .into_iter()
            .filter(|(name, _)| name.starts_with(ENVIRONMENT_PREFIX))
            .collect();
        environment.sort();
        for (name, raw_value) in environment {
            apply_environment_variable(&mut merged, &defaults, &name, &raw_value)?;
        }

        let mut config: Config = serde_path_to_error::deserialize(toml::Value::Table(merged))
            .map_err(|error| ConfigError(format!("`{}`: {}", error.path(), error.inner())))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what types cannot say, and puts hosts in the one form they are compared in.
    fn validate(&mut self) -> Result<(), ConfigError> {
        // Hosts are compared in canonical form (see `hosts.rs`): `Lemmy.Example.` is
        // `lemmy.example`, and a malformed entry stops start-up rather than matching nothing.
        for allowed in &mut self.federation.allowlist {
            *allowed = crate::hosts::parse_host(allowed).map_err(|_| {
                ConfigError(format!(
                    "`federation.allowlist`: {allowed:?} is not a host name (like lemmy.example or friends.example:8443)"
                ))
            })?;
        }
        let url = &self.instance.public_url;
        if url.scheme() != "https" && url.scheme() != "http" {
            return Err(ConfigError(
                "`instance.public_url` must start with https:// (or http:// in debug mode)".into(),
            ));
        }
        if url.scheme() == "http" && !self.federation.debug {
            return Err(ConfigError(
                "`instance.public_url` must use https:// unless `federation.debug` is true".into(),
            ));
        }
        if url.host_str().is_none_or(|host| host.ends_with('.'))
            || url.path() != "/"
            || url.query().is_some()
        {
            return Err(ConfigError(
                "`instance.public_url` must be a bare origin such as https://kindred.example"
                    .into(),
            ));
        }
        if !self.federation.resolve.is_empty() && !self.federation.debug {
            return Err(ConfigError(
                "`federation.resolve` is only allowed when `federation.debug` is true".into(),
            ));
        }
        if self.delivery.concurrency == 0 || self.delivery.per_instance_concurrency == 0 {
            return Err(ConfigError(
                "`delivery.concurrency` and `delivery.per_instance_concurrency` must be at least 1"
                    .into(),
            ));
        }
        if self.http.header_read_timeout.is_zero()
            || self.http.body_read_timeout.is_zero()
            || self.http.request_timeout.is_zero()
            || self.http.max_connections == 0
            || self.http.max_connections_per_address == 0
        {
            return Err(ConfigError(
                "the `http` timeouts and `http.max_connections` must be above zero".into(),
            ));
        }
        if self.media.store == MediaStoreKind::S3 && self.media.s3_bucket.trim().is_empty() {
            return Err(ConfigError(
                "`media.store` is \"s3\": `media.s3_bucket` must name the bucket".into(),
            ));
        }
        if self.http.max_body_bytes < 1024 {
            return Err(ConfigError(
                "`http.max_body_bytes` must be at least 1024".into(),
            ));
        }
        Ok(())
    }

    /// The instance's domain as it appears in handles and ids: the host, plus the port when the
    /// public URL names one (`localhost:8080`).
    pub fn domain(&self) -> String {
        let url = &self.instance.public_url;
        let host = url.host_str().unwrap_or_default();
        match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        }
    }

    /// The public URL with `path` appended, e.g. `url_for("/groups/repair")`.
    pub fn url_for(&self, path: &str) -> Url {
        let mut url = self.instance.public_url.clone();
        url.set_path(path);
        url
    }
}

/// The S3-compatible server the test suite may use (`TEST_S3_ENDPOINT`, with the bucket
/// `TEST_S3_BUCKET`, `kindred-test` by default), if any. `.ci/run` starts one. Only tests call
/// this.
pub fn s3_for_tests() -> Option<(String, String)> {
    let endpoint = std::env::var("TEST_S3_ENDPOINT")
        .ok()
        .filter(|url| !url.is_empty())?;
    let bucket = std::env::var("TEST_S3_BUCKET")
        .ok()
        .filter(|bucket| !bucket.is_empty())
        .unwrap_or_else(|| "kindred-test".to_string());
    Some((endpoint, bucket))
}

/// The PostgreSQL server the test suite may use (`TEST_POSTGRES_URL`), if any. Only tests call
/// this; it lives here so that reading the environment stays in one file.
pub fn postgres_url_for_tests() -> Option<String> {
    std::env::var("TEST_POSTGRES_URL")
        .ok()
        .filter(|url| !url.is_empty())
}

/// Why the configuration could not be loaded; the message names the key or variable at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "configuration error: {}", self.0)
    }
}

impl std::error::Error for ConfigError {}

/// Copies every key of `overrides` into `merged`, refusing sections and keys the defaults do
/// not have. Map-valued keys (like `federation.resolve`) are replaced whole.
fn merge_file_into(
    merged: &mut toml::Table,
    defaults: &toml::Table,
    overrides: toml::Table,
    file_name: &str,
) -> Result<(), ConfigError> {
    for (section_name, section_value) in overrides {
        let Some(toml::Value::Table(default_section)) = defaults.get(&section_name) else {
            return Err(ConfigError(format!(
                "{file_name}: unknown section `{section_name}`"
            )));
        };
        let toml::Value::Table(section_overrides) = section_value else {
            return Err(ConfigError(format!(
                "{file_name}: `{section_name}` must be a section ([{section_name}])"
            )));
        };
        for (key, value) in section_overrides {
            if !default_section.contains_key(&key) {
                return Err(ConfigError(format!(
                    "{file_name}: unknown key `{section_name}.{key}`"
                )));
            }
            if let Some(toml::Value::Table(target)) = merged.get_mut(&section_name) {
                target.insert(key, value);
            }
        }
    }
    Ok(())
}

/// Applies `KINDRED_SECTION_KEY=value`. A value for a string key is taken as written; any other
/// value is read as a TOML value (`true`, `25`, `{ "a.test" = "127.0.0.2" }`).
fn apply_environment_variable(
    merged: &mut toml::Table,
    defaults: &toml::Table,
    name: &str,
    raw_value: &str,
) -> Result<(), ConfigError> {
    let lowered = name[ENVIRONMENT_PREFIX.len()..].to_lowercase();
    let unknown = || ConfigError(format!("unknown environment variable `{name}`"));
    let (section_name, key) = lowered.split_once('_').ok_or_else(unknown)?;
    let Some(toml::Value::Table(default_section)) = defaults.get(section_name) else {
        return Err(unknown());
    };
    let default_value = default_section.get(key).ok_or_else(unknown)?;
    let value = if default_value.is_str() {
        toml::Value::String(raw_value.to_string())
    } else {
        let document: toml::Table = toml::from_str(&format!("value = {raw_value}"))
            .map_err(|_| ConfigError(format!("`{name}`: cannot read `{raw_value}` as a value")))?;
        document.get("value").cloned().ok_or_else(unknown)?
    };
    if let Some(toml::Value::Table(target)) = merged.get_mut(section_name) {
        target.insert(key.to_string(), value);
    }
    Ok(())
}

/// (De)serialises a `Duration` as a whole number of seconds.
mod whole_seconds {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(duration.as_secs())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_secs)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn load(file: Option<&str>, environment: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::load_from(
            file.map(|text| ("test.toml", text)),
            environment
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_string())),
        )
    }

    #[test]
    fn defaults_file_and_default_impl_agree() {
        assert_eq!(load(None, &[]), Ok(Config::default()));
    }

    #[test]
    fn file_overrides_defaults_and_environment_overrides_file() {
        let config = load(
            Some("[instance]\npublic_url = \"https://kindred.example\"\n[federation]\ndebug = false\n[http]\nlisten = \"0.0.0.0:9000\"\n"),
            &[
                ("KINDRED_HTTP_LISTEN", "127.0.0.1:9100"),
                ("KINDRED_DELIVERY_CONCURRENCY", "8"),
                ("KINDRED_INSTANCE_REGISTRATION", "open"),
                ("PATH", "/usr/bin"),
            ],
        )
        .unwrap();
        assert_eq!(config.domain(), "kindred.example");
        assert_eq!(config.http.listen, SocketAddr::from(([127, 0, 0, 1], 9100)));
        assert_eq!(config.delivery.concurrency, 8);
        assert_eq!(config.instance.registration, RegistrationMode::Open);
        assert!(!config.federation.debug);
    }

    #[test]
    fn unknown_key_in_file_is_named() {
        let error = load(Some("[http]\nlisten = \"127.0.0.1:1\"\nlsiten = 3\n"), &[]).unwrap_err();
        assert!(error.0.contains("`http.lsiten`"), "{error}");
    }

    #[test]
    fn unknown_section_in_file_is_named() {
        let error = load(Some("[htp]\nlisten = 1\n"), &[]).unwrap_err();
        assert!(error.0.contains("unknown section `htp`"), "{error}");
    }

    #[test]
    fn unknown_environment_variable_is_named() {
        let error = load(None, &[("KINDRED_DATABASE_ULR", "x")]).unwrap_err();
        assert!(error.0.contains("KINDRED_DATABASE_ULR"), "{error}");
        let error = load(None, &[("KINDRED_NOTHING", "x")]).unwrap_err();
        assert!(error.0.contains("KINDRED_NOTHING"), "{error}");
    }

    #[test]
    fn bad_values_name_their_key() {
        let error = load(Some("[http]\nlisten = \"not an address\"\n"), &[]).unwrap_err();
        assert!(error.0.contains("`http.listen`"), "{error}");
        let error = load(Some("[instance]\npublic_url = \"no url\"\n"), &[]).unwrap_err();
        assert!(error.0.contains("`instance.public_url`"), "{error}");
        let error = load(Some("[instance]\nregistration = \"sometimes\"\n"), &[]).unwrap_err();
        assert!(error.0.contains("`instance.registration`"), "{error}");
        let error = load(None, &[("KINDRED_DELIVERY_CONCURRENCY", "many")]).unwrap_err();
        assert!(error.0.contains("KINDRED_DELIVERY_CONCURRENCY"), "{error}");
        let error = load(None, &[("KINDRED_DELIVERY_CONCURRENCY", "-3")]).unwrap_err();
        assert!(error.0.contains("`delivery.concurrency`"), "{error}");
        let error = load(
            Some("[federation]\nresolve = { \"a.test\" = \"nope\" }\n"),
            &[],
        )
        .unwrap_err();
        assert!(error.0.contains("`federation.resolve"), "{error}");
    }

    #[test]
    fn production_rules_are_enforced() {
        let error = load(Some("[federation]\ndebug = false\n"), &[]).unwrap_err();
        assert!(error.0.contains("https://"), "{error}");
        let error = load(
            Some("[instance]\npublic_url = \"https://a.example/sub\"\n"),
            &[],
        )
        .unwrap_err();
        assert!(error.0.contains("bare origin"), "{error}");
        let error = load(
            Some("[instance]\npublic_url = \"https://a.example\"\n[federation]\ndebug = false\nresolve = { \"b.test\" = \"127.0.0.2\" }\n"),
            &[],
        )
        .unwrap_err();
        assert!(error.0.contains("`federation.resolve`"), "{error}");
    }

    #[test]
    fn malformed_toml_names_the_file() {
        let error = load(Some("[http\n"), &[]).unwrap_err();
        assert!(error.0.starts_with("test.toml"), "{error}");
    }

    #[test]
    fn domain_keeps_the_port_and_the_database_defaults_to_sqlite() {
        let config = Config::default();
        assert_eq!(config.domain(), "localhost:8080");
        assert_eq!(
            config.url_for("/groups/a").as_str(),
            "http://localhost:8080/groups/a"
        );
        // No URL: the SQLite file `kindred.sqlite` in `data_dir`.
        assert!(config.database.url.is_empty());
        assert_eq!(config.database.data_dir, std::path::PathBuf::from("data"));
    }

    #[test]
    fn the_production_example_loads() {
        let text = include_str!("../config/production.toml");
        let config = load(Some(text), &[]).unwrap();
        assert!(!config.federation.debug);
        assert_eq!(config.instance.public_url.scheme(), "https");
    }
}
