//! A thread's collections, so that other servers can read whole conversations from Kindred:
//! the context of a thread in a local group (FEP-7888: every post of the thread, the thread
//! first, owned by the group) at `<group>/threads/<thread's row id>`, and every local post's
//! direct replies at `<post>/replies`, in the shape Mastodon serves and crawls. Both page by
//! row id (`?page=true&after=<id>`): one index range per page, however long the thread.
//! Removed posts, posts waiting for approval, deleted posts and posts from blocked servers are
//! left out.

use crate::{
    error::{Error, Result},
    federation::{
        context::object_context,
        objects::post::{LocalPostLinks, context_of, local_post_document},
    },
    groups::posts::authors_on_blocked_servers,
};
use kindred_entities::{actor, post};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select,
};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;

/// How many posts a page of a context collection holds.
pub const CONTEXT_PAGE_SIZE: u64 = 40;

/// How many replies a page of a replies collection holds.
pub const REPLIES_PAGE_SIZE: u64 = 40;

/// The query of a collection URL: `page` asks for a page rather than the collection, `after`
/// the row id the page starts after.
#[derive(Debug, Default, Deserialize)]
pub struct CollectionPageQuery {
    #[serde(default)]
    pub page: Option<String>,
    #[serde(default)]
    pub after: Option<i64>,
}

impl CollectionPageQuery {
    fn wants_page(&self) -> bool {
        self.page.is_some() || self.after.is_some()
    }
}

/// Posts that show to everyone.
fn shown(select: Select<post::Entity>) -> Select<post::Entity> {
    select
        .filter(post::Column::RemovedAt.is_null())
        .filter(post::Column::DeletedAt.is_null())
        .filter(post::Column::AwaitingApproval.eq(false))
        .filter(post::Column::AuthorId.not_in_subquery(authors_on_blocked_servers()))
}

/// The thread of a local group that a context URL names, or 404.
pub async fn thread_in_group(
    database: &impl ConnectionTrait,
    group: &actor::Model,
    thread_id: i64,
) -> Result<post::Model> {
    crate::database::unique_row(post::Entity::find_by_id(thread_id), database)
        .await?
        .filter(|thread| {
            thread.group_id == group.id
                && thread.parent_id.is_none()
                && !thread.awaiting_approval
                && thread.removed_at.is_none()
                && thread.deleted_at.is_none()
        })
        .ok_or_else(|| Error::not_found("thread"))
}

/// The context collection of `thread` in the local `group`: the collection, or one page of
/// it. Local posts are embedded as their objects; others are listed by id.
pub async fn context_collection(
    database: &impl ConnectionTrait,
    group: &actor::Model,
    thread: &post::Model,
    query: &CollectionPageQuery,
) -> Result<Value> {
    let id = context_of(group, thread)
        .ok_or_else(|| Error::internal("a local group's thread has a context"))?;
    if !query.wants_page() {
        return Ok(json!({
            "@context": object_context(),
            "id": id,
            "type": "OrderedCollection",
            "attributedTo": group.ap_id,
            // The thread and its replies that show (the counter is kept as they change).
            "totalItems": 1 + i64::from(thread.reply_count.max(0)),
            "first": format!("{id}?page=true"),
        }));
    }
    // The thread opens the first page (its replies all came after it); then its replies, one
    // range of the (thread_id, id) index per page.
    let mut rows = Vec::new();
    if query.after.is_none() {
        rows.push(thread.clone());
    }
    rows.extend(
        shown(post::Entity::find())
            .filter(post::Column::ThreadId.eq(thread.id))
            .filter(post::Column::Id.gt(query.after.unwrap_or(thread.id)))
            .order_by_asc(post::Column::Id)
            .limit(CONTEXT_PAGE_SIZE - rows.len() as u64)
            .all(database)
            .await?,
    );
    let documents = local_documents(database, group, &rows).await?;
    let items: Vec<Value> = rows
        .iter()
        .map(|row| {
            documents
                .get(&row.id)
                .cloned()
                .unwrap_or_else(|| Value::String(row.ap_id.clone()))
        })
        .collect();
    Ok(page_document(
        &id,
        "OrderedCollectionPage",
        query.after,
        items,
        &rows,
        CONTEXT_PAGE_SIZE,
    ))
}

