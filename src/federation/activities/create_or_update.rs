//! `Create` and `Update` of a post (Note, Page, Article, Question) in a local group.
//!
//! A post is for a group when the group is addressed (`to`, `cc`, `audience`) or mentioned, or
//! when it replies to a post the group holds (Mastodon replies often address only the parent's
//! author). Only members may post, only publicly; the author must be the actor. A Mastodon note
//! becomes a thread titled by its first line. The group relays the activity as received.
//! `Update` of an actor (a profile edit, sent to every follower's server) refreshes the cached
//! actor.

use crate::database::unique_row;
use crate::{
    accounts::notifications,
    context::Context,
    error::{Error, Result},
    federation::{
        activities::{
            announce::{self, Boost},
            local_activity, publish_in_group, require_same_actor, sender, without_context,
        },
        delivery::wake_delivery_worker,
        inbox::{BodyDigest, record_received, record_received_insert, was_received},
        instances::host_of,
        objects::{
            attachment,
            post::{POST_KINDS, PostJson, context_of, document_of, local_thread_context},
        },
        remote_posts::{self, Arrival},
    },
    groups::{membership, moderation, posts},
    html,
};
use kindred_entities::{actor, post};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QueryTrait, SqlErr, TransactionTrait, sea_query::SubQueryStatement,
};
use serde::Deserialize;
use serde_json::Value;
use url::Url;

#[derive(Debug, Deserialize)]
pub struct CreateOrUpdate {
    pub id: Url,
    pub actor: Url,
    #[serde(rename = "type")]
    pub kind: String,
    pub object: PostJson,
}

