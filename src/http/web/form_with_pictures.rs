//! Forms that may carry pictures (a thread, a reply, a profile, a group's settings): sent as
//! `multipart/form-data` by the browser, or urlencoded when no file input is there. Either way
//! the text fields become the same typed form, checked like every signed-in form (same
//! origin, the session's CSRF token); the files come beside it, each at most
//! `media.max_upload_bytes` (413 past that) and with the alt text of the field named
//! `<file field>_alt`. Text fields carrying a NUL are refused with 422, as the NUL guard does
//! for other forms (it cannot read a body of pictures, which holds NUL bytes by nature).

use crate::{
    context::AppState,
    error::Error,
    http::web::{
        PageError,
        session::{CarriesCsrfToken, Visitor},
    },
};
use activitypub_federation::config::Data;
use axum::{
    extract::{FromRequest, FromRequestParts, Multipart, Request},
    http::header,
    response::{IntoResponse, Response},
};
use bytes::{Bytes, BytesMut};

use crate::accounts::sessions::SignedIn;

/// A file sent with a form (an empty file input is left out).
pub struct FormFile {
    /// The name of its input.
    pub field: String,
    pub bytes: Bytes,
    /// The text of the field `<field>_alt`, if the form had one.
    pub description: Option<String>,
}

/// A checked form from a signed-in person, and the files it carried.
pub struct SignedInFormWithPictures<T> {
    pub signed_in: SignedIn,
    pub visitor: Visitor,
    pub form: T,
    pub files: Vec<FormFile>,
}

impl<T> SignedInFormWithPictures<T> {
    /// The file sent in input `field`, if one was.
    pub fn file(&self, field: &str) -> Option<&FormFile> {
        self.files.iter().find(|file| file.field == field)
    }
}

fn is_multipart(request: &Request) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        })
}

fn refused(error: Error) -> Response {
    PageError(error).into_response()
}

fn unreadable(error: axum::extract::multipart::MultipartError) -> Response {
    if error.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        refused(Error::PayloadTooLarge)
    } else {
        refused(Error::bad_request(format!(
            "the form cannot be read: {}",
            error.body_text()
        )))
    }
}

impl<S, T> FromRequest<S> for SignedInFormWithPictures<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned + CarriesCsrfToken + Send,
{
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Response> {
        if !is_multipart(&request) {
            let crate::http::web::session::SignedInForm {
                signed_in,
                visitor,
                form,
            } = crate::http::web::session::SignedInForm::<T>::from_request(request, state).await?;
            return Ok(SignedInFormWithPictures {
                signed_in,
                visitor,
                form,
                files: Vec::new(),
            });
        }
        let (mut parts, body) = request.into_parts();
        let context = Data::<AppState>::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let visitor = Visitor::from_request_parts(&mut parts, state).await?;
        let most_per_file = context.config.media.max_upload_bytes;
        let mut multipart = Multipart::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        let mut text_fields: Vec<(String, String)> = Vec::new();
        let mut files = Vec::new();
        while let Some(mut field) = multipart.next_field().await.map_err(unreadable)? {
            let name = field.name().unwrap_or_default().to_string();
            if field.file_name().is_some() {
                let mut bytes = BytesMut::new();
                while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
                    if (bytes.len() + chunk.len()) as u64 > most_per_file {
                        tracing::info!(field = %name, "an upload larger than media.max_upload_bytes was refused");
                        return Err(refused(Error::PayloadTooLarge));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                if !bytes.is_empty() {
                    files.push(FormFile {
                        field: name,
                        bytes: bytes.freeze(),
                        description: None,
                    });
                }
            } else {
                let text = field.text().await.map_err(unreadable)?;
                if text.contains('\0') {
                    return Err(refused(Error::invalid("the form contains a NUL character")));
                }
                text_fields.push((name, text));
            }
        }
        for file in &mut files {
            let alt_field = format!("{}_alt", file.field);
            file.description = text_fields
                .iter()
                .find(|(name, _)| *name == alt_field)
                .map(|(_, text)| text.clone())
                .filter(|text| !text.trim().is_empty());
        }
        let encoded = serde_urlencoded::to_string(&text_fields)
            .map_err(|error| refused(Error::internal(error)))?;
        let form: T = serde_urlencoded::from_str(&encoded)
            .map_err(|error| refused(Error::bad_request(format!("the form: {error}"))))?;
        let signed_in = visitor
            .check_form(&context, form.csrf_token())
            .map_err(refused)?
            .clone();
        Ok(SignedInFormWithPictures {
            signed_in,
            visitor,
            form,
            files,
        })
    }
}
