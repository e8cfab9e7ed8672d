//! Federation health over time, for the admin page's charts (`http/web/admin_health.rs`).
//! Every [`SAMPLE_EVERY`], the process that delivers writes one sample: the deliveries it made,
//! failed and had refused since the sample before (from the counters `/metrics` serves), and
//! the queue and the failing servers as `kindred deliveries` shows them. Samples older than
//! [`SAMPLES_KEPT_FOR`] are forgotten.

use crate::{
    context::Context, error::Result, federation::delivery::queue_summary, metrics::DeliveryTotals,
};
use chrono::{DateTime, Duration, DurationRound, Utc};
use kindred_entities::federation_health_sample;
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};

/// How often a sample is taken.
pub const SAMPLE_EVERY: std::time::Duration = std::time::Duration::from_secs(300);
/// How long samples are kept.
pub const SAMPLES_KEPT_FOR: Duration = Duration::days(8);

/// Takes a sample now: what was counted since `last` (the totals at the sample before, or at
/// start-up), and the queue as it stands. Returns the totals to take the next one from.
pub async fn take_sample(context: &Context, last: DeliveryTotals) -> Result<DeliveryTotals> {
    let totals = context.metrics.delivery_totals();
    let queue = queue_summary(&context.db).await?;
    let waiting: u64 = ["pending", "parked"]
        .iter()
        .filter_map(|state| queue.by_state.get(*state))
        .sum::<u64>()
        + queue.fan_out_targets_pending;
    let as_column = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
    federation_health_sample::Entity::insert(federation_health_sample::ActiveModel {
        id: NotSet,
        sampled_at: Set(Utc::now()),
        delivered: Set(as_column(totals.delivered.saturating_sub(last.delivered))),
        failed: Set(as_column(totals.failed.saturating_sub(last.failed))),
        refused: Set(as_column(totals.refused.saturating_sub(last.refused))),
        queue_depth: Set(as_column(waiting)),
        failing_servers: Set(as_column(queue.failing_instances.len() as u64)),
        dead_servers: Set(as_column(queue.dead_instances.len() as u64)),
    })
    .exec(&context.db)
    .await?;
    Ok(totals)
}

/// Forgets the samples older than [`SAMPLES_KEPT_FOR`].
pub async fn forget_old_samples(database: &impl ConnectionTrait) -> Result<u64> {
    Ok(federation_health_sample::Entity::delete_many()
        .filter(federation_health_sample::Column::SampledAt.lt(Utc::now() - SAMPLES_KEPT_FOR))
        .exec(database)
        .await?
        .rows_affected)
}

/// The worker task: a sample every [`SAMPLE_EVERY`], the first one after one period (what was
/// counted before this process started is not known).
pub async fn run_health_sampler(context: Context) {
    let mut every = tokio::time::interval(SAMPLE_EVERY);
    every.tick().await;
    let mut last = context.metrics.delivery_totals();
    loop {
        every.tick().await;
        match take_sample(&context, last).await {
            Ok(totals) => last = totals,
            Err(error) => tracing::warn!(%error, "could not sample federation health"),
        }
        if let Err(error) = forget_old_samples(&context.db).await {
            tracing::warn!(%error, "could not forget old federation-health samples");
        }
    }
}

/// One hour of the day the charts show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthHour {
    /// The start of the hour.
    pub hour: DateTime<Utc>,
    /// Deliveries made, failed and refused in the hour (sums of its samples).
    pub delivered: i64,
    pub failed: i64,
    pub refused: i64,
    /// The deepest the queue was, and the most servers failing or dead, in the hour; `None`
    /// when no sample was taken in it (nothing was delivering).
    pub queue_depth: Option<i64>,
    pub failing_servers: Option<i64>,
}

/// The 24 hours up to `now`, oldest first, each with what its samples say.
pub async fn last_day(
    database: &impl ConnectionTrait,
    now: DateTime<Utc>,
) -> Result<Vec<HealthHour>> {
    let this_hour = now.duration_trunc(Duration::hours(1)).unwrap_or(now);
    let first_hour = this_hour - Duration::hours(23);
    let mut hours: Vec<HealthHour> = (0..24)
        .map(|offset| HealthHour {
            hour: first_hour + Duration::hours(offset),
            delivered: 0,
            failed: 0,
            refused: 0,
            queue_depth: None,
            failing_servers: None,
        })
        .collect();
    let samples = federation_health_sample::Entity::find()
        .filter(federation_health_sample::Column::SampledAt.gte(first_hour))
        .order_by_asc(federation_health_sample::Column::SampledAt)
        .all(database)
        .await?;
    for sample in samples {
        let index = (sample.sampled_at - first_hour).num_hours();
        let Some(hour) = usize::try_from(index)
            .ok()
            .and_then(|index| hours.get_mut(index))
        else {
            continue;
        };
        hour.delivered += sample.delivered;
        hour.failed += sample.failed;
        hour.refused += sample.refused;
        hour.queue_depth = Some(hour.queue_depth.unwrap_or(0).max(sample.queue_depth));
        let failing = sample.failing_servers + sample.dead_servers;
        hour.failing_servers = Some(hour.failing_servers.unwrap_or(0).max(failing));
    }
    Ok(hours)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::{metrics::DeliveryOutcome, testing};

    #[tokio::test]
    async fn samples_count_what_happened_since_the_last_one_and_sum_by_hour() {
        testing::for_each_backend(async |backend| {
            let test_app = testing::TestApp::on(backend).start().await;
            let context = test_app.context();
            let start = context.metrics.delivery_totals();
            for _ in 0..3 {
                context.metrics.count_delivery(DeliveryOutcome::Delivered);
            }
            context.metrics.count_delivery(DeliveryOutcome::Retrying);
            context.metrics.count_delivery(DeliveryOutcome::Rejected);
            let after_first = take_sample(&context, start).await.unwrap();
            context.metrics.count_delivery(DeliveryOutcome::Delivered);
            take_sample(&context, after_first).await.unwrap();

            let day = last_day(&context.db, Utc::now()).await.unwrap();
            assert_eq!(day.len(), 24);
            let now = day.last().unwrap();
            assert_eq!((now.delivered, now.failed, now.refused), (4, 1, 1));
            assert_eq!(now.queue_depth, Some(0));
            assert_eq!(now.failing_servers, Some(0));
            assert!(day[..23].iter().all(|hour| hour.queue_depth.is_none()));

            // A sample from nine days ago is forgotten; today's stay.
            federation_health_sample::Entity::insert(federation_health_sample::ActiveModel {
                id: NotSet,
                sampled_at: Set(Utc::now() - Duration::days(9)),
                delivered: Set(1),
                failed: Set(0),
                refused: Set(0),
                queue_depth: Set(0),
                failing_servers: Set(0),
                dead_servers: Set(0),
            })
            .exec(&context.db)
            .await
            .unwrap();
            assert_eq!(forget_old_samples(&context.db).await.unwrap(), 1);
            assert_eq!(
                last_day(&context.db, Utc::now()).await.unwrap(),
                day,
                "the day is unchanged"
            );
        })
        .await;
    }
}