/// `signer` is the actor whose HTTP signature the inbox verified: the activity's actor.
pub async fn receive(
    context: &Context,
    activity: CreateOrUpdate,
    json: Value,
    signer: &actor::Model,
    digest: &BodyDigest,
) -> Result<()> {
    let object = &activity.object;
    if activity.kind == "Update"
        && crate::federation::activities::update_profile::ACTOR_KINDS
            .contains(&object.kind.as_str())
    {
        return crate::federation::activities::update_profile::update_actor(
            context, &activity, &json, digest,
        )
        .await;
    }
    if !POST_KINDS.contains(&object.kind.as_str()) {
        return Err(Error::bad_request(format!(
            "a group takes Note, Page, Article or Question, not {}",
            object.kind
        )));
    }
    let author_id = object
        .author()
        .ok_or_else(|| Error::bad_request("the post has no attributedTo"))?;
    require_same_actor(&activity.actor, &author_id, "create or edit a post")?;
    if host_of(&object.id)? != host_of(&activity.actor)? {
        return Err(Error::bad_request(
            "the post's id is on another server than its author",
        ));
    }
    if !object.is_public() {
        return Err(Error::Forbidden(
            "only public or unlisted posts are shared with a group".into(),
        ));
    }
    let mentions = object.mentions().len();
    if mentions > context.config.federation.max_mentions_per_post {
        return Err(Error::Forbidden(format!(
            "a post may mention at most {} people here; this one mentions {mentions}",
            context.config.federation.max_mentions_per_post
        )));
    }

    let existing = posts::find_by_ap_id(&context.read_db, object.id.as_str()).await?;
    let reply_to = object.in_reply_to();
    let parent = match &reply_to {
        Some(parent_id) => posts::find_by_ap_id(&context.read_db, parent_id.as_str()).await?,
        None => None,
    };
    let group = match &existing {
        // An edit is judged by the group the post belongs to, never by whom it addresses:
        // otherwise an author could have any group relay an edit of a post from another, or
        // edit there while banned.
        Some(existing) => group_of_existing_post(&context.read_db, existing).await?,
        None => target_group(context, object, parent.as_ref()).await?,
    };
    if !group.local {
        // A post (or an edit of one) in a group another server hosts, sent here directly
        // because it answers or mentions someone here (another Kindred, Mastodon do so). It
        // is not a post into a group of ours: the group's own Announce brings it, and it is
        // stored and notified then. Taken (202) and otherwise left alone: never judged as a
        // post into that group, and never applied on the author's word alone.
        tracing::debug!(post = %object.id, group = %group.ap_id, "a post of a group hosted elsewhere, sent directly, is left to the group's relay");
        let transaction = context.db.begin().await?;
        record_received(
            &transaction,
            &activity.id,
            &activity.actor,
            &activity.kind,
            digest,
        )
        .await?;
        transaction.commit().await?;
        return Ok(());
    }
    if reply_to.is_some() && parent.is_none() && existing.is_none() {
        return Err(Error::bad_request(
            "this replies to a post the group does not hold",
        ));
    }
    // The actor the inbox dereferenced and verified the signature of: `activity.actor`.
    let author = signer.clone();
    if existing
        .as_ref()
        .is_some_and(|existing| existing.author_id != author.id)
    {
        return Err(Error::Forbidden("only its author may edit a post".into()));
    }
    if let Some(existing) = &existing {
        // Membership, bans and the thread's lock, all in the post's own group.
        let thread = match existing.thread_id {
            None => Some(existing.clone()),
            Some(thread_id) => {
                unique_row(post::Entity::find_by_id(thread_id), &context.read_db).await?
            }
        };
        moderation::may_post(&context.read_db, &group, &author, thread.as_ref()).await?;
    } else {
        let thread = thread_of(&context.read_db, parent.as_ref()).await?;
        moderation::may_post(&context.read_db, &group, &author, thread.as_ref()).await?;
        if parent
            .as_ref()
            .is_some_and(|parent| parent.removed_at.is_some() || parent.deleted_at.is_some())
        {
            return Err(Error::Gone("the post this replies to".into()));
        }
    }
    let content = post_content(&context.config, object, &group, reply_to.is_some());
    if parent
        .as_ref()
        .is_some_and(|parent| parent.awaiting_approval)
    {
        return Err(Error::not_found("the post this replies to"));
    }
    let held =
        existing.is_none() && moderation::needs_approval(&context.read_db, &group, &author).await?;

    // Read now, on a read connection, rather than inside the transaction: a member whose
    // Follow is accepted at this very moment may miss this one post, as they would a moment
    // earlier.
    let member_inboxes = membership::member_inboxes_of_group(context, &group).await?;
    let write = PostWrite {
        context: context.clone(),
        activity_id: activity.id,
        activity_actor: activity.actor,
        activity_kind: activity.kind,
        digest: digest.clone(),
        post_ap_id: object.id.to_string(),
        updated_at: object.updated.unwrap_or_else(chrono::Utc::now),
        published_at: object.published.unwrap_or_else(chrono::Utc::now),
        mentioned_here: remote_posts::local_people(context, object.mentions()),
        existing,
        parent,
        group,
        author,
        content,
        held,
        json,
        member_inboxes,
    };
    if write.existing.is_none()
        && !write.held
        && context.db.get_database_backend() == DbBackend::Postgres
    {
        store_new_post_in_one_statement(&write).await?;
    } else {
        // The database writer commits this together with other activities arriving
        // meanwhile (SQLite), or in a transaction of its own (PostgreSQL).
        context
            .writer
            .write(write, |transaction, write| {
                Box::pin(store_post(transaction, write))
            })
            .await?;
    }
    wake_delivery_worker(context);
    Ok(())
}

