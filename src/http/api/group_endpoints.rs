//! API for groups: the directory, a group's profile, creating, editing and removing groups, and
//! joining and leaving them.

use super::*;

#[derive(Serialize)]
pub struct GroupJson {
    pub(super) name: String,
    pub(super) handle: String,
    pub(super) title: String,
    pub(super) summary_html: Option<String>,
    pub(super) summary_markdown: Option<String>,
    pub(super) url: String,
    pub(super) local: bool,
    pub(super) member_count: u64,
    /// The caller's membership: "accepted", "pending" or null.
    pub(super) membership: Option<&'static str>,
    /// The caller's role when a member: "owner", "moderator" or "member".
    pub(super) role: Option<&'static str>,
    pub(super) posting_mode: ApiPostingMode,
    pub(super) manually_approves_followers: bool,
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
    })
}

#[derive(Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    pub(super) q: String,
}

pub(super) async fn list_groups(
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
    pub(super) name: String,
    pub(super) title: String,
    pub(super) summary: Option<String>,
}

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

pub(super) async fn group(
    context: Context,
    MaybeApiUser(caller): MaybeApiUser,
    Path(name): Path<String>,
) -> ApiResult<Json<GroupJson>> {
    let group = directory::find_group(&context.db, &name).await?;
    Ok(Json(group_json(&context, caller.as_ref(), group).await?))
}

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

#[derive(Deserialize)]
pub struct EditGroupRequest {
    pub(super) title: String,
    pub(super) summary: Option<String>,
    pub(super) icon_url: Option<String>,
    pub(super) posting_mode: Option<ApiPostingMode>,
    pub(super) manually_approves_followers: Option<bool>,
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
    let edited = crate::actions::groups::edit_group(
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

/// `DELETE /groups/{name}` (administrators): the group is removed and its members' servers
/// told.
pub(super) async fn remove_group(
    context: Context,
    ApiUser(caller): ApiUser,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    let remover = Remover::administrator(&caller.account)?;
    crate::actions::accounts::remove_group(&context, remover, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}
