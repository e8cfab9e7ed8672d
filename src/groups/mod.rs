//! Community rules with no ActivityPub in them: which groups exist, who belongs, what was
//! posted. Nothing in here imports `crate::federation`; the federation layer calls in.

pub mod attachments;
pub mod directory;
pub mod membership;
pub mod moderation;
pub mod posts;
pub mod search;
pub mod thread_lists;
