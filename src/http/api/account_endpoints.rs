//! API for accounts: tokens, registration, the signed-in user, notifications, and the
//! administrators' removal of accounts.

use super::*;

#[derive(Deserialize, ToSchema)]
#[schema(as = TokenRequest)]
pub struct TokenRequest {
    pub(super) name: String,
    pub(super) password: String,
    /// A name for the token, to recognise it later.
    #[schema(max_length = 100, nullable = false)]
    pub(super) label: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = TokenResponse)]
pub struct TokenResponse {
    pub(super) token: String,
    pub(super) expires_at: DateTime<Utc>,
    pub(super) user: UserJson,
}

#[derive(Serialize, ToSchema)]
#[schema(as = User)]
pub struct UserJson {
    /// The id of the person in this instance's lists (join requests, moderators).
    pub(super) id: i64,
    pub(super) name: String,
    pub(super) handle: String,
    #[schema(format = Uri)]
    pub(super) url: String,
    pub(super) is_admin: bool,
    pub(super) display_name: Option<String>,
    /// The bio as written (markdown).
    pub(super) bio: Option<String>,
    #[schema(format = Uri)]
    pub(super) avatar_url: Option<String>,
}

pub(super) fn user_json(context: &Context, account: &users::UserWithActor) -> UserJson {
    UserJson {
        id: account.actor.id,
        name: account.user.name.clone(),
        handle: format!("@{}@{}", account.user.name, context.config.domain()),
        url: account.actor.ap_id.clone(),
        is_admin: account.user.is_admin,
        display_name: account.actor.display_name.clone(),
        bio: account.actor.summary_source.clone(),
        avatar_url: account.actor.icon_url.clone(),
    }
}

/// Sign in: exchange a name and password for a bearer token
#[utoipa::path(
    post,
    path = "/auth/token",
    operation_id = "createToken",
    request_body = TokenRequest,
    responses(
        (status = 201, description = "A new token; it is shown only once.", body = TokenResponse),
        (status = 401, description = "Wrong name or password.", body = ErrorBody),
        (status = 403, description = "The account waits for approval or is disabled.", body = ErrorBody),
        (status = 422, description = INVALID, body = ErrorBody),
    ),
)]
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

/// Sign out: revoke the token used for this request
#[utoipa::path(
    delete,
    path = "/auth/token",
    operation_id = "revokeToken",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Revoked."),
        (status = 401, description = UNAUTHORIZED, body = ErrorBody),
    ),
)]
pub(super) async fn revoke_token(
    context: Context,
    ApiUser(caller): ApiUser,
) -> ApiResult<StatusCode> {
    sessions::revoke(&context.db, caller.account.user.id, caller.session.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
#[schema(as = TokenInfo)]
pub struct TokenInfo {
    pub(super) id: i64,
    pub(super) label: Option<String>,
    pub(super) created_at: DateTime<Utc>,
    pub(super) last_used_at: DateTime<Utc>,
    pub(super) expires_at: DateTime<Utc>,
    /// Whether this is the token of the request itself.
    pub(super) current: bool,
}

/// The caller's API tokens (not their secrets)
#[utoipa::path(
    get,
    path = "/auth/tokens",
    operation_id = "listTokens",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Tokens, newest first.", body = Vec<TokenInfo>),
        (status = 401, description = UNAUTHORIZED, body = ErrorBody),
    ),
)]
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

/// Revoke one of the caller's API tokens
#[utoipa::path(
    delete,
    path = "/auth/tokens/{id}",
    operation_id = "revokeTokenById",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The token's id, from GET /auth/tokens.")),
    responses(
        (status = 204, description = "Revoked."),
        (status = 401, description = UNAUTHORIZED, body = ErrorBody),
        (status = 404, description = "No such token of the caller's.", body = ErrorBody),
    ),
)]
pub(super) async fn revoke_token_by_id(
    context: Context,
    ApiUser(caller): ApiUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id: i64 = id.parse().map_err(|_| Error::not_found("session"))?;
    sessions::revoke_api_token(&context.db, caller.account.user.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[schema(as = RegisterRequest)]
pub struct RegisterRequest {
    #[schema(pattern = "^[a-z0-9_]{1,64}$")]
    pub(super) name: String,
    #[schema(min_length = 8, max_length = 1000)]
    pub(super) password: String,
    pub(super) email: Option<String>,
    /// Why the applicant wants to join, when registration needs approval.
    #[schema(max_length = 2000)]
    pub(super) application: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = RegisterResponse)]
pub struct RegisterResponse {
    pub(super) user: UserJson,
    #[schema(inline)]
    pub(super) state: AccountState,
}

/// `active`, or `pending` while an administrator has not approved the account.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AccountState {
    Active,
    Pending,
}

