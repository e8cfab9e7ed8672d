//! API for posts: thread lists, threads with their replies, posting, replying, editing,
//! deleting and voting.

use super::*;
use crate::actions::{lookups, threads};
use kindred_entities::post_attachment::{self, AttachmentKind};

#[derive(Serialize, Clone, ToSchema)]
#[schema(as = Post)]
pub struct PostJson {
    pub(super) id: i64,
    #[schema(format = Uri)]
    pub(super) url: String,
    /// The group's handle: `name` here, `name@host` for a group on another server.
    pub(super) group: String,
    /// The group's title, as its pages show it (its name when it has no title).
    pub(super) group_title: String,
    pub(super) author: AuthorJson,
    pub(super) parent_id: Option<i64>,
    pub(super) thread_id: Option<i64>,
    pub(super) title: Option<String>,
    /// Sanitised HTML.
    pub(super) content_html: String,
    pub(super) content_markdown: Option<String>,
    pub(super) published: DateTime<Utc>,
    pub(super) updated: Option<DateTime<Utc>>,
    pub(super) deleted: bool,
    /// Removed by a moderator: its content is withheld, except from the group's moderators
    /// (in a thread).
    pub(super) removed: bool,
    pub(super) locked: bool,
    pub(super) pinned: bool,
    /// Waiting for a moderator's approval (pre-moderated groups).
    pub(super) awaiting_approval: bool,
    pub(super) likes: i32,
    pub(super) dislikes: i32,
    pub(super) reply_count: i32,
    /// How many people on other servers shared (boosted) it.
    pub(super) shares: i32,
    /// Not safe for work (NSFW): clients fold it.
    pub(super) sensitive: bool,
    /// The caller's vote: 1, -1, or 0.
    #[schema(schema_with = openapi::vote_value)]
    pub(super) my_vote: i16,
    /// A content warning: clients fold the post behind it.
    pub(super) content_warning: Option<String>,
    /// What the post carries, in order (none when its content is withheld).
    pub(super) attachments: Vec<AttachmentJson>,
}

/// A picture, video, sound, document or link a post carries.
#[derive(Serialize, Clone, ToSchema)]
#[schema(as = Attachment)]
pub struct AttachmentJson {
    /// image, video, audio, document or link.
    pub(super) kind: String,
    /// Where to show it from: this instance's media proxy for a picture (`/media/…`), the
    /// original address for the rest.
    pub(super) url: String,
    /// Where it is on its own server.
    #[schema(format = Uri)]
    pub(super) original_url: String,
    pub(super) media_type: Option<String>,
    /// The alt text.
    pub(super) alt: Option<String>,
    pub(super) blurhash: Option<String>,
    pub(super) width: Option<i32>,
    pub(super) height: Option<i32>,
}

impl AttachmentJson {
    fn from_row(row: &post_attachment::Model) -> AttachmentJson {
        let picture = row.kind == AttachmentKind::Image;
        AttachmentJson {
            kind: match row.kind {
                AttachmentKind::Image => "image",
                AttachmentKind::Video => "video",
                AttachmentKind::Audio => "audio",
                AttachmentKind::Document => "document",
                AttachmentKind::Link => "link",
            }
            .to_string(),
            url: if picture {
                format!("/media/attachments/{}", row.id)
            } else {
                row.url.clone()
            },
            original_url: row.url.clone(),
            media_type: row.media_type.clone(),
            alt: row.name.clone(),
            blurhash: row.blurhash.clone(),
            width: row.width,
            height: row.height,
        }
    }
}

#[derive(Serialize, Clone, ToSchema)]
#[schema(as = Author)]
pub struct AuthorJson {
    /// The person's id in this instance's lists, as `BanRequest.person_id` takes it (also for
    /// people on other servers); 0 when the author is not known.
    pub(super) id: i64,
    pub(super) name: String,
    /// The name they chose to be shown by, when they chose one.
    pub(super) display_name: Option<String>,
    /// Their handle: `name` here, `name@host` for someone on another server.
    pub(super) handle: String,
    #[schema(format = Uri)]
    pub(super) url: String,
    pub(super) local: bool,
}

