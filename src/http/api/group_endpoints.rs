//! API for groups: the directory, a group's profile, creating, editing and removing groups, and
//! joining and leaving them.

use super::*;

#[derive(Serialize, ToSchema)]
#[schema(as = Group)]
pub struct GroupJson {
    pub(super) name: String,
    pub(super) handle: String,
    pub(super) title: String,
    pub(super) summary_html: Option<String>,
    pub(super) summary_markdown: Option<String>,
    #[schema(format = Uri)]
    pub(super) url: String,
    pub(super) local: bool,
    pub(super) member_count: u64,
    /// The caller's membership, if any.
    #[schema(schema_with = openapi::nullable_enum::<MembershipJson>)]
    pub(super) membership: Option<MembershipJson>,
    /// The caller's role when a member.
    #[schema(schema_with = openapi::nullable_enum::<RoleJson>)]
    pub(super) role: Option<RoleJson>,
    #[schema(inline)]
    pub(super) posting_mode: ApiPostingMode,
    pub(super) manually_approves_followers: bool,
    /// Not safe for work (NSFW).
    pub(super) sensitive: bool,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MembershipJson {
    Accepted,
    Pending,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RoleJson {
    Owner,
    Moderator,
    Member,
}

pub(super) async fn group_json(
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
        MembershipState::Accepted => MembershipJson::Accepted,
        MembershipState::Pending => MembershipJson::Pending,
    });
    let role = found
        .as_ref()
        .filter(|found| found.state == MembershipState::Accepted)
        .map(|found| match found.role {
            kindred_entities::membership::MembershipRole::Owner => RoleJson::Owner,
            kindred_entities::membership::MembershipRole::Moderator => RoleJson::Moderator,
            kindred_entities::membership::MembershipRole::Member => RoleJson::Member,
        });
    let handle = directory::full_handle(&context.config.domain(), &group);
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
        sensitive: group.sensitive,
    })
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Search in names, titles and summaries.
    #[serde(default)]
    pub(super) q: String,
}

/// The group directory, local groups first
#[utoipa::path(
    get,
    path = "/groups",
    operation_id = "listGroups",
    security((), ("bearer" = [])),
    params(SearchQuery, PageParams),
    responses(
        (status = 200, description = "Groups, a page of them.", body = Vec<GroupJson>,
            headers(("Link" = String, description = "`<…>; rel=\"next\"`: the next page, when there is one (follow it as it is)."))),
        (status = 400, description = BAD_CURSOR, body = ErrorBody),
    ),
)]
pub(super) async fn list_groups(
    context: Context,
    MaybeApiUser(caller): MaybeApiUser,
    Query(query): Query<SearchQuery>,
    Query(paging): Query<PageParams>,
) -> ApiResult<Response> {
    let (after, length) = paging.start_and_length()?;
    let groups = directory::search_groups(&context.read_db, &query.q, after, length + 1).await?;
    let (groups, next) = crate::paging::page_by_id(groups, length, |group| group.id);
    let mut listed = Vec::new();
    for group in groups {
        listed.push(group_json(&context, caller.as_ref(), group).await?);
    }
    let next = paging.next_url(&context, "/groups", &[("q", &query.q)], next);
    Ok(with_next_link(Json(listed).into_response(), next))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = CreateGroupRequest)]
pub struct CreateGroupRequest {
    #[schema(pattern = "^[a-z0-9_]{1,64}$")]
    pub(super) name: String,
    #[schema(max_length = 200)]
    pub(super) title: String,
    /// Markdown.
    pub(super) summary: Option<String>,
}

/// Create a group; the creator is its first member
#[utoipa::path(
    post,
    path = "/groups",
    operation_id = "createGroup",
    security(("bearer" = [])),
    request_body = CreateGroupRequest,
    responses(
        (status = 201, description = "The new group.", body = GroupJson),
        (status = 401, description = UNAUTHORIZED, body = ErrorBody),
        (status = 403, description = FORBIDDEN, body = ErrorBody),
        (status = 409, description = "The name is taken by a group or a person.", body = ErrorBody),
        (status = 422, description = INVALID, body = ErrorBody),
    ),
)]
pub(super) async fn create_group(
    context: Context,
    ApiUser(caller): ApiUser,
    ApiJson(request): ApiJson<CreateGroupRequest>,
) -> ApiResult<Response> {
    let group = crate::actions::groups::create_group(
        &context,
        &caller,
        NewGroup {
            name: request.name.trim(),
            title: &request.title,
            summary_markdown: request.summary.as_deref(),
        },
    )
    .await?;
    let body = group_json(&context, Some(&caller), group).await?;
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// One group: local by name, or a remote one this instance knows by name@host
#[utoipa::path(
    get,
    path = "/groups/{name}",
    operation_id = "getGroup",
    security((), ("bearer" = [])),
    params(("name" = String, Path, description = GROUP_NAME)),
    responses(
        (status = 200, description = "The group.", body = GroupJson),
        (status = 404, description = NOT_FOUND, body = ErrorBody),
    ),
)]
pub(super) async fn group(
    context: Context,
    MaybeApiUser(caller): MaybeApiUser,
    Path(name): Path<String>,
) -> ApiResult<Json<GroupJson>> {
    let group = directory::find_group(&context.db, &name).await?;
    Ok(Json(group_json(&context, caller.as_ref(), group).await?))
}

