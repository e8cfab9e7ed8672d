//! Kindred's sea-orm entities: one module per table, rows only, no hand-written logic.
//!
//! The schema itself lives in `migrations/`; these structs mirror it. Logic that reads or
//! writes them lives in the `kindred` crate (`src/accounts/`, `src/groups/`, `src/federation/`).

pub mod activity;
pub mod actor;
pub mod delivery;
pub mod federation_health_sample;
pub mod group_ban;
pub mod instance;
pub mod media_cache;
pub mod membership;
pub mod moderation_log;
pub mod notification;
pub mod outbox_total;
pub mod post;
pub mod post_attachment;
pub mod received_activity;
pub mod report;
pub mod session;
pub mod share;
pub mod site_setting;
pub mod thread_backfill;
pub mod thread_read;
pub mod upload;
pub mod user;
pub mod vote;
pub mod waiting_reply;

pub mod prelude {
    //! The entities under their table-like names, for `use kindred_entities::prelude::*`.
    pub use crate::activity::Entity as Activity;
    pub use crate::actor::Entity as Actor;
    pub use crate::delivery::Entity as Delivery;
    pub use crate::federation_health_sample::Entity as FederationHealthSample;
    pub use crate::group_ban::Entity as GroupBan;
    pub use crate::instance::Entity as Instance;
    pub use crate::media_cache::Entity as MediaCache;
    pub use crate::membership::Entity as Membership;
    pub use crate::moderation_log::Entity as ModerationLog;
    pub use crate::notification::Entity as Notification;
    pub use crate::outbox_total::Entity as OutboxTotal;
    pub use crate::post::Entity as Post;
    pub use crate::post_attachment::Entity as PostAttachment;
    pub use crate::received_activity::Entity as ReceivedActivity;
    pub use crate::report::Entity as Report;
    pub use crate::session::Entity as Session;
    pub use crate::share::Entity as Share;
    pub use crate::site_setting::Entity as SiteSetting;
    pub use crate::thread_backfill::Entity as ThreadBackfill;
    pub use crate::thread_read::Entity as ThreadRead;
    pub use crate::upload::Entity as Upload;
    pub use crate::user::Entity as User;
    pub use crate::vote::Entity as Vote;
    pub use crate::waiting_reply::Entity as WaitingReply;
}
