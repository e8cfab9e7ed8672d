//! The local groups of this instance: creating them (with their key pair and the URLs their
//! actor names), listing them and finding one by name.

use crate::{
    config::Config,
    crypto::KeypairSource,
    error::{Error, Result},
    html,
};
use chrono::Utc;
use kindred_entities::actor::{self, ActorKind};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait,
    QueryFilter, QueryOrder,
};

/// The longest group name (the part before the @ in a handle).
pub const MAX_NAME_LENGTH: usize = 64;
/// The longest display title of a group.
pub const MAX_TITLE_LENGTH: usize = 200;
/// The longest summary, in markdown.
pub const MAX_SUMMARY_LENGTH: usize = 10_000;

/// What is needed to create a group.
pub struct NewGroup<'a> {
    pub name: &'a str,
    pub title: &'a str,
    pub summary_markdown: Option<&'a str>,
}

/// Checks a handle (of a group or a person; they share one namespace): lower-case letters,
/// digits and underscores, as Lemmy and Mastodon accept.
pub fn validate_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > MAX_NAME_LENGTH {
        return Err(Error::invalid(format!(
            "a name has 1 to {MAX_NAME_LENGTH} characters"
        )));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(Error::invalid(
            "a name may use only a-z, 0-9 and _ (try it in lower case)",
        ));
    }
    Ok(())
}

/// The path under which a local actor of `kind` named `name` lives: `/groups/NAME` or
/// `/users/NAME`.
pub fn local_actor_path(kind: ActorKind, name: &str) -> String {
    match kind {
        ActorKind::Group => format!("/groups/{name}"),
        _ => format!("/users/{name}"),
    }
}

/// A new local actor row (group or person) with its key pair and every URL its document names;
/// the caller checks the name and inserts it.
pub async fn new_local_actor(
    config: &Config,
    keys: &KeypairSource,
    kind: ActorKind,
    name: &str,
    display_name: Option<String>,
    summary_markdown: Option<&str>,
) -> Result<actor::ActiveModel> {
    let keypair = keys.new_keypair().await?;
    let base = local_actor_path(kind, name);
    let is_group = kind == ActorKind::Group;
    let now = Utc::now();
    Ok(actor::ActiveModel {
        ap_id: Set(config.url_for(&base).to_string()),
        kind: Set(kind),
        local: Set(true),
        local_name: Set(Some(name.to_string())),
        preferred_username: Set(name.to_string()),
        display_name: Set(display_name),
        summary_html: Set(summary_markdown.map(html::markdown_to_html)),
        summary_source: Set(summary_markdown.map(str::to_string)),
        icon_url: Set(None),
        image_url: Set(None),
        inbox_url: Set(config.url_for(&format!("{base}/inbox")).to_string()),
        shared_inbox_url: Set(Some(config.url_for("/inbox").to_string())),
        outbox_url: Set(Some(config.url_for(&format!("{base}/outbox")).to_string())),
        followers_url: Set(Some(
            config.url_for(&format!("{base}/followers")).to_string(),
        )),
        featured_url: Set(is_group.then(|| config.url_for(&format!("{base}/featured")).to_string())),
        moderators_url: Set(
            is_group.then(|| config.url_for(&format!("{base}/moderators")).to_string())
        ),
        html_url: Set(Some(config.url_for(&base).to_string())),
        public_key_pem: Set(keypair.public_key),
        private_key_pem: Set(Some(keypair.private_key)),
        manually_approves_followers: Set(false),
        posting_restricted_to_mods: Set(false),
        discoverable: Set(true),
        instance_id: Set(None),
        published_at: Set(Some(now)),
        updated_at: Set(None),
        last_refreshed_at: Set(now),
        deleted_at: Set(None),
        created_at: Set(now),
        ..Default::default()
    })
}

/// Creates a local group: validates the name and title, generates its key pair and stores the
/// actor with every URL its ActivityPub document names.
pub async fn create_group(
    database: &impl ConnectionTrait,
    config: &Config,
    keys: &KeypairSource,
    new_group: NewGroup<'_>,
) -> Result<actor::Model> {
    validate_name(new_group.name)?;
    let title = new_group.title.trim();
    if title.is_empty() || title.chars().count() > MAX_TITLE_LENGTH {
        return Err(Error::invalid(format!(
            "a group title has 1 to {MAX_TITLE_LENGTH} characters"
        )));
    }
    let summary_markdown = new_group
        .summary_markdown
        .map(str::trim)
        .filter(|summary| !summary.is_empty());
    if summary_markdown.is_some_and(|summary| summary.len() > MAX_SUMMARY_LENGTH) {
        return Err(Error::invalid(format!(
            "a group summary has at most {MAX_SUMMARY_LENGTH} characters"
        )));
    }
    if name_is_taken(database, new_group.name).await? {
        return Err(Error::Conflict(format!(
            "the name {} is already taken on this instance",
            new_group.name
        )));
    }

    let row = new_local_actor(
        config,
        keys,
        ActorKind::Group,
        new_group.name,
        Some(title.to_string()),
        summary_markdown,
    )
    .await?;
    Ok(row.insert(database).await?)
}

