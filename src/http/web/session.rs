//! Who is asking: the signed-in account behind the session cookie, if any, and the CSRF checks
//! every form POST goes through.
//!
//! Signed-in forms carry the session's synchronizer token; the sign-in and registration forms
//! (before there is a session) carry a double-submit token that must equal a cookie set with
//! the form. Every POST must also come from our own origin when the browser says where it
//! came from (`Origin`, else `Referer`).

use crate::{
    accounts::{
        notifications,
        sessions::{self, SignedIn, random_token, secrets_equal},
    },
    context::{AppState, Context},
    error::{Error, Result},
};
use activitypub_federation::config::Data;
use axum::{
    extract::FromRequestParts,
    http::{HeaderMap, HeaderValue, header, request::Parts},
    response::{IntoResponse, Response},
};
use axum_extra::extract::cookie::{Cookie, SameSite};
use kindred_entities::session::SessionKind;

/// The cookie that holds a browser's session token.
pub const SESSION_COOKIE: &str = "kindred_session";
/// The cookie that pairs with the token in the sign-in and registration forms.
pub const FORM_COOKIE: &str = "kindred_form";

/// The person (or nobody) making a web request.
pub struct Visitor {
    pub signed_in: Option<SignedIn>,
    /// How many notifications the signed-in person has not seen, for the navigation.
    pub unread_notifications: u64,
    /// The double-submit cookie sent with this request, for signed-out forms.
    form_cookie: Option<String>,
    /// Where the request says it came from, for the same-origin check on POSTs.
    origin: Option<String>,
}

impl Visitor {
    /// The signed-in account, or 401 (which a page turns into "sign in first").
    pub fn require(&self) -> Result<&SignedIn> {
        self.signed_in
            .as_ref()
            .ok_or_else(|| Error::Unauthorized("sign in first".into()))
    }

    /// The token signed-in forms must carry.
    pub fn csrf_token(&self) -> &str {
        self.signed_in
            .as_ref()
            .map_or("", |signed_in| signed_in.session.csrf_token.as_str())
    }

    /// Checks a signed-in form: same origin, and the session's token.
    pub fn check_form(&self, context: &Context, submitted_token: &str) -> Result<&SignedIn> {
        self.check_origin(context)?;
        let signed_in = self.require()?;
        if !secrets_equal(submitted_token, &signed_in.session.csrf_token) {
            return Err(Error::Forbidden(
                "the form expired or came from another site; reload the page and try again".into(),
            ));
        }
        Ok(signed_in)
    }

    /// Checks a signed-out form (sign in, register): same origin, and the double-submit token.
    pub fn check_signed_out_form(&self, context: &Context, submitted_token: &str) -> Result<()> {
        self.check_origin(context)?;
        match &self.form_cookie {
            Some(cookie)
                if !submitted_token.is_empty() && secrets_equal(cookie, submitted_token) =>
            {
                Ok(())
            }
            _ => Err(Error::Forbidden(
                "the form expired or came from another site; reload the page and try again".into(),
            )),
        }
    }

    /// A double-submit token for a signed-out form: the cookie's value when there is one, a
    /// fresh one otherwise (set it with [`form_cookie_header`]).
    pub fn form_token(&self) -> String {
        self.form_cookie.clone().unwrap_or_else(|| random_token(24))
    }

