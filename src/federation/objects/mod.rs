//! Wire structs for ActivityPub objects, each with its `Object` implementation.

pub mod actor;
