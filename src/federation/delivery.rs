//! Durable outgoing delivery. `enqueue` writes an activity and one delivery row per remote
//! inbox inside the caller's transaction. The worker claims due rows (a lease; `FOR UPDATE SKIP
//! LOCKED` on PostgreSQL, so several workers share one database), signs each attempt at send
//! time with the fast signer, POSTs it and records the outcome. Only this file POSTs to remote
//! inboxes.
//!
//! Scheduling: at most `delivery.concurrency` requests in flight, at most
//! `delivery.per_instance_concurrency` to any one server, so a slow server never holds up the
//! others. Deliveries with the same ordering key (the post they concern) reach an inbox one
//! after another, oldest first. A failing server backs off as a whole (exponential, with
//! jitter); one failing longer than `delivery.dead_after` is marked dead and its deliveries are
//! parked until a probe finds it answering again.

use crate::{
    app::Context,
    config::{Config, DeliveryConfig},
    error::{Error, Result},
    federation::{
        instances::{self, host_of},
        signatures::{self, ACTIVITY_CONTENT_TYPE, SigningKey},
    },
    metrics::DeliveryOutcome,
};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use kindred_entities::{
    activity, actor,
    delivery::{self, DeliveryState},
    instance,
};
use rand::Rng;
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait,
    DatabaseConnection, DbBackend, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement, TransactionTrait, Value as SqlValue, sea_query::Expr,
};
use serde_json::Value;
use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};
use tokio::sync::{Notify, Semaphore};
use url::Url;

/// What a local actor sends: its wire JSON and where it is listed.
pub struct OutgoingActivity<'a> {
    pub sender: &'a actor::Model,
    pub ap_id: &'a Url,
    pub kind: &'a str,
    pub object_ap_id: Option<&'a str>,
    pub json: &'a Value,
    /// Listed in the sender's outbox.
    pub in_outbox: bool,
    /// Deliveries with the same key to the same inbox keep their order (the post's id).
    pub ordering_key: Option<&'a str>,
}

