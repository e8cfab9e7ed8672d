//! RSA keys for HTTP signatures, parsed with ring (several times faster than the pure-Rust
//! `rsa` crate the federation crate uses), and caches of parsed keys: parsing a key costs more
//! than a signature.

use crate::error::{Error, Result};
use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use ring::{
    rand::SystemRandom,
    signature::{RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair, RsaPublicKeyComponents},
};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

/// A parsed private key, ready to sign.
pub struct SigningKey {
    key_pair: RsaKeyPair,
    random: SystemRandom,
}

impl SigningKey {
    /// Reads a PKCS#8 PEM private key (`-----BEGIN PRIVATE KEY-----`), as Kindred stores them.
    pub fn from_pkcs8_pem(pem: &str) -> Result<SigningKey> {
        let der = pem_body(pem, "PRIVATE KEY")?;
        let key_pair = RsaKeyPair::from_pkcs8(&der)
            .map_err(|error| Error::internal(format!("unusable private key: {error}")))?;
        Ok(SigningKey {
            key_pair,
            random: SystemRandom::new(),
        })
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256 over `message`.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        let mut signature = vec![0; self.key_pair.public().modulus_len()];
        self.key_pair
            .sign(&RSA_PKCS1_SHA256, &self.random, message, &mut signature)
            .map_err(|_| Error::internal("signing failed"))?;
        Ok(signature)
    }
}

/// A parsed public key, ready to verify.
pub struct VerifyingKey {
    modulus: Vec<u8>,
    exponent: Vec<u8>,
}

impl VerifyingKey {
    /// Reads an RSA public key as actors publish them: SubjectPublicKeyInfo PEM
    /// (`-----BEGIN PUBLIC KEY-----`), or PKCS#1 (`-----BEGIN RSA PUBLIC KEY-----`), which a
    /// few servers publish.
    pub fn from_public_key_pem(pem: &str) -> Result<VerifyingKey> {
        let unreadable = || Error::bad_request("unreadable public key");
        let pkcs1 = if pem.contains("-----BEGIN RSA PUBLIC KEY-----") {
            pem_body(pem, "RSA PUBLIC KEY").map_err(|_| unreadable())?
        } else {
            let spki = pem_body(pem, "PUBLIC KEY").map_err(|_| unreadable())?;
            rsa_public_key_of_spki(&spki).ok_or_else(unreadable)?
        };
        let (modulus, exponent) = rsa_public_key_components(&pkcs1).ok_or_else(unreadable)?;
        Ok(VerifyingKey { modulus, exponent })
    }

    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        RsaPublicKeyComponents {
            n: &self.modulus,
            e: &self.exponent,
        }
        .verify(&RSA_PKCS1_2048_8192_SHA256, message, signature)
        .is_ok()
    }
}

/// The object identifier of `rsaEncryption` (1.2.840.113549.1.1.1), DER-encoded.
const RSA_ENCRYPTION_OID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

/// One DER element at the start of `input`: its tag, its contents and what follows it.
fn der_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (length, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let octets = usize::from(first & 0x7f);
        if octets == 0 || octets > 4 || rest.len() < octets {
            return None;
        }
        let length = rest[..octets]
            .iter()
            .fold(0usize, |length, byte| (length << 8) | usize::from(*byte));
        (length, &rest[octets..])
    };
    (rest.len() >= length).then(|| (tag, &rest[..length], &rest[length..]))
}

/// The PKCS#1 `RSAPublicKey` inside a SubjectPublicKeyInfo, when its algorithm is RSA.
fn rsa_public_key_of_spki(spki: &[u8]) -> Option<Vec<u8>> {
    let (0x30, info, _) = der_element(spki)? else {
        return None;
    };
    let (0x30, algorithm, rest) = der_element(info)? else {
        return None;
    };
    let (0x06, oid, _) = der_element(algorithm)? else {
        return None;
    };
    if oid != RSA_ENCRYPTION_OID {
        return None;
    }
    let (0x03, bits, _) = der_element(rest)? else {
        return None;
    };
    // A BIT STRING's first octet counts the unused bits: a key has none.
    let (0, key) = bits.split_first()? else {
        return None;
    };
    Some(key.to_vec())
}

