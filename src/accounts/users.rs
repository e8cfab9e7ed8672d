//! Accounts: creating one (with its Person actor), registering under the instance's rules,
//! signing in by password, changing the password, approving, disabling and listing.

use crate::{
    accounts::{passwords, sessions},
    config::{Config, RegistrationMode},
    crypto::KeypairSource,
    error::{Error, Result},
    groups::directory,
};
use chrono::Utc;
use kindred_entities::{
    actor::{self, ActorKind},
    user::{self, UserState},
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
};

/// The longest application text a registration may carry.
pub const MAX_APPLICATION_LENGTH: usize = 2000;

/// What a new account needs.
pub struct NewUser<'a> {
    pub name: &'a str,
    pub password: &'a str,
    pub email: Option<&'a str>,
    /// Why the applicant wants to join, when registration needs approval.
    pub application_text: Option<&'a str>,
}

/// An account together with the Person actor it speaks as.
#[derive(Clone, Debug)]
pub struct UserWithActor {
    pub user: user::Model,
    pub actor: actor::Model,
}

/// Creates an account and its Person actor, in the given state. `kindred user create` and
/// [`register`] go through here.
pub async fn create_user(
    database: &DatabaseConnection,
    config: &Config,
    keys: &KeypairSource,
    new_user: NewUser<'_>,
    state: UserState,
    is_admin: bool,
) -> Result<UserWithActor> {
    let name = new_user.name.trim().to_lowercase();
    directory::validate_name(&name)?;
    passwords::check_password_rules(new_user.password)?;
    let email = new_user
        .email
        .map(str::trim)
        .filter(|email| !email.is_empty());
    if let Some(email) = email
        && (email.len() > 254 || !email.contains('@') || email.contains(char::is_whitespace))
    {
        return Err(Error::invalid("the email address is not valid"));
    }
    let application_text = new_user
        .application_text
        .map(str::trim)
        .filter(|text| !text.is_empty());
    if application_text.is_some_and(|text| text.chars().count() > MAX_APPLICATION_LENGTH) {
        return Err(Error::invalid(format!(
            "the application has at most {MAX_APPLICATION_LENGTH} characters"
        )));
    }
    if directory::name_is_taken(database, &name).await? {
        return Err(Error::Conflict(format!(
            "the name {name} is already taken on this instance"
        )));
    }
    let password_hash = passwords::hash_password(new_user.password).await?;
    let actor_row =
        directory::new_local_actor(config, keys, ActorKind::Person, &name, None, None).await?;

    let transaction = database.begin().await?;
    let actor = actor_row.insert(&transaction).await?;
    let user = user::ActiveModel {
        actor_id: Set(actor.id),
        name: Set(name),
        password_hash: Set(password_hash),
        email: Set(email.map(str::to_string)),
        is_admin: Set(is_admin),
        state: Set(state),
        application_text: Set(application_text.map(str::to_string)),
        created_at: Set(Utc::now()),
        last_login_at: Set(None),
        ..Default::default()
    }
    .insert(&transaction)
    .await?;
    transaction.commit().await?;
    Ok(UserWithActor { user, actor })
}

/// Self-service sign-up under the instance's registration mode (`site_settings`): open accounts are active at once,
/// approval-mode accounts wait for an admin, and a closed instance refuses.
pub async fn register(
    database: &DatabaseConnection,
    config: &Config,
    registration: RegistrationMode,
    keys: &KeypairSource,
    new_user: NewUser<'_>,
) -> Result<UserWithActor> {
    let state = match registration {
        RegistrationMode::Open => UserState::Active,
        RegistrationMode::Approval => UserState::Pending,
        RegistrationMode::Closed => {
            return Err(Error::Forbidden(
                "this instance does not take new accounts".into(),
            ));
        }
    };
    create_user(database, config, keys, new_user, state, false).await
}

/// Checks a name and password, as [`authenticate_from`] for a caller whose address is not
/// known (in-process callers and tests).
pub async fn authenticate(
    database: &impl ConnectionTrait,
    name: &str,
    password: &str,
) -> Result<UserWithActor> {
    authenticate_from(database, name, password, None).await
}

