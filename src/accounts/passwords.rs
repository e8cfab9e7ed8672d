//! Password hashing with Argon2id (the OWASP recommendation), off the async runtime: one hash
//! takes tens of milliseconds of CPU on purpose.

use crate::error::{Error, Result};
use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{SaltString, rand_core::OsRng},
};

/// The shortest password accepted (NIST SP 800-63B asks for at least 8).
pub const MIN_PASSWORD_LENGTH: usize = 8;
/// The longest: enough for any passphrase, short enough that hashing stays cheap.
pub const MAX_PASSWORD_LENGTH: usize = 1000;

/// Refuses passwords that are too short or too long, with a reason to show.
pub fn check_password_rules(password: &str) -> Result<()> {
    let length = password.chars().count();
    if length < MIN_PASSWORD_LENGTH {
        return Err(Error::invalid(format!(
            "a password has at least {MIN_PASSWORD_LENGTH} characters"
        )));
    }
    if length > MAX_PASSWORD_LENGTH {
        return Err(Error::invalid(format!(
            "a password has at most {MAX_PASSWORD_LENGTH} characters"
        )));
    }
    Ok(())
}

/// At most this many hashes are computed at once, so a flood of sign-in attempts queues
/// instead of taking every core from the server.
static HASHING: std::sync::LazyLock<tokio::sync::Semaphore> = std::sync::LazyLock::new(|| {
    tokio::sync::Semaphore::new(
        std::thread::available_parallelism()
            .map(|cores| cores.get())
            .unwrap_or(2),
    )
});

/// The Argon2id hash of `password` with a fresh salt, in PHC string format.
pub async fn hash_password(password: &str) -> Result<String> {
    let _permit = HASHING.acquire().await.map_err(Error::internal)?;
    let password = password.to_string();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(Error::internal)
    })
    .await
    .map_err(Error::internal)?
}

/// True when `password` matches `stored_hash`. A malformed stored hash is an internal error.
pub async fn verify_password(password: &str, stored_hash: &str) -> Result<bool> {
    let _permit = HASHING.acquire().await.map_err(Error::internal)?;
    let password = password.to_string();
    let stored_hash = stored_hash.to_string();
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&stored_hash).map_err(Error::internal)?;
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .map_err(Error::internal)?
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_no_other() {
        let hash = hash_password("correct horse battery").await.unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(
            verify_password("correct horse battery", &hash)
                .await
                .unwrap()
        );
        assert!(
            !verify_password("correct horse battery!", &hash)
                .await
                .unwrap()
        );
        // Two hashes of one password differ by their salt.
        assert_ne!(hash, hash_password("correct horse battery").await.unwrap());
        assert!(verify_password("x", "not a hash").await.is_err());
    }

    #[test]
    fn password_rules() {
        assert!(check_password_rules("seven77").is_err());
        assert!(check_password_rules("eight888").is_ok());
        assert!(check_password_rules(&"x".repeat(MAX_PASSWORD_LENGTH + 1)).is_err());
    }
}