/// Join the group: at once, or pending while a moderator or the remote group's server has not
/// accepted
#[utoipa::path(
    post,
    path = "/groups/{name}/membership",
    operation_id = "joinGroup",
    security(("bearer" = [])),
    params(("name" = String, Path, description = GROUP_NAME)),
    responses(
        (status = 200, description = "The group, with `membership` set.", body = GroupJson),
        (status = 401, description = UNAUTHORIZED, body = ErrorBody),
        (status = 404, description = NOT_FOUND, body = ErrorBody),
    ),
)]
pub(super) async fn join_group(
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
    crate::actions::groups::join(&context, &caller.account.actor, &group).await?;
    Ok(Json(group_json(&context, Some(&caller), group).await?))
}

/// Leave the group (or withdraw a request)
#[utoipa::path(
    delete,
    path = "/groups/{name}/membership",
    operation_id = "leaveGroup",
    security(("bearer" = [])),
    params(("name" = String, Path, description = GROUP_NAME)),
    responses(
        (status = 204, description = "Left."),
        (status = 401, description = UNAUTHORIZED, body = ErrorBody),
        (status = 404, description = NOT_FOUND, body = ErrorBody),
    ),
)]
pub(super) async fn leave_group(
    context: Context,
    ApiUser(caller): ApiUser,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    let group = directory::find_group(&context.db, &name).await?;
    if !crate::actions::groups::leave(&context, &caller.account.actor, &group).await? {
        return Err(Error::not_found("membership").into());
    }
    Ok(StatusCode::NO_CONTENT)
}

/// What is left out stays as it is.
#[derive(Deserialize, ToSchema)]
#[schema(as = EditGroupRequest)]
pub struct EditGroupRequest {
    #[schema(max_length = 200)]
    pub(super) title: String,
    /// Markdown; left out keeps it, empty clears it.
    pub(super) summary: Option<String>,
    /// A picture's address: one uploaded with `POST /api/v1/media`, or elsewhere (shown
    /// through this instance's media proxy); empty removes it.
    #[schema(format = Uri)]
    pub(super) icon_url: Option<String>,
    /// The banner, as the icon.
    #[serde(default)]
    #[schema(format = Uri)]
    pub(super) banner_url: Option<String>,
    #[schema(inline, nullable = false)]
    pub(super) posting_mode: Option<ApiPostingMode>,
    #[schema(nullable = false)]
    pub(super) manually_approves_followers: Option<bool>,
    /// Not safe for work (NSFW); left out keeps it.
    #[schema(nullable = false)]
    pub(super) sensitive: Option<bool>,
}

/// Who may post: `open` anyone, `members` accepted members, `moderators` only the owner and
/// moderators, `premoderated` members, each post waiting for a moderator's approval.
#[derive(Deserialize, Serialize, Clone, Copy, ToSchema)]
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

/// Edit a local group's title, summary and icon (its owner or an administrator); members'
/// servers get Update{Group}
#[utoipa::path(
    patch,
    path = "/groups/{name}",
    operation_id = "editGroup",
    security(("bearer" = [])),
    params(("name" = String, Path, description = GROUP_NAME)),
    request_body = EditGroupRequest,
    responses(
        (status = 200, description = "The edited group.", body = GroupJson),
        (status = 401, description = UNAUTHORIZED, body = ErrorBody),
        (status = 403, description = FORBIDDEN, body = ErrorBody),
        (status = 404, description = NOT_FOUND, body = ErrorBody),
        (status = 422, description = INVALID, body = ErrorBody),
    ),
)]
pub(super) async fn edit_group(
    context: Context,
    ApiUser(caller): ApiUser,
    Path(name): Path<String>,
    ApiJson(request): ApiJson<EditGroupRequest>,
) -> ApiResult<Json<GroupJson>> {
    let group = directory::find_local_group(&context.db, &name).await?;
    // A field left out keeps its value; an empty string clears it.
    let summary = request.summary.or_else(|| group.summary_source.clone());
    let icon_url = request.icon_url.or_else(|| group.icon_url.clone());
    let banner_url = request.banner_url.or_else(|| group.image_url.clone());
    let edited = crate::actions::groups::edit_group(
        &context,
        &caller.account.actor,
        group,
        directory::GroupProfile {
            title: &request.title,
            summary_markdown: summary.as_deref(),
            icon_url: icon_url.as_deref(),
            banner_url: banner_url.as_deref(),
            manually_approves_followers: request.manually_approves_followers,
            sensitive: request.sensitive,
        },
        request.posting_mode.map(Into::into),
    )
    .await?;
    Ok(Json(group_json(&context, Some(&caller), edited).await?))
}

/// Remove a local group (administrators); its members' servers get Delete
#[utoipa::path(
    delete,
    path = "/groups/{name}",
    operation_id = "removeGroup",
    security(("bearer" = [])),
    params(("name" = String, Path, description = GROUP_NAME)),
    responses(
        (status = 204, description = "Removed."),
        (status = 401, description = UNAUTHORIZED, body = ErrorBody),
        (status = 403, description = FORBIDDEN, body = ErrorBody),
        (status = 404, description = NOT_FOUND, body = ErrorBody),
    ),
)]
pub(super) async fn remove_group(
    context: Context,
    ApiUser(caller): ApiUser,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    let remover = Remover::administrator(&caller.account)?;
    crate::actions::accounts::remove_group(&context, remover, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}