/// Checks a name and password sent from `client`. The same error for an unknown name and a
/// wrong password, and the same work for both, so neither the answer nor its timing says which
/// names exist. Wrong passwords are throttled per name and client address, so that a stranger
/// guessing cannot lock the owner out, and under a looser ceiling per name, so that guessing
/// from many addresses stays slow.
pub async fn authenticate_from(
    database: &impl ConnectionTrait,
    name: &str,
    password: &str,
    client: Option<std::net::IpAddr>,
) -> Result<UserWithActor> {
    let name_key = name.trim().to_lowercase();
    let pair_key = format!(
        "{name_key}\n{}",
        client.map_or_else(|| "unknown".to_string(), crate::rate_limit::address_key)
    );
    SIGN_IN_FAILURES.check(&pair_key, MAX_SIGN_IN_FAILURES)?;
    // Where the owner signed in lately, guesses from elsewhere do not lock them out.
    if !RECENT_SIGN_INS.contains(&pair_key) {
        SIGN_IN_FAILURES_PER_NAME.check(&name_key, MAX_SIGN_IN_FAILURES_PER_NAME)?;
    }
    let result = check_credentials(database, name, password).await;
    match &result {
        Err(Error::Unauthorized(_)) => {
            SIGN_IN_FAILURES.record(&pair_key);
            SIGN_IN_FAILURES_PER_NAME.record(&name_key);
        }
        Ok(_) => {
            SIGN_IN_FAILURES.clear(&pair_key);
            // Starts the trusted period afresh.
            RECENT_SIGN_INS.clear(&pair_key);
            RECENT_SIGN_INS.record(&pair_key);
        }
        Err(_) => {}
    }
    result
}

/// Wrong passwords tolerated per name from one client address in [`FAILURE_WINDOW`] before
/// sign-in from there is refused (429) until the window has passed: password guessing gets
/// ten tries a quarter of an hour.
pub const MAX_SIGN_IN_FAILURES: u32 = 10;
/// Wrong passwords tolerated per name from all addresses together in [`FAILURE_WINDOW`]: a
/// ceiling for guessing from many addresses, far above what the owner mistypes.
pub const MAX_SIGN_IN_FAILURES_PER_NAME: u32 = 100;
pub const FAILURE_WINDOW: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// Failed sign-ins by account name and client address, in this process.
static SIGN_IN_FAILURES: std::sync::LazyLock<AttemptLog> =
    std::sync::LazyLock::new(AttemptLog::default);
/// Failed sign-ins by account name alone, in this process.
static SIGN_IN_FAILURES_PER_NAME: std::sync::LazyLock<AttemptLog> =
    std::sync::LazyLock::new(AttemptLog::default);
/// Successful sign-ins by account name and client address, which the per-name ceiling spares
/// for [`TRUSTED_FOR`].
static RECENT_SIGN_INS: std::sync::LazyLock<AttemptLog> =
    std::sync::LazyLock::new(AttemptLog::default);
/// How long a successful sign-in from an address spares it the per-name ceiling.
const TRUSTED_FOR: std::time::Duration = FAILURE_WINDOW;

/// Attempts counted per key within [`FAILURE_WINDOW`] of the first (sign-in failures, or
/// successes), in this process.
#[derive(Default)]
struct AttemptLog {
    failures: std::sync::Mutex<std::collections::HashMap<String, (u32, tokio::time::Instant)>>,
}

