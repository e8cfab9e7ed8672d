//! The JSON client API under `/api/v1`: the same actions as the web pages, for apps and
//! scripts. Bearer tokens come from `POST /api/v1/auth/token`; errors are
//! `{"error": {"code", "message"}}`; `openapi.rs` documents every route.

mod account_endpoints;
pub mod auth;
mod group_endpoints;
mod moderation_endpoints;
pub mod openapi;
mod post_endpoints;

use crate::actions::accounts::Remover;
use crate::federation::activities::add_or_remove::ModeratorChange;
use crate::{
    accounts::{
        sessions,
        users::{self, NewUser},
    },
    context::Context,
    error::Error,
    federation::discovery,
    groups::{
        directory::{self, NewGroup},
        membership,
        posts::{self, ThreadOrder},
    },
};
use auth::{ApiJson, ApiResult, ApiUser, MaybeApiUser};
use axum::{
    Json, Router,
    extract::{Path, Query},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use chrono::{DateTime, Utc};
use kindred_entities::{actor, membership::MembershipState, post, session::SessionKind};
use sea_orm::EntityTrait;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Every API route; mounted under `/api/v1` by `http/mod.rs`.
pub fn routes() -> Router {
    Router::new()
        .route("/openapi.json", get(openapi::document))
        .route("/auth/token", post(create_token).delete(revoke_token))
        .route("/auth/tokens", get(list_tokens))
        .route(
            "/auth/tokens/{id}",
            axum::routing::delete(revoke_token_by_id),
        )
        .route("/accounts", post(register))
        .route("/me", get(me))
        .route("/groups", get(list_groups).post(create_group))
        .route(
            "/groups/{name}",
            get(group).patch(edit_group).delete(remove_group),
        )
        .route("/users/{name}", axum::routing::delete(remove_user))
        .route("/notifications", get(list_notifications))
        .route("/notifications/read", post(read_notifications))
        .route(
            "/groups/{name}/membership",
            post(join_group).delete(leave_group),
        )
        .route(
            "/groups/{name}/threads",
            get(list_threads).post(create_thread),
        )
        .route(
            "/posts/{id}",
            get(thread).patch(edit_post).delete(delete_post),
        )
        .route("/posts/{id}/replies", post(reply))
        .route("/posts/{id}/moderate/{action}", post(moderate_post))
        .route("/groups/{name}/requests", get(list_requests))
        .route(
            "/groups/{name}/requests/{member}/{decision}",
            post(decide_request),
        )
        .route("/groups/{name}/moderators", get(list_moderators))
        .route(
            "/groups/{name}/moderators/{member}",
            axum::routing::put(appoint_moderator).delete(dismiss_moderator),
        )
        .route("/groups/{name}/modlog", get(moderation_log))
        .route("/groups/{name}/bans", get(list_bans).post(create_ban))
        .route("/groups/{name}/reports", get(list_reports))
        .route("/groups/{name}/queue", get(approval_queue))
        .route(
            "/groups/{name}/reports/{report}/{decision}",
            post(close_report),
        )
        .route("/posts/{id}/report", post(report_post))
        .route("/groups/{name}/bans/{ban}", axum::routing::delete(lift_ban))
        .route("/posts/{id}/vote", axum::routing::put(cast_vote))
        .fallback(|| async { auth::ApiError(Error::not_found("API endpoint")) })
        .layer(axum::middleware::map_response(auth::json_errors))
}

use account_endpoints::*;
use group_endpoints::*;
use moderation_endpoints::*;
use post_endpoints::*;

/// A person by row id (as listed by the requests and moderators endpoints).
pub(super) async fn find_actor(context: &Context, id: &str) -> Result<actor::Model, Error> {
    let id: i64 = id.parse().map_err(|_| Error::not_found("person"))?;
    crate::actions::lookups::actor(&context.db, id, "person").await
}

/// The post with this id; an id that is not a number is simply not found.
pub(super) async fn find_post(context: &Context, id: &str) -> Result<post::Model, Error> {
    crate::actions::lookups::post_by_text(&context.db, id).await
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;
