//! Durable outgoing delivery, fanned out by reference. Only this file POSTs to remote inboxes.
//!
//! `enqueue` writes each outgoing activity as one row that carries its target inboxes, in the
//! caller's transaction: accepting an activity costs one write however many servers follow the
//! group. The worker claims pending fan-outs (a lease; `FOR UPDATE SKIP LOCKED` on PostgreSQL,
//! so several workers can share one database), signs the stored bytes for each inbox at send
//! time and POSTs them. Only a delivery that needs another try (or was refused, or waits for a
//! dead server) becomes a row of its own in `deliveries`, where retries are claimed the same
//! way. A fan-out checkpoints its progress, so a crash resends at most what was in flight.
//!
//! Scheduling: at most `delivery.concurrency` requests in flight and at most
//! `delivery.per_instance_concurrency` to any one server, so a slow server never holds up the
//! others. Activities about one post (the ordering key) reach each inbox in order: a fan-out
//! waits for older fan-outs with its key, and queues behind an older delivery that is still
//! being retried. A failing server backs off as a whole (exponential, with jitter); one failing
//! for longer than `delivery.dead_after` is marked dead and its deliveries are parked until a
//! probe finds it answering again.

use crate::{
    app::Context,
    config::{Config, DeliveryConfig},
    error::{Error, Result},
    federation::{
        address_guard,
        instances::{self, host_of},
        signatures::{self, SigningKey},
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
    ActiveEnum, ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, FromQueryResult,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Statement, TransactionTrait,
    Value as SqlValue,
    sea_query::{Expr, OnConflict},
};
use serde_json::Value;
use std::{
    collections::{BTreeMap, BTreeSet, HashMap, HashSet},
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, SystemTime},
};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
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
    /// Activities with the same key reach each inbox in order (the post's id).
    pub ordering_key: Option<&'a str>,
}

/// Stores `outgoing` (one row each, in one statement) to be sent to every remote inbox in
/// `inboxes`, in `transaction`: the same one as the state change that caused it. Local inboxes
/// are dropped. After the commit, call `wake_delivery_worker`.
pub async fn enqueue(
    transaction: &impl ConnectionTrait,
    context: &Context,
    outgoing: &[OutgoingActivity<'_>],
    inboxes: impl IntoIterator<Item = Url>,
) -> Result<()> {
    let config = &context.config;
    let local_domain = config.domain();
    let mut targets = BTreeSet::new();
    for inbox in inboxes {
        if host_of(&inbox)? != local_domain {
            targets.insert(inbox);
        }
    }
    // Blocked servers (and, in allowlist mode, all others) get nothing.
    // From the cache (refreshed through this transaction's own connection when it is stale).
    let blocked = if targets.is_empty() {
        BTreeSet::new()
    } else {
        context.blocked_hosts.get(transaction).await?
    };
    let mut allowed = BTreeSet::new();
    for inbox in targets {
        if crate::federation::instances::federates_with(config, &blocked, &host_of(&inbox)?) {
            allowed.insert(inbox.to_string());
        }
    }
    let targets = allowed;
    let has_targets = !targets.is_empty();
    let targets = serde_json::to_string(&targets)?;
    let now = Utc::now();
    let mut rows = Vec::with_capacity(outgoing.len());
    for activity in outgoing {
        rows.push(activity::ActiveModel {
            ap_id: Set(activity.ap_id.to_string()),
            actor_id: Set(activity.sender.id),
            kind: Set(activity.kind.to_string()),
            object_ap_id: Set(activity.object_ap_id.map(str::to_string)),
            json: Set(serde_json::to_string(activity.json)?),
            in_outbox: Set(activity.in_outbox),
            created_at: Set(now),
            ordering_key: Set(activity.ordering_key.map(str::to_string)),
            targets: Set(has_targets.then(|| targets.clone())),
            fanout_pending: Set(has_targets),
            fanout_progress: Set(0),
            fanout_leased_until: Set(None),
            ..Default::default()
        });
    }
    if !rows.is_empty() {
        activity::Entity::insert_many(rows)
            .exec_without_returning(transaction)
            .await?;
    }
    Ok(())
}

/// Tells the worker there is new work (it also polls, so a lost wake-up only delays).
pub fn wake_delivery_worker(context: &Context) {
    context.delivery_signal.notify_one();
}

/// How long a claim stays owned by the worker that made it: longer than any attempt takes.
fn lease_length(config: &Config) -> chrono::Duration {
    chrono::Duration::from_std(config.federation.request_timeout * 3 + Duration::from_secs(5))
        .unwrap_or_else(|_| chrono::Duration::seconds(60))
}

/// How many fan-outs one worker runs at once.
const ACTIVE_FAN_OUTS: usize = 16;

/// Runs the delivery worker (and its probe of dead servers) until the task is aborted.
pub async fn run_worker(context: Context) {
    if context.db.get_database_backend() == DbBackend::Sqlite {
        // SQLite means a single process: leases left by a previous run (a crash) are stale.
        if let Err(error) = release_all_leases(&context.db).await {
            tracing::error!(%error, "cannot release stale delivery leases");
        }
    }
    let probe = tokio::spawn(probe_dead_instances_periodically(context.clone()));
    Scheduler::new(&context).run(&context).await;
    probe.abort();
}

/// The limits every send goes through, shared by fan-outs and retries.
#[derive(Clone)]
struct Limits {
    global: Arc<Semaphore>,
    per_host: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
    per_host_limit: usize,
}

impl Limits {
    fn host(&self, host: &str) -> Arc<Semaphore> {
        lock(&self.per_host)
            .entry(host.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(self.per_host_limit)))
            .clone()
    }

    /// Waits for a slot at `host`, then a global one (always in that order: no deadlock).
    async fn acquire(&self, host: &str) -> Option<(OwnedSemaphorePermit, OwnedSemaphorePermit)> {
        let host_permit = self.host(host).acquire_owned().await.ok()?;
        let global_permit = self.global.clone().acquire_owned().await.ok()?;
        Some((host_permit, global_permit))
    }

    fn try_acquire(&self, host: &str) -> Option<(OwnedSemaphorePermit, OwnedSemaphorePermit)> {
        let host_permit = self.host(host).try_acquire_owned().ok()?;
        let global_permit = self.global.clone().try_acquire_owned().ok()?;
        Some((host_permit, global_permit))
    }

    /// Hosts with no free slot, which a claim of retries should skip.
    fn saturated_hosts(&self) -> Vec<String> {
        lock(&self.per_host)
            .iter()
            .filter(|(_, semaphore)| semaphore.available_permits() == 0)
            .map(|(host, _)| host.clone())
            .collect()
    }
}

