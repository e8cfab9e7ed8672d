//! Thread backfill: filling in a remote group's thread with the replies this instance missed
//! (written before anyone here joined, or never announced to it). A backfill is a durable job
//! (`thread_backfills`), scheduled when a remote thread is stored or a reply arrives without
//! its parent, or when a person asks for a refresh; the worker process runs it, never a
//! request. How a run reads a thread is in `crawl.rs`: the `context` collection (FEP-f228)
//! when the thread's server serves one, else `inReplyTo` up and `replies` down; within the
//! bounds of `[backfill]`.

mod crawl;

pub use crawl::{Bound, CrawlReport};

use crate::{
    context::Context,
    error::{Error, Result},
};
use chrono::{DateTime, Utc};
use kindred_entities::{
    actor, post,
    thread_backfill::{self, BackfillOutcome, BackfillState},
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, ExprTrait, QueryFilter,
    QueryOrder, QuerySelect, sea_query::OnConflict,
};
use std::{sync::Arc, time::Duration};
use tokio::sync::Semaphore;

/// A run whose thread's server could not be reached is tried this many times in all.
const MOST_ATTEMPTS: i32 = 3;

/// How often the worker looks for due backfills when nothing wakes it (another process may
/// have scheduled them).
const POLL_INTERVAL: Duration = Duration::from_secs(5);

