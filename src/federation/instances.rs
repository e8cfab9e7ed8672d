//! Remote servers, one row per host: found or created when Kindred first meets one of their
//! actors or inboxes.

use crate::error::{Error, Result};
use chrono::Utc;
use kindred_entities::instance;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, sea_query::OnConflict,
};
use url::Url;

/// The host of a URL as Kindred keys instances: host name, plus the port when there is one.
pub fn host_of(url: &Url) -> Result<String> {
    let host = url
        .host_str()
        .ok_or_else(|| Error::bad_request(format!("{url} has no host")))?
        .to_lowercase();
    Ok(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    })
}

/// The instance row for the server that hosts `url`, created on first sight.
pub async fn find_or_create(database: &impl ConnectionTrait, url: &Url) -> Result<instance::Model> {
    let host = host_of(url)?;
    let row = instance::ActiveModel {
        host: Set(host.clone()),
        first_seen_at: Set(Utc::now()),
        blocked: Set(false),
        ..Default::default()
    };
    instance::Entity::insert(row)
        .on_conflict(
            OnConflict::column(instance::Column::Host)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(database)
        .await?;
    instance::Entity::find()
        .filter(instance::Column::Host.eq(host))
        .one(database)
        .await?
        .ok_or_else(|| Error::internal("instance row vanished after insert"))
}