struct Scheduler {
    limits: Limits,
    finished: Arc<Notify>,
    payloads: Arc<PayloadCache>,
    active_fan_outs: Arc<AtomicUsize>,
    dispatch_order: Arc<DispatchOrder>,
}

/// How long a fan-out waits for the older ones to hand out their sends before it starts its
/// own anyway (an older one may be waiting for a slot at a saturated server).
const DISPATCH_TURN_WAIT: Duration = Duration::from_millis(1000);

/// Fan-outs hand their sends to the limits in the order they were claimed, so that when the
/// queue is busy the activity accepted first reaches every server first, rather than two
/// fan-outs sharing the slots half and half. Only the handing out is ordered: the requests
/// of several fan-outs are in flight together.
struct DispatchOrder {
    next_ticket: std::sync::atomic::AtomicU64,
    now_serving: tokio::sync::watch::Sender<u64>,
}

impl DispatchOrder {
    fn new() -> DispatchOrder {
        DispatchOrder {
            next_ticket: std::sync::atomic::AtomicU64::new(0),
            now_serving: tokio::sync::watch::Sender::new(0),
        }
    }

    fn take_ticket(self: &Arc<Self>) -> DispatchTurn {
        DispatchTurn {
            order: self.clone(),
            ticket: self.next_ticket.fetch_add(1, Ordering::AcqRel),
        }
    }
}

/// A fan-out's place in the dispatch order; dropping it lets the next one go.
struct DispatchTurn {
    order: Arc<DispatchOrder>,
    ticket: u64,
}

impl DispatchTurn {
    /// Waits until the older fan-outs have handed out their sends (at most
    /// `DISPATCH_TURN_WAIT`).
    async fn wait(&self) {
        let mut serving = self.order.now_serving.subscribe();
        let ticket = self.ticket;
        let _ = tokio::time::timeout(
            DISPATCH_TURN_WAIT,
            serving.wait_for(|serving| *serving >= ticket),
        )
        .await;
    }
}

impl Drop for DispatchTurn {
    fn drop(&mut self) {
        let next = self.ticket + 1;
        self.order
            .now_serving
            .send_modify(|serving| *serving = (*serving).max(next));
    }
}

impl Scheduler {
    fn new(context: &Context) -> Scheduler {
        Scheduler {
            limits: Limits {
                global: Arc::new(Semaphore::new(context.config.delivery.concurrency)),
                per_host: Arc::new(Mutex::new(HashMap::new())),
                per_host_limit: context.config.delivery.per_instance_concurrency,
            },
            finished: Arc::new(Notify::new()),
            payloads: Arc::new(PayloadCache::default()),
            active_fan_outs: Arc::new(AtomicUsize::new(0)),
            dispatch_order: Arc::new(DispatchOrder::new()),
        }
    }

