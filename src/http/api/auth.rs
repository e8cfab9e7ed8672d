//! The API's edges: who is calling (a bearer token), JSON bodies that fail with JSON errors,
//! and the error body every endpoint answers with.

use crate::{
    accounts::sessions::{self, SignedIn},
    context::AppState,
    error::Error,
};
use activitypub_federation::config::Data;
use axum::{
    Json,
    extract::{FromRequest, FromRequestParts, Request, rejection::JsonRejection},
    http::{StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
};
use kindred_entities::session::SessionKind;
use serde::{Serialize, de::DeserializeOwned};
use utoipa::ToSchema;

/// The body of every error answer: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Serialize, ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    #[schema(inline)]
    error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
struct ErrorDetail {
    #[schema(schema_with = error_code)]
    code: &'static str,
    message: String,
}

impl ErrorBody {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        ErrorBody {
            error: ErrorDetail {
                code,
                message: message.into(),
            },
        }
    }
}

/// Every `code` an error can carry: [`Error::code`]'s, and those of the rejections this module
/// turns into JSON.
pub const ERROR_CODES: [&str; 13] = [
    "not_found",
    "gone",
    "bad_request",
    "invalid",
    "unauthorized",
    "forbidden",
    "conflict",
    "payload_too_large",
    "unsupported_media_type",
    "method_not_allowed",
    "request_timeout",
    "too_many_requests",
    "internal",
];

fn error_code() -> utoipa::openapi::schema::ObjectBuilder {
    super::openapi::string_enum(&ERROR_CODES)
}

crate::error_answered_as!(
    /// An API error: `{"error": {"code": "...", "message": "..."}}` with the status of the one
    /// mapping in `error.rs`.
    ApiError
);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = self.0.answered_on("API");
        let mut response = (status, Json(ErrorBody::new(self.0.code(), message))).into_response();
        if let Some(retry_after) = self.0.retry_after() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, retry_after);
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"kindred\""),
            );
        }
        response
    }
}

pub type ApiResult<T> = std::result::Result<T, ApiError>;

/// The caller, signed in with `Authorization: Bearer <token>`; 401 without a valid token.
pub struct ApiUser(pub SignedIn);

/// The caller if a valid token was sent, nobody otherwise (a wrong token is still a 401).
pub struct MaybeApiUser(pub Option<SignedIn>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeApiUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Ok(MaybeApiUser(None));
        };
        let token = value
            .to_str()
            .ok()
            .and_then(|value| {
                value
                    .strip_prefix("Bearer ")
                    .or_else(|| value.strip_prefix("bearer "))
            })
            .map(|token| token.trim().to_string())
            .ok_or_else(|| Error::Unauthorized("use Authorization: Bearer <token>".into()))?;
        let context = Data::<AppState>::from_request_parts(parts, state)
            .await
            .map_err(|_| Error::internal("federation middleware missing"))?;
        let signed_in = sessions::find_session(&context.db, &token, SessionKind::Api)
            .await?
            .ok_or_else(|| {
                Error::Unauthorized("the token is unknown, expired or revoked".into())
            })?;
        Ok(MaybeApiUser(Some(signed_in)))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ApiUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match MaybeApiUser::from_request_parts(parts, state).await? {
            MaybeApiUser(Some(signed_in)) => Ok(ApiUser(signed_in)),
            MaybeApiUser(None) => {
                Err(Error::Unauthorized("this needs a bearer token".into()).into())
            }
        }
    }
}

/// A JSON request body whose problems are JSON errors: malformed JSON is 400, a missing or
/// mistyped field 422, another content type 415.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => {
                let (status, code) = match &rejection {
                    JsonRejection::JsonDataError(_) => {
                        (StatusCode::UNPROCESSABLE_ENTITY, "invalid")
                    }
                    JsonRejection::JsonSyntaxError(_) => (StatusCode::BAD_REQUEST, "bad_request"),
                    JsonRejection::MissingJsonContentType(_) => {
                        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
                    }
                    _ => (rejection.status(), "bad_request"),
                };
                let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
                    "payload_too_large"
                } else {
                    code
                };
                Err((status, Json(ErrorBody::new(code, rejection.body_text()))).into_response())
            }
        }
    }
}

/// Makes every error the API router answers JSON, including the ones axum writes itself (a
/// malformed path or query, a method the route does not take).
pub async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = crate::http::has_content_type(response.headers(), "application/json");
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = crate::http::error_body_text(body).await;
    let code = match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        status if status.is_server_error() => "internal",
        _ => "bad_request",
    };
    let message = if status.is_server_error() || text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_lowercase()
    } else {
        text
    };
    let mut answer = (status, Json(ErrorBody::new(code, message))).into_response();
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            answer.headers_mut().insert(name.clone(), value.clone());
        }
    }
    answer
}
