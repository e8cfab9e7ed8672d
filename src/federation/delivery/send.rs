//! One send: the stored bytes signed for one inbox at send time and POSTed (after the block
//! and address checks), and a retry's outcome recorded.

use super::*;

/// The activity bytes and signing key for a stored activity, cached while its fan-out runs:
/// a thousand deliveries of one Announce read and parse them once.
#[derive(Default)]
pub(super) struct PayloadCache {
    entries: Mutex<HashMap<i64, Arc<Payload>>>,
}

pub(super) struct Payload {
    body: Bytes,
    key_id: String,
    key: Arc<SigningKey>,
}

/// Entries kept before the cache starts over; a fan-out in progress refills it at once.
pub(super) const PAYLOAD_CACHE_ENTRIES: usize = 256;

impl PayloadCache {
    async fn get(&self, context: &Context, activity_id: i64) -> Result<Arc<Payload>> {
        if let Some(payload) = lock(&self.entries).get(&activity_id) {
            return Ok(payload.clone());
        }
        let stored =
            crate::database::unique_row(activity::Entity::find_by_id(activity_id), &context.db)
                .await?
                .ok_or_else(|| Error::internal("the activity of a delivery is gone"))?;
        let sender =
            crate::database::unique_row(actor::Entity::find_by_id(stored.actor_id), &context.db)
                .await?
                .ok_or_else(|| Error::internal("the sender of a delivery is gone"))?;
        let private_key = sender
            .private_key_pem
            .as_deref()
            .ok_or_else(|| Error::internal("the sender has no private key"))?;
        let payload = Arc::new(Payload {
            body: Bytes::from(stored.json),
            key_id: format!("{}#main-key", sender.ap_id),
            key: context.signing_keys.get_or_parse(sender.id, private_key)?,
        });
        let mut entries = lock(&self.entries);
        if entries.len() >= PAYLOAD_CACHE_ENTRIES {
            entries.clear();
        }
        entries.insert(activity_id, payload.clone());
        Ok(payload)
    }
}

/// What one attempt came to.
pub(super) enum Attempt {
    Delivered,
    /// A final 4xx: the inbox will never take it.
    Rejected {
        status: u16,
    },
    /// 408, 429, 5xx, a timeout or a network error: worth another try.
    Failed {
        status: Option<u16>,
        error: String,
    },
    /// Not sent: this instance blocks the server now (it was blocked after the activity was
    /// queued). Kept as an abandoned delivery, visible and retryable should the block end.
    Blocked,
    /// Not sent, and never will be: the inbox is at an internal address or has a scheme
    /// Kindred does not send to (see `address_guard.rs`). Kept as rejected, with the reason.
    Refused {
        reason: String,
    },
}

/// The error a delivery to a blocked server is kept with.
pub(super) const BLOCKED_SERVER_ERROR: &str = "not sent: this instance blocks the server";

/// Signs the stored bytes for `inbox` now and POSTs them.
pub(super) async fn send_one(
    context: &Context,
    payloads: &PayloadCache,
    activity_id: i64,
    inbox: &str,
) -> Result<Attempt> {
    let inbox = Url::parse(inbox)?;
    let blocked =
        crate::federation::instances::cached_blocked_hosts(context, &context.read_db).await?;
    if !instances::federates_with(&context.config, &blocked, &host_of(&inbox)?) {
        return Ok(Attempt::Blocked);
    }
    // The scheme and IP literals are checked here; names when they resolve (below, in the
    // client's resolver).
    if let Err(reason) = address_guard::check_outbound_url(&context.config, &inbox) {
        return Ok(Attempt::Refused { reason });
    }
    let payload = payloads.get(context, activity_id).await?;
    let signed = signatures::sign_post(
        &payload.key,
        &payload.key_id,
        &inbox,
        &payload.body,
        SystemTime::now(),
    )?;
    let response = context
        .http_client
        .post(inbox.as_str())
        .timeout(context.config.federation.request_timeout)
        .headers(signed.into_headers()?)
        .body(payload.body.clone())
        .send()
        .await;
    let status = match response {
        Ok(response) => response.status().as_u16(),
        Err(error) => {
            if let Some(reason) = address_guard::refusal_in(&error) {
                return Ok(Attempt::Refused { reason });
            }
            return Ok(Attempt::Failed {
                status: None,
                error: error.to_string(),
            });
        }
    };
    Ok(match status {
        200..=299 => Attempt::Delivered,
        408 | 429 => Attempt::Failed {
            status: Some(status),
            error: format!("the inbox answered {status}"),
        },
        400..=499 => Attempt::Rejected { status },
        _ => Attempt::Failed {
            status: Some(status),
            error: format!("the inbox answered {status}"),
        },
    })
}