    async fn run(&self, context: &Context) {
        loop {
            let mut started = 0;
            let free_fan_outs =
                ACTIVE_FAN_OUTS.saturating_sub(self.active_fan_outs.load(Ordering::Acquire));
            if free_fan_outs > 0 {
                match claim_fan_outs(&context.db, &context.config, free_fan_outs as u64).await {
                    Ok(claimed) => {
                        for activity in claimed {
                            started += 1;
                            self.start_fan_out(context, activity);
                        }
                    }
                    Err(error) => tracing::error!(%error, "cannot claim fan-outs"),
                }
            }
            let capacity = self.limits.global.available_permits();
            // Claim retries in batches: a claim per finished request would cost more than the
            // requests.
            if capacity > 0 && capacity * 4 >= context.config.delivery.concurrency.min(64) {
                let saturated = self.limits.saturated_hosts();
                match claim_due_deliveries(
                    &context.db,
                    &context.config,
                    capacity as u64,
                    &saturated,
                )
                .await
                {
                    Ok(claimed) => {
                        let mut not_started = Vec::new();
                        for row in claimed {
                            match self.try_start_retry(context, row) {
                                RetryStart::Started => started += 1,
                                RetryStart::ServerBusy(id) => not_started.push(id),
                            }
                        }
                        if !not_started.is_empty()
                            && let Err(error) = release_leases(&context.db, &not_started).await
                        {
                            tracing::error!(%error, "cannot release unused delivery leases");
                        }
                    }
                    Err(error) => tracing::error!(%error, "cannot claim deliveries"),
                }
            }
            if started == 0 {
                tokio::select! {
                    () = context.delivery_signal.notified() => {},
                    () = self.finished.notified() => {},
                    () = tokio::time::sleep(Duration::from_secs(1)) => {},
                }
            }
        }
    }

    fn start_fan_out(&self, context: &Context, activity: activity::Model) {
        self.active_fan_outs.fetch_add(1, Ordering::AcqRel);
        let context = context.clone();
        let limits = self.limits.clone();
        let payloads = self.payloads.clone();
        let active = self.active_fan_outs.clone();
        let finished = self.finished.clone();
        // Taken now, in claim order.
        let turn = self.dispatch_order.take_ticket();
        tokio::spawn(async move {
            let id = activity.id;
            if let Err(error) = fan_out(&context, &limits, &payloads, activity, turn).await {
                tracing::error!(activity = id, %error, "fan-out interrupted; it resumes when its lease ends");
            }
            active.fetch_sub(1, Ordering::AcqRel);
            finished.notify_one();
        });
    }

    /// Starts a retry, unless its server has no free slot.
    fn try_start_retry(&self, context: &Context, row: delivery::Model) -> RetryStart {
        let Some(permits) = self.limits.try_acquire(&row.instance_host) else {
            return RetryStart::ServerBusy(row.id);
        };
        let context = context.clone();
        let payloads = self.payloads.clone();
        let finished = self.finished.clone();
        tokio::spawn(async move {
            let attempt = match send_one(&context, &payloads, row.activity_id, &row.inbox_url).await
            {
                Ok(attempt) => attempt,
                Err(error) => Attempt::Failed {
                    status: None,
                    error: error.to_string(),
                },
            };
            drop(permits);
            if let Err(error) = record_retry(&context, &row, attempt).await {
                tracing::error!(delivery = row.id, %error, "cannot record a delivery outcome");
            }
            finished.notify_one();
        });
        RetryStart::Started
    }
}

/// Whether a claimed retry was started.
enum RetryStart {
    Started,
    /// Its server has no free slot: the delivery (by id) keeps waiting, and its lease is
    /// given back.
    ServerBusy(i64),
}

/// Clears every lease (fan-outs and retries): used at start on SQLite, where one process sends.
async fn release_all_leases(database: &impl ConnectionTrait) -> Result<()> {
    delivery::Entity::update_many()
        .col_expr(
            delivery::Column::LeasedUntil,
            Expr::value(None::<DateTime<Utc>>),
        )
        .filter(delivery::Column::State.eq(DeliveryState::Pending))
        .exec(database)
        .await?;
    activity::Entity::update_many()
        .col_expr(
            activity::Column::FanoutLeasedUntil,
            Expr::value(None::<DateTime<Utc>>),
        )
        .filter(activity::Column::FanoutPending.eq(true))
        .exec(database)
        .await?;
    Ok(())
}

async fn release_leases(database: &impl ConnectionTrait, ids: &[i64]) -> Result<()> {
    delivery::Entity::update_many()
        .col_expr(
            delivery::Column::LeasedUntil,
            Expr::value(None::<DateTime<Utc>>),
        )
        .filter(delivery::Column::Id.is_in(ids.iter().copied()))
        .exec(database)
        .await?;
    Ok(())
}

/// Placeholders for raw SQL on either backend.
struct SqlValues {
    backend: DbBackend,
    values: Vec<SqlValue>,
}

