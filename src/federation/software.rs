//! What software each remote server runs, read from its NodeInfo (kept in `instances`,
//! refreshed daily), and the one place where that decides what Kindred sends: the table in
//! [`what_to_send`]. Lemmy-family servers act on a group's `Announce` of an activity and refuse
//! bare boosts and echoes; microblog servers ignore an `Announce` of an activity, act on
//! boosts and on the author's own activities, and show a `Page` only as a title and a link.

use crate::{
    context::Context,
    error::{Error, Result},
    federation::instances::host_of,
};
use chrono::{Duration, Utc};
use kindred_entities::instance;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;
use std::collections::HashMap;
use url::Url;

/// How long a server's software, once read, is trusted.
const SOFTWARE_FRESH_FOR: Duration = Duration::days(1);

/// The kinds of server that need different things from a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerFamily {
    /// Lemmy, Mbin, kbin, PieFed, NodeBB, Kindred: groups of their own, FEP-1b12 Announces.
    Threadiverse,
    /// Mastodon and its forks, Takahe, Pleroma, Akkoma, Misskey and its forks, GoToSocial,
    /// Friendica, Mitra: people and timelines.
    Microblog,
    /// Not known (yet): sent everything, as before this distinction.
    Unknown,
}

/// The family a NodeInfo `software.name` belongs to.
pub fn family_of(software: Option<&str>) -> ServerFamily {
    let Some(name) = software.map(str::to_ascii_lowercase) else {
        return ServerFamily::Unknown;
    };
    match name.as_str() {
        "lemmy" | "mbin" | "kbin" | "piefed" | "nodebb" | "kindred" | "lotide" => {
            ServerFamily::Threadiverse
        }
        "mastodon" | "glitch-soc" | "hometown" | "takahe" | "pleroma" | "akkoma" | "misskey"
        | "sharkey" | "firefish" | "iceshrimp" | "catodon" | "gotosocial" | "friendica"
        | "mitra" | "snac" | "bonfire" => ServerFamily::Microblog,
        _ => ServerFamily::Unknown,
    }
}

/// The form a local thread (a `Page`) takes for a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadForm {
    /// As written: a `Page` with its `name`.
    Page,
    /// A `Note` whose first line is the title in bold, which a microblog shows in full.
    NoteWithTitle,
}

/// What a member server of a local group is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sending {
    /// The group's `Announce` of each activity (FEP-1b12).
    pub relay: bool,
    /// That Announce also to the server the activity came from, which holds it already
    /// (Lemmy refuses its own objects back: "cant accept local object").
    pub relay_to_origin: bool,
    /// The group's boost of a new thread, `Announce{object: <post id>}`.
    pub boost: bool,
    /// An author's own signed `Update`/`Delete` of their post, and a reply or mention sent
    /// straight to the person it answers or names.
    pub authors_own: bool,
    /// How a local thread is shown to it, when it fetches it or an activity carries it.
    pub thread_form: ThreadForm,
    /// A group's profile edit as `Update{Group}` by the group itself (Mastodon's form).
    pub group_update_by_group: bool,
    /// A group's profile edit as the group's `Announce` of the moderator's `Update{Group}`
    /// (Lemmy refuses an Update made by a Group: `unknown variant Group`).
    pub group_update_by_moderator: bool,
}

/// The table: what each family of server is sent. This is the one place where Kindred
/// deliberately sends different JSON to different servers.
pub fn what_to_send(family: ServerFamily) -> Sending {
    match family {
        ServerFamily::Threadiverse => Sending {
            relay: true,
            relay_to_origin: false,
            boost: false,
            authors_own: false,
            thread_form: ThreadForm::Page,
            group_update_by_group: false,
            group_update_by_moderator: true,
        },
        ServerFamily::Microblog => Sending {
            relay: false,
            relay_to_origin: false,
            boost: true,
            authors_own: true,
            thread_form: ThreadForm::NoteWithTitle,
            group_update_by_group: true,
            group_update_by_moderator: false,
        },
        ServerFamily::Unknown => Sending {
            relay: true,
            relay_to_origin: true,
            boost: true,
            authors_own: true,
            thread_form: ThreadForm::Page,
            group_update_by_group: true,
            group_update_by_moderator: true,
        },
    }
}

/// A local thread's document (`Page`) as a microblog shows it in full: a `Note` whose first
/// line is the title in bold. Anything that is not a `Page` is returned as it is.
pub fn as_note_with_title(document: &Value) -> Value {
    let mut note = document.clone();
    if note.get("type").and_then(Value::as_str) != Some("Page") {
        return note;
    }
    let Value::Object(map) = &mut note else {
        return note;
    };
    let title = map
        .remove("name")
        .and_then(|name| name.as_str().map(crate::html::escape))
        .unwrap_or_default();
    let content = map
        .get("content")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    map.insert("type".into(), Value::String("Note".into()));
    map.insert(
        "content".into(),
        Value::String(format!("<p><strong>{title}</strong></p>{content}")),
    );
    note
}