    fn check_origin(&self, context: &Context) -> Result<()> {
        let Some(origin) = &self.origin else {
            return Ok(());
        };
        let ours = context
            .config
            .instance
            .public_url
            .origin()
            .ascii_serialization();
        if origin == &ours || origin.starts_with(&format!("{ours}/")) {
            Ok(())
        } else {
            Err(Error::Forbidden(
                "this form was sent from another site".into(),
            ))
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Visitor {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let context = Data::<AppState>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let signed_in = match cookie(&parts.headers, SESSION_COOKIE) {
            Some(token) => sessions::find_session(&context.db, &token, SessionKind::Web)
                .await
                .map_err(IntoResponse::into_response)?,
            None => None,
        };
        let unread_notifications = match &signed_in {
            Some(signed_in) => notifications::unread_count(&context.db, signed_in.account.user.id)
                .await
                .map_err(IntoResponse::into_response)?,
            None => 0,
        };
        let origin = parts
            .headers
            .get(header::ORIGIN)
            .or_else(|| parts.headers.get(header::REFERER))
            .and_then(|value| value.to_str().ok())
            .filter(|value| *value != "null")
            .map(str::to_string);
        Ok(Visitor {
            signed_in,
            unread_notifications,
            form_cookie: cookie(&parts.headers, FORM_COOKIE),
            origin,
        })
    }
}

/// A form that carries the session's CSRF token (a `csrf` field).
pub trait CarriesCsrfToken {
    fn csrf_token(&self) -> &str;
}

/// Implements [`CarriesCsrfToken`] for form structs with a `csrf: String` field.
macro_rules! carries_csrf_token {
    ($($form:ty),+ $(,)?) => {
        $(impl crate::http::web::session::CarriesCsrfToken for $form {
            fn csrf_token(&self) -> &str {
                &self.csrf
            }
        })+
    };
}
pub(crate) use carries_csrf_token;

/// A form posted by a signed-in person, checked: same origin and the session's CSRF token.
/// A handler that takes it cannot forget the check. A visitor who is not signed in is sent to
/// the sign-in page; a bad token is 403.
pub struct SignedInForm<T> {
    pub signed_in: SignedIn,
    /// Who asked, for pages the handler renders again (a form with a problem).
    pub visitor: Visitor,
    pub form: T,
}

/// A form with nothing but the CSRF token (a button).
#[derive(serde::Deserialize)]
pub struct ButtonForm {
    #[serde(default)]
    csrf: String,
}
carries_csrf_token!(ButtonForm);

impl<S, T> axum::extract::FromRequest<S> for SignedInForm<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned + CarriesCsrfToken + Send,
{
    type Rejection = Response;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let context = Data::<AppState>::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let visitor = Visitor::from_request_parts(&mut parts, state).await?;
        let request = axum::extract::Request::from_parts(parts, body);
        let axum::Form(form) = axum::Form::<T>::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let signed_in = visitor
            .check_form(&context, form.csrf_token())
            .map_err(|error| crate::http::web::PageError(error).into_response())?
            .clone();
        Ok(SignedInForm {
            signed_in,
            visitor,
            form,
        })
    }
}

/// The value of cookie `name` in the request, if sent (and not empty). The first one wins:
/// browsers send the most specific cookie of a name first, so an old cookie of another path
/// cannot hide the session.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(|parsed| parsed.ok())
        .find(|cookie| cookie.name() == name)
        .map(|cookie| cookie.value().trim_matches('"').to_string())
        .filter(|value| !value.is_empty())
}

/// `Set-Cookie` for the session: HttpOnly, SameSite=Lax, Secure on https instances.
pub fn session_cookie_header(context: &Context, token: &str) -> Result<HeaderValue> {
    cookie_header(
        context,
        SESSION_COOKIE,
        token,
        Some(sessions::WEB_SESSION_DAYS * 24 * 3600),
    )
}

/// `Set-Cookie` that ends the session cookie.
pub fn clear_session_cookie_header(context: &Context) -> Result<HeaderValue> {
    cookie_header(context, SESSION_COOKIE, "", Some(0))
}

/// `Set-Cookie` for the double-submit token of signed-out forms (a browser-session cookie).
pub fn form_cookie_header(context: &Context, token: &str) -> Result<HeaderValue> {
    cookie_header(context, FORM_COOKIE, token, None)
}

fn cookie_header(
    context: &Context,
    name: &str,
    value: &str,
    max_age_seconds: Option<i64>,
) -> Result<HeaderValue> {
    let mut built = Cookie::build((name.to_string(), value.to_string()))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(context.config.instance.public_url.scheme() == "https");
    if let Some(seconds) = max_age_seconds {
        built = built.max_age(cookie::time::Duration::seconds(seconds));
    }
    HeaderValue::from_str(&built.build().to_string()).map_err(Error::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_name_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; kindred_session=abc; kindred_form=\"xyz\""),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&headers, FORM_COOKIE).as_deref(), Some("xyz"));
        assert_eq!(cookie(&headers, "missing"), None);
        // The first of two of one name: the browser's most specific.
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("kindred_session=new; kindred_session=old"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE).as_deref(), Some("new"));
    }
}