impl SqlValues {
    fn new(backend: DbBackend) -> Self {
        SqlValues {
            backend,
            values: Vec::new(),
        }
    }

    fn bind(&mut self, value: impl Into<SqlValue>) -> String {
        self.values.push(value.into());
        match self.backend {
            DbBackend::Postgres => format!("${}", self.values.len()),
            _ => "?".to_string(),
        }
    }

    fn lock_clause(&self, table: &str) -> String {
        if self.backend == DbBackend::Postgres {
            format!("FOR UPDATE OF {table} SKIP LOCKED")
        } else {
            String::new()
        }
    }
}

/// Claims up to `limit` pending fan-outs: not leased, and not behind an older pending fan-out
/// with the same ordering key.
async fn claim_fan_outs(
    database: &DatabaseConnection,
    config: &Config,
    limit: u64,
) -> Result<Vec<activity::Model>> {
    let now = Utc::now();
    let mut sql = SqlValues::new(database.get_database_backend());
    let pending = sql.bind(true);
    let now_placeholder = sql.bind(now);
    let pending_again = sql.bind(true);
    let limit_placeholder = sql.bind(limit as i64);
    let statement = format!(
        "SELECT a.* FROM activities a \
         WHERE a.fanout_pending = {pending} \
           AND (a.fanout_leased_until IS NULL OR a.fanout_leased_until < {now_placeholder}) \
           AND NOT EXISTS (SELECT 1 FROM activities b WHERE b.fanout_pending = {pending_again} \
               AND b.ordering_key = a.ordering_key AND b.id < a.id) \
         ORDER BY a.id LIMIT {limit_placeholder} {}",
        sql.lock_clause("a")
    );
    let leased_until = now + lease_length(config);
    select_and_lease::<activity::Entity>(
        database,
        sql,
        statement,
        activity::Column::FanoutLeasedUntil,
        activity::Column::Id,
        leased_until,
        |row| row.id,
    )
    .await
}

/// Claims up to `limit` due retries: pending, due, not leased, not behind an older pending
/// delivery with the same inbox and ordering key, and not to a server that is backing off,
/// dead, or in `exclude_hosts`.
pub async fn claim_due_deliveries(
    database: &DatabaseConnection,
    config: &Config,
    limit: u64,
    exclude_hosts: &[String],
) -> Result<Vec<delivery::Model>> {
    let now = Utc::now();
    let mut sql = SqlValues::new(database.get_database_backend());
    let pending = sql.bind(DeliveryState::Pending.to_value());
    let now_1 = sql.bind(now);
    let now_2 = sql.bind(now);
    let pending_again = sql.bind(DeliveryState::Pending.to_value());
    let now_3 = sql.bind(now);
    let excluded = if exclude_hosts.is_empty() {
        String::new()
    } else {
        let list: Vec<String> = exclude_hosts
            .iter()
            .map(|host| sql.bind(host.clone()))
            .collect();
        format!("AND d.instance_host NOT IN ({})", list.join(", "))
    };
    let limit_placeholder = sql.bind(limit as i64);
    let statement = format!(
        "SELECT d.* FROM deliveries d \
         WHERE d.state = {pending} AND d.next_attempt_at <= {now_1} \
           AND (d.leased_until IS NULL OR d.leased_until < {now_2}) \
           AND NOT EXISTS (SELECT 1 FROM deliveries e WHERE e.ordering_key = d.ordering_key \
               AND e.inbox_url = d.inbox_url AND e.state = {pending_again} AND e.id < d.id) \
           AND NOT EXISTS (SELECT 1 FROM instances i WHERE i.host = d.instance_host \
               AND (i.retry_at > {now_3} OR i.dead_since IS NOT NULL)) \
           {excluded} \
         ORDER BY d.id LIMIT {limit_placeholder} {}",
        sql.lock_clause("d")
    );
    let leased_until = now + lease_length(config);
    select_and_lease::<delivery::Entity>(
        database,
        sql,
        statement,
        delivery::Column::LeasedUntil,
        delivery::Column::Id,
        leased_until,
        |row| row.id,
    )
    .await
}

/// Runs a claiming `SELECT` and sets the lease of the rows it returns, in one transaction (on
/// PostgreSQL the `SELECT` locks them with `FOR UPDATE SKIP LOCKED` until the commit).
async fn select_and_lease<E: EntityTrait>(
    database: &DatabaseConnection,
    sql: SqlValues,
    statement: String,
    lease_column: E::Column,
    id_column: E::Column,
    leased_until: DateTime<Utc>,
    id_of: impl Fn(&E::Model) -> i64,
) -> Result<Vec<E::Model>>
where
    E::Model: FromQueryResult + Sync,
{
    let transaction = database.begin().await?;
    let rows = E::Model::find_by_statement(Statement::from_sql_and_values(
        sql.backend,
        statement,
        sql.values,
    ))
    .all(&transaction)
    .await?;
    if !rows.is_empty() {
        E::update_many()
            .col_expr(lease_column, Expr::value(Some(leased_until)))
            .filter(id_column.is_in(rows.iter().map(&id_of)))
            .exec(&transaction)
            .await?;
    }
    transaction.commit().await?;
    Ok(rows)
}

