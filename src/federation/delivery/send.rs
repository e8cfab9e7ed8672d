//! One send: the stored bytes signed for one inbox at send time and POSTed (after the block
//! and address checks), double-knocking between the two signature schemes and remembering the
//! one each server takes, and a retry's outcome recorded.

use super::*;
use crate::federation::signatures::SignatureScheme;

/// What sends cache: the activity bytes and signing key for a stored activity, while its
/// fan-out runs (a thousand deliveries of one Announce read and parse them once, and the sends
/// that start together wait for the one read rather than each reading the row), and the
/// signature scheme each server takes (read from `instances` once per server).
#[derive(Default)]
pub(super) struct PayloadCache {
    entries: Mutex<HashMap<i64, Arc<tokio::sync::OnceCell<Arc<Payload>>>>>,
    signature_schemes: Mutex<HashMap<String, SignatureScheme>>,
}

pub(super) struct Payload {
    body: Bytes,
    key_id: String,
    key: Arc<SigningKey>,
}

/// Entries kept before the cache starts over; a fan-out in progress refills it at once.
pub(super) const PAYLOAD_CACHE_ENTRIES: usize = 256;

/// The bytes of activity `activity_id` and its sender's signing key. Only the JSON and the
/// sender are read: the row's target list (10,000 inboxes for a big group's relay, 400 KB)
/// stays in the database.
async fn read_payload(context: &Context, activity_id: i64) -> Result<Arc<Payload>> {
    // Read where reads go (committed rows), keeping the writer's connection free for the
    // fan-out's checkpoints.
    let (json, actor_id): (String, i64) = activity::Entity::find_by_id(activity_id)
        .select_only()
        .column(activity::Column::Json)
        .column(activity::Column::ActorId)
        .into_tuple()
        .all(&context.read_db)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| Error::internal("the activity of a delivery is gone"))?;
    let sender = crate::database::unique_row(actor::Entity::find_by_id(actor_id), &context.read_db)
        .await?
        .ok_or_else(|| Error::internal("the sender of a delivery is gone"))?;
    let private_key = sender
        .private_key_pem
        .as_deref()
        .ok_or_else(|| Error::internal("the sender has no private key"))?;
    Ok(Arc::new(Payload {
        body: Bytes::from(json),
        key_id: format!("{}#main-key", sender.ap_id),
        key: context.signing_keys.get_or_parse(sender.id, private_key)?,
    }))
}

impl PayloadCache {
    async fn get(&self, context: &Context, activity_id: i64) -> Result<Arc<Payload>> {
        let cell = {
            let mut entries = lock(&self.entries);
            if entries.len() >= PAYLOAD_CACHE_ENTRIES && !entries.contains_key(&activity_id) {
                entries.clear();
            }
            entries.entry(activity_id).or_default().clone()
        };
        // A failed read leaves the cell empty: the next send reads again.
        let payload = cell
            .get_or_try_init(|| read_payload(context, activity_id))
            .await?;
        Ok(payload.clone())
    }

    /// The scheme to sign for `host` first: the one it accepted when the other was refused,
    /// else draft-cavage, which every server takes today.
    async fn signature_scheme(&self, context: &Context, host: &str) -> Result<SignatureScheme> {
        if let Some(scheme) = lock(&self.signature_schemes).get(host) {
            return Ok(*scheme);
        }
        // On the read connections, without a LIMIT (a unique key): on SQLite the writer's one
        // connection is the fan-out's checkpoints' too, and a fan-out to new servers asks this
        // once per server before sending.
        let stored: Vec<Option<String>> = instance::Entity::find()
            .select_only()
            .column(instance::Column::SignatureScheme)
            .filter(instance::Column::Host.eq(host))
            .into_tuple()
            .all(&context.read_db)
            .await?;
        let scheme = SignatureScheme::from_stored(stored.into_iter().flatten().next().as_deref());
        self.cache_signature_scheme(host, scheme);
        Ok(scheme)
    }

    /// Remembers that `host` accepted `scheme` after refusing the other, in `instances` (so
    /// every worker and every restart knows) and here.
    async fn remember_signature_scheme(
        &self,
        context: &Context,
        host: &str,
        scheme: SignatureScheme,
    ) -> Result<()> {
        instance::Entity::insert(instance::ActiveModel {
            host: Set(host.to_string()),
            first_seen_at: Set(Utc::now()),
            blocked: Set(false),
            signature_scheme: Set(Some(scheme.as_str().to_string())),
            ..Default::default()
        })
        .on_conflict(
            OnConflict::column(instance::Column::Host)
                .update_column(instance::Column::SignatureScheme)
                .to_owned(),
        )
        .exec_without_returning(&context.db)
        .await?;
        self.cache_signature_scheme(host, scheme);
        Ok(())
    }

