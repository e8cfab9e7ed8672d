//! API for moderation: join requests, moderators, the log, removals, locks and pins, bans,
//! the approval queue and reports.

use super::*;
use crate::actions::moderation::{self as moderation_actions, JoinDecision, ReportClosing};

#[derive(Serialize, ToSchema)]
#[schema(as = Person)]
pub struct PersonJson {
    pub(super) id: i64,
    pub(super) name: String,
    #[schema(format = Uri)]
    pub(super) url: String,
    pub(super) local: bool,
}

pub(super) fn person_json(person: &actor::Model) -> PersonJson {
    PersonJson {
        id: person.id,
        name: person.preferred_username.clone(),
        url: person.ap_id.clone(),
        local: person.local,
    }
}

#[derive(Serialize, ToSchema)]
#[schema(as = JoinRequest)]
pub struct RequestJson {
    pub(super) person: PersonJson,
    pub(super) requested_at: DateTime<Utc>,
}

pub(super) async fn require_moderator_of(
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

/// Join requests waiting for a moderator (moderators only)
#[utoipa::path(
    get,
    path = "/groups/{name}/requests",
    operation_id = "listJoinRequests",
    security(("bearer" = [])),
    params(("name" = String, Path, description = GROUP_NAME)),
    responses(
        (status = 200, description = "Requests, oldest first.", body = Vec<RequestJson>),
        (status = 401, description = UNAUTHORIZED, body = ErrorBody),
        (status = 403, description = FORBIDDEN, body = ErrorBody),
        (status = 404, description = NOT_FOUND, body = ErrorBody),
    ),
)]
pub(super) async fn list_requests(
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

/// Approve or refuse a join request; a remote person's server gets Accept or Reject
#[utoipa::path(
    post,
    path = "/groups/{name}/requests/{member}/{decision}",
    operation_id = "decideJoinRequest",
    security(("bearer" = [])),
    params(
        ("name" = String, Path, description = GROUP_NAME),
        ("member" = i64, Path, description = MEMBER_ID),
        ("decision" = inline(openapi::JoinDecisionParam), Path),
    ),
    responses(
        (status = 204, description = "Decided."),
        (status = 401, description = UNAUTHORIZED, body = ErrorBody),
        (status = 403, description = FORBIDDEN, body = ErrorBody),
        (status = 404, description = "No such group or pending request.", body = ErrorBody),
    ),
)]
pub(super) async fn decide_request(
    context: Context,
    ApiUser(caller): ApiUser,
    Path((name, member, decision)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let group = directory::find_local_group(&context.db, &name).await?;
    let member = find_actor(&context, &member).await?;
    let decision =
        JoinDecision::from_path(&decision).map_err(|_| Error::not_found("API endpoint"))?;
    moderation_actions::decide_join_request(
        &context,
        &caller.account.actor,
        &group,
        &member,
        decision,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
#[schema(as = Moderator)]
pub struct ModeratorJson {
    pub(super) person: PersonJson,
    #[schema(inline)]
    pub(super) role: ModeratorRole,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ModeratorRole {
    Owner,
    Moderator,
}

/// The group's owner and moderators
#[utoipa::path(
    get,
    path = "/groups/{name}/moderators",
    operation_id = "listModerators",
    params(("name" = String, Path, description = GROUP_NAME)),
    responses(
        (status = 200, description = "Owner first.", body = Vec<ModeratorJson>),
        (status = 404, description = NOT_FOUND, body = ErrorBody),
    ),
)]
pub(super) async fn list_moderators(
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
                    ModeratorRole::Owner
                } else {
                    ModeratorRole::Moderator
                },
            })
            .collect(),
    ))
}

