//! Enqueueing: an outgoing activity becomes one `activities` row that carries its target inboxes,
//! written in the caller's transaction; then the worker is woken.

use super::*;

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
    let inboxes: Vec<Url> = inboxes.into_iter().collect();
    let sends: Vec<(&OutgoingActivity<'_>, &[Url])> = outgoing
        .iter()
        .map(|activity| (activity, inboxes.as_slice()))
        .collect();
    enqueue_each(transaction, context, &sends).await
}

/// As [`enqueue`], each activity to its own inboxes: one statement stores them all and one
/// raises each sender's outbox counter, however many there are (a relay and its boost go to
/// different servers, and an inbound post is on SQLite's one writer while they are stored).
pub async fn enqueue_each(
    transaction: &impl ConnectionTrait,
    context: &Context,
    sends: &[(&OutgoingActivity<'_>, &[Url])],
) -> Result<()> {
    enqueue_statements(transaction, context, sends)
        .await?
        .run(transaction)
        .await
}

/// What enqueueing writes: the activities' rows, and the raise of their senders' outbox
/// counters (either may be none).
pub struct EnqueueStatements {
    pub activities: Option<InsertMany<activity::ActiveModel>>,
    pub outbox_totals: Option<InsertMany<kindred_entities::outbox_total::ActiveModel>>,
}

impl EnqueueStatements {
    /// Runs them one after the other in `transaction`.
    pub async fn run(self, transaction: &impl ConnectionTrait) -> Result<()> {
        if let Some(activities) = self.activities {
            activities.exec_without_returning(transaction).await?;
        }
        if let Some(outbox_totals) = self.outbox_totals {
            outbox_totals.exec_without_returning(transaction).await?;
        }
        Ok(())
    }
}

/// The statements `enqueue_each` runs, for a caller that runs them together with others.
/// `database` is read only when the cache of blocked servers is stale.
pub async fn enqueue_statements(
    database: &impl ConnectionTrait,
    context: &Context,
    sends: &[(&OutgoingActivity<'_>, &[Url])],
) -> Result<EnqueueStatements> {
    let config = &context.config;
    let local_domain = config.domain();
    // Blocked servers (and, in allowlist mode, all others) get nothing.
    // From the cache (refreshed through this transaction's own connection when it is stale).
    let blocked = if sends.iter().all(|(_, inboxes)| inboxes.is_empty()) {
        BTreeSet::new()
    } else {
        crate::federation::instances::cached_blocked_hosts(context, database).await?
    };
    let now = Utc::now();
    let mut rows = Vec::with_capacity(sends.len());
    for (activity, inboxes) in sends {
        let mut targets = BTreeSet::new();
        for inbox in *inboxes {
            let host = host_of(inbox)?;
            if host != local_domain
                && crate::federation::instances::federates_with(config, &blocked, &host)
            {
                targets.insert(inbox.to_string());
            }
        }
        let has_targets = !targets.is_empty();
        rows.push(activity::ActiveModel {
            ap_id: Set(activity.ap_id.to_string()),
            actor_id: Set(activity.sender.id),
            kind: Set(activity.kind.to_string()),
            object_ap_id: Set(activity.object_ap_id.map(str::to_string)),
            json: Set(serde_json::to_string(activity.json)?),
            in_outbox: Set(activity.in_outbox),
            created_at: Set(now),
            ordering_key: Set(activity.ordering_key.map(str::to_string)),
            targets: Set(if has_targets {
                Some(serde_json::to_string(&targets)?)
            } else {
                None
            }),
            fanout_pending: Set(has_targets),
            fanout_progress: Set(0),
            fanout_leased_until: Set(None),
            ..Default::default()
        });
    }
    let activities = (!rows.is_empty()).then(|| activity::Entity::insert_many(rows));
    // The outboxes' counters, in the same transaction, so an outbox never counts its rows.
    let mut added: std::collections::BTreeMap<i64, i64> = std::collections::BTreeMap::new();
    for (activity, _) in sends.iter().filter(|(activity, _)| activity.in_outbox) {
        *added.entry(activity.sender.id).or_default() += 1;
    }
    Ok(EnqueueStatements {
        activities,
        outbox_totals: crate::federation::outbox_totals::raise(&added),
    })
}

/// Tells the worker there is new work (it also polls, so a lost wake-up only delays).
pub fn wake_delivery_worker(context: &Context) {
    context.delivery_signal.notify_one();
}