/// What the owner of a group may change about it.
pub struct GroupProfile<'a> {
    pub title: &'a str,
    pub summary_markdown: Option<&'a str>,
    pub icon_url: Option<&'a str>,
    /// The banner (`image`) URL; like the icon, `None` (or empty) removes it.
    pub banner_url: Option<&'a str>,
    /// Whether join requests wait for a moderator; `None` leaves it as it is.
    pub manually_approves_followers: Option<bool>,
    /// Whether the group is not safe for work (NSFW); `None` leaves it as it is.
    pub sensitive: Option<bool>,
}

/// The actors `ids` (groups or people), by id: one query.
pub async fn actors_by_id(
    database: &impl ConnectionTrait,
    ids: impl Iterator<Item = i64>,
) -> Result<std::collections::HashMap<i64, actor::Model>> {
    let mut ids: Vec<i64> = ids.collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    Ok(actor::Entity::find()
        .filter(actor::Column::Id.is_in(ids))
        .all(database)
        .await?
        .into_iter()
        .map(|actor| (actor.id, actor))
        .collect())
}

/// Checks and applies a new title, summary, icon and banner to a local group.
pub async fn update_group(
    database: &impl ConnectionTrait,
    group: actor::Model,
    profile: GroupProfile<'_>,
) -> Result<actor::Model> {
    let title = profile.title.trim();
    if title.is_empty() || title.chars().count() > MAX_TITLE_LENGTH {
        return Err(Error::invalid(format!(
            "a group title has 1 to {MAX_TITLE_LENGTH} characters"
        )));
    }
    let summary_markdown = profile
        .summary_markdown
        .map(str::trim)
        .filter(|summary| !summary.is_empty());
    if summary_markdown.is_some_and(|summary| summary.len() > MAX_SUMMARY_LENGTH) {
        return Err(Error::invalid(format!(
            "a group summary has at most {MAX_SUMMARY_LENGTH} characters"
        )));
    }
    let picture_url = |url: Option<&'_ str>, what: &str| -> Result<Option<String>> {
        let Some(url) = url.map(str::trim).filter(|url| !url.is_empty()) else {
            return Ok(None);
        };
        let parsed = url::Url::parse(url)
            .map_err(|_| Error::invalid(format!("the {what} must be a web address")))?;
        if !matches!(parsed.scheme(), "https" | "http") || url.len() > 2000 {
            return Err(Error::invalid(format!(
                "the {what} must be an http or https address of at most 2000 characters"
            )));
        }
        Ok(Some(url.to_string()))
    };
    let icon_url = picture_url(profile.icon_url, "icon")?;
    let banner_url = picture_url(profile.banner_url, "banner")?;
    let mut update: actor::ActiveModel = group.into();
    update.display_name = Set(Some(title.to_string()));
    update.summary_html = Set(summary_markdown.map(html::markdown_to_html));
    update.summary_source = Set(summary_markdown.map(str::to_string));
    update.icon_url = Set(icon_url);
    update.image_url = Set(banner_url);
    if let Some(manual) = profile.manually_approves_followers {
        update.manually_approves_followers = Set(manual);
    }
    if let Some(sensitive) = profile.sensitive {
        update.sensitive = Set(sensitive);
    }
    update.updated_at = Set(Some(Utc::now()));
    Ok(update.update(database).await?)
}

/// Every local group, by name.
pub async fn list_local_groups(database: &impl ConnectionTrait) -> Result<Vec<actor::Model>> {
    Ok(actor::Entity::find()
        .filter(actor::Column::Local.eq(true))
        .filter(actor::Column::Kind.eq(ActorKind::Group))
        .filter(actor::Column::DeletedAt.is_null())
        .order_by_asc(actor::Column::LocalName)
        .all(database)
        .await?)
}