/// Why a fan-out does not send to a server now.
enum Hold {
    /// Dead: park the delivery.
    Dead,
    /// Backing off: queue the delivery for when the backoff ends.
    BackingOff(DateTime<Utc>),
}

/// Sends one activity to each of its targets from its checkpoint on, writing delivery rows only
/// for the targets that did not get it.
async fn fan_out(
    context: &Context,
    limits: &Limits,
    payloads: &Arc<PayloadCache>,
    stored: activity::Model,
    turn: DispatchTurn,
) -> Result<()> {
    let targets: Vec<String> = stored
        .targets
        .as_deref()
        .map(serde_json::from_str)
        .transpose()?
        .unwrap_or_default();
    let start = (stored.fanout_progress.max(0) as usize).min(targets.len());
    let now = Utc::now();

    // Servers that are dead or backing off, and servers whose failure record a success clears.
    let mut held: HashMap<String, Hold> = HashMap::new();
    let mut failing: HashSet<String> = HashSet::new();
    for server in instance::Entity::find()
        .filter(instance::Column::ConsecutiveFailures.gt(0))
        .all(&context.db)
        .await?
    {
        failing.insert(server.host.clone());
        if server.dead_since.is_some() {
            held.insert(server.host, Hold::Dead);
        } else if let Some(retry_at) = server.retry_at.filter(|retry_at| *retry_at > now) {
            held.insert(server.host, Hold::BackingOff(retry_at));
        }
    }
    // Inboxes where an older activity about the same post is still being retried: this one
    // queues behind it.
    let waiting: HashSet<String> = match &stored.ordering_key {
        Some(key) => delivery::Entity::find()
            .select_only()
            .column(delivery::Column::InboxUrl)
            .filter(delivery::Column::OrderingKey.eq(key))
            .filter(delivery::Column::State.is_in([DeliveryState::Pending, DeliveryState::Parked]))
            .into_tuple()
            .all(&context.db)
            .await?
            .into_iter()
            .collect(),
        None => HashSet::new(),
    };

    let mut queued_rows = Vec::new();
    let mut sendable = Vec::new();
    // Which targets have an outcome (or were queued): the fan-out's progress is the first one
    // that has not.
    let mut completed = vec![false; targets.len()];
    for flag in completed.iter_mut().take(start) {
        *flag = true;
    }
    for (index, inbox) in targets.iter().enumerate().skip(start) {
        let host = host_of(&Url::parse(inbox)?)?;
        let row = |state: DeliveryState, next_attempt_at: DateTime<Utc>| delivery::ActiveModel {
            activity_id: Set(stored.id),
            inbox_url: Set(inbox.clone()),
            instance_host: Set(host.clone()),
            state: Set(state),
            attempts: Set(0),
            next_attempt_at: Set(next_attempt_at),
            created_at: Set(stored.created_at),
            ordering_key: Set(stored.ordering_key.clone()),
            ..Default::default()
        };
        let queued = match held.get(&host) {
            Some(Hold::Dead) => Some(row(DeliveryState::Parked, now)),
            Some(Hold::BackingOff(retry_at)) => Some(row(DeliveryState::Pending, *retry_at)),
            None if waiting.contains(inbox) => Some(row(DeliveryState::Pending, now)),
            None => None,
        };
        match queued {
            Some(queued) => {
                queued_rows.push(queued);
                completed[index] = true;
            }
            None => sendable.push((index, inbox.clone(), host)),
        }
    }
    insert_rows(&context.db, queued_rows).await?;

    // Send, and collect what did not get through.
    let (results, mut outcomes) = tokio::sync::mpsc::unbounded_channel();
    let total = sendable.len();
    turn.wait().await;
    for (index, inbox, host) in sendable {
        let Some(permits) = limits.acquire(&host).await else {
            return Err(Error::internal("the delivery limits were closed"));
        };
        let context = context.clone();
        let payloads = payloads.clone();
        let results = results.clone();
        let activity_id = stored.id;
        tokio::spawn(async move {
            let attempt = match send_one(&context, &payloads, activity_id, &inbox).await {
                Ok(attempt) => attempt,
                Err(error) => Attempt::Failed {
                    status: None,
                    error: error.to_string(),
                },
            };
            drop(permits);
            let _ = results.send((index, inbox, host, attempt));
        });
    }
    drop(turn);
    drop(results);

    let settings = &context.config.delivery;
    let mut progress = start;
    let mut checkpoint_at = tokio::time::Instant::now() + CHECKPOINT_INTERVAL;
    let mut failure_rows = Vec::new();
    let mut recovered_hosts = BTreeSet::new();
    for _ in 0..total {
        let Some((index, inbox, host, attempt)) = outcomes.recv().await else {
            break;
        };
        let now = Utc::now();
        match attempt {
            Attempt::Delivered => {
                context.metrics.count_delivery(DeliveryOutcome::Delivered);
                if failing.contains(&host) {
                    recovered_hosts.insert(host);
                }
            }
            Attempt::Rejected { status } => {
                tracing::info!(inbox, status, "the inbox refused a delivery; not retrying");
                context.metrics.count_delivery(DeliveryOutcome::Rejected);
                failure_rows.push(first_attempt_row(
                    &stored,
                    &inbox,
                    &host,
                    FirstAttempt::Rejected(status),
                    now,
                ));
                if failing.contains(&host) {
                    recovered_hosts.insert(host);
                }
            }
            Attempt::Refused { reason } => {
                tracing::warn!(inbox, %reason, "delivery refused: the inbox is not somewhere Kindred sends to");
                context.metrics.count_delivery(DeliveryOutcome::Refused);
                failure_rows.push(first_attempt_row(
                    &stored,
                    &inbox,
                    &host,
                    FirstAttempt::Refused(reason),
                    now,
                ));
            }
            Attempt::Blocked => {
                tracing::info!(
                    inbox,
                    "not sent: the server was blocked after this was queued"
                );
                context.metrics.count_delivery(DeliveryOutcome::Blocked);
                failure_rows.push(first_attempt_row(
                    &stored,
                    &inbox,
                    &host,
                    FirstAttempt::Blocked,
                    now,
                ));
            }
            Attempt::Failed { status, error } => {
                tracing::info!(inbox, %error, "delivery failed; it will be retried");
                context.metrics.count_delivery(DeliveryOutcome::Retrying);
                let next_attempt_at = now + retry_delay(settings, 1);
                failure_rows.push(first_attempt_row(
                    &stored,
                    &inbox,
                    &host,
                    FirstAttempt::Failed {
                        status,
                        error,
                        next_attempt_at,
                    },
                    now,
                ));
                mark_instance_failing(context, &host, now).await?;
            }
        }
        completed[index] = true;
        while progress < completed.len() && completed[progress] {
            progress += 1;
        }
        if tokio::time::Instant::now() >= checkpoint_at {
            // Failures first: progress never passes a target whose outcome is not stored.
            insert_rows(&context.db, std::mem::take(&mut failure_rows)).await?;
            checkpoint(&context.db, &context.config, stored.id, progress).await?;
            checkpoint_at = tokio::time::Instant::now() + CHECKPOINT_INTERVAL;
        }
    }
    insert_rows(&context.db, failure_rows).await?;
    for host in recovered_hosts {
        mark_instance_healthy(&context.db, &host, Utc::now()).await?;
    }
    activity::Entity::update_many()
        .col_expr(activity::Column::FanoutPending, Expr::value(false))
        .col_expr(
            activity::Column::FanoutProgress,
            Expr::value(targets.len() as i32),
        )
        .col_expr(
            activity::Column::FanoutLeasedUntil,
            Expr::value(None::<DateTime<Utc>>),
        )
        .filter(activity::Column::Id.eq(stored.id))
        .exec(&context.db)
        .await?;
    Ok(())
}

