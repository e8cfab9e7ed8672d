//! This instance as a whole: its own actor (an Application that signs outgoing fetches, as
//! FEP-2677 describes) and the usage figures NodeInfo reports.

use crate::{config::Config, crypto::KeypairSource, error::Result};
use chrono::{Duration, Utc};
use kindred_entities::{
    actor::{self, ActorKind},
    post,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QuerySelect,
};

/// The path of the instance actor.
pub const INSTANCE_ACTOR_PATH: &str = "/actor";

/// The instance actor's row, or 404 (it is made at start-up, so only a broken database lacks
/// it).
pub async fn find_instance_actor(
    database: &impl ConnectionTrait,
    config: &Config,
) -> Result<actor::Model> {
    let ap_id = config.url_for(INSTANCE_ACTOR_PATH);
    crate::database::unique_row(
        actor::Entity::find().filter(actor::Column::ApId.eq(ap_id.as_str())),
        database,
    )
    .await?
    .ok_or_else(|| crate::error::Error::not_found("instance actor"))
}

/// The instance actor, created (with its key pair) the first time the instance starts.
pub async fn ensure_instance_actor(
    database: &impl ConnectionTrait,
    config: &Config,
    keys: &KeypairSource,
) -> Result<actor::Model> {
    let ap_id = config.url_for(INSTANCE_ACTOR_PATH).to_string();
    if let Some(existing) = actor::Entity::find()
        .filter(actor::Column::ApId.eq(&ap_id))
        .one(database)
        .await?
    {
        return Ok(existing);
    }
    let keypair = keys.new_keypair().await?;
    let now = Utc::now();
    let row = actor::ActiveModel {
        ap_id: Set(ap_id.clone()),
        kind: Set(ActorKind::Application),
        local: Set(true),
        local_name: Set(None),
        preferred_username: Set(config.domain()),
        display_name: Set(Some(config.instance.name.clone())),
        summary_html: Set(None),
        summary_source: Set(None),
        icon_url: Set(None),
        image_url: Set(None),
        inbox_url: Set(config.url_for("/inbox").to_string()),
        shared_inbox_url: Set(Some(config.url_for("/inbox").to_string())),
        outbox_url: Set(None),
        followers_url: Set(None),
        featured_url: Set(None),
        moderators_url: Set(None),
        html_url: Set(Some(config.url_for("/").to_string())),
        public_key_pem: Set(keypair.public_key),
        private_key_pem: Set(Some(keypair.private_key)),
        manually_approves_followers: Set(true),
        posting_restricted_to_mods: Set(false),
        discoverable: Set(false),
        instance_id: Set(None),
        published_at: Set(Some(now)),
        updated_at: Set(None),
        last_refreshed_at: Set(now),
        deleted_at: Set(None),
        created_at: Set(now),
        ..Default::default()
    };
    Ok(row.insert(database).await?)
}

/// The figures NodeInfo reports, counted from the database (NodeInfo keeps them ten minutes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageStatistics {
    pub total_users: u64,
    pub active_users_month: u64,
    pub active_users_half_year: u64,
    pub local_posts: u64,
    pub local_groups: u64,
}

pub async fn usage_statistics(database: &impl ConnectionTrait) -> Result<UsageStatistics> {
    let local_actors_of = |kind: ActorKind| {
        actor::Entity::find()
            .filter(actor::Column::Local.eq(true))
            .filter(actor::Column::Kind.eq(kind))
            .filter(actor::Column::DeletedAt.is_null())
    };
    let total_users = local_actors_of(ActorKind::Person).count(database).await?;
    let local_groups = local_actors_of(ActorKind::Group).count(database).await?;
    let local_posts = post::Entity::find()
        .filter(post::Column::Local.eq(true))
        .filter(post::Column::DeletedAt.is_null())
        .count(database)
        .await?;
    let active_users_month = active_local_authors_since(database, Duration::days(30)).await?;
    let active_users_half_year = active_local_authors_since(database, Duration::days(180)).await?;
    Ok(UsageStatistics {
        total_users,
        active_users_month,
        active_users_half_year,
        local_posts,
        local_groups,
    })
}

/// Local people who wrote at least one post in the window.
async fn active_local_authors_since(
    database: &impl ConnectionTrait,
    window: Duration,
) -> Result<u64> {
    let since = Utc::now() - window;
    let authors: Vec<i64> = post::Entity::find()
        .select_only()
        .column(post::Column::AuthorId)
        .distinct()
        .filter(post::Column::Local.eq(true))
        .filter(post::Column::PublishedAt.gte(since))
        .into_tuple()
        .all(database)
        .await?;
    if authors.is_empty() {
        return Ok(0);
    }
    Ok(actor::Entity::find()
        .filter(actor::Column::Id.is_in(authors))
        .filter(actor::Column::Kind.eq(ActorKind::Person))
        .count(database)
        .await?)
}