/// PostgreSQL: what `store_post` writes for a new post that is not held, in one statement (see
/// `database::run_together`): the activity's record, the post (with an id drawn beforehand,
/// which the relay's thread `context` and the notifications name), its attachments, its
/// count on its thread, its notifications, and the relay with the outbox's counter. As
/// separate statements in a transaction (with `BEGIN` and `COMMIT`) these were six of an
/// inbound post's eleven round trips; as one, PostgreSQL does 13–30% more posts a second with
/// the same CPU (pgbench, docs/performance.md), and where it runs across a network each round
/// trip saved is latency saved. What it reads (who is notified, which software each member
/// server runs) is read first, outside. Built from the same pieces as `store_post`'s.
async fn store_new_post_in_one_statement(write: &PostWrite) -> Result<()> {
    let PostWrite {
        context,
        activity_id,
        activity_actor,
        activity_kind,
        digest,
        post_ap_id,
        mentioned_here,
        parent,
        group,
        author,
        content,
        json,
        member_inboxes,
        ..
    } = write;
    let database = &context.db;
    let post_id = posts::draw_post_id(database).await?;
    let now = chrono::Utc::now();
    let thread_id = posts::thread_id_of_reply_to(parent.as_ref());
    let mut row = posts::new_post_row(group, author, write.new_post(), now)?;
    row.id = sea_orm::ActiveValue::Set(post_id);
    let notified = notifications::wanted_for_new_post(
        &context.read_db,
        parent.as_ref().map(|parent| parent.author_id),
        author.id,
        mentioned_here,
    )
    .await?;
    let thread_context = local_thread_context(group, thread_id.unwrap_or(post_id));
    let relay = announce::relay_statements(
        &context.read_db,
        context,
        group,
        json,
        (post_ap_id, Some(&thread_context)),
        if parent.is_none() {
            Boost::NewThread
        } else {
            Boost::No
        },
        member_inboxes,
    )
    .await?;

    // In the order that locks rows as every transaction does, post before outbox counter
    // (PostgreSQL runs the last write first, then the others backwards; see `run_together`):
    // the outbox counter given first, the thread's count last.
    let mut writes: Vec<SubQueryStatement> = Vec::new();
    writes.extend(relay.outbox_totals.map(|insert| insert.into_query().into()));
    writes.extend(relay.activities.map(|insert| insert.into_query().into()));
    if let Some(insert) = notifications::insert_for_new_post(&notified, post_id, now) {
        writes.push(insert.into_query().into());
    }
    if let Some(insert) = content
        .attachments
        .as_deref()
        .and_then(|attachments| crate::groups::attachments::insert_of(post_id, attachments))
    {
        writes.push(insert.into_query().into());
    }
    writes.push(post::Entity::insert(row).into_query().into());
    writes.push(
        record_received_insert(activity_id, activity_actor, activity_kind, digest)
            .into_query()
            .into(),
    );
    if let Some(thread_id) = thread_id {
        writes.push(
            posts::reply_counted_on_thread(thread_id, now)
                .into_query()
                .into(),
        );
    }
    let Err(error) = crate::database::run_together(database, writes).await else {
        return Ok(());
    };
    // Copies of one activity arriving at once pass the duplicate check together; the first to
    // commit stores the post, and the others meet its rows on a unique index (the post's or
    // the record's) and fail whole. Nothing of theirs was written.
    if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
        && was_received(database, activity_id, digest).await?
    {
        tracing::debug!(id = %activity_id, "duplicate activity ignored");
        return Ok(());
    }
    Err(error.into())
}

/// What an accepted Create or Update of a post in a local group writes, checked already.
struct PostWrite {
    context: Context,
    activity_id: Url,
    activity_actor: Url,
    activity_kind: String,
    digest: BodyDigest,
    post_ap_id: String,
    updated_at: chrono::DateTime<chrono::Utc>,
    published_at: chrono::DateTime<chrono::Utc>,
    mentioned_here: Vec<String>,
    existing: Option<post::Model>,
    parent: Option<post::Model>,
    group: actor::Model,
    author: actor::Model,
    content: posts::PostContent,
    held: bool,
    json: Value,
    member_inboxes: std::sync::Arc<std::collections::BTreeSet<String>>,
}

impl PostWrite {
    /// The post to store when it is new (a remote member's, in a local group).
    fn new_post(&self) -> posts::NewPost<'_> {
        posts::NewPost {
            ap_id: &self.post_ap_id,
            parent: self.parent.as_ref(),
            content: self.content.clone(),
            published_at: self.published_at,
            local: false,
            context_url: None,
        }
    }
}

