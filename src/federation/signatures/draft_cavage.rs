//! Draft-cavage HTTP signatures (what every fediverse server sends today), one of the two
//! schemes in `signatures/`: signing of outgoing deliveries as Mastodon signs them,
//! `rsa-sha256` over `(request-target) host date digest content-type` with `Digest: SHA-256=…`
//! of the body, and verification of inbound requests in the forms servers send.

use super::{
    ACTIVITY_CONTENT_TYPE, SigningKey, VerifyingKey, check_signing_time, host_header,
    path_and_query, same_host,
};
use crate::error::{Error, Result};
use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use sha2::{Digest, Sha256};
use std::{
    collections::HashMap,
    time::{Duration, SystemTime},
};
use url::Url;

/// The headers a delivery is signed over, in order.
const SIGNED_HEADERS: &str = "(request-target) host date digest content-type";

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

/// Checks the `Digest` header of an inbound request against its body: it must name at least
/// one SHA-256 digest, and every SHA-256 digest it names must match.
pub fn verify_digest(headers: &http::HeaderMap, body: &[u8]) -> Result<()> {
    let refuse = || Err(Error::Unauthorized("digest does not match the body".into()));
    let Some(header) = headers.get("digest").and_then(|value| value.to_str().ok()) else {
        return Err(Error::Unauthorized(
            "the request has no Digest header".into(),
        ));
    };
    let expected = BASE64.encode(Sha256::digest(body));
    let mut matched = false;
    for part in header.split(',') {
        let Some((algorithm, value)) = part.trim().split_once('=') else {
            continue;
        };
        if algorithm.eq_ignore_ascii_case("SHA-256") {
            if value.trim() != expected {
                return refuse();
            }
            matched = true;
        }
    }
    if matched { Ok(()) } else { refuse() }
}

/// Verifies the draft-cavage signature of an inbound request with the sender's key: the checks
/// of [`DraftCavageSignature::parse`], then the signature itself.
pub fn verify_request_signature(
    key: &VerifyingKey,
    method: &str,
    path_and_query: &str,
    headers: &http::HeaderMap,
    local_host: &str,
    now: SystemTime,
) -> Result<()> {
    DraftCavageSignature::parse(method, path_and_query, headers, local_host, now)?.verify(key)
}

/// The draft-cavage signature of an inbound request, read and checked as far as it can be
/// without the sender's key. The inbox parses it before it looks up or fetches anyone, so a
/// request that could never verify costs nothing; then [`DraftCavageSignature::verify`] checks
/// it with the key.
pub struct DraftCavageSignature {
    parameters: HashMap<String, String>,
    signing_string: String,
}

