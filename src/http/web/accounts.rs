//! Account pages: sign in, register, sign out, settings (password), and a person's profile.

use crate::{
    accounts::{
        notifications, sessions,
        users::{self, NewUser},
    },
    app::Context,
    config::RegistrationMode,
    error::Error,
    html::escape,
    http::web::{
        layout::{PageResult, page},
        session::{
            ButtonForm, SignedInForm, Visitor, carries_csrf_token, clear_session_cookie_header,
            form_cookie_header, session_cookie_header,
        },
    },
};
use axum::{
    Form,
    extract::Path,
    http::{StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use kindred_entities::{
    notification::NotificationKind, post, session::SessionKind, user::UserState,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

pub async fn login_page(context: Context, visitor: Visitor) -> PageResult {
    if visitor.signed_in.is_some() {
        return Ok(Redirect::to("/").into_response());
    }
    Ok(login_form(&context, &visitor, "", None, StatusCode::OK))
}

pub async fn login(
    context: Context,
    visitor: Visitor,
    client: crate::http::ClientAddress,
    Form(form): Form<SignInForm>,
) -> PageResult {
    let attempt = async {
        visitor.check_signed_out_form(&context, &form.csrf)?;
        let account =
            users::authenticate_from(&context.db, &form.name, &form.password, client.0).await?;
        sessions::create_session(&context.db, account.user.id, SessionKind::Web, None).await
    };
    match attempt.await {
        Ok(session) => {
            let mut response = Redirect::to("/").into_response();
            response.headers_mut().insert(
                header::SET_COOKIE,
                session_cookie_header(&context, &session.token)?,
            );
            Ok(response)
        }
        Err(error) => {
            let (status, reason) = error.status_and_reason();
            if status.is_server_error() {
                return Err(error.into());
            }
            let mut page = login_form(&context, &visitor, &form.name, Some(&reason), status);
            // A throttled sign-in says when to try again, in the header as in the text.
            if let Some(retry_after) = error.retry_after() {
                page.headers_mut().insert(header::RETRY_AFTER, retry_after);
            }
            Ok(page)
        }
    }
}

fn login_form(
    context: &Context,
    visitor: &Visitor,
    name: &str,
    problem: Option<&str>,
    status: StatusCode,
) -> Response {
    let token = visitor.form_token();
    let body = format!(
        "<h1>Sign in</h1>\n{problem}\
         <form method=\"post\" action=\"/login\">\n\
         <input type=\"hidden\" name=\"csrf\" value=\"{token}\">\n\
         <label for=\"name\">Name</label>\
         <input type=\"text\" id=\"name\" name=\"name\" value=\"{name}\" autocomplete=\"username\" required autofocus>\n\
         <label for=\"password\">Password</label>\
         <input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required>\n\
         <button type=\"submit\">Sign in</button>\n</form>\n",
        problem = problem_html(problem),
        token = escape(&token),
        name = escape(name),
    );
    with_form_cookie(
        context,
        &token,
        status,
        page(context, visitor, "Sign in", &body),
    )
}

#[derive(Deserialize)]
pub struct RegisterForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_again: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    application: String,
    #[serde(default)]
    csrf: String,
}

pub async fn register_page(context: Context, visitor: Visitor) -> PageResult {
    if context.config.instance.registration == RegistrationMode::Closed {
        return Err(Error::Forbidden("this instance does not take new accounts".into()).into());
    }
    Ok(register_form(
        &context,
        &visitor,
        &RegisterForm {
            name: String::new(),
            password: String::new(),
            password_again: String::new(),
            email: String::new(),
            application: String::new(),
            csrf: String::new(),
        },
        None,
        StatusCode::OK,
    ))
}

pub async fn register(
    context: Context,
    visitor: Visitor,
    address: crate::http::ClientAddress,
    Form(form): Form<RegisterForm>,
) -> PageResult {
    let attempt = async {
        visitor.check_signed_out_form(&context, &form.csrf)?;
        if form.password != form.password_again {
            return Err(Error::invalid("the two passwords differ"));
        }
        let account = crate::actions::accounts::sign_up(
            &context,
            address.0,
            NewUser {
                name: &form.name,
                password: &form.password,
                email: Some(&form.email),
                application_text: Some(&form.application),
            },
        )
        .await?;
        if account.user.state != UserState::Active {
            return Ok(None);
        }
        sessions::create_session(&context.db, account.user.id, SessionKind::Web, None)
            .await
            .map(Some)
    };
    match attempt.await {
        Ok(Some(session)) => {
            let mut response = Redirect::to("/").into_response();
            response.headers_mut().insert(
                header::SET_COOKIE,
                session_cookie_header(&context, &session.token)?,
            );
            Ok(response)
        }
        Ok(None) => Ok(page(
            &context,
            &visitor,
            "Registration received",
            "<h1>Thank you</h1>\n<p class=\"notice\">Your registration waits for an administrator's approval. \
             You can sign in once it is approved.</p>\n",
        )
        .into_response()),
        Err(error) => {
            let (status, reason) = error.status_and_reason();
            if status.is_server_error() {
                return Err(error.into());
            }
            Ok(register_form(&context, &visitor, &form, Some(&reason), status))
        }
    }
}

fn register_form(
    context: &Context,
    visitor: &Visitor,
    form: &RegisterForm,
    problem: Option<&str>,
    status: StatusCode,
) -> Response {
    let token = visitor.form_token();
    let application = if context.config.instance.registration == RegistrationMode::Approval {
        format!(
            "<label for=\"application\">Why do you want to join?</label>\
             <textarea id=\"application\" name=\"application\" maxlength=\"{max}\">{text}</textarea>\n\
             <p class=\"hint\">An administrator reads this before approving your account.</p>\n",
            max = users::MAX_APPLICATION_LENGTH,
            text = escape(&form.application),
        )
    } else {
        String::new()
    };
    let body = format!(
        "<h1>Create an account</h1>\n{problem}\
         <form method=\"post\" action=\"/register\">\n\
         <input type=\"hidden\" name=\"csrf\" value=\"{token}\">\n\
         <label for=\"name\">Name</label>\
         <input type=\"text\" id=\"name\" name=\"name\" value=\"{name}\" autocomplete=\"username\" required \
         pattern=\"[a-z0-9_]{{1,64}}\" aria-describedby=\"name-hint\">\n\
         <p class=\"hint\" id=\"name-hint\">Lower-case letters, digits and _. Others will know you as @name@{domain}.</p>\n\
         <label for=\"email\">Email (optional)</label>\
         <input type=\"email\" id=\"email\" name=\"email\" value=\"{email}\" autocomplete=\"email\">\n\
         <label for=\"password\">Password</label>\
         <input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"new-password\" minlength=\"8\" required>\n\
         <label for=\"password_again\">Password again</label>\
         <input type=\"password\" id=\"password_again\" name=\"password_again\" autocomplete=\"new-password\" minlength=\"8\" required>\n\
         {application}\
         <button type=\"submit\">Create account</button>\n</form>\n",
        problem = problem_html(problem),
        token = escape(&token),
        name = escape(&form.name),
        email = escape(&form.email),
        domain = escape(&context.config.domain()),
    );
    with_form_cookie(
        context,
        &token,
        status,
        page(context, visitor, "Create an account", &body),
    )
}

pub async fn logout(
    context: Context,
    SignedInForm {
        signed_in,
        visitor: _,
        form: _,
    }: SignedInForm<ButtonForm>,
) -> PageResult {
    sessions::revoke(&context.db, signed_in.account.user.id, signed_in.session.id).await?;
    let mut response = Redirect::to("/").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, clear_session_cookie_header(&context)?);
    Ok(response)
}

pub async fn settings_page(context: Context, visitor: Visitor) -> PageResult {
    visitor.require()?;
    Ok(settings_form(&context, &visitor, None, None, StatusCode::OK).await?)
}

#[derive(Deserialize)]
pub struct NewTokenForm {
    #[serde(default)]
    label: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /settings/tokens`: a new API token, shown once.
pub async fn create_api_token(
    context: Context,
    SignedInForm {
        signed_in,
        visitor,
        form,
    }: SignedInForm<NewTokenForm>,
) -> PageResult {
    let label = form.label.trim();
    if label.chars().count() > 100 {
        return Ok(settings_form(
            &context,
            &visitor,
            None,
            Some("a token label has at most 100 characters"),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await?);
    }
    let created = sessions::create_session(
        &context.db,
        signed_in.account.user.id,
        SessionKind::Api,
        (!label.is_empty()).then_some(label),
    )
    .await?;
    Ok(settings_form(
        &context,
        &visitor,
        Some(&format!(
            "Your new API token (copy it now, it is not shown again): {}",
            created.token
        )),
        None,
        StatusCode::OK,
    )
    .await?)
}

/// `POST /settings/tokens/{id}/revoke`.
pub async fn revoke_api_token(
    context: Context,
    Path(id): Path<i64>,
    SignedInForm {
        signed_in,
        visitor: _,
        form: _,
    }: SignedInForm<ButtonForm>,
) -> PageResult {
    sessions::revoke_api_token(&context.db, signed_in.account.user.id, id).await?;
    Ok(Redirect::to("/settings").into_response())
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    new_password_again: String,
    #[serde(default)]
    csrf: String,
}

pub async fn change_password(
    context: Context,
    SignedInForm {
        signed_in,
        visitor,
        form,
    }: SignedInForm<PasswordForm>,
) -> PageResult {
    let attempt = async {
        if form.new_password != form.new_password_again {
            return Err(Error::invalid("the two new passwords differ"));
        }
        users::change_password(
            &context.db,
            &signed_in.account.user,
            &form.current_password,
            &form.new_password,
            Some(signed_in.session.id),
        )
        .await
    };
    match attempt.await {
        Ok(()) => Ok(settings_form(
            &context,
            &visitor,
            Some("Password changed. Every other session was signed out."),
            None,
            StatusCode::OK,
        )
        .await?),
        Err(error) => {
            let (status, reason) = error.status_and_reason();
            if status.is_server_error() {
                return Err(error.into());
            }
            Ok(settings_form(&context, &visitor, None, Some(&reason), status).await?)
        }
    }
}

async fn settings_form(
    context: &Context,
    visitor: &Visitor,
    notice: Option<&str>,
    problem: Option<&str>,
    status: StatusCode,
) -> Result<Response, Error> {
    let signed_in = visitor.require()?;
    let tokens =
        sessions::list_for_user(&context.db, signed_in.account.user.id, SessionKind::Api).await?;
    let notice = notice
        .map(|text| format!("<p class=\"notice\" role=\"status\">{}</p>\n", escape(text)))
        .unwrap_or_default();
    let csrf = escape(visitor.csrf_token());
    let mut token_rows = String::new();
    for token in &tokens {
        token_rows.push_str(&format!(
            "<li>{label} <span class=\"meta\">created {created}, last used {used}</span> \
             <form method=\"post\" action=\"/settings/tokens/{id}/revoke\" style=\"display:inline\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><button type=\"submit\" class=\"secondary\">Revoke</button></form></li>\n",
            label = escape(token.label.as_deref().unwrap_or("(no label)")),
            created = token.created_at.format("%Y-%m-%d"),
            used = token.last_used_at.format("%Y-%m-%d"),
            id = token.id,
        ));
    }
    if token_rows.is_empty() {
        token_rows.push_str("<li>None.</li>\n");
    }
    let body = format!(
        "<h1>Settings</h1>\n{notice}{problem}\
         <section class=\"card\">\n<h2>Change password</h2>\n\
         <form method=\"post\" action=\"/settings/password\">\n\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\n\
         <label for=\"current_password\">Current password</label>\
         <input type=\"password\" id=\"current_password\" name=\"current_password\" autocomplete=\"current-password\" required>\n\
         <label for=\"new_password\">New password</label>\
         <input type=\"password\" id=\"new_password\" name=\"new_password\" autocomplete=\"new-password\" minlength=\"8\" required>\n\
         <label for=\"new_password_again\">New password again</label>\
         <input type=\"password\" id=\"new_password_again\" name=\"new_password_again\" autocomplete=\"new-password\" minlength=\"8\" required>\n\
         <button type=\"submit\">Change password</button>\n</form>\n</section>\n\
         <section class=\"card\">\n<h2>API tokens</h2>\n<p class=\"hint\">For apps and scripts using the <a href=\"/api/v1/openapi.json\">client API</a>.</p>\n\
         <ul class=\"tokens\">\n{token_rows}</ul>\n\
         <form method=\"post\" action=\"/settings/tokens\">\n<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\n\
         <label for=\"label\">New token's label</label><input type=\"text\" id=\"label\" name=\"label\" maxlength=\"100\">\n\
         <button type=\"submit\">Create token</button>\n</form>\n</section>\n",
        problem = problem_html(problem),
    );
    Ok((status, page(context, visitor, "Settings", &body)).into_response())
}

/// A local person's profile page: who they are and what they wrote lately.
pub async fn profile_page(context: &Context, visitor: &Visitor, name: &str) -> PageResult {
    let account = users::find_by_name(&context.db, name)
        .await?
        .ok_or_else(|| Error::not_found("user"))?;
    let recent = post::Entity::find()
        .filter(post::Column::AuthorId.eq(account.actor.id))
        .filter(post::Column::DeletedAt.is_null())
        .filter(post::Column::RemovedAt.is_null())
        .filter(post::Column::AwaitingApproval.eq(false))
        .order_by_desc(post::Column::PublishedAt)
        .limit(20)
        .all(&context.db)
        .await?;
    let handle = format!("@{}@{}", account.user.name, context.config.domain());
    let mut body = format!(
        "<h1>{}</h1>\n<p class=\"handle\">{}</p>\n<p class=\"meta\">Joined {}</p>\n<h2>Recent posts</h2>\n",
        escape(
            account
                .actor
                .display_name
                .as_deref()
                .unwrap_or(&account.user.name)
        ),
        escape(&handle),
        account.user.created_at.format("%Y-%m-%d"),
    );
    if recent.is_empty() {
        body.push_str("<p>Nothing yet.</p>\n");
    } else {
        body.push_str("<ul>\n");
        for post in &recent {
            let label = post.title.clone().unwrap_or_else(|| {
                let text = crate::html::to_plain_text(&post.content_html);
                let short: String = text.chars().take(80).collect();
                if short.len() < text.len() {
                    format!("{short}…")
                } else {
                    short
                }
            });
            body.push_str(&format!(
                "<li><a href=\"/posts/{}\">{}</a> <span class=\"meta\">{}</span></li>\n",
                post.id,
                escape(&label),
                post.published_at.format("%Y-%m-%d %H:%M"),
            ));
        }
        body.push_str("</ul>\n");
    }
    Ok(page(context, visitor, &handle, &body).into_response())
}

/// `GET /users/{name}` for browsers.
pub async fn profile(context: Context, visitor: Visitor, Path(name): Path<String>) -> PageResult {
    profile_page(&context, &visitor, &name).await
}

/// The paragraph that tells why a form was refused (nothing when it was not).
pub fn problem_html(problem: Option<&str>) -> String {
    problem
        .map(|reason| {
            format!(
                "<p class=\"problem\" role=\"alert\">{}</p>\n",
                escape(reason)
            )
        })
        .unwrap_or_default()
}

/// The response for a signed-out form, setting the double-submit cookie its token pairs with.
fn with_form_cookie(
    context: &Context,
    token: &str,
    status: StatusCode,
    html: axum::response::Html<String>,
) -> Response {
    let mut response = (status, html).into_response();
    if let Ok(value) = form_cookie_header(context, token) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// `GET /notifications`: replies to your posts and mentions of you, newest first, unread ones
/// marked, with a button to mark them all read.
pub async fn notifications_page(context: Context, visitor: Visitor) -> PageResult {
    let signed_in = visitor.require()?;
    let listed = notifications::list(&context.db, signed_in.account.user.id, 100).await?;
    let mut body = String::from("<h1>Notifications</h1>\n");
    if listed.is_empty() {
        body.push_str(
            "<p>Nothing yet. Replies to your posts and mentions of you show up here.</p>\n",
        );
    } else {
        body.push_str("<ul class=\"notifications\">\n");
        for (notification, about) in &listed {
            let author = crate::database::unique_row(
                kindred_entities::actor::Entity::find_by_id(about.author_id),
                &context.db,
            )
            .await?
            .map(|author| author.preferred_username)
            .unwrap_or_default();
            let what = match notification.kind {
                NotificationKind::Reply => "replied to you",
                NotificationKind::Mention => "mentioned you",
                NotificationKind::Report => "— a post was reported in a group you moderate",
            };
            let excerpt: String = if about.removed_at.is_some() || about.deleted_at.is_some() {
                "(removed)".to_string()
            } else {
                crate::html::to_plain_text(&about.content_html)
                    .chars()
                    .take(120)
                    .collect()
            };
            body.push_str(&format!(
                "<li class=\"{class}\"><a href=\"/posts/{thread}#post-{id}\">{author} {what}</a>: {excerpt} \
                 <span class=\"meta\">{at}</span></li>\n",
                class = if notification.read_at.is_none() { "unread" } else { "read" },
                thread = about.thread_id.unwrap_or(about.id),
                id = about.id,
                author = escape(&author),
                excerpt = escape(&excerpt),
                at = notification.created_at.format("%Y-%m-%d %H:%M"),
            ));
        }
        body.push_str("</ul>\n");
    }
    if visitor.unread_notifications > 0 {
        body.push_str(&format!(
            "<form method=\"post\" action=\"/notifications/read\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <button type=\"submit\">Mark all as read</button></form>\n",
            escape(visitor.csrf_token())
        ));
    }
    Ok(page(&context, &visitor, "Notifications", &body).into_response())
}

/// `POST /notifications/read`.
pub async fn mark_notifications_read(
    context: Context,
    SignedInForm {
        signed_in,
        visitor: _,
        form: _,
    }: SignedInForm<ButtonForm>,
) -> PageResult {
    notifications::mark_all_read(&context.db, signed_in.account.user.id).await?;
    Ok(Redirect::to("/notifications").into_response())
}

carries_csrf_token!(NewTokenForm, PasswordForm);
