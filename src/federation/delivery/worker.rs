//! The delivery worker: claims pending fan-outs and due retries, and schedules their sends
//! within the global and per-server limits, in claim order.

use super::*;

/// How long a claim stays owned by the worker that made it: longer than any attempt takes.
pub(super) fn lease_length(config: &Config) -> chrono::Duration {
    chrono::Duration::from_std(config.federation.request_timeout * 3 + Duration::from_secs(5))
        .unwrap_or_else(|_| chrono::Duration::seconds(60))
}

/// How many fan-outs one worker runs at once.
pub(super) const ACTIVE_FAN_OUTS: usize = 16;

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

/// How many servers' semaphores the limits keep before forgetting the idle ones.
const IDLE_HOSTS_KEPT: usize = 1024;

/// The limits every send goes through, shared by fan-outs and retries.
#[derive(Clone)]
pub(super) struct Limits {
    global: Arc<Semaphore>,
    per_host: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
    per_host_limit: usize,
    /// The sends the running fan-outs have to come, and the connections kept open for them.
    sends_to_come: Arc<Mutex<SendsToCome>>,
}

/// At most this many servers have a connection kept open for a send still to come (each costs
/// its buffers in the client's pool, tens of kilobytes, until it is used or times out).
const MOST_CONNECTIONS_KEPT_OPEN: usize = 512;

/// What the fan-outs still have to send, by server, and for which servers a connection was
/// kept open after a send because another was coming.
#[derive(Default)]
struct SendsToCome {
    queued_per_host: HashMap<String, usize>,
    kept_open: std::collections::HashSet<String>,
}

/// One send a fan-out has for a server, counted in [`Limits`] until it is dropped (sent, or
/// given up with its fan-out).
pub(super) struct QueuedSend {
    sends_to_come: Arc<Mutex<SendsToCome>>,
    host: String,
}

impl QueuedSend {
    /// Called as the send starts: whether to keep its connection open after the answer.
    /// Only when the server has another send coming, and fewer than
    /// [`MOST_CONNECTIONS_KEPT_OPEN`] servers have a connection waiting: so a fan-out to
    /// 10,000 servers does not leave 10,000 idle connections in the client's pool, while a
    /// busy server, and the boost that follows a relay to a few hundred servers, reuse theirs.
    pub(super) fn keep_connection_open(&self) -> bool {
        let mut sends_to_come = lock(&self.sends_to_come);
        // This send takes the connection kept for it, if there is one.
        sends_to_come.kept_open.remove(&self.host);
        let more_to_come = sends_to_come
            .queued_per_host
            .get(&self.host)
            .is_some_and(|queued| *queued > 1);
        if more_to_come && sends_to_come.kept_open.len() < MOST_CONNECTIONS_KEPT_OPEN {
            sends_to_come.kept_open.insert(self.host.clone());
            return true;
        }
        false
    }
}

impl Drop for QueuedSend {
    fn drop(&mut self) {
        let mut sends_to_come = lock(&self.sends_to_come);
        if let Some(queued) = sends_to_come.queued_per_host.get_mut(&self.host) {
            *queued = queued.saturating_sub(1);
            if *queued == 0 {
                sends_to_come.queued_per_host.remove(&self.host);
                sends_to_come.kept_open.remove(&self.host);
            }
        }
    }
}

impl Limits {
    /// Counts a send a fan-out has for `host`, until the returned value is dropped.
    pub(super) fn queue_send(&self, host: &str) -> QueuedSend {
        *lock(&self.sends_to_come)
            .queued_per_host
            .entry(host.to_string())
            .or_insert(0) += 1;
        QueuedSend {
            sends_to_come: self.sends_to_come.clone(),
            host: host.to_string(),
        }
    }

    fn host(&self, host: &str) -> Arc<Semaphore> {
        let mut per_host = lock(&self.per_host);
        if let Some(semaphore) = per_host.get(host) {
            return semaphore.clone();
        }
        // A server with no request in flight and none waiting needs no semaphore: forget the
        // idle ones now and then, so a fan-out to 10,000 servers leaves no state behind.
        if per_host.len() >= IDLE_HOSTS_KEPT {
            per_host.retain(|_, semaphore| Arc::strong_count(semaphore) > 1);
        }
        per_host
            .entry(host.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(self.per_host_limit)))
            .clone()
    }

    /// Waits for a slot at `host`, then a global one (always in that order: no deadlock).
    pub(super) async fn acquire(
        &self,
        host: &str,
    ) -> Option<(OwnedSemaphorePermit, OwnedSemaphorePermit)> {
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

pub(super) struct Scheduler {
    limits: Limits,
    finished: Arc<Notify>,
    payloads: Arc<PayloadCache>,
    active_fan_outs: Arc<AtomicUsize>,
    dispatch_order: Arc<DispatchOrder>,
}

/// How long a fan-out waits for the older ones to hand out their sends before it starts its
/// own anyway (an older one may be waiting for a slot at a saturated server).
pub(super) const DISPATCH_TURN_WAIT: Duration = Duration::from_millis(1000);

/// Fan-outs hand their sends to the limits in the order they were claimed, so that when the
/// queue is busy the activity accepted first reaches every server first, rather than two
/// fan-outs sharing the slots half and half. Only the handing out is ordered: the requests
/// of several fan-outs are in flight together.
pub(super) struct DispatchOrder {
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
pub(super) struct DispatchTurn {
    order: Arc<DispatchOrder>,
    ticket: u64,
}

impl DispatchTurn {
    /// Waits until the older fan-outs have handed out their sends (at most
    /// `DISPATCH_TURN_WAIT`).
    pub(super) async fn wait(&self) {
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
                sends_to_come: Arc::default(),
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
            let attempt =
                match send_one(&context, &payloads, row.activity_id, &row.inbox_url, false).await {
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
pub(super) enum RetryStart {
    Started,
    /// Its server has no free slot: the delivery (by id) keeps waiting, and its lease is
    /// given back.
    ServerBusy(i64),
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
