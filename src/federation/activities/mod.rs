//! The activities a group takes and sends, one file each (wire struct, checks, effect, send).
//! `dispatch` routes a verified inbound activity to its file by `type`.

pub mod accept;
pub mod add_or_remove;
pub mod announce;
pub mod block;
pub mod create_or_update;
pub mod delete;
pub mod flag;
pub mod follow;
pub mod lock;
pub mod reject;
pub mod undo;
pub mod update_group;
pub mod update_profile;
pub mod vote;

use crate::{
    config::Config,
    context::Context,
    error::{Error, Result},
    federation::{
        activities::announce::Boost,
        context::object_context,
        delivery::{self, OutgoingActivity},
        objects::{actor::ApubActor, post::PUBLIC},
        software,
    },
};
use activitypub_federation::fetch::object_id::ObjectId;
use kindred_entities::actor;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use url::Url;

/// Applies an inbound activity whose signature the inbox has verified; `signer` is the row of
/// the actor who signed it (the activity's `actor`). `json` is the activity exactly as
/// received; the group relays that, never a re-serialised copy.
pub async fn dispatch(
    context: &Context,
    json: Value,
    signer: &actor::Model,
    digest: &crate::federation::inbox::BodyDigest,
) -> Result<()> {
    let kind = json
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    match kind.as_str() {
        "Follow" => follow::receive(context, parse(&json)?, digest).await,
        "Accept" => accept::receive(context, parse(&json)?, digest).await,
        "Reject" => reject::receive(context, parse(&json)?, digest).await,
        "Announce" => announce::receive(context, parse(&json)?, json, digest).await,
        "Flag" => flag::receive(context, parse(&json)?, digest).await,
        "Block" => block::receive(context, parse(&json)?, digest).await,
        "Undo" => undo::receive(context, parse(&json)?, json, digest).await,
        "Create" | "Update" => {
            create_or_update::receive(context, parse(&json)?, json, signer, digest).await
        }
        "Delete" => delete::receive(context, parse(&json)?, json, digest).await,
        "Like" | "Dislike" => vote::receive(context, parse(&json)?, json, digest).await,
        other => Err(Error::bad_request(format!(
            "Kindred does not take {other} activities"
        ))),
    }
}

/// Reads an activity into its wire struct; a mismatch is the sender's error (400).
pub fn parse<T: DeserializeOwned>(json: &Value) -> Result<T> {
    serde_json::from_value(json.clone())
        .map_err(|error| Error::bad_request(format!("malformed activity: {error}")))
}

/// A fresh id for an activity this instance sends. Lemmy refuses an id it has seen before.
pub fn new_activity_id(config: &Config) -> Url {
    config.url_for(&format!("/activities/{}", uuid::Uuid::new_v4()))
}

/// The actor of an inbound activity, from the cache the signature check just filled (or
/// fetched again if it was evicted).
pub async fn sender(context: &Context, actor_id: &Url) -> Result<actor::Model> {
    Ok(ObjectId::<ApubActor>::from(actor_id.clone())
        .dereference(context)
        .await?
        .row)
}

