//! ActivityPub endpoints: the instance actor, group actors (or their web page, by content
//! negotiation), group collections, sent activities, and the inboxes.

use crate::{
    context::Context,
    error::{Error, Result},
    federation::{
        collections, inbox,
        objects::{actor::ApubActor, post::document_of},
        thread_collections,
    },
    groups::directory,
    http::{
        negotiation,
        web::{self, PageResult, Visitor, groups::GroupPageQuery},
    },
    instance,
};
use axum::{
    body::Body,
    extract::{Path, Query},
    http::{HeaderMap, HeaderValue, Request, StatusCode, header},
    response::{IntoResponse, Response},
};
use kindred_entities::actor::{self, ActorKind};
use serde::Deserialize;
use serde_json::Value;

/// Answers with an ActivityPub document, typed as the client asked (`activity+json` unless it
/// asked for `ld+json` only).
pub fn activity_json(request_headers: &HeaderMap, document: Value) -> Response {
    match serde_json::to_vec(&document) {
        Ok(body) => activity_json_bytes(request_headers, bytes::Bytes::from(body)),
        Err(error) => crate::error::Error::from(error).into_response(),
    }
}

/// As [`activity_json`], for a document already serialised.
pub fn activity_json_bytes(request_headers: &HeaderMap, body: bytes::Bytes) -> Response {
    let asked_for_activity_json = request_headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_none_or(|accept| {
            accept
                .to_ascii_lowercase()
                .contains("application/activity+json")
        });
    let content_type = if asked_for_activity_json {
        negotiation::ACTIVITY_JSON
    } else {
        negotiation::LD_JSON_ACTIVITYSTREAMS
    };
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept"));
    response
}

pub async fn instance_actor(context: Context, headers: HeaderMap) -> Result<Response> {
    let row = instance::find_instance_actor(&context.db, &context.config).await?;
    Ok(activity_json(
        &headers,
        ApubActor::from_row(row)?.to_json_ld()?,
    ))
}

/// The group's actor document for ActivityPub clients, its web page for everyone else.
pub async fn group(
    context: Context,
    visitor: Visitor,
    Path(name): Path<String>,
    Query(query): Query<GroupPageQuery>,
    headers: HeaderMap,
) -> PageResult {
    if negotiation::wants_activity_json(&headers) {
        // ActivityPub clients get plain-text errors, browsers an error page.
        Ok(
            match local_actor_document(&context, &name, ActorKind::Group).await {
                Ok(document) => activity_json_bytes(&headers, document),
                Err(error) => error.into_response(),
            },
        )
    } else {
        // Remote groups this instance knows have pages too, at /groups/name@host.
        let group = directory::find_group(&context.db, &name).await?;
        web::groups::group_page(&context, &visitor, group, query).await
    }
}

/// A local person's actor document for ActivityPub clients, their profile for everyone else.
pub async fn person(
    context: Context,
    visitor: Visitor,
    Path(name): Path<String>,
    Query(page_query): Query<web::PageQuery>,
    headers: HeaderMap,
) -> PageResult {
    if negotiation::wants_activity_json(&headers) {
        Ok(
            match local_actor_document(&context, &name, ActorKind::Person).await {
                Ok(document) => activity_json_bytes(&headers, document),
                Err(error) => error.into_response(),
            },
        )
    } else {
        web::accounts::profile_page(&context, &visitor, &name, page_query.after.as_deref()).await
    }
}

/// The rendered document of the local actor `name` of `kind`, from the short-lived cache.
async fn local_actor_document(
    context: &Context,
    name: &str,
    kind: ActorKind,
) -> Result<bytes::Bytes> {
    let document = context
        .actor_documents
        .get_or_render(&name.to_lowercase(), || async {
            let row = directory::find_local_actor_by_name(&context.db, name)
                .await?
                .ok_or_else(|| not_found_kind(kind))?;
            let document = ApubActor::from_row(row)?.to_json_ld()?;
            Ok(bytes::Bytes::from(serde_json::to_vec(&document)?))
        })
        .await?;
    // Names are shared by people and groups, so the cached document says which it is.
    let wanted = match kind {
        ActorKind::Group => "\"type\":\"Group\"",
        _ => "\"type\":\"Person\"",
    };
    if !document
        .windows(wanted.len())
        .any(|window| window == wanted.as_bytes())
    {
        return Err(not_found_kind(kind));
    }
    Ok(document)
}

