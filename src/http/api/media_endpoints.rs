//! `POST /api/v1/media`: a picture uploaded on its own (as Mastodon's API does), then named by
//! id in `picture_ids` when a thread or a reply is written.

use super::{auth::ApiError, *};
use axum::{
    extract::{
        Multipart,
        multipart::{MultipartError, MultipartRejection},
    },
    http::{HeaderMap, header},
};
use bytes::BytesMut;

/// A picture uploaded here: re-encoded (EXIF removed), kept, and not yet part of a post.
#[derive(Serialize, ToSchema)]
#[schema(as = Picture)]
pub struct PictureJson {
    /// Give it in `picture_ids` when writing a post; unused pictures are forgotten after a
    /// day.
    pub id: i64,
    /// Where it is served, for anyone.
    pub url: String,
    /// The alt text.
    pub description: Option<String>,
    pub content_type: String,
    pub width: i32,
    pub height: i32,
}

/// The multipart form `uploadPicture` takes.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PictureUpload {
    /// A PNG, JPEG, GIF or WebP picture, at most `media.max_upload_bytes`.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// Its alt text, for people who cannot see it (at most 1,500 characters).
    description: Option<String>,
}

fn unreadable(error: MultipartError) -> ApiError {
    ApiError(if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Error::PayloadTooLarge
    } else {
        Error::bad_request(format!("the form cannot be read: {}", error.body_text()))
    })
}

/// Upload a picture for a post
#[utoipa::path(
    post,
    path = "/media",
    operation_id = "uploadPicture",
    security(("bearer" = [])),
    request_body(content = PictureUpload, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "The picture, ready to be attached.", body = PictureJson),
        (status = 400, description = "The form cannot be read, or has no `file`.", body = ErrorBody),
        (status = 401, description = UNAUTHORIZED, body = ErrorBody),
        (status = 413, description = "The file is larger than `media.max_upload_bytes`.", body = ErrorBody),
        (status = 415, description = "The request is not `multipart/form-data`.", body = ErrorBody),
        (status = 422, description = "Not a PNG, JPEG, GIF or WebP picture, a broken one, or one of too many pixels (a decompression bomb).", body = ErrorBody),
    ),
)]
pub(super) async fn upload_picture(
    context: Context,
    ApiUser(caller): ApiUser,
    headers: HeaderMap,
    multipart: std::result::Result<Multipart, MultipartRejection>,
) -> ApiResult<Response> {
    let is_multipart = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        });
    let Some(mut multipart) = multipart.ok().filter(|_| is_multipart) else {
        return Ok((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the picture as multipart/form-data",
        )
            .into_response());
    };
    let most = context.config.media.max_upload_bytes;
    let mut file = None;
    let mut description = None;
    while let Some(mut field) = multipart.next_field().await.map_err(unreadable)? {
        match field.name() {
            Some("file") => {
                let mut bytes = BytesMut::new();
                while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
                    if (bytes.len() + chunk.len()) as u64 > most {
                        return Err(ApiError(Error::PayloadTooLarge));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                file = Some(bytes.freeze());
            }
            Some("description") => {
                let text = field.text().await.map_err(unreadable)?;
                if text.contains('\0') {
                    return Err(ApiError(Error::invalid(
                        "the description contains a NUL character",
                    )));
                }
                description = Some(text);
            }
            _ => {}
        }
    }
    let file = file.ok_or_else(|| ApiError(Error::bad_request("the form has no `file`")))?;
    let upload = crate::actions::media::upload_picture(
        &context,
        &caller.account.actor,
        file,
        description.as_deref(),
    )
    .await?;
    let body = PictureJson {
        id: upload.id,
        url: crate::media::uploads::url_of(&context.config, &upload),
        description: upload.description,
        content_type: upload.content_type,
        width: upload.width,
        height: upload.height,
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}