/// Appoint a member as moderator (the owner or an administrator); federated as Add
#[utoipa::path(
    put,
    path = "/groups/{name}/moderators/{member}",
    operation_id = "appointModerator",
    security(("bearer" = [])),
    params(
        ("name" = String, Path, description = GROUP_NAME),
        ("member" = i64, Path, description = MEMBER_ID),
    ),
    responses(
        (status = 204, description = "Appointed."),
        (status = 401, description = UNAUTHORIZED, body = ErrorBody),
        (status = 403, description = FORBIDDEN, body = ErrorBody),
        (status = 404, description = NOT_FOUND, body = ErrorBody),
        (status = 422, description = "Not a member, or the owner.", body = ErrorBody),
    ),
)]
pub(super) async fn appoint_moderator(
    context: Context,
    ApiUser(caller): ApiUser,
    Path((name, member)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    change_moderator(context, caller, name, member, ModeratorChange::Appoint).await
}

/// Dismiss a moderator (the owner or an administrator); federated as Remove
#[utoipa::path(
    delete,
    path = "/groups/{name}/moderators/{member}",
    operation_id = "dismissModerator",
    security(("bearer" = [])),
    params(
        ("name" = String, Path, description = GROUP_NAME),
        ("member" = i64, Path, description = MEMBER_ID),
    ),
    responses(
        (status = 204, description = "Dismissed."),
        (status = 401, description = UNAUTHORIZED, body = ErrorBody),
        (status = 403, description = FORBIDDEN, body = ErrorBody),
        (status = 404, description = NOT_FOUND, body = ErrorBody),
        (status = 422, description = "Not a member, or the owner.", body = ErrorBody),
    ),
)]
pub(super) async fn dismiss_moderator(
    context: Context,
    ApiUser(caller): ApiUser,
    Path((name, member)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    change_moderator(context, caller, name, member, ModeratorChange::Dismiss).await
}

pub(super) async fn change_moderator(
    context: Context,
    caller: sessions::SignedIn,
    name: String,
    member: String,
    change: ModeratorChange,
) -> ApiResult<StatusCode> {
    let group = directory::find_local_group(&context.db, &name).await?;
    let member = find_actor(&context, &member).await?;
    moderation_actions::change_moderator(&context, &caller.account.actor, &group, &member, change)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
#[schema(as = LogEntry)]
pub struct LogEntryJson {
    #[schema(schema_with = openapi::log_action)]
    pub(super) action: String,
    pub(super) moderator: PersonJson,
    pub(super) target_person: Option<PersonJson>,
    pub(super) target_post_id: Option<i64>,
    pub(super) reason: Option<String>,
    pub(super) created_at: DateTime<Utc>,
}

/// The group's public moderation log, newest first
#[utoipa::path(
    get,
    path = "/groups/{name}/modlog",
    operation_id = "moderationLog",
    params(("name" = String, Path, description = GROUP_NAME), PageParams),
    responses(
        (status = 200, description = "Entries, a page of them.", body = Vec<LogEntryJson>,
            headers(("Link" = String, description = "`<…>; rel=\"next\"`: the next page, when there is one (follow it as it is)."))),
        (status = 400, description = BAD_CURSOR, body = ErrorBody),
        (status = 404, description = NOT_FOUND, body = ErrorBody),
    ),
)]
pub(super) async fn moderation_log(
    context: Context,
    Path(name): Path<String>,
    Query(paging): Query<PageParams>,
) -> ApiResult<Response> {
    let group = directory::find_local_group(&context.db, &name).await?;
    let (below, length) = paging.start_and_length()?;
    let entries =
        crate::groups::moderation::log_entries(&context.read_db, group.id, below, length + 1)
            .await?;
    let (entries, next) = crate::paging::page_by_id(entries, length, |entry| entry.id);
    let people = directory::actors_by_id(
        &context.read_db,
        entries
            .iter()
            .flat_map(|entry| [Some(entry.moderator_id), entry.target_actor_id])
            .flatten()
            .collect::<Vec<i64>>()
            .into_iter(),
    )
    .await?;
    let mut listed = Vec::with_capacity(entries.len());
    for entry in entries {
        let moderator = people.get(&entry.moderator_id).ok_or_else(|| {
            Error::internal(format!("moderator {} is missing", entry.moderator_id))
        })?;
        listed.push(LogEntryJson {
            action: entry.action,
            moderator: person_json(moderator),
            target_person: entry
                .target_actor_id
                .and_then(|id| people.get(&id))
                .map(person_json),
            target_post_id: entry.target_post_id,
            reason: entry.reason,
            created_at: entry.created_at,
        });
    }
    let next = paging.next_url(&context, &format!("/groups/{name}/modlog"), &[], next);
    Ok(with_next_link(Json(listed).into_response(), next))
}