fn not_found_kind(kind: ActorKind) -> Error {
    Error::not_found(match kind {
        ActorKind::Group => "group",
        _ => "user",
    })
}

/// A post at its id: the ActivityPub object of a local post (a `Tombstone`, with 410, once
/// deleted) for ActivityPub clients, the thread page for everyone else.
pub async fn post_object(
    context: Context,
    visitor: Visitor,
    Path(id): Path<i64>,
    Query(page): Query<web::PageQuery>,
    headers: HeaderMap,
) -> PageResult {
    if !negotiation::wants_activity_json(&headers) {
        return web::posts::thread_page(&context, &visitor, id, page.after.as_deref()).await;
    }
    let found = async {
        let stored = crate::actions::lookups::published_local_post(&context.db, id).await?;
        let document = document_of(&context.db, &stored).await?;
        Ok::<_, Error>((stored, document))
    };
    // A microblog that fetches a thread (to show the group's boost of it) gets the form it
    // shows in full (`software::what_to_send`).
    let family = match crate::federation::software::requesting_server(&headers) {
        Some(server) => crate::federation::software::family_of_server(&context, &server)
            .await
            .unwrap_or(crate::federation::software::ServerFamily::Unknown),
        None => crate::federation::software::ServerFamily::Unknown,
    };
    Ok(match found.await {
        Ok((stored, document)) => {
            let document = crate::federation::software::thread_in_form(&document, family);
            let mut response = activity_json(&headers, document);
            // The form depends on who asks.
            response.headers_mut().insert(
                header::VARY,
                HeaderValue::from_static("Accept, Signature, Signature-Input"),
            );
            if stored.deleted_at.is_some() || stored.removed_at.is_some() {
                *response.status_mut() = StatusCode::GONE;
            }
            response
        }
        Err(error) => error.into_response(),
    })
}

/// A local post's direct replies (`Collection`, Mastodon's shape), or a page of them.
pub async fn post_replies(
    context: Context,
    Path(id): Path<i64>,
    Query(query): Query<thread_collections::CollectionPageQuery>,
    headers: HeaderMap,
) -> Result<Response> {
    let stored = crate::actions::lookups::published_local_post(&context.read_db, id).await?;
    if stored.deleted_at.is_some() || stored.removed_at.is_some() {
        return Err(Error::Gone("post".into()));
    }
    let document =
        thread_collections::replies_collection(&context.read_db, &stored, &query).await?;
    Ok(activity_json(&headers, document))
}

/// The context collection of a thread in a local group (FEP-7888), or a page of it, for
/// ActivityPub clients; browsers are sent to the thread's page.
pub async fn thread_context(
    context: Context,
    Path((name, thread_id)): Path<(String, i64)>,
    Query(query): Query<thread_collections::CollectionPageQuery>,
    headers: HeaderMap,
) -> Result<Response> {
    let group = directory::find_local_group(&context.read_db, &name).await?;
    let thread = thread_collections::thread_in_group(&context.read_db, &group, thread_id).await?;
    if !negotiation::wants_activity_json(&headers) {
        return Ok(axum::response::Redirect::to(&format!("/posts/{}", thread.id)).into_response());
    }
    let document =
        thread_collections::context_collection(&context.read_db, &group, &thread, &query).await?;
    Ok(activity_json(&headers, document))
}

#[derive(Deserialize)]
pub struct PageQuery {
    /// A page number, or `true` with `before`.
    page: Option<String>,
    before: Option<i64>,
}

