//! What a person can do and see, one function each, shared by the web pages (`http/web/`) and
//! the API (`http/api/`), which are thin adapters over these. A function here checks who may
//! do the thing, and calls `groups::` for the rules and `federation::` for what other servers
//! must hear. This layer is new: signing up, writing, editing, deleting and voting, joining,
//! leaving and editing groups, the thread view and the lookups are here; moderation calls
//! the `federation/activities/*::send_*` functions that still check permissions themselves
//! (see docs/ARCHITECTURE.md).

pub mod accounts;
pub mod groups;
pub mod lookups;
pub mod media;
pub mod moderation;
pub mod posts;
pub mod threads;
