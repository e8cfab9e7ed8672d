//! Metrics for the operator, served as Prometheus text at `/metrics` by the `prometheus`
//! crate: counters kept as things happen, and figures read from the database at scrape time
//! (queue depth, fan-outs pending, oldest pending delivery).

use crate::{database_writer::WriterCounts, error::Result, federation::delivery};
use prometheus::{IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder};
use sea_orm::ConnectionTrait;
use std::sync::atomic::Ordering;

/// How a delivery attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DeliveryOutcome {
    Delivered,
    /// Failed; another attempt is scheduled.
    Retrying,
    /// A final 4xx from the inbox.
    Rejected,
    /// Failed past the retry window.
    Abandoned,
    /// Not sent: the server was blocked after the activity was queued.
    Blocked,
    /// Not sent: the inbox is at an internal address or has a scheme Kindred does not send to.
    Refused,
}

impl DeliveryOutcome {
    fn label(self) -> &'static str {
        match self {
            DeliveryOutcome::Delivered => "delivered",
            DeliveryOutcome::Retrying => "retrying",
            DeliveryOutcome::Rejected => "rejected",
            DeliveryOutcome::Abandoned => "abandoned",
            DeliveryOutcome::Blocked => "blocked",
            DeliveryOutcome::Refused => "refused",
        }
    }
}

/// Delivery attempts counted so far, in three kinds (the federation-health samples take their
/// differences).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryTotals {
    pub delivered: u64,
    /// Failed, to be retried or given up on.
    pub failed: u64,
    /// Refused for good by the inbox, or not sent (blocked server, internal address).
    pub refused: u64,
}

/// The metrics `/metrics` serves, in one Prometheus registry: counters kept as things happen,
/// gauges read from the database at scrape time.
pub struct Metrics {
    registry: Registry,
    delivery_attempts: IntCounterVec,
    inbox_requests: IntCounterVec,
    queue_depth: IntGaugeVec,
    fan_outs_pending: IntGauge,
    fan_out_targets_pending: IntGauge,
    in_flight: IntGauge,
    oldest_pending_seconds: IntGauge,
    instances_failing: IntGaugeVec,
    writer_jobs: IntCounter,
    writer_commits: IntCounter,
    /// Two scrapes at once must not both add the writer's latest increase.
    writer_sync: std::sync::Mutex<()>,
}

/// Every metric's name, in the order `docs/operations.md` lists them (a test keeps the two
/// in agreement).
pub const METRIC_NAMES: [&str; 10] = [
    "kindred_delivery_fan_outs_pending",
    "kindred_delivery_fan_out_targets_pending",
    "kindred_delivery_queue_depth",
    "kindred_delivery_in_flight",
    "kindred_delivery_oldest_pending_seconds",
    "kindred_instances_failing",
    "kindred_delivery_attempts_total",
    "kindred_inbox_requests_total",
    "kindred_database_writer_jobs_total",
    "kindred_database_writer_commits_total",
];

