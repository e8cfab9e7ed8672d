//! The JSON client API under `/api/v1`: the same actions as the web pages, for apps and
//! scripts. Bearer tokens come from `POST /api/v1/auth/token`; errors are
//! `{"error": {"code", "message"}}`; `openapi.rs` documents every route.

pub mod auth;
pub mod openapi;

use crate::federation::activities::add_or_remove::ModeratorChange;
use crate::{
    accounts::{
        sessions,
        users::{self, NewUser},
    },
    app::Context,
    config::GroupCreation,
    error::Error,
    federation::{
        activities::{create_or_update, delete, follow, undo, vote},
        discovery,
    },
    groups::{
        directory::{self, NewGroup},
        membership,
        posts::{self, ThreadOrder},
    },
};
use auth::{ApiJson, ApiResult, ApiUser, MaybeApiUser};
use axum::{
    Json, Router,
    extract::{Path, Query},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use chrono::{DateTime, Utc};
use kindred_entities::{actor, membership::MembershipState, post, session::SessionKind};
use sea_orm::EntityTrait;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Every API route; mounted under `/api/v1` by `http/mod.rs`.
pub fn routes() -> Router {
    Router::new()
        .route("/openapi.json", get(openapi::document))
        .route("/auth/token", post(create_token).delete(revoke_token))
        .route("/auth/tokens", get(list_tokens))
        .route(
            "/auth/tokens/{id}",
            axum::routing::delete(revoke_token_by_id),
        )
        .route("/accounts", post(register))
        .route("/me", get(me))
        .route("/groups", get(list_groups).post(create_group))
        .route(
            "/groups/{name}",
            get(group).patch(edit_group).delete(remove_group),
        )
        .route("/users/{name}", axum::routing::delete(remove_user))
        .route("/notifications", get(list_notifications))
        .route("/notifications/read", post(read_notifications))
        .route(
            "/groups/{name}/membership",
            post(join_group).delete(leave_group),
        )
        .route(
            "/groups/{name}/threads",
            get(list_threads).post(create_thread),
        )
        .route(
            "/posts/{id}",
            get(thread).patch(edit_post).delete(delete_post),
        )
        .route("/posts/{id}/replies", post(reply))
        .route("/posts/{id}/moderate/{action}", post(moderate_post))
        .route("/groups/{name}/requests", get(list_requests))
        .route(
            "/groups/{name}/requests/{member}/{decision}",
            post(decide_request),
        )
        .route("/groups/{name}/moderators", get(list_moderators))
        .route(
            "/groups/{name}/moderators/{member}",
            axum::routing::put(appoint_moderator).delete(dismiss_moderator),
        )
        .route("/groups/{name}/modlog", get(moderation_log))
        .route("/groups/{name}/bans", get(list_bans).post(create_ban))
        .route("/groups/{name}/reports", get(list_reports))
        .route("/groups/{name}/queue", get(approval_queue))
        .route(
            "/groups/{name}/reports/{report}/{decision}",
            post(close_report),
        )
        .route("/posts/{id}/report", post(report_post))
        .route("/groups/{name}/bans/{ban}", axum::routing::delete(lift_ban))
        .route("/posts/{id}/vote", axum::routing::put(cast_vote))
        .fallback(|| async { auth::ApiError(Error::not_found("API endpoint")) })
        .layer(axum::middleware::map_response(auth::json_errors))
}

#[derive(Deserialize)]
pub struct TokenRequest {
    name: String,
    password: String,
    /// A name for the token, to recognise it later.
    label: Option<String>,
}

#[derive(Serialize)]
pub struct TokenResponse {
    token: String,
    expires_at: DateTime<Utc>,
    user: UserJson,
}

#[derive(Serialize)]
pub struct UserJson {
    /// The id of the person in this instance's lists (join requests, moderators).
    id: i64,
    name: String,
    handle: String,
    url: String,
    is_admin: bool,
}

fn user_json(context: &Context, account: &users::UserWithActor) -> UserJson {
    UserJson {
        id: account.actor.id,
        name: account.user.name.clone(),
        handle: format!("@{}@{}", account.user.name, context.config.domain()),
        url: account.actor.ap_id.clone(),
        is_admin: account.user.is_admin,
    }
}

async fn create_token(
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

async fn revoke_token(context: Context, ApiUser(caller): ApiUser) -> ApiResult<StatusCode> {
    sessions::revoke(&context.db, caller.account.user.id, caller.session.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize)]
pub struct TokenInfo {
    id: i64,
    label: Option<String>,
    created_at: DateTime<Utc>,
    last_used_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    /// Whether this is the token of the request itself.
    current: bool,
}

async fn list_tokens(
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

async fn revoke_token_by_id(
    context: Context,
    ApiUser(caller): ApiUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id: i64 = id.parse().map_err(|_| Error::not_found("session"))?;
    // Only one's own tokens: another person's id is simply not found.
    let is_api_token =
        sessions::list_for_user(&context.db, caller.account.user.id, SessionKind::Api)
            .await?
            .iter()
            .any(|session| session.id == id);
    if !is_api_token {
        return Err(Error::not_found("token").into());
    }
    sessions::revoke(&context.db, caller.account.user.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct RegisterRequest {
    name: String,
    password: String,
    email: Option<String>,
    application: Option<String>,
}

#[derive(Serialize)]
pub struct RegisterResponse {
    user: UserJson,
    /// "active", or "pending" while an administrator has not approved the account.
    state: &'static str,
}

async fn register(
    context: Context,
    address: crate::http::ClientAddress,
    ApiJson(request): ApiJson<RegisterRequest>,
) -> ApiResult<Response> {
    crate::http::count_registration(&context, &address)?;
    let account = users::register(
        &context.db,
        &context.config,
        &context.keys,
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

async fn me(context: Context, ApiUser(caller): ApiUser) -> Json<UserJson> {
    Json(user_json(&context, &caller.account))
}

#[derive(Serialize)]
pub struct GroupJson {
    name: String,
    handle: String,
    title: String,
    summary_html: Option<String>,
    summary_markdown: Option<String>,
    url: String,
    local: bool,
    member_count: u64,
    /// The caller's membership: "accepted", "pending" or null.
    membership: Option<&'static str>,
    /// The caller's role when a member: "owner", "moderator" or "member".
    role: Option<&'static str>,
    posting_mode: ApiPostingMode,
    manually_approves_followers: bool,
}

async fn group_json(
    context: &Context,
    caller: Option<&sessions::SignedIn>,
    group: actor::Model,
) -> Result<GroupJson, Error> {
    let member_count = if group.local {
        membership::member_count(&context.db, group.id).await?
    } else {
        membership::local_member_count(&context.db, group.id).await?
    };
    let found = match caller {
        Some(caller) => membership::find(&context.db, group.id, caller.account.actor.id).await?,
        None => None,
    };
    let membership = found.as_ref().map(|found| match found.state {
        MembershipState::Accepted => "accepted",
        MembershipState::Pending => "pending",
    });
    let role = found
        .as_ref()
        .filter(|found| found.state == MembershipState::Accepted)
        .map(|found| match found.role {
            kindred_entities::membership::MembershipRole::Owner => "owner",
            kindred_entities::membership::MembershipRole::Moderator => "moderator",
            kindred_entities::membership::MembershipRole::Member => "member",
        });
    let handle = crate::http::web::groups::handle_of(context, &group);
    Ok(GroupJson {
        name: directory::actor_handle(&group),
        handle,
        title: group
            .display_name
            .clone()
            .unwrap_or_else(|| group.preferred_username.clone()),
        summary_html: group.summary_html,
        summary_markdown: group.summary_source,
        url: group.ap_id,
        local: group.local,
        member_count,
        membership,
        role,
        posting_mode: group.posting_mode.into(),
        manually_approves_followers: group.manually_approves_followers,
    })
}

#[derive(Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

async fn list_groups(
    context: Context,
    MaybeApiUser(caller): MaybeApiUser,
    Query(query): Query<SearchQuery>,
) -> ApiResult<Json<Vec<GroupJson>>> {
    let mut listed = Vec::new();
    for group in directory::search_groups(&context.db, &query.q, 200).await? {
        listed.push(group_json(&context, caller.as_ref(), group).await?);
    }
    Ok(Json(listed))
}

#[derive(Deserialize)]
pub struct CreateGroupRequest {
    name: String,
    title: String,
    summary: Option<String>,
}

async fn create_group(
    context: Context,
    ApiUser(caller): ApiUser,
    ApiJson(request): ApiJson<CreateGroupRequest>,
) -> ApiResult<Response> {
    if context.config.instance.group_creation == GroupCreation::Admins
        && !caller.account.user.is_admin
    {
        return Err(
            Error::Forbidden("only administrators create groups on this instance".into()).into(),
        );
    }
    let group = directory::create_group(
        &context.db,
        &context.config,
        &context.keys,
        NewGroup {
            name: request.name.trim(),
            title: &request.title,
            summary_markdown: request.summary.as_deref(),
        },
    )
    .await?;
    membership::found(&context.db, &group, &caller.account.actor).await?;
    let body = group_json(&context, Some(&caller), group).await?;
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

async fn group(
    context: Context,
    MaybeApiUser(caller): MaybeApiUser,
    Path(name): Path<String>,
) -> ApiResult<Json<GroupJson>> {
    let group = directory::find_group(&context.db, &name).await?;
    Ok(Json(group_json(&context, caller.as_ref(), group).await?))
}

async fn join_group(
    context: Context,
    ApiUser(caller): ApiUser,
    Path(name): Path<String>,
) -> ApiResult<Json<GroupJson>> {
    // A remote group not known yet is looked up on its server first.
    let group = match directory::find_group_by_handle(&context.db, &name).await? {
        Some(group) => group,
        None if name.contains('@') => discovery::resolve_group(&context, &name).await?,
        None => return Err(Error::not_found("group").into()),
    };
    follow::send_follow(&context, &caller.account.actor, &group).await?;
    Ok(Json(group_json(&context, Some(&caller), group).await?))
}

async fn leave_group(
    context: Context,
    ApiUser(caller): ApiUser,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    let group = directory::find_group(&context.db, &name).await?;
    if !undo::send_leave(&context, &caller.account.actor, &group).await? {
        return Err(Error::not_found("membership").into());
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct EditGroupRequest {
    title: String,
    summary: Option<String>,
    icon_url: Option<String>,
    posting_mode: Option<ApiPostingMode>,
    manually_approves_followers: Option<bool>,
}

#[derive(Deserialize, Serialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub enum ApiPostingMode {
    Open,
    Members,
    Moderators,
    Premoderated,
}

impl From<ApiPostingMode> for actor::PostingMode {
    fn from(mode: ApiPostingMode) -> Self {
        match mode {
            ApiPostingMode::Open => actor::PostingMode::Open,
            ApiPostingMode::Members => actor::PostingMode::Members,
            ApiPostingMode::Moderators => actor::PostingMode::Moderators,
            ApiPostingMode::Premoderated => actor::PostingMode::Premoderated,
        }
    }
}

impl From<actor::PostingMode> for ApiPostingMode {
    fn from(mode: actor::PostingMode) -> Self {
        match mode {
            actor::PostingMode::Open => ApiPostingMode::Open,
            actor::PostingMode::Members => ApiPostingMode::Members,
            actor::PostingMode::Moderators => ApiPostingMode::Moderators,
            actor::PostingMode::Premoderated => ApiPostingMode::Premoderated,
        }
    }
}

async fn edit_group(
    context: Context,
    ApiUser(caller): ApiUser,
    Path(name): Path<String>,
    ApiJson(request): ApiJson<EditGroupRequest>,
) -> ApiResult<Json<GroupJson>> {
    let group = directory::find_local_group(&context.db, &name).await?;
    // A field left out keeps its value; an empty string clears it.
    let summary = request.summary.or_else(|| group.summary_source.clone());
    let icon_url = request.icon_url.or_else(|| group.icon_url.clone());
    let edited = create_or_update::send_group_update(
        &context,
        &caller.account.actor,
        group,
        directory::GroupProfile {
            title: &request.title,
            summary_markdown: summary.as_deref(),
            icon_url: icon_url.as_deref(),
            manually_approves_followers: request.manually_approves_followers,
        },
        request.posting_mode.map(Into::into),
    )
    .await?;
    Ok(Json(group_json(&context, Some(&caller), edited).await?))
}

#[derive(Serialize)]
pub struct NotificationJson {
    id: i64,
    /// "reply" or "mention".
    kind: &'static str,
    read: bool,
    created_at: DateTime<Utc>,
    post: PostJson,
}

async fn list_notifications(
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

async fn read_notifications(context: Context, ApiUser(caller): ApiUser) -> ApiResult<StatusCode> {
    crate::accounts::notifications::mark_all_read(&context.db, caller.account.user.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize)]
pub struct PostJson {
    id: i64,
    url: String,
    group: String,
    author: AuthorJson,
    parent_id: Option<i64>,
    thread_id: Option<i64>,
    title: Option<String>,
    content_html: String,
    content_markdown: Option<String>,
    published: DateTime<Utc>,
    updated: Option<DateTime<Utc>>,
    deleted: bool,
    /// Removed by a moderator: its content is withheld.
    removed: bool,
    locked: bool,
    pinned: bool,
    /// Waiting for a moderator's approval (pre-moderated groups).
    awaiting_approval: bool,
    likes: i32,
    dislikes: i32,
    reply_count: i32,
    /// The caller's vote: 1, -1, or 0.
    my_vote: i16,
}

#[derive(Serialize, Clone)]
pub struct AuthorJson {
    name: String,
    url: String,
    local: bool,
}

/// One post as JSON (see [`posts_json`]), in the group it belongs to.
async fn one_post_json(
    context: &Context,
    caller: &sessions::SignedIn,
    group: &actor::Model,
    post: post::Model,
) -> Result<PostJson, Error> {
    let mut listed = posts_json(
        context,
        Some(caller),
        &directory::actor_handle(group),
        vec![post],
    )
    .await?;
    listed
        .pop()
        .ok_or_else(|| Error::internal("a post vanished while rendering it"))
}

/// Posts as JSON, with their authors and the caller's votes loaded in two queries.
async fn posts_json(
    context: &Context,
    caller: Option<&sessions::SignedIn>,
    group_name: &str,
    listed: Vec<post::Model>,
) -> Result<Vec<PostJson>, Error> {
    use sea_orm::{ColumnTrait, QueryFilter};
    let author_ids: Vec<i64> = listed.iter().map(|post| post.author_id).collect();
    let authors: HashMap<i64, actor::Model> = actor::Entity::find()
        .filter(actor::Column::Id.is_in(author_ids))
        .all(&context.db)
        .await?
        .into_iter()
        .map(|author| (author.id, author))
        .collect();
    let votes: HashMap<i64, i16> = match caller {
        Some(caller) => posts::votes_by(
            &context.db,
            caller.account.actor.id,
            listed.iter().map(|post| post.id).collect(),
        )
        .await?
        .into_iter()
        .collect(),
        None => HashMap::new(),
    };
    Ok(listed
        .into_iter()
        .map(|post| {
            let author = authors.get(&post.author_id).map_or(
                AuthorJson {
                    name: String::new(),
                    url: String::new(),
                    local: false,
                },
                |author| AuthorJson {
                    name: author.preferred_username.clone(),
                    url: author.ap_id.clone(),
                    local: author.local,
                },
            );
            let deleted = post.deleted_at.is_some();
            let removed = post.removed_at.is_some();
            let (content_html, content_markdown, title) = if removed {
                (String::new(), None, None)
            } else {
                (post.content_html, post.source_markdown, post.title)
            };
            PostJson {
                id: post.id,
                url: post.ap_id.clone(),
                group: group_name.to_string(),
                author,
                parent_id: post.parent_id,
                thread_id: post.thread_id,
                title,
                content_html,
                content_markdown,
                published: post.published_at,
                updated: post.updated_at,
                deleted,
                removed,
                locked: post.locked,
                pinned: post.pinned_at.is_some(),
                awaiting_approval: post.awaiting_approval,
                likes: post.like_count,
                dislikes: post.dislike_count,
                reply_count: post.reply_count,
                my_vote: votes.get(&post.id).copied().unwrap_or(0),
            }
        })
        .collect())
}

#[derive(Deserialize)]
pub struct ThreadsQuery {
    #[serde(default)]
    sort: ThreadOrder,
}

async fn list_threads(
    context: Context,
    MaybeApiUser(caller): MaybeApiUser,
    Path(name): Path<String>,
    Query(query): Query<ThreadsQuery>,
) -> ApiResult<Json<Vec<PostJson>>> {
    let group = directory::find_group(&context.db, &name).await?;
    let threads = posts::list_threads(&context.db, group.id, query.sort, 50).await?;
    Ok(Json(
        posts_json(
            &context,
            caller.as_ref(),
            &directory::actor_handle(&group),
            threads,
        )
        .await?,
    ))
}

#[derive(Deserialize)]
pub struct ThreadRequest {
    title: String,
    #[serde(default)]
    body: String,
}

async fn create_thread(
    context: Context,
    ApiUser(caller): ApiUser,
    Path(name): Path<String>,
    ApiJson(request): ApiJson<ThreadRequest>,
) -> ApiResult<Response> {
    let group = directory::find_group(&context.db, &name).await?;
    let thread = create_or_update::send_new_post(
        &context,
        &caller.account.actor,
        &group,
        None,
        posts::Draft {
            title: Some(request.title),
            markdown: request.body,
        },
    )
    .await?;
    let body = one_post_json(&context, &caller, &group, thread).await?;
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

#[derive(Serialize)]
pub struct ThreadJson {
    thread: PostJson,
    /// Every reply, oldest first; `parent_id` gives the nesting.
    replies: Vec<PostJson>,
}

async fn thread(
    context: Context,
    MaybeApiUser(caller): MaybeApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<ThreadJson>> {
    let found = find_post(&context, &id).await?;
    let thread = match found.thread_id {
        Some(thread_id) => {
            crate::database::unique_row(post::Entity::find_by_id(thread_id), &context.db)
                .await?
                .ok_or_else(|| Error::not_found("post"))?
        }
        None => found,
    };
    let group =
        crate::database::unique_row(actor::Entity::find_by_id(thread.group_id), &context.db)
            .await?
            .ok_or_else(|| Error::not_found("group"))?;
    if thread.awaiting_approval {
        let allowed = match &caller {
            Some(caller) => {
                crate::groups::moderation::may_see_held(
                    &context.db,
                    &group,
                    &thread,
                    caller.account.actor.id,
                    caller.account.user.is_admin,
                )
                .await?
            }
            None => false,
        };
        if !allowed {
            return Err(Error::not_found("post").into());
        }
    }
    let all = posts::thread_with_replies(&context.db, &thread).await?;
    let mut listed = posts_json(
        &context,
        caller.as_ref(),
        &directory::actor_handle(&group),
        all,
    )
    .await?;
    let thread = listed.remove(0);
    Ok(Json(ThreadJson {
        thread,
        replies: listed,
    }))
}

#[derive(Deserialize)]
pub struct ReplyRequest {
    body: String,
}

async fn reply(
    context: Context,
    ApiUser(caller): ApiUser,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<ReplyRequest>,
) -> ApiResult<Response> {
    let parent = find_post(&context, &id).await?;
    let group =
        crate::database::unique_row(actor::Entity::find_by_id(parent.group_id), &context.db)
            .await?
            .ok_or_else(|| Error::not_found("group"))?;
    let created = create_or_update::send_new_post(
        &context,
        &caller.account.actor,
        &group,
        Some(&parent),
        posts::Draft {
            title: None,
            markdown: request.body,
        },
    )
    .await?;
    let body = one_post_json(&context, &caller, &group, created).await?;
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

#[derive(Deserialize)]
pub struct EditRequest {
    title: Option<String>,
    body: String,
}

async fn edit_post(
    context: Context,
    ApiUser(caller): ApiUser,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<EditRequest>,
) -> ApiResult<Json<PostJson>> {
    let existing = find_post(&context, &id).await?;
    let group =
        crate::database::unique_row(actor::Entity::find_by_id(existing.group_id), &context.db)
            .await?
            .ok_or_else(|| Error::not_found("group"))?;
    // A thread keeps its title when the edit leaves it out.
    let title = match (existing.parent_id, request.title) {
        (Some(_), title) => title,
        (None, Some(title)) => Some(title),
        (None, None) => existing.title.clone(),
    };
    let edited = create_or_update::send_edit(
        &context,
        &caller.account.actor,
        existing,
        posts::Draft {
            title,
            markdown: request.body,
        },
    )
    .await?;
    let body = one_post_json(&context, &caller, &group, edited).await?;
    Ok(Json(body))
}

async fn delete_post(
    context: Context,
    ApiUser(caller): ApiUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let existing = find_post(&context, &id).await?;
    delete::send_delete(&context, &caller.account.actor, existing).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct VoteRequest {
    /// 1 (like), -1 (dislike) or 0 (no vote).
    value: i16,
}

#[derive(Serialize)]
pub struct VoteResponse {
    likes: i32,
    dislikes: i32,
    my_vote: i16,
}

async fn cast_vote(
    context: Context,
    ApiUser(caller): ApiUser,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<VoteRequest>,
) -> ApiResult<Json<VoteResponse>> {
    if !matches!(request.value, -1..=1) {
        return Err(Error::invalid("a vote is 1, -1 or 0").into());
    }
    let target = find_post(&context, &id).await?;
    vote::send_vote(&context, &caller.account.actor, &target, request.value).await?;
    let counted = find_post(&context, &id).await?;
    Ok(Json(VoteResponse {
        likes: counted.like_count,
        dislikes: counted.dislike_count,
        my_vote: request.value,
    }))
}

#[derive(Serialize)]
pub struct PersonJson {
    id: i64,
    name: String,
    url: String,
    local: bool,
}

fn person_json(person: &actor::Model) -> PersonJson {
    PersonJson {
        id: person.id,
        name: person.preferred_username.clone(),
        url: person.ap_id.clone(),
        local: person.local,
    }
}

#[derive(Serialize)]
pub struct RequestJson {
    person: PersonJson,
    requested_at: DateTime<Utc>,
}

async fn require_moderator_of(
    context: &Context,
    caller: &sessions::SignedIn,
    group: &actor::Model,
) -> Result<(), Error> {
    crate::groups::moderation::require_moderator(
        &context.db,
        group,
        caller.account.actor.id,
        caller.account.user.is_admin,
    )
    .await
}

async fn list_requests(
    context: Context,
    ApiUser(caller): ApiUser,
    Path(name): Path<String>,
) -> ApiResult<Json<Vec<RequestJson>>> {
    let group = directory::find_local_group(&context.db, &name).await?;
    require_moderator_of(&context, &caller, &group).await?;
    let pending = crate::groups::moderation::pending_requests(&context.db, group.id).await?;
    Ok(Json(
        pending
            .into_iter()
            .map(|(request, person)| RequestJson {
                person: person_json(&person),
                requested_at: request.created_at,
            })
            .collect(),
    ))
}

async fn decide_request(
    context: Context,
    ApiUser(caller): ApiUser,
    Path((name, member, decision)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let group = directory::find_local_group(&context.db, &name).await?;
    let member = find_actor(&context, &member).await?;
    let approve = match decision.as_str() {
        "approve" => true,
        "refuse" => false,
        _ => return Err(Error::not_found("API endpoint").into()),
    };
    follow::send_join_decision(&context, &caller.account.actor, &group, &member, approve).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize)]
pub struct ModeratorJson {
    person: PersonJson,
    /// "owner" or "moderator".
    role: &'static str,
}

async fn list_moderators(
    context: Context,
    Path(name): Path<String>,
) -> ApiResult<Json<Vec<ModeratorJson>>> {
    let group = directory::find_local_group(&context.db, &name).await?;
    let listed = crate::groups::moderation::moderators(&context.db, group.id).await?;
    Ok(Json(
        listed
            .into_iter()
            .map(|(role, person)| ModeratorJson {
                person: person_json(&person),
                role: if role == kindred_entities::membership::MembershipRole::Owner {
                    "owner"
                } else {
                    "moderator"
                },
            })
            .collect(),
    ))
}

async fn appoint_moderator(
    context: Context,
    ApiUser(caller): ApiUser,
    Path((name, member)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    change_moderator(context, caller, name, member, ModeratorChange::Appoint).await
}

async fn dismiss_moderator(
    context: Context,
    ApiUser(caller): ApiUser,
    Path((name, member)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    change_moderator(context, caller, name, member, ModeratorChange::Dismiss).await
}

async fn change_moderator(
    context: Context,
    caller: sessions::SignedIn,
    name: String,
    member: String,
    change: ModeratorChange,
) -> ApiResult<StatusCode> {
    let group = directory::find_local_group(&context.db, &name).await?;
    let member = find_actor(&context, &member).await?;
    crate::federation::activities::add_or_remove::send_moderator_change(
        &context,
        &caller.account.actor,
        &group,
        &member,
        change,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize)]
pub struct LogEntryJson {
    action: String,
    moderator: PersonJson,
    target_person: Option<PersonJson>,
    target_post_id: Option<i64>,
    reason: Option<String>,
    created_at: DateTime<Utc>,
}

async fn moderation_log(
    context: Context,
    Path(name): Path<String>,
) -> ApiResult<Json<Vec<LogEntryJson>>> {
    let group = directory::find_local_group(&context.db, &name).await?;
    let entries = crate::groups::moderation::log_entries(&context.db, group.id, 200).await?;
    let mut listed = Vec::with_capacity(entries.len());
    for entry in entries {
        let moderator =
            crate::database::unique_row(actor::Entity::find_by_id(entry.moderator_id), &context.db)
                .await?
                .ok_or_else(|| Error::not_found("moderator"))?;
        let target_person = match entry.target_actor_id {
            Some(id) => crate::database::unique_row(actor::Entity::find_by_id(id), &context.db)
                .await?
                .map(|person| person_json(&person)),
            None => None,
        };
        listed.push(LogEntryJson {
            action: entry.action,
            moderator: person_json(&moderator),
            target_person,
            target_post_id: entry.target_post_id,
            reason: entry.reason,
            created_at: entry.created_at,
        });
    }
    Ok(Json(listed))
}

#[derive(Deserialize, Default)]
pub struct ModerateRequest {
    reason: Option<String>,
}

/// `POST /posts/{id}/moderate/{remove|restore|lock|unlock}`; a body (with a `reason`) is
/// optional.
async fn moderate_post(
    context: Context,
    ApiUser(caller): ApiUser,
    Path((id, action)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> ApiResult<Json<PostJson>> {
    let request: ModerateRequest = if body.is_empty() {
        ModerateRequest::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|error| Error::invalid(format!("malformed body: {error}")))?
    };
    let target = find_post(&context, &id).await?;
    let moderator = &caller.account.actor;
    let changed = match action.as_str() {
        "remove" => {
            delete::send_removal(&context, moderator, target, request.reason.as_deref()).await?
        }
        "restore" => undo::send_restore(&context, moderator, target).await?,
        "lock" => {
            crate::federation::activities::lock::send_lock(&context, moderator, target, true)
                .await?
        }
        "unlock" => {
            crate::federation::activities::lock::send_lock(&context, moderator, target, false)
                .await?
        }
        "pin" => {
            crate::federation::activities::add_or_remove::send_pin(
                &context, moderator, target, true,
            )
            .await?
        }
        "approve" => create_or_update::send_approval(&context, moderator, target).await?,
        "unpin" => {
            crate::federation::activities::add_or_remove::send_pin(
                &context, moderator, target, false,
            )
            .await?
        }
        _ => return Err(Error::not_found("API endpoint").into()),
    };
    let group =
        crate::database::unique_row(actor::Entity::find_by_id(changed.group_id), &context.db)
            .await?
            .ok_or_else(|| Error::not_found("group"))?;
    let body = one_post_json(&context, &caller, &group, changed).await?;
    Ok(Json(body))
}

#[derive(Serialize)]
pub struct BanJson {
    id: i64,
    person: Option<PersonJson>,
    /// A server banned as a whole.
    server: Option<String>,
    reason: Option<String>,
    expires_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

async fn list_bans(
    context: Context,
    ApiUser(caller): ApiUser,
    Path(name): Path<String>,
) -> ApiResult<Json<Vec<BanJson>>> {
    let group = directory::find_local_group(&context.db, &name).await?;
    require_moderator_of(&context, &caller, &group).await?;
    let mut listed = Vec::new();
    for ban in crate::groups::moderation::bans(&context.db, group.id).await? {
        let person = match ban.actor_id {
            Some(id) => crate::database::unique_row(actor::Entity::find_by_id(id), &context.db)
                .await?
                .map(|person| person_json(&person)),
            None => None,
        };
        listed.push(BanJson {
            id: ban.id,
            person,
            server: ban.host,
            reason: ban.reason,
            expires_at: ban.expires_at,
            created_at: ban.created_at,
        });
    }
    Ok(Json(listed))
}

#[derive(Deserialize)]
pub struct BanRequest {
    /// A person, by the id the other endpoints list…
    person_id: Option<i64>,
    /// …or a whole server, by host.
    server: Option<String>,
    reason: Option<String>,
    /// Left out: until lifted.
    expires_in_days: Option<i64>,
    #[serde(default)]
    remove_content: bool,
}

async fn create_ban(
    context: Context,
    ApiUser(caller): ApiUser,
    Path(name): Path<String>,
    ApiJson(request): ApiJson<BanRequest>,
) -> ApiResult<StatusCode> {
    use crate::groups::moderation::{Ban, BanTarget};
    let group = directory::find_local_group(&context.db, &name).await?;
    let expires_at = match request.expires_in_days {
        None => None,
        Some(days) if (1..=36_500).contains(&days) => {
            Some(Utc::now() + chrono::Duration::days(days))
        }
        Some(_) => return Err(Error::invalid("a ban lasts 1 to 36500 days").into()),
    };
    let decision = Ban {
        reason: request.reason.as_deref(),
        expires_at,
        remove_content: request.remove_content,
    };
    let moderator = &caller.account.actor;
    match (request.person_id, request.server.as_deref()) {
        (Some(id), None) => {
            let person = find_actor(&context, &id.to_string()).await?;
            crate::federation::activities::block::send_ban(
                &context,
                moderator,
                &group,
                BanTarget::Person(&person),
                decision,
            )
            .await?;
        }
        (None, Some(server)) => {
            crate::federation::activities::block::send_ban(
                &context,
                moderator,
                &group,
                BanTarget::Server(server),
                decision,
            )
            .await?;
        }
        _ => return Err(Error::invalid("give either person_id or server").into()),
    }
    Ok(StatusCode::CREATED)
}

async fn lift_ban(
    context: Context,
    ApiUser(caller): ApiUser,
    Path((name, ban_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let group = directory::find_local_group(&context.db, &name).await?;
    let ban_id: i64 = ban_id.parse().map_err(|_| Error::not_found("ban"))?;
    crate::federation::activities::block::send_unban_by_id(
        &context,
        &caller.account.actor,
        &group,
        ban_id,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn approval_queue(
    context: Context,
    ApiUser(caller): ApiUser,
    Path(name): Path<String>,
) -> ApiResult<Json<Vec<PostJson>>> {
    let group = directory::find_local_group(&context.db, &name).await?;
    require_moderator_of(&context, &caller, &group).await?;
    let waiting = crate::groups::moderation::approval_queue(&context.db, group.id).await?;
    Ok(Json(
        posts_json(
            &context,
            Some(&caller),
            &directory::actor_handle(&group),
            waiting,
        )
        .await?,
    ))
}

#[derive(Deserialize)]
pub struct ReportRequest {
    reason: Option<String>,
    /// Also send the report to the author's server.
    #[serde(default)]
    tell_author_server: bool,
}

async fn report_post(
    context: Context,
    ApiUser(caller): ApiUser,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<ReportRequest>,
) -> ApiResult<StatusCode> {
    let target = find_post(&context, &id).await?;
    crate::federation::activities::flag::send_report(
        &context,
        &caller.account.actor,
        &target,
        request.reason.as_deref(),
        request.tell_author_server,
    )
    .await?;
    Ok(StatusCode::CREATED)
}

#[derive(Serialize)]
pub struct ReportJson {
    id: i64,
    post_id: i64,
    reporter: PersonJson,
    reason: Option<String>,
    /// "open", "resolved" or "dismissed".
    state: &'static str,
    created_at: DateTime<Utc>,
}

#[derive(Deserialize)]
pub struct ReportsQuery {
    /// "open" (the default) or "all".
    #[serde(default)]
    state: Option<String>,
}

async fn list_reports(
    context: Context,
    ApiUser(caller): ApiUser,
    Path(name): Path<String>,
    Query(query): Query<ReportsQuery>,
) -> ApiResult<Json<Vec<ReportJson>>> {
    use kindred_entities::report::ReportState;
    let group = directory::find_local_group(&context.db, &name).await?;
    require_moderator_of(&context, &caller, &group).await?;
    let open_only = match query.state.as_deref() {
        None | Some("open") => true,
        Some("all") => false,
        Some(_) => return Err(Error::invalid("state is open or all").into()),
    };
    let mut listed = Vec::new();
    for report in crate::groups::moderation::reports(&context.db, group.id, open_only).await? {
        let reporter =
            crate::database::unique_row(actor::Entity::find_by_id(report.reporter_id), &context.db)
                .await?
                .ok_or_else(|| Error::not_found("reporter"))?;
        listed.push(ReportJson {
            id: report.id,
            post_id: report.post_id,
            reporter: person_json(&reporter),
            reason: report.reason,
            state: match report.state {
                ReportState::Open => "open",
                ReportState::Resolved => "resolved",
                ReportState::Dismissed => "dismissed",
            },
            created_at: report.created_at,
        });
    }
    Ok(Json(listed))
}

async fn close_report(
    context: Context,
    ApiUser(caller): ApiUser,
    Path((name, report_id, decision)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let group = directory::find_local_group(&context.db, &name).await?;
    require_moderator_of(&context, &caller, &group).await?;
    let report_id: i64 = report_id.parse().map_err(|_| Error::not_found("report"))?;
    let resolved = match decision.as_str() {
        "resolve" => true,
        "dismiss" => false,
        _ => return Err(Error::not_found("API endpoint").into()),
    };
    crate::groups::moderation::close_report(
        &context.db,
        &group,
        report_id,
        resolved,
        &caller.account.actor,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

fn require_admin(caller: &sessions::SignedIn) -> Result<(), Error> {
    if caller.account.user.is_admin {
        Ok(())
    } else {
        Err(Error::Forbidden("only administrators may do this".into()))
    }
}

/// `DELETE /groups/{name}` (administrators): the group is removed and its members' servers
/// told.
async fn remove_group(
    context: Context,
    ApiUser(caller): ApiUser,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    require_admin(&caller)?;
    let group = directory::find_local_group(&context.db, &name).await?;
    delete::send_actor_deletion(&context, group).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /users/{name}` (administrators): the account is removed and the servers of its
/// groups told.
async fn remove_user(
    context: Context,
    ApiUser(caller): ApiUser,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    require_admin(&caller)?;
    let account = users::find_by_name(&context.db, &name)
        .await?
        .filter(|account| account.actor.deleted_at.is_none())
        .ok_or_else(|| Error::not_found("user"))?;
    if account.user.id == caller.account.user.id {
        return Err(Error::invalid("an administrator cannot remove themselves here").into());
    }
    delete::send_actor_deletion(&context, account.actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A person by row id (as listed by the requests and moderators endpoints).
async fn find_actor(context: &Context, id: &str) -> Result<actor::Model, Error> {
    let id: i64 = id.parse().map_err(|_| Error::not_found("person"))?;
    crate::database::unique_row(actor::Entity::find_by_id(id), &context.db)
        .await?
        .ok_or_else(|| Error::not_found("person"))
}

/// The post with this id; an id that is not a number is simply not found.
async fn find_post(context: &Context, id: &str) -> Result<post::Model, Error> {
    let id: i64 = id.parse().map_err(|_| Error::not_found("post"))?;
    crate::database::unique_row(post::Entity::find_by_id(id), &context.db)
        .await?
        .ok_or_else(|| Error::not_found("post"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;
