//! Everything that speaks ActivityPub JSON: actors and posts on the wire, the activities a
//! group takes and sends, the inbox pipeline, durable delivery, collections and discovery.

pub mod activities;
pub mod address_guard;
pub mod backfill;
pub mod collections;
pub mod context;
pub mod delivery;
pub mod discovery;
pub mod history;
pub mod inbox;
pub mod instances;
pub mod media_proxy;
pub mod objects;
pub mod outbox_totals;
pub mod remote_posts;
pub mod signatures;
pub mod software;
pub mod thread_collections;