/// Register an account (as instance.registration allows)
#[utoipa::path(
    post,
    path = "/accounts",
    operation_id = "register",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Created; `state` is `pending` until an administrator approves it.", body = RegisterResponse),
        (status = 403, description = "This instance does not take new accounts.", body = ErrorBody),
        (status = 409, description = "The name is taken.", body = ErrorBody),
        (status = 422, description = INVALID, body = ErrorBody),
    ),
)]
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
        kindred_entities::user::UserState::Active => AccountState::Active,
        _ => AccountState::Pending,
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

/// The signed-in account
#[utoipa::path(
    get,
    path = "/me",
    operation_id = "me",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The account.", body = UserJson),
        (status = 401, description = UNAUTHORIZED, body = ErrorBody),
    ),
)]
pub(super) async fn me(context: Context, ApiUser(caller): ApiUser) -> Json<UserJson> {
    Json(user_json(&context, &caller.account))
}

/// What is left out stays as it is.
#[derive(Deserialize, ToSchema)]
#[schema(as = EditProfileRequest)]
pub struct EditProfileRequest {
    #[schema(max_length = 100)]
    pub(super) display_name: Option<String>,
    /// Markdown; empty clears it.
    #[schema(max_length = 5000)]
    pub(super) bio: Option<String>,
    /// A picture uploaded with `POST /api/v1/media` becomes the avatar.
    pub(super) avatar_picture_id: Option<i64>,
    /// True takes the avatar away.
    #[serde(default)]
    pub(super) remove_avatar: bool,
}

/// Edit one's profile: display name, bio, avatar (servers that show one's posts get an
/// `Update`)
#[utoipa::path(
    patch,
    path = "/me",
    operation_id = "editProfile",
    security(("bearer" = [])),
    request_body = EditProfileRequest,
    responses(
        (status = 200, description = "The account, edited.", body = UserJson),
        (status = 400, description = "The JSON cannot be read.", body = ErrorBody),
        (status = 401, description = UNAUTHORIZED, body = ErrorBody),
        (status = 415, description = "The body is not JSON.", body = ErrorBody),
        (status = 422, description = INVALID, body = ErrorBody),
    ),
)]
pub(super) async fn edit_profile(
    context: Context,
    ApiUser(caller): ApiUser,
    ApiJson(request): ApiJson<EditProfileRequest>,
) -> ApiResult<Json<UserJson>> {
    let person = caller.account.actor.clone();
    let avatar = match request.avatar_picture_id {
        Some(id) => {
            let upload = crate::media::uploads::find_own(&context.db, id, person.id).await?;
            crate::actions::accounts::PictureChange::Replace(crate::media::uploads::url_of(
                &context.config,
                &upload,
            ))
        }
        None if request.remove_avatar => crate::actions::accounts::PictureChange::Remove,
        None => crate::actions::accounts::PictureChange::Keep,
    };
    let display_name = request
        .display_name
        .or_else(|| person.display_name.clone())
        .unwrap_or_default();
    let bio = request
        .bio
        .or_else(|| person.summary_source.clone())
        .unwrap_or_default();
    let edited =
        crate::actions::accounts::edit_profile(&context, person, &display_name, &bio, avatar)
            .await?;
    let account = users::UserWithActor {
        user: caller.account.user.clone(),
        actor: edited,
    };
    Ok(Json(user_json(&context, &account)))
}

