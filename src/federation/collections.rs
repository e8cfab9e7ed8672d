//! A local group's collections as ActivityPub serves them: outbox (its Announces, newest first,
//! in pages), followers (a count; the member list stays private), moderators and featured.

use crate::{
    error::{Error, Result},
    federation::context::object_context,
};
use kindred_entities::{activity, actor};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::{Value, json};

/// How many activities one outbox page holds.
pub const OUTBOX_PAGE_SIZE: u64 = 20;

fn collection_url(group: &actor::Model, url: &Option<String>) -> Result<String> {
    url.clone()
        .ok_or_else(|| Error::internal(format!("group {} lacks a collection URL", group.ap_id)))
}

/// Which page of an outbox: the first, the one after an activity (by row id, as the `next`
/// links name it), or an older page by number (kept for links from before the keyset; its
/// cost grows with the number).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxPage {
    Numbered(u64),
    Before(i64),
}

/// The outbox: without a page, the collection with its total (a counter, `outbox_totals`) and
/// a link to the first page; with one, that page of activities, newest first, linking to the
/// next by the last row's id (keyset paging: a deep page costs what the first does).
pub async fn outbox(
    database: &impl ConnectionTrait,
    group: &actor::Model,
    page: Option<OutboxPage>,
) -> Result<Value> {
    let id = collection_url(group, &group.outbox_url)?;
    let listed = || {
        activity::Entity::find()
            .filter(activity::Column::ActorId.eq(group.id))
            .filter(activity::Column::InOutbox.eq(true))
    };
    let total = crate::federation::outbox_totals::total(database, group.id).await?;
    let Some(page) = page else {
        // Lemmy reads a community's latest posts from the collection itself (`orderedItems`:
        // its last 20 `Announce{Create}` of threads) when its first user subscribes; Mastodon
        // and others page from `first`. Both find what they read.
        let latest_threads = latest_thread_announces(database, group).await?;
        return Ok(json!({
            "@context": object_context(),
            "id": id,
            "type": "OrderedCollection",
            "totalItems": total,
            "orderedItems": latest_threads,
            "first": format!("{id}?page=1"),
        }));
    };
    let mut query = newest_first(listed())
        .select_only()
        .column(activity::Column::Id)
        .column(activity::Column::Json)
        .limit(OUTBOX_PAGE_SIZE + 1);
    let page_id = match page {
        OutboxPage::Numbered(0) => return Err(Error::bad_request("pages are numbered from 1")),
        OutboxPage::Numbered(number) => {
            let skipped = (number - 1)
                .checked_mul(OUTBOX_PAGE_SIZE)
                .ok_or_else(|| Error::bad_request("no such page"))?;
            query = query.offset(skipped);
            format!("{id}?page={number}")
        }
        OutboxPage::Before(before) => {
            query = query.filter(activity::Column::Id.lt(before));
            format!("{id}?page=true&before={before}")
        }
    };
    let mut rows: Vec<(i64, String)> = query.into_tuple().all(database).await?;
    let more = rows.len() as u64 > OUTBOX_PAGE_SIZE;
    rows.truncate(OUTBOX_PAGE_SIZE as usize);
    let items = rows
        .iter()
        .map(|(_, text)| serde_json::from_str::<Value>(text))
        .collect::<Result<Vec<Value>, _>>()?;
    let mut document = json!({
        "@context": object_context(),
        "id": page_id,
        "type": "OrderedCollectionPage",
        "partOf": id,
        "totalItems": total,
        "orderedItems": items,
    });
    if let (true, Some((last, _))) = (more, rows.last()) {
        document["next"] = json!(format!("{id}?page=true&before={last}"));
    }
    Ok(document)
}

/// Newest first, ordered by the whole `(actor_id, in_outbox, id)` index: the filter fixes the
/// first two columns, and naming them keeps PostgreSQL's generic plan on that index (ordered
/// by `id` alone, it walked the primary key backwards past other groups' rows: 13 ms for an
/// old group on a big instance).
fn newest_first(select: sea_orm::Select<activity::Entity>) -> sea_orm::Select<activity::Entity> {
    select
        .order_by_desc(activity::Column::ActorId)
        .order_by_desc(activity::Column::InOutbox)
        .order_by_desc(activity::Column::Id)
}

/// The most recent outbox rows read to find the latest threads' announces.
const MOST_ROWS_FOR_LATEST_THREADS: u64 = 500;

/// How many outbox rows are read at a time while looking for them.
const ROWS_READ_AT_A_TIME: u64 = 2 * OUTBOX_PAGE_SIZE;