impl AuthorJson {
    /// A person as JSON; `None` (someone no longer known) gives id 0 and empty names.
    pub(super) fn of(person: Option<&actor::Model>) -> AuthorJson {
        person.map_or(
            AuthorJson {
                id: 0,
                name: String::new(),
                display_name: None,
                handle: String::new(),
                url: String::new(),
                local: false,
            },
            |person| AuthorJson {
                id: person.id,
                name: person.preferred_username.clone(),
                display_name: person.display_name.clone(),
                handle: directory::actor_handle(person),
                url: person.ap_id.clone(),
                local: person.local,
            },
        )
    }
}

/// One post as JSON (see [`posts_json`]), in the group it belongs to.
pub(super) async fn one_post_json(
    context: &Context,
    caller: &sessions::SignedIn,
    group: &actor::Model,
    post: post::Model,
) -> Result<PostJson, Error> {
    let mut listed = posts_json(context, Some(caller), group, vec![post]).await?;
    listed
        .pop()
        .ok_or_else(|| Error::internal("a post vanished while rendering it"))
}

/// Posts as JSON, with their authors and the caller's votes loaded in two queries. Removed
/// posts have their content withheld (lists are the same for everyone).
pub(super) async fn posts_json(
    context: &Context,
    caller: Option<&sessions::SignedIn>,
    group: &actor::Model,
    listed: Vec<post::Model>,
) -> Result<Vec<PostJson>, Error> {
    let (authors, votes) =
        crate::actions::threads::authors_and_votes(context, &listed, caller).await?;
    let attachments = crate::groups::attachments::of_posts(
        &context.read_db,
        listed.iter().map(|post| post.id).collect(),
    )
    .await?;
    Ok(posts_json_from(
        group,
        listed,
        Loaded {
            authors: &authors,
            votes: &votes,
            attachments: &attachments,
        },
        false,
    ))
}

/// Posts of several groups as JSON, in the order given (search results, a home feed).
pub(super) async fn mixed_posts_json(
    context: &Context,
    caller: Option<&sessions::SignedIn>,
    listed: Vec<post::Model>,
) -> Result<Vec<PostJson>, Error> {
    let (authors, votes) =
        crate::actions::threads::authors_and_votes(context, &listed, caller).await?;
    let attachments = crate::groups::attachments::of_posts(
        &context.read_db,
        listed.iter().map(|post| post.id).collect(),
    )
    .await?;
    let groups =
        directory::actors_by_id(&context.read_db, listed.iter().map(|post| post.group_id)).await?;
    Ok(listed
        .into_iter()
        .flat_map(|post| {
            let Some(group) = groups.get(&post.group_id) else {
                return Vec::new();
            };
            posts_json_from(
                group,
                vec![post],
                Loaded {
                    authors: &authors,
                    votes: &votes,
                    attachments: &attachments,
                },
                false,
            )
        })
        .collect())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// The words to find (each must appear, as a word or the start of one); up to 8.
    pub(super) q: String,
}

/// Search threads and replies, the latest to arrive here first
#[utoipa::path(
    get,
    path = "/search",
    operation_id = "searchPosts",
    security((), ("bearer" = [])),
    params(SearchQuery, PageParams),
    responses(
        (status = 200, description = "Posts whose title or text holds every word, a page of them.", body = Vec<PostJson>,
            headers(("Link" = String, description = "`<…>; rel=\"next\"`: the next page, when there is one (follow it as it is)."))),
        (status = 400, description = BAD_CURSOR, body = ErrorBody),
    ),
)]
pub(super) async fn search(
    context: Context,
    MaybeApiUser(caller): MaybeApiUser,
    Query(query): Query<SearchQuery>,
    Query(paging): Query<PageParams>,
) -> ApiResult<Response> {
    let page = crate::groups::search::search_posts(
        &context.read_db,
        &query.q,
        paging.cursor.as_deref(),
        paging.limit.unwrap_or(crate::paging::PER_PAGE),
    )
    .await?;
    let body = mixed_posts_json(&context, caller.as_ref(), page.posts).await?;
    let next = paging.next_url(&context, "/search", &[("q", &query.q)], page.next);
    Ok(with_next_link(Json(body).into_response(), next))
}

/// What posts as JSON are made with, loaded in one query each: authors, the caller's votes
/// and attachments, by id.
pub(super) struct Loaded<'a> {
    pub(super) authors: &'a HashMap<i64, actor::Model>,
    pub(super) votes: &'a HashMap<i64, i16>,
    pub(super) attachments: &'a HashMap<i64, Vec<post_attachment::Model>>,
}

