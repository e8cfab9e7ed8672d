//! Sessions: a random token handed to a browser (cookie) or an API client (bearer token).
//! Only its SHA-256 is stored, so a copy of the database signs no one in.

use crate::{
    accounts::users::{self, UserWithActor},
    error::{Error, Result},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{Duration, Utc};
use kindred_entities::{
    session::{self, SessionKind},
    user::UserState,
};
use rand::RngCore;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder,
};
use sha2::{Digest, Sha256};

/// How long a browser stays signed in.
pub const WEB_SESSION_DAYS: i64 = 30;
/// How long an API token lives unless revoked first.
pub const API_TOKEN_DAYS: i64 = 365;
/// `last_used_at` is written at most this often, so reading pages does not mean writing rows.
const LAST_USED_GRANULARITY_MINUTES: i64 = 10;

/// A session that was just created: the token (shown once, never stored) and its row.
pub struct NewSession {
    pub token: String,
    pub session: session::Model,
}

/// A signed-in request: the session, the account and its actor.
#[derive(Clone, Debug)]
pub struct SignedIn {
    pub session: session::Model,
    pub account: UserWithActor,
}

/// Starts a session of `kind` for an account.
pub async fn create_session(
    database: &impl ConnectionTrait,
    user_id: i64,
    kind: SessionKind,
    label: Option<&str>,
) -> Result<NewSession> {
    let token = random_token(32);
    let now = Utc::now();
    let lifetime = match kind {
        SessionKind::Web => Duration::days(WEB_SESSION_DAYS),
        SessionKind::Api => Duration::days(API_TOKEN_DAYS),
    };
    let session = session::ActiveModel {
        user_id: Set(user_id),
        token_hash: Set(token_hash(&token)),
        kind: Set(kind),
        label: Set(label.map(str::to_string)),
        csrf_token: Set(random_token(24)),
        created_at: Set(now),
        last_used_at: Set(now),
        expires_at: Set(now + lifetime),
        ..Default::default()
    }
    .insert(database)
    .await?;
    Ok(NewSession { token, session })
}

/// The live session of `kind` that `token` opens, with its account; `None` when the token is
/// unknown, expired, of the other kind, or its account is no longer active.
pub async fn find_session(
    database: &impl ConnectionTrait,
    token: &str,
    kind: SessionKind,
) -> Result<Option<SignedIn>> {
    if token.is_empty() || token.len() > 128 {
        return Ok(None);
    }
    let Some(session) = crate::database::unique_row(
        session::Entity::find()
            .filter(session::Column::TokenHash.eq(token_hash(token)))
            .filter(session::Column::Kind.eq(kind)),
        database,
    )
    .await?
    else {
        return Ok(None);
    };
    let now = Utc::now();
    if session.expires_at <= now {
        session::Entity::delete_by_id(session.id)
            .exec(database)
            .await?;
        return Ok(None);
    }
    let Some(account) = crate::database::unique_row(
        kindred_entities::user::Entity::find_by_id(session.user_id),
        database,
    )
    .await?
    else {
        return Ok(None);
    };
    if account.state != UserState::Active {
        return Ok(None);
    }
    let account = users::with_actor(database, account).await?;
    let session = if now - session.last_used_at > Duration::minutes(LAST_USED_GRANULARITY_MINUTES) {
        let mut update: session::ActiveModel = session.into();
        update.last_used_at = Set(now);
        update.update(database).await?
    } else {
        session
    };
    Ok(Some(SignedIn { session, account }))
}

/// Revokes one of the account's own API tokens by its id; another account's token, or a web
/// session, is simply not found.
pub async fn revoke_api_token(
    database: &impl ConnectionTrait,
    user_id: i64,
    token_id: i64,
) -> Result<()> {
    let owned = list_for_user(database, user_id, SessionKind::Api)
        .await?
        .iter()
        .any(|session| session.id == token_id);
    if !owned {
        return Err(crate::error::Error::not_found("token"));
    }
    revoke(database, user_id, token_id).await
}

