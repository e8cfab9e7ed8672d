//! Kindred: a federated ActivityPub group server. Start reading at `app.rs` (how the pieces are
//! wired), then `http/mod.rs` (every route), then `federation/` and `groups/`.
//! `docs/ARCHITECTURE.md` has the map and the rules the code keeps.

pub mod accounts;
pub mod actions;
pub mod app;
pub mod caches;
pub mod config;
pub mod context;
pub mod crypto;
pub mod database;
pub mod database_writer;
pub mod error;
pub mod federation;
pub mod groups;
pub mod hosts;
pub mod html;
pub mod http;
pub mod instance;
pub mod media;
pub mod metrics;
pub mod paging;
pub mod rate_limit;
pub mod site_settings;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