/// Posts as JSON from what is loaded already. `show_removed`: the viewer moderates the group
/// and sees what was removed, as the thread page shows it to them.
pub(super) fn posts_json_from(
    group: &actor::Model,
    listed: Vec<post::Model>,
    Loaded {
        authors,
        votes,
        attachments,
    }: Loaded<'_>,
    show_removed: bool,
) -> Vec<PostJson> {
    let group_handle = directory::actor_handle(group);
    let group_title = directory::shown_name(group).to_string();
    listed
        .into_iter()
        .map(|post| {
            let author = AuthorJson::of(authors.get(&post.author_id));
            let deleted = post.deleted_at.is_some();
            let removed = post.removed_at.is_some();
            // A deleted post's content is kept a while for its author to restore, never shown.
            let withheld = deleted || (removed && !show_removed);
            let (content_html, content_markdown, title) = if withheld {
                (String::new(), None, None)
            } else {
                (post.content_html, post.source_markdown, post.title)
            };
            let carried = if withheld {
                Vec::new()
            } else {
                attachments
                    .get(&post.id)
                    .map(|rows| rows.iter().map(AttachmentJson::from_row).collect())
                    .unwrap_or_default()
            };
            PostJson {
                id: post.id,
                url: post.ap_id.clone(),
                group: group_handle.clone(),
                group_title: group_title.clone(),
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
                shares: post.share_count,
                sensitive: post.sensitive,
                my_vote: votes.get(&post.id).copied().unwrap_or(0),
                content_warning: post.content_warning,
                attachments: carried,
            }
        })
        .collect()
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ThreadsQuery {
    #[serde(default)]
    #[param(schema_with = openapi::thread_order)]
    pub(super) sort: ThreadOrder,
}

/// The group's threads
#[utoipa::path(
    get,
    path = "/groups/{name}/threads",
    operation_id = "listThreads",
    security((), ("bearer" = [])),
    params(("name" = String, Path, description = GROUP_NAME), ThreadsQuery, PageParams),
    responses(
        (status = 200, description = "Threads, a page of them.", body = Vec<PostJson>,
            headers(("Link" = String, description = "`<…>; rel=\"next\"`: the next page, when there is one (follow it as it is)."))),
        (status = 400, description = BAD_CURSOR, body = ErrorBody),
        (status = 404, description = NOT_FOUND, body = ErrorBody),
    ),
)]
pub(super) async fn list_threads(
    context: Context,
    MaybeApiUser(caller): MaybeApiUser,
    Path(name): Path<String>,
    Query(query): Query<ThreadsQuery>,
    Query(paging): Query<PageParams>,
) -> ApiResult<Response> {
    let group = directory::find_group(&context.db, &name).await?;
    // Pinned threads come on the first page, besides the `limit`.
    let page = crate::groups::thread_lists::page_of_threads(
        &context.read_db,
        crate::groups::thread_lists::ThreadSource::Group(group.id),
        query.sort,
        paging.cursor.as_deref(),
        paging
            .limit
            .unwrap_or(crate::groups::thread_lists::THREADS_PER_PAGE),
    )
    .await?;
    let handle = directory::actor_handle(&group);
    let body = posts_json(&context, caller.as_ref(), &group, page.threads).await?;
    let next = paging.next_url(
        &context,
        &format!("/groups/{handle}/threads"),
        &[("sort", query.sort.as_query_value())],
        page.next,
    );
    Ok(with_next_link(Json(body).into_response(), next))
}

/// Adds `Link: <next>; rel="next"` (RFC 8288, as Mastodon's API pages) when there is a next
/// page.
pub(super) fn with_next_link(mut response: Response, next: Option<url::Url>) -> Response {
    if let Some(next) = next
        && let Ok(value) = axum::http::HeaderValue::from_str(&format!("<{next}>; rel=\"next\""))
    {
        response
            .headers_mut()
            .insert(axum::http::header::LINK, value);
    }
    response
}

