//! One backfill run: reads a remote thread from the servers that hold it and stores the posts
//! this instance lacks. In order:
//!
//! 1. the start (the thread, or a reply whose parent is missing), fetched from its origin;
//! 2. its `context`, when that resolves to a collection (FEP-f228: NodeBB, WordPress,
//!    Discourse, Lemmy 1.0, Mastodon 4.5);
//! 3. otherwise `inReplyTo` up to the root, then every post's `replies` down (Mastodon 4.x);
//! 4. a server that serves neither (Lemmy 0.19) has nothing more to give: the run says so.
//!
//! Every post is verified by its origin, never by the word of the server that listed it: an
//! object embedded in a page counts only when its id is on the server that served the page;
//! any other is fetched from its own server (which must answer with that id). A post is
//! stored only when its parent is held, or when it is the thread's root, so a list cannot
//! slip unrelated posts into the group. Each run is bounded (`[backfill]`): posts, depth,
//! time, and requests per server. Ids are followed once.

use crate::{
    config::BackfillConfig,
    context::{AppState, Context},
    federation::{
        inbox::id_of,
        instances::{self, host_of},
        objects::post::{POST_KINDS, PostJson},
        remote_posts::{self, Arrival, Stored},
    },
    groups::posts,
};
use activitypub_federation::{error::Error as FederationError, fetch::fetch_object_http};
use kindred_entities::{actor, thread_backfill, thread_backfill::BackfillOutcome};
use sea_orm::EntityTrait;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use tokio::time::Instant;
use url::Url;

/// The bound that ended a run early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bound {
    Posts,
    Depth,
    Time,
    Requests,
}

impl Bound {
    pub fn as_str(self) -> &'static str {
        match self {
            Bound::Posts => "posts",
            Bound::Depth => "depth",
            Bound::Time => "time",
            Bound::Requests => "requests",
        }
    }
}

/// What a run did.
#[derive(Debug)]
pub struct CrawlReport {
    pub outcome: BackfillOutcome,
    pub posts_added: usize,
    pub requests_made: usize,
    pub stopped_by: Option<Bound>,
    /// The thread, when it is held after the run.
    pub thread_id: Option<i64>,
}

/// Why a document was not had.
enum Missed {
    /// Gone, refused, not what was asked for, or not allowed: asking again will not help.
    Missing,
    /// The server did not answer: another run may do better.
    Unreachable,
    /// A bound of the run was reached.
    OverBudget,
}

/// The types a collection or one of its pages has.
const COLLECTION_KINDS: [&str; 4] = [
    "Collection",
    "OrderedCollection",
    "CollectionPage",
    "OrderedCollectionPage",
];

struct Crawl<'a> {
    context: &'a Context,
    group: &'a actor::Model,
    bounds: &'a BackfillConfig,
    deadline: Instant,
    blocked: BTreeSet<String>,
    requests_per_host: HashMap<String, usize>,
    requests_made: usize,
    /// Posts read, by id: fetched from their origin or embedded by it.
    documents: HashMap<String, PostJson>,
    /// The ids, of those read or listed, that are held here already.
    held: HashSet<String>,
    /// Every id listed or followed so far, to follow each once.
    seen: HashSet<String>,
    stopped_by: Option<Bound>,
}

/// Runs the backfill `job` of a thread in `group`.
pub async fn fill_in(
    context: &Context,
    group: &actor::Model,
    job: &thread_backfill::Model,
) -> CrawlReport {
    let bounds = &context.config.backfill;
    let mut crawl = Crawl {
        context,
        group,
        bounds,
        deadline: Instant::now() + bounds.max_run_time,
        blocked: instances::cached_blocked_hosts(context, &context.db)
            .await
            .unwrap_or_default(),
        requests_per_host: HashMap::new(),
        requests_made: 0,
        documents: HashMap::new(),
        held: HashSet::new(),
        seen: HashSet::new(),
        stopped_by: None,
    };
    let mut report = CrawlReport {
        outcome: BackfillOutcome::Neither,
        posts_added: 0,
        requests_made: 0,
        stopped_by: None,
        thread_id: job.thread_id,
    };
    let Ok(start_url) = Url::parse(&job.start_ap_id) else {
        return report;
    };
    // A reply waiting for its parent is at hand already, verified when it arrived.
    if let Some(waiting) = waiting_reply(context, &job.start_ap_id).await {
        crawl.keep(waiting).await;
    }
    let start = match crawl.post(&start_url).await {
        Ok(start) => start,
        Err(Missed::Unreachable) => {
            report.outcome = BackfillOutcome::Unreachable;
            report.requests_made = crawl.requests_made;
            return report;
        }
        Err(_) => {
            report.requests_made = crawl.requests_made;
            return report;
        }
    };
    if crawl.read_context(&start).await {
        report.outcome = BackfillOutcome::Context;
    }
    let root = crawl.walk_up(&start).await;
    if report.outcome != BackfillOutcome::Context
        && let Some(root) = &root
        && crawl.read_replies_down(root).await
    {
        report.outcome = BackfillOutcome::Replies;
    }
    let (posts_added, thread_id) = crawl.store_found(root.as_deref()).await;
    report.posts_added = posts_added;
    report.thread_id = thread_id.or(report.thread_id);
    report.requests_made = crawl.requests_made;
    report.stopped_by = crawl.stopped_by;
    report
}

