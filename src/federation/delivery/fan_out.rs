//! One fan-out: an activity sent to each of its targets from its checkpoint on, with a
//! delivery row written only for a target that did not get it.

use super::*;

/// Why a fan-out does not send to a server now.
pub(super) enum Hold {
    /// Dead: park the delivery.
    Dead,
    /// Backing off: queue the delivery for when the backoff ends.
    BackingOff(DateTime<Utc>),
}

/// Sends one activity to each of its targets from its checkpoint on, writing delivery rows only
/// for the targets that did not get it.
pub(super) async fn fan_out(
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
    // And those past it that had their outcome at the last checkpoint.
    if let Some(done) = stored.fanout_done.as_deref() {
        for index in done_targets(done, targets.len()) {
            completed[index] = true;
        }
    }
    for (index, inbox) in targets.iter().enumerate().skip(start) {
        if completed[index] {
            continue;
        }
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
    let mut outcomes_since_checkpoint = 0;
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
        outcomes_since_checkpoint += 1;
        if outcomes_since_checkpoint >= CHECKPOINT_EVERY_OUTCOMES
            || tokio::time::Instant::now() >= checkpoint_at
        {
            // Failures first: nothing is recorded as done whose outcome is not stored.
            insert_rows(&context.db, std::mem::take(&mut failure_rows)).await?;
            let done = encode_done_targets(&completed, progress);
            checkpoint(&context.db, &context.config, stored.id, progress, done).await?;
            checkpoint_at = tokio::time::Instant::now() + CHECKPOINT_INTERVAL;
            outcomes_since_checkpoint = 0;
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
        .col_expr(activity::Column::FanoutDone, Expr::value(None::<String>))
        .filter(activity::Column::Id.eq(stored.id))
        .exec(&context.db)
        .await?;
    Ok(())
}

/// How often a running fan-out stores its progress and renews its lease, at the latest.
pub(super) const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(250);
/// A running fan-out stores its progress after this many outcomes, at the latest: a crash
/// resends at most these and what was in flight.
pub(super) const CHECKPOINT_EVERY_OUTCOMES: usize = 32;

/// The targets past `progress` that have their outcome, as a bit per target index in
/// base64; `None` when there are none.
fn encode_done_targets(completed: &[bool], progress: usize) -> Option<String> {
    use base64::Engine;
    if !completed.iter().skip(progress).any(|done| *done) {
        return None;
    }
    let mut bits = vec![0_u8; completed.len().div_ceil(8)];
    for (index, done) in completed.iter().enumerate().skip(progress) {
        if *done {
            bits[index / 8] |= 1 << (index % 8);
        }
    }
    Some(base64::engine::general_purpose::STANDARD_NO_PAD.encode(bits))
}

/// The target indices (below `count`) a stored `fanout_done` names; nothing when it is not
/// one this code wrote.
fn done_targets(encoded: &str, count: usize) -> Vec<usize> {
    use base64::Engine;
    let Ok(bits) = base64::engine::general_purpose::STANDARD_NO_PAD.decode(encoded) else {
        return Vec::new();
    };
    (0..count)
        .filter(|index| {
            bits.get(index / 8)
                .is_some_and(|byte| byte & (1 << (index % 8)) != 0)
        })
        .collect()
}

/// Stores that every target before `progress` has its outcome, and which ones after it do
/// (`done`), and renews the lease so the fan-out keeps its owner while it runs. A restart
/// resumes at `progress` and skips the `done` ones: it may resend what was in flight (and
/// what finished since this checkpoint; receivers de-duplicate by id), never skip a target.
pub(super) async fn checkpoint(
    database: &impl ConnectionTrait,
    config: &Config,
    activity_id: i64,
    progress: usize,
    done: Option<String>,
) -> Result<()> {
    activity::Entity::update_many()
        .col_expr(
            activity::Column::FanoutProgress,
            Expr::value(progress as i32),
        )
        .col_expr(activity::Column::FanoutDone, Expr::value(done))
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
pub(super) enum FirstAttempt {
    Rejected(u16),
    Refused(String),
    Blocked,
    Failed {
        status: Option<u16>,
        error: String,
        next_attempt_at: DateTime<Utc>,
    },
}

pub(super) fn first_attempt_row(
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

pub(super) async fn insert_rows(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn done_targets_past_the_progress_are_recorded_and_read_back() {
        let mut completed = vec![false; 20];
        for index in [0, 1, 2, 5, 9, 19] {
            completed[index] = true;
        }
        // Progress is 3 (0..3 done); 5, 9 and 19 are done past it.
        let encoded = encode_done_targets(&completed, 3);
        assert_eq!(
            done_targets(encoded.as_deref().unwrap_or(""), 20),
            vec![5, 9, 19]
        );
        assert_eq!(encode_done_targets(&[true, true, false], 2), None);
        assert!(done_targets("not base64!", 20).is_empty());
        // Bits past the targets (a list that changed) are ignored.
        assert_eq!(done_targets(encoded.as_deref().unwrap_or(""), 6), vec![5]);
    }
}