#[derive(Serialize, ToSchema)]
#[schema(as = Notification)]
pub struct NotificationJson {
    pub(super) id: i64,
    #[schema(inline)]
    pub(super) kind: NotificationKindJson,
    pub(super) read: bool,
    pub(super) created_at: DateTime<Utc>,
    /// Who did it: the author of the reply or mention, the reporter of a report, the sharer
    /// of a share.
    pub(super) actor: AuthorJson,
    pub(super) post: PostJson,
}

/// What a notification is about: a reply to the person's post, a mention of them, a report
/// for them to look at, or a share (boost) of their post by someone on another server.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum NotificationKindJson {
    Reply,
    Mention,
    Report,
    Share,
}

/// Replies to the caller's posts and mentions of the caller, newest first
#[utoipa::path(
    get,
    path = "/notifications",
    operation_id = "listNotifications",
    security(("bearer" = [])),
    params(PageParams),
    responses(
        (status = 200, description = "Notifications, a page of them.", body = Vec<NotificationJson>,
            headers(("Link" = String, description = "`<…>; rel=\"next\"`: the next page, when there is one (follow it as it is)."))),
        (status = 400, description = BAD_CURSOR, body = ErrorBody),
        (status = 401, description = UNAUTHORIZED, body = ErrorBody),
    ),
)]
pub(super) async fn list_notifications(
    context: Context,
    ApiUser(caller): ApiUser,
    Query(paging): Query<PageParams>,
) -> ApiResult<Response> {
    use kindred_entities::notification::NotificationKind;
    let (below, length) = paging.start_and_length()?;
    let listed = crate::accounts::notifications::list(
        &context.read_db,
        caller.account.user.id,
        below,
        length + 1,
    )
    .await?;
    let (listed, next) = crate::paging::page_by_id(listed, length, |found| found.0.id);
    let people = directory::actors_by_id(
        &context.read_db,
        listed
            .iter()
            .map(|(notification, about)| notification.actor_id.unwrap_or(about.author_id)),
    )
    .await?;
    let (notifications, about): (Vec<_>, Vec<_>) = listed.into_iter().unzip();
    let posts: HashMap<i64, PostJson> = mixed_posts_json(&context, Some(&caller), about)
        .await?
        .into_iter()
        .map(|post| (post.id, post))
        .collect();
    let mut answer = Vec::with_capacity(notifications.len());
    for notification in notifications {
        let Some(post) = posts.get(&notification.post_id) else {
            continue;
        };
        let actor = notification.actor_id.unwrap_or(post.author.id);
        answer.push(NotificationJson {
            id: notification.id,
            kind: match notification.kind {
                NotificationKind::Reply => NotificationKindJson::Reply,
                NotificationKind::Mention => NotificationKindJson::Mention,
                NotificationKind::Report => NotificationKindJson::Report,
                NotificationKind::Share => NotificationKindJson::Share,
            },
            read: notification.read_at.is_some(),
            created_at: notification.created_at,
            actor: AuthorJson::of(people.get(&actor)),
            post: post.clone(),
        });
    }
    let next = paging.next_url(&context, "/notifications", &[], next);
    Ok(with_next_link(Json(answer).into_response(), next))
}

/// Mark every notification read
#[utoipa::path(
    post,
    path = "/notifications/read",
    operation_id = "readNotifications",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Done."),
        (status = 401, description = UNAUTHORIZED, body = ErrorBody),
    ),
)]
pub(super) async fn read_notifications(
    context: Context,
    ApiUser(caller): ApiUser,
) -> ApiResult<StatusCode> {
    crate::accounts::notifications::mark_all_read(&context.db, caller.account.user.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove a local account (administrators); the servers of its groups get Delete
#[utoipa::path(
    delete,
    path = "/users/{name}",
    operation_id = "removeUser",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "The account's name.")),
    responses(
        (status = 204, description = "Removed."),
        (status = 401, description = UNAUTHORIZED, body = ErrorBody),
        (status = 403, description = FORBIDDEN, body = ErrorBody),
        (status = 404, description = NOT_FOUND, body = ErrorBody),
        (status = 422, description = INVALID, body = ErrorBody),
    ),
)]
pub(super) async fn remove_user(
    context: Context,
    ApiUser(caller): ApiUser,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    let remover = Remover::administrator(&caller.account)?;
    crate::actions::accounts::remove_account(&context, remover, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}
