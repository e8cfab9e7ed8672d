//! Fast draft-cavage HTTP signatures for outgoing deliveries (ring's RSA, several times faster
//! than the pure-Rust `rsa` crate the federation crate signs with), and a verifier for the
//! same scheme. Signed as Mastodon signs: `rsa-sha256` over `(request-target) host date
//! digest content-type`, with `Digest: SHA-256=…` of the body.

use crate::error::{Error, Result};
use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use ring::{
    rand::SystemRandom,
    signature::{RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair, RsaPublicKeyComponents},
};
use rsa::{pkcs8::DecodePublicKey, traits::PublicKeyParts};
use sha2::{Digest, Sha256};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::SystemTime,
};
use url::Url;

/// The media type deliveries are posted with.
pub const ACTIVITY_CONTENT_TYPE: &str = "application/activity+json";

/// The headers a delivery is signed over, in order.
const SIGNED_HEADERS: &str = "(request-target) host date digest content-type";

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
    /// Reads an SPKI PEM public key (`-----BEGIN PUBLIC KEY-----`), as actors publish them.
    pub fn from_public_key_pem(pem: &str) -> Result<VerifyingKey> {
        let key = rsa::RsaPublicKey::from_public_key_pem(pem)
            .map_err(|_| Error::bad_request("unreadable public key"))?;
        Ok(VerifyingKey {
            modulus: key.n().to_bytes_be(),
            exponent: key.e().to_bytes_be(),
        })
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
        // A panic while holding the lock cannot leave the map inconsistent (inserts are
        // atomic), so a poisoned lock is still usable.
        self.keys
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The headers of a signed POST: `Host`, `Date`, `Digest`, `Content-Type` and `Signature`.
pub struct SignedPost {
    pub host: String,
    pub date: String,
    pub digest: String,
    pub signature: String,
}

impl SignedPost {
    /// The five headers to send with the body.
    pub fn into_headers(self) -> Result<http::HeaderMap> {
        let value = |text: String| {
            http::HeaderValue::try_from(text)
                .map_err(|_| Error::internal("a signed header is not a valid header value"))
        };
        let mut headers = http::HeaderMap::with_capacity(5);
        headers.insert(http::header::HOST, value(self.host)?);
        headers.insert(http::header::DATE, value(self.date)?);
        headers.insert("digest", value(self.digest)?);
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static(ACTIVITY_CONTENT_TYPE),
        );
        headers.insert("signature", value(self.signature)?);
        Ok(headers)
    }
}

/// Signs a POST of `body` to `inbox` as `key_id` (the actor's `…#main-key`).
pub fn sign_post(
    key: &SigningKey,
    key_id: &str,
    inbox: &Url,
    body: &[u8],
    now: SystemTime,
) -> Result<SignedPost> {
    let host = host_header(inbox)?;
    let date = httpdate::fmt_http_date(now);
    let digest = format!("SHA-256={}", BASE64.encode(Sha256::digest(body)));
    let signing_string = format!(
        "(request-target): post {}\nhost: {host}\ndate: {date}\ndigest: {digest}\ncontent-type: {ACTIVITY_CONTENT_TYPE}",
        path_and_query(inbox)
    );
    let signature = BASE64.encode(key.sign(signing_string.as_bytes())?);
    Ok(SignedPost {
        host,
        date,
        digest,
        signature: format!(
            "keyId=\"{key_id}\",algorithm=\"rsa-sha256\",headers=\"{SIGNED_HEADERS}\",signature=\"{signature}\""
        ),
    })
}

