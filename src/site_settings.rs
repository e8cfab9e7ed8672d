//! The instance's settings an administrator may change on the web: its name, its description,
//! who may sign up and who may create groups. The config file gives the defaults; what an
//! administrator saved is kept in the `site_settings` row and wins over them.
//!
//! Pages read them on every request, so they are held in memory ([`SiteSettingsCache`]): saved
//! here, they apply at once; saved by another process on the same database, within
//! [`SiteSettingsCache::FRESH_FOR`].

use crate::{
    config::{Config, GroupCreation, RegistrationMode},
    error::{Error, Result},
};
use chrono::Utc;
use kindred_entities::site_setting;
use sea_orm::{ActiveValue::Set, ConnectionTrait, DatabaseConnection, EntityTrait};
use std::sync::{
    Arc, RwLock,
    atomic::{AtomicBool, Ordering},
};

/// The one row's id.
const SETTINGS_ROW_ID: i64 = 1;
/// The longest instance name and description an administrator may save.
pub const MAX_NAME_LENGTH: usize = 100;
pub const MAX_DESCRIPTION_LENGTH: usize = 2_000;

/// The settings in effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteSettings {
    pub name: String,
    pub description: String,
    pub registration: RegistrationMode,
    pub group_creation: GroupCreation,
}

impl SiteSettings {
    /// The config file's settings.
    pub fn from_config(config: &Config) -> SiteSettings {
        SiteSettings {
            name: config.instance.name.clone(),
            description: config.instance.description.clone(),
            registration: config.instance.registration,
            group_creation: config.instance.group_creation,
        }
    }

    /// `defaults` with what the row holds over them. A value the row holds but this version
    /// does not know (written by a newer one) leaves the default.
    fn over(defaults: &SiteSettings, row: Option<site_setting::Model>) -> SiteSettings {
        let Some(row) = row else {
            return defaults.clone();
        };
        SiteSettings {
            name: row.name.unwrap_or_else(|| defaults.name.clone()),
            description: row
                .description
                .unwrap_or_else(|| defaults.description.clone()),
            registration: row
                .registration
                .as_deref()
                .and_then(registration_from_text)
                .unwrap_or(defaults.registration),
            group_creation: row
                .group_creation
                .as_deref()
                .and_then(group_creation_from_text)
                .unwrap_or(defaults.group_creation),
        }
    }
}

pub fn registration_from_text(text: &str) -> Option<RegistrationMode> {
    match text {
        "open" => Some(RegistrationMode::Open),
        "approval" => Some(RegistrationMode::Approval),
        "closed" => Some(RegistrationMode::Closed),
        _ => None,
    }
}

pub fn registration_as_text(mode: RegistrationMode) -> &'static str {
    match mode {
        RegistrationMode::Open => "open",
        RegistrationMode::Approval => "approval",
        RegistrationMode::Closed => "closed",
    }
}

pub fn group_creation_from_text(text: &str) -> Option<GroupCreation> {
    match text {
        "anyone" => Some(GroupCreation::Anyone),
        "admins" => Some(GroupCreation::Admins),
        _ => None,
    }
}

pub fn group_creation_as_text(policy: GroupCreation) -> &'static str {
    match policy {
        GroupCreation::Anyone => "anyone",
        GroupCreation::Admins => "admins",
    }
}

/// Reads the settings in effect: the row over `defaults`.
pub async fn load(
    database: &impl ConnectionTrait,
    defaults: &SiteSettings,
) -> Result<SiteSettings> {
    let row = site_setting::Entity::find_by_id(SETTINGS_ROW_ID)
        .one(database)
        .await?;
    Ok(SiteSettings::over(defaults, row))
}

