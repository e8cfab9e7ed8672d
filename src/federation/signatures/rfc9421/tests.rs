//! Tests of `signatures/rfc9421.rs`: the signature base against RFC 9421's own example,
//! Kindred's signature and a Fedify-shaped one verifying, and every refusal (another host, a
//! component missing, a stale `created`, a wrong `Content-Digest`, …).

#![allow(clippy::unwrap_used)]

use super::super::{InboundSignature, SignatureScheme};
use super::*;
use crate::testing::test_keypairs;

fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Signs `components` (name and value, as a peer computes them) with `parameters` (the
/// `;created=…;keyid=…` after the list) by hand, and returns `headers` with
/// `Signature-Input` and `Signature` added under `label`.
fn signed_by_hand(
    key: &SigningKey,
    label: &str,
    components: &[(&str, &str)],
    parameters: &str,
    mut headers: http::HeaderMap,
) -> http::HeaderMap {
    let list = components
        .iter()
        .map(|(name, _)| format!("\"{name}\""))
        .collect::<Vec<_>>()
        .join(" ");
    let signature_parameters = format!("({list}){parameters}");
    let mut base = String::new();
    for (name, value) in components {
        base.push_str(&format!("\"{name}\": {value}\n"));
    }
    base.push_str(&format!("\"@signature-params\": {signature_parameters}"));
    let signature = BASE64.encode(key.sign(base.as_bytes()).unwrap());
    headers.insert(
        "signature-input",
        format!("{label}={signature_parameters}").parse().unwrap(),
    );
    headers.insert(
        "signature",
        format!("{label}=:{signature}:").parse().unwrap(),
    );
    headers
}

fn content_digest(body: &[u8]) -> String {
    format!("sha-256=:{}:", BASE64.encode(Sha256::digest(body)))
}

/// The headers a Fedify peer sends to `https://b.example/groups/g/inbox` (without its
/// signature): `Host`, `Date`, `Content-Type` and `Content-Digest`.
fn fedify_headers(body: &[u8], date: SystemTime) -> http::HeaderMap {
    let mut headers = http::HeaderMap::new();
    headers.insert("host", "b.example".parse().unwrap());
    headers.insert("date", httpdate::fmt_http_date(date).parse().unwrap());
    headers.insert("content-type", ACTIVITY_CONTENT_TYPE.parse().unwrap());
    headers.insert("content-digest", content_digest(body).parse().unwrap());
    headers
}

#[test]
fn the_signature_base_is_rfc_9421s_own_example() {
    // RFC 9421 §2.5: the request of its appendix B.2, covered as in §2.5.
    let body = br#"{"hello": "world"}"#;
    let mut headers = http::HeaderMap::new();
    headers.insert("host", "example.com".parse().unwrap());
    headers.insert("date", "Tue, 20 Apr 2021 02:07:55 GMT".parse().unwrap());
    headers.insert("content-type", "application/json".parse().unwrap());
    headers.insert("content-digest", "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:".parse().unwrap());
    headers.insert("content-length", "18".parse().unwrap());
    headers.insert(
        "signature-input",
        r#"sig1=("@method" "@authority" "@path" "content-digest" "content-length" "content-type");created=1618884473;keyid="test-key-rsa-pss""#
            .parse()
            .unwrap(),
    );
    headers.insert("signature", "sig1=:AAAA:".parse().unwrap());
    let created = SystemTime::UNIX_EPOCH + Duration::from_secs(1618884473);
    let parsed = Rfc9421Signature::parse(
        "POST",
        "/foo?param=Value&Pet=dog",
        &headers,
        &Url::parse("https://example.com").unwrap(),
        created,
    )
    .unwrap();
    assert_eq!(
        parsed.signature_base,
        "\"@method\": POST\n\
         \"@authority\": example.com\n\
         \"@path\": /foo\n\
         \"content-digest\": sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:\n\
         \"content-length\": 18\n\
         \"content-type\": application/json\n\
         \"@signature-params\": (\"@method\" \"@authority\" \"@path\" \"content-digest\" \"content-length\" \"content-type\");created=1618884473;keyid=\"test-key-rsa-pss\""
    );
    assert_eq!(parsed.key_id(), "test-key-rsa-pss");
    // Its sha-512 digest is of that body.
    assert!(verify_content_digest(&headers, body).is_ok());
    assert!(verify_content_digest(&headers, b"{}").is_err());
}

#[test]
fn kindreds_own_signature_verifies_and_binds_the_request() {
    let keys = test_keypairs();
    let signer = SigningKey::from_pkcs8_pem(&keys[5].private_key).unwrap();
    let verifier = VerifyingKey::from_public_key_pem(&keys[5].public_key).unwrap();
    let other = VerifyingKey::from_public_key_pem(&keys[6].public_key).unwrap();
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let body = br#"{"type":"Announce"}"#;
    let inbox = Url::parse("https://b.example:8443/inbox?x=1").unwrap();
    let key_id = "https://a.example/groups/g#main-key";
    let headers = sign_post_rfc9421(&signer, key_id, &inbox, body, now).unwrap();
    assert_eq!(headers["host"], "b.example:8443");
    assert_eq!(headers["content-digest"], content_digest(body).as_str());
    assert_eq!(
        headers["signature-input"],
        r#"sig1=("@method" "@target-uri" "@authority" "content-digest" "content-type");created=1800000000;keyid="https://a.example/groups/g#main-key";alg="rsa-v1_5-sha256""#
    );
    assert!(headers["signature"].to_str().unwrap().starts_with("sig1=:"));
    let origin = Url::parse("https://b.example:8443").unwrap();
    let parse =
        |path: &str, origin: &Url| InboundSignature::parse("POST", path, &headers, origin, now);
    let parsed = parse("/inbox?x=1", &origin).unwrap();
    assert_eq!(parsed.scheme(), SignatureScheme::Rfc9421);
    assert_eq!(parsed.key_id(), key_id);
    assert!(parsed.verify_digest(&headers, body).is_ok());
    assert!(parsed.verify(&verifier).is_ok());
    assert!(parsed.verify(&other).is_err());
    assert!(parsed.verify_digest(&headers, b"{}").is_err());
    // Another path, or the same host under another scheme, is another target.
    assert!(parse("/inbox", &origin).unwrap().verify(&verifier).is_err());
    let http_origin = Url::parse("http://b.example:8443").unwrap();
    assert!(
        parse("/inbox?x=1", &http_origin)
            .unwrap()
            .verify(&verifier)
            .is_err()
    );
}

#[test]
fn a_fedify_signature_verifies_and_draft_cavage_is_read_without_signature_input() {
    let keys = test_keypairs();
    let signer = SigningKey::from_pkcs8_pem(&keys[7].private_key).unwrap();
    let verifier = VerifyingKey::from_public_key_pem(&keys[7].public_key).unwrap();
    let now = SystemTime::now();
    let body = br#"{"type":"Follow"}"#;
    let origin = Url::parse("https://b.example").unwrap();
    let headers = fedify_headers(body, now);
    let date = headers["date"].to_str().unwrap().to_string();
    let digest = content_digest(body);
    // Fedify's order: its default components plus content-digest; alg, keyid, created.
    let fedify = signed_by_hand(
        &signer,
        "sig1",
        &[
            ("@method", "POST"),
            ("@target-uri", "https://b.example/groups/g/inbox"),
            ("@authority", "b.example"),
            ("host", "b.example"),
            ("date", &date),
            ("content-digest", &digest),
        ],
        &format!(
            ";alg=\"rsa-v1_5-sha256\";keyid=\"https://a.example/users/a#main-key\";created={}",
            unix_seconds(now)
        ),
        headers.clone(),
    );
    let parsed = InboundSignature::parse("POST", "/groups/g/inbox", &fedify, &origin, now).unwrap();
    assert_eq!(parsed.key_id(), "https://a.example/users/a#main-key");
    assert!(parsed.verify_digest(&fedify, body).is_ok());
    assert!(parsed.verify(&verifier).is_ok());

    // No alg (the key is RSA), @authority and @path instead of @target-uri, a second
    // label the first does not spoil.
    let minimal = signed_by_hand(
        &signer,
        "first",
        &[
            ("@method", "POST"),
            ("@authority", "b.example"),
            ("@path", "/groups/g/inbox"),
            ("content-digest", &digest),
        ],
        &format!(
            ";created={};keyid=\"https://a.example/users/a#main-key\"",
            unix_seconds(now)
        ),
        headers,
    );
    let parsed =
        InboundSignature::parse("POST", "/groups/g/inbox", &minimal, &origin, now).unwrap();
    assert!(parsed.verify(&verifier).is_ok());

    // Without Signature-Input the request is draft-cavage.
    let cavage = super::super::sign_post(
        &signer,
        "https://a.example/users/a#main-key",
        &Url::parse("https://b.example/groups/g/inbox").unwrap(),
        body,
        now,
    )
    .unwrap()
    .into_headers()
    .unwrap();
    let parsed = InboundSignature::parse("POST", "/groups/g/inbox", &cavage, &origin, now).unwrap();
    assert_eq!(parsed.scheme(), SignatureScheme::DraftCavage);
    assert!(parsed.verify_digest(&cavage, body).is_ok());
    assert!(parsed.verify(&verifier).is_ok());
}

#[test]
fn rfc_9421_signatures_that_must_be_refused_are() {
    let keys = test_keypairs();
    let signer = SigningKey::from_pkcs8_pem(&keys[8].private_key).unwrap();
    let verifier = VerifyingKey::from_public_key_pem(&keys[8].public_key).unwrap();
    let now = SystemTime::now();
    let body = br#"{"type":"Create"}"#;
    let digest = content_digest(body);
    let origin = Url::parse("https://b.example").unwrap();
    let created = format!(
        ";created={};keyid=\"https://a.example/users/a#main-key\"",
        unix_seconds(now)
    );
    let target = ("@target-uri", "https://b.example/inbox");
    let sign = |components: &[(&str, &str)], parameters: &str| {
        signed_by_hand(
            &signer,
            "sig1",
            components,
            parameters,
            fedify_headers(body, now),
        )
    };
    let refused = |headers: &http::HeaderMap| -> String {
        InboundSignature::parse("POST", "/inbox", headers, &origin, now)
            .and_then(|signature| {
                signature.verify_digest(headers, body)?;
                signature.verify(&verifier)
            })
            .unwrap_err()
            .to_string()
    };
    let good = sign(
        &[("@method", "POST"), target, ("content-digest", &digest)],
        &created,
    );
    assert!(
        InboundSignature::parse("POST", "/inbox", &good, &origin, now)
            .unwrap()
            .verify(&verifier)
            .is_ok()
    );

    // Signed for another host: in @authority or @target-uri, or sent there.
    let elsewhere = sign(
        &[
            ("@method", "POST"),
            ("@authority", "c.example"),
            ("@path", "/inbox"),
            ("content-digest", &digest),
        ],
        &created,
    );
    assert!(refused(&elsewhere).contains("does not verify"));
    let elsewhere = sign(
        &[
            ("@method", "POST"),
            ("@target-uri", "https://c.example/inbox"),
            ("content-digest", &digest),
        ],
        &created,
    );
    assert!(refused(&elsewhere).contains("does not verify"));
    let mut sent_elsewhere = good.clone();
    sent_elsewhere.insert("host", "c.example".parse().unwrap());
    assert!(refused(&sent_elsewhere).contains("another host"));

    // A component missing.
    assert!(refused(&sign(&[("@method", "POST"), target], &created)).contains("Content-Digest"));
    assert!(refused(&sign(&[target, ("content-digest", &digest)], &created)).contains("@method"));
    let authority_only = sign(
        &[
            ("@method", "POST"),
            ("@authority", "b.example"),
            ("content-digest", &digest),
        ],
        &created,
    );
    assert!(refused(&authority_only).contains("@target-uri"));
    let mut header_gone = good.clone();
    header_gone.remove("content-digest");
    assert!(refused(&header_gone).contains("missing"));

    // Stale, future, expired, or without a time.
    let components = [("@method", "POST"), target, ("content-digest", &digest)];
    let at = |time: SystemTime| {
        format!(
            ";created={};keyid=\"https://a.example/users/a#main-key\"",
            unix_seconds(time)
        )
    };
    let two_hours = Duration::from_secs(7200);
    assert!(refused(&sign(&components, &at(now - two_hours))).contains("expired"));
    assert!(refused(&sign(&components, &at(now + two_hours))).contains("future"));
    let expired = format!("{};expires={}", at(now), unix_seconds(now) - 10);
    assert!(refused(&sign(&components, &expired)).contains("expired"));
    let timeless = ";keyid=\"https://a.example/users/a#main-key\"";
    assert!(refused(&sign(&components, timeless)).contains("created"));

    // A wrong Content-Digest, and one the signature covers but the body does not match.
    let mut wrong_digest = good.clone();
    wrong_digest.insert(
        "content-digest",
        content_digest(b"something else").parse().unwrap(),
    );
    assert!(refused(&wrong_digest).contains("digest"));
    let other_digest = content_digest(b"something else");
    let signed_wrong = sign(
        &[
            ("@method", "POST"),
            target,
            ("content-digest", &other_digest),
        ],
        &created,
    );
    assert!(refused(&signed_wrong).contains("does not verify"));
    let mut unknown_algorithm = good.clone();
    unknown_algorithm.insert("content-digest", "md5=:AAAA:".parse().unwrap());
    assert!(refused(&unknown_algorithm).contains("names no sha-256"));

    // Algorithms, key ids, labels and component parameters Kindred does not take.
    let ed25519 = format!("{created};alg=\"ed25519\"");
    assert!(refused(&sign(&components, &ed25519)).contains("algorithm"));
    let keyless = format!(";created={}", unix_seconds(now));
    assert!(refused(&sign(&components, &keyless)).contains("keyid"));
    let mut mislabelled = good.clone();
    let signature = good["signature"]
        .to_str()
        .unwrap()
        .replace("sig1=", "sig2=");
    mislabelled.insert("signature", signature.parse().unwrap());
    assert!(refused(&mislabelled).contains("no signature"));
    let mut with_parameter = good.clone();
    let input = good["signature-input"]
        .to_str()
        .unwrap()
        .replace("\"@method\"", "\"@method\";req");
    with_parameter.insert("signature-input", input.parse().unwrap());
    assert!(refused(&with_parameter).contains("parameters"));
    let mut unreadable = good.clone();
    unreadable.insert("signature-input", "sig1=(\"@method\"".parse().unwrap());
    assert!(refused(&unreadable).contains("unreadable"));
    let tampered = sign(&components, &created.replace("users/a", "users/b"));
    let mut swapped = good.clone();
    swapped.insert("signature", tampered["signature"].clone());
    assert!(refused(&swapped).contains("does not verify"));
}