/// How often a running fan-out stores its progress and renews its lease.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(500);

/// Stores that every target before `progress` has its outcome, and renews the lease so the
/// fan-out keeps its owner while it runs. A restart resumes at `progress`: it may resend what
/// was in flight (receivers de-duplicate by id), never skip a target.
async fn checkpoint(
    database: &impl ConnectionTrait,
    config: &Config,
    activity_id: i64,
    progress: usize,
) -> Result<()> {
    activity::Entity::update_many()
        .col_expr(
            activity::Column::FanoutProgress,
            Expr::value(progress as i32),
        )
        .col_expr(
            activity::Column::FanoutLeasedUntil,
            Expr::value(Some(Utc::now() + lease_length(config))),
        )
        .filter(activity::Column::Id.eq(activity_id))
        .exec(database)
        .await?;
    Ok(())
}

/// How the first attempt of a fan-out went, for a delivery that did not get through.
enum FirstAttempt {
    Rejected(u16),
    Refused(String),
    Blocked,
    Failed {
        status: Option<u16>,
        error: String,
        next_attempt_at: DateTime<Utc>,
    },
}

fn first_attempt_row(
    stored: &activity::Model,
    inbox: &str,
    host: &str,
    attempt: FirstAttempt,
    now: DateTime<Utc>,
) -> delivery::ActiveModel {
    let (state, status, error, next_attempt_at, finished_at) = match attempt {
        FirstAttempt::Rejected(status) => {
            (DeliveryState::Rejected, Some(status), None, now, Some(now))
        }
        FirstAttempt::Refused(reason) => (
            DeliveryState::Rejected,
            None,
            Some(reason.chars().take(500).collect::<String>()),
            now,
            Some(now),
        ),
        FirstAttempt::Blocked => (
            DeliveryState::Abandoned,
            None,
            Some(BLOCKED_SERVER_ERROR.to_string()),
            now,
            Some(now),
        ),
        FirstAttempt::Failed {
            status,
            error,
            next_attempt_at,
        } => (
            DeliveryState::Pending,
            status,
            Some(error.chars().take(500).collect::<String>()),
            next_attempt_at,
            None,
        ),
    };
    delivery::ActiveModel {
        activity_id: Set(stored.id),
        inbox_url: Set(inbox.to_string()),
        instance_host: Set(host.to_string()),
        state: Set(state),
        attempts: Set(1),
        next_attempt_at: Set(next_attempt_at),
        last_attempt_at: Set(Some(now)),
        last_status: Set(status.map(i32::from)),
        last_error: Set(error),
        finished_at: Set(finished_at),
        created_at: Set(stored.created_at),
        ordering_key: Set(stored.ordering_key.clone()),
        ..Default::default()
    }
}

