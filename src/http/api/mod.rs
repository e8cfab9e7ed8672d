//! The JSON client API under `/api/v1`: the same actions as the web pages, for apps and
//! scripts. Bearer tokens come from `POST /api/v1/auth/token`; errors are
//! `{"error": {"code", "message"}}`. Every route is a handler annotated with
//! `#[utoipa::path]`, from which `openapi.rs` builds the document.

mod account_endpoints;
pub mod auth;
mod group_endpoints;
mod media_endpoints;
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
use auth::{ApiJson, ApiResult, ApiUser, ErrorBody, MaybeApiUser};
use axum::{
    Extension, Json, Router,
    extract::{Path, Query},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use kindred_entities::{actor, membership::MembershipState, post, session::SessionKind};
use openapi::{
    BAD_CURSOR, FORBIDDEN, GROUP_NAME, INVALID, MEMBER_ID, NOT_FOUND, POST_ID, UNAUTHORIZED,
};
use serde::{Deserialize, Serialize};
use std::{collections::HashMap, sync::Arc};
use utoipa::{IntoParams, OpenApi, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

/// Where a page of a list kept in id order starts, and how long it is (`crate::paging`).
#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// The cursor the previous page's `Link: <…>; rel="next"` named; left out, the first page.
    pub(super) cursor: Option<String>,
    /// Entries a page (1 to 200; 50 when left out).
    #[param(minimum = 1, maximum = 200)]
    pub(super) limit: Option<u64>,
}

impl PageParams {
    /// The id the page starts below, and its length.
    fn start_and_length(&self) -> Result<(Option<i64>, u64), Error> {
        Ok((
            crate::paging::parse_id_cursor(self.cursor.as_deref())?,
            self.limit.unwrap_or(crate::paging::PER_PAGE).clamp(1, 200),
        ))
    }

    /// The address of the next page: `path` with `extra` query pairs, this length and `cursor`.
    fn next_url(
        &self,
        context: &Context,
        path: &str,
        extra: &[(&str, &str)],
        cursor: Option<String>,
    ) -> Option<url::Url> {
        let cursor = cursor?;
        let mut url = context.config.url_for(&format!("/api/v1{path}"));
        {
            let mut pairs = url.query_pairs_mut();
            for (key, value) in extra {
                pairs.append_pair(key, value);
            }
            pairs.append_pair("cursor", &cursor);
            if let Some(limit) = self.limit {
                pairs.append_pair("limit", &limit.to_string());
            }
        }
        Some(url)
    }
}

/// Every API route; mounted under `/api/v1` by `http/mod.rs`.
pub fn routes() -> Router {
    let (router, document) = router_and_document();
    router
        .layer(Extension(Arc::new(document)))
        .fallback(|| async { auth::ApiError(Error::not_found("API endpoint")) })
        .layer(axum::middleware::map_response(auth::json_errors))
}

/// The routes and the OpenAPI document, both from the handlers' `#[utoipa::path]` annotations:
/// `routes!` mounts each handler at the path and method its annotation documents.
pub fn router_and_document() -> (Router, utoipa::openapi::OpenApi) {
    let (router, mut document) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(openapi::document))
        .routes(routes!(create_token, revoke_token))
        .routes(routes!(list_tokens))
        .routes(routes!(revoke_token_by_id))
        .routes(routes!(register))
        .routes(routes!(me, edit_profile))
        .routes(routes!(list_groups, create_group))
        .routes(routes!(group, edit_group, remove_group))
        .routes(routes!(remove_user))
        .routes(routes!(list_notifications))
        .routes(routes!(read_notifications))
        .routes(routes!(join_group, leave_group))
        .routes(routes!(list_threads, create_thread))
        .routes(routes!(thread, edit_post, delete_post))
        .routes(routes!(reply))
        .routes(routes!(refresh_thread))
        .routes(routes!(moderate_post))
        .routes(routes!(list_requests))
        .routes(routes!(decide_request))
        .routes(routes!(list_moderators))
        .routes(routes!(appoint_moderator, dismiss_moderator))
        .routes(routes!(moderation_log))
        .routes(routes!(list_bans, create_ban))
        .routes(routes!(list_reports))
        .routes(routes!(approval_queue))
        .routes(routes!(close_report))
        .routes(routes!(report_post))
        .routes(routes!(lift_ban))
        .routes(routes!(cast_vote))
        .routes(routes!(search))
        .routes(routes!(media_endpoints::upload_picture))
        .split_for_parts();
    openapi::finish(&mut document);
    (router, document)
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
