//! Durable outgoing delivery, fanned out by reference. Only this module (its `send.rs`) POSTs to
//! remote inboxes.
//!
//! `enqueue` writes each outgoing activity as one row that carries its target inboxes, in the
//! caller's transaction: accepting an activity costs one write however many servers follow the
//! group. The worker claims pending fan-outs (a lease; `FOR UPDATE SKIP LOCKED` on PostgreSQL,
//! so several workers can share one database), signs the stored bytes for each inbox at send
//! time and POSTs them. Only a delivery that needs another try (or was refused, or waits for a
//! dead server) becomes a row of its own in `deliveries`, where retries are claimed the same
//! way. A fan-out checkpoints every 32 outcomes or 250 ms which targets are done (those past
//! a slow server too), so a crash resends at most what was in flight and the outcomes since
//! the last checkpoint.
//!
//! Scheduling: at most `delivery.concurrency` requests in flight and at most
//! `delivery.per_instance_concurrency` to any one server, so a slow server never holds up the
//! others. Activities about one post (the ordering key) reach each inbox in order: a fan-out
//! waits for older fan-outs with its key, and queues behind an older delivery that is still
//! being retried. A failing server backs off as a whole (exponential, with jitter); one failing
//! for longer than `delivery.dead_after` is marked dead and its deliveries are parked until a
//! probe finds it answering again.

use crate::{
    config::{Config, DeliveryConfig},
    context::Context,
    error::{Error, Result},
    federation::{
        address_guard,
        instances::{self, host_of},
        signatures::{self, SigningKey},
    },
    metrics::DeliveryOutcome,
};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use kindred_entities::{
    activity, actor,
    delivery::{self, DeliveryState},
    instance,
};
use rand::Rng;
use sea_orm::{
    ActiveEnum, ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, FromQueryResult,
    InsertMany, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Statement, TransactionTrait,
    Value as SqlValue,
    sea_query::{Expr, OnConflict},
};
use serde_json::Value;
use std::{
    collections::{BTreeMap, BTreeSet, HashMap, HashSet},
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, SystemTime},
};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use url::Url;

mod claim;
mod enqueue;
mod fan_out;
pub mod health;
mod send;
mod server_health;
mod summary;
mod worker;

use claim::*;
use fan_out::*;
use send::*;
use server_health::*;
use worker::*;

pub use claim::claim_due_deliveries;
pub use enqueue::{
    EnqueueStatements, OutgoingActivity, enqueue, enqueue_each, enqueue_statements,
    wake_delivery_worker,
};
pub use server_health::{retry_delay, retry_held_deliveries};
pub use summary::{QueueSummary, queue_summary};
pub use worker::run_worker;

pub(super) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Every critical section here leaves its map consistent, so a poisoned lock is usable.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
