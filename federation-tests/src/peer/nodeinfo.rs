//! The peer's NodeInfo, when a test gives it a software name: what Kindred reads to tell a
//! Mastodon from a Lemmy.

use super::PeerState;
use axum::{
    Json,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::json;
use std::sync::Arc;

/// `/.well-known/nodeinfo`: the link to the 2.1 document.
pub(super) async fn links(State(state): State<Arc<PeerState>>) -> Response {
    if state.software.lock().expect("lock").is_none() {
        return StatusCode::NOT_FOUND.into_response();
    }
    Json(json!({
        "links": [{
            "rel": "http://nodeinfo.diaspora.software/ns/schema/2.1",
            "href": format!("{}nodeinfo/2.1", state.base_url),
        }]
    }))
    .into_response()
}

/// `/nodeinfo/2.1`.
pub(super) async fn document(State(state): State<Arc<PeerState>>) -> Response {
    let Some(software) = state.software.lock().expect("lock").clone() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    Json(json!({
        "version": "2.1",
        "software": { "name": software, "version": "4.3.0" },
        "protocols": ["activitypub"],
        "usage": { "users": { "total": 1 } },
        "openRegistrations": false,
    }))
    .into_response()
}