impl DraftCavageSignature {
    /// Takes what Mastodon, Lemmy, Pleroma, Misskey, GoToSocial and the federation crate send:
    /// `rsa-sha256` or `hs2019` (or no algorithm), the `(request-target)`, `(created)` and
    /// `(expires)` pseudo-headers, and a missing `Host` (some proxies drop it) taken as
    /// `local_host`. A POST must sign `(request-target)`, `host`, `digest`, and `date` or
    /// `(created)`, as Mastodon requires: a signature that covers no time never expires, and
    /// one that covers neither the target nor the host could be replayed elsewhere. A signed
    /// `Host` must be this instance's. A request dated more than [`super::SIGNATURE_LIFETIME`]
    /// before `now`, or as far after it, is refused.
    pub fn parse(
        method: &str,
        path_and_query: &str,
        headers: &http::HeaderMap,
        local_host: &str,
        now: SystemTime,
    ) -> Result<DraftCavageSignature> {
        let refuse = |why: &str| Err(Error::Unauthorized(why.to_string()));
        let parameters = signature_header_parameters(headers)?;
        match parameters.get("algorithm").map(String::as_str) {
            None | Some("hs2019" | "rsa-sha256") => {}
            Some(_) => return refuse("unsupported signature algorithm"),
        }
        if parameters.get("keyId").is_none_or(String::is_empty) {
            return refuse("the signature names no keyId");
        }
        if parameters.get("signature").is_none_or(String::is_empty) {
            return refuse("unreadable signature");
        }
        let names: Vec<String> = parameters
            .get("headers")
            .map(String::as_str)
            .unwrap_or("(created)")
            .split_whitespace()
            .map(str::to_ascii_lowercase)
            .collect();
        let signs = |name: &str| names.iter().any(|signed| signed == name);
        if method.eq_ignore_ascii_case("POST") {
            if !signs("digest") {
                return refuse("the Digest header is not signed");
            }
            if !signs("(request-target)") {
                return refuse("the signature does not cover (request-target)");
            }
            if !signs("host") {
                return refuse("the signature does not cover the Host header");
            }
            if !signs("date") && !signs("(created)") {
                return refuse("the signature covers neither Date nor (created)");
            }
        }
        let timestamp = |name: &str| -> Result<Option<SystemTime>> {
            let Some(text) = parameters.get(name) else {
                return Ok(None);
            };
            text.parse::<u64>()
                .ok()
                .and_then(|seconds| {
                    SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(seconds))
                })
                .map(Some)
                .ok_or_else(|| Error::Unauthorized(format!("unreadable `{name}` parameter")))
        };
        let date = headers
            .get("date")
            .and_then(|value| value.to_str().ok())
            .and_then(|text| httpdate::parse_http_date(text).ok());
        if signs("date") && date.is_none() {
            return refuse("the signed Date header is missing or unreadable");
        }
        if timestamp("expires")?.is_some_and(|expires| expires < now) {
            return refuse("the signature has expired");
        }
        for signed_at in [timestamp("created")?, date].into_iter().flatten() {
            check_signing_time(signed_at, now)?;
        }
        let mut lines = Vec::with_capacity(names.len());
        for name in &names {
            let value = match name.as_str() {
                "(request-target)" => {
                    format!("{} {path_and_query}", method.to_ascii_lowercase())
                }
                "(created)" | "(expires)" => match parameters.get(name.trim_matches(['(', ')'])) {
                    Some(value) => value.clone(),
                    None => return refuse("a signed header is missing"),
                },
                _ => {
                    let values: Vec<&str> = headers
                        .get_all(name.as_str())
                        .iter()
                        .filter_map(|value| value.to_str().ok())
                        .collect();
                    if name == "host" {
                        match values.as_slice() {
                            [] => local_host.to_string(),
                            [host] if same_host(host, local_host) => host.to_string(),
                            _ => return refuse("the request was signed for another host"),
                        }
                    } else if !values.is_empty() {
                        values.join(", ")
                    } else {
                        return refuse("a signed header is missing");
                    }
                }
            };
            lines.push(format!("{name}: {value}"));
        }
        Ok(DraftCavageSignature {
            parameters,
            signing_string: lines.join("\n"),
        })
    }

    /// The `keyId` parameter: the sender's key, usually `<actor>#main-key`.
    pub fn key_id(&self) -> &str {
        self.parameters
            .get("keyId")
            .map(String::as_str)
            .unwrap_or_default()
    }

    /// Checks the signature with the sender's key.
    pub fn verify(&self, key: &VerifyingKey) -> Result<()> {
        let Some(signature) = self
            .parameters
            .get("signature")
            .and_then(|encoded| BASE64.decode(encoded).ok())
        else {
            return Err(Error::Unauthorized("unreadable signature".into()));
        };
        if key.verify(self.signing_string.as_bytes(), &signature) {
            Ok(())
        } else {
            Err(Error::Unauthorized("signature does not verify".into()))
        }
    }
}

