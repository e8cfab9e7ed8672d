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
            None => {
                let queued = limits.queue_send(&host);
                sendable.push((index, inbox.clone(), host, queued));
            }
        }
    }
    insert_rows(&context.db, queued_rows).await?;

    // Send, and take in the outcomes as they come: in one loop, so a send that waits for a
    // slot (a busy server, the global limit) never holds back the recording of outcomes that
    // have arrived, and the checkpoints keep up with what was sent.
    let (results, mut outcomes) = tokio::sync::mpsc::unbounded_channel();
    let total = sendable.len();
    turn.wait().await;
    let mut turn = Some(turn);
    let mut results = Some(results);
    let mut unstarted = sendable.into_iter();
    let mut acquiring = unstarted.next().map(|next| acquire_slot(limits, next));
    if acquiring.is_none() {
        turn.take();
        results.take();
    }
    let mut book = OutcomeBook {
        stored: &stored,
        failing: &failing,
        completed,
        progress: start,
        checkpoint_at: tokio::time::Instant::now() + CHECKPOINT_INTERVAL,
        written_at: tokio::time::Instant::now(),
        outcomes_since_checkpoint: 0,
        failure_rows: Vec::new(),
        recovered_hosts: BTreeSet::new(),
    };
    let mut received = 0;
    while received < total {
        let step = tokio::select! {
            biased;
            outcome = outcomes.recv() => Step::Outcome(outcome),
            ready = async {
                match acquiring.as_mut() {
                    Some(acquire) => acquire.await,
                    None => std::future::pending().await,
                }
            }, if acquiring.is_some() => Step::SlotFree(ready),
            // No outcome for a while (slow servers): store the ones taken in, renew the lease.
            () = tokio::time::sleep_until(book.checkpoint_at) => Step::CheckpointDue,
        };
        match step {
            Step::Outcome(Some(outcome)) => {
                received += 1;
                book.record(context, outcome).await?;
            }
            Step::CheckpointDue => book.checkpoint_if_due(context).await?,
            // Every sending task ended without a word (a panic): what they did not report
            // stays undone, and the fan-out's lease lets another run resume it.
            Step::Outcome(None) => break,
            Step::SlotFree((index, inbox, host, queued, permits)) => {
                let Some(permits) = permits else {
                    return Err(Error::internal("the delivery limits were closed"));
                };
                let Some(report) = results.clone() else {
                    return Err(Error::internal("a send was started after the last one"));
                };
                let context = context.clone();
                let payloads = payloads.clone();
                let activity_id = stored.id;
                tokio::spawn(async move {
                    let keep_alive = queued.keep_connection_open();
                    let attempt = match send_one(
                        &context,
                        &payloads,
                        activity_id,
                        &inbox,
                        keep_alive,
                    )
                    .await
                    {
                        Ok(attempt) => attempt,
                        Err(error) => Attempt::Failed {
                            status: None,
                            error: error.to_string(),
                        },
                    };
                    drop(permits);
                    drop(queued);
                    let _ = report.send((index, inbox, host, attempt));
                });
                acquiring = unstarted.next().map(|next| acquire_slot(limits, next));
                if acquiring.is_none() {
                    // Every send has its slot: the next fan-out may hand out its own.
                    turn.take();
                    results.take();
                }
            }
        }
    }
    if received < total {
        return Err(Error::internal(
            "sending tasks ended without reporting their outcome",
        ));
    }
    let OutcomeBook {
        failure_rows,
        recovered_hosts,
        ..
    } = book;
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

/// A target of the fan-out: its index in the targets, its inbox and its server, counted as a
/// send to come for that server.
type Target = (usize, String, String, QueuedSend);

/// The outcome of one send, as the sending task reports it.
type Outcome = (usize, String, String, Attempt);

/// A target whose slots are free to send it (or `None` when the limits were closed).
type SlotFree = (
    usize,
    String,
    String,
    QueuedSend,
    Option<(
        tokio::sync::OwnedSemaphorePermit,
        tokio::sync::OwnedSemaphorePermit,
    )>,
);

/// What the fan-out's loop does next.
enum Step {
    Outcome(Option<Outcome>),
    SlotFree(SlotFree),
    CheckpointDue,
}

/// Waits for a slot at the target's server and a global one; kept across the loop's turns so
/// the target keeps its place in the semaphores' queues while outcomes are recorded.
fn acquire_slot<'limits>(
    limits: &'limits Limits,
    (index, inbox, host, queued): Target,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = SlotFree> + Send + 'limits>> {
    Box::pin(async move {
        let permits = limits.acquire(&host).await;
        (index, inbox, host, queued, permits)
    })
}

