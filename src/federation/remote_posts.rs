//! Posts of groups hosted on other servers, as this instance stores them: announced by the
//! group, read from its outbox when someone here joins, or fetched by a thread backfill. A
//! reply whose parent is not held yet waits (`waiting_replies`) and is stored once the parent
//! arrives; meanwhile a backfill of its thread is scheduled.

use crate::{
    accounts::notifications,
    context::Context,
    error::{Error, Result},
    federation::{
        activities::{create_or_update::post_content, sender},
        backfill,
        inbox::{BodyDigest, record_received},
        instances::host_of,
        objects::post::{POST_KINDS, PostJson},
    },
    groups::posts,
};
use chrono::Utc;
use kindred_entities::{actor, post, waiting_reply};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait, sea_query::OnConflict,
};
use url::Url;

/// Where a post of a remote group came from, which decides what else is done with it. (What
/// the group's outbox lists when someone here joins is taken as announced.)
pub enum Arrival<'a> {
    /// The group announced its `Create`: the activity is recorded as received in the same
    /// transaction, and a new thread or a reply without its parent schedules a backfill.
    Announced {
        activity_id: &'a Url,
        actor: &'a Url,
        kind: &'a str,
        digest: &'a BodyDigest,
    },
    /// Fetched by a backfill, which is under way: nothing more is scheduled.
    Backfill,
    /// A reply that was waiting for its parent, which has arrived.
    Waited,
}