/// The modulus and public exponent of a PKCS#1 `RSAPublicKey`, big-endian without leading
/// zeros.
fn rsa_public_key_components(pkcs1: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let (0x30, sequence, _) = der_element(pkcs1)? else {
        return None;
    };
    let (0x02, modulus, rest) = der_element(sequence)? else {
        return None;
    };
    let (0x02, exponent, _) = der_element(rest)? else {
        return None;
    };
    let without_leading_zeros = |integer: &[u8]| {
        let start = integer
            .iter()
            .position(|byte| *byte != 0)
            .unwrap_or(integer.len());
        integer[start..].to_vec()
    };
    let (modulus, exponent) = (
        without_leading_zeros(modulus),
        without_leading_zeros(exponent),
    );
    (!modulus.is_empty() && !exponent.is_empty()).then_some((modulus, exponent))
}

/// Parsed public keys of remote actors, by their PEM text: parsing a key costs more than
/// verifying a signature with it. A changed key is a different text, so nothing goes stale.
#[derive(Default)]
pub struct VerifyingKeyCache {
    keys: Mutex<HashMap<String, Arc<VerifyingKey>>>,
}

/// Beyond this many keys the cache starts over (a busy instance talks to a few thousand
/// actors; an attacker cannot grow it, since only stored actors' keys are parsed).
const MOST_CACHED_VERIFYING_KEYS: usize = 20_000;

impl VerifyingKeyCache {
    pub fn get_or_parse(&self, public_key_pem: &str) -> Result<Arc<VerifyingKey>> {
        if let Some(key) = lock(&self.keys).get(public_key_pem) {
            return Ok(key.clone());
        }
        let key = Arc::new(VerifyingKey::from_public_key_pem(public_key_pem)?);
        let mut keys = lock(&self.keys);
        if keys.len() >= MOST_CACHED_VERIFYING_KEYS {
            keys.clear();
        }
        keys.insert(public_key_pem.to_string(), key.clone());
        Ok(key)
    }
}

/// A poisoned lock is still usable: inserts are atomic, a panic elsewhere cannot leave a map
/// half-changed.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Parsed signing keys by local actor id: parsing a key costs more than a signature.
#[derive(Default)]
pub struct SigningKeyCache {
    keys: Mutex<HashMap<i64, Arc<SigningKey>>>,
}

impl SigningKeyCache {
    pub fn get_or_parse(&self, actor_id: i64, private_key_pem: &str) -> Result<Arc<SigningKey>> {
        if let Some(key) = self.lock().get(&actor_id) {
            return Ok(key.clone());
        }
        let key = Arc::new(SigningKey::from_pkcs8_pem(private_key_pem)?);
        self.lock().insert(actor_id, key.clone());
        Ok(key)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Arc<SigningKey>>> {
        lock(&self.keys)
    }
}

/// The DER bytes inside a PEM block labelled `label`.
fn pem_body(pem: &str, label: &str) -> Result<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem
        .find(&begin)
        .ok_or_else(|| Error::internal(format!("no {label} in PEM")))?
        + begin.len();
    let stop = pem[start..]
        .find(&end)
        .ok_or_else(|| Error::internal(format!("unterminated {label} PEM")))?
        + start;
    let base64_text: String = pem[start..stop]
        .chars()
        .filter(|character| !character.is_whitespace())
        .collect();
    BASE64
        .decode(base64_text)
        .map_err(|error| Error::internal(format!("bad PEM: {error}")))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::testing::test_keypairs;

    #[test]
    fn public_keys_parse_as_the_rsa_crate_parses_them_and_garbage_does_not() {
        use rsa::{pkcs1::EncodeRsaPublicKey, pkcs8::DecodePublicKey, traits::PublicKeyParts};
        for pair in test_keypairs() {
            let ours = VerifyingKey::from_public_key_pem(&pair.public_key).unwrap();
            let reference = rsa::RsaPublicKey::from_public_key_pem(&pair.public_key).unwrap();
            assert_eq!(ours.modulus, reference.n().to_bytes_be());
            assert_eq!(ours.exponent, reference.e().to_bytes_be());
            let pkcs1 = reference.to_pkcs1_pem(rsa::pkcs1::LineEnding::LF).unwrap();
            let from_pkcs1 = VerifyingKey::from_public_key_pem(&pkcs1).unwrap();
            assert_eq!(from_pkcs1.modulus, ours.modulus);
        }
        for garbage in [
            "",
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
            "-----BEGIN PUBLIC KEY-----\nMAA=\n-----END PUBLIC KEY-----",
            // An Ed25519 key: not RSA.
            "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----",
        ] {
            assert!(
                VerifyingKey::from_public_key_pem(garbage).is_err(),
                "{garbage}"
            );
        }
    }
}