#[derive(Deserialize, ToSchema)]
#[schema(as = ThreadRequest)]
pub struct ThreadRequest {
    #[schema(max_length = 200)]
    pub(super) title: String,
    /// Markdown.
    #[serde(default)]
    #[schema(max_length = 50000)]
    pub(super) body: String,
    /// Shown instead of the post until a reader opens it.
    #[serde(default)]
    #[schema(max_length = 500)]
    pub(super) content_warning: Option<String>,
    /// Pictures uploaded with `POST /api/v1/media` (`uploadPicture`), at most four, in order.
    #[serde(default)]
    pub(super) picture_ids: Vec<i64>,
}

/// Start a thread (members only)
#[utoipa::path(
    post,
    path = "/groups/{name}/threads",
    operation_id = "createThread",
    security(("bearer" = [])),
    params(("name" = String, Path, description = GROUP_NAME)),
    request_body = ThreadRequest,
    responses(
        (status = 201, description = "The thread.", body = PostJson),
        (status = 401, description = UNAUTHORIZED, body = ErrorBody),
        (status = 403, description = FORBIDDEN, body = ErrorBody),
        (status = 404, description = NOT_FOUND, body = ErrorBody),
        (status = 422, description = INVALID, body = ErrorBody),
    ),
)]
pub(super) async fn create_thread(
    context: Context,
    ApiUser(caller): ApiUser,
    Path(name): Path<String>,
    ApiJson(request): ApiJson<ThreadRequest>,
) -> ApiResult<Response> {
    let group = directory::find_group(&context.db, &name).await?;
    let draft = posts::Draft {
        title: Some(request.title),
        markdown: request.body,
        content_warning: request.content_warning,
        picture_ids: Some(request.picture_ids),
    };
    let thread =
        crate::actions::posts::start_thread(&context, &caller.account.actor, &group, draft).await?;
    let body = one_post_json(&context, &caller, &group, thread).await?;
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

#[derive(Serialize, ToSchema)]
#[schema(as = Thread)]
pub struct ThreadJson {
    pub(super) thread: PostJson,
    /// A page of replies: whole branches (a top-level reply and everything under it), oldest
    /// branch first, each reply after its parent; `parent_id` gives the nesting. The
    /// `Link: <…>; rel="next"` header points to the next page when there is one.
    pub(super) replies: Vec<PostJson>,
    /// For a thread of a group on another server, how whole it is here: its replies are
    /// `filling_in` (being fetched from the servers that hold it), `filled_in`, `cut_short`
    /// (fetched up to this server's limit), `not_listed` (its server does not list replies:
    /// only those sent here are shown) or `unreachable`. Null for local groups' threads and
    /// for remote ones never filled in.
    #[schema(nullable)]
    pub(super) completeness: Option<ThreadCompleteness>,
}

#[derive(Serialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum ThreadCompleteness {
    FillingIn,
    FilledIn,
    CutShort,
    NotListed,
    Unreachable,
}

impl From<&threads::Completeness> for ThreadCompleteness {
    fn from(completeness: &threads::Completeness) -> ThreadCompleteness {
        match completeness {
            threads::Completeness::FillingIn => ThreadCompleteness::FillingIn,
            threads::Completeness::FilledIn {
                stopped_by: Some(_),
                ..
            } => ThreadCompleteness::CutShort,
            threads::Completeness::FilledIn { .. } => ThreadCompleteness::FilledIn,
            threads::Completeness::NotListed => ThreadCompleteness::NotListed,
            threads::Completeness::Unreachable => ThreadCompleteness::Unreachable,
        }
    }
}

