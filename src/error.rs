//! The one error type of Kindred, and its one mapping to HTTP status codes.
//!
//! A client error carries a short reason that is safe to show a peer. Everything else becomes
//! a 500 with an opaque body; its cause goes to the log, never to the peer.

use activitypub_federation::error::Error as FederationError;
use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 404: the thing asked for does not exist here.
    #[error("not found: {0}")]
    NotFound(String),
    /// 410: the thing existed and was deleted.
    #[error("gone: {0}")]
    Gone(String),
    /// 400: the request is malformed or breaks a protocol rule.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 422: what a person typed breaks a rule (an empty title, a short password, a bad name).
    #[error("invalid: {0}")]
    Invalid(String),
    /// 401: a signature or digest did not verify, or no one is signed in.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// 403: the sender is known but not allowed to do this.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// 409: the request conflicts with what exists (a name already taken).
    #[error("conflict: {0}")]
    Conflict(String),
    /// 429: too many attempts; try again after this long (sent as `Retry-After`).
    #[error("too many requests")]
    TooManyRequests(std::time::Duration),
    /// 413: the body is larger than `http.max_body_bytes`.
    #[error("payload too large")]
    PayloadTooLarge,
    /// 408: the request's body did not arrive within `http.body_read_timeout_seconds`.
    #[error("request timeout")]
    RequestTimeout,
    /// Something the federation crate reported; mapped by kind below.
    #[error("federation: {0}")]
    Federation(#[from] FederationError),
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
    /// An internal failure; the message is logged, never sent.
    #[error("internal: {0}")]
    Internal(String),
}

impl Error {
    pub fn not_found(what: impl Into<String>) -> Self {
        Error::NotFound(what.into())
    }

    pub fn bad_request(why: impl Into<String>) -> Self {
        Error::BadRequest(why.into())
    }

    pub fn invalid(why: impl Into<String>) -> Self {
        Error::Invalid(why.into())
    }

    pub fn internal(why: impl std::fmt::Display) -> Self {
        Error::Internal(why.to_string())
    }

    /// The status and the reason for the answer to a request on `surface` ("page", "API"),
    /// with a server error logged, since the answer hides its detail.
    pub fn answered_on(&self, surface: &str) -> (StatusCode, String) {
        let (status, reason) = self.status_and_reason();
        if status.is_server_error() {
            tracing::error!(error = %self, "{surface} request failed");
        }
        (status, reason)
    }

    /// The status and the reason a peer may see.
    pub fn status_and_reason(&self) -> (StatusCode, String) {
        match self {
            Error::NotFound(what) => (StatusCode::NOT_FOUND, format!("{what} not found")),
            Error::Gone(what) => (StatusCode::GONE, format!("{what} was deleted")),
            Error::BadRequest(why) => (StatusCode::BAD_REQUEST, why.clone()),
            Error::Invalid(why) => (StatusCode::UNPROCESSABLE_ENTITY, why.clone()),
            Error::Unauthorized(why) => (StatusCode::UNAUTHORIZED, why.clone()),
            Error::Forbidden(why) => (StatusCode::FORBIDDEN, why.clone()),
            Error::Conflict(why) => (StatusCode::CONFLICT, why.clone()),
            Error::TooManyRequests(wait) => (
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "too many attempts; try again in {} seconds",
                    wait.as_secs().max(1)
                ),
            ),
            Error::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "request body is too large".to_string(),
            ),
            Error::RequestTimeout => (
                StatusCode::REQUEST_TIMEOUT,
                "the request body did not arrive in time".to_string(),
            ),
            Error::Federation(error) => federation_status_and_reason(error),
            Error::Database(_) | Error::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal server error".to_string(),
            ),
        }
    }
}

impl Error {
    /// The `Retry-After` header a 429 carries.
    pub fn retry_after(&self) -> Option<HeaderValue> {
        match self {
            Error::TooManyRequests(wait) => {
                HeaderValue::from_str(&wait.as_secs().max(1).to_string()).ok()
            }
            _ => None,
        }
    }

