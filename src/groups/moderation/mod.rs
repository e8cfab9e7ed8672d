//! Governing a local group: who moderates it, who may post, join requests, removing and
//! restoring posts, locking threads, and the public log of every such action.
//!
//! Like the rest of `groups/`, nothing here speaks ActivityPub: the federation side
//! (`federation/activities/`) calls these and sends what the change means to other servers.

use crate::error::{Error, Result};
use chrono::Utc;
use kindred_entities::{
    actor::{self, PostingMode},
    group_ban,
    membership::{self, MembershipRole, MembershipState},
    moderation_log, post,
    report::{self, ReportState},
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

mod bans;
mod log;
mod posting;
mod reports;
mod roles;

pub use bans::*;
pub use log::*;
pub use posting::*;
pub use reports::*;
pub use roles::*;