/// A thread with a page of its replies (for a reply: its thread)
#[utoipa::path(
    get,
    path = "/posts/{id}",
    operation_id = "getThread",
    security((), ("bearer" = [])),
    params(("id" = i64, Path, description = POST_ID), PageParams),
    responses(
        (status = 200, description = "The thread and a page of replies (`limit`: about how many; 200 when left out).", body = ThreadJson,
            headers(("Link" = String, description = "`<…>; rel=\"next\"`: the next page of replies, when there is one (follow it as it is)."))),
        (status = 400, description = BAD_CURSOR, body = ErrorBody),
        (status = 404, description = NOT_FOUND, body = ErrorBody),
    ),
)]
pub(super) async fn thread(
    context: Context,
    MaybeApiUser(caller): MaybeApiUser,
    Path(id): Path<String>,
    Query(paging): Query<PageParams>,
) -> ApiResult<Response> {
    let found = lookups::post_by_text(&context.db, &id).await?;
    let thread = lookups::thread_of(&context.db, found).await?;
    let per_page = paging.limit.map_or(posts::REPLIES_PER_PAGE, |limit| {
        limit.clamp(1, 200) as usize
    });
    let view = threads::thread_view(
        &context,
        thread,
        caller.as_ref(),
        paging.cursor.as_deref(),
        per_page,
    )
    .await?;
    let next = paging.next_url(
        &context,
        &format!("/posts/{id}"),
        &[],
        view.next_replies.clone(),
    );
    let mut listed = posts_json_from(
        &view.group,
        view.posts,
        Loaded {
            authors: &view.authors,
            votes: &view.my_votes,
            attachments: &view.attachments,
        },
        view.moderating,
    );
    let thread = listed.remove(0);
    let body = Json(ThreadJson {
        thread,
        replies: listed,
        completeness: view.completeness.as_ref().map(ThreadCompleteness::from),
    });
    Ok(with_next_link(body.into_response(), next))
}

/// Ask for a thread of a group on another server to be fetched again from the servers that
/// hold it (any signed-in person; at most once per `backfill.refresh_after_seconds` a thread)
#[utoipa::path(
    post,
    path = "/posts/{id}/backfill",
    operation_id = "refreshThread",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = POST_ID)),
    responses(
        (status = 202, description = "The worker will fetch it."),
        (status = 400, description = "A thread of a group hosted here is always whole.", body = ErrorBody),
        (status = 401, description = UNAUTHORIZED, body = ErrorBody),
        (status = 404, description = NOT_FOUND, body = ErrorBody),
        (status = 409, description = "It is being fetched already.", body = ErrorBody),
        (status = 429, description = "It was fetched too recently; `Retry-After` says when to ask again.", body = ErrorBody),
    ),
)]
pub(super) async fn refresh_thread(
    context: Context,
    ApiUser(_caller): ApiUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let found = lookups::post_by_text(&context.db, &id).await?;
    let thread = lookups::thread_of(&context.db, found).await?;
    threads::refresh_thread(&context, &thread).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Deserialize, ToSchema)]
#[schema(as = ReplyRequest)]
pub struct ReplyRequest {
    /// Markdown (may be empty when the reply carries a picture).
    #[serde(default)]
    #[schema(max_length = 50000)]
    pub(super) body: String,
    /// Shown instead of the post until a reader opens it.
    #[serde(default)]
    #[schema(max_length = 500)]
    pub(super) content_warning: Option<String>,
    /// Pictures uploaded with `POST /api/v1/media` (`uploadPicture`), at most four, in order.
    #[serde(default)]
    pub(super) picture_ids: Vec<i64>,
}