    /// A stable, machine-readable name for the kind of error, for the JSON API.
    pub fn code(&self) -> &'static str {
        match self.status_and_reason().0 {
            StatusCode::NOT_FOUND => "not_found",
            StatusCode::GONE => "gone",
            StatusCode::BAD_REQUEST => "bad_request",
            StatusCode::UNPROCESSABLE_ENTITY => "invalid",
            StatusCode::UNAUTHORIZED => "unauthorized",
            StatusCode::FORBIDDEN => "forbidden",
            StatusCode::CONFLICT => "conflict",
            StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
            StatusCode::REQUEST_TIMEOUT => "request_timeout",
            StatusCode::TOO_MANY_REQUESTS => "too_many_requests",
            _ => "internal",
        }
    }
}

/// Errors from the federation crate come from signature checks, parsing and fetching.
fn federation_status_and_reason(error: &FederationError) -> (StatusCode, String) {
    use FederationError as E;
    match error {
        E::ActivityBodyDigestInvalid => (
            StatusCode::UNAUTHORIZED,
            "digest does not match the body".to_string(),
        ),
        E::ActivitySignatureInvalid => (
            StatusCode::UNAUTHORIZED,
            "signature does not verify".to_string(),
        ),
        // The crate reports unparsable or expired signature headers as `Other`; everything
        // else it reports as `Other` is internal plumbing that cannot happen on the inbox path.
        E::Other(_) => (
            StatusCode::UNAUTHORIZED,
            "signature could not be verified".to_string(),
        ),
        E::ParseReceivedActivity { .. } => (
            StatusCode::BAD_REQUEST,
            "activity is malformed or of a type this inbox does not take".to_string(),
        ),
        E::UrlVerificationError(why) => (StatusCode::BAD_REQUEST, format!("invalid URL: {why}")),
        E::NotFound => (StatusCode::NOT_FOUND, "object not found".to_string()),
        E::ObjectDeleted(_) => (StatusCode::GONE, "object was deleted".to_string()),
        _ => (
            StatusCode::BAD_REQUEST,
            "a referenced object could not be fetched".to_string(),
        ),
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (status, reason) = self.status_and_reason();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        } else {
            tracing::info!(%status, error = %self, "request refused");
        }
        let retry_after = self.retry_after();
        let mut response = (status, reason).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        if let Some(retry_after) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, retry_after);
        }
        response
    }
}

impl From<serde_json::Error> for Error {
    fn from(error: serde_json::Error) -> Self {
        Error::Internal(format!("json: {error}"))
    }
}

impl From<url::ParseError> for Error {
    fn from(error: url::ParseError) -> Self {
        Error::BadRequest(format!("invalid URL: {error}"))
    }
}

/// Declares an error type for one way of answering (a page, a JSON body): a wrapper of
/// [`Error`] that anything convertible into an `Error` turns into, so handlers use `?`. The
/// wrapper's `IntoResponse` is the surface's own.
#[macro_export]
macro_rules! error_answered_as {
    ($(#[$attribute:meta])* $name:ident) => {
        $(#[$attribute])*
        #[derive(Debug)]
        pub struct $name(pub $crate::error::Error);

        impl<E: Into<$crate::error::Error>> From<E> for $name {
            fn from(error: E) -> Self {
                $name(error.into())
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_do_not_leak_their_message() {
        let error = Error::internal("password=hunter2 in /etc/secret");
        let (status, reason) = error.status_and_reason();
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!reason.contains("hunter2"));
        let database = Error::Database(sea_orm::DbErr::Custom("table secret".into()));
        assert!(!database.status_and_reason().1.contains("secret"));
    }

    #[test]
    fn signature_failures_are_401() {
        for error in [
            FederationError::ActivitySignatureInvalid,
            FederationError::ActivityBodyDigestInvalid,
            FederationError::Other("Header is expired".into()),
        ] {
            assert_eq!(
                Error::Federation(error).status_and_reason().0,
                StatusCode::UNAUTHORIZED
            );
        }
    }
}