/// Groups this instance knows (local ones first, then by name) whose name, title or summary
/// contains `search` (case-insensitive); every group when `search` is empty. At most
/// `limit`, after the group `after` (a later page: keyset paging, `crate::paging`, by the
/// last group's id).
pub async fn search_groups(
    database: &impl ConnectionTrait,
    search: &str,
    after: Option<i64>,
    limit: u64,
) -> Result<Vec<actor::Model>> {
    use sea_orm::{
        QuerySelect,
        sea_query::{Expr, ExprTrait, Func},
    };
    let mut finder = actor::Entity::find()
        .filter(actor::Column::Kind.eq(ActorKind::Group))
        .filter(actor::Column::DeletedAt.is_null());
    let search = search.trim();
    if !search.is_empty() {
        // LIKE wildcards in the search are taken literally by dropping them.
        let pattern = format!("%{}%", search.to_lowercase().replace(['%', '_', '\\'], ""));
        let lowered = |column: actor::Column| Expr::expr(Func::lower(Expr::col(column)));
        finder = finder.filter(
            Condition::any()
                .add(lowered(actor::Column::PreferredUsername).like(pattern.clone()))
                .add(lowered(actor::Column::DisplayName).like(pattern.clone()))
                .add(lowered(actor::Column::SummaryHtml).like(pattern)),
        );
    }
    if let Some(after) = after {
        let last = crate::database::unique_row(actor::Entity::find_by_id(after), database)
            .await?
            .ok_or_else(|| Error::bad_request("the cursor is not one this server gave"))?;
        // After (local, name, id) in the order: local first, names ascending, then ids.
        let same_local = Condition::all().add(actor::Column::Local.eq(last.local));
        finder = finder.filter(
            Condition::any()
                .add(
                    Condition::all()
                        .add(actor::Column::Local.eq(false))
                        .add(Expr::val(last.local).eq(true)),
                )
                .add(
                    same_local
                        .clone()
                        .add(actor::Column::PreferredUsername.gt(last.preferred_username.clone())),
                )
                .add(
                    same_local
                        .add(actor::Column::PreferredUsername.eq(last.preferred_username))
                        .add(actor::Column::Id.gt(last.id)),
                ),
        );
    }
    Ok(finder
        .order_by_desc(actor::Column::Local)
        .order_by_asc(actor::Column::PreferredUsername)
        .order_by_asc(actor::Column::Id)
        .limit(limit)
        .all(database)
        .await?)
}

/// Whether a local person or group has (or had: removed ones keep their name) this handle.
pub async fn name_is_taken(database: &impl ConnectionTrait, name: &str) -> Result<bool> {
    use sea_orm::PaginatorTrait;
    Ok(actor::Entity::find()
        .filter(actor::Column::LocalName.eq(name.to_lowercase()))
        .count(database)
        .await?
        > 0)
}

/// The local person or group with this handle (case-insensitive), if any.
pub async fn find_local_actor_by_name(
    database: &impl ConnectionTrait,
    name: &str,
) -> Result<Option<actor::Model>> {
    Ok(crate::database::unique_row(
        actor::Entity::find()
            .filter(actor::Column::LocalName.eq(name.to_lowercase()))
            .filter(actor::Column::DeletedAt.is_null()),
        database,
    )
    .await?)
}

/// The local person or group whose id or web page is `url`, if any.
pub async fn find_local_actor_by_url(
    database: &impl ConnectionTrait,
    url: &url::Url,
) -> Result<Option<actor::Model>> {
    Ok(actor::Entity::find()
        .filter(actor::Column::LocalName.is_not_null())
        .filter(actor::Column::DeletedAt.is_null())
        .filter(
            Condition::any()
                .add(actor::Column::ApId.eq(url.as_str()))
                .add(actor::Column::HtmlUrl.eq(url.as_str())),
        )
        .one(database)
        .await?)
}

/// The group a handle names: `name` for a local group, `name@host` for a remote group this
/// instance already knows (`host` with its port, if it has one). `None` when unknown.
pub async fn find_group_by_handle(
    database: &impl ConnectionTrait,
    handle: &str,
) -> Result<Option<actor::Model>> {
    let handle = handle.trim().trim_start_matches(['!', '@']);
    let Some((name, host)) = handle.split_once('@') else {
        return Ok(find_local_actor_by_name(database, handle)
            .await?
            .filter(|row| row.kind == ActorKind::Group));
    };
    let candidates = actor::Entity::find()
        .filter(actor::Column::Kind.eq(ActorKind::Group))
        .filter(actor::Column::Local.eq(false))
        .filter(actor::Column::DeletedAt.is_null())
        .filter(
            actor::Column::ApId.contains(
                host.to_lowercase()
                    .split(':')
                    .next()
                    .unwrap_or_default()
                    .trim_end_matches('.'),
            ),
        )
        .all(database)
        .await?;
    Ok(candidates.into_iter().find(|group| {
        group.preferred_username.eq_ignore_ascii_case(name)
            && crate::hosts::same_host(&host_of_id(&group.ap_id), host)
    }))
}

