//! The HTTP surface: the whole route table on one screen. Handlers are thin: extract, call one
//! function, respond. Every failure goes through `crate::error::Error`.

pub mod activitypub;
pub mod negotiation;
pub mod web;
pub mod well_known;

use crate::{config::Config, error::Error};
use axum::{
    Router,
    extract::DefaultBodyLimit,
    routing::{get, post},
};
use std::sync::Arc;

pub fn routes(config: Arc<Config>) -> Router {
    Router::new()
        // Discovery.
        .route("/.well-known/webfinger", get(well_known::webfinger))
        .route("/.well-known/nodeinfo", get(well_known::nodeinfo_links))
        .route("/.well-known/host-meta", get(well_known::host_meta))
        .route("/nodeinfo/2.1", get(well_known::nodeinfo_2_1))
        .route("/nodeinfo/2.0", get(well_known::nodeinfo_2_0))
        // ActivityPub actors and collections (the group URL also serves the HTML page).
        .route("/actor", get(activitypub::instance_actor))
        .route("/groups/{name}", get(activitypub::group))
        .route("/groups/{name}/outbox", get(activitypub::group_outbox))
        .route(
            "/groups/{name}/followers",
            get(activitypub::group_followers),
        )
        .route(
            "/groups/{name}/moderators",
            get(activitypub::group_moderators),
        )
        .route("/groups/{name}/featured", get(activitypub::group_featured))
        .route("/activities/{id}", get(activitypub::activity))
        // Inboxes: each group's own and the shared one.
        .route("/groups/{name}/inbox", post(activitypub::group_inbox))
        .route("/inbox", post(activitypub::shared_inbox))
        // Web pages.
        .route("/", get(web::home))
        .route("/healthz", get(web::health))
        .route("/metrics", get(web::metrics))
        .fallback(|| async { Error::not_found("page") })
        .layer(DefaultBodyLimit::max(config.http.max_body_bytes))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;