/// Stores `outgoing` and a delivery for each distinct remote inbox, in `transaction` (the same
/// one as the state change that caused it). Local inboxes are skipped; deliveries to a dead
/// server are parked at once. After the commit, call `wake_delivery_worker`.
pub async fn enqueue(
    transaction: &impl ConnectionTrait,
    config: &Config,
    outgoing: OutgoingActivity<'_>,
    inboxes: impl IntoIterator<Item = Url>,
) -> Result<activity::Model> {
    let now = Utc::now();
    let stored = activity::ActiveModel {
        ap_id: Set(outgoing.ap_id.to_string()),
        actor_id: Set(outgoing.sender.id),
        kind: Set(outgoing.kind.to_string()),
        object_ap_id: Set(outgoing.object_ap_id.map(str::to_string)),
        json: Set(serde_json::to_string(outgoing.json)?),
        in_outbox: Set(outgoing.in_outbox),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(transaction)
    .await?;

    let local_domain = config.domain();
    let mut targets = Vec::new();
    for inbox in inboxes.into_iter().collect::<BTreeSet<Url>>() {
        let host = host_of(&inbox)?;
        if host != local_domain {
            targets.push((inbox, host));
        }
    }
    if targets.is_empty() {
        return Ok(stored);
    }
    let hosts: BTreeSet<&String> = targets.iter().map(|(_, host)| host).collect();
    let dead_hosts: BTreeSet<String> = instance::Entity::find()
        .select_only()
        .column(instance::Column::Host)
        .filter(instance::Column::Host.is_in(hosts))
        .filter(instance::Column::DeadSince.is_not_null())
        .into_tuple()
        .all(transaction)
        .await?
        .into_iter()
        .collect();
    let rows = targets
        .into_iter()
        .map(|(inbox, host)| delivery::ActiveModel {
            activity_id: Set(stored.id),
            inbox_url: Set(inbox.to_string()),
            state: Set(if dead_hosts.contains(&host) {
                DeliveryState::Parked
            } else {
                DeliveryState::Pending
            }),
            instance_host: Set(host),
            attempts: Set(0),
            next_attempt_at: Set(now),
            created_at: Set(now),
            ordering_key: Set(outgoing.ordering_key.map(str::to_string)),
            ..Default::default()
        });
    delivery::Entity::insert_many(rows)
        .exec_without_returning(transaction)
        .await?;
    Ok(stored)
}

/// Tells the worker there is new work (it also polls, so a lost wake-up only delays).
pub fn wake_delivery_worker(context: &Context) {
    context.delivery_signal.notify_one();
}

/// How long a claimed delivery stays owned by the worker that claimed it: longer than any
/// attempt can take.
fn lease_length(config: &Config) -> chrono::Duration {
    chrono::Duration::from_std(config.federation.request_timeout * 3 + Duration::from_secs(5))
        .unwrap_or_else(|_| chrono::Duration::seconds(60))
}

/// Runs the delivery worker (and its probe of dead servers) until the task is aborted.
pub async fn run_worker(context: Context) {
    if context.db.get_database_backend() == DbBackend::Sqlite {
        // SQLite means a single process: leases left by a previous run (a crash) are stale.
        if let Err(error) = release_leases(&context.db, None).await {
            tracing::error!(%error, "cannot release stale delivery leases");
        }
    }
    let probe = tokio::spawn(probe_dead_instances_periodically(context.clone()));
    let scheduler = Scheduler::new(&context);
    scheduler.run(&context).await;
    probe.abort();
}

struct Scheduler {
    global: Arc<Semaphore>,
    in_flight_by_host: Arc<Mutex<HashMap<String, usize>>>,
    finished: Arc<Notify>,
    payloads: Arc<PayloadCache>,
    per_instance: usize,
}

impl Scheduler {
    fn new(context: &Context) -> Scheduler {
        Scheduler {
            global: Arc::new(Semaphore::new(context.config.delivery.concurrency)),
            in_flight_by_host: Arc::new(Mutex::new(HashMap::new())),
            finished: Arc::new(Notify::new()),
            payloads: Arc::new(PayloadCache::default()),
            per_instance: context.config.delivery.per_instance_concurrency,
        }
    }

    async fn run(&self, context: &Context) {
        loop {
            let capacity = self.global.available_permits();
            if capacity == 0 {
                self.wait(context).await;
                continue;
            }
            let saturated: Vec<String> = lock(&self.in_flight_by_host)
                .iter()
                .filter(|(_, count)| **count >= self.per_instance)
                .map(|(host, _)| host.clone())
                .collect();
            let claimed = match claim_due_deliveries(
                &context.db,
                &context.config,
                capacity as u64,
                &saturated,
            )
            .await
            {
                Ok(claimed) => claimed,
                Err(error) => {
                    tracing::error!(%error, "cannot claim deliveries");
                    Vec::new()
                }
            };
            if claimed.is_empty() {
                self.wait(context).await;
                continue;
            }
            let mut not_started = Vec::new();
            for row in claimed {
                let permit = {
                    let mut in_flight = lock(&self.in_flight_by_host);
                    let count = in_flight.entry(row.instance_host.clone()).or_default();
                    if *count >= self.per_instance {
                        None
                    } else {
                        match self.global.clone().try_acquire_owned() {
                            Ok(permit) => {
                                *count += 1;
                                Some(permit)
                            }
                            Err(_) => None,
                        }
                    }
                };
                let Some(permit) = permit else {
                    not_started.push(row.id);
                    continue;
                };
                let context = context.clone();
                let in_flight = self.in_flight_by_host.clone();
                let finished = self.finished.clone();
                let payloads = self.payloads.clone();
                tokio::spawn(async move {
                    let host = row.instance_host.clone();
                    attempt_delivery(&context, &payloads, row).await;
                    drop(permit);
                    let mut in_flight = lock(&in_flight);
                    if let Some(count) = in_flight.get_mut(&host) {
                        *count = count.saturating_sub(1);
                        if *count == 0 {
                            in_flight.remove(&host);
                        }
                    }
                    finished.notify_one();
                });
            }
            if !not_started.is_empty()
                && let Err(error) = release_leases(&context.db, Some(&not_started)).await
            {
                tracing::error!(%error, "cannot release unused delivery leases");
            }
        }
    }

    /// Sleeps until new work is enqueued, an attempt finishes, or a second passes (retries
    /// fall due with time).
    async fn wait(&self, context: &Context) {
        tokio::select! {
            () = context.delivery_signal.notified() => {},
            () = self.finished.notified() => {},
            () = tokio::time::sleep(Duration::from_secs(1)) => {},
        }
    }
}

/// Clears leases: of the given rows, or of every pending row.
async fn release_leases(database: &impl ConnectionTrait, ids: Option<&[i64]>) -> Result<()> {
    let mut update = delivery::Entity::update_many()
        .col_expr(
            delivery::Column::LeasedUntil,
            Expr::value(None::<DateTime<Utc>>),
        )
        .filter(delivery::Column::State.eq(DeliveryState::Pending));
    if let Some(ids) = ids {
        update = update.filter(delivery::Column::Id.is_in(ids.iter().copied()));
    }
    update.exec(database).await?;
    Ok(())
}

/// Claims up to `limit` due deliveries by setting their lease: pending, due, not leased, not
/// behind an older pending delivery with the same inbox and ordering key, and not to a server
/// that is backing off, dead, or in `exclude_hosts`. On PostgreSQL the rows are locked with
/// `FOR UPDATE SKIP LOCKED`, so two workers never claim the same row.
pub async fn claim_due_deliveries(
    database: &DatabaseConnection,
    config: &Config,
    limit: u64,
    exclude_hosts: &[String],
) -> Result<Vec<delivery::Model>> {
    let backend = database.get_database_backend();
    let now = Utc::now();
    let mut values: Vec<SqlValue> = Vec::new();
    let mut placeholder = |value: SqlValue| {
        values.push(value);
        match backend {
            DbBackend::Postgres => format!("${}", values.len()),
            _ => "?".to_string(),
        }
    };
    let pending = placeholder(DeliveryState::Pending.to_value().into());
    let now_1 = placeholder(now.into());
    let now_2 = placeholder(now.into());
    let pending_again = placeholder(DeliveryState::Pending.to_value().into());
    let now_3 = placeholder(now.into());
    let excluded = if exclude_hosts.is_empty() {
        String::new()
    } else {
        let list: Vec<String> = exclude_hosts
            .iter()
            .map(|host| placeholder(host.clone().into()))
            .collect();
        format!("AND d.instance_host NOT IN ({})", list.join(", "))
    };
    let limit_placeholder = placeholder((limit as i64).into());
    let lock = if backend == DbBackend::Postgres {
        "FOR UPDATE OF d SKIP LOCKED"
    } else {
        ""
    };
    let sql = format!(
        "SELECT d.* FROM deliveries d \
         WHERE d.state = {pending} AND d.next_attempt_at <= {now_1} \
           AND (d.leased_until IS NULL OR d.leased_until < {now_2}) \
           AND NOT EXISTS (SELECT 1 FROM deliveries e WHERE e.inbox_url = d.inbox_url \
               AND e.ordering_key = d.ordering_key AND e.state = {pending_again} AND e.id < d.id) \
           AND NOT EXISTS (SELECT 1 FROM instances i WHERE i.host = d.instance_host \
               AND (i.retry_at > {now_3} OR i.dead_since IS NOT NULL)) \
           {excluded} \
         ORDER BY d.id LIMIT {limit_placeholder} {lock}"
    );
    let transaction = database.begin().await?;
    let rows =
        delivery::Model::find_by_statement(Statement::from_sql_and_values(backend, sql, values))
            .all(&transaction)
            .await?;
    if !rows.is_empty() {
        delivery::Entity::update_many()
            .col_expr(
                delivery::Column::LeasedUntil,
                Expr::value(Some(now + lease_length(config))),
            )
            .filter(delivery::Column::Id.is_in(rows.iter().map(|row| row.id)))
            .exec(&transaction)
            .await?;
    }
    transaction.commit().await?;
    Ok(rows)
}

/// The activity bytes and signing key for a stored activity, cached while its fan-out runs:
/// a thousand deliveries of one Announce read and parse them once.
#[derive(Default)]
struct PayloadCache {
    entries: Mutex<HashMap<i64, Arc<Payload>>>,
}

struct Payload {
    body: Bytes,
    key_id: String,
    key: Arc<SigningKey>,
}

/// Entries kept before the cache starts over; a fan-out in progress refills it at once.
const PAYLOAD_CACHE_ENTRIES: usize = 256;

impl PayloadCache {
    async fn get(&self, context: &Context, activity_id: i64) -> Result<Arc<Payload>> {
        if let Some(payload) = lock(&self.entries).get(&activity_id) {
            return Ok(payload.clone());
        }
        let stored = activity::Entity::find_by_id(activity_id)
            .one(&context.db)
            .await?
            .ok_or_else(|| Error::internal("the activity of a delivery is gone"))?;
        let sender = actor::Entity::find_by_id(stored.actor_id)
            .one(&context.db)
            .await?
            .ok_or_else(|| Error::internal("the sender of a delivery is gone"))?;
        let private_key = sender
            .private_key_pem
            .as_deref()
            .ok_or_else(|| Error::internal("the sender has no private key"))?;
        let payload = Arc::new(Payload {
            body: Bytes::from(stored.json),
            key_id: format!("{}#main-key", sender.ap_id),
            key: context.signing_keys.get_or_parse(sender.id, private_key)?,
        });
        let mut entries = lock(&self.entries);
        if entries.len() >= PAYLOAD_CACHE_ENTRIES {
            entries.clear();
        }
        entries.insert(activity_id, payload.clone());
        Ok(payload)
    }
}

/// What one attempt came to.
enum Attempt {
    Delivered,
    /// A final 4xx: the inbox will never take it.
    Rejected {
        status: u16,
    },
    /// 408, 429, 5xx, a timeout or a network error: worth another try.
    Failed {
        status: Option<u16>,
        error: String,
    },
}

async fn attempt_delivery(context: &Context, payloads: &PayloadCache, row: delivery::Model) {
    let attempt = match send_one(context, payloads, &row).await {
        Ok(attempt) => attempt,
        Err(error) => Attempt::Failed {
            status: None,
            error: error.to_string(),
        },
    };
    if let Err(error) = record_outcome(context, &row, attempt).await {
        tracing::error!(delivery = row.id, %error, "cannot record a delivery outcome");
    }
}

/// Signs the stored bytes for this inbox now and POSTs them.
async fn send_one(
    context: &Context,
    payloads: &PayloadCache,
    row: &delivery::Model,
) -> Result<Attempt> {
    let payload = payloads.get(context, row.activity_id).await?;
    let inbox = Url::parse(&row.inbox_url)?;
    let signed = signatures::sign_post(
        &payload.key,
        &payload.key_id,
        &inbox,
        &payload.body,
        SystemTime::now(),
    )?;
    let response = context
        .http_client
        .post(inbox.as_str())
        .timeout(context.config.federation.request_timeout)
        .header(http::header::HOST, signed.host)
        .header(http::header::DATE, signed.date)
        .header("digest", signed.digest)
        .header(http::header::CONTENT_TYPE, ACTIVITY_CONTENT_TYPE)
        .header("signature", signed.signature)
        .body(payload.body.clone())
        .send()
        .await;
    let response = match response {
        Ok(response) => response,
        Err(error) => {
            return Ok(Attempt::Failed {
                status: None,
                error: format!("{error}"),
            });
        }
    };
    let status = response.status().as_u16();
    Ok(match status {
        200..=299 => Attempt::Delivered,
        408 | 429 => Attempt::Failed {
            status: Some(status),
            error: format!("the inbox answered {status}"),
        },
        400..=499 => Attempt::Rejected { status },
        _ => Attempt::Failed {
            status: Some(status),
            error: format!("the inbox answered {status}"),
        },
    })
}

/// Records the attempt on the delivery and on its server's health.
async fn record_outcome(context: &Context, row: &delivery::Model, attempt: Attempt) -> Result<()> {
    let now = Utc::now();
    let settings = &context.config.delivery;
    let attempts = row.attempts + 1;
    let mut update = delivery::ActiveModel {
        id: Set(row.id),
        attempts: Set(attempts),
        last_attempt_at: Set(Some(now)),
        leased_until: Set(None),
        ..Default::default()
    };
    match attempt {
        Attempt::Delivered => {
            update.state = Set(DeliveryState::Delivered);
            update.finished_at = Set(Some(now));
            update.last_status = Set(None);
            update.last_error = Set(None);
            update.update(&context.db).await?;
            mark_instance_healthy(&context.db, &row.instance_host, now).await?;
            context.metrics.count_delivery(DeliveryOutcome::Delivered);
        }
        Attempt::Rejected { status } => {
            tracing::info!(inbox = %row.inbox_url, status, "the inbox refused a delivery; not retrying");
            update.state = Set(DeliveryState::Rejected);
            update.finished_at = Set(Some(now));
            update.last_status = Set(Some(i32::from(status)));
            update.update(&context.db).await?;
            // The server answered: it is alive.
            mark_instance_healthy(&context.db, &row.instance_host, now).await?;
            context.metrics.count_delivery(DeliveryOutcome::Rejected);
        }
        Attempt::Failed { status, error } => {
            tracing::info!(inbox = %row.inbox_url, attempts, %error, "delivery failed");
            update.last_status = Set(status.map(i32::from));
            update.last_error = Set(Some(error.chars().take(500).collect()));
            let give_up_after = chrono::Duration::from_std(settings.give_up_after)
                .unwrap_or_else(|_| chrono::Duration::days(2));
            if now - row.created_at >= give_up_after {
                update.state = Set(DeliveryState::Abandoned);
                update.finished_at = Set(Some(now));
                context.metrics.count_delivery(DeliveryOutcome::Abandoned);
            } else {
                update.next_attempt_at = Set(now + retry_delay(settings, attempts));
                context.metrics.count_delivery(DeliveryOutcome::Retrying);
            }
            update.update(&context.db).await?;
            mark_instance_failing(context, &row.instance_host, now).await?;
        }
    }
    Ok(())
}

/// A success clears the server's failure record (only when it has one: most have none, and
/// this keeps a thousand successes from writing a thousand instance rows).
async fn mark_instance_healthy(
    database: &impl ConnectionTrait,
    host: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    instance::Entity::update_many()
        .col_expr(instance::Column::ConsecutiveFailures, Expr::value(0))
        .col_expr(
            instance::Column::FailingSince,
            Expr::value(None::<DateTime<Utc>>),
        )
        .col_expr(
            instance::Column::RetryAt,
            Expr::value(None::<DateTime<Utc>>),
        )
        .col_expr(instance::Column::LastSuccessAt, Expr::value(Some(now)))
        .filter(instance::Column::Host.eq(host))
        .filter(instance::Column::ConsecutiveFailures.gt(0))
        .exec(database)
        .await?;
    Ok(())
}

/// A failure backs the whole server off, and marks it dead once it has failed for longer than
/// `delivery.dead_after`: its pending deliveries are parked.
async fn mark_instance_failing(context: &Context, host: &str, now: DateTime<Utc>) -> Result<()> {
    let settings = &context.config.delivery;
    let transaction = context.db.begin().await?;
    let existing = instance::Entity::find()
        .filter(instance::Column::Host.eq(host))
        .one(&transaction)
        .await?;
    let row = match existing {
        Some(row) => row,
        None => {
            let url = Url::parse(&format!("http://{host}/"))?;
            instances::find_or_create(&transaction, &url).await?
        }
    };
    let failures = row.consecutive_failures + 1;
    let failing_since = row.failing_since.unwrap_or(now);
    let dead_after = chrono::Duration::from_std(settings.dead_after)
        .unwrap_or_else(|_| chrono::Duration::days(1));
    let becomes_dead = row.dead_since.is_none() && now - failing_since >= dead_after;
    let mut update: instance::ActiveModel = row.into();
    update.consecutive_failures = Set(failures);
    update.failing_since = Set(Some(failing_since));
    update.retry_at = Set(Some(now + retry_delay(settings, failures)));
    if becomes_dead {
        update.dead_since = Set(Some(now));
    }
    update.update(&transaction).await?;
    if becomes_dead {
        let parked = delivery::Entity::update_many()
            .col_expr(
                delivery::Column::State,
                Expr::value(DeliveryState::Parked.to_value()),
            )
            .col_expr(
                delivery::Column::LeasedUntil,
                Expr::value(None::<DateTime<Utc>>),
            )
            .filter(delivery::Column::InstanceHost.eq(host))
            .filter(delivery::Column::State.eq(DeliveryState::Pending))
            .exec(&transaction)
            .await?
            .rows_affected;
        tracing::warn!(
            host,
            parked,
            "server marked dead; its deliveries are parked"
        );
    }
    transaction.commit().await?;
    Ok(())
}

/// Every `delivery.probe_interval`, tries the oldest parked delivery of each dead server.
async fn probe_dead_instances_periodically(context: Context) {
    let payloads = PayloadCache::default();
    loop {
        tokio::time::sleep(context.config.delivery.probe_interval).await;
        if let Err(error) = probe_dead_instances(&context, &payloads).await {
            tracing::error!(%error, "probing dead servers failed");
        }
    }
}

/// Tries one parked delivery per dead server; a server that takes it is revived and its
/// parked deliveries go back in the queue. Returns the hosts revived.
async fn probe_dead_instances(context: &Context, payloads: &PayloadCache) -> Result<Vec<String>> {
    let dead = instance::Entity::find()
        .filter(instance::Column::DeadSince.is_not_null())
        .all(&context.db)
        .await?;
    let mut revived = Vec::new();
    for server in dead {
        let Some(oldest) = delivery::Entity::find()
            .filter(delivery::Column::InstanceHost.eq(&server.host))
            .filter(delivery::Column::State.eq(DeliveryState::Parked))
            .order_by_asc(delivery::Column::Id)
            .one(&context.db)
            .await?
        else {
            continue;
        };
        match send_one(context, payloads, &oldest).await? {
            Attempt::Delivered | Attempt::Rejected { .. } => {
                tracing::info!(host = %server.host, "dead server answers again; resuming its deliveries");
                retry_held_deliveries(&context.db, Some(&server.host)).await?;
                revived.push(server.host);
            }
            Attempt::Failed { error, .. } => {
                tracing::debug!(host = %server.host, %error, "dead server still not answering");
            }
        }
    }
    if !revived.is_empty() {
        context.delivery_signal.notify_one();
    }
    Ok(revived)
}

/// Puts parked and abandoned deliveries (of one server, or all) back in the queue, due now, and
/// clears those servers' backoff and dead marks. Returns how many deliveries were requeued.
pub async fn retry_held_deliveries(
    database: &DatabaseConnection,
    host: Option<&str>,
) -> Result<u64> {
    let now = Utc::now();
    let transaction = database.begin().await?;
    let mut requeue = delivery::Entity::update_many()
        .col_expr(
            delivery::Column::State,
            Expr::value(DeliveryState::Pending.to_value()),
        )
        .col_expr(delivery::Column::NextAttemptAt, Expr::value(now))
        .col_expr(
            delivery::Column::LeasedUntil,
            Expr::value(None::<DateTime<Utc>>),
        )
        .col_expr(
            delivery::Column::FinishedAt,
            Expr::value(None::<DateTime<Utc>>),
        )
        .filter(delivery::Column::State.is_in([DeliveryState::Parked, DeliveryState::Abandoned]));
    let mut reset = instance::Entity::update_many()
        .col_expr(
            instance::Column::DeadSince,
            Expr::value(None::<DateTime<Utc>>),
        )
        .col_expr(
            instance::Column::RetryAt,
            Expr::value(None::<DateTime<Utc>>),
        )
        .col_expr(
            instance::Column::FailingSince,
            Expr::value(None::<DateTime<Utc>>),
        )
        .col_expr(instance::Column::ConsecutiveFailures, Expr::value(0));
    if let Some(host) = host {
        requeue = requeue.filter(delivery::Column::InstanceHost.eq(host));
        reset = reset.filter(instance::Column::Host.eq(host));
    }
    let requeued = requeue.exec(&transaction).await?.rows_affected;
    reset.exec(&transaction).await?;
    transaction.commit().await?;
    Ok(requeued)
}

/// Exponential backoff with ±20% jitter: initial × 2^(attempts−1), capped at the maximum.
pub fn retry_delay(settings: &DeliveryConfig, attempts: i32) -> chrono::Duration {
    let exponent = attempts.clamp(1, 30) - 1;
    let base = settings
        .retry_initial
        .saturating_mul(1u32 << exponent.min(20))
        .min(settings.retry_max);
    let jitter = rand::thread_rng().gen_range(0.8..1.2);
    chrono::Duration::from_std(base.mul_f64(jitter)).unwrap_or_else(|_| chrono::Duration::hours(1))
}

/// The state of the queue, for `kindred deliveries` and `/metrics`.
#[derive(Debug, Default)]
pub struct QueueSummary {
    pub by_state: BTreeMap<String, u64>,
    /// Pending deliveries a worker holds a lease on.
    pub in_flight: u64,
    pub oldest_pending_seconds: i64,
    /// Servers failing now (not yet dead): host, since when, failures in a row.
    pub failing_instances: Vec<(String, DateTime<Utc>, i32)>,
    /// Dead servers: host and since when.
    pub dead_instances: Vec<(String, DateTime<Utc>)>,
}

pub async fn queue_summary(database: &impl ConnectionTrait) -> Result<QueueSummary> {
    let now = Utc::now();
    let counts: Vec<(String, i64)> = delivery::Entity::find()
        .select_only()
        .column(delivery::Column::State)
        .column_as(delivery::Column::Id.count(), "count")
        .group_by(delivery::Column::State)
        .into_tuple()
        .all(database)
        .await?;
    let mut summary = QueueSummary::default();
    for state in ["pending", "delivered", "rejected", "parked", "abandoned"] {
        summary.by_state.insert(state.to_string(), 0);
    }
    for (state, count) in counts {
        summary.by_state.insert(state, count.max(0) as u64);
    }
    summary.in_flight = delivery::Entity::find()
        .filter(delivery::Column::State.eq(DeliveryState::Pending))
        .filter(delivery::Column::LeasedUntil.gt(now))
        .count(database)
        .await?;
    if let Some(oldest) = delivery::Entity::find()
        .filter(delivery::Column::State.eq(DeliveryState::Pending))
        .order_by_asc(delivery::Column::Id)
        .one(database)
        .await?
    {
        summary.oldest_pending_seconds = (now - oldest.created_at).num_seconds().max(0);
    }
    for server in instance::Entity::find()
        .filter(instance::Column::FailingSince.is_not_null())
        .order_by_asc(instance::Column::Host)
        .all(database)
        .await?
    {
        match (server.dead_since, server.failing_since) {
            (Some(dead_since), _) => summary.dead_instances.push((server.host, dead_since)),
            (None, Some(failing_since)) => summary.failing_instances.push((
                server.host,
                failing_since,
                server.consecutive_failures,
            )),
            (None, None) => {}
        }
    }
    Ok(summary)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Every critical section here leaves its map consistent, so a poisoned lock is usable.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delay_grows_and_is_capped() {
        let settings = Config::default().delivery;
        let first = retry_delay(&settings, 1).num_milliseconds();
        assert!((8_000..=12_000).contains(&first), "{first}");
        let fourth = retry_delay(&settings, 4).num_milliseconds();
        assert!((64_000..=96_000).contains(&fourth), "{fourth}");
        let capped = retry_delay(&settings, 25).num_seconds();
        assert!(capped <= 4_320, "{capped}");
    }
}