/// The group a handle names (see [`find_group_by_handle`]), or a 404.
pub async fn find_group(database: &impl ConnectionTrait, handle: &str) -> Result<actor::Model> {
    find_group_by_handle(database, handle)
        .await?
        .ok_or_else(|| Error::not_found("group"))
}

/// The handle by which this instance's pages and API name a group or a person: `name` when
/// local, `name@host` when remote.
/// The name a group or person is shown by: its title or display name, its handle's name when
/// it has none.
pub fn shown_name(actor: &actor::Model) -> &str {
    actor
        .display_name
        .as_deref()
        .filter(|name| !name.trim().is_empty())
        .unwrap_or(&actor.preferred_username)
}

pub fn actor_handle(actor: &actor::Model) -> String {
    if actor.local {
        return actor.preferred_username.clone();
    }
    format!("{}@{}", actor.preferred_username, host_of_id(&actor.ap_id))
}

/// `@name@domain` of a group or person, local (with this instance's `domain`) or remote.
pub fn full_handle(domain: &str, actor: &actor::Model) -> String {
    if actor.local {
        format!(
            "@{}@{domain}",
            actor
                .local_name
                .as_deref()
                .unwrap_or(&actor.preferred_username)
        )
    } else {
        format!("@{}", actor_handle(actor))
    }
}

/// The server part of an ActivityPub id as handles write it: the host in lower case, with the
/// port when there is one (empty for an id that is not a URL).
pub fn host_of_id(ap_id: &str) -> String {
    crate::hosts::host_of_id(ap_id)
}

/// The local group with this name, or a 404.
pub async fn find_local_group(database: &impl ConnectionTrait, name: &str) -> Result<actor::Model> {
    find_local_actor_by_name(database, name)
        .await?
        .filter(|row| row.kind == ActorKind::Group)
        .ok_or_else(|| Error::not_found("group"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::testing;

    #[test]
    fn names_are_lower_case_handles() {
        for good in ["repair", "zero_waste_2", "a"] {
            assert!(validate_name(good).is_ok(), "{good}");
        }
        let too_long = "a".repeat(MAX_NAME_LENGTH + 1);
        for bad in [
            "",
            "Repair",
            "zero-waste",
            "café",
            "a b",
            "a@b",
            too_long.as_str(),
        ] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn creating_a_group_stores_its_actor_and_refuses_a_taken_name() {
        testing::for_each_database(async |database| {
            let config = testing::test_config("https://kindred.example").unwrap();
            let keys = testing::test_key_source();
            let new_group = || NewGroup {
                name: "study_group",
                title: "  Study group ",
                summary_markdown: Some("Reading *together*"),
            };
            let group = create_group(&database.connection, &config, &keys, new_group())
                .await
                .unwrap();
            assert_eq!(group.ap_id, "https://kindred.example/groups/study_group");
            assert_eq!(group.display_name.as_deref(), Some("Study group"));
            assert_eq!(
                group.summary_html.as_deref(),
                Some("<p>Reading <em>together</em></p>\n")
            );
            assert!(group.private_key_pem.is_some());
            assert_eq!(
                group.inbox_url,
                "https://kindred.example/groups/study_group/inbox"
            );

            let again = create_group(&database.connection, &config, &keys, new_group()).await;
            assert!(matches!(again, Err(Error::Conflict(_))), "{again:?}");
            let empty_title = create_group(
                &database.connection,
                &config,
                &keys,
                NewGroup {
                    name: "other",
                    title: "   ",
                    summary_markdown: None,
                },
            )
            .await;
            assert!(matches!(empty_title, Err(Error::Invalid(_))));

            let groups = list_local_groups(&database.connection).await.unwrap();
            assert_eq!(groups.len(), 1);
            assert!(
                find_local_group(&database.connection, "STUDY_GROUP")
                    .await
                    .is_ok()
            );
            assert!(
                find_local_group(&database.connection, "nobody")
                    .await
                    .is_err()
            );
        })
        .await;
    }
}
