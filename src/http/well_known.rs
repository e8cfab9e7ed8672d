//! `/.well-known/*` and NodeInfo: thin handlers over `federation::discovery`.

use crate::{context::Context, error::Result, federation::discovery};
use axum::{
    extract::Query,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
pub struct WebfingerQuery {
    resource: Option<String>,
}

pub async fn webfinger(context: Context, Query(query): Query<WebfingerQuery>) -> Result<Response> {
    let document = discovery::webfinger(&context, query.resource.as_deref()).await?;
    Ok(json_with_type(
        document,
        "application/jrd+json; charset=utf-8",
    ))
}

pub async fn nodeinfo_links(context: Context) -> Response {
    json_with_type(
        discovery::nodeinfo_links(&context.config),
        "application/json; charset=utf-8",
    )
}

pub async fn nodeinfo_2_1(context: Context) -> Result<Response> {
    let document = discovery::nodeinfo(&context, "2.1").await?;
    Ok(json_with_type(
        document,
        "application/json; profile=\"http://nodeinfo.diaspora.software/ns/schema/2.1#\"",
    ))
}

pub async fn nodeinfo_2_0(context: Context) -> Result<Response> {
    let document = discovery::nodeinfo(&context, "2.0").await?;
    Ok(json_with_type(
        document,
        "application/json; profile=\"http://nodeinfo.diaspora.software/ns/schema/2.0#\"",
    ))
}

pub async fn host_meta(context: Context) -> Response {
    let mut response = discovery::host_meta(&context.config).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xrd+xml; charset=utf-8"),
    );
    response
}

/// JSON with the given content type, readable from any origin (web clients look these up).
fn json_with_type(document: Value, content_type: &'static str) -> Response {
    let mut response = axum::Json(document).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}