/// Verifies a draft-cavage signed POST: every signed header is rebuilt from `headers`, the
/// digest must match `body`, and `(request-target)`, `host`, `date` and `digest` must be signed.
pub fn verify_post(
    key: &VerifyingKey,
    path_and_query: &str,
    headers: &http::HeaderMap,
    body: &[u8],
) -> Result<()> {
    let refuse = |why: &str| Err(Error::Unauthorized(why.to_string()));
    let Some(signature_header) = headers
        .get("signature")
        .and_then(|value| value.to_str().ok())
    else {
        return refuse("no signature");
    };
    let parameters = signature_parameters(signature_header);
    let signed = parameters
        .get("headers")
        .map(String::as_str)
        .unwrap_or("date");
    let names: Vec<&str> = signed.split(' ').collect();
    for required in ["(request-target)", "host", "date", "digest"] {
        if !names.contains(&required) {
            return refuse("a required header is not signed");
        }
    }
    let expected_digest = format!("SHA-256={}", BASE64.encode(Sha256::digest(body)));
    if headers.get("digest").and_then(|value| value.to_str().ok()) != Some(&expected_digest) {
        return refuse("digest does not match the body");
    }
    let mut lines = Vec::with_capacity(names.len());
    for name in names {
        let value = if name == "(request-target)" {
            format!("post {path_and_query}")
        } else {
            match headers.get(name).and_then(|value| value.to_str().ok()) {
                Some(value) => value.to_string(),
                None => return refuse("a signed header is missing"),
            }
        };
        lines.push(format!("{name}: {value}"));
    }
    let Some(signature) = parameters
        .get("signature")
        .and_then(|encoded| BASE64.decode(encoded).ok())
    else {
        return refuse("unreadable signature");
    };
    if key.verify(lines.join("\n").as_bytes(), &signature) {
        Ok(())
    } else {
        refuse("signature does not verify")
    }
}

/// `keyId="…",algorithm="…",…` as a map.
pub fn signature_parameters(header: &str) -> HashMap<String, String> {
    header
        .split(',')
        .filter_map(|part| part.split_once('='))
        .map(|(name, value)| {
            (
                name.trim().to_string(),
                value.trim().trim_matches('"').to_string(),
            )
        })
        .collect()
}

fn host_header(url: &Url) -> Result<String> {
    let host = url
        .host_str()
        .ok_or_else(|| Error::bad_request(format!("{url} has no host")))?;
    Ok(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    })
}

fn path_and_query(url: &Url) -> String {
    match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_string(),
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
    fn a_fast_signature_verifies_and_a_tampered_one_does_not() {
        let keys = test_keypairs();
        let signer = SigningKey::from_pkcs8_pem(&keys[0].private_key).unwrap();
        let verifier = VerifyingKey::from_public_key_pem(&keys[0].public_key).unwrap();
        let other = VerifyingKey::from_public_key_pem(&keys[1].public_key).unwrap();
        let inbox = Url::parse("https://b.example:8443/inbox?x=1").unwrap();
        let body = br#"{"type":"Announce"}"#;
        let signed = sign_post(
            &signer,
            "https://a.example/groups/g#main-key",
            &inbox,
            body,
            SystemTime::now(),
        )
        .unwrap();
        assert_eq!(signed.host, "b.example:8443");
        assert!(signed.signature.contains("algorithm=\"rsa-sha256\""));
        let headers = signed.into_headers().unwrap();
        assert!(verify_post(&verifier, "/inbox?x=1", &headers, body).is_ok());
        assert!(verify_post(&other, "/inbox?x=1", &headers, body).is_err());
        assert!(verify_post(&verifier, "/inbox", &headers, body).is_err());
        assert!(verify_post(&verifier, "/inbox?x=1", &headers, b"{}").is_err());
    }

    #[test]
    fn the_fast_signature_is_byte_for_byte_the_rsa_crates() {
        // PKCS#1 v1.5 is deterministic: ring and the pure-Rust implementation the federation
        // crate uses must produce the very same bytes.
        use rsa::{Pkcs1v15Sign, RsaPrivateKey, pkcs8::DecodePrivateKey};
        let keys = test_keypairs();
        let message = b"(request-target): post /inbox\nhost: b.example";
        let fast = SigningKey::from_pkcs8_pem(&keys[2].private_key)
            .unwrap()
            .sign(message)
            .unwrap();
        let reference = RsaPrivateKey::from_pkcs8_pem(&keys[2].private_key)
            .unwrap()
            .sign(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(message))
            .unwrap();
        assert_eq!(fast, reference);
    }
}