/// Schedules a backfill of the thread that `start_ap_id` (the thread, or a reply whose parent
/// is missing) belongs to, in `group`, inside the caller's transaction. A thread already
/// waiting or being filled in is not scheduled twice; one filled in before is left alone (a
/// person's refresh asks again, see [`request_refresh`]).
pub async fn schedule(
    transaction: &impl ConnectionTrait,
    group: &actor::Model,
    start_ap_id: &str,
    thread_id: Option<i64>,
) -> Result<()> {
    if group.local {
        return Ok(());
    }
    let now = Utc::now();
    thread_backfill::Entity::insert(thread_backfill::ActiveModel {
        group_id: Set(group.id),
        start_ap_id: Set(start_ap_id.to_string()),
        thread_id: Set(thread_id),
        state: Set(BackfillState::Pending),
        attempts: Set(0),
        next_attempt_at: Set(now),
        lease_until: Set(None),
        requested_at: Set(now),
        finished_at: Set(None),
        outcome: Set(None),
        stopped_by: Set(None),
        posts_added: Set(0),
        requests_made: Set(0),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::column(thread_backfill::Column::StartApId)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(transaction)
    .await?;
    Ok(())
}

/// Wakes this process's backfill worker (a worker in another process finds the job within
/// [`POLL_INTERVAL`]).
pub fn wake(context: &Context) {
    context.backfill_signal.notify_one();
}

/// The latest backfill of a thread, for its page.
pub async fn status_of_thread(
    database: &impl ConnectionTrait,
    thread: &post::Model,
) -> Result<Option<thread_backfill::Model>> {
    Ok(crate::database::first_of_few(
        thread_backfill::Entity::find()
            .filter(
                thread_backfill::Column::ThreadId
                    .eq(thread.id)
                    .or(thread_backfill::Column::StartApId.eq(&thread.ap_id)),
            )
            .order_by_desc(thread_backfill::Column::RequestedAt),
        database,
    )
    .await?)
}

/// A person asks for a remote thread to be filled in again. Refused while a run is waiting or
/// under way (409), or when the last one finished less than `backfill.refresh_after` ago
/// (429, with the time left); a thread of a local group needs none (400).
pub async fn request_refresh(context: &Context, thread: &post::Model) -> Result<()> {
    let group =
        crate::database::unique_row(actor::Entity::find_by_id(thread.group_id), &context.db)
            .await?
            .ok_or_else(|| Error::not_found("group"))?;
    if group.local {
        return Err(Error::bad_request(
            "a thread of a group hosted here is always whole",
        ));
    }
    let refresh_after = chrono::Duration::from_std(context.config.backfill.refresh_after)
        .unwrap_or_else(|_| chrono::Duration::minutes(10));
    let now = Utc::now();
    match status_of_thread(&context.db, thread).await? {
        Some(job) if job.state != BackfillState::Done => Err(Error::Conflict(
            "this thread is being filled in already".into(),
        )),
        Some(job)
            if job
                .finished_at
                .is_some_and(|finished| now - finished < refresh_after) =>
        {
            let finished = job.finished_at.unwrap_or(now);
            let left = (finished + refresh_after - now)
                .to_std()
                .unwrap_or(Duration::from_secs(1));
            Err(Error::TooManyRequests(left))
        }
        Some(job) => {
            let claimed = thread_backfill::Entity::update_many()
                .col_expr(
                    thread_backfill::Column::State,
                    sea_orm::sea_query::Expr::value(BackfillState::Pending),
                )
                .col_expr(thread_backfill::Column::Attempts, 0.into())
                .col_expr(thread_backfill::Column::NextAttemptAt, now.into())
                .col_expr(thread_backfill::Column::RequestedAt, now.into())
                .filter(thread_backfill::Column::Id.eq(job.id))
                .filter(thread_backfill::Column::State.eq(BackfillState::Done))
                .exec(&context.db)
                .await?;
            if claimed.rows_affected == 0 {
                return Err(Error::Conflict(
                    "this thread is being filled in already".into(),
                ));
            }
            wake(context);
            Ok(())
        }
        None => {
            schedule(&context.db, &group, &thread.ap_id, Some(thread.id)).await?;
            wake(context);
            Ok(())
        }
    }
}

/// Runs backfills as they fall due, `backfill.concurrency` at once, until the task is aborted.
/// Runs in the worker process, beside the delivery worker.
pub async fn run_backfill_worker(context: Context) {
    if context.db.get_database_backend() == DbBackend::Sqlite {
        // SQLite means a single process: a run left "running" by a crash is stale.
        if let Err(error) = release_all_leases(&context.db).await {
            tracing::error!(%error, "cannot release stale backfill leases");
        }
    }
    let slots = Arc::new(Semaphore::new(context.config.backfill.concurrency.max(1)));
    loop {
        let free = slots.available_permits();
        if free > 0 {
            match claim_due(&context, free).await {
                Ok(jobs) => {
                    for job in jobs {
                        let Ok(slot) = slots.clone().acquire_owned().await else {
                            return;
                        };
                        let context = context.reset_request_count();
                        tokio::spawn(async move {
                            run_one(&context, job).await;
                            drop(slot);
                            wake(&context);
                        });
                    }
                }
                Err(error) => tracing::warn!(%error, "cannot claim backfills"),
            }
        }
        tokio::select! {
            () = context.backfill_signal.notified() => {}
            () = tokio::time::sleep(POLL_INTERVAL) => {}
        }
    }
}

async fn release_all_leases(database: &impl ConnectionTrait) -> Result<()> {
    thread_backfill::Entity::update_many()
        .col_expr(
            thread_backfill::Column::State,
            sea_orm::sea_query::Expr::value(BackfillState::Pending),
        )
        .col_expr(
            thread_backfill::Column::LeaseUntil,
            sea_orm::sea_query::Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(thread_backfill::Column::State.eq(BackfillState::Running))
        .exec(database)
        .await?;
    Ok(())
}

/// Claims up to `most` due backfills: pending ones whose time has come, and running ones whose
/// lease ran out (their worker died). Each claim is a conditional update, so two workers never
/// run the same backfill.
async fn claim_due(context: &Context, most: usize) -> Result<Vec<thread_backfill::Model>> {
    let now = Utc::now();
    let due = thread_backfill::Entity::find()
        .filter(
            thread_backfill::Column::State
                .eq(BackfillState::Pending)
                .and(thread_backfill::Column::NextAttemptAt.lte(now))
                .or(thread_backfill::Column::State
                    .eq(BackfillState::Running)
                    .and(thread_backfill::Column::LeaseUntil.lt(now))),
        )
        .order_by_asc(thread_backfill::Column::NextAttemptAt)
        .limit(most as u64)
        .all(&context.db)
        .await?;
    let lease = chrono::Duration::from_std(
        context.config.backfill.max_run_time + context.config.federation.request_timeout * 2,
    )
    .unwrap_or_else(|_| chrono::Duration::minutes(5));
    let mut claimed = Vec::new();
    for job in due {
        let result = thread_backfill::Entity::update_many()
            .col_expr(
                thread_backfill::Column::State,
                sea_orm::sea_query::Expr::value(BackfillState::Running),
            )
            .col_expr(
                thread_backfill::Column::LeaseUntil,
                Some(now + lease).into(),
            )
            .col_expr(thread_backfill::Column::Attempts, (job.attempts + 1).into())
            .filter(thread_backfill::Column::Id.eq(job.id))
            .filter(thread_backfill::Column::State.eq(job.state))
            .filter(thread_backfill::Column::Attempts.eq(job.attempts))
            .exec(&context.db)
            .await?;
        if result.rows_affected == 1 {
            claimed.push(thread_backfill::Model {
                attempts: job.attempts + 1,
                ..job
            });
        }
    }
    Ok(claimed)
}

/// Runs one claimed backfill and records what it found. A thread whose server could not be
/// reached is tried again later (at most [`MOST_ATTEMPTS`] times); every other outcome is
/// final until someone asks again: a server that serves neither collection is asked once.
async fn run_one(context: &Context, job: thread_backfill::Model) {
    let group =
        match crate::database::unique_row(actor::Entity::find_by_id(job.group_id), &context.db)
            .await
        {
            Ok(Some(group)) => group,
            Ok(None) => {
                let _ = thread_backfill::Entity::delete_by_id(job.id)
                    .exec(&context.db)
                    .await;
                return;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot read a backfill's group");
                return;
            }
        };
    let started = std::time::Instant::now();
    let report = crawl::fill_in(context, &group, &job).await;
    let now = Utc::now();
    let unreachable = report.outcome == BackfillOutcome::Unreachable;
    let retry = unreachable && job.attempts < MOST_ATTEMPTS;
    let mut update = thread_backfill::Entity::update_many()
        .col_expr(
            thread_backfill::Column::LeaseUntil,
            sea_orm::sea_query::Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            thread_backfill::Column::PostsAdded,
            (report.posts_added as i32).into(),
        )
        .col_expr(
            thread_backfill::Column::RequestsMade,
            (report.requests_made as i32).into(),
        )
        .col_expr(
            thread_backfill::Column::StoppedBy,
            report
                .stopped_by
                .map(|bound| bound.as_str().to_string())
                .into(),
        )
        .filter(thread_backfill::Column::Id.eq(job.id));
    if let Some(thread_id) = report.thread_id {
        update = update.col_expr(thread_backfill::Column::ThreadId, Some(thread_id).into());
    }
    update = if retry {
        // One minute after the first attempt, ten after the second.
        let wait = chrono::Duration::minutes(if job.attempts <= 1 { 1 } else { 10 });
        update
            .col_expr(
                thread_backfill::Column::State,
                sea_orm::sea_query::Expr::value(BackfillState::Pending),
            )
            .col_expr(thread_backfill::Column::NextAttemptAt, (now + wait).into())
    } else {
        update
            .col_expr(
                thread_backfill::Column::State,
                sea_orm::sea_query::Expr::value(BackfillState::Done),
            )
            .col_expr(
                thread_backfill::Column::Outcome,
                sea_orm::sea_query::Expr::value(Some(report.outcome)),
            )
            .col_expr(thread_backfill::Column::FinishedAt, Some(now).into())
    };
    if let Err(error) = update.exec(&context.db).await {
        tracing::warn!(%error, backfill = job.id, "cannot record a backfill's outcome");
    }
    tracing::info!(
        thread = %job.start_ap_id,
        outcome = ?report.outcome,
        posts_added = report.posts_added,
        requests = report.requests_made,
        stopped_by = report.stopped_by.map(Bound::as_str),
        elapsed_ms = started.elapsed().as_millis() as u64,
        retry,
        "thread backfill ran"
    );
}