/// The document of a local post in the form `family` shows in full.
pub fn thread_in_form(document: &Value, family: ServerFamily) -> Value {
    match what_to_send(family).thread_form {
        ThreadForm::Page => document.clone(),
        ThreadForm::NoteWithTitle => as_note_with_title(document),
    }
}

/// The families of the servers of `inboxes` (by host), as known now. A server whose software
/// is unknown or stale is asked again in the background.
pub async fn families_of(
    context: &Context,
    database: &impl sea_orm::ConnectionTrait,
    inboxes: impl IntoIterator<Item = &Url>,
) -> Result<HashMap<String, ServerFamily>> {
    let mut origins: HashMap<String, Url> = HashMap::new();
    for inbox in inboxes {
        if let Ok(host) = host_of(inbox) {
            origins.entry(host).or_insert_with(|| inbox.clone());
        }
    }
    // Most relays name the same member servers again: answer from memory what was read from
    // the database moments ago, and read only the rest.
    let mut families = HashMap::new();
    {
        let remembered = lock_remembered();
        origins.retain(|host, _| match remembered.get(host) {
            Some((family, at)) if at.elapsed() < REMEMBERED_FOR => {
                families.insert(host.clone(), *family);
                false
            }
            _ => true,
        });
    }
    if origins.is_empty() {
        return Ok(families);
    }
    let known = instance::Entity::find()
        .filter(instance::Column::Host.is_in(origins.keys().cloned()))
        .all(database)
        .await?;
    let mut remembered = lock_remembered();
    for (host, origin) in origins {
        let row = known.iter().find(|row| row.host == host);
        let fresh = row
            .and_then(|row| row.software_checked_at)
            .is_some_and(|checked| Utc::now() - checked < SOFTWARE_FRESH_FOR);
        let family = family_of(row.and_then(|row| row.software.as_deref()));
        if fresh {
            remembered.insert(host.clone(), (family, std::time::Instant::now()));
        } else {
            learn_in_background(context, &origin);
        }
        families.insert(host, family);
    }
    Ok(families)
}

/// How long a server's family, once read fresh from the database, is answered from memory.
const REMEMBERED_FOR: std::time::Duration = std::time::Duration::from_secs(300);

/// Families read fresh from the database lately, by host (this process).
static REMEMBERED: std::sync::LazyLock<
    std::sync::Mutex<HashMap<String, (ServerFamily, std::time::Instant)>>,
> = std::sync::LazyLock::new(Default::default);

fn lock_remembered()
-> std::sync::MutexGuard<'static, HashMap<String, (ServerFamily, std::time::Instant)>> {
    // Each change is one map operation: a poisoned lock is still consistent.
    REMEMBERED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The family of the server `url` is on.
pub async fn family_of_server(context: &Context, url: &Url) -> Result<ServerFamily> {
    let host = host_of(url)?;
    Ok(families_of(context, &context.read_db, [url])
        .await?
        .get(&host)
        .copied()
        .unwrap_or(ServerFamily::Unknown))
}

/// The server a request says it comes from: the key its HTTP signature names (draft-cavage
/// `keyId`, or RFC 9421 `keyid`), unverified. Only for choosing a form a server shows in
/// full, never for deciding what it may see.
pub fn requesting_server(headers: &axum::http::HeaderMap) -> Option<Url> {
    ["signature", "signature-input"]
        .iter()
        .filter_map(|name| headers.get(*name)?.to_str().ok())
        .find_map(|value| {
            let lowered = value.to_ascii_lowercase();
            let start = lowered.find("keyid=\"")? + "keyid=\"".len();
            let length = value[start..].find('"')?;
            Url::parse(&value[start..start + length]).ok()
        })
}

/// How many servers' NodeInfo a process reads at once. A group whose members are on 10,000
/// servers it has not asked yet gets a queue of 10,000 names, not 10,000 tasks and
/// connections at once beside its deliveries.
const NODEINFO_READERS: usize = 4;

/// The most servers waiting to be asked; past it, a server is asked the next time it is named.
const MOST_WAITING: usize = 100_000;

/// The servers whose NodeInfo is to be read, and how many tasks are reading: one per process,
/// in the application state.
#[derive(Default)]
pub struct SoftwareLearning {
    state: std::sync::Mutex<LearningState>,
}

