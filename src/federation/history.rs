//! A remote group's history, read when a person here joins it: the latest threads its outbox
//! announces (up to `federation.history_threads_on_join`), so the group does not look empty
//! here although it has threads on its home server. Read in the background after the group's
//! Accept, and again at start-up for groups whose reading never finished. Each thread stored
//! schedules its backfill (`federation/backfill/`), which brings the replies.

use crate::{
    context::Context,
    error::{Error, Result},
    federation::{activities::announce, instances::host_of},
};
use activitypub_federation::fetch::fetch_object_http;
use chrono::Utc;
use kindred_entities::{actor, membership};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QuerySelect,
};
use serde_json::Value;
use url::Url;

/// The most outbox pages read for one group, whatever they hold: an outbox full of votes and
/// replies must not be read to its end.
const MOST_PAGES: usize = 20;

/// Reads `group`'s history in the background, unless it was read already.
pub fn read_in_background(context: &Context, group: actor::Model) {
    if group.local
        || group.history_read_at.is_some()
        || context.config.federation.history_threads_on_join == 0
    {
        return;
    }
    let context = context.reset_request_count();
    tokio::spawn(async move {
        match read_group_history(&context, &group).await {
            Ok(threads) => {
                tracing::info!(group = %group.ap_id, threads, "read the group's history")
            }
            Err(error) => {
                tracing::warn!(group = %group.ap_id, %error, "could not read the group's history")
            }
        }
    });
}

/// At start-up: reads the history of every remote group someone here has joined whose history
/// was never read (the process may have stopped while reading it).
pub async fn read_missing_histories(context: &Context) -> Result<()> {
    if context.config.federation.history_threads_on_join == 0 {
        return Ok(());
    }
    let joined: Vec<i64> = membership::Entity::find()
        .select_only()
        .column(membership::Column::GroupId)
        .filter(membership::Column::State.eq(membership::MembershipState::Accepted))
        .distinct()
        .into_tuple()
        .all(&context.db)
        .await?;
    let groups = actor::Entity::find()
        .filter(actor::Column::Id.is_in(joined))
        .filter(actor::Column::Local.eq(false))
        .filter(actor::Column::Kind.eq(actor::ActorKind::Group))
        .filter(actor::Column::HistoryReadAt.is_null())
        .filter(actor::Column::DeletedAt.is_null())
        .all(&context.db)
        .await?;
    for group in groups {
        if crate::groups::membership::local_member_count(&context.db, group.id).await? > 0 {
            read_in_background(context, group);
        }
    }
    Ok(())
}

/// Reads the group's outbox, newest first, page after page, until it has stored the
/// configured number of threads or the outbox ends; then records that the history was read.
/// Returns how many threads it stored. An item that cannot be read is skipped.
pub async fn read_group_history(context: &Context, group: &actor::Model) -> Result<usize> {
    let wanted = context.config.federation.history_threads_on_join;
    let outbox = group
        .outbox_url
        .as_deref()
        .ok_or_else(|| Error::bad_request("the group has no outbox"))?;
    let group_host = host_of(&Url::parse(&group.ap_id)?)?;
    let mut threads = 0;
    let mut page = fetch_on_groups_server(context, outbox, &group_host).await?;
    // Lemmy lists the items on the collection itself; others link (or embed) a first page.
    let mut items = items_of(&page);
    let mut next = match page.get("first") {
        Some(Value::Object(_)) => {
            page = page["first"].clone();
            items.extend(items_of(&page));
            link_of(&page, "next")
        }
        // The items on the collection may be only the latest threads (Kindred, Lemmy): the
        // pages go on from there (what is read twice is stored once).
        Some(Value::String(first)) => Some(first.clone()),
        _ => None,
    };
    let mut pages_read = 1;
    loop {
        for item in &items {
            if threads >= wanted {
                break;
            }
            match announce::apply_history_item(&context.reset_request_count(), group, item).await {
                Ok(true) => threads += 1,
                Ok(false) => {}
                Err(error) => {
                    tracing::debug!(group = %group.ap_id, %error, "an outbox item was skipped")
                }
            }
        }
        let Some(url) = next.take() else { break };
        if threads >= wanted || pages_read >= MOST_PAGES {
            break;
        }
        page = fetch_on_groups_server(context, &url, &group_host).await?;
        pages_read += 1;
        items = items_of(&page);
        next = link_of(&page, "next");
    }
    let mut read: actor::ActiveModel = group.clone().into();
    read.history_read_at = Set(Some(Utc::now()));
    read.update(&context.db).await?;
    Ok(threads)
}

/// Fetches a collection or page, which must be on the group's own server.
async fn fetch_on_groups_server(context: &Context, url: &str, group_host: &str) -> Result<Value> {
    let url = Url::parse(url)?;
    if host_of(&url)? != group_host {
        return Err(Error::bad_request(
            "the group's outbox links to another server",
        ));
    }
    let fetched =
        fetch_object_http::<crate::context::AppState, Value>(&url, &context.reset_request_count())
            .await
            .map_err(|error| {
                Error::bad_request(format!("the outbox could not be read: {error}"))
            })?;
    Ok(fetched.object)
}

fn items_of(page: &Value) -> Vec<Value> {
    page.get("orderedItems")
        .or_else(|| page.get("items"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn link_of(page: &Value, name: &str) -> Option<String> {
    match page.get(name)? {
        Value::String(url) => Some(url.clone()),
        Value::Object(linked) => linked.get("id").and_then(Value::as_str).map(str::to_string),
        _ => None,
    }
}
