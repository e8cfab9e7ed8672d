//! Counters for the operator, rendered as Prometheus text at `/metrics` together with figures
//! read from the database at scrape time (queue depth, oldest pending delivery).

use crate::{database_writer::WriterCounts, error::Result, federation::delivery};
use sea_orm::ConnectionTrait;
use std::{
    collections::BTreeMap,
    fmt::Write,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

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
}

impl DeliveryOutcome {
    fn label(self) -> &'static str {
        match self {
            DeliveryOutcome::Delivered => "delivered",
            DeliveryOutcome::Retrying => "retrying",
            DeliveryOutcome::Rejected => "rejected",
            DeliveryOutcome::Abandoned => "abandoned",
            DeliveryOutcome::Blocked => "blocked",
        }
    }
}

#[derive(Default)]
pub struct Metrics {
    deliveries: Mutex<BTreeMap<DeliveryOutcome, u64>>,
    inbox_accepted: AtomicU64,
    inbox_rejected: Mutex<BTreeMap<u16, u64>>,
}

impl Metrics {
    pub fn count_delivery(&self, outcome: DeliveryOutcome) {
        *lock(&self.deliveries).entry(outcome).or_default() += 1;
    }

    pub fn count_inbox_accepted(&self) {
        self.inbox_accepted.fetch_add(1, Ordering::Relaxed);
    }

    pub fn count_inbox_rejected(&self, status: u16) {
        *lock(&self.inbox_rejected).entry(status).or_default() += 1;
    }

    /// The Prometheus text exposition of the counters and the queue's state.
    pub async fn render(
        &self,
        database: &impl ConnectionTrait,
        writer: &WriterCounts,
    ) -> Result<String> {
        let queue = delivery::queue_summary(database).await?;
        let mut text = String::new();
        let _ = writeln!(
            text,
            "# HELP kindred_delivery_queue_depth Deliveries by state."
        );
        let _ = writeln!(text, "# TYPE kindred_delivery_queue_depth gauge");
        for (state, count) in &queue.by_state {
            let _ = writeln!(
                text,
                "kindred_delivery_queue_depth{{state=\"{state}\"}} {count}"
            );
        }
        let _ = writeln!(
            text,
            "# HELP kindred_delivery_in_flight Deliveries claimed by a worker now."
        );
        let _ = writeln!(text, "# TYPE kindred_delivery_in_flight gauge");
        let _ = writeln!(text, "kindred_delivery_in_flight {}", queue.in_flight);
        let _ = writeln!(
            text,
            "# HELP kindred_delivery_oldest_pending_seconds Age of the oldest pending delivery."
        );
        let _ = writeln!(text, "# TYPE kindred_delivery_oldest_pending_seconds gauge");
        let _ = writeln!(
            text,
            "kindred_delivery_oldest_pending_seconds {}",
            queue.oldest_pending_seconds
        );
        let _ = writeln!(
            text,
            "# HELP kindred_instances_failing Remote servers failing now, and dead ones."
        );
        let _ = writeln!(text, "# TYPE kindred_instances_failing gauge");
        let _ = writeln!(
            text,
            "kindred_instances_failing{{dead=\"false\"}} {}",
            queue.failing_instances.len()
        );
        let _ = writeln!(
            text,
            "kindred_instances_failing{{dead=\"true\"}} {}",
            queue.dead_instances.len()
        );
        let _ = writeln!(
            text,
            "# HELP kindred_delivery_attempts_total Delivery attempts by outcome."
        );
        let _ = writeln!(text, "# TYPE kindred_delivery_attempts_total counter");
        let deliveries = lock(&self.deliveries).clone();
        for outcome in [
            DeliveryOutcome::Delivered,
            DeliveryOutcome::Retrying,
            DeliveryOutcome::Rejected,
            DeliveryOutcome::Abandoned,
            DeliveryOutcome::Blocked,
        ] {
            let count = deliveries.get(&outcome).copied().unwrap_or(0);
            let _ = writeln!(
                text,
                "kindred_delivery_attempts_total{{outcome=\"{}\"}} {count}",
                outcome.label()
            );
        }
        let _ = writeln!(
            text,
            "# HELP kindred_inbox_requests_total Inbox POSTs by result."
        );
        let _ = writeln!(text, "# TYPE kindred_inbox_requests_total counter");
        let _ = writeln!(
            text,
            "kindred_inbox_requests_total{{result=\"accepted\",status=\"202\"}} {}",
            self.inbox_accepted.load(Ordering::Relaxed)
        );
        for (status, count) in lock(&self.inbox_rejected).iter() {
            let _ = writeln!(
                text,
                "kindred_inbox_requests_total{{result=\"rejected\",status=\"{status}\"}} {count}"
            );
        }
        counter(
            &mut text,
            "kindred_database_writer_jobs_total",
            "Write transactions run by the database writer.",
            writer.jobs.load(Ordering::Relaxed),
        );
        counter(
            &mut text,
            "kindred_database_writer_commits_total",
            "Commits of the database writer (each covers one or more jobs).",
            writer.commits.load(Ordering::Relaxed),
        );
        Ok(text)
    }
}

/// Writes one unlabelled counter with its help line.
fn counter(text: &mut String, name: &str, help: &str, value: u64) {
    let _ = writeln!(text, "# HELP {name} {help}");
    let _ = writeln!(text, "# TYPE {name} counter");
    let _ = writeln!(text, "{name} {value}");
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Counters stay meaningful after a panic elsewhere; keep counting.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
