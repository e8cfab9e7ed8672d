//! Remote servers' health: backoff after failures, dead servers parked and probed, held
//! deliveries requeued, and the retry schedule.

use super::*;

/// A success clears the server's failure record (only when it has one: most have none, and
/// this keeps a thousand successes from writing a thousand instance rows).
pub(super) async fn mark_instance_healthy(
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
pub(super) async fn mark_instance_failing(
    context: &Context,
    host: &str,
    now: DateTime<Utc>,
) -> Result<()> {
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
pub(super) async fn probe_dead_instances_periodically(context: Context) {
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
pub(super) async fn probe_dead_instances(
    context: &Context,
    payloads: &PayloadCache,
) -> Result<Vec<String>> {
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
        match send_one(
            context,
            payloads,
            oldest.activity_id,
            &oldest.inbox_url,
            false,
        )
        .await?
        {
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