/// Reply to a post (members of its group only)
#[utoipa::path(
    post,
    path = "/posts/{id}/replies",
    operation_id = "reply",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = POST_ID)),
    request_body = ReplyRequest,
    responses(
        (status = 201, description = "The reply.", body = PostJson),
        (status = 401, description = UNAUTHORIZED, body = ErrorBody),
        (status = 403, description = FORBIDDEN, body = ErrorBody),
        (status = 404, description = NOT_FOUND, body = ErrorBody),
        (status = 410, description = "The post was deleted.", body = ErrorBody),
        (status = 422, description = INVALID, body = ErrorBody),
    ),
)]
pub(super) async fn reply(
    context: Context,
    ApiUser(caller): ApiUser,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<ReplyRequest>,
) -> ApiResult<Response> {
    let parent = find_post(&context, &id).await?;
    let draft = posts::Draft {
        title: None,
        markdown: request.body,
        content_warning: request.content_warning,
        picture_ids: Some(request.picture_ids),
    };
    let (created, group) =
        crate::actions::posts::reply_to(&context, &caller.account.actor, &parent, draft).await?;
    let body = one_post_json(&context, &caller, &group, created).await?;
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

#[derive(Deserialize, ToSchema)]
#[schema(as = EditRequest)]
pub struct EditRequest {
    /// Threads only; left out, the title stays.
    pub(super) title: Option<String>,
    /// Markdown.
    pub(super) body: String,
    /// Left out, the content warning stays; empty, it goes.
    #[serde(default)]
    pub(super) content_warning: Option<String>,
    /// Left out, the pictures stay; given, they are replaced by these uploads.
    #[serde(default)]
    pub(super) picture_ids: Option<Vec<i64>>,
}

/// Edit one's own post
#[utoipa::path(
    patch,
    path = "/posts/{id}",
    operation_id = "editPost",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = POST_ID)),
    request_body = EditRequest,
    responses(
        (status = 200, description = "The edited post.", body = PostJson),
        (status = 401, description = UNAUTHORIZED, body = ErrorBody),
        (status = 403, description = FORBIDDEN, body = ErrorBody),
        (status = 404, description = NOT_FOUND, body = ErrorBody),
        (status = 410, description = "The post was deleted.", body = ErrorBody),
        (status = 422, description = INVALID, body = ErrorBody),
    ),
)]
pub(super) async fn edit_post(
    context: Context,
    ApiUser(caller): ApiUser,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<EditRequest>,
) -> ApiResult<Json<PostJson>> {
    let existing = find_post(&context, &id).await?;
    let group = crate::actions::lookups::actor(&context.db, existing.group_id, "group").await?;
    let existing_warning = existing.content_warning.clone();
    // A thread keeps its title when the edit leaves it out.
    let title = match (existing.parent_id, request.title) {
        (Some(_), title) => title,
        (None, Some(title)) => Some(title),
        (None, None) => existing.title.clone(),
    };
    let edited = crate::actions::posts::edit_post(
        &context,
        &caller.account.actor,
        existing,
        posts::Draft {
            title,
            markdown: request.body,
            content_warning: request.content_warning.or_else(|| existing_warning.clone()),
            picture_ids: request.picture_ids,
        },
    )
    .await?;
    let body = one_post_json(&context, &caller, &group, edited).await?;
    Ok(Json(body))
}

/// Delete one's own post (a tombstone stays so replies keep their place)
#[utoipa::path(
    delete,
    path = "/posts/{id}",
    operation_id = "deletePost",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = POST_ID)),
    responses(
        (status = 204, description = "Deleted."),
        (status = 401, description = UNAUTHORIZED, body = ErrorBody),
        (status = 403, description = FORBIDDEN, body = ErrorBody),
        (status = 404, description = NOT_FOUND, body = ErrorBody),
        (status = 410, description = "Already deleted.", body = ErrorBody),
    ),
)]
pub(super) async fn delete_post(
    context: Context,
    ApiUser(caller): ApiUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let existing = find_post(&context, &id).await?;
    crate::actions::posts::delete_post(&context, &caller.account.actor, existing).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[schema(as = VoteRequest)]
pub struct VoteRequest {
    /// 1 (like), -1 (dislike) or 0 (no vote).
    #[schema(schema_with = openapi::vote_value)]
    pub(super) value: i16,
}

#[derive(Serialize, ToSchema)]
#[schema(as = VoteResponse)]
pub struct VoteResponse {
    pub(super) likes: i32,
    pub(super) dislikes: i32,
    #[schema(schema_with = openapi::vote_value)]
    pub(super) my_vote: i16,
}

/// Like (1), dislike (-1) or take back one's vote (0)
#[utoipa::path(
    put,
    path = "/posts/{id}/vote",
    operation_id = "vote",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = POST_ID)),
    request_body = VoteRequest,
    responses(
        (status = 200, description = "The new counts.", body = VoteResponse),
        (status = 401, description = UNAUTHORIZED, body = ErrorBody),
        (status = 404, description = NOT_FOUND, body = ErrorBody),
        (status = 410, description = "The post was deleted.", body = ErrorBody),
        (status = 422, description = INVALID, body = ErrorBody),
    ),
)]
pub(super) async fn cast_vote(
    context: Context,
    ApiUser(caller): ApiUser,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<VoteRequest>,
) -> ApiResult<Json<VoteResponse>> {
    if !matches!(request.value, -1..=1) {
        return Err(Error::invalid("a vote is 1, -1 or 0").into());
    }
    let target = find_post(&context, &id).await?;
    crate::actions::posts::vote(&context, &caller.account.actor, &target, request.value).await?;
    let counted = find_post(&context, &id).await?;
    Ok(Json(VoteResponse {
        likes: counted.like_count,
        dislikes: counted.dislike_count,
        my_vote: request.value,
    }))
}
