//! How many activities each local actor's outbox holds: a counter raised in the transaction
//! that adds to the outbox (so the outbox collection never counts its rows), kept in `SHARDS`
//! rows per actor that are summed when read.
//!
//! Why shards: the counter is raised by every post into a group, and a raised row stays locked
//! until its transaction commits. With one row per group, concurrent posts to one group on
//! PostgreSQL waited for each other's commits one by one (the inbox ran at about 500 a second
//! with most backends in `Lock: transactionid`). Each transaction now raises the next shard in
//! turn, so transactions in flight together (at most the pool's size) rarely share a row, and
//! reading the total sums at most `SHARDS` rows.

use crate::error::Result;
use kindred_entities::outbox_total;
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, InsertMany, QueryFilter, QuerySelect,
    sea_query::{Expr, OnConflict},
};
use std::{
    collections::BTreeMap,
    sync::atomic::{AtomicU32, Ordering},
};

/// Rows per actor: more than the transactions PostgreSQL's pool runs at once (10 by default).
pub const SHARDS: u32 = 32;

/// The shard the next transaction raises: taken in turn, so transactions started one after
/// another raise different rows; from where the process id points, so that processes sharing
/// a database do not all start at the same row.
static NEXT_SHARD: std::sync::LazyLock<AtomicU32> =
    std::sync::LazyLock::new(|| AtomicU32::new(std::process::id()));

/// Adds `added[actor_id]` to each actor's outbox total, in `transaction`: one statement
/// whatever the number of actors, in the order of their ids (so two transactions raising the
/// same actors never wait for each other in a circle).
pub async fn add(transaction: &impl ConnectionTrait, added: &BTreeMap<i64, i64>) -> Result<()> {
    if let Some(insert) = raise(added) {
        insert.exec_without_returning(transaction).await?;
    }
    Ok(())
}

/// The statement `add` runs (none when nothing is added), for a caller that runs it together
/// with others.
pub fn raise(added: &BTreeMap<i64, i64>) -> Option<InsertMany<outbox_total::ActiveModel>> {
    if added.is_empty() {
        return None;
    }
    let shard = (NEXT_SHARD.fetch_add(1, Ordering::Relaxed) % SHARDS) as i32;
    let rows = added
        .iter()
        .map(|(actor_id, count)| outbox_total::ActiveModel {
            actor_id: Set(*actor_id),
            shard: Set(shard),
            total: Set(*count),
        });
    Some(
        outbox_total::Entity::insert_many(rows).on_conflict(
            OnConflict::columns([outbox_total::Column::ActorId, outbox_total::Column::Shard])
                .value(
                    outbox_total::Column::Total,
                    Expr::cust("outbox_totals.total + excluded.total"),
                )
                .to_owned(),
        ),
    )
}

/// How many activities `actor_id`'s outbox holds.
pub async fn total(database: &impl ConnectionTrait, actor_id: i64) -> Result<u64> {
    // PostgreSQL sums BIGINTs as NUMERIC: cast back so both databases hand out an i64. Read
    // with `all` (one row): `one` would bind a LIMIT, which SQLite plans again each time.
    let totals: Vec<i64> = outbox_total::Entity::find()
        .select_only()
        .column_as(
            Expr::cust("CAST(COALESCE(SUM(total), 0) AS BIGINT)"),
            "total",
        )
        .filter(outbox_total::Column::ActorId.eq(actor_id))
        .into_tuple()
        .all(database)
        .await?;
    Ok(u64::try_from(totals.first().copied().unwrap_or(0)).unwrap_or(0))
}