    fn cache_signature_scheme(&self, host: &str, scheme: SignatureScheme) {
        let mut schemes = lock(&self.signature_schemes);
        if schemes.len() >= SIGNATURE_SCHEME_CACHE_ENTRIES {
            schemes.clear();
        }
        schemes.insert(host.to_string(), scheme);
    }
}

/// Servers whose signature scheme is kept in memory before the cache starts over.
const SIGNATURE_SCHEME_CACHE_ENTRIES: usize = 10_000;

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

/// Signs the stored bytes for `inbox` now and POSTs them, in the scheme the server is known to
/// take (draft-cavage unless it refused it before). A 400 or 401 may mean the server does not
/// take that scheme: the same bytes go again at once signed in the other ("double-knocking",
/// as Fedify does), and when that one is taken it is remembered for the server. Either way
/// the two requests are one attempt, with the last answer as its outcome.
pub(super) async fn send_one(
    context: &Context,
    payloads: &PayloadCache,
    activity_id: i64,
    inbox: &str,
    keep_alive: bool,
) -> Result<Attempt> {
    let inbox = Url::parse(inbox)?;
    let host = host_of(&inbox)?;
    let blocked =
        crate::federation::instances::cached_blocked_hosts(context, &context.read_db).await?;
    if !instances::federates_with(&context.config, &blocked, &host) {
        return Ok(Attempt::Blocked);
    }
    // The scheme and IP literals are checked here; names when they resolve (below, in the
    // client's resolver).
    if let Err(reason) = address_guard::check_outbound_url(&context.config, &inbox) {
        return Ok(Attempt::Refused { reason });
    }
    let payload = payloads.get(context, activity_id).await?;
    let first_scheme = payloads.signature_scheme(context, &host).await?;
    let answer = post_signed(context, &payload, &inbox, first_scheme, keep_alive).await?;
    let answer = match answer {
        Answer::Status(status @ (400 | 401)) => {
            let second_scheme = first_scheme.other();
            tracing::debug!(
                %inbox,
                status,
                refused = first_scheme.as_str(),
                next = second_scheme.as_str(),
                "signature refused; knocking again in the other scheme"
            );
            let second = post_signed(context, &payload, &inbox, second_scheme, keep_alive).await?;
            if matches!(second, Answer::Status(200..=299)) {
                tracing::info!(
                    %host,
                    scheme = second_scheme.as_str(),
                    "the server takes the other signature scheme; remembered"
                );
                // Delivered either way: a failure to remember must not make it a retry.
                if let Err(error) = payloads
                    .remember_signature_scheme(context, &host, second_scheme)
                    .await
                {
                    tracing::warn!(%host, %error, "cannot remember the server's signature scheme");
                }
            }
            second
        }
        first => first,
    };
    let status = match answer {
        Answer::Status(status) => status,
        Answer::Refused(reason) => return Ok(Attempt::Refused { reason }),
        Answer::Unreachable(error) => {
            return Ok(Attempt::Failed {
                status: None,
                error,
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

/// What one POST came to.
enum Answer {
    Status(u16),
    /// The name resolved to an address Kindred does not send to (see `address_guard.rs`).
    Refused(String),
    /// A timeout or a network error.
    Unreachable(String),
}

/// Signs the payload for `inbox` in `scheme`, now, and POSTs it; on a connection that is
/// closed after the answer unless `keep_alive`.
async fn post_signed(
    context: &Context,
    payload: &Payload,
    inbox: &Url,
    scheme: SignatureScheme,
    keep_alive: bool,
) -> Result<Answer> {
    let mut headers = signatures::signed_post_headers(
        scheme,
        &payload.key,
        &payload.key_id,
        inbox,
        &payload.body,
        SystemTime::now(),
    )?;
    if !keep_alive {
        headers.insert(
            reqwest::header::CONNECTION,
            reqwest::header::HeaderValue::from_static("close"),
        );
    }
    let response = context
        .http_client
        .post(inbox.as_str())
        .timeout(context.config.federation.request_timeout)
        .headers(headers)
        .body(payload.body.clone())
        .send()
        .await;
    Ok(match response {
        Ok(response) => Answer::Status(response.status().as_u16()),
        Err(error) => match address_guard::refusal_in(&error) {
            Some(reason) => Answer::Refused(reason),
            None => Answer::Unreachable(error.to_string()),
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
