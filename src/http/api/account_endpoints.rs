//! API for accounts: tokens, registration, the signed-in user, notifications, and the
//! administrators' removal of accounts.

use super::*;

#[derive(Deserialize)]
pub struct TokenRequest {
    pub(super) name: String,
    pub(super) password: String,
    /// A name for the token, to recognise it later.
    pub(super) label: Option<String>,
}

#[derive(Serialize)]
pub struct TokenResponse {
    pub(super) token: String,
    pub(super) expires_at: DateTime<Utc>,
    pub(super) user: UserJson,
}

#[derive(Serialize)]
pub struct UserJson {
    /// The id of the person in this instance's lists (join requests, moderators).
    pub(super) id: i64,
    pub(super) name: String,
    pub(super) handle: String,
    pub(super) url: String,
    pub(super) is_admin: bool,
}

pub(super) fn user_json(context: &Context, account: &users::UserWithActor) -> UserJson {
    UserJson {
        id: account.actor.id,
        name: account.user.name.clone(),
        handle: format!("@{}@{}", account.user.name, context.config.domain()),
        url: account.actor.ap_id.clone(),
        is_admin: account.user.is_admin,
    }
}

pub(super) async fn create_token(
    context: Context,
    client: crate::http::ClientAddress,
    ApiJson(request): ApiJson<TokenRequest>,
) -> ApiResult<Response> {
    let account =
        users::authenticate_from(&context.db, &request.name, &request.password, client.0).await?;
    let label = request
        .label
        .as_deref()
        .map(str::trim)
        .filter(|label| !label.is_empty());
    if label.is_some_and(|label| label.chars().count() > 100) {
        return Err(Error::invalid("a token label has at most 100 characters").into());
    }
    let created =
        sessions::create_session(&context.db, account.user.id, SessionKind::Api, label).await?;
    Ok((
        StatusCode::CREATED,
        Json(TokenResponse {
            token: created.token,
            expires_at: created.session.expires_at,
            user: user_json(&context, &account),
        }),
    )
        .into_response())
}

pub(super) async fn revoke_token(
    context: Context,
    ApiUser(caller): ApiUser,
) -> ApiResult<StatusCode> {
    sessions::revoke(&context.db, caller.account.user.id, caller.session.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize)]
pub struct TokenInfo {
    pub(super) id: i64,
    pub(super) label: Option<String>,
    pub(super) created_at: DateTime<Utc>,
    pub(super) last_used_at: DateTime<Utc>,
    pub(super) expires_at: DateTime<Utc>,
    /// Whether this is the token of the request itself.
    pub(super) current: bool,
}

pub(super) async fn list_tokens(
    context: Context,
    ApiUser(caller): ApiUser,
) -> ApiResult<Json<Vec<TokenInfo>>> {
    let listed =
        sessions::list_for_user(&context.db, caller.account.user.id, SessionKind::Api).await?;
    Ok(Json(
        listed
            .into_iter()
            .map(|session| TokenInfo {
                current: session.id == caller.session.id,
                id: session.id,
                label: session.label,
                created_at: session.created_at,
                last_used_at: session.last_used_at,
                expires_at: session.expires_at,
            })
            .collect(),
    ))
}

pub(super) async fn revoke_token_by_id(
    context: Context,
    ApiUser(caller): ApiUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id: i64 = id.parse().map_err(|_| Error::not_found("session"))?;
    sessions::revoke_api_token(&context.db, caller.account.user.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct RegisterRequest {
    pub(super) name: String,
    pub(super) password: String,
    pub(super) email: Option<String>,
    pub(super) application: Option<String>,
}

#[derive(Serialize)]
pub struct RegisterResponse {
    pub(super) user: UserJson,
    /// "active", or "pending" while an administrator has not approved the account.
    pub(super) state: &'static str,
}

pub(super) async fn register(
    context: Context,
    address: crate::http::ClientAddress,
    ApiJson(request): ApiJson<RegisterRequest>,
) -> ApiResult<Response> {
    let account = crate::actions::accounts::sign_up(
        &context,
        address.0,
        NewUser {
            name: &request.name,
            password: &request.password,
            email: request.email.as_deref(),
            application_text: request.application.as_deref(),
        },
    )
    .await?;
    let state = match account.user.state {
        kindred_entities::user::UserState::Active => "active",
        _ => "pending",
    };
    Ok((
        StatusCode::CREATED,
        Json(RegisterResponse {
            user: user_json(&context, &account),
            state,
        }),
    )
        .into_response())
}

pub(super) async fn me(context: Context, ApiUser(caller): ApiUser) -> Json<UserJson> {
    Json(user_json(&context, &caller.account))
}

#[derive(Serialize)]
pub struct NotificationJson {
    pub(super) id: i64,
    /// "reply" or "mention".
    pub(super) kind: &'static str,
    pub(super) read: bool,
    pub(super) created_at: DateTime<Utc>,
    pub(super) post: PostJson,
}

pub(super) async fn list_notifications(
    context: Context,
    ApiUser(caller): ApiUser,
) -> ApiResult<Json<Vec<NotificationJson>>> {
    use kindred_entities::notification::NotificationKind;
    let listed =
        crate::accounts::notifications::list(&context.db, caller.account.user.id, 100).await?;
    let mut answer = Vec::with_capacity(listed.len());
    for (notification, about) in listed {
        let group =
            crate::database::unique_row(actor::Entity::find_by_id(about.group_id), &context.db)
                .await?
                .ok_or_else(|| Error::not_found("group"))?;
        let mut post = posts_json(
            &context,
            Some(&caller),
            &directory::actor_handle(&group),
            vec![about],
        )
        .await?;
        answer.push(NotificationJson {
            id: notification.id,
            kind: match notification.kind {
                NotificationKind::Reply => "reply",
                NotificationKind::Mention => "mention",
                NotificationKind::Report => "report",
            },
            read: notification.read_at.is_some(),
            created_at: notification.created_at,
            post: post.remove(0),
        });
    }
    Ok(Json(answer))
}

pub(super) async fn read_notifications(
    context: Context,
    ApiUser(caller): ApiUser,
) -> ApiResult<StatusCode> {
    crate::accounts::notifications::mark_all_read(&context.db, caller.account.user.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /users/{name}` (administrators): the account is removed and the servers of its
/// groups told.
pub(super) async fn remove_user(
    context: Context,
    ApiUser(caller): ApiUser,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    let remover = Remover::administrator(&caller.account)?;
    crate::actions::accounts::remove_account(&context, remover, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}
