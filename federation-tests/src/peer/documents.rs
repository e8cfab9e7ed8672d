//! Documents a peer serves at any path besides its people and notes: collections, pages,
//! objects of another server's shape (a Mastodon `replies` collection, a context collection,
//! a group's outbox), fixed or made on the fly (a hostile server's endless chain). Every GET
//! the peer answers is recorded, so a test can count what Kindred asked for.

use super::{MastodonPeer, PeerState};
use serde_json::Value;
use std::sync::Arc;

/// Makes the document for a path and query (`/c/1?page=2`), or `None` for 404.
pub type DocumentGenerator = Arc<dyn Fn(&str) -> Option<Value> + Send + Sync>;

impl MastodonPeer {
    /// Serves `document` at `path_and_query` (as `/users/a/statuses/1/replies?page=true`).
    pub fn serve_document(&self, path_and_query: &str, document: Value) {
        self.state
            .documents
            .lock()
            .expect("lock")
            .insert(path_and_query.to_string(), document);
    }

    /// Serves what `generator` makes for paths no fixed document, note or person has.
    pub fn serve_generated(&self, generator: DocumentGenerator) {
        *self.state.generator.lock().expect("lock") = Some(generator);
    }

    /// Serves `bytes` as `content_type` at `path` (a picture, or a page claiming to be one).
    pub fn serve_bytes(&self, path: &str, content_type: &str, bytes: Vec<u8>) {
        self.state
            .raw
            .lock()
            .expect("lock")
            .insert(path.to_string(), (content_type.to_string(), bytes));
    }

    /// Every GET the peer answered, as path and query, in order.
    pub fn gets(&self) -> Vec<String> {
        self.state.gets.lock().expect("lock").clone()
    }
}

/// Bytes served at `path`, with their content type.
pub(super) fn raw_at(state: &PeerState, path: &str) -> Option<(String, Vec<u8>)> {
    let found = state.raw.lock().expect("lock").get(path).cloned();
    if found.is_some() {
        state.gets.lock().expect("lock").push(path.to_string());
    }
    found
}

/// Records a GET of `path_and_query`, and finds what is served there besides people.
pub(super) fn served_at(state: &PeerState, path_and_query: &str) -> Option<Value> {
    state
        .gets
        .lock()
        .expect("lock")
        .push(path_and_query.to_string());
    if let Some(document) = state
        .documents
        .lock()
        .expect("lock")
        .get(path_and_query)
        .cloned()
    {
        return Some(document);
    }
    let generator = state.generator.lock().expect("lock").clone();
    generator.and_then(|generate| generate(path_and_query))
}
