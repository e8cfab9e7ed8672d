//! Wire structs for ActivityPub objects: actors (with their `Object` implementation) and posts.

pub mod actor;
pub mod attachment;
pub mod post;