#[derive(Default)]
struct LearningState {
    waiting: std::collections::VecDeque<Url>,
    /// Hosts waiting or being read, so a busy group relaying many posts at once asks each
    /// server once, not once per post.
    hosts: std::collections::HashSet<String>,
    readers: usize,
}

impl SoftwareLearning {
    fn lock(&self) -> std::sync::MutexGuard<'_, LearningState> {
        // Each change is a few field updates under the lock: a poisoned lock is consistent.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A reader's turn: it ends when the queue is found empty (under the same lock that a new
/// server is queued under, so none is left without a reader), or when the reader panics.
struct ReaderTurn<'a> {
    learning: &'a SoftwareLearning,
    ended: bool,
    /// The host being read, which may be queued again once it is done (or its read panicked).
    current: Option<String>,
}

impl ReaderTurn<'_> {
    /// The next server to ask, or `None` (and the turn over) when none is waiting.
    fn next(&mut self) -> Option<Url> {
        let mut state = self.learning.lock();
        if let Some(done) = self.current.take() {
            state.hosts.remove(&done);
        }
        let next = state.waiting.pop_front();
        self.current = next.as_ref().and_then(|origin| host_of(origin).ok());
        if next.is_none() {
            state.readers = state.readers.saturating_sub(1);
            self.ended = true;
        }
        next
    }
}

impl Drop for ReaderTurn<'_> {
    fn drop(&mut self) {
        let mut state = self.learning.lock();
        if let Some(current) = self.current.take() {
            state.hosts.remove(&current);
        }
        if !self.ended {
            state.readers = state.readers.saturating_sub(1);
        }
    }
}

/// Reads the software of the server `origin` is on, in the background (unless it is waiting
/// or being read already): queued for one of at most [`NODEINFO_READERS`] tasks.
pub fn learn_in_background(context: &Context, origin: &Url) {
    let Ok(host) = host_of(origin) else {
        return;
    };
    let learning = context.software_learning.clone();
    {
        let mut state = learning.lock();
        if state.waiting.len() >= MOST_WAITING || !state.hosts.insert(host) {
            return;
        }
        state.waiting.push_back(origin.clone());
        if state.readers >= NODEINFO_READERS {
            return;
        }
        state.readers += 1;
    }
    let context = context.reset_request_count();
    tokio::spawn(async move {
        let mut turn = ReaderTurn {
            learning: &learning,
            ended: false,
            current: None,
        };
        while let Some(origin) = turn.next() {
            // A fresh request count for each server: the count bounds one server's fetches.
            if let Err(error) = learn(&context.reset_request_count(), &origin).await {
                tracing::debug!(server = %origin, %error, "the server's NodeInfo could not be read");
            }
        }
    });
}

/// Reads the software of the server `origin` is on from its NodeInfo and keeps it. A server
/// without NodeInfo is remembered as unknown, and asked again a day later.
async fn learn(context: &Context, origin: &Url) -> Result<()> {
    let host = host_of(origin)?;
    let software = read_nodeinfo(context, origin).await.ok();
    let name = software
        .as_ref()
        .and_then(|software| software["name"].as_str())
        .map(str::to_ascii_lowercase);
    let version = software
        .as_ref()
        .and_then(|software| software["version"].as_str())
        .map(str::to_string);
    let row = crate::federation::instances::find_or_create(&context.db, origin).await?;
    let mut learned: instance::ActiveModel = row.into();
    learned.software = Set(name);
    learned.software_version = Set(version);
    learned.software_checked_at = Set(Some(Utc::now()));
    learned.update(&context.db).await?;
    lock_remembered().remove(&host);
    Ok(())
}

/// `software` of the NodeInfo document `/.well-known/nodeinfo` links to (2.1 or 2.0).
async fn read_nodeinfo(context: &Context, origin: &Url) -> Result<Value> {
    let mut well_known = origin.clone();
    well_known.set_path("/.well-known/nodeinfo");
    well_known.set_query(None);
    well_known.set_fragment(None);
    // The connection stays open for the document's request; that one closes it (a server
    // asked once a day needs no idle connection in the pool).
    let links: Value = get_json(context, &well_known, true).await?;
    let href = links["links"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|link| {
            link["rel"].as_str().is_some_and(|rel| {
                rel.starts_with("http://nodeinfo.diaspora.software/ns/schema/2.")
            })
        })
        .filter_map(|link| link["href"].as_str())
        .next_back()
        .ok_or_else(|| Error::not_found("NodeInfo link"))?;
    let document_url = Url::parse(href)?;
    if host_of(&document_url)? != host_of(origin)? {
        return Err(Error::bad_request(
            "the NodeInfo link points to another server",
        ));
    }
    let document = get_json(context, &document_url, false).await?;
    Ok(document["software"].clone())
}