/// The group's `Announce{Create}` of its latest threads (at most an outbox page), newest
/// first, as Lemmy lists a community's outbox.
async fn latest_thread_announces(
    database: &impl ConnectionTrait,
    group: &actor::Model,
) -> Result<Vec<Value>> {
    let mut threads = Vec::new();
    let mut read = 0;
    let mut before: Option<i64> = None;
    // A few rows at a time (keyset): a group whose latest activities open threads is done
    // after one short read, where reading the 500 rows at once cost their JSON each time.
    while read < MOST_ROWS_FOR_LATEST_THREADS && (threads.len() as u64) < OUTBOX_PAGE_SIZE {
        let mut select = newest_first(
            activity::Entity::find()
                .filter(activity::Column::ActorId.eq(group.id))
                .filter(activity::Column::InOutbox.eq(true))
                .filter(activity::Column::Kind.eq("Announce")),
        );
        if let Some(before) = before {
            select = select.filter(activity::Column::Id.lt(before));
        }
        let rows: Vec<(i64, String)> = select
            .select_only()
            .column(activity::Column::Id)
            .column(activity::Column::Json)
            .limit(ROWS_READ_AT_A_TIME)
            .into_tuple()
            .all(database)
            .await?;
        read += rows.len() as u64;
        let exhausted = (rows.len() as u64) < ROWS_READ_AT_A_TIME;
        before = rows.last().map(|(id, _)| *id);
        for (_, text) in rows {
            let announce: Value = serde_json::from_str(&text)?;
            let inner = &announce["object"];
            let opens_a_thread = inner["type"] == "Create"
                && inner["object"].get("inReplyTo").is_none_or(Value::is_null);
            if opens_a_thread {
                threads.push(announce);
                if threads.len() as u64 >= OUTBOX_PAGE_SIZE {
                    break;
                }
            }
        }
        if exhausted {
            break;
        }
    }
    Ok(threads)
}

/// The followers collection: how many accepted members the group has (its counter), as a `Collection` with
/// `totalItems` and (empty) `items`, the shape Lemmy's parser wants. Who they are is not
/// published, as Lemmy and Mastodon (by default) keep it.
pub async fn followers(database: &impl ConnectionTrait, group: &actor::Model) -> Result<Value> {
    let id = collection_url(group, &group.followers_url)?;
    let total = crate::groups::membership::member_count(database, group.id).await?;
    Ok(json!({
        "@context": object_context(),
        "id": id,
        "type": "Collection",
        "totalItems": total,
        "items": [],
    }))
}

/// The moderators collection the Group's `attributedTo` names: its owner and moderators, as
/// Lemmy reads it.
pub async fn moderators(database: &impl ConnectionTrait, group: &actor::Model) -> Result<Value> {
    let id = collection_url(group, &group.moderators_url)?;
    let people: Vec<String> = crate::groups::moderation::moderators(database, group.id)
        .await?
        .into_iter()
        .map(|(_, person)| person.ap_id)
        .collect();
    Ok(json!({
        "@context": object_context(),
        "id": id,
        "type": "OrderedCollection",
        "totalItems": people.len(),
        "orderedItems": people,
    }))
}

/// The featured collection: the group's pinned threads, as Lemmy and Mastodon read it (the
/// objects themselves for local posts, their ids for others).
pub async fn featured(database: &impl ConnectionTrait, group: &actor::Model) -> Result<Value> {
    let id = collection_url(group, &group.featured_url)?;
    let mut items = Vec::new();
    for thread in crate::groups::moderation::pinned_threads(database, group.id).await? {
        if thread.local {
            let mut document =
                crate::federation::objects::post::document_of(database, &thread).await?;
            if let Value::Object(map) = &mut document {
                map.remove("@context");
            }
            items.push(document);
        } else {
            items.push(Value::String(thread.ap_id));
        }
    }
    Ok(json!({
        "@context": object_context(),
        "id": id,
        "type": "OrderedCollection",
        "totalItems": items.len(),
        "orderedItems": items,
    }))
}

/// Whether `person` is in the moderators collection a remote group's server serves now
/// (Lemmy's `attributedTo`). Asked at the moment of a moderation action, never cached, so a
/// dismissed moderator is refused at once.
pub async fn is_remote_moderator(
    context: &crate::context::Context,
    group: &actor::Model,
    person: &url::Url,
) -> Result<bool> {
    let moderators = fetch_remote_moderators(context, group).await?;
    let listed = moderators.iter().any(|id| id == person.as_str());
    context.remote_moderators.store(group.id, moderators);
    Ok(listed)
}

/// As [`is_remote_moderator`], for showing a page: answered from what was fetched in the last
/// minute when possible, so reading a thread does not wait on the group's server each time.
/// Actions always ask afresh.
pub async fn is_remote_moderator_for_display(
    context: &crate::context::Context,
    group: &actor::Model,
    person: &url::Url,
) -> Result<bool> {
    if let Some(moderators) = context.remote_moderators.recent(group.id) {
        return Ok(moderators.iter().any(|id| id == person.as_str()));
    }
    is_remote_moderator(context, group, person).await
}

/// The ids a remote group's moderators collection lists now (none when it cannot be read).
async fn fetch_remote_moderators(
    context: &crate::context::Context,
    group: &actor::Model,
) -> Result<Vec<String>> {
    use activitypub_federation::fetch::fetch_object_http;
    let Some(collection) = group
        .moderators_url
        .as_deref()
        .and_then(|url| url::Url::parse(url).ok())
    else {
        return Ok(Vec::new());
    };
    let Ok(fetched) =
        fetch_object_http::<crate::context::AppState, Value>(&collection, context).await
    else {
        tracing::info!(group = %group.ap_id, "the group's moderators could not be fetched");
        return Ok(Vec::new());
    };
    let items = fetched.object["orderedItems"]
        .as_array()
        .or_else(|| fetched.object["items"].as_array())
        .cloned()
        .unwrap_or_default();
    Ok(items
        .iter()
        .filter_map(crate::federation::inbox::id_of)
        .collect())
}
