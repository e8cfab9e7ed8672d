//! Local accounts: people who signed up on this instance. Each account speaks as a local
//! Person actor; sessions sign a browser (cookie) or an API client (bearer token) in.
//!
//! Like `groups/`, this never imports `federation/`: it changes rows, and the callers decide
//! what federates.

pub mod notifications;
pub mod passwords;
pub mod profiles;
pub mod sessions;
pub mod thread_reads;
pub mod users;