/// The parameters of the request's `Signature` header.
fn signature_header_parameters(headers: &http::HeaderMap) -> Result<HashMap<String, String>> {
    headers
        .get("signature")
        .and_then(|value| value.to_str().ok())
        .map(signature_parameters)
        .ok_or_else(|| Error::Unauthorized("the request has no HTTP signature".into()))
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
        let verify = |key: &VerifyingKey, path: &str, body: &[u8]| {
            verify_digest(&headers, body)?;
            verify_request_signature(
                key,
                "POST",
                path,
                &headers,
                "b.example:8443",
                SystemTime::now(),
            )
        };
        assert!(verify(&verifier, "/inbox?x=1", body).is_ok());
        assert!(verify(&other, "/inbox?x=1", body).is_err());
        assert!(verify(&verifier, "/inbox", body).is_err());
        assert!(verify(&verifier, "/inbox?x=1", b"{}").is_err());
    }

    /// Signs `names` of `headers` (plus pseudo-headers) as a peer would, and returns the headers
    /// with the `Signature` header added.
    fn signed_by_hand(
        key: &SigningKey,
        names: &str,
        extra_parameters: &str,
        pseudo: &[(&str, &str)],
        mut headers: http::HeaderMap,
    ) -> http::HeaderMap {
        let lines: Vec<String> = names
            .split(' ')
            .map(|name| {
                let value = pseudo
                    .iter()
                    .find(|(pseudo_name, _)| *pseudo_name == name)
                    .map(|(_, value)| value.to_string())
                    .unwrap_or_else(|| headers[name].to_str().unwrap().to_string());
                format!("{name}: {value}")
            })
            .collect();
        let signature = BASE64.encode(key.sign(lines.join("\n").as_bytes()).unwrap());
        let header = format!(
            "keyId=\"https://a.example/users/a#main-key\",{extra_parameters}headers=\"{names}\",signature=\"{signature}\""
        );
        headers.insert("signature", header.parse().unwrap());
        headers
    }

    fn plain_headers(body: &[u8], date: SystemTime) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        headers.insert("host", "b.example".parse().unwrap());
        headers.insert("date", httpdate::fmt_http_date(date).parse().unwrap());
        headers.insert(
            "digest",
            format!("SHA-256={}", BASE64.encode(Sha256::digest(body)))
                .parse()
                .unwrap(),
        );
        headers.insert("content-type", ACTIVITY_CONTENT_TYPE.parse().unwrap());
        headers
    }

    #[test]
    fn inbound_signatures_in_the_forms_servers_send_verify() {
        let keys = test_keypairs();
        let signer = SigningKey::from_pkcs8_pem(&keys[3].private_key).unwrap();
        let verifier = VerifyingKey::from_public_key_pem(&keys[3].public_key).unwrap();
        let now = SystemTime::now();
        let body = br#"{"type":"Create"}"#;
        let verify = |headers: &http::HeaderMap, path: &str, at: SystemTime| {
            verify_request_signature(&verifier, "POST", path, headers, "b.example", at)
        };

        // Kindred's own signer (Mastodon's form).
        let inbox = Url::parse("https://b.example/inbox").unwrap();
        let ours = sign_post(
            &signer,
            "https://a.example/users/a#main-key",
            &inbox,
            body,
            now,
        )
        .unwrap()
        .into_headers()
        .unwrap();
        assert!(verify(&ours, "/inbox", now).is_ok());
        assert!(verify_digest(&ours, body).is_ok());

        // hs2019 with (created) and (expires), as GoToSocial and newer servers sign.
        let created = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            - 5;
        let expires = created + 300;
        let (created_text, expires_text) = (created.to_string(), expires.to_string());
        let hs2019 = signed_by_hand(
            &signer,
            "(request-target) (created) (expires) host digest",
            &format!("algorithm=\"hs2019\",created=\"{created}\",expires=\"{expires}\","),
            &[
                ("(request-target)", "post /groups/g/inbox"),
                ("(created)", &created_text),
                ("(expires)", &expires_text),
            ],
            plain_headers(body, now),
        );
        assert!(verify(&hs2019, "/groups/g/inbox", now).is_ok());
        assert!(verify(&hs2019, "/inbox", now).is_err(), "another path");
        let later = now + Duration::from_secs(600);
        assert!(
            verify(&hs2019, "/groups/g/inbox", later).is_err(),
            "expired"
        );

        // A proxy dropped Host: it is taken as this instance's.
        let mut without_host = signed_by_hand(
            &signer,
            "(request-target) host date digest",
            "algorithm=\"rsa-sha256\",",
            &[("(request-target)", "post /inbox")],
            plain_headers(body, now),
        );
        without_host.remove("host");
        assert!(verify(&without_host, "/inbox", now).is_ok());
    }

    #[test]
    fn inbound_signatures_that_must_be_refused_are() {
        let keys = test_keypairs();
        let signer = SigningKey::from_pkcs8_pem(&keys[4].private_key).unwrap();
        let verifier = VerifyingKey::from_public_key_pem(&keys[4].public_key).unwrap();
        let now = SystemTime::now();
        let body = br#"{"type":"Create"}"#;
        let sign = |names: &str, parameters: &str, date: SystemTime| {
            signed_by_hand(
                &signer,
                names,
                parameters,
                &[("(request-target)", "post /inbox")],
                plain_headers(body, date),
            )
        };
        let refused = |headers: &http::HeaderMap| -> String {
            verify_request_signature(&verifier, "POST", "/inbox", headers, "b.example", now)
                .unwrap_err()
                .to_string()
        };
        let good = sign("(request-target) host date digest", "", now);
        assert!(
            verify_request_signature(&verifier, "POST", "/inbox", &good, "b.example", now).is_ok()
        );
        assert!(refused(&sign("(request-target) host date", "", now)).contains("Digest"));
        assert!(
            refused(&sign(
                "(request-target) host date digest",
                "",
                now - Duration::from_secs(7200)
            ))
            .contains("expired")
        );
        assert!(
            refused(&sign(
                "(request-target) host date digest",
                "",
                now + Duration::from_secs(7200)
            ))
            .contains("future")
        );
        assert!(
            refused(&sign(
                "(request-target) host date digest",
                "algorithm=\"ed25519\",",
                now
            ))
            .contains("algorithm")
        );
        // Absurd timestamps are refused, not overflowed.
        let absurd = signed_by_hand(
            &signer,
            "(request-target) (created) host digest",
            "created=\"18446744073709551615\",",
            &[
                ("(request-target)", "post /inbox"),
                ("(created)", "18446744073709551615"),
            ],
            plain_headers(body, now),
        );
        assert!(
            refused(&absurd).contains("created") || refused(&absurd).contains("future"),
            "{}",
            refused(&absurd)
        );
        let mut tampered = good.clone();
        tampered.insert(
            "date",
            httpdate::fmt_http_date(now - Duration::from_secs(1))
                .parse()
                .unwrap(),
        );
        assert!(refused(&tampered).contains("does not verify"));
        // Bound to the request: the target, the host and a time must be signed, and the
        // signed host must be this instance.
        assert!(refused(&sign("host date digest", "", now)).contains("(request-target)"));
        assert!(refused(&sign("(request-target) date digest", "", now)).contains("Host"));
        assert!(refused(&sign("(request-target) host digest", "", now)).contains("neither Date"));
        let mut elsewhere = good.clone();
        elsewhere.insert("host", "c.example".parse().unwrap());
        assert!(refused(&elsewhere).contains("another host"));
        let mut spelled_otherwise = good.clone();
        spelled_otherwise.insert("host", "B.Example.".parse().unwrap());
        assert!(refused(&spelled_otherwise).contains("does not verify"));
        let mut unsigned = good.clone();
        unsigned.remove("signature");
        assert!(refused(&unsigned).contains("no HTTP signature"));
    }

    #[test]
    fn digests_are_checked_against_the_body() {
        let body = b"hello";
        let digest = BASE64.encode(Sha256::digest(body));
        let with = |value: String| {
            let mut headers = http::HeaderMap::new();
            headers.insert("digest", value.parse().unwrap());
            verify_digest(&headers, body)
        };
        assert!(with(format!("SHA-256={digest}")).is_ok());
        assert!(with(format!("sha-256={digest}")).is_ok());
        assert!(with(format!("SHA-512=abc,SHA-256={digest}")).is_ok());
        assert!(with(format!("SHA-256={digest},SHA-256=AAAA")).is_err());
        assert!(with("SHA-256=AAAA".to_string()).is_err());
        assert!(with("MD5=AAAA".to_string()).is_err());
        assert!(verify_digest(&http::HeaderMap::new(), body).is_err());
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