impl Crawl<'_> {
    fn stop(&mut self, bound: Bound) {
        self.stopped_by.get_or_insert(bound);
    }

    fn full(&self) -> bool {
        self.documents.len() - self.held_documents() >= self.bounds.max_posts
    }

    fn held_documents(&self) -> usize {
        self.documents
            .keys()
            .filter(|id| self.held.contains(*id))
            .count()
    }

    /// Fetches a document from its own server (the answer must carry the id asked for),
    /// within the run's bounds.
    async fn fetch(&mut self, url: &Url) -> Result<Value, Missed> {
        if matches!(self.stopped_by, Some(Bound::Time)) {
            return Err(Missed::OverBudget);
        }
        let now = Instant::now();
        if now >= self.deadline {
            self.stop(Bound::Time);
            return Err(Missed::OverBudget);
        }
        let Ok(host) = host_of(url) else {
            return Err(Missed::Missing);
        };
        if !instances::federates_with(&self.context.config, &self.blocked, &host) {
            return Err(Missed::Missing);
        }
        let made = self.requests_per_host.entry(host).or_default();
        if *made >= self.bounds.max_requests_per_host {
            self.stop(Bound::Requests);
            return Err(Missed::OverBudget);
        }
        *made += 1;
        self.requests_made += 1;
        let fetching_context = self.context.reset_request_count();
        let fetch = fetch_object_http::<AppState, Value>(url, &fetching_context);
        match tokio::time::timeout(self.deadline - now, fetch).await {
            Err(_) => {
                self.stop(Bound::Time);
                Err(Missed::OverBudget)
            }
            Ok(Ok(fetched)) => Ok(fetched.object),
            // No answer: the server may be back later.
            Ok(Err(
                error @ (FederationError::Reqwest(_)
                | FederationError::ReqwestMiddleware(_)
                | FederationError::DomainResolveError(_)
                | FederationError::IoError(_)),
            )) => {
                tracing::debug!(%url, %error, "a backfill fetch got no answer");
                Err(Missed::Unreachable)
            }
            // An answer that is not the document: gone, refused, not found, not JSON, not
            // what was asked for. Asking again would get the same.
            Ok(Err(error)) => {
                tracing::debug!(%url, %error, "a backfill fetch was refused");
                Err(Missed::Missing)
            }
        }
    }

    /// The post `id`: read already, or fetched from its origin.
    async fn post(&mut self, id: &Url) -> Result<PostJson, Missed> {
        if let Some(known) = self.documents.get(id.as_str()) {
            return Ok(known.clone());
        }
        let document = self.fetch(id).await?;
        let post: PostJson = serde_json::from_value(document).map_err(|_| Missed::Missing)?;
        if post.id != *id || !POST_KINDS.contains(&post.kind.as_str()) {
            return Err(Missed::Missing);
        }
        self.keep(post.clone()).await;
        Ok(post)
    }

    /// Keeps a post read from its origin, noting whether it is held here already.
    async fn keep(&mut self, post: PostJson) {
        let id = post.id.to_string();
        if matches!(
            posts::find_by_ap_id(&self.context.db, &id).await,
            Ok(Some(_))
        ) {
            self.held.insert(id.clone());
        }
        self.seen.insert(id.clone());
        self.documents.insert(id, post);
    }

    async fn is_held(&mut self, id: &str) -> bool {
        if self.held.contains(id) {
            return true;
        }
        let held = matches!(
            posts::find_by_ap_id(&self.context.db, id).await,
            Ok(Some(_))
        );
        if held {
            self.held.insert(id.to_string());
        }
        held
    }

    /// Reads the thread's context collection, if `start` names one that resolves to a
    /// collection. Returns whether it did.
    async fn read_context(&mut self, start: &PostJson) -> bool {
        let Some(context_url) = start.context_url() else {
            return false;
        };
        if context_url == start.id {
            return false;
        }
        let embedded = start.context.as_ref().filter(|value| is_collection(value));
        let (collection, served_by) = match embedded {
            Some(collection) => (collection.clone(), host_of(&start.id).unwrap_or_default()),
            None => match self.fetch(&context_url).await {
                Ok(collection) if is_collection(&collection) => {
                    (collection, host_of(&context_url).unwrap_or_default())
                }
                _ => return false,
            },
        };
        self.read_collection(collection, served_by).await;
        true
    }

    /// Walks `inReplyTo` up from `start` to the thread's root, fetching the posts not held.
    /// Returns the root's id, or `None` when the chain broke or was too long.
    async fn walk_up(&mut self, start: &PostJson) -> Option<String> {
        let mut current = start.clone();
        for _ in 0..=self.bounds.max_depth {
            let Some(parent_id) = current.in_reply_to() else {
                return Some(current.id.to_string());
            };
            if self.is_held(parent_id.as_str()).await {
                // Attached to a post held here: its thread's root is held too.
                let parent = posts::find_by_ap_id(&self.context.db, parent_id.as_str())
                    .await
                    .ok()
                    .flatten()?;
                return match parent.thread_id {
                    None => Some(parent.ap_id),
                    Some(thread_id) => crate::database::unique_row(
                        kindred_entities::post::Entity::find_by_id(thread_id),
                        &self.context.db,
                    )
                    .await
                    .ok()
                    .flatten()
                    .map(|thread| thread.ap_id),
                };
            }
            current = self.post(&parent_id).await.ok()?;
        }
        self.stop(Bound::Depth);
        None
    }

    /// Reads every post's `replies` from the root down, breadth first. Returns whether any
    /// post offered a replies collection.
    async fn read_replies_down(&mut self, root: &str) -> bool {
        let mut served = false;
        let mut queue = VecDeque::from([(root.to_string(), 0_usize)]);
        self.seen.insert(root.to_string());
        while let Some((id, depth)) = queue.pop_front() {
            // When full, the replies of posts read already are still looked at: the run is
            // cut short only if they list one more.
            if self.stopped_by.is_some_and(|bound| bound != Bound::Depth) {
                break;
            }
            let Ok(url) = Url::parse(&id) else { continue };
            let Ok(post) = self.post(&url).await else {
                continue;
            };
            let Some(replies) = post.replies.clone() else {
                continue;
            };
            served = true;
            let served_by = host_of(&post.id).unwrap_or_default();
            let collection = if is_collection(&replies) {
                replies
            } else {
                let Some(replies_url) = id_of(&replies).and_then(|id| Url::parse(&id).ok()) else {
                    continue;
                };
                match self.fetch(&replies_url).await {
                    Ok(collection) if is_collection(&collection) => collection,
                    _ => continue,
                }
            };
            let listed = self.read_collection(collection, served_by).await;
            for child in listed {
                if depth + 1 > self.bounds.max_depth {
                    self.stop(Bound::Depth);
                    break;
                }
                queue.push_back((child, depth + 1));
            }
        }
        served
    }

    /// Reads a collection and its pages (`first`, then `next`), taking every item it lists;
    /// `served_by` is the host that served `collection`. Returns the ids it listed for the
    /// first time (the children to follow, when reading replies).
    async fn read_collection(&mut self, collection: Value, served_by: String) -> Vec<String> {
        let mut listed = Vec::new();
        let mut pages_read = HashSet::new();
        let mut page = collection;
        let mut page_host = served_by;
        loop {
            for item in items_of(&page) {
                if self.stopped_by.is_some_and(|bound| bound != Bound::Depth) {
                    return listed;
                }
                if self.full() {
                    // Full: a post not read yet is one too many.
                    if id_of(item).is_some_and(|id| !self.seen.contains(&id)) {
                        self.stop(Bound::Posts);
                        return listed;
                    }
                    continue;
                }
                if let Some(id) = self.take_item(item, &page_host).await {
                    listed.push(id);
                }
            }
            // An embedded `first` page (Mastodon's replies), else a link to the next page.
            let next = match page.get("first") {
                Some(first @ Value::Object(_)) if !pages_read.contains("first") => {
                    pages_read.insert("first".to_string());
                    page = first.clone();
                    continue;
                }
                Some(Value::String(first)) if !pages_read.contains(first) => Some(first.clone()),
                _ => page.get("next").and_then(id_of),
            };
            let Some(next) = next.filter(|next| pages_read.insert(next.clone())) else {
                return listed;
            };
            let Ok(next_url) = Url::parse(&next) else {
                return listed;
            };
            match self.fetch(&next_url).await {
                Ok(fetched) if is_collection(&fetched) => {
                    page_host = host_of(&next_url).unwrap_or_default();
                    page = fetched;
                }
                _ => return listed,
            }
        }
    }

    /// Takes one item of a collection: an object whose id is on the server that listed it is
    /// taken as embedded; any other is fetched from its own server. Returns its id when it
    /// was listed for the first time.
    async fn take_item(&mut self, item: &Value, page_host: &str) -> Option<String> {
        let id = id_of(item)?;
        let url = Url::parse(&id).ok()?;
        if !self.seen.insert(id.clone()) {
            return None;
        }
        if self.is_held(&id).await {
            return Some(id);
        }
        let embedded_by_origin = item.is_object()
            && host_of(&url).is_ok_and(|host| host == page_host)
            && item
                .get("type")
                .and_then(Value::as_str)
                .is_some_and(|kind| POST_KINDS.contains(&kind));
        if embedded_by_origin && let Ok(post) = serde_json::from_value::<PostJson>(item.clone()) {
            if post.id == url {
                self.keep(post).await;
                return Some(id);
            }
            return None;
        }
        self.post(&url).await.ok().map(|_| id)
    }

    /// Stores what was read and is not held, parents before replies. A top-level post is taken
    /// only as the thread's root (reached through `inReplyTo`), a reply only when its parent
    /// is held. Returns how many posts were stored, and the thread's row id.
    async fn store_found(&mut self, root: Option<&str>) -> (usize, Option<i64>) {
        let mut waiting: Vec<PostJson> = self
            .documents
            .iter()
            .filter(|(id, _)| !self.held.contains(*id))
            .map(|(_, post)| post.clone())
            .collect();
        waiting.sort_by_key(|post| post.published);
        let mut added = 0;
        loop {
            let mut progress = false;
            let mut still_waiting = Vec::new();
            for post in waiting {
                let ready = match post.in_reply_to() {
                    None => root == Some(post.id.as_str()),
                    Some(parent) => self.held.contains(parent.as_str()),
                };
                if !ready {
                    still_waiting.push(post);
                    continue;
                }
                if added >= self.bounds.max_posts {
                    self.stop(Bound::Posts);
                    break;
                }
                if Instant::now() >= self.deadline {
                    self.stop(Bound::Time);
                    break;
                }
                progress = true;
                match remote_posts::store_post(
                    &self.context.reset_request_count(),
                    self.group,
                    &post,
                    Arrival::Backfill,
                )
                .await
                {
                    Ok(Stored::New(_)) => {
                        added += 1;
                        self.held.insert(post.id.to_string());
                    }
                    Ok(Stored::AlreadyHere(_)) => {
                        self.held.insert(post.id.to_string());
                    }
                    Ok(Stored::Waiting | Stored::Skipped(_)) => {}
                    Err(error) => {
                        tracing::debug!(post = %post.id, %error, "a backfilled post was not stored")
                    }
                }
            }
            if !progress || still_waiting.is_empty() || self.stopped_by == Some(Bound::Time) {
                break;
            }
            waiting = still_waiting;
        }
        let thread_id = match root {
            Some(root) => posts::find_by_ap_id(&self.context.db, root)
                .await
                .ok()
                .flatten()
                .map(|thread| thread.id),
            None => None,
        };
        (added, thread_id)
    }
}

async fn waiting_reply(context: &Context, ap_id: &str) -> Option<PostJson> {
    use sea_orm::{ColumnTrait, QueryFilter};
    let waiting = crate::database::unique_row(
        kindred_entities::waiting_reply::Entity::find()
            .filter(kindred_entities::waiting_reply::Column::ApId.eq(ap_id)),
        &context.db,
    )
    .await
    .ok()
    .flatten()?;
    serde_json::from_str(&waiting.object_json).ok()
}

fn is_collection(value: &Value) -> bool {
    value
        .get("type")
        .and_then(Value::as_str)
        .is_some_and(|kind| COLLECTION_KINDS.contains(&kind))
}

fn items_of(page: &Value) -> &[Value] {
    page.get("orderedItems")
        .or_else(|| page.get("items"))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}
