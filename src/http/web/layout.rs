//! The HTML skeleton, navigation and stylesheet shared by every page, and the error page.

use crate::{config::RegistrationMode, context::Context, http::web::session::Visitor};
use axum::{
    http::{StatusCode, header},
    response::{Html, IntoResponse, Redirect, Response},
};
use maud::{DOCTYPE, Markup, PreEscaped, html};

const STYLESHEET: &str = "\
:root{--ink:#1d1d1f;--muted:#555;--line:#d5d5de;--accent:#0b57a4;--bg:#fafaf7;--card:#fff}\
*{box-sizing:border-box}\
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;line-height:1.5;color:var(--ink);background:var(--bg);margin:0}\
main{max-width:48rem;margin:0 auto;padding:1.5rem 1rem}\
header.site{background:#234;color:#fff;padding:.5rem 1rem;display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;justify-content:space-between}\
header.site a,header.site button{color:#fff;text-decoration:none;font-weight:600}\
header.site nav{display:flex;gap:1rem;align-items:center;flex-wrap:wrap}\
header.site form{display:inline;margin:0}\
header.site button{background:none;border:0;margin:0;padding:0;font:inherit;cursor:pointer}\
header.site{position:relative}header.site details.menu{display:none}\
header.site details.menu>summary{cursor:pointer;font-weight:600;list-style:none;padding:.25rem .5rem;border:1px solid #89a;border-radius:4px}\
@media (max-width:40rem){header.site nav.wide{display:none}header.site details.menu{display:block}\
header.site details.menu[open] nav{position:absolute;right:0;top:100%;background:#234;flex-direction:column;align-items:flex-end;padding:.75rem 1rem;z-index:10;min-width:12rem}}\
.skip-link{position:absolute;left:-999rem;top:0;background:#fff;color:var(--accent);padding:.5rem 1rem;z-index:20}.skip-link:focus{left:1rem}\
blockquote{border-left:3px solid var(--line);margin:.5rem 0;padding:.25rem 1rem;color:var(--muted)}\
pre{background:#f1f1ec;padding:.75rem;overflow-x:auto;border-radius:4px}pre code{background:none;padding:0}\
table{border-collapse:collapse;display:block;overflow-x:auto;margin:.5rem 0}th,td{border:1px solid var(--line);padding:.25rem .5rem;text-align:left}\
details.confirm,details.moderate{display:inline-block}details.confirm>summary,details.moderate>summary{cursor:pointer;color:var(--accent)}\
details.confirm[open],details.moderate[open]{display:block;width:100%;border:1px solid var(--line);border-radius:4px;padding:.25rem .75rem;margin:.25rem 0}\
button.danger{background:#b3261e;border-color:#b3261e}\
nav.pager{margin:1rem 0}ol.results p{margin:.15rem 0}ol.results>li{margin-bottom:.75rem}\
a{color:var(--accent)}\
.handle,.meta{color:var(--muted)}\
code{background:#eee;padding:0 .25em;border-radius:3px}\
section.card,article.post{border:1px solid var(--line);border-radius:6px;padding:.5rem 1rem;background:var(--card);margin:.75rem 0}\
article.post.reply{margin-left:clamp(0rem,calc(var(--depth,0)*1.25rem),8rem);border-left:3px solid #9bb}\
article.post .content{overflow-wrap:anywhere}\
article.post.deleted .content{color:var(--muted);font-style:italic}\
.actions{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center}\
.actions form{display:inline;margin:0}.actions button{margin:0}\
ul{padding-left:1.2rem}\
label{display:block;font-weight:600;margin-top:.75rem}\
input[type=text],input[type=password],input[type=email],input[type=search],textarea{width:100%;padding:.45rem;border:1px solid #889;border-radius:4px;font:inherit;background:#fff;color:var(--ink)}\
textarea{min-height:8rem}\
button,.button{display:inline-block;margin-top:.5rem;padding:.35rem .9rem;border:1px solid var(--accent);border-radius:4px;background:var(--accent);color:#fff;font:inherit;cursor:pointer;text-decoration:none}\
button.secondary{background:#fff;color:var(--accent)}\
button.vote{margin:0;padding:.1rem .5rem;background:#fff;color:var(--ink);border-color:#889}\
button.vote[aria-pressed=true]{background:#dfe9f5;border-color:var(--accent);font-weight:700}\
.notice{padding:.5rem 1rem;border-radius:4px;background:#e8f1e4;border:1px solid #9c9}\
.problem{padding:.5rem 1rem;border-radius:4px;background:#fbe9e7;border:1px solid #d88}\
.hint{color:var(--muted);font-size:.9em;margin:.2rem 0}\
.badge{display:inline-block;min-width:1.4em;padding:0 .35em;border-radius:1em;background:#f5a623;color:#1d1d1f;text-align:center;font-size:.85em}\
li.unread{font-weight:600}\
h1 img.icon{vertical-align:middle;border-radius:8px;object-fit:cover}\
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}\
.actions input[type=text]{width:auto;display:inline-block;padding:.2rem .4rem}\
:focus-visible{outline:3px solid #f5a623;outline-offset:2px}\
.nsfw{display:inline-block;padding:0 .4em;border-radius:4px;background:#b3261e;color:#fff;font-size:.7em;vertical-align:middle;font-weight:700}\
details.sensitive>summary,details.warning>summary{cursor:pointer;color:var(--muted);font-style:italic}\
img.avatar{border-radius:50%;vertical-align:middle;object-fit:cover}img.banner{display:block;width:100%;max-height:12rem;object-fit:cover;border-radius:6px;margin:.5rem 0}header.profile{display:flex;gap:1rem;align-items:center}.meta .display-name{font-weight:600}.meta .handle{color:#666}details.pictures fieldset{border:1px solid #ccc;border-radius:4px;margin:.5rem 0}.attachments figure{margin:.5rem 0}.attachments img{max-width:100%;height:auto;border-radius:4px}\
.attachments figcaption{font-size:.85rem;color:var(--muted)}.attachments p.link{word-break:break-all}\
figure.chart{margin:.5rem 0 1.5rem}figure.chart svg{width:100%;height:auto;display:block}.chart .axis{stroke:#555}.chart .grid{stroke:#ddd;stroke-dasharray:4 4}\
.chart text{font-size:11px;fill:#444}.chart .delivered,.legend .delivered{fill:#2e7d32;background:#2e7d32}.chart .failed,.legend .failed{fill:#e65100;background:#e65100}\
.chart .refused,.legend .refused{fill:#b71c1c;background:#b71c1c}.chart .queue,.legend .queue{fill:#1565c0;background:#1565c0}\
.legend{font-size:.85rem}.legend .key{display:inline-block;width:.8rem;height:.8rem;border-radius:2px;vertical-align:middle}\
";

