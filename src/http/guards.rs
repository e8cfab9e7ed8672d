//! Checks every request passes before any handler sees it: the per-address rate limits (429
//! with `Retry-After`) and the refusal of NUL characters in any text a request carries
//! (PostgreSQL cannot store them; one place for forms, the API and inbound JSON).

use crate::{
    accounts::sessions,
    context::Context,
    error::Error,
    http::{ClientAddress, negotiation, server, web::session},
};
use axum::{
    body::Body,
    extract::{ConnectInfo, Request},
    http::{Method, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use kindred_entities::session::SessionKind;
use std::net::SocketAddr;

/// Which allowance a request draws on.
#[derive(Debug, PartialEq, Eq)]
enum Allowance {
    /// Web pages and API reads.
    Reads,
    /// POSTs to forms and the API by someone not signed in.
    AnonymousPosts,
    /// POSTs to the inboxes, before their signatures are checked.
    InboxPosts,
    /// Not limited per address: ActivityPub reads (cached, and limited by what they cost),
    /// discovery, health and metrics, and what signed-in people do.
    None,
}

fn allowance_of(request: &Request) -> Allowance {
    let path = request.uri().path();
    let is_inbox = path == "/inbox" || path.ends_with("/inbox");
    match *request.method() {
        Method::GET | Method::HEAD => {
            if path.starts_with("/.well-known/")
                || path.starts_with("/nodeinfo/")
                || path == "/healthz"
                || path == "/metrics"
                || (serves_activity_json(path)
                    && negotiation::wants_activity_json(request.headers()))
            {
                Allowance::None
            } else {
                Allowance::Reads
            }
        }
        Method::POST if is_inbox => Allowance::InboxPosts,
        _ => Allowance::AnonymousPosts,
    }
}

/// Whether `path` is one of the ActivityPub documents servers read (actors, their collections,
/// posts, activities), which answer JSON to an ActivityPub `Accept`. Any other path renders
/// the same whatever `Accept` says, so the header cannot buy it out of the page allowance.
fn serves_activity_json(path: &str) -> bool {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    matches!(
        segments.as_slice(),
        ["actor"]
            | ["groups", _]
            | [
                "groups",
                _,
                "outbox" | "followers" | "moderators" | "featured"
            ]
            | ["users", _]
            | ["users", _, "outbox" | "followers"]
            | ["posts", _]
            | ["activities", _]
    )
}

/// Draws each request from its client address's allowance, and records the address (through
/// trusted proxies) for the handlers' [`ClientAddress`].
pub async fn limit_by_address(context: Context, mut request: Request, next: Next) -> Response {
    let settings = &context.config.http;
    let connected = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0);
    let address = server::client_address(settings, connected, request.headers());
    request.extensions_mut().insert(ClientAddress(address));
    let Some(address) = address else {
        // In-process requests (tests) have no socket.
        return next.run(request).await;
    };
    let (bucket, per_minute) = match allowance_of(&request) {
        Allowance::Reads => ("reads", settings.reads_per_minute_per_address),
        Allowance::AnonymousPosts => (
            "anonymous-posts",
            settings.anonymous_posts_per_minute_per_address,
        ),
        Allowance::InboxPosts => ("inbox-posts", settings.inbox_posts_per_minute_per_address),
        Allowance::None => return next.run(request).await,
    };
    if per_minute == 0 {
        return next.run(request).await;
    }
    if bucket == "anonymous-posts" && is_signed_in(&context, request.headers()).await {
        return next.run(request).await;
    }
    let key = format!("{bucket}:{}", crate::rate_limit::address_key(address));
    match context
        .address_limits
        .take_from(&key, per_minute, f64::from(per_minute) / 60.0)
    {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            tracing::info!(client = %address, bucket, "rate limited");
            respond_to(&request, Error::TooManyRequests(wait))
        }
    }
}

/// Whether the request carries a live session cookie or API token (one indexed lookup; only
/// made for POSTs that carry one).
async fn is_signed_in(context: &Context, headers: &axum::http::HeaderMap) -> bool {
    let (token, kind) = if let Some(token) = session::cookie(headers, session::SESSION_COOKIE) {
        (token, SessionKind::Web)
    } else if let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
        })
    {
        (token.trim().to_string(), SessionKind::Api)
    } else {
        return false;
    };
    matches!(
        sessions::find_session(&context.db, &token, kind).await,
        Ok(Some(_))
    )
}

