//! The queue at a glance, for `kindred deliveries` and `/metrics`.

use super::*;

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
