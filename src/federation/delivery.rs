//! Durable outgoing delivery: `enqueue` writes an activity and one delivery row per remote
//! inbox inside the caller's transaction; the worker claims due rows, signs each attempt at send
//! time and records the outcome, backing off on failure. Only this file POSTs to remote inboxes.

use crate::{
    app::{AppState, Context},
    config::{Config, DeliveryConfig},
    error::{Error, Result},
    federation::{instances::host_of, objects::actor::ApubActor},
};
use activitypub_federation::{activity_sending::SendActivityTask, config::Data, traits::Activity};
use chrono::{DateTime, Utc};
use kindred_entities::{
    activity, actor,
    delivery::{self, DeliveryState},
};
use rand::Rng;
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
    sea_query::{Expr, LockBehavior, LockType},
};
use serde::Serialize;
use serde_json::Value;
use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::Arc,
    time::Duration,
};
use tokio::sync::Semaphore;
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
}

/// Stores `outgoing` and a pending delivery for each distinct remote inbox, in `transaction`
/// (the same one as the state change that caused it). Local inboxes are skipped. After the
/// commit, call `wake_delivery_worker`.
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
    let mut rows = Vec::new();
    let distinct: BTreeSet<Url> = inboxes.into_iter().collect();
    for inbox in distinct {
        let host = host_of(&inbox)?;
        if host == local_domain {
            continue;
        }
        rows.push(delivery::ActiveModel {
            activity_id: Set(stored.id),
            inbox_url: Set(inbox.to_string()),
            instance_host: Set(host),
            state: Set(DeliveryState::Pending),
            attempts: Set(0),
            next_attempt_at: Set(now),
            created_at: Set(now),
            ..Default::default()
        });
    }
    if !rows.is_empty() {
        delivery::Entity::insert_many(rows)
            .exec_without_returning(transaction)
            .await?;
    }
    Ok(stored)
}

/// Tells the worker there is new work (it also polls, so a lost wake-up only delays).
pub fn wake_delivery_worker(context: &Context) {
    context.delivery_signal.notify_one();
}

/// The activity as stored, for the federation crate's sender: serialised exactly as kept.
#[derive(Debug)]
struct StoredActivity {
    id: Url,
    actor: Url,
    json: Value,
}

impl Serialize for StoredActivity {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.json.serialize(serializer)
    }
}

#[async_trait::async_trait]
impl Activity for StoredActivity {
    type DataType = AppState;
    type Error = Error;

    fn id(&self) -> &Url {
        &self.id
    }

    fn actor(&self) -> &Url {
        &self.actor
    }

    async fn verify(&self, _data: &Data<AppState>) -> Result<()> {
        Err(Error::internal(
            "a stored outgoing activity is never received",
        ))
    }

    async fn receive(self, _data: &Data<AppState>) -> Result<()> {
        Err(Error::internal(
            "a stored outgoing activity is never received",
        ))
    }
}

/// How long a claimed delivery stays owned by the worker that claimed it.
fn lease_length(config: &Config) -> chrono::Duration {
    chrono::Duration::from_std(config.federation.request_timeout * 3)
        .unwrap_or_else(|_| chrono::Duration::seconds(60))
}

/// Runs the delivery worker until the process ends. Claims due deliveries in batches and sends
/// them with bounded concurrency, one inbox's deliveries in order.
pub async fn run_worker(context: Context) {
    if context.db.get_database_backend() == DbBackend::Sqlite {
        // SQLite means a single process: leases left by a previous run (a crash) are stale.
        if let Err(error) = release_all_leases(&context.db).await {
            tracing::error!(%error, "cannot release stale delivery leases");
        }
    }
    let global = Arc::new(Semaphore::new(context.config.delivery.concurrency));
    let batch_size = (context.config.delivery.concurrency * 4) as u64;
    loop {
        let claimed = match claim_due_deliveries(&context.db, &context.config, batch_size).await {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::error!(%error, "cannot claim deliveries");
                Vec::new()
            }
        };
        if claimed.is_empty() {
            tokio::select! {
                () = context.delivery_signal.notified() => {},
                () = tokio::time::sleep(Duration::from_secs(1)) => {},
            }
            continue;
        }
        // One task per inbox keeps that inbox's activities in order (a Create before its
        // Update); the semaphore bounds how many inboxes are served at once.
        let mut by_inbox: BTreeMap<String, Vec<delivery::Model>> = BTreeMap::new();
        for row in claimed {
            by_inbox.entry(row.inbox_url.clone()).or_default().push(row);
        }
        let mut tasks = tokio::task::JoinSet::new();
        for (_, rows) in by_inbox {
            let Ok(permit) = global.clone().acquire_owned().await else {
                return;
            };
            let context = context.reset_request_count();
            tasks.spawn(async move {
                for row in rows {
                    attempt_delivery(&context, row).await;
                }
                drop(permit);
            });
        }
        while tasks.join_next().await.is_some() {}
    }
}

async fn release_all_leases(database: &impl ConnectionTrait) -> Result<()> {
    delivery::Entity::update_many()
        .col_expr(
            delivery::Column::LeasedUntil,
            Expr::value(None::<DateTime<Utc>>),
        )
        .filter(delivery::Column::State.eq(DeliveryState::Pending))
        .exec(database)
        .await?;
    Ok(())
}

