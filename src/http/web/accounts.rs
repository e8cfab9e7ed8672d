//! Account pages: sign in, register, sign out, settings (password), and a person's profile.

use crate::{
    accounts::{
        notifications, sessions,
        users::{self, NewUser},
    },
    actions::accounts::PictureChange,
    config::RegistrationMode,
    context::Context,
    error::Error,
    http::web::{
        form_with_pictures::SignedInFormWithPictures,
        layout::{self, PageResult, csrf_field, page},
        session::{
            ButtonForm, SignedInForm, Visitor, carries_csrf_token, clear_session_cookie_header,
            form_cookie_header, session_cookie_header,
        },
    },
};
use axum::{
    Form,
    extract::{Path, Query},
    http::{StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use kindred_entities::{
    notification::NotificationKind, post, session::SessionKind, user::UserState,
};
use maud::html;
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
    let body = html! {
        h1 { "Sign in" }
        (layout::problem(problem))
        form method="post" action="/login" {
            (csrf_field(&token))
            label for="name" { "Name" }
            input type="text" id="name" name="name" value=(name) autocomplete="username" required autofocus;
            label for="password" { "Password" }
            input type="password" id="password" name="password" autocomplete="current-password" required;
            button type="submit" { "Sign in" }
        }
    };
    with_form_cookie(
        context,
        &token,
        status,
        page(context, visitor, "Sign in", body),
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
    if context.site_settings.current().registration == RegistrationMode::Closed {
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
            html! {
                h1 { "Thank you" }
                p.notice {
                    "Your registration waits for an administrator's approval. \
                     You can sign in once it is approved."
                }
            },
        )
        .into_response()),
        Err(error) => {
            let (status, reason) = error.status_and_reason();
            if status.is_server_error() {
                return Err(error.into());
            }
            Ok(register_form(
                &context,
                &visitor,
                &form,
                Some(&reason),
                status,
            ))
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
    let asks_why = context.site_settings.current().registration == RegistrationMode::Approval;
    let body = html! {
        h1 { "Create an account" }
        (layout::problem(problem))
        form method="post" action="/register" {
            (csrf_field(&token))
            label for="name" { "Name" }
            input type="text" id="name" name="name" value=(form.name) autocomplete="username" required
                pattern="[a-z0-9_]{1,64}" aria-describedby="name-hint";
            p.hint id="name-hint" {
                "Lower-case letters, digits and _. Others will know you as @name@"
                (context.config.domain()) "."
            }
            label for="email" { "Email (optional)" }
            input type="email" id="email" name="email" value=(form.email) autocomplete="email";
            label for="password" { "Password" }
            input type="password" id="password" name="password" autocomplete="new-password" minlength="8" required;
            label for="password_again" { "Password again" }
            input type="password" id="password_again" name="password_again" autocomplete="new-password" minlength="8" required;
            @if asks_why {
                label for="application" { "Why do you want to join?" }
                textarea id="application" name="application" maxlength=(users::MAX_APPLICATION_LENGTH) {
                    (form.application)
                }
                p.hint { "An administrator reads this before approving your account." }
            }
            button type="submit" { "Create account" }
        }
    };
    with_form_cookie(
        context,
        &token,
        status,
        page(context, visitor, "Create an account", body),
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

#[derive(Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    bio: String,
    /// Present (any value) to take the avatar away.
    #[serde(default)]
    remove_avatar: Option<String>,
    #[serde(default)]
    csrf: String,
}
carries_csrf_token!(ProfileForm);

/// `POST /settings/profile`: display name, bio and avatar.
pub async fn edit_profile(
    context: Context,
    SignedInFormWithPictures {
        signed_in,
        visitor,
        form,
        files,
    }: SignedInFormWithPictures<ProfileForm>,
) -> PageResult {
    let person = signed_in.account.actor.clone();
    let edited = async {
        let avatar = match files.into_iter().find(|file| file.field == "avatar") {
            Some(file) => PictureChange::Replace(
                crate::actions::media::upload_profile_picture(&context, &person, file.bytes)
                    .await?,
            ),
            None if form.remove_avatar.is_some() => PictureChange::Remove,
            None => PictureChange::Keep,
        };
        crate::actions::accounts::edit_profile(
            &context,
            person.clone(),
            &form.display_name,
            &form.bio,
            avatar,
        )
        .await
    }
    .await;
    match edited {
        Ok(_) => Ok(Redirect::to("/settings").into_response()),
        Err(error) => {
            let (status, reason) = error.status_and_reason();
            if status.is_server_error() {
                return Err(error.into());
            }
            Ok(settings_form(&context, &visitor, None, Some(&reason), status).await?)
        }
    }
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
    let csrf = visitor.csrf_token();
    let body = html! {
        h1 { "Settings" }
        @if let Some(text) = notice {
            (layout::notice(text))
        }
        (layout::problem(problem))
        section.card {
            h2 { "Profile" }
            p.hint { "What people here and on other servers see beside your posts." }
            form method="post" enctype="multipart/form-data" action="/settings/profile" {
                (csrf_field(csrf))
                label for="display_name" { "Display name" }
                input type="text" id="display_name" name="display_name"
                    value=(signed_in.account.actor.display_name.as_deref().unwrap_or_default())
                    maxlength=(crate::accounts::profiles::MAX_DISPLAY_NAME_LENGTH);
                label for="bio" { "About you (markdown)" }
                textarea id="bio" name="bio" maxlength=(crate::accounts::profiles::MAX_BIO_LENGTH) {
                    (signed_in.account.actor.summary_source.as_deref().unwrap_or_default())
                }
                @if signed_in.account.actor.icon_url.is_some() {
                    img.avatar.large src={ "/media/actors/" (signed_in.account.actor.id) "/icon" } alt="Your avatar now" width="96" height="96";
                }
                label for="avatar" { "A new avatar (a square picture: PNG, JPEG, GIF or WebP)" }
                input type="file" id="avatar" name="avatar" accept="image/png,image/jpeg,image/gif,image/webp";
                label { input type="checkbox" name="remove_avatar"; " Remove the avatar" }
                button type="submit" { "Save profile" }
            }
        }
        section.card {
            h2 { "Change password" }
            form method="post" action="/settings/password" {
                (csrf_field(csrf))
                label for="current_password" { "Current password" }
                input type="password" id="current_password" name="current_password" autocomplete="current-password" required;
                label for="new_password" { "New password" }
                input type="password" id="new_password" name="new_password" autocomplete="new-password" minlength="8" required;
                label for="new_password_again" { "New password again" }
                input type="password" id="new_password_again" name="new_password_again" autocomplete="new-password" minlength="8" required;
                button type="submit" { "Change password" }
            }
        }
        section.card {
            h2 { "API tokens" }
            p.hint {
                "For apps and scripts using the " a href="/api/v1/openapi.json" { "client API" } "."
            }
            ul.tokens {
                @for token in &tokens {
                    li {
                        (token.label.as_deref().unwrap_or("(no label)"))
                        " "
                        span.meta {
                            "created " (token.created_at.format("%Y-%m-%d"))
                            ", last used " (token.last_used_at.format("%Y-%m-%d"))
                        }
                        " "
                        form method="post" action={ "/settings/tokens/" (token.id) "/revoke" } style="display:inline" {
                            (csrf_field(csrf))
                            button type="submit" class="secondary" { "Revoke" }
                        }
                    }
                }
                @if tokens.is_empty() {
                    li { "None." }
                }
            }
            form method="post" action="/settings/tokens" {
                (csrf_field(csrf))
                label for="label" { "New token's label" }
                input type="text" id="label" name="label" maxlength="100";
                button type="submit" { "Create token" }
            }
        }
    };
    Ok((status, page(context, visitor, "Settings", body)).into_response())
}

/// A local person's profile page: who they are and what they wrote, newest first, a page at a
/// time (`after`: the cursor of a later page).
pub async fn profile_page(
    context: &Context,
    visitor: &Visitor,
    name: &str,
    after: Option<&str>,
) -> PageResult {
    let account = users::find_by_name(&context.db, name)
        .await?
        .ok_or_else(|| Error::not_found("user"))?;
    let below = crate::paging::parse_id_cursor(after)?;
    let recent = crate::groups::posts::recent_by_author(
        &context.read_db,
        account.actor.id,
        below,
        crate::paging::PER_PAGE + 1,
    )
    .await?;
    let (recent, next) = crate::paging::page_by_id(recent, crate::paging::PER_PAGE, |post| post.id);
    let handle = format!("@{}@{}", account.user.name, context.config.domain());
    let labelled: Vec<(&post::Model, String)> = recent
        .iter()
        .map(|post| {
            let label = post.title.clone().unwrap_or_else(|| {
                let text = crate::html::to_plain_text(&post.content_html);
                let short: String = text.chars().take(80).collect();
                if short.len() < text.len() {
                    format!("{short}…")
                } else {
                    short
                }
            });
            (post, label)
        })
        .collect();
    let body = html! {
        header.profile {
            @if account.actor.icon_url.is_some() {
                img.avatar.large src={ "/media/actors/" (account.actor.id) "/icon" } alt="" width="96" height="96";
            }
            h1 {
                (account
                    .actor
                    .display_name
                    .as_deref()
                    .unwrap_or(&account.user.name))
            }
        }
        p.handle { (handle) }
        @if let Some(bio) = &account.actor.summary_html {
            div.bio { (crate::html::SanitizedHtml::from_stored(bio)) }
        }
        p.meta { "Joined " (account.user.created_at.format("%Y-%m-%d")) }
        h2 { "Recent posts" }
        @if labelled.is_empty() {
            p { "Nothing yet." }
        } @else {
            ul {
                @for (post, label) in &labelled {
                    li {
                        a href={ "/posts/" (post.id) } { (label) }
                        " "
                        span.meta { (post.published_at.format("%Y-%m-%d %H:%M")) }
                    }
                }
            }
        }
        (super::groups::pager(&format!("/users/{}", account.user.name), after.is_some(), next.as_deref()))
    };
    Ok(page(context, visitor, &handle, body).into_response())
}

/// `GET /users/{name}` for browsers.
pub async fn profile(
    context: Context,
    visitor: Visitor,
    Path(name): Path<String>,
    Query(query): Query<crate::http::web::PageQuery>,
) -> PageResult {
    profile_page(&context, &visitor, &name, query.after.as_deref()).await
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
/// marked, a page at a time, with a button to mark them all read.
pub async fn notifications_page(
    context: Context,
    visitor: Visitor,
    Query(query): Query<crate::http::web::PageQuery>,
) -> PageResult {
    let signed_in = visitor.require()?;
    let below = crate::paging::parse_id_cursor(query.after.as_deref())?;
    let listed = notifications::list(
        &context.read_db,
        signed_in.account.user.id,
        below,
        crate::paging::PER_PAGE + 1,
    )
    .await?;
    let (listed, next) =
        crate::paging::page_by_id(listed, crate::paging::PER_PAGE, |found| found.0.id);
    // Who did it (the sharer of a share, the reporter of a report, the author otherwise) and
    // the groups the posts are in, in one query.
    let people_and_groups = crate::groups::directory::actors_by_id(
        &context.read_db,
        listed.iter().flat_map(|(notification, about)| {
            [
                notification.actor_id.unwrap_or(about.author_id),
                about.group_id,
            ]
        }),
    )
    .await?;
    let mut rows = Vec::with_capacity(listed.len());
    for (notification, about) in &listed {
        let who = notification.actor_id.unwrap_or(about.author_id);
        let author = people_and_groups
            .get(&who)
            .map(crate::groups::directory::shown_name)
            .unwrap_or("someone")
            .to_string();
        let group = people_and_groups
            .get(&about.group_id)
            .map(crate::groups::directory::shown_name)
            .unwrap_or_default()
            .to_string();
        let what = match notification.kind {
            NotificationKind::Reply => "replied to you",
            NotificationKind::Mention => "mentioned you",
            NotificationKind::Report => "reported a post",
            NotificationKind::Share => "shared your post",
        };
        let excerpt: String = if about.removed_at.is_some() || about.deleted_at.is_some() {
            "(removed)".to_string()
        } else {
            crate::html::to_plain_text(&about.content_html)
                .chars()
                .take(120)
                .collect()
        };
        rows.push((notification, about, author, what, group, excerpt));
    }
    let body = html! {
        h1 { "Notifications" }
        @if rows.is_empty() {
            p { "Nothing yet. Replies to your posts and mentions of you show up here." }
        } @else {
            ul.notifications {
                @for (notification, about, author, what, group, excerpt) in &rows {
                    li class=(if notification.read_at.is_none() { "unread" } else { "read" }) {
                        a href={ "/posts/" (about.id) } {
                            (author) " " (what)
                        }
                        @if !group.is_empty() {
                            " in " strong { (group) }
                        }
                        ": " (excerpt) " "
                        span.meta { (notification.created_at.format("%Y-%m-%d %H:%M")) }
                    }
                }
            }
        }
        (super::groups::pager("/notifications", query.after.is_some(), next.as_deref()))
        @if visitor.unread_notifications > 0 {
            form method="post" action="/notifications/read" {
                (csrf_field(visitor.csrf_token()))
                button type="submit" { "Mark all as read" }
            }
        }
    };
    Ok(page(&context, &visitor, "Notifications", body).into_response())
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