impl AttemptLog {
    /// A poisoned lock is still usable (every change is one map operation): a panic
    /// elsewhere must not turn the throttle off.
    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, (u32, tokio::time::Instant)>>
    {
        self.failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn check(&self, key: &str, most: u32) -> Result<()> {
        match self.lock().get(key) {
            Some((count, since)) if *count >= most => {
                let elapsed = since.elapsed();
                if elapsed < FAILURE_WINDOW {
                    Err(Error::TooManyRequests(
                        FAILURE_WINDOW.saturating_sub(elapsed),
                    ))
                } else {
                    Ok(())
                }
            }
            _ => Ok(()),
        }
    }

    fn record(&self, key: &str) {
        let mut failures = self.lock();
        // Forget windows that are over, so the map cannot grow without bound.
        if failures.len() > 1000 {
            failures.retain(|_, (_, since)| since.elapsed() < FAILURE_WINDOW);
        }
        let entry = failures
            .entry(key.to_string())
            .or_insert((0, tokio::time::Instant::now()));
        if entry.1.elapsed() >= FAILURE_WINDOW {
            *entry = (0, tokio::time::Instant::now());
        }
        entry.0 += 1;
    }

    fn clear(&self, key: &str) {
        self.lock().remove(key);
    }

    fn contains(&self, key: &str) -> bool {
        self.lock()
            .get(key)
            .is_some_and(|(_, since)| since.elapsed() < TRUSTED_FOR)
    }
}

async fn check_credentials(
    database: &impl ConnectionTrait,
    name: &str,
    password: &str,
) -> Result<UserWithActor> {
    let found = find_by_name(database, name).await?;
    let Some(found) = found else {
        // Spend the time a real check takes.
        let _ = passwords::verify_password(password, dummy_hash()).await;
        return Err(Error::Unauthorized("wrong name or password".into()));
    };
    if !passwords::verify_password(password, &found.user.password_hash).await? {
        return Err(Error::Unauthorized("wrong name or password".into()));
    }
    match found.user.state {
        UserState::Active => {}
        UserState::Pending => {
            return Err(Error::Forbidden(
                "your registration waits for an administrator's approval".into(),
            ));
        }
        UserState::Disabled => {
            return Err(Error::Forbidden("this account is disabled".into()));
        }
    }
    let mut update: user::ActiveModel = found.user.clone().into();
    update.last_login_at = Set(Some(Utc::now()));
    let user = update.update(database).await?;
    Ok(UserWithActor {
        user,
        actor: found.actor,
    })
}

/// Replaces the password after checking the current one, and signs out every other session.
pub async fn change_password(
    database: &impl ConnectionTrait,
    account: &user::Model,
    current_password: &str,
    new_password: &str,
    keep_session_id: Option<i64>,
) -> Result<()> {
    if !passwords::verify_password(current_password, &account.password_hash).await? {
        return Err(Error::Forbidden("the current password is wrong".into()));
    }
    passwords::check_password_rules(new_password)?;
    let mut update: user::ActiveModel = account.clone().into();
    update.password_hash = Set(passwords::hash_password(new_password).await?);
    update.update(database).await?;
    sessions::revoke_all_for_user(database, account.id, keep_session_id).await?;
    Ok(())
}

/// Sets an account's state; disabling it also ends every session.
pub async fn set_state(
    database: &impl ConnectionTrait,
    name: &str,
    state: UserState,
) -> Result<user::Model> {
    let found = find_by_name(database, name)
        .await?
        .ok_or_else(|| Error::not_found("user"))?;
    let mut update: user::ActiveModel = found.user.into();
    update.state = Set(state);
    let updated = update.update(database).await?;
    if state == UserState::Disabled {
        sessions::revoke_all_for_user(database, updated.id, None).await?;
    }
    Ok(updated)
}

/// Every account, oldest first.
pub async fn list(database: &impl ConnectionTrait) -> Result<Vec<user::Model>> {
    Ok(user::Entity::find()
        .order_by_asc(user::Column::Id)
        .all(database)
        .await?)
}

/// The account with this name (case-insensitive) and its actor.
pub async fn find_by_name(
    database: &impl ConnectionTrait,
    name: &str,
) -> Result<Option<UserWithActor>> {
    let Some(user) = crate::database::unique_row(
        user::Entity::find().filter(user::Column::Name.eq(name.trim().to_lowercase())),
        database,
    )
    .await?
    else {
        return Ok(None);
    };
    with_actor(database, user).await.map(Some)
}

/// The account that speaks as the local actor `actor_id`, if it is a person's.
pub async fn find_by_actor_id(
    database: &impl ConnectionTrait,
    actor_id: i64,
) -> Result<Option<user::Model>> {
    Ok(crate::database::unique_row(
        user::Entity::find().filter(user::Column::ActorId.eq(actor_id)),
        database,
    )
    .await?)
}

pub async fn with_actor(
    database: &impl ConnectionTrait,
    user: user::Model,
) -> Result<UserWithActor> {
    let actor = crate::database::unique_row(actor::Entity::find_by_id(user.actor_id), database)
        .await?
        .ok_or_else(|| Error::internal(format!("user {} has no actor", user.id)))?;
    Ok(UserWithActor { user, actor })
}

/// An Argon2id hash of a random password, computed with the default parameters so that
/// verifying against it costs what a real verification costs.
fn dummy_hash() -> &'static str {
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$J9G1bDpNxw8n0S2m4b3JqT0c7QH1wZ0K8d3m8yZ9k1A"
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::{config::RegistrationMode, testing};

