//! RSA key pairs for local actors: generated with aws-lc-rs (constant-time, unlike the pure-Rust
//! `rsa` crate, RUSTSEC-2023-0071) off the async runtime in production, drawn from a fixed set
//! of pre-generated keys in tests (generation takes up to a second per key).

pub mod keys;

use crate::error::{Error, Result};
use activitypub_federation::http_signatures::Keypair;
use aws_lc_rs::{
    encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der},
    rsa::{KeyPair, KeySize},
    signature::KeyPair as _,
};
use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

/// Where new actors get their key pairs from.
#[derive(Clone)]
pub enum KeypairSource {
    /// A fresh RSA-2048 key pair per actor.
    Generate,
    /// Hand out these pairs in turn. For tests only: keys are shared between test runs.
    Pregenerated(Arc<PregeneratedKeys>),
}

pub struct PregeneratedKeys {
    keypairs: Vec<Keypair>,
    next: AtomicUsize,
}

impl KeypairSource {
    pub fn pregenerated(keypairs: Vec<Keypair>) -> Self {
        KeypairSource::Pregenerated(Arc::new(PregeneratedKeys {
            keypairs,
            next: AtomicUsize::new(0),
        }))
    }

    /// A key pair for a new local actor.
    pub async fn new_keypair(&self) -> Result<Keypair> {
        match self {
            KeypairSource::Generate => tokio::task::spawn_blocking(generate_keypair)
                .await
                .map_err(Error::internal)?,
            KeypairSource::Pregenerated(keys) => {
                if keys.keypairs.is_empty() {
                    return Err(Error::internal("no pre-generated key pairs"));
                }
                let index = keys.next.fetch_add(1, Ordering::Relaxed) % keys.keypairs.len();
                Ok(keys.keypairs[index].clone())
            }
        }
    }
}

/// A fresh RSA-2048 key pair as PEM: the private key as PKCS#8 (`PRIVATE KEY`), the public key
/// as SubjectPublicKeyInfo (`PUBLIC KEY`), as actors publish it.
pub fn generate_keypair() -> Result<Keypair> {
    let key_pair = KeyPair::generate(KeySize::Rsa2048)
        .map_err(|_| Error::internal("RSA key generation failed"))?;
    let private_key = AsDer::<Pkcs8V1Der>::as_der(&key_pair)
        .map_err(|_| Error::internal("cannot encode the private key"))?;
    let public_key = AsDer::<PublicKeyX509Der>::as_der(key_pair.public_key())
        .map_err(|_| Error::internal("cannot encode the public key"))?;
    Ok(Keypair {
        private_key: pem("PRIVATE KEY", private_key.as_ref()),
        public_key: pem("PUBLIC KEY", public_key.as_ref()),
    })
}

/// `der` in a PEM block labelled `label`, 64 characters a line.
fn pem(label: &str, der: &[u8]) -> String {
    let encoded = BASE64.encode(der);
    let mut text = format!("-----BEGIN {label}-----\n");
    for line in encoded.as_bytes().chunks(64) {
        text.push_str(&String::from_utf8_lossy(line));
        text.push('\n');
    }
    text.push_str(&format!("-----END {label}-----\n"));
    text
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::federation::signatures::{SigningKey, VerifyingKey};

    #[test]
    fn generated_keys_sign_with_ring_and_verify() {
        let keypair = generate_keypair().unwrap();
        assert!(
            keypair
                .private_key
                .starts_with("-----BEGIN PRIVATE KEY-----\n")
        );
        assert!(
            keypair
                .public_key
                .starts_with("-----BEGIN PUBLIC KEY-----\n")
        );
        let signature = SigningKey::from_pkcs8_pem(&keypair.private_key)
            .unwrap()
            .sign(b"a message")
            .unwrap();
        assert_eq!(signature.len(), 256, "RSA-2048");
        let verifier = VerifyingKey::from_public_key_pem(&keypair.public_key).unwrap();
        assert!(verifier.verify(b"a message", &signature));
        assert!(!verifier.verify(b"another message", &signature));
        // The federation crate signs fetches with the `rsa` crate: it must read the key too.
        use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
        assert!(rsa::RsaPrivateKey::from_pkcs8_pem(&keypair.private_key).is_ok());
        assert!(rsa::RsaPublicKey::from_public_key_pem(&keypair.public_key).is_ok());
    }
}