impl Metrics {
    pub fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new();
        fn registered<M: prometheus::core::Collector + Clone + 'static>(
            registry: &Registry,
            metric: M,
        ) -> Result<M, prometheus::Error> {
            registry.register(Box::new(metric.clone()))?;
            Ok(metric)
        }
        let gauge = |name: &str, help: &str| registered(&registry, IntGauge::new(name, help)?);
        let gauges = |name: &str, help: &str, labels: &[&str]| {
            registered(&registry, IntGaugeVec::new(Opts::new(name, help), labels)?)
        };
        let counter = |name: &str, help: &str| registered(&registry, IntCounter::new(name, help)?);
        let counters = |name: &str, help: &str, labels: &[&str]| {
            registered(
                &registry,
                IntCounterVec::new(Opts::new(name, help), labels)?,
            )
        };
        let metrics = Metrics {
            fan_outs_pending: gauge(
                "kindred_delivery_fan_outs_pending",
                "Outgoing activities whose fan-out has not finished.",
            )?,
            fan_out_targets_pending: gauge(
                "kindred_delivery_fan_out_targets_pending",
                "Inboxes the unfinished fan-outs still have to reach.",
            )?,
            queue_depth: gauges(
                "kindred_delivery_queue_depth",
                "Deliveries by state.",
                &["state"],
            )?,
            in_flight: gauge(
                "kindred_delivery_in_flight",
                "Deliveries claimed by a worker now.",
            )?,
            oldest_pending_seconds: gauge(
                "kindred_delivery_oldest_pending_seconds",
                "Age of the oldest pending delivery.",
            )?,
            instances_failing: gauges(
                "kindred_instances_failing",
                "Remote servers failing now, and dead ones.",
                &["dead"],
            )?,
            delivery_attempts: counters(
                "kindred_delivery_attempts_total",
                "Delivery attempts by outcome.",
                &["outcome"],
            )?,
            inbox_requests: counters(
                "kindred_inbox_requests_total",
                "Inbox POSTs by result.",
                &["result", "status"],
            )?,
            writer_jobs: counter(
                "kindred_database_writer_jobs_total",
                "Write transactions run by the database writer.",
            )?,
            writer_commits: counter(
                "kindred_database_writer_commits_total",
                "Commits of the database writer (each covers one or more jobs).",
            )?,
            registry,
            writer_sync: std::sync::Mutex::new(()),
        };
        // Every outcome is shown from the start, at zero, so a dashboard has a series.
        for outcome in [
            DeliveryOutcome::Delivered,
            DeliveryOutcome::Retrying,
            DeliveryOutcome::Rejected,
            DeliveryOutcome::Abandoned,
            DeliveryOutcome::Blocked,
            DeliveryOutcome::Refused,
        ] {
            metrics
                .delivery_attempts
                .with_label_values(&[outcome.label()]);
        }
        metrics
            .inbox_requests
            .with_label_values(&["accepted", "202"]);
        Ok(metrics)
    }

    pub fn count_delivery(&self, outcome: DeliveryOutcome) {
        self.delivery_attempts
            .with_label_values(&[outcome.label()])
            .inc();
    }

    /// The delivery attempts counted since this process started, by how they ended.
    pub fn delivery_totals(&self) -> DeliveryTotals {
        let count = |outcome: DeliveryOutcome| {
            self.delivery_attempts
                .with_label_values(&[outcome.label()])
                .get()
        };
        DeliveryTotals {
            delivered: count(DeliveryOutcome::Delivered),
            failed: count(DeliveryOutcome::Retrying) + count(DeliveryOutcome::Abandoned),
            refused: count(DeliveryOutcome::Rejected)
                + count(DeliveryOutcome::Blocked)
                + count(DeliveryOutcome::Refused),
        }
    }

    pub fn count_inbox_accepted(&self) {
        self.inbox_requests
            .with_label_values(&["accepted", "202"])
            .inc();
    }

    pub fn count_inbox_rejected(&self, status: u16) {
        self.inbox_requests
            .with_label_values(&["rejected", &status.to_string()])
            .inc();
    }

    /// The Prometheus text exposition of the counters and the queue's state.
    pub async fn render(
        &self,
        database: &impl ConnectionTrait,
        writer: &WriterCounts,
    ) -> Result<String> {
        let queue = delivery::queue_summary(database).await?;
        let as_gauge = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
        self.fan_outs_pending.set(as_gauge(queue.fan_outs_pending));
        self.fan_out_targets_pending
            .set(as_gauge(queue.fan_out_targets_pending));
        for (state, count) in &queue.by_state {
            self.queue_depth
                .with_label_values(&[state.as_str()])
                .set(as_gauge(*count));
        }
        self.in_flight.set(as_gauge(queue.in_flight));
        self.oldest_pending_seconds
            .set(queue.oldest_pending_seconds);
        self.instances_failing
            .with_label_values(&["false"])
            .set(as_gauge(queue.failing_instances.len() as u64));
        self.instances_failing
            .with_label_values(&["true"])
            .set(as_gauge(queue.dead_instances.len() as u64));
        // The writer counts in atomics of its own: bring the counters up to them.
        let _one_at_a_time = self
            .writer_sync
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for (counter, value) in [
            (&self.writer_jobs, writer.jobs.load(Ordering::Relaxed)),
            (&self.writer_commits, writer.commits.load(Ordering::Relaxed)),
        ] {
            counter.inc_by(value.saturating_sub(counter.get()));
        }
        TextEncoder::new()
            .encode_to_string(&self.registry.gather())
            .map_err(|error| crate::error::Error::internal(format!("metrics: {error}")))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_documented_metric_is_served_and_every_served_one_documented() {
        let documentation = include_str!("../docs/operations.md");
        let section = documentation
            .split("## Metrics")
            .nth(1)
            .unwrap()
            .split("\n## ")
            .next()
            .unwrap();
        let database = crate::testing::TestDatabase::sqlite().await.unwrap();
        let metrics = Metrics::new().unwrap();
        metrics.count_delivery(DeliveryOutcome::Refused);
        metrics.count_inbox_rejected(401);
        let text = metrics
            .render(&database.connection, &WriterCounts::default())
            .await
            .unwrap();
        for name in METRIC_NAMES {
            assert!(
                section.contains(&format!("`{name}")),
                "{name} is not documented"
            );
            assert!(
                text.contains(&format!("\n{name}")) || text.starts_with(name),
                "{name} is not served:\n{text}"
            );
        }
        let served: std::collections::BTreeSet<&str> = text
            .lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| line.split(['{', ' ']).next())
            .collect();
        for name in served {
            assert!(
                METRIC_NAMES.contains(&name),
                "{name} is served but not listed"
            );
        }
        assert!(text.contains("kindred_delivery_attempts_total{outcome=\"refused\"} 1"));
        assert!(
            text.contains("kindred_inbox_requests_total{result=\"rejected\",status=\"401\"} 1")
        );
        database.remove().await.unwrap();
    }
}
