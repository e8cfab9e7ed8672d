//! The HTTP surface: the whole route table on one screen. Handlers are thin: extract, call one
//! function, respond. Every failure goes through `crate::error::Error`.

pub mod activitypub;
pub mod api;
pub mod guards;
pub mod media;
pub mod negotiation;
pub mod server;
pub mod web;
pub mod well_known;

use crate::{config::Config, error::Error};
use axum::{
    Router,
    extract::DefaultBodyLimit,
    http::{HeaderValue, StatusCode, header},
    routing::{get, post},
};
use std::sync::Arc;
use tower_http::{
    set_header::SetResponseHeaderLayer,
    timeout::{RequestBodyTimeoutLayer, TimeoutLayer},
};

/// No scripts, no plugins, no frames, forms only to this site; styles inline (the one
/// stylesheet is in the page) and images only from this site: remote pictures come through
/// the media proxy (`/media/…`), so a visitor's browser never asks another server.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

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
        .route("/users/{name}", get(activitypub::person))
        .route("/users/{name}/outbox", get(activitypub::person_outbox))
        .route(
            "/users/{name}/followers",
            get(activitypub::person_followers),
        )
        .route("/posts/{id}", get(activitypub::post_object))
        .route("/posts/{id}/replies", get(activitypub::post_replies))
        .route("/media/attachments/{id}", get(media::attachment_picture))
        .route("/media/actors/{id}/icon", get(media::actor_icon))
        .route("/media/actors/{id}/banner", get(media::actor_banner))
        .route("/media/uploads/{key}", get(media::uploaded_picture))
        .route(
            "/groups/{name}/threads/{id}",
            get(activitypub::thread_context),
        )
        .route("/activities/{id}", get(activitypub::activity))
        // Inboxes: each group's own and the shared one.
        .route("/groups/{name}/inbox", post(activitypub::group_inbox))
        .route("/users/{name}/inbox", post(activitypub::person_inbox))
        .route("/inbox", post(activitypub::shared_inbox))
        // Web pages and their forms (the group, person and post URLs above serve pages too).
        .route("/", get(web::groups::home))
        .route("/groups", get(web::groups::directory_page))
        .route("/search", get(web::search::search_page))
        .route(
            "/login",
            get(web::accounts::login_page).post(web::accounts::login),
        )
        .route(
            "/register",
            get(web::accounts::register_page).post(web::accounts::register),
        )
        .route("/logout", post(web::accounts::logout))
        .route("/settings", get(web::accounts::settings_page))
        .route("/notifications", get(web::accounts::notifications_page))
        .route(
            "/notifications/read",
            post(web::accounts::mark_notifications_read),
        )
        .route("/admin", get(web::admin::admin_page))
        .route("/admin/remove", post(web::admin::admin_remove))
        .route("/admin/settings", post(web::admin::save_settings))
        .route(
            "/admin/federation",
            get(web::admin_health::federation_health_page),
        )
        .route(
            "/admin/users/{name}/{decision}",
            post(web::admin::decide_registration),
        )
        .route("/settings/password", post(web::accounts::change_password))
        .route("/settings/profile", post(web::accounts::edit_profile))
        .route("/settings/tokens", post(web::accounts::create_api_token))
        .route(
            "/settings/tokens/{id}/revoke",
            post(web::accounts::revoke_api_token),
        )
        .route(
            "/create-group",
            get(web::group_settings::create_group_page).post(web::group_settings::create_group),
        )
        .route("/join-remote", post(web::groups::join_remote))
        .route("/groups/{name}/join", post(web::groups::join))
        .route("/groups/{name}/leave", post(web::groups::leave))
        .route(
            "/groups/{name}/edit",
            get(web::group_settings::edit_group_page).post(web::group_settings::edit_group),
        )
        .route("/groups/{name}/feed.atom", get(web::groups::atom_feed))
        .route(
            "/groups/{name}/moderation",
            get(web::moderation::moderation_page),
        )
        .route("/groups/{name}/modlog", get(web::moderation::log_page))
        .route(
            "/groups/{name}/requests/{member}/{decision}",
            post(web::moderation::decide_request),
        )
        .route("/groups/{name}/moderators", post(web::moderation::appoint))
        .route("/groups/{name}/bans", post(web::moderation::ban))
        .route(
            "/groups/{name}/reports/{report}/{decision}",
            post(web::moderation::close_report),
        )
        .route("/posts/{id}/report", post(web::posts::report))
        .route(
            "/groups/{name}/bans/{ban}/lift",
            post(web::moderation::lift_ban),
        )
        .route(
            "/groups/{name}/moderators/{member}/dismiss",
            post(web::moderation::dismiss),
        )
        .route(
            "/groups/{name}/new-thread",
            get(web::groups::new_thread_page).post(web::groups::new_thread),
        )
        .route("/posts/{id}/reply", post(web::posts::reply))
        .route("/posts/{id}/backfill", post(web::posts::refresh_thread))
        .route("/posts/{id}/vote", post(web::posts::cast_vote))
        .route("/posts/{id}/delete", post(web::posts::remove))
        .route(
            "/posts/{id}/moderate/{action}",
            post(web::moderation::post_action),
        )
        .route(
            "/posts/{id}/edit",
            get(web::posts::edit_page).post(web::posts::edit),
        )
        .route("/healthz", get(web::health))
        .route("/metrics", get(web::metrics))
        .nest("/api/v1", api::routes())
        .fallback(
            |uri: axum::http::Uri| async move { Error::not_found(format!("page {}", uri.path())) },
        )
        // Every body but a multipart one is read, within `http.max_body_bytes`, by the NUL
        // guard below; this limit is the one a form with pictures (or `POST /api/v1/media`)
        // streams in under.
        .layer(DefaultBodyLimit::max(
            config
                .media
                .max_upload_request_bytes()
                .max(config.http.max_body_bytes),
        ))
        .layer(axum::middleware::from_fn(guards::refuse_nul_characters))
        // A body that trickles in is cut off (408, from `guards::refuse_nul_characters`,
        // which reads it), and so is a request that takes too long in all; the connection's
        // header-read timeout is in `server.rs`.
        .layer(RequestBodyTimeoutLayer::new(config.http.body_read_timeout))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            config.http.request_timeout,
        ))
        .layer(axum::middleware::from_fn(guards::limit_by_address))
        // One access line a request: method, path (never the query, which may hold a search
        // or a token), status and time.
        .layer(
            tower_http::trace::TraceLayer::new_for_http()
                .make_span_with(|request: &axum::http::Request<axum::body::Body>| {
                    tracing::info_span!(
                        target: "kindred::access",
                        "request",
                        method = %request.method(),
                        path = %request.uri().path(),
                    )
                })
                .on_request(())
                .on_response(
                    |response: &axum::http::Response<axum::body::Body>,
                     latency: std::time::Duration,
                     _span: &tracing::Span| {
                        tracing::info!(
                            target: "kindred::access",
                            status = response.status().as_u16(),
                            milliseconds = latency.as_secs_f64() * 1000.0,
                            "served"
                        );
                    },
                )
                .on_failure(()),
        )
        .layer(axum::middleware::from_fn(web::error_pages_for_browsers))
        // Defence in depth for pages that show other servers' content: Kindred's pages use no
        // script at all, so none may run, and nothing may frame them.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
}

/// Whether a response's `Content-Type` starts with `prefix` (`text/plain`, `application/json`).
pub fn has_content_type(headers: &axum::http::HeaderMap, prefix: &str) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with(prefix))
}

/// The text of an error response's body (its first 64 KiB), trimmed, for re-answering it in
/// another form (an error page, a JSON error).
pub async fn error_body_text(body: axum::body::Body) -> String {
    axum::body::to_bytes(body, 64 * 1024)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod query_plans;
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;

/// The client's address: as the listener saw it, or as a trusted reverse proxy reports it in
/// `X-Forwarded-For` (see `server::client_address`; `None` in tests without a socket).
#[derive(Clone, Copy, Debug)]
pub struct ClientAddress(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        // `guards::limit_by_address` has worked it out for every request.
        if let Some(address) = parts.extensions.get::<ClientAddress>() {
            return Ok(*address);
        }
        Ok(ClientAddress(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|info| info.0.ip()),
        ))
    }
}