/// The replies collection of the local `post`, in Mastodon's shape: a `Collection` whose
/// `first` page is embedded; every page lists its replies' ids, oldest first.
pub async fn replies_collection(
    database: &impl ConnectionTrait,
    post: &post::Model,
    query: &CollectionPageQuery,
) -> Result<Value> {
    let id = format!("{}/replies", post.ap_id);
    let after = query.after.unwrap_or(0);
    let rows = shown(post::Entity::find())
        .filter(post::Column::ParentId.eq(post.id))
        .filter(post::Column::Id.gt(after))
        .order_by_asc(post::Column::Id)
        .limit(REPLIES_PAGE_SIZE)
        .all(database)
        .await?;
    let items = rows
        .iter()
        .map(|row| Value::String(row.ap_id.clone()))
        .collect();
    let mut page = page_document(
        &id,
        "CollectionPage",
        query.after,
        items,
        &rows,
        REPLIES_PAGE_SIZE,
    );
    if query.wants_page() {
        return Ok(page);
    }
    if let Value::Object(map) = &mut page {
        map.remove("@context");
    }
    Ok(json!({
        "@context": object_context(),
        "id": id,
        "type": "Collection",
        "first": page,
    }))
}

/// One page: its items, `partOf`, and `next` when the page is full (a page that is not full
/// is the last).
fn page_document(
    collection_id: &str,
    kind: &str,
    after: Option<i64>,
    items: Vec<Value>,
    rows: &[post::Model],
    page_size: u64,
) -> Value {
    let page_id = match after {
        Some(after) => format!("{collection_id}?page=true&after={after}"),
        None => format!("{collection_id}?page=true"),
    };
    let key = if kind == "OrderedCollectionPage" {
        "orderedItems"
    } else {
        "items"
    };
    let mut page = json!({
        "@context": object_context(),
        "id": page_id,
        "type": kind,
        "partOf": collection_id,
        key: items,
    });
    if rows.len() as u64 == page_size
        && let Some(last) = rows.last()
    {
        page["next"] = json!(format!("{collection_id}?page=true&after={}", last.id));
    }
    page
}

/// The objects of the local posts among `rows` (all in `group`), by row id, built from four
/// queries whatever the page's length: their authors, their parents, the parents' authors,
/// and their attachments. (The objects name the parent's author, as `/posts/<id>` does; the other people a
/// post's text mentions are named there only.)
async fn local_documents(
    database: &impl ConnectionTrait,
    group: &actor::Model,
    rows: &[post::Model],
) -> Result<HashMap<i64, Value>> {
    let local: Vec<&post::Model> = rows.iter().filter(|row| row.local).collect();
    if local.is_empty() {
        return Ok(HashMap::new());
    }
    let parent_ids: Vec<i64> = local.iter().filter_map(|row| row.parent_id).collect();
    let parents: HashMap<i64, post::Model> = if parent_ids.is_empty() {
        HashMap::new()
    } else {
        post::Entity::find()
            .filter(post::Column::Id.is_in(parent_ids))
            .all(database)
            .await?
            .into_iter()
            .map(|parent| (parent.id, parent))
            .collect()
    };
    let mut actor_ids: Vec<i64> = local.iter().map(|row| row.author_id).collect();
    actor_ids.extend(parents.values().map(|parent| parent.author_id));
    actor_ids.sort_unstable();
    actor_ids.dedup();
    let actors: HashMap<i64, actor::Model> = actor::Entity::find()
        .filter(actor::Column::Id.is_in(actor_ids))
        .all(database)
        .await?
        .into_iter()
        .map(|actor| (actor.id, actor))
        .collect();
    let attachments =
        crate::groups::attachments::of_posts(database, local.iter().map(|row| row.id).collect())
            .await?;
    let mut documents = HashMap::new();
    for row in local {
        let Some(author) = actors.get(&row.author_id) else {
            continue;
        };
        let parent = row
            .parent_id
            .and_then(|parent_id| parents.get(&parent_id))
            .and_then(|parent| Some((parent, actors.get(&parent.author_id)?)));
        let Some(context) = context_of(group, row) else {
            continue;
        };
        let mut document = local_post_document(
            row,
            &LocalPostLinks {
                group,
                author,
                parent,
                context: &context,
                attachments: attachments
                    .get(&row.id)
                    .map(Vec::as_slice)
                    .unwrap_or_default(),
            },
        );
        if let Value::Object(map) = &mut document {
            map.remove("@context");
        }
        documents.insert(row.id, document);
    }
    Ok(documents)
}