/// What became of a post.
#[derive(Debug)]
pub enum Stored {
    /// Stored now.
    New(post::Model),
    /// Held already (an id is stored once).
    AlreadyHere(post::Model),
    /// A reply whose parent is not held: kept until the parent arrives.
    Waiting,
    /// Not stored, and why (not public, not a post, from elsewhere than its author's server).
    Skipped(&'static str),
}

/// Stores a post of the remote `group` (its origin verified already: fetched from its own
/// server, or vouched for by the group), then the replies that were waiting for it.
pub async fn store_post(
    context: &Context,
    group: &actor::Model,
    object: &PostJson,
    arrival: Arrival<'_>,
) -> Result<Stored> {
    let stored = store_one(context, group, object, arrival).await?;
    if let Stored::New(post) = &stored {
        attach_waiting_replies(context, group, post).await?;
    }
    Ok(stored)
}

async fn store_one(
    context: &Context,
    group: &actor::Model,
    object: &PostJson,
    arrival: Arrival<'_>,
) -> Result<Stored> {
    if !POST_KINDS.contains(&object.kind.as_str()) {
        return Ok(Stored::Skipped("not a kind of post"));
    }
    let Some(author_id) = object.author() else {
        return Ok(Stored::Skipped("no attributedTo"));
    };
    if host_of(&object.id)? != host_of(&author_id)? {
        return Ok(Stored::Skipped(
            "its id is on another server than its author",
        ));
    }
    if !object.is_public() {
        return Ok(Stored::Skipped("not public"));
    }
    if object.mentions().len() > context.config.federation.max_mentions_per_post {
        return Ok(Stored::Skipped("too many mentions"));
    }
    if let Some(existing) = posts::find_by_ap_id(&context.db, object.id.as_str()).await? {
        return Ok(Stored::AlreadyHere(existing));
    }
    let reply_to = object.in_reply_to();
    let parent = match &reply_to {
        Some(parent_id) => posts::find_by_ap_id(&context.db, parent_id.as_str()).await?,
        None => None,
    };
    if parent
        .as_ref()
        .is_some_and(|parent| parent.group_id != group.id)
    {
        return Err(Error::bad_request("the reply is in another group"));
    }
    if let (Some(parent_id), None) = (&reply_to, &parent) {
        return wait_for_parent(context, group, object, parent_id, &arrival).await;
    }
    let author = sender(context, &author_id).await?;
    let content = post_content(&context.config, object, group, reply_to.is_some());
    let transaction = context.db.begin().await?;
    if !record_arrival(&transaction, &arrival).await? {
        return Ok(Stored::Skipped("received already"));
    }
    let stored = posts::add_post(
        &transaction,
        group,
        &author,
        posts::NewPost {
            ap_id: object.id.as_str(),
            parent: parent.as_ref(),
            content,
            published_at: object.published.unwrap_or_else(Utc::now),
            local: false,
            context_url: object.context_url().map(String::from),
        },
    )
    .await?;
    notifications::notify_about_new_post(
        &transaction,
        &stored,
        &local_people(context, object.mentions()),
    )
    .await?;
    let fill_in = matches!(arrival, Arrival::Announced { .. }) && stored.parent_id.is_none();
    if fill_in {
        backfill::schedule(&transaction, group, &stored.ap_id, Some(stored.id)).await?;
    }
    transaction.commit().await?;
    if fill_in {
        backfill::wake(context);
    }
    Ok(Stored::New(stored))
}

/// Keeps a reply whose parent is not held, and schedules a backfill from it (which walks up
/// to the parent), unless a backfill is what fetched it.
async fn wait_for_parent(
    context: &Context,
    group: &actor::Model,
    object: &PostJson,
    parent_id: &Url,
    arrival: &Arrival<'_>,
) -> Result<Stored> {
    let transaction = context.db.begin().await?;
    if !record_arrival(&transaction, arrival).await? {
        return Ok(Stored::Skipped("received already"));
    }
    waiting_reply::Entity::insert(waiting_reply::ActiveModel {
        group_id: Set(group.id),
        ap_id: Set(object.id.to_string()),
        parent_ap_id: Set(parent_id.to_string()),
        object_json: Set(serde_json::to_string(object)?),
        received_at: Set(Utc::now()),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::column(waiting_reply::Column::ApId)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(&transaction)
    .await?;
    let schedule = matches!(arrival, Arrival::Announced { .. });
    if schedule {
        backfill::schedule(&transaction, group, object.id.as_str(), None).await?;
    }
    transaction.commit().await?;
    if schedule {
        backfill::wake(context);
    }
    tracing::info!(post = %object.id, parent = %parent_id, "a reply waits for its parent");
    Ok(Stored::Waiting)
}

/// Records the announced activity that brought a post as received, in `transaction`; false
/// when it was received already. Other arrivals record nothing.
async fn record_arrival(transaction: &impl ConnectionTrait, arrival: &Arrival<'_>) -> Result<bool> {
    match arrival {
        Arrival::Announced {
            activity_id,
            actor,
            kind,
            digest,
        } => record_received(transaction, activity_id, actor, kind, digest).await,
        Arrival::Backfill | Arrival::Waited => Ok(true),
    }
}

/// Stores the replies that were waiting for `parent`, and theirs in turn.
async fn attach_waiting_replies(
    context: &Context,
    group: &actor::Model,
    parent: &post::Model,
) -> Result<()> {
    let mut arrived = vec![parent.ap_id.clone()];
    while let Some(parent_ap_id) = arrived.pop() {
        let waiting = waiting_reply::Entity::find()
            .filter(waiting_reply::Column::ParentApId.eq(&parent_ap_id))
            .filter(waiting_reply::Column::GroupId.eq(group.id))
            .order_by_asc(waiting_reply::Column::Id)
            .limit(1000)
            .all(&context.db)
            .await?;
        for reply in waiting {
            waiting_reply::Entity::delete_by_id(reply.id)
                .exec(&context.db)
                .await?;
            let Ok(object) = serde_json::from_str::<PostJson>(&reply.object_json) else {
                continue;
            };
            match store_one(context, group, &object, Arrival::Waited).await {
                Ok(Stored::New(stored)) => arrived.push(stored.ap_id),
                Ok(_) => {}
                Err(error) => {
                    tracing::info!(post = %reply.ap_id, %error, "a waiting reply could not be stored")
                }
            }
        }
    }
    Ok(())
}

/// Forgets replies that waited longer than `older_than` for a parent that never came.
pub async fn forget_stale_waiting_replies(
    database: &impl ConnectionTrait,
    older_than: chrono::DateTime<Utc>,
) -> Result<u64> {
    Ok(waiting_reply::Entity::delete_many()
        .filter(waiting_reply::Column::ReceivedAt.lt(older_than))
        .exec(database)
        .await?
        .rows_affected)
}

/// The mentions that may name people here (`/users/…` on this instance).
pub fn local_people(context: &Context, mentions: Vec<String>) -> Vec<String> {
    let prefix = context.config.url_for("/users/").to_string();
    mentions
        .into_iter()
        .filter(|mention| mention.starts_with(&prefix))
        .collect()
}