#[derive(Deserialize, Default, ToSchema)]
pub struct ModerateRequest {
    /// Public: shown in the moderation log and sent to other servers (removals only).
    #[schema(max_length = 1000, nullable = false)]
    pub(super) reason: Option<String>,
}

/// Remove (with an optional public reason) or restore a post, lock, unlock, pin or unpin a
/// thread (the group's moderators or an administrator)
///
/// The body is optional.
#[utoipa::path(
    post,
    path = "/posts/{id}/moderate/{action}",
    operation_id = "moderatePost",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = POST_ID),
        ("action" = inline(openapi::PostModerationParam), Path),
    ),
    request_body(content = inline(Option<ModerateRequest>)),
    responses(
        (status = 200, description = "The post.", body = PostJson),
        (status = 401, description = UNAUTHORIZED, body = ErrorBody),
        (status = 403, description = FORBIDDEN, body = ErrorBody),
        (status = 404, description = NOT_FOUND, body = ErrorBody),
        (status = 410, description = "The author deleted it.", body = ErrorBody),
        (status = 422, description = INVALID, body = ErrorBody),
    ),
)]
pub(super) async fn moderate_post(
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
    let action = crate::actions::moderation::PostModeration::from_path(&action)
        .map_err(|_| Error::not_found("API endpoint"))?;
    let target = find_post(&context, &id).await?;
    let changed = crate::actions::moderation::moderate_post(
        &context,
        &caller.account.actor,
        target,
        action,
        request.reason.as_deref(),
    )
    .await?;
    let group = crate::actions::lookups::actor(&context.db, changed.group_id, "group").await?;
    let body = one_post_json(&context, &caller, &group, changed).await?;
    Ok(Json(body))
}

#[derive(Serialize, ToSchema)]
#[schema(as = Ban)]
pub struct BanJson {
    pub(super) id: i64,
    pub(super) person: Option<PersonJson>,
    /// A server banned as a whole.
    pub(super) server: Option<String>,
    pub(super) reason: Option<String>,
    pub(super) expires_at: Option<DateTime<Utc>>,
    pub(super) created_at: DateTime<Utc>,
}