/// A complete page around `body`, with the navigation for `visitor`.
pub fn page(context: &Context, visitor: &Visitor, title: &str, body: Markup) -> Html<String> {
    page_with_head(context, visitor, title, html! {}, body)
}

/// As [`page`], with extra elements for the `<head>`, such as a feed link.
pub fn page_with_head(
    context: &Context,
    visitor: &Visitor,
    title: &str,
    head: Markup,
    body: Markup,
) -> Html<String> {
    // On a phone the links fold into a menu (a `<details>`, no script); on a wider screen
    // they are in a row. Only one of the two is displayed, so only one is in the page's
    // accessibility tree.
    let links = navigation(context, visitor);
    let header = html! {
        header.site {
            a href="/" { (context.site_settings.current().name) }
            nav.wide aria-label="Site" { (links) }
            details.menu {
                summary { "Menu" }
                nav aria-label="Site" { (links) }
            }
        }
    };
    Html(skeleton(title, head, header, body).into_string())
}

/// The account links at the top right: who is signed in, notifications, settings and sign-out,
/// or sign-in and (when registration is open) register.
fn navigation(context: &Context, visitor: &Visitor) -> Markup {
    let everyone = html! {
        a href="/groups" { "Groups" } " "
        a href="/search" { "Search" } " "
    };
    let account = navigation_for_account(context, visitor);
    html! { (everyone) (account) }
}

fn navigation_for_account(context: &Context, visitor: &Visitor) -> Markup {
    match &visitor.signed_in {
        Some(signed_in) => {
            let name = &signed_in.account.user.name;
            html! {
                a href={ "/users/" (name) } { (name) } " "
                a href="/notifications" {
                    "Notifications"
                    @if visitor.unread_notifications > 0 {
                        " "
                        span.badge aria-label={ (visitor.unread_notifications) " unread" } {
                            (visitor.unread_notifications)
                        }
                    }
                } " "
                @if signed_in.account.user.is_admin {
                    a href="/admin" { "Admin" } " "
                }
                a href="/settings" { "Settings" } " "
                form method="post" action="/logout" {
                    (csrf_field(visitor.csrf_token()))
                    button type="submit" { "Sign out" }
                }
            }
        }
        None => html! {
            a href="/login" { "Sign in" }
            @if context.site_settings.current().registration != RegistrationMode::Closed {
                " " a href="/register" { "Register" }
            }
        },
    }
}

fn skeleton(title: &str, head: Markup, header: Markup, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(STYLESHEET)) }
                (head)
            }
            body {
                a.skip-link href="#main" { "Skip to content" }
                (header)
                main id="main" tabindex="-1" { (body) }
            }
        }
    }
}

/// The hidden field that carries a form's CSRF token.
pub fn csrf_field(token: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(token); }
}