    fn new_user<'a>(name: &'a str, password: &'a str) -> NewUser<'a> {
        NewUser {
            name,
            password,
            email: None,
            application_text: None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_failure_window_closes_when_its_time_is_over() {
        let log = AttemptLog::default();
        for _ in 0..3 {
            assert!(log.check("ann@192.0.2.1", 3).is_ok());
            log.record("ann@192.0.2.1");
        }
        let Err(Error::TooManyRequests(wait)) = log.check("ann@192.0.2.1", 3) else {
            panic!("the third failure closes the window");
        };
        assert_eq!(wait, FAILURE_WINDOW);
        assert!(log.check("ann@192.0.2.2", 3).is_ok(), "another key is open");
        tokio::time::advance(FAILURE_WINDOW - std::time::Duration::from_secs(1)).await;
        assert!(
            log.check("ann@192.0.2.1", 3).is_err(),
            "still closed a second before"
        );
        assert!(log.contains("ann@192.0.2.1"));
        tokio::time::advance(std::time::Duration::from_secs(1)).await;
        assert!(
            log.check("ann@192.0.2.1", 3).is_ok(),
            "open once the window is over"
        );
        assert!(!log.contains("ann@192.0.2.1"));
        log.record("ann@192.0.2.1");
        assert!(
            log.check("ann@192.0.2.1", 3).is_ok(),
            "a failure after the window starts a new count"
        );
    }

    #[tokio::test]
    async fn registration_follows_the_instance_mode() {
        testing::for_each_database(async |database| {
            let config = testing::test_config("https://kindred.example").unwrap();
            let keys = testing::test_key_source();
            let db = &database.connection;

            let mode = RegistrationMode::Closed;
            let closed = register(db, &config, mode, &keys, new_user("ann", "long enough")).await;
            assert!(matches!(closed, Err(Error::Forbidden(_))), "{closed:?}");

            let mode = RegistrationMode::Approval;
            let pending = register(db, &config, mode, &keys, new_user("bea", "long enough"))
                .await
                .unwrap();
            assert_eq!(pending.user.state, UserState::Pending);
            let refused = authenticate(db, "bea", "long enough").await;
            assert!(matches!(refused, Err(Error::Forbidden(_))), "{refused:?}");
            set_state(db, "bea", UserState::Active).await.unwrap();
            authenticate(db, "BEA", "long enough").await.unwrap();

            let mode = RegistrationMode::Open;
            let open = register(db, &config, mode, &keys, new_user("Cid", "long enough"))
                .await
                .unwrap();
            assert_eq!(open.user.name, "cid");
            assert_eq!(open.user.state, UserState::Active);
            assert_eq!(open.actor.kind, ActorKind::Person);
            assert_eq!(open.actor.ap_id, "https://kindred.example/users/cid");
            assert_eq!(
                open.actor.inbox_url,
                "https://kindred.example/users/cid/inbox"
            );
            assert!(open.actor.private_key_pem.is_some());
            assert!(open.user.password_hash.starts_with("$argon2id$"));

            // Names are shared with groups, and checked.
            let taken = register(db, &config, mode, &keys, new_user("cid", "long enough")).await;
            assert!(matches!(taken, Err(Error::Conflict(_))), "{taken:?}");
            let short = register(db, &config, mode, &keys, new_user("dan", "short")).await;
            assert!(matches!(short, Err(Error::Invalid(_))), "{short:?}");
            let bad_name =
                register(db, &config, mode, &keys, new_user("d an", "long enough")).await;
            assert!(matches!(bad_name, Err(Error::Invalid(_))));
        })
        .await;
    }

    #[tokio::test]
    async fn sign_in_checks_the_password_and_the_state() {
        testing::for_each_database(async |database| {
            let config = testing::test_config("https://kindred.example").unwrap();
            let keys = testing::test_key_source();
            let db = &database.connection;
            create_user(
                db,
                &config,
                &keys,
                new_user("ann", "first password"),
                UserState::Active,
                true,
            )
            .await
            .unwrap();
            for (name, password) in [("ann", "wrong password"), ("nobody", "first password")] {
                let error = authenticate(db, name, password).await.unwrap_err();
                assert_eq!(
                    error.status_and_reason().1,
                    "wrong name or password",
                    "{name}"
                );
            }
            // The stand-in hash for unknown names is well formed, so it costs a real check.
            assert!(
                !passwords::verify_password("first password", dummy_hash())
                    .await
                    .unwrap()
            );
            let signed_in = authenticate(db, "ann", "first password").await.unwrap();
            assert!(signed_in.user.is_admin);
            assert!(signed_in.user.last_login_at.is_some());

            let wrong_current =
                change_password(db, &signed_in.user, "not it", "second password", None).await;
            assert!(matches!(wrong_current, Err(Error::Forbidden(_))));
            change_password(
                db,
                &signed_in.user,
                "first password",
                "second password",
                None,
            )
            .await
            .unwrap();
            assert!(authenticate(db, "ann", "first password").await.is_err());
            authenticate(db, "ann", "second password").await.unwrap();

            // Ten wrong passwords in a row, and even the right one waits. (A name no other
            // test signs in with: the throttle is per process.)
            let name = format!("zed_{:?}", database.backend).to_lowercase();
            create_user(
                db,
                &config,
                &keys,
                new_user(&name, "zed's password"),
                UserState::Active,
                false,
            )
            .await
            .unwrap();
            for _ in 0..MAX_SIGN_IN_FAILURES {
                assert!(authenticate(db, &name, "guess").await.is_err());
            }
            let throttled = authenticate(db, &name, "zed's password").await;
            assert!(
                matches!(throttled, Err(Error::TooManyRequests(_))),
                "{throttled:?}"
            );
            assert_eq!(throttled.unwrap_err().status_and_reason().0.as_u16(), 429);

            // A stranger's guesses lock out the stranger's address, not the owner's.
            let owner: std::net::IpAddr = "192.0.2.1".parse().unwrap();
            let stranger: std::net::IpAddr = "198.51.100.7".parse().unwrap();
            let name = format!("yves_{:?}", database.backend).to_lowercase();
            create_user(
                db,
                &config,
                &keys,
                new_user(&name, "yves's password"),
                UserState::Active,
                false,
            )
            .await
            .unwrap();
            for _ in 0..MAX_SIGN_IN_FAILURES {
                assert!(
                    authenticate_from(db, &name, "guess", Some(stranger))
                        .await
                        .is_err()
                );
            }
            assert!(matches!(
                authenticate_from(db, &name, "yves's password", Some(stranger)).await,
                Err(Error::TooManyRequests(_))
            ));
            authenticate_from(db, &name, "yves's password", Some(owner))
                .await
                .unwrap();
            // Guessing from many addresses meets the per-name ceiling: a new address is
            // refused, the address the owner just signed in from is not.
            for attempt in 0..MAX_SIGN_IN_FAILURES_PER_NAME {
                let address = std::net::IpAddr::from([203, 0, 113, (attempt % 200) as u8]);
                let _ = authenticate_from(db, &name, "guess", Some(address)).await;
            }
            let new_address: std::net::IpAddr = "192.0.2.99".parse().unwrap();
            assert!(matches!(
                authenticate_from(db, &name, "yves's password", Some(new_address)).await,
                Err(Error::TooManyRequests(_))
            ));
            authenticate_from(db, &name, "yves's password", Some(owner))
                .await
                .unwrap();

            set_state(db, "ann", UserState::Disabled).await.unwrap();
            let disabled = authenticate(db, "ann", "second password").await;
            assert!(matches!(disabled, Err(Error::Forbidden(_))));
            assert_eq!(
                list(db).await.unwrap().len(),
                3,
                "ann and the two throttled ones"
            );
        })
        .await;
    }
}