/// Bans in force (moderators only)
#[utoipa::path(
    get,
    path = "/groups/{name}/bans",
    operation_id = "listBans",
    security(("bearer" = [])),
    params(("name" = String, Path, description = GROUP_NAME)),
    responses(
        (status = 200, description = "Bans, newest first.", body = Vec<BanJson>),
        (status = 401, description = UNAUTHORIZED, body = ErrorBody),
        (status = 403, description = FORBIDDEN, body = ErrorBody),
        (status = 404, description = NOT_FOUND, body = ErrorBody),
    ),
)]
pub(super) async fn list_bans(
    context: Context,
    ApiUser(caller): ApiUser,
    Path(name): Path<String>,
) -> ApiResult<Json<Vec<BanJson>>> {
    let group = directory::find_local_group(&context.db, &name).await?;
    require_moderator_of(&context, &caller, &group).await?;
    let mut listed = Vec::new();
    for ban in crate::groups::moderation::bans(&context.db, group.id).await? {
        let person = match ban.actor_id {
            Some(id) => crate::actions::lookups::actor_if_any(&context.db, id)
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

/// Give person_id or server.
#[derive(Deserialize, ToSchema)]
#[schema(as = BanRequest)]
pub struct BanRequest {
    /// A person, by the id the other endpoints list…
    #[schema(nullable = false)]
    pub(super) person_id: Option<i64>,
    /// …or a whole server, by host.
    #[schema(nullable = false)]
    pub(super) server: Option<String>,
    #[schema(max_length = 1000, nullable = false)]
    pub(super) reason: Option<String>,
    /// Left out: until lifted.
    #[schema(minimum = 1, maximum = 36500, nullable = false)]
    pub(super) expires_in_days: Option<i64>,
    #[serde(default)]
    pub(super) remove_content: bool,
}

/// Ban a person (federated as Block, announced and sent to their server) or a whole server;
/// their membership ends, their activities are refused
#[utoipa::path(
    post,
    path = "/groups/{name}/bans",
    operation_id = "createBan",
    security(("bearer" = [])),
    params(("name" = String, Path, description = GROUP_NAME)),
    request_body = BanRequest,
    responses(
        (status = 201, description = "Banned."),
        (status = 401, description = UNAUTHORIZED, body = ErrorBody),
        (status = 403, description = FORBIDDEN, body = ErrorBody),
        (status = 404, description = NOT_FOUND, body = ErrorBody),
        (status = 422, description = INVALID, body = ErrorBody),
    ),
)]
pub(super) async fn create_ban(
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
            moderation_actions::ban(
                &context,
                moderator,
                &group,
                BanTarget::Person(&person),
                decision,
            )
            .await?;
        }
        (None, Some(server)) => {
            moderation_actions::ban(
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

/// Lift a ban (federated as Undo{Block})
#[utoipa::path(
    delete,
    path = "/groups/{name}/bans/{ban}",
    operation_id = "liftBan",
    security(("bearer" = [])),
    params(
        ("name" = String, Path, description = GROUP_NAME),
        ("ban" = i64, Path, description = "The ban's id, from GET /groups/{name}/bans."),
    ),
    responses(
        (status = 204, description = "Lifted."),
        (status = 401, description = UNAUTHORIZED, body = ErrorBody),
        (status = 403, description = FORBIDDEN, body = ErrorBody),
        (status = 404, description = NOT_FOUND, body = ErrorBody),
    ),
)]
pub(super) async fn lift_ban(
    context: Context,
    ApiUser(caller): ApiUser,
    Path((name, ban_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let group = directory::find_local_group(&context.db, &name).await?;
    let ban_id: i64 = ban_id.parse().map_err(|_| Error::not_found("ban"))?;
    moderation_actions::lift_ban_by_id(&context, &caller.account.actor, &group, ban_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Posts waiting for approval in a pre-moderated group (moderators only); approve with POST
/// /posts/{id}/moderate/approve
#[utoipa::path(
    get,
    path = "/groups/{name}/queue",
    operation_id = "approvalQueue",
    security(("bearer" = [])),
    params(("name" = String, Path, description = GROUP_NAME)),
    responses(
        (status = 200, description = "Waiting posts, oldest first.", body = Vec<PostJson>),
        (status = 401, description = UNAUTHORIZED, body = ErrorBody),
        (status = 403, description = FORBIDDEN, body = ErrorBody),
        (status = 404, description = NOT_FOUND, body = ErrorBody),
    ),
)]
pub(super) async fn approval_queue(
    context: Context,
    ApiUser(caller): ApiUser,
    Path(name): Path<String>,
) -> ApiResult<Json<Vec<PostJson>>> {
    let group = directory::find_local_group(&context.db, &name).await?;
    require_moderator_of(&context, &caller, &group).await?;
    let waiting = crate::groups::moderation::approval_queue(&context.db, group.id).await?;
    Ok(Json(
        posts_json(&context, Some(&caller), &group, waiting).await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = ReportRequest)]
pub struct ReportRequest {
    #[schema(max_length = 2000, nullable = false)]
    pub(super) reason: Option<String>,
    /// Also send the report to the author's server.
    #[serde(default)]
    pub(super) tell_author_server: bool,
}

/// Report a post to its group's moderators (a Flag to a remote group or to remote moderators;
/// optionally to the author's server)
#[utoipa::path(
    post,
    path = "/posts/{id}/report",
    operation_id = "reportPost",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = POST_ID)),
    request_body = ReportRequest,
    responses(
        (status = 201, description = "Reported."),
        (status = 401, description = UNAUTHORIZED, body = ErrorBody),
        (status = 404, description = NOT_FOUND, body = ErrorBody),
        (status = 422, description = INVALID, body = ErrorBody),
    ),
)]
pub(super) async fn report_post(
    context: Context,
    ApiUser(caller): ApiUser,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<ReportRequest>,
) -> ApiResult<StatusCode> {
    let target = find_post(&context, &id).await?;
    moderation_actions::report_post(
        &context,
        &caller.account.actor,
        &target,
        request.reason.as_deref(),
        request.tell_author_server,
    )
    .await?;
    Ok(StatusCode::CREATED)
}