/// Records the activity, stores the post or its edit, and enqueues the relay: a job of the
/// database writer, so it may run more than once and writes only through `transaction`.
async fn store_post(transaction: &DatabaseTransaction, write: &PostWrite) -> Result<()> {
    let PostWrite {
        context,
        activity_id,
        activity_actor,
        activity_kind,
        digest,
        post_ap_id,
        updated_at,
        published_at: _,
        mentioned_here,
        existing,
        parent: _,
        group,
        author,
        content,
        held,
        json,
        member_inboxes,
    } = write;
    if !record_received(
        transaction,
        activity_id,
        activity_actor,
        activity_kind,
        digest,
    )
    .await?
    {
        return Ok(());
    }
    match existing {
        Some(existing) => {
            if existing.author_id != author.id {
                return Err(Error::Forbidden("only its author may edit a post".into()));
            }
            let (waiting, removed) = (existing.awaiting_approval, existing.removed_at.is_some());
            let edited =
                posts::edit_post(transaction, existing.clone(), content.clone(), *updated_at)
                    .await?;
            if waiting {
                // Still waiting: the edit replaces what will be relayed on approval.
                moderation::hold_for_approval(transaction, edited, json).await?;
            } else if !removed {
                let thread_context = context_of(group, &edited);
                announce::relay_to(
                    transaction,
                    context,
                    group,
                    json,
                    (post_ap_id, thread_context.as_deref()),
                    Boost::No,
                    member_inboxes,
                )
                .await?;
            }
        }
        None => {
            let stored = posts::add_post(transaction, group, author, write.new_post()).await?;
            if *held {
                // Pre-moderated: kept with its activity until a moderator approves it.
                moderation::hold_for_approval(transaction, stored, json).await?;
            } else {
                notifications::notify_about_new_post(transaction, &stored, mentioned_here).await?;
                let boost = if stored.parent_id.is_none() {
                    Boost::NewThread
                } else {
                    Boost::No
                };
                let thread_context = context_of(group, &stored);
                announce::relay_to(
                    transaction,
                    context,
                    group,
                    json,
                    (&stored.ap_id, thread_context.as_deref()),
                    boost,
                    member_inboxes,
                )
                .await?;
            }
        }
    }
    Ok(())
}

/// A post created or edited in a remote group a local person follows, as the group announced
/// it (already checked by `announce::receive`). Stored without relaying: the group did that.
/// A new post goes through `remote_posts::store_post` (a reply whose parent is not held waits
/// for it, and its thread is filled in).
pub async fn receive_announced(
    context: &Context,
    group: &actor::Model,
    activity: CreateOrUpdate,
    digest: &BodyDigest,
) -> Result<()> {
    let object = &activity.object;
    if !POST_KINDS.contains(&object.kind.as_str()) {
        return Ok(());
    }
    let author_id = object
        .author()
        .ok_or_else(|| Error::bad_request("the post has no attributedTo"))?;
    require_same_actor(&activity.actor, &author_id, "create or edit a post")?;
    if host_of(&object.id)? != host_of(&activity.actor)?
        || !object.is_public()
        || object.mentions().len() > context.config.federation.max_mentions_per_post
    {
        return Ok(());
    }
    let Some(existing) = posts::find_by_ap_id(&context.db, object.id.as_str()).await? else {
        remote_posts::store_post(
            context,
            group,
            object,
            Arrival::Announced {
                activity_id: &activity.id,
                actor: &activity.actor,
                kind: &activity.kind,
                digest,
            },
        )
        .await?;
        return Ok(());
    };
    let transaction = context.db.begin().await?;
    if !record_received(
        &transaction,
        &activity.id,
        &activity.actor,
        &activity.kind,
        digest,
    )
    .await?
    {
        return Ok(());
    }
    if activity.kind == "Update" {
        let author = sender(context, &activity.actor).await?;
        if existing.author_id != author.id || existing.group_id != group.id {
            return Err(Error::Forbidden("only its author may edit a post".into()));
        }
        let content = post_content(
            &context.config,
            object,
            group,
            object.in_reply_to().is_some(),
        );
        let updated_at = object.updated.unwrap_or_else(chrono::Utc::now);
        posts::edit_post(&transaction, existing, content, updated_at).await?;
    }
    transaction.commit().await?;
    Ok(())
}