async fn insert_rows(
    database: &impl ConnectionTrait,
    rows: Vec<delivery::ActiveModel>,
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    // A fan-out resumed from its checkpoint writes the rows of targets it had already held or
    // failed again: the unique (activity, inbox) key keeps the first and skips the second.
    for chunk in rows.chunks(500) {
        delivery::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::columns([delivery::Column::ActivityId, delivery::Column::InboxUrl])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(database)
            .await?;
    }
    Ok(())
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
        let stored =
            crate::database::unique_row(activity::Entity::find_by_id(activity_id), &context.db)
                .await?
                .ok_or_else(|| Error::internal("the activity of a delivery is gone"))?;
        let sender =
            crate::database::unique_row(actor::Entity::find_by_id(stored.actor_id), &context.db)
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
    /// Not sent: this instance blocks the server now (it was blocked after the activity was
    /// queued). Kept as an abandoned delivery, visible and retryable should the block end.
    Blocked,
    /// Not sent, and never will be: the inbox is at an internal address or has a scheme
    /// Kindred does not send to (see `address_guard.rs`). Kept as rejected, with the reason.
    Refused {
        reason: String,
    },
}

/// The error a delivery to a blocked server is kept with.
const BLOCKED_SERVER_ERROR: &str = "not sent: this instance blocks the server";