/// The inputs of a post's pictures and content warning, folded away until wanted: four
/// pictures, each with its alt text (`picture_N`, `picture_N_alt`). The form that holds them
/// is sent as `multipart/form-data`.
pub fn picture_inputs(id_prefix: &str, content_warning: &str) -> Markup {
    html! {
        details.pictures {
            summary { "Pictures and content warning" }
            label for={ (id_prefix) "-cw" } { "Content warning (optional: the post is folded behind it)" }
            input type="text" id={ (id_prefix) "-cw" } name="content_warning" value=(content_warning)
                maxlength=(crate::groups::posts::MAX_CONTENT_WARNING_LENGTH);
            @for number in 1..=crate::media::uploads::MAX_PICTURES_PER_POST {
                fieldset {
                    legend { "Picture " (number) }
                    label for={ (id_prefix) "-picture-" (number) } { "File (PNG, JPEG, GIF or WebP)" }
                    input type="file" id={ (id_prefix) "-picture-" (number) } name={ "picture_" (number) }
                        accept="image/png,image/jpeg,image/gif,image/webp";
                    label for={ (id_prefix) "-picture-" (number) "-alt" } { "Description for people who cannot see it (alt text)" }
                    input type="text" id={ (id_prefix) "-picture-" (number) "-alt" } name={ "picture_" (number) "_alt" }
                        maxlength=(crate::media::uploads::MAX_DESCRIPTION);
                }
            }
        }
    }
}

/// The paragraph that tells why a form was refused (nothing when it was not).
pub fn problem(problem: Option<&str>) -> Markup {
    html! {
        @if let Some(reason) = problem {
            p.problem role="alert" { (reason) }
        }
    }
}

/// A line that confirms what was just done.
pub fn notice(text: &str) -> Markup {
    html! { p.notice role="status" { (text) } }
}

crate::error_answered_as!(
    /// An error on a web page: shown as a page with its status and short reason; "sign in
    /// first" sends the browser to the sign-in page instead.
    PageError
);

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, reason) = self.0.answered_on("page");
        if status == StatusCode::UNAUTHORIZED {
            return Redirect::to("/login").into_response();
        }
        let retry_after = self.0.retry_after();
        let mut response = error_page(status, &reason);
        if let Some(retry_after) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, retry_after);
        }
        // `error_pages_for_browsers` renders it again with the visitor's navigation.
        response.extensions_mut().insert(ErrorReason(reason));
        response
    }
}

/// The reason an error page gives, kept on the response for `error_pages_for_browsers`.
#[derive(Clone)]
struct ErrorReason(String);

/// The result of a web page handler.
pub type PageResult<T = Response> = std::result::Result<T, PageError>;

/// Shows a browser an error page where a handler or axum itself answered a plain-text error
/// (a malformed path, a form with a missing field, an unknown page). Servers and API clients,
/// which do not ask for HTML, keep the plain text.
pub async fn error_pages_for_browsers(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let wants_html = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    // Kept to render the error page with the visitor's navigation (who they are is looked up
    // only when there is an error page to render).
    let headers = request.headers().clone();
    let federation = request
        .extensions()
        .get::<activitypub_federation::config::FederationConfig<crate::context::AppState>>()
        .cloned();
    let response = next.run(request).await;
    let status = response.status();
    let is_plain_text = crate::http::has_content_type(response.headers(), "text/plain");
    let rendered = response.extensions().get::<ErrorReason>().cloned();
    let is_error = status.is_client_error() || status.is_server_error();
    if !is_error || (rendered.is_none() && (!wants_html || !is_plain_text)) {
        return response;
    }
    let retry_after = response.headers().get(header::RETRY_AFTER).cloned();
    let reason = match rendered {
        Some(ErrorReason(reason)) => reason,
        None => {
            let text = crate::http::error_body_text(response.into_body()).await;
            if status.is_server_error() || text.is_empty() {
                status.canonical_reason().unwrap_or("error").to_string()
            } else {
                text
            }
        }
    };
    let visitor = match federation {
        Some(federation) => {
            let (mut parts, ()) = axum::http::Request::new(()).into_parts();
            parts.headers = headers;
            parts.extensions.insert(federation.clone());
            use axum::extract::FromRequestParts;
            Visitor::from_request_parts(&mut parts, &())
                .await
                .ok()
                .map(|visitor| (federation.to_request_data(), visitor))
        }
        None => None,
    };
    let mut page = match &visitor {
        Some((context, visitor)) => error_page_for(context, visitor, status, &reason),
        None => error_page(status, &reason),
    };
    if let Some(retry_after) = retry_after {
        page.headers_mut().insert(header::RETRY_AFTER, retry_after);
    }
    page
}

/// An error page with the site's header and the visitor's navigation, as every page has.
fn error_page_for(
    context: &Context,
    visitor: &Visitor,
    status: StatusCode,
    reason: &str,
) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    let body = html! {
        h1 { (title) }
        p.problem { (reason) }
        p { a href="/" { "Back to the front page" } }
    };
    let mut response = (status, page(context, visitor, title, body)).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    response
}

/// An error page when who is asking cannot be known (the database is what failed, say).
fn error_page(status: StatusCode, reason: &str) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    let body = html! {
        h1 { (title) }
        p.problem { (reason) }
        p { a href="/" { "Back to the front page" } }
    };
    let header = html! { header.site { a href="/" { "Kindred" } } };
    let mut response = (
        status,
        Html(skeleton(title, html! {}, header, body).into_string()),
    )
        .into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    response
}