/// Publishes a local person's new post, stored already in `transaction` (see
/// `actions::posts::write_post`): its `Create` goes to the group, which relays it as it relays
/// a remote member's post (and boosts a new thread). A held post keeps its `Create` until a
/// moderator approves it.
pub async fn publish_new_post(
    transaction: &impl ConnectionTrait,
    context: &Context,
    author: &actor::Model,
    group: &actor::Model,
    stored: post::Model,
    held: bool,
) -> Result<post::Model> {
    let document = without_context(document_of(transaction, &stored).await?);
    let thread_context = document.get("context").cloned();
    let (id, mut create) = local_activity(&context.config, "Create", author, group, document);
    // The activity names its thread's context too (FEP-7888), as the group's Announce does.
    if let Some(thread_context) = thread_context {
        create["context"] = thread_context;
    }
    if held {
        // Pre-moderated: published when a moderator approves it.
        return moderation::hold_for_approval(transaction, stored, &create).await;
    }
    let boost = if stored.parent_id.is_none() {
        Boost::NewThread
    } else {
        Boost::No
    };
    publish_in_group(
        transaction,
        context,
        author,
        group,
        (&id, &create),
        &stored.ap_id,
        boost,
    )
    .await?;
    Ok(stored)
}

/// Publishes a post a moderator approved out of the pre-moderation queue (approved already in
/// `transaction`, see `actions::moderation::approve_post`): its author and the people it
/// mentions are notified, and it goes out as if it had just arrived (a local person's held
/// `Create` published, a remote member's activity relayed verbatim).
pub async fn publish_approval(
    transaction: &impl ConnectionTrait,
    context: &Context,
    group: &actor::Model,
    author: &actor::Model,
    approved: &post::Model,
    held_activity: Option<&Value>,
) -> Result<()> {
    let Some(activity) = held_activity else {
        return Ok(());
    };
    let boost = if approved.parent_id.is_none() {
        Boost::NewThread
    } else {
        Boost::No
    };
    let mentions: Vec<String> = activity["object"]["tag"]
        .as_array()
        .map(|tags| {
            tags.iter()
                .filter(|tag| tag["type"] == "Mention")
                .filter_map(|tag| tag["href"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    notifications::notify_about_new_post(transaction, approved, &mentions).await?;
    if author.local {
        let id = activity["id"]
            .as_str()
            .and_then(|id| Url::parse(id).ok())
            .ok_or_else(|| Error::internal("a held local activity without an id"))?;
        publish_in_group(
            transaction,
            context,
            author,
            group,
            (&id, activity),
            &approved.ap_id,
            boost,
        )
        .await
    } else {
        announce::relay(
            transaction,
            context,
            group,
            activity,
            &approved.ap_id,
            boost,
        )
        .await
    }
}

/// Publishes a local person's edit, stored already in `transaction` (see
/// `actions::posts::edit_post`): the `Update` carries the whole new object. A held post keeps
/// the edited `Create` for its approval; a removed one publishes nothing.
pub async fn publish_edit(
    transaction: &impl ConnectionTrait,
    context: &Context,
    editor: &actor::Model,
    group: &actor::Model,
    edited: post::Model,
) -> Result<post::Model> {
    if edited.awaiting_approval {
        let document = without_context(document_of(transaction, &edited).await?);
        let (_, create) = local_activity(&context.config, "Create", editor, group, document);
        return moderation::hold_for_approval(transaction, edited, &create).await;
    }
    if edited.removed_at.is_some() {
        return Ok(edited);
    }
    let document = without_context(document_of(transaction, &edited).await?);
    let thread_context = document.get("context").cloned();
    let (id, mut update) = local_activity(&context.config, "Update", editor, group, document);
    if let Some(thread_context) = thread_context {
        update["context"] = thread_context;
    }
    crate::federation::activities::publish_authors_change(
        transaction,
        context,
        editor,
        group,
        (&id, &update),
        &edited.ap_id,
    )
    .await?;
    Ok(edited)
}

/// The thread a reply to `parent` joins: the parent itself when it is the thread.
async fn thread_of(
    database: &impl ConnectionTrait,
    parent: Option<&post::Model>,
) -> Result<Option<post::Model>> {
    match parent {
        None => Ok(None),
        Some(parent) => match parent.thread_id {
            None => Ok(Some(parent.clone())),
            Some(thread_id) => Ok(unique_row(post::Entity::find_by_id(thread_id), database).await?),
        },
    }
}

/// The group an edited post belongs to. (A post of a remote group is edited through that
/// group's announced Update; the caller leaves a direct one alone.)
async fn group_of_existing_post(
    database: &impl ConnectionTrait,
    existing: &post::Model,
) -> Result<actor::Model> {
    let group = unique_row(actor::Entity::find_by_id(existing.group_id), database)
        .await?
        .ok_or_else(|| Error::not_found("group"))?;
    if group.deleted_at.is_some() {
        return Err(Error::Gone("group".into()));
    }
    Ok(group)
}

/// The local group a new post is for: addressed or mentioned, else the group of the post it
/// replies to.
async fn target_group(
    context: &Context,
    object: &PostJson,
    parent: Option<&post::Model>,
) -> Result<actor::Model> {
    let database = &context.read_db;
    // A local group's id is on this instance's origin: the other addresses (the public
    // collection, followers elsewhere, people mentioned) cannot name one. Leaving them out
    // makes the usual lookup one `ap_id = ?`, which SQLite does not plan again for every new
    // value as it does an `IN` list it has statistics for.
    let origin = format!(
        "{}/",
        context
            .config
            .instance
            .public_url
            .origin()
            .ascii_serialization()
    );
    let mut candidates: Vec<String> = object
        .addresses()
        .map(str::to_string)
        .chain(object.mentions())
        .filter(|candidate| candidate.starts_with(&origin))
        .collect();
    candidates.sort();
    candidates.dedup();
    let addressed = match candidates.as_slice() {
        [only] => actor::Column::ApId.eq(only.as_str()),
        _ => actor::Column::ApId.is_in(candidates.iter().map(String::as_str)),
    };
    // A post addressed to several local groups goes to the oldest of them.
    if !candidates.is_empty()
        && let Some(group) = crate::database::first_of_few(
            actor::Entity::find()
                .filter(addressed)
                .filter(actor::Column::Local.eq(true))
                .filter(actor::Column::Kind.eq(actor::ActorKind::Group))
                .filter(actor::Column::DeletedAt.is_null())
                .order_by_asc(actor::Column::Id),
            database,
        )
        .await?
    {
        return Ok(group);
    }
    if let Some(known) = parent
        && let Some(group) = unique_row(actor::Entity::find_by_id(known.group_id), database).await?
    {
        return Ok(group);
    }
    Err(Error::not_found("group addressed by this post"))
}

/// Sanitised content, and a title: the post's `name`, or for a top-level note the first line
/// of its text with the group's mention taken out.
pub(crate) fn post_content(
    config: &crate::config::Config,
    object: &PostJson,
    group: &actor::Model,
    is_reply: bool,
) -> posts::PostContent {
    let content_html = html::sanitize(object.content.as_deref().unwrap_or_default());
    let title = match object.name.as_deref().map(html::plain_text_field) {
        Some(name) if !name.is_empty() => Some(posts::shorten_title(&name)),
        _ if is_reply => None,
        _ => Some(posts::title_from_first_line(
            object.content.as_deref().unwrap_or_default(),
            &group.preferred_username,
        )),
    };
    let source_markdown = object
        .source
        .as_ref()
        .filter(|source| source.media_type.as_deref() == Some("text/markdown"))
        .map(|source| source.content.clone());
    posts::PostContent {
        kind: object.kind.clone(),
        title,
        content_html,
        source_markdown,
        url: object
            .web_url()
            .filter(|url| crate::federation::objects::actor::is_web_url(url)),
        sensitive: object.sensitive.unwrap_or(false),
        content_warning: attachment::content_warning_of(object),
        attachments: Some(attachment::attachments_of(config, object)),
    }
}
