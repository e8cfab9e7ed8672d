//! Server-rendered web pages (plain HTML that works without JavaScript): the group directory,
//! group and thread pages, account pages and the forms behind them. Every value from the
//! database is escaped, or was sanitised on the way in.

pub mod accounts;
pub mod admin;
pub mod admin_health;
pub mod form_with_pictures;
pub mod group_settings;
pub mod groups;
mod layout;
pub mod moderation;
pub mod posts;
pub mod search;
pub mod session;

use crate::{context::Context, error::Result};
use axum::response::{IntoResponse, Response};

pub use layout::{PageError, PageResult, error_pages_for_browsers, page, page_with_head};

/// `?after=<cursor>`: where a page of a list starts (`crate::paging`).
#[derive(serde::Deserialize, Default)]
pub struct PageQuery {
    #[serde(default)]
    pub after: Option<String>,
}
pub use session::Visitor;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;

/// `/healthz`: 200 "ok" when the database answers, 500 otherwise.
pub async fn health(context: Context) -> Result<&'static str> {
    crate::database::ping(&context.db).await?;
    Ok("ok")
}

/// `/metrics`: Prometheus text, when `http.metrics` is on (404 otherwise).
pub async fn metrics(context: Context) -> Result<Response> {
    if !context.config.http.metrics {
        return Err(crate::error::Error::not_found("page"));
    }
    let text = context
        .metrics
        .render(&context.db, context.writer.counts())
        .await?;
    let mut response = text.into_response();
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(response)
}