/// The local group with this ActivityPub id, if any.
pub async fn find_local_group_by_id(
    database: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<actor::Model>> {
    Ok(crate::database::unique_row(
        actor::Entity::find()
            .filter(actor::Column::ApId.eq(id))
            .filter(actor::Column::Local.eq(true))
            .filter(actor::Column::Kind.eq(actor::ActorKind::Group))
            .filter(actor::Column::DeletedAt.is_null()),
        database,
    )
    .await?)
}

/// Refuses an activity whose actor is not the author of the object it changes.
pub fn require_same_actor(actor: &Url, author: &Url, what: &str) -> Result<()> {
    if actor == author {
        Ok(())
    } else {
        Err(Error::Forbidden(format!("only its author may {what}")))
    }
}

/// An activity a local person performs in a group: public, addressed to the group, with the
/// group as `audience` (FEP-1b12).
pub fn local_activity(
    config: &Config,
    kind: &str,
    person: &actor::Model,
    group: &actor::Model,
    object: Value,
) -> (Url, Value) {
    let id = new_activity_id(config);
    let document = json!({
        "@context": object_context(),
        "id": id,
        "type": kind,
        "actor": person.ap_id,
        "to": [PUBLIC],
        "cc": [group.ap_id],
        "audience": group.ap_id,
        "object": object,
        "published": chrono::Utc::now(),
    });
    (id, document)
}

/// An activity this instance sent, as served at `/activities/{id}`: the JSON it signed and
/// delivered. Reports (`Flag`) are for moderators only and are not served.
pub async fn published_activity(
    database: &impl ConnectionTrait,
    config: &Config,
    id: &str,
) -> Result<Value> {
    use kindred_entities::activity;
    let ap_id = config.url_for(&format!("/activities/{id}"));
    let stored = crate::database::unique_row(
        activity::Entity::find().filter(activity::Column::ApId.eq(ap_id.as_str())),
        database,
    )
    .await?
    .filter(|stored| stored.kind != "Flag")
    .ok_or_else(|| Error::not_found("activity"))?;
    Ok(serde_json::from_str(&stored.json)?)
}

/// The activity an `Undo` takes back, as embedded in it: what this instance sent (the latest
/// `kind` about `object_ap_id`, found in the activities table), or, when someone else here
/// sent it, a restatement with a fresh id. Receivers need the embedded activity's `id`.
pub async fn undone_activity(
    database: &impl ConnectionTrait,
    context: &Context,
    kind: &str,
    object_ap_id: &str,
    restated: Value,
) -> Result<Value> {
    use kindred_entities::activity;
    use sea_orm::QueryOrder;
    let stored = activity::Entity::find()
        .filter(activity::Column::Kind.eq(kind))
        .filter(activity::Column::ObjectApId.eq(object_ap_id))
        .order_by_desc(activity::Column::Id)
        .one(database)
        .await?;
    if let Some(stored) = stored {
        let mut original: Value = serde_json::from_str(&stored.json)?;
        if let Value::Object(map) = &mut original {
            map.remove("@context");
        }
        return Ok(original);
    }
    let mut restated = restated;
    restated["id"] = json!(new_activity_id(&context.config));
    Ok(restated)
}

/// The inboxes of the remote people an activity's object mentions (`Mention` tags).
async fn mentioned_inboxes(database: &impl ConnectionTrait, document: &Value) -> Result<Vec<Url>> {
    let mentioned: Vec<String> = document["object"]["tag"]
        .as_array()
        .map(|tags| {
            tags.iter()
                .filter(|tag| tag["type"] == "Mention")
                .filter_map(|tag| tag["href"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if mentioned.is_empty() {
        return Ok(Vec::new());
    }
    let people = actor::Entity::find()
        .filter(actor::Column::ApId.is_in(mentioned))
        .filter(actor::Column::Local.eq(false))
        .all(database)
        .await?;
    Ok(people
        .into_iter()
        .filter_map(|person| {
            Url::parse(
                person
                    .shared_inbox_url
                    .as_deref()
                    .unwrap_or(&person.inbox_url),
            )
            .ok()
        })
        .collect())
}

/// Publishes a local person's activity about a post, in `transaction`. It is stored in the
/// person's outbox (served at its id). In a local group, the group relays it to its members
/// exactly as a remote member's activity would be relayed; a remote group gets it in its inbox
/// and relays it itself.
pub async fn publish_in_group(
    transaction: &impl ConnectionTrait,
    context: &Context,
    person: &actor::Model,
    group: &actor::Model,
    activity: (&Url, &Value),
    post_ap_id: &str,
    boost: Boost,
) -> Result<()> {
    publish_in_group_also_to(
        transaction,
        context,
        person,
        group,
        activity,
        post_ap_id,
        boost,
        &[],
    )
    .await
}

/// As [`publish_in_group`], for an author's edit or deletion of their own post. In a local
/// group every member server also gets the author's own signed `Update` or `Delete`, once per
/// server: Mastodon, Takahe and Pleroma ignore a group's `Announce` of an activity, and would
/// otherwise keep the first version of a post, or a deleted one, forever. Lemmy-family servers
/// act on the group's Announce, which goes too.
pub async fn publish_authors_change(
    transaction: &impl ConnectionTrait,
    context: &Context,
    author: &actor::Model,
    group: &actor::Model,
    activity: (&Url, &Value),
    post_ap_id: &str,
) -> Result<()> {
    let member_servers: Vec<Url> = if group.local {
        crate::groups::membership::member_inboxes(transaction, group.id)
            .await?
            .iter()
            .filter_map(|inbox| Url::parse(inbox).ok())
            .collect()
    } else {
        Vec::new()
    };
    // Who gets the author's own activity, and in which form (`software::what_to_send`).
    let families = software::families_of(context, transaction, &member_servers).await?;
    let family_of = |inbox: &Url| {
        crate::federation::instances::host_of(inbox)
            .ok()
            .and_then(|host| families.get(&host).copied())
            .unwrap_or(software::ServerFamily::Unknown)
    };
    let (id, document) = activity;
    let microblog_form = match document.get("object") {
        Some(object @ Value::Object(_)) => {
            let shown = software::thread_in_form(object, software::ServerFamily::Microblog);
            (&shown != object).then(|| {
                let mut reworded = document.clone();
                reworded["object"] = shown;
                reworded
            })
        }
        _ => None,
    };
    let (as_written_to, microblogs): (Vec<Url>, Vec<Url>) = member_servers
        .into_iter()
        .filter(|inbox| software::what_to_send(family_of(inbox)).authors_own)
        .partition(|inbox| {
            microblog_form.is_none() || family_of(inbox) != software::ServerFamily::Microblog
        });
    publish_in_group_also_to(
        transaction,
        context,
        author,
        group,
        activity,
        post_ap_id,
        Boost::No,
        &as_written_to,
    )
    .await?;
    if let Some(reworded) = microblog_form
        && !microblogs.is_empty()
    {
        // The same change, with the thread as a microblog shows it: a JSON of its own, so an
        // id of its own.
        let microblog_id = new_activity_id(&context.config);
        let mut reworded = reworded;
        reworded["id"] = Value::String(microblog_id.to_string());
        let kind = document
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("Update");
        tracing::debug!(activity = %id, "the author's change is also sent in microblog form");
        delivery::enqueue(
            transaction,
            context,
            &[OutgoingActivity {
                sender: author,
                ap_id: &microblog_id,
                kind,
                object_ap_id: Some(post_ap_id),
                json: &reworded,
                in_outbox: false,
                ordering_key: Some(post_ap_id),
            }],
            microblogs,
        )
        .await?;
    }
    Ok(())
}

/// As [`publish_in_group`], also delivering the activity itself to `also_to` (the inbox of
/// someone it concerns who is not a member, such as a banned person).
#[allow(clippy::too_many_arguments)]
pub async fn publish_in_group_also_to(
    transaction: &impl ConnectionTrait,
    context: &Context,
    person: &actor::Model,
    group: &actor::Model,
    activity: (&Url, &Value),
    post_ap_id: &str,
    boost: Boost,
    also_to: &[Url],
) -> Result<()> {
    let (id, document) = activity;
    let kind = document
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("Activity");
    let mut inboxes = if group.local {
        Vec::new()
    } else {
        vec![Url::parse(&group.inbox_url)?]
    };
    // People on other servers the post mentions get it too, so their servers tell them;
    // except a Lemmy-family server that hosts members of this group: the group's Announce
    // brings it there, and Lemmy refuses a second copy of one activity.
    let mentioned = mentioned_inboxes(transaction, document).await?;
    if group.local && !mentioned.is_empty() {
        let member_hosts: std::collections::BTreeSet<String> =
            crate::groups::membership::member_inboxes(transaction, group.id)
                .await?
                .iter()
                .filter_map(|inbox| Url::parse(inbox).ok())
                .filter_map(|inbox| crate::federation::instances::host_of(&inbox).ok())
                .collect();
        let families = software::families_of(context, transaction, &mentioned).await?;
        inboxes.extend(mentioned.into_iter().filter(|inbox| {
            let host = crate::federation::instances::host_of(inbox).unwrap_or_default();
            let relayed_there = member_hosts.contains(&host)
                && families.get(&host) == Some(&software::ServerFamily::Threadiverse);
            !relayed_there
        }));
    } else {
        inboxes.extend(mentioned);
    }
    inboxes.extend(also_to.iter().cloned());
    delivery::enqueue(
        transaction,
        context,
        &[OutgoingActivity {
            sender: person,
            ap_id: id,
            kind,
            object_ap_id: Some(post_ap_id),
            json: document,
            in_outbox: true,
            ordering_key: Some(post_ap_id),
        }],
        inboxes,
    )
    .await?;
    if group.local {
        announce::relay(transaction, context, group, document, post_ap_id, boost).await?;
    }
    Ok(())
}

/// An object embedded in an activity leaves its `@context` to the activity.
pub fn without_context(mut document: Value) -> Value {
    if let Value::Object(map) = &mut document {
        map.remove("@context");
    }
    document
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    fn fixture_files(directory: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(directory).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                fixture_files(&path, found);
            } else if path
                .extension()
                .is_some_and(|extension| extension == "json")
            {
                found.push(path);
            }
        }
    }

    /// Parses an activity the way `dispatch` would, without applying it.
    fn parse_as_wire_struct(json: &Value) -> Result<()> {
        match json["type"].as_str().unwrap_or_default() {
            "Follow" => parse::<follow::Follow>(json).map(drop),
            "Undo" => parse::<undo::Undo>(json).map(drop),
            "Create" | "Update" => parse::<create_or_update::CreateOrUpdate>(json).map(drop),
            "Delete" => parse::<delete::Delete>(json).map(drop),
            "Like" | "Dislike" => parse::<vote::Vote>(json).map(drop),
            "Announce" => match &json["object"] {
                Value::Object(_) => parse_as_wire_struct(&json["object"]),
                Value::String(_) => Ok(()),
                _ => Err(Error::bad_request("Announce without object")),
            },
            _ => Ok(()),
        }
    }

    #[test]
    fn every_captured_activity_parses_into_our_wire_structs() {
        let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("federation-tests/fixtures");
        let mut files = Vec::new();
        fixture_files(&directory, &mut files);
        let mut parsed = 0;
        for file in files {
            let json: Value =
                serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
            let kind = json["type"].as_str().unwrap_or_default();
            if ![
                "Follow", "Undo", "Create", "Update", "Delete", "Like", "Dislike", "Announce",
            ]
            .contains(&kind)
            {
                continue;
            }
            if let Err(error) = parse_as_wire_struct(&json) {
                panic!("{} does not parse: {error}", file.display());
            }
            parsed += 1;
        }
        assert!(parsed >= 50, "only {parsed} activities found");
    }

    #[test]
    fn posts_in_captured_creates_are_understood() {
        let captured = [
            include_str!(
                "../../../federation-tests/fixtures/captured-lemmy-0.19.20/lemmy-user-to-remote-group/03-create-note.json"
            ),
            include_str!(
                "../../../federation-tests/fixtures/captured-takahe-0.11/takahe-user-to-group/04-create-note.json"
            ),
            include_str!("../../../federation-tests/fixtures/mastodon/activities/create_note.json"),
            include_str!("../../../federation-tests/fixtures/pleroma/activities/create_note.json"),
            include_str!(
                "../../../federation-tests/fixtures/friendica/activities/create_page_1.json"
            ),
        ];
        for text in captured {
            let json: Value = serde_json::from_str(text).unwrap();
            let create: create_or_update::CreateOrUpdate = parse(&json).unwrap();
            assert!(create.object.author().is_some(), "{text}");
            assert_eq!(create.object.author().as_ref(), Some(&create.actor));
        }
    }
}