/// Checks and stores `wanted` as the instance's settings, by the administrator `user_id`. A
/// value equal to the config file's is stored as "as the config says", so that a later change
/// of the file applies again.
pub async fn save(
    database: &impl ConnectionTrait,
    defaults: &SiteSettings,
    wanted: &SiteSettings,
    user_id: i64,
) -> Result<SiteSettings> {
    let name = wanted.name.trim();
    if name.is_empty() {
        return Err(Error::invalid("the instance needs a name"));
    }
    if name.chars().count() > MAX_NAME_LENGTH {
        return Err(Error::invalid(format!(
            "the name is at most {MAX_NAME_LENGTH} characters"
        )));
    }
    let description = wanted.description.trim();
    if description.chars().count() > MAX_DESCRIPTION_LENGTH {
        return Err(Error::invalid(format!(
            "the description is at most {MAX_DESCRIPTION_LENGTH} characters"
        )));
    }
    if name.contains('\0') || description.contains('\0') {
        return Err(Error::invalid("text may not hold a NUL character"));
    }
    let over_default = |value: &str, default: &str| (value != default).then(|| value.to_string());
    let row = site_setting::ActiveModel {
        id: Set(SETTINGS_ROW_ID),
        name: Set(over_default(name, &defaults.name)),
        description: Set(over_default(description, &defaults.description)),
        registration: Set((wanted.registration != defaults.registration)
            .then(|| registration_as_text(wanted.registration).to_string())),
        group_creation: Set((wanted.group_creation != defaults.group_creation)
            .then(|| group_creation_as_text(wanted.group_creation).to_string())),
        updated_by_user_id: Set(Some(user_id)),
        updated_at: Set(Utc::now()),
    };
    site_setting::Entity::insert(row)
        .on_conflict(
            sea_orm::sea_query::OnConflict::column(site_setting::Column::Id)
                .update_columns([
                    site_setting::Column::Name,
                    site_setting::Column::Description,
                    site_setting::Column::Registration,
                    site_setting::Column::GroupCreation,
                    site_setting::Column::UpdatedByUserId,
                    site_setting::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec(database)
        .await?;
    load(database, defaults).await
}

/// The settings in effect, held in memory and read again from the database now and then.
pub struct SiteSettingsCache {
    defaults: SiteSettings,
    database: DatabaseConnection,
    current: RwLock<(std::time::Instant, Arc<SiteSettings>)>,
    refreshing: AtomicBool,
}

impl SiteSettingsCache {
    /// How long the settings in memory are used before they are read again (another process
    /// on the same database may have saved new ones).
    pub const FRESH_FOR: std::time::Duration = std::time::Duration::from_secs(10);

    /// The settings as the database holds them now.
    pub async fn load(config: &Config, database: DatabaseConnection) -> Result<SiteSettingsCache> {
        let defaults = SiteSettings::from_config(config);
        let current = load(&database, &defaults).await?;
        Ok(SiteSettingsCache {
            defaults,
            database,
            current: RwLock::new((std::time::Instant::now(), Arc::new(current))),
            refreshing: AtomicBool::new(false),
        })
    }

    /// The config file's settings, under what an administrator saved.
    pub fn defaults(&self) -> &SiteSettings {
        &self.defaults
    }

    /// The settings in effect. When they are older than [`Self::FRESH_FOR`], they are read
    /// again in the background; this call never waits for the database.
    pub fn current(self: &Arc<Self>) -> Arc<SiteSettings> {
        let (read_at, settings) = match self.current.read() {
            Ok(current) => (current.0, current.1.clone()),
            Err(poisoned) => {
                let current = poisoned.into_inner();
                (current.0, current.1.clone())
            }
        };
        if read_at.elapsed() > Self::FRESH_FOR
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
            && !self.refreshing.swap(true, Ordering::AcqRel)
        {
            let cache = self.clone();
            runtime.spawn(async move {
                if let Err(error) = cache.refresh().await {
                    tracing::warn!(%error, "could not read the instance's settings");
                }
                cache.refreshing.store(false, Ordering::Release);
            });
        }
        settings
    }

    /// Reads the settings from the database now.
    pub async fn refresh(&self) -> Result<()> {
        let loaded = load(&self.database, &self.defaults).await?;
        self.replace(loaded);
        Ok(())
    }

    /// Holds `settings` as the ones in effect (after this process saved them).
    pub fn replace(&self, settings: SiteSettings) {
        let mut current = self
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *current = (std::time::Instant::now(), Arc::new(settings));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::testing;

    #[tokio::test]
    async fn saved_settings_win_over_the_config_and_equal_ones_follow_it() {
        testing::for_each_database(async |database| {
            let config = testing::test_config("https://kindred.example").unwrap();
            let db = &database.connection;
            let cache = Arc::new(SiteSettingsCache::load(&config, db.clone()).await.unwrap());
            let defaults = cache.defaults().clone();
            assert_eq!(*cache.current(), defaults, "nothing saved: the config's");

            let wanted = SiteSettings {
                name: "  Zero-waste circle  ".into(),
                description: "We mend and share".into(),
                registration: RegistrationMode::Approval,
                group_creation: GroupCreation::Admins,
            };
            let saved = save(db, &defaults, &wanted, 1).await.unwrap();
            assert_eq!(saved.name, "Zero-waste circle");
            assert_eq!(saved.registration, RegistrationMode::Approval);
            assert_eq!(saved.group_creation, GroupCreation::Admins);
            // Another process reads what was saved.
            let other = SiteSettingsCache::load(&config, db.clone()).await.unwrap();
            assert_eq!(*Arc::new(other).current(), saved);

            // Set back to the config's values, they are stored as "as the config says".
            let back = save(db, &defaults, &defaults, 1).await.unwrap();
            assert_eq!(back, defaults);
            let row = site_setting::Entity::find_by_id(SETTINGS_ROW_ID)
                .one(db)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                (row.name, row.registration, row.group_creation),
                (None, None, None)
            );

            for refused in [
                SiteSettings {
                    name: "   ".into(),
                    ..defaults.clone()
                },
                SiteSettings {
                    name: "x".repeat(MAX_NAME_LENGTH + 1),
                    ..defaults.clone()
                },
                SiteSettings {
                    description: "a\0b".into(),
                    ..defaults.clone()
                },
            ] {
                let error = save(db, &defaults, &refused, 1).await.unwrap_err();
                assert!(matches!(error, Error::Invalid(_)), "{error:?}");
            }
            cache.refresh().await.unwrap();
            assert_eq!(*cache.current(), defaults);
        })
        .await;
    }
}