/// Ends one session of an account (sign out, or revoking an API token).
pub async fn revoke(database: &impl ConnectionTrait, user_id: i64, session_id: i64) -> Result<()> {
    let result = session::Entity::delete_many()
        .filter(session::Column::Id.eq(session_id))
        .filter(session::Column::UserId.eq(user_id))
        .exec(database)
        .await?;
    if result.rows_affected == 0 {
        return Err(Error::not_found("session"));
    }
    Ok(())
}

/// Ends every session of an account except `keep` (the one changing the password).
pub async fn revoke_all_for_user(
    database: &impl ConnectionTrait,
    user_id: i64,
    keep: Option<i64>,
) -> Result<()> {
    let mut delete = session::Entity::delete_many().filter(session::Column::UserId.eq(user_id));
    if let Some(keep) = keep {
        delete = delete.filter(session::Column::Id.ne(keep));
    }
    delete.exec(database).await?;
    Ok(())
}

/// An account's live sessions of `kind`, newest first.
pub async fn list_for_user(
    database: &impl ConnectionTrait,
    user_id: i64,
    kind: SessionKind,
) -> Result<Vec<session::Model>> {
    Ok(session::Entity::find()
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::Kind.eq(kind))
        .filter(session::Column::ExpiresAt.gt(Utc::now()))
        .order_by_desc(session::Column::Id)
        .all(database)
        .await?)
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn secrets_equal(left: &str, right: &str) -> bool {
    let (left, right) = (left.as_bytes(), right.as_bytes());
    left.len() == right.len()
        && left
            .iter()
            .zip(right)
            .fold(0u8, |difference, (a, b)| difference | (a ^ b))
            == 0
}

/// `bytes` random bytes from the operating system's generator, base64url without padding.
pub fn random_token(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buffer);
    URL_SAFE_NO_PAD.encode(buffer)
}

fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::{accounts::users::NewUser, testing};

    #[tokio::test]
    async fn a_token_opens_its_own_session_only_while_the_account_is_active() {
        testing::for_each_database(async |database| {
            let config = testing::test_config("https://kindred.example").unwrap();
            let keys = testing::test_key_source();
            let db = &database.connection;
            let ann = users::create_user(
                db,
                &config,
                &keys,
                NewUser {
                    name: "ann",
                    password: "long enough",
                    email: None,
                    application_text: None,
                },
                UserState::Active,
                false,
            )
            .await
            .unwrap();
            let web = create_session(db, ann.user.id, SessionKind::Web, None)
                .await
                .unwrap();
            let api = create_session(db, ann.user.id, SessionKind::Api, Some("phone"))
                .await
                .unwrap();
            assert_ne!(web.token, api.token);
            assert_ne!(web.session.token_hash, web.token, "only the hash is stored");

            let found = find_session(db, &web.token, SessionKind::Web)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(found.account.user.name, "ann");
            assert_eq!(found.account.actor.id, ann.actor.id);
            // A cookie is not a bearer token, and the other way round.
            assert!(
                find_session(db, &web.token, SessionKind::Api)
                    .await
                    .unwrap()
                    .is_none()
            );
            assert!(
                find_session(db, "forged", SessionKind::Web)
                    .await
                    .unwrap()
                    .is_none()
            );
            assert_eq!(
                list_for_user(db, ann.user.id, SessionKind::Api)
                    .await
                    .unwrap()
                    .len(),
                1
            );

            revoke(db, ann.user.id, api.session.id).await.unwrap();
            assert!(
                find_session(db, &api.token, SessionKind::Api)
                    .await
                    .unwrap()
                    .is_none()
            );
            users::set_state(db, "ann", UserState::Disabled)
                .await
                .unwrap();
            assert!(
                find_session(db, &web.token, SessionKind::Web)
                    .await
                    .unwrap()
                    .is_none()
            );
        })
        .await;
    }

    #[test]
    fn secrets_compare_by_value() {
        assert!(secrets_equal("abc", "abc"));
        assert!(!secrets_equal("abc", "abd"));
        assert!(!secrets_equal("abc", "abcd"));
    }
}