/// What a running fan-out knows of its outcomes: which targets are done, the failures not yet
/// written, and when it last checkpointed.
struct OutcomeBook<'fan_out> {
    stored: &'fan_out activity::Model,
    failing: &'fan_out HashSet<String>,
    completed: Vec<bool>,
    progress: usize,
    checkpoint_at: tokio::time::Instant,
    /// When the last checkpoint was written.
    written_at: tokio::time::Instant,
    outcomes_since_checkpoint: usize,
    failure_rows: Vec<delivery::ActiveModel>,
    recovered_hosts: BTreeSet<String>,
}

impl OutcomeBook<'_> {
    /// Takes in one outcome, and checkpoints when enough outcomes or time have passed.
    async fn record(&mut self, context: &Context, outcome: Outcome) -> Result<()> {
        let (index, inbox, host, attempt) = outcome;
        let stored = self.stored;
        let now = Utc::now();
        match attempt {
            Attempt::Delivered => {
                context.metrics.count_delivery(DeliveryOutcome::Delivered);
                if self.failing.contains(&host) {
                    self.recovered_hosts.insert(host);
                }
            }
            Attempt::Rejected { status } => {
                tracing::info!(inbox, status, "the inbox refused a delivery; not retrying");
                context.metrics.count_delivery(DeliveryOutcome::Rejected);
                self.failure_rows.push(first_attempt_row(
                    stored,
                    &inbox,
                    &host,
                    FirstAttempt::Rejected(status),
                    now,
                ));
                if self.failing.contains(&host) {
                    self.recovered_hosts.insert(host);
                }
            }
            Attempt::Refused { reason } => {
                tracing::warn!(inbox, %reason, "delivery refused: the inbox is not somewhere Kindred sends to");
                context.metrics.count_delivery(DeliveryOutcome::Refused);
                self.failure_rows.push(first_attempt_row(
                    stored,
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
                self.failure_rows.push(first_attempt_row(
                    stored,
                    &inbox,
                    &host,
                    FirstAttempt::Blocked,
                    now,
                ));
            }
            Attempt::Failed { status, error } => {
                tracing::info!(inbox, %error, "delivery failed; it will be retried");
                context.metrics.count_delivery(DeliveryOutcome::Retrying);
                let next_attempt_at = now + retry_delay(&context.config.delivery, 1);
                self.failure_rows.push(first_attempt_row(
                    stored,
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
        self.completed[index] = true;
        while self.progress < self.completed.len() && self.completed[self.progress] {
            self.progress += 1;
        }
        self.outcomes_since_checkpoint += 1;
        if self.outcomes_since_checkpoint >= CHECKPOINT_EVERY_OUTCOMES
            || tokio::time::Instant::now() >= self.checkpoint_at
        {
            self.checkpoint_now(context).await?;
        }
        Ok(())
    }

    /// When no outcome came for a checkpoint interval: stores the ones taken in since the last
    /// checkpoint, if any, and renews the lease now and then; otherwise writes nothing (a
    /// fan-out waiting on slow servers would write every 250 ms through SQLite's one writer).
    async fn checkpoint_if_due(&mut self, context: &Context) -> Result<()> {
        if self.outcomes_since_checkpoint > 0 || self.written_at.elapsed() >= LEASE_RENEWED_EVERY {
            return self.checkpoint_now(context).await;
        }
        self.checkpoint_at = tokio::time::Instant::now() + CHECKPOINT_INTERVAL;
        Ok(())
    }

    /// Stores the failures and which targets are done, and renews the lease.
    async fn checkpoint_now(&mut self, context: &Context) -> Result<()> {
        // Failures first: nothing is recorded as done whose outcome is not stored.
        insert_rows(&context.db, std::mem::take(&mut self.failure_rows)).await?;
        let done = encode_done_targets(&self.completed, self.progress);
        checkpoint(
            &context.db,
            &context.config,
            self.stored.id,
            self.progress,
            done,
        )
        .await?;
        self.checkpoint_at = tokio::time::Instant::now() + CHECKPOINT_INTERVAL;
        self.written_at = tokio::time::Instant::now();
        self.outcomes_since_checkpoint = 0;
        Ok(())
    }
}

/// How often a fan-out with no new outcome renews its lease (the lease lasts at least three
/// request timeouts and five seconds).
const LEASE_RENEWED_EVERY: Duration = Duration::from_secs(5);

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
