//! Everything that speaks ActivityPub JSON: actors and objects on the wire, collections,
//! discovery, and (in later steps) the activities a group accepts and sends.

pub mod collections;
pub mod context;
pub mod discovery;
pub mod instances;
pub mod objects;