/// Claims up to `limit` due deliveries by setting their lease. On PostgreSQL the rows are
/// locked with `FOR UPDATE SKIP LOCKED`, so two workers never claim the same row.
pub async fn claim_due_deliveries(
    database: &sea_orm::DatabaseConnection,
    config: &Config,
    limit: u64,
) -> Result<Vec<delivery::Model>> {
    let now = Utc::now();
    let transaction = database.begin().await?;
    let mut query = delivery::Entity::find()
        .filter(delivery::Column::State.eq(DeliveryState::Pending))
        .filter(delivery::Column::NextAttemptAt.lte(now))
        .filter(
            Condition::any()
                .add(delivery::Column::LeasedUntil.is_null())
                .add(delivery::Column::LeasedUntil.lt(now)),
        )
        .order_by_asc(delivery::Column::Id)
        .limit(limit);
    if database.get_database_backend() == DbBackend::Postgres {
        query = query.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let rows = query.all(&transaction).await?;
    if rows.is_empty() {
        transaction.commit().await?;
        return Ok(rows);
    }
    let leased_until = now + lease_length(config);
    delivery::Entity::update_many()
        .col_expr(
            delivery::Column::LeasedUntil,
            Expr::value(Some(leased_until)),
        )
        .filter(delivery::Column::Id.is_in(rows.iter().map(|row| row.id)))
        .exec(&transaction)
        .await?;
    transaction.commit().await?;
    Ok(rows)
}

/// One attempt: rebuild the request from the stored JSON, sign it now, send it, record it.
async fn attempt_delivery(context: &Context, row: delivery::Model) {
    let outcome = send_one(context, &row).await;
    if let Err(error) = record_outcome(&context.db, &context.config.delivery, &row, outcome).await {
        tracing::error!(delivery = row.id, %error, "cannot record a delivery outcome");
    }
}

async fn send_one(context: &Context, row: &delivery::Model) -> Result<(), String> {
    let stored = activity::Entity::find_by_id(row.activity_id)
        .one(&context.db)
        .await
        .map_err(|error| error.to_string())?
        .ok_or("the activity is gone")?;
    let sender = actor::Entity::find_by_id(stored.actor_id)
        .one(&context.db)
        .await
        .map_err(|error| error.to_string())?
        .ok_or("the sender is gone")?;
    let sender = ApubActor::from_row(sender).map_err(|error| error.to_string())?;
    let json: Value = serde_json::from_str(&stored.json).map_err(|error| error.to_string())?;
    let outgoing = StoredActivity {
        id: Url::parse(&stored.ap_id).map_err(|error| error.to_string())?,
        actor: sender.ap_id.clone(),
        json,
    };
    let inbox = Url::parse(&row.inbox_url).map_err(|error| error.to_string())?;
    let tasks = SendActivityTask::prepare(&outgoing, &sender, vec![inbox], context)
        .await
        .map_err(|error| error.to_string())?;
    // An inbox the crate refuses (local, or an address not allowed) yields no task: there is
    // nothing to retry, so it counts as done.
    for task in tasks {
        task.sign_and_send(context)
            .await
            .map_err(|error| error.to_string())?;
    }
    Ok(())
}

/// Marks the row delivered, or schedules its next attempt (abandoning it after the window).
async fn record_outcome(
    database: &impl ConnectionTrait,
    settings: &DeliveryConfig,
    row: &delivery::Model,
    outcome: Result<(), String>,
) -> Result<()> {
    let now = Utc::now();
    let attempts = row.attempts + 1;
    let mut update = delivery::ActiveModel {
        id: Set(row.id),
        attempts: Set(attempts),
        last_attempt_at: Set(Some(now)),
        leased_until: Set(None),
        ..Default::default()
    };
    match outcome {
        Ok(()) => {
            update.state = Set(DeliveryState::Delivered);
            update.finished_at = Set(Some(now));
            update.last_error = Set(None);
        }
        Err(error) => {
            tracing::info!(inbox = %row.inbox_url, attempts, %error, "delivery failed");
            update.last_error = Set(Some(error.chars().take(500).collect()));
            let waited = now - row.created_at;
            let give_up_after = chrono::Duration::from_std(settings.give_up_after)
                .unwrap_or_else(|_| chrono::Duration::days(2));
            if waited >= give_up_after {
                update.state = Set(DeliveryState::Abandoned);
                update.finished_at = Set(Some(now));
            } else {
                update.next_attempt_at = Set(now + retry_delay(settings, attempts));
            }
        }
    }
    update.update(database).await?;
    Ok(())
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

/// Counts of deliveries by state, for tests and the operator.
pub async fn count_by_state(database: &impl ConnectionTrait) -> Result<HashMap<String, u64>> {
    let rows: Vec<(String, i64)> = delivery::Entity::find()
        .select_only()
        .column(delivery::Column::State)
        .column_as(delivery::Column::Id.count(), "count")
        .group_by(delivery::Column::State)
        .into_tuple()
        .all(database)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(state, count)| (state, count.max(0) as u64))
        .collect())
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