#[derive(Serialize, ToSchema)]
#[schema(as = Report)]
pub struct ReportJson {
    pub(super) id: i64,
    pub(super) post_id: i64,
    pub(super) reporter: PersonJson,
    pub(super) reason: Option<String>,
    #[schema(inline)]
    pub(super) state: ReportStateJson,
    pub(super) created_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReportStateJson {
    Open,
    Resolved,
    Dismissed,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportsQuery {
    /// Open reports only (the default), or all.
    #[serde(default)]
    #[param(schema_with = openapi::report_filter)]
    pub(super) state: Option<String>,
}

/// Reports about the group's posts (moderators only)
#[utoipa::path(
    get,
    path = "/groups/{name}/reports",
    operation_id = "listReports",
    security(("bearer" = [])),
    params(("name" = String, Path, description = GROUP_NAME), ReportsQuery, PageParams),
    responses(
        (status = 200, description = "Reports, newest first, a page of them.", body = Vec<ReportJson>,
            headers(("Link" = String, description = "`<…>; rel=\"next\"`: the next page, when there is one (follow it as it is)."))),
        (status = 400, description = BAD_CURSOR, body = ErrorBody),
        (status = 401, description = UNAUTHORIZED, body = ErrorBody),
        (status = 403, description = FORBIDDEN, body = ErrorBody),
        (status = 404, description = NOT_FOUND, body = ErrorBody),
        (status = 422, description = INVALID, body = ErrorBody),
    ),
)]
pub(super) async fn list_reports(
    context: Context,
    ApiUser(caller): ApiUser,
    Path(name): Path<String>,
    Query(query): Query<ReportsQuery>,
    Query(paging): Query<PageParams>,
) -> ApiResult<Response> {
    use kindred_entities::report::ReportState;
    let group = directory::find_local_group(&context.db, &name).await?;
    require_moderator_of(&context, &caller, &group).await?;
    let open_only = match query.state.as_deref() {
        None | Some("open") => true,
        Some("all") => false,
        Some(_) => return Err(Error::invalid("state is open or all").into()),
    };
    let (below, length) = paging.start_and_length()?;
    let reports = crate::groups::moderation::reports(
        &context.read_db,
        group.id,
        open_only,
        below,
        length + 1,
    )
    .await?;
    let (reports, next) = crate::paging::page_by_id(reports, length, |report| report.id);
    let reporters = directory::actors_by_id(
        &context.read_db,
        reports.iter().map(|report| report.reporter_id),
    )
    .await?;
    let mut listed = Vec::new();
    for report in reports {
        let reporter = reporters.get(&report.reporter_id).ok_or_else(|| {
            Error::internal(format!("reporter {} is missing", report.reporter_id))
        })?;
        listed.push(ReportJson {
            id: report.id,
            post_id: report.post_id,
            reporter: person_json(reporter),
            reason: report.reason,
            state: match report.state {
                ReportState::Open => ReportStateJson::Open,
                ReportState::Resolved => ReportStateJson::Resolved,
                ReportState::Dismissed => ReportStateJson::Dismissed,
            },
            created_at: report.created_at,
        });
    }
    let state = if open_only { "open" } else { "all" };
    let next = paging.next_url(
        &context,
        &format!("/groups/{name}/reports"),
        &[("state", state)],
        next,
    );
    Ok(with_next_link(Json(listed).into_response(), next))
}
/// Close a report as resolved or dismissed (moderators only)
#[utoipa::path(
    post,
    path = "/groups/{name}/reports/{report}/{decision}",
    operation_id = "closeReport",
    security(("bearer" = [])),
    params(
        ("name" = String, Path, description = GROUP_NAME),
        ("report" = i64, Path, description = "The report's id."),
        ("decision" = inline(openapi::ReportClosingParam), Path),
    ),
    responses(
        (status = 204, description = "Closed."),
        (status = 401, description = UNAUTHORIZED, body = ErrorBody),
        (status = 403, description = FORBIDDEN, body = ErrorBody),
        (status = 404, description = NOT_FOUND, body = ErrorBody),
    ),
)]
pub(super) async fn close_report(
    context: Context,
    ApiUser(caller): ApiUser,
    Path((name, report_id, decision)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let group = directory::find_local_group(&context.db, &name).await?;
    let report_id: i64 = report_id.parse().map_err(|_| Error::not_found("report"))?;
    let closing =
        ReportClosing::from_path(&decision).map_err(|_| Error::not_found("API endpoint"))?;
    moderation_actions::close_report(&context, &caller.account.actor, &group, report_id, closing)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
