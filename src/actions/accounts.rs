//! Accounts: signing up, and an administrator's removal of a local account or group. One path
//! each for the web pages, the API and the command line.

use crate::{
    accounts::users::{self, NewUser, UserWithActor},
    context::Context,
    error::{Error, Result},
};
use kindred_entities::{actor, membership, user};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter,
    TransactionTrait,
};
use std::net::IpAddr;

/// A visitor at `address` (as the HTTP layer found it; `None` in-process) signs up under
/// `instance.registration`, within `instance.registrations_per_hour_per_address`.
pub async fn sign_up(
    context: &Context,
    address: Option<IpAddr>,
    new_user: NewUser<'_>,
) -> Result<UserWithActor> {
    let per_hour = context.config.instance.registrations_per_hour_per_address;
    let key = address.map_or_else(|| "unknown".to_string(), crate::rate_limit::address_key);
    context
        .registration_limits
        .take_from(&key, per_hour, f64::from(per_hour) / 3600.0)
        .map_err(Error::TooManyRequests)?;
    let registration = context.site_settings.current().registration;
    let account = users::register(
        &context.db,
        &context.config,
        registration,
        &context.keys,
        new_user,
    )
    .await?;
    tracing::info!(person = %account.actor.ap_id, state = ?account.user.state, "a person signed up");
    Ok(account)
}

/// Who removes a local account or group: an administrator on the web page or the API, or the
/// operator at the command line (`kindred user remove`, `kindred group remove`).
#[derive(Debug, Clone, Copy)]
pub enum Remover<'a> {
    Administrator(&'a UserWithActor),
    Operator,
}

impl<'a> Remover<'a> {
    /// `account`, when it is an administrator's.
    pub fn administrator(account: &'a UserWithActor) -> Result<Remover<'a>> {
        let remover = Remover::Administrator(account);
        remover.require_administrator()?;
        Ok(remover)
    }

    fn require_administrator(&self) -> Result<()> {
        match self {
            Remover::Administrator(account) if !account.user.is_admin => Err(Error::Forbidden(
                "only administrators remove groups and accounts".into(),
            )),
            _ => Ok(()),
        }
    }
}

/// Removes the local account `name` (see [`remove_local_actor`]). An administrator cannot
/// remove their own account this way.
pub async fn remove_account(context: &Context, by: Remover<'_>, name: &str) -> Result<()> {
    by.require_administrator()?;
    let account = users::find_by_name(&context.db, name)
        .await?
        .filter(|account| account.actor.deleted_at.is_none())
        .ok_or_else(|| Error::not_found("user"))?;
    if let Remover::Administrator(administrator) = by
        && administrator.user.id == account.user.id
    {
        return Err(Error::invalid("you cannot remove your own account here"));
    }
    let person = account.actor.ap_id.clone();
    remove_local_actor(context, account.actor).await?;
    tracing::info!(%person, "an account was removed");
    Ok(())
}

/// Removes the local group `name` (see [`remove_local_actor`]).
pub async fn remove_group(context: &Context, by: Remover<'_>, name: &str) -> Result<()> {
    by.require_administrator()?;
    let group = crate::groups::directory::find_local_group(&context.db, name).await?;
    let removed = group.ap_id.clone();
    remove_local_actor(context, group).await?;
    tracing::info!(group = %removed, "a group was removed");
    Ok(())
}

/// A local group or person is removed: it is marked deleted (its name stays taken, its pages
/// answer 404), its memberships end, a person's account is disabled and signed out, and the
/// servers that know it hear `Delete`.
async fn remove_local_actor(context: &Context, target: actor::Model) -> Result<()> {
    if !target.local || target.deleted_at.is_some() {
        return Err(Error::not_found("local group or person"));
    }
    let transaction = context.db.begin().await?;
    // Before the memberships end: they say who is told.
    crate::federation::activities::delete::publish_actor_deletion(&transaction, context, &target)
        .await?;
    membership::Entity::delete_many()
        .filter(
            Condition::any()
                .add(membership::Column::MemberId.eq(target.id))
                .add(membership::Column::GroupId.eq(target.id)),
        )
        .exec(&transaction)
        .await?;
    if let Some(account) = users::find_by_actor_id(&transaction, target.id).await? {
        let mut disabled: user::ActiveModel = account.clone().into();
        disabled.state = Set(user::UserState::Disabled);
        disabled.update(&transaction).await?;
        crate::accounts::sessions::revoke_all_for_user(&transaction, account.id, None).await?;
    }
    let name = target.local_name.clone().unwrap_or_default();
    let mut deleted: actor::ActiveModel = target.into();
    deleted.deleted_at = Set(Some(chrono::Utc::now()));
    deleted.update(&transaction).await?;
    transaction.commit().await?;
    context.actor_documents.invalidate(&name);
    crate::federation::delivery::wake_delivery_worker(context);
    Ok(())
}

/// A picture for a profile: kept as it is, removed, or replaced by an upload's URL.
pub enum PictureChange {
    Keep,
    Remove,
    Replace(String),
}

impl PictureChange {
    /// The URL after the change, from the one before.
    pub fn applied_to(self, current: Option<String>) -> Option<String> {
        match self {
            PictureChange::Keep => current,
            PictureChange::Remove => None,
            PictureChange::Replace(url) => Some(url),
        }
    }
}

/// A local person edits their profile (display name, bio, avatar); the servers that show their
/// posts get an `Update` in the same transaction.
pub async fn edit_profile(
    context: &Context,
    person: actor::Model,
    display_name: &str,
    bio_markdown: &str,
    avatar: PictureChange,
) -> Result<actor::Model> {
    let avatar_url = avatar.applied_to(person.icon_url.clone());
    let name = person.local_name.clone().unwrap_or_default();
    let transaction = context.db.begin().await?;
    let updated = crate::accounts::profiles::update_profile(
        &transaction,
        person,
        crate::accounts::profiles::Profile {
            display_name,
            bio_markdown,
            avatar_url: avatar_url.as_deref(),
        },
    )
    .await?;
    crate::media::uploads::mark_used_by_url(
        &transaction,
        &context.config,
        &[avatar_url.as_deref()],
    )
    .await?;
    crate::federation::activities::update_profile::publish_person_update(
        &transaction,
        context,
        &updated,
    )
    .await?;
    transaction.commit().await?;
    context.actor_documents.invalidate(&name.to_lowercase());
    crate::federation::delivery::wake_delivery_worker(context);
    tracing::info!(person = %updated.ap_id, "a profile was edited");
    Ok(updated)
}

/// An administrator changes the instance's name, description, registration mode or
/// group-creation policy. They apply at once in this process, and within a few seconds in the
/// others on the same database.
pub async fn change_site_settings(
    context: &Context,
    administrator: &UserWithActor,
    wanted: &crate::site_settings::SiteSettings,
) -> Result<crate::site_settings::SiteSettings> {
    if !administrator.user.is_admin {
        return Err(Error::Forbidden(
            "only administrators change the instance's settings".into(),
        ));
    }
    let saved = crate::site_settings::save(
        &context.db,
        context.site_settings.defaults(),
        wanted,
        administrator.user.id,
    )
    .await?;
    context.site_settings.replace(saved.clone());
    tracing::info!(
        administrator = %administrator.user.name,
        name = %saved.name,
        registration = crate::site_settings::registration_as_text(saved.registration),
        group_creation = crate::site_settings::group_creation_as_text(saved.group_creation),
        "the instance's settings were changed"
    );
    Ok(saved)
}