/// Signs the stored bytes for `inbox` now and POSTs them.
async fn send_one(
    context: &Context,
    payloads: &PayloadCache,
    activity_id: i64,
    inbox: &str,
) -> Result<Attempt> {
    let inbox = Url::parse(inbox)?;
    let blocked = context.blocked_hosts.get(&context.read_db).await?;
    if !instances::federates_with(&context.config, &blocked, &host_of(&inbox)?) {
        return Ok(Attempt::Blocked);
    }
    // The scheme and IP literals are checked here; names when they resolve (below, in the
    // client's resolver).
    if let Err(reason) = address_guard::check_outbound_url(&context.config, &inbox) {
        return Ok(Attempt::Refused { reason });
    }
    let payload = payloads.get(context, activity_id).await?;
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
        .headers(signed.into_headers()?)
        .body(payload.body.clone())
        .send()
        .await;
    let status = match response {
        Ok(response) => response.status().as_u16(),
        Err(error) => {
            if let Some(reason) = address_guard::refusal_in(&error) {
                return Ok(Attempt::Refused { reason });
            }
            return Ok(Attempt::Failed {
                status: None,
                error: error.to_string(),
            });
        }
    };
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

/// Records a retry's attempt on its row and on its server's health.
async fn record_retry(context: &Context, row: &delivery::Model, attempt: Attempt) -> Result<()> {
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
        Attempt::Refused { reason } => {
            tracing::warn!(inbox = %row.inbox_url, %reason, "delivery refused: the inbox is not somewhere Kindred sends to");
            update.state = Set(DeliveryState::Rejected);
            update.finished_at = Set(Some(now));
            update.last_status = Set(None);
            update.last_error = Set(Some(reason.chars().take(500).collect()));
            update.update(&context.db).await?;
            context.metrics.count_delivery(DeliveryOutcome::Refused);
        }
        Attempt::Blocked => {
            tracing::info!(inbox = %row.inbox_url, "not sent: the server is blocked now");
            update.state = Set(DeliveryState::Abandoned);
            update.finished_at = Set(Some(now));
            update.last_status = Set(None);
            update.last_error = Set(Some(BLOCKED_SERVER_ERROR.to_string()));
            update.update(&context.db).await?;
            context.metrics.count_delivery(DeliveryOutcome::Blocked);
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
        match send_one(context, payloads, oldest.activity_id, &oldest.inbox_url).await? {
            Attempt::Delivered | Attempt::Rejected { .. } => {
                tracing::info!(host = %server.host, "dead server answers again; resuming its deliveries");
                retry_held_deliveries(&context.db, Some(&server.host)).await?;
                revived.push(server.host);
            }
            Attempt::Failed { error, .. } => {
                tracing::debug!(host = %server.host, %error, "dead server still not answering");
            }
            Attempt::Blocked => {
                tracing::debug!(host = %server.host, "dead server is blocked now; not probed");
            }
            Attempt::Refused { reason } => {
                tracing::debug!(host = %server.host, %reason, "dead server is at a refused address; not probed");
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
    /// Activities whose fan-out has not finished, and the inboxes they still have to reach.
    pub fan_outs_pending: u64,
    pub fan_out_targets_pending: u64,
    /// Deliveries written for retry, refusal or a dead server, by state.
    pub by_state: BTreeMap<String, u64>,
    /// Pending retries a worker holds a lease on.
    pub in_flight: u64,
    /// Age of the oldest unfinished fan-out or pending retry.
    pub oldest_pending_seconds: i64,
    /// Servers failing now (not yet dead): host, since when, failures in a row.
    pub failing_instances: Vec<(String, DateTime<Utc>, i32)>,
    /// Dead servers: host and since when.
    pub dead_instances: Vec<(String, DateTime<Utc>)>,
}

pub async fn queue_summary(database: &impl ConnectionTrait) -> Result<QueueSummary> {
    let now = Utc::now();
    let mut summary = QueueSummary::default();
    let pending_fan_outs: Vec<(Option<String>, i32, DateTime<Utc>)> = activity::Entity::find()
        .select_only()
        .column(activity::Column::Targets)
        .column(activity::Column::FanoutProgress)
        .column(activity::Column::CreatedAt)
        .filter(activity::Column::FanoutPending.eq(true))
        .into_tuple()
        .all(database)
        .await?;
    let mut oldest: Option<DateTime<Utc>> = None;
    for (targets, progress, created_at) in pending_fan_outs {
        let count = targets
            .as_deref()
            .and_then(|text| serde_json::from_str::<Vec<String>>(text).ok())
            .map_or(0, |targets| targets.len());
        summary.fan_outs_pending += 1;
        summary.fan_out_targets_pending += count.saturating_sub(progress.max(0) as usize) as u64;
        oldest = Some(oldest.map_or(created_at, |oldest| oldest.min(created_at)));
    }
    let counts: Vec<(String, i64)> = delivery::Entity::find()
        .select_only()
        .column(delivery::Column::State)
        .column_as(delivery::Column::Id.count(), "count")
        .group_by(delivery::Column::State)
        .into_tuple()
        .all(database)
        .await?;
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
    if let Some(retry) = delivery::Entity::find()
        .filter(delivery::Column::State.eq(DeliveryState::Pending))
        .order_by_asc(delivery::Column::CreatedAt)
        .one(database)
        .await?
    {
        oldest = Some(oldest.map_or(retry.created_at, |oldest| oldest.min(retry.created_at)));
    }
    summary.oldest_pending_seconds = oldest.map_or(0, |oldest| (now - oldest).num_seconds().max(0));
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

    #[tokio::test]
    async fn fan_outs_hand_out_their_sends_in_claim_order() {
        let order = Arc::new(DispatchOrder::new());
        let first = order.take_ticket();
        let second = order.take_ticket();
        let third = order.take_ticket();
        // The first goes at once; the others wait for the ones before them.
        tokio::time::timeout(Duration::from_millis(50), first.wait())
            .await
            .unwrap_or_else(|_| panic!("the first fan-out had to wait"));
        let waiting = tokio::spawn(async move {
            let started = tokio::time::Instant::now();
            third.wait().await;
            started.elapsed()
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!waiting.is_finished(), "the third went before the second");
        drop(first);
        drop(second);
        let waited = waiting.await.unwrap_or_default();
        assert!(waited >= Duration::from_millis(100), "{waited:?}");
        assert!(waited < DISPATCH_TURN_WAIT, "{waited:?}");

        // One stuck older fan-out holds the next back for at most DISPATCH_TURN_WAIT.
        let stuck = order.take_ticket();
        let next = order.take_ticket();
        let started = tokio::time::Instant::now();
        next.wait().await;
        assert!(started.elapsed() >= DISPATCH_TURN_WAIT);
        drop(stuck);
    }

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