impl PageQuery {
    /// Which outbox page is asked for: `before` (from a `next` link) wins, then a number;
    /// `page=true` alone is the first.
    fn outbox_page(&self) -> Result<Option<collections::OutboxPage>> {
        if let Some(before) = self.before {
            return Ok(Some(collections::OutboxPage::Before(before)));
        }
        match self.page.as_deref() {
            None => Ok(None),
            Some("true") => Ok(Some(collections::OutboxPage::Numbered(1))),
            Some(number) => number
                .parse()
                .map(|number| Some(collections::OutboxPage::Numbered(number)))
                .map_err(|_| Error::bad_request("page is a number, or true")),
        }
    }
}

pub async fn person_outbox(
    context: Context,
    Path(name): Path<String>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Result<Response> {
    let person = find_local_person(&context, &name).await?;
    let document = collections::outbox(&context.read_db, &person, query.outbox_page()?).await?;
    Ok(activity_json(&headers, document))
}

pub async fn person_followers(
    context: Context,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    let person = find_local_person(&context, &name).await?;
    let document = collections::followers(&context.db, &person).await?;
    Ok(activity_json(&headers, document))
}

/// `POST /users/{name}/inbox`: 404 for a person who does not exist, then the inbox pipeline.
pub async fn person_inbox(
    context: Context,
    Path(name): Path<String>,
    request: Request<Body>,
) -> Result<StatusCode> {
    let result = match find_local_person(&context, &name).await {
        Ok(_) => inbox::receive(&context, request).await,
        Err(error) => Err(error),
    };
    count_inbox_result(&context, result)
}

async fn find_local_person(context: &Context, name: &str) -> Result<actor::Model> {
    directory::find_local_actor_by_name(&context.db, name)
        .await?
        .filter(|row| row.kind == ActorKind::Person)
        .ok_or_else(|| Error::not_found("user"))
}

pub async fn group_outbox(
    context: Context,
    Path(name): Path<String>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Result<Response> {
    let group = directory::find_local_group(&context.db, &name).await?;
    let document = collections::outbox(&context.read_db, &group, query.outbox_page()?).await?;
    Ok(activity_json(&headers, document))
}

pub async fn group_followers(
    context: Context,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    let group = directory::find_local_group(&context.db, &name).await?;
    let document = collections::followers(&context.db, &group).await?;
    Ok(activity_json(&headers, document))
}

pub async fn group_moderators(
    context: Context,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    let group = directory::find_local_group(&context.db, &name).await?;
    Ok(activity_json(
        &headers,
        collections::moderators(&context.db, &group).await?,
    ))
}

pub async fn group_featured(
    context: Context,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    let group = directory::find_local_group(&context.db, &name).await?;
    Ok(activity_json(
        &headers,
        collections::featured(&context.db, &group).await?,
    ))
}

/// An activity this instance sent, at its id.
pub async fn activity(
    context: Context,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    let document =
        crate::federation::activities::published_activity(&context.db, &context.config, &id)
            .await?;
    Ok(activity_json(&headers, document))
}

/// `POST /groups/{name}/inbox`: 404 for a group that does not exist, then the inbox pipeline.
pub async fn group_inbox(
    context: Context,
    Path(name): Path<String>,
    request: Request<Body>,
) -> Result<StatusCode> {
    let result = match directory::find_local_group(&context.db, &name).await {
        Ok(_) => inbox::receive(&context, request).await,
        Err(error) => Err(error),
    };
    count_inbox_result(&context, result)
}

/// `POST /inbox`: the shared inbox every local actor names.
pub async fn shared_inbox(context: Context, request: Request<Body>) -> Result<StatusCode> {
    let result = inbox::receive(&context, request).await;
    count_inbox_result(&context, result)
}

fn count_inbox_result(context: &Context, result: Result<StatusCode>) -> Result<StatusCode> {
    match &result {
        Ok(_) => context.metrics.count_inbox_accepted(),
        Err(error) => context
            .metrics
            .count_inbox_rejected(error.status_and_reason().0.as_u16()),
    }
    result
}