/// The most of a NodeInfo document (or its links) read.
const MOST_NODEINFO_BYTES: usize = 256 * 1024;

async fn get_json(context: &Context, url: &Url, keep_connection_open: bool) -> Result<Value> {
    crate::federation::address_guard::check_outbound_url(&context.config, url)
        .map_err(Error::bad_request)?;
    let mut request = context
        .http_client
        .get(url.clone())
        .header(reqwest::header::ACCEPT, "application/json");
    if !keep_connection_open {
        request = request.header(reqwest::header::CONNECTION, "close");
    }
    let mut response = request.send().await.map_err(Error::internal)?;
    if !response.status().is_success() {
        return Err(Error::not_found("NodeInfo"));
    }
    if response
        .content_length()
        .is_some_and(|length| length > MOST_NODEINFO_BYTES as u64)
    {
        return Err(Error::PayloadTooLarge);
    }
    // Read a chunk at a time, so a server that streams without end is cut off at the limit
    // instead of filling memory.
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(Error::internal)? {
        if bytes.len() + chunk.len() > MOST_NODEINFO_BYTES {
            return Err(Error::PayloadTooLarge);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(serde_json::from_slice(&bytes)?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn each_family_is_sent_what_it_takes() {
        use ServerFamily::*;
        use ThreadForm::*;
        let table = [
            // family, relay, relay to origin, boost, author's own, thread form,
            // group update by the group, by a moderator
            (Threadiverse, true, false, false, false, Page, false, true),
            (
                Microblog,
                false,
                false,
                true,
                true,
                NoteWithTitle,
                true,
                false,
            ),
            (Unknown, true, true, true, true, Page, true, true),
        ];
        for (
            family,
            relay,
            relay_to_origin,
            boost,
            authors_own,
            thread_form,
            group_update_by_group,
            group_update_by_moderator,
        ) in table
        {
            assert_eq!(
                what_to_send(family),
                Sending {
                    relay,
                    relay_to_origin,
                    boost,
                    authors_own,
                    thread_form,
                    group_update_by_group,
                    group_update_by_moderator,
                },
                "{family:?}"
            );
        }
        for (software, family) in [
            (Some("lemmy"), Threadiverse),
            (Some("Mbin"), Threadiverse),
            (Some("piefed"), Threadiverse),
            (Some("nodebb"), Threadiverse),
            (Some("kindred"), Threadiverse),
            (Some("mastodon"), Microblog),
            (Some("takahe"), Microblog),
            (Some("pleroma"), Microblog),
            (Some("akkoma"), Microblog),
            (Some("misskey"), Microblog),
            (Some("gotosocial"), Microblog),
            (Some("mitra"), Microblog),
            (Some("peertube"), Unknown),
            (None, Unknown),
        ] {
            assert_eq!(family_of(software), family, "{software:?}");
        }
    }

    #[test]
    fn the_requesting_server_is_read_from_either_signature_scheme() {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(
            "signature",
            r#"keyId="https://social.example/actor#main-key",algorithm="rsa-sha256",headers="(request-target) host date",signature="x""#
                .parse()
                .unwrap(),
        );
        assert_eq!(
            requesting_server(&headers).unwrap().host_str(),
            Some("social.example")
        );
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(
            "signature-input",
            r#"sig1=("@method" "@target-uri");created=1;keyid="https://fedify.example/users/a#key""#
                .parse()
                .unwrap(),
        );
        assert_eq!(
            requesting_server(&headers).unwrap().host_str(),
            Some("fedify.example")
        );
        assert!(requesting_server(&axum::http::HeaderMap::new()).is_none());
    }

    #[test]
    fn a_thread_reads_in_full_as_a_note_with_its_title_first() {
        let page = serde_json::json!({
            "id": "https://k.example/posts/1",
            "type": "Page",
            "name": "Kettle <clicks>",
            "content": "<p>No heat.</p>",
            "attributedTo": "https://k.example/users/ann",
        });
        let note = thread_in_form(&page, ServerFamily::Microblog);
        assert_eq!(note["type"], "Note");
        assert_eq!(
            note["content"],
            "<p><strong>Kettle &lt;clicks&gt;</strong></p><p>No heat.</p>"
        );
        assert!(
            note.get("name").is_none(),
            "a Note's name is shown as a warning"
        );
        assert_eq!(note["id"], page["id"]);
        assert_eq!(thread_in_form(&page, ServerFamily::Threadiverse), page);
        let reply = serde_json::json!({ "type": "Note", "content": "<p>Hi</p>" });
        assert_eq!(thread_in_form(&reply, ServerFamily::Microblog), reply);
    }
}