/// Refuses, with 422, a request whose path, query or body carries a NUL character, in any of
/// the forms it can take there: a raw byte, `%00`, or JSON's `\u0000`. Every body but a
/// multipart one is read here, within `http.max_body_bytes` (413 past it).
pub async fn refuse_nul_characters(context: Context, request: Request, next: Next) -> Response {
    if request
        .uri()
        .path_and_query()
        .is_some_and(|target| target.as_str().contains("%00"))
    {
        return refuse_nul(&request);
    }
    let has_body = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !has_body {
        return next.run(request).await;
    }
    // A form with pictures holds NUL bytes by nature; it is read as it streams in, within
    // `media.max_upload_bytes` a file, and its text fields are checked there
    // (`http/web/form_with_pictures.rs`, `http/api/media_endpoints.rs`). Only the routes that
    // take pictures are let through so: a multipart body anywhere else (an inbox, say) is
    // read and checked here like any other.
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        });
    if multipart && takes_pictures(request.uri().path()) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, context.config.http.max_body_bytes).await {
        Ok(bytes) => bytes,
        Err(error) => {
            let request = Request::from_parts(parts, Body::empty());
            // Too large is final; a body that did not arrive in time (or at all) may be sent
            // again, so a server retries it.
            let too_large = std::iter::successors(
                Some(&error as &(dyn std::error::Error + 'static)),
                |error| error.source(),
            )
            .any(|error| error.is::<http_body_util::LengthLimitError>());
            let refusal = if too_large {
                Error::PayloadTooLarge
            } else {
                Error::RequestTimeout
            };
            return respond_to(&request, refusal);
        }
    };
    let form_encoded = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    let request = Request::from_parts(parts, Body::from(bytes.clone()));
    if bytes.contains(&0)
        || (form_encoded && contains(&bytes, b"%00"))
        || has_json_nul_escape(&bytes)
    {
        return refuse_nul(&request);
    }
    next.run(request).await
}

/// The routes whose forms carry pictures (multipart): a thread, a reply, a profile, a
/// group's settings, and the API's upload.
fn takes_pictures(path: &str) -> bool {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    matches!(
        segments.as_slice(),
        ["groups", _, "new-thread" | "edit"]
            | ["posts", _, "reply"]
            | ["settings", "profile"]
            | ["api", "v1", "media"]
    )
}

fn refuse_nul(request: &Request) -> Response {
    tracing::info!(path = %request.uri().path(), "refused a request with a NUL character");
    respond_to(
        request,
        Error::invalid("text may not contain a NUL character"),
    )
}

/// A refusal in the API's JSON form for the API, as plain text elsewhere (which browsers get
/// as an error page, with its `Retry-After`).
fn respond_to(request: &Request, error: Error) -> Response {
    if request.uri().path().starts_with("/api/") {
        crate::http::api::auth::ApiError(error).into_response()
    } else {
        error.into_response()
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// Whether `bytes` holds the JSON escape `\u0000` (not an escaped backslash followed by
/// `u0000`, which is text).
fn has_json_nul_escape(bytes: &[u8]) -> bool {
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'\\' {
            if bytes[index + 1..].starts_with(b"u0000") {
                return true;
            }
            // Skip the escaped character, whatever it is.
            index += 2;
        } else {
            index += 1;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_nul_escapes_are_found_and_escaped_backslashes_are_not() {
        assert!(has_json_nul_escape(br#"{"a":"x\u0000y"}"#));
        assert!(has_json_nul_escape(br#"{"a":"\\\u0000"}"#));
        assert!(!has_json_nul_escape(br#"{"a":"\\u0000"}"#));
        assert!(!has_json_nul_escape(br#"{"a":"\u00e9"}"#));
        assert!(!has_json_nul_escape(br#"{"a":"\\"}"#));
        assert!(!has_json_nul_escape(b"\\"));
    }

    #[test]
    fn requests_draw_on_the_allowance_they_should() {
        let request = |method: Method, path: &str, accept: Option<&str>| {
            let mut builder = Request::builder().method(method).uri(path);
            if let Some(accept) = accept {
                builder = builder.header(header::ACCEPT, accept);
            }
            allowance_of(&builder.body(Body::empty()).unwrap_or_default())
        };
        assert_eq!(request(Method::GET, "/groups/g", None), Allowance::Reads);
        assert_eq!(
            request(Method::GET, "/groups/g", Some("application/activity+json")),
            Allowance::None
        );
        assert_eq!(
            request(Method::POST, "/login", None),
            Allowance::AnonymousPosts
        );
        assert_eq!(request(Method::POST, "/inbox", None), Allowance::InboxPosts);
        assert_eq!(
            request(Method::POST, "/groups/g/inbox", None),
            Allowance::InboxPosts
        );
        assert_eq!(request(Method::GET, "/healthz", None), Allowance::None);
        // Pages that render the same whatever `Accept` says are counted anyway.
        for page in [
            "/",
            "/groups/g/modlog",
            "/groups/g/feed.atom",
            "/api/v1/groups",
        ] {
            assert_eq!(
                request(Method::GET, page, Some("application/activity+json")),
                Allowance::Reads,
                "{page}"
            );
        }
        for document in ["/posts/7", "/users/u/outbox", "/activities/x", "/actor"] {
            assert_eq!(
                request(Method::GET, document, Some("application/activity+json")),
                Allowance::None,
                "{document}"
            );
        }
    }
}