/// Records a retry's attempt on its row and on its server's health.
pub(super) async fn record_retry(
    context: &Context,
    row: &delivery::Model,
    attempt: Attempt,
) -> Result<()> {
    let now = Utc::now();
    let settings = &context.config.delivery;
    let attempts = row.attempts + 1;
    let mut update = delivery::ActiveModel {
        id: Set(row.id),
        attempts: Set(attempts),
        last_attempt_at: Set(Some(now)),
        leased_until: Set(None),
        ..Default::default()
    };
    match attempt {
        Attempt::Delivered => {
            update.state = Set(DeliveryState::Delivered);
            update.finished_at = Set(Some(now));
            update.last_status = Set(None);
            update.last_error = Set(None);
            update.update(&context.db).await?;
            mark_instance_healthy(&context.db, &row.instance_host, now).await?;
            context.metrics.count_delivery(DeliveryOutcome::Delivered);
        }
        Attempt::Rejected { status } => {
            tracing::info!(inbox = %row.inbox_url, status, "the inbox refused a delivery; not retrying");
            update.state = Set(DeliveryState::Rejected);
            update.finished_at = Set(Some(now));
            update.last_status = Set(Some(i32::from(status)));
            update.update(&context.db).await?;
            // The server answered: it is alive.
            mark_instance_healthy(&context.db, &row.instance_host, now).await?;
            context.metrics.count_delivery(DeliveryOutcome::Rejected);
        }
        Attempt::Refused { reason } => {
            tracing::warn!(inbox = %row.inbox_url, %reason, "delivery refused: the inbox is not somewhere Kindred sends to");
            update.state = Set(DeliveryState::Rejected);
            update.finished_at = Set(Some(now));
            update.last_status = Set(None);
            update.last_error = Set(Some(reason.chars().take(500).collect()));
            update.update(&context.db).await?;
            context.metrics.count_delivery(DeliveryOutcome::Refused);
        }
        Attempt::Blocked => {
            tracing::info!(inbox = %row.inbox_url, "not sent: the server is blocked now");
            update.state = Set(DeliveryState::Abandoned);
            update.finished_at = Set(Some(now));
            update.last_status = Set(None);
            update.last_error = Set(Some(BLOCKED_SERVER_ERROR.to_string()));
            update.update(&context.db).await?;
            context.metrics.count_delivery(DeliveryOutcome::Blocked);
        }
        Attempt::Failed { status, error } => {
            tracing::info!(inbox = %row.inbox_url, attempts, %error, "delivery failed");
            update.last_status = Set(status.map(i32::from));
            update.last_error = Set(Some(error.chars().take(500).collect()));
            let give_up_after = chrono::Duration::from_std(settings.give_up_after)
                .unwrap_or_else(|_| chrono::Duration::days(2));
            if now - row.created_at >= give_up_after {
                update.state = Set(DeliveryState::Abandoned);
                update.finished_at = Set(Some(now));
                context.metrics.count_delivery(DeliveryOutcome::Abandoned);
            } else {
                update.next_attempt_at = Set(now + retry_delay(settings, attempts));
                context.metrics.count_delivery(DeliveryOutcome::Retrying);
            }
            update.update(&context.db).await?;
            mark_instance_failing(context, &row.instance_host, now).await?;
        }
    }
    Ok(())
}
