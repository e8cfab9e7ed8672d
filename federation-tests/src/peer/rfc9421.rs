//! The test peer's RFC 9421 HTTP Message Signatures, written from the RFC (not from Kindred's
//! code): signing as Fedify signs (`@method @target-uri @authority host date content-digest`,
//! `alg`, `keyid`, `created`, label `sig1`), and verifying as Mastodon 4.5 does (`created`
//! required, `@method` and `@target-uri` covered, `Content-Digest` covered and matching).

use super::{PeerState, Tampering, fetch_public_key};
use axum::http::{HeaderMap, Method, Uri};
use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use rsa::{Pkcs1v15Sign, RsaPrivateKey};
use sha2::{Digest, Sha256};
use std::time::{Duration, SystemTime};
use url::Url;

/// The headers of a POST of `body` to `url` signed as Fedify signs it, as (name, value) pairs.
pub(super) fn signed_headers(
    key: &RsaPrivateKey,
    key_id: &str,
    url: &Url,
    body: &[u8],
    signed_at: SystemTime,
    tampering: &Tampering,
) -> Vec<(String, String)> {
    let authority = match url.port() {
        Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_string(),
    };
    let date = httpdate::fmt_http_date(signed_at);
    let digested: &[u8] = if tampering.wrong_digest {
        b"something else"
    } else {
        body
    };
    let content_digest = format!("sha-256=:{}:", BASE64.encode(Sha256::digest(digested)));
    let created = signed_at
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let components = [
        ("@method", "POST".to_string()),
        ("@target-uri", url.to_string()),
        ("@authority", authority.clone()),
        ("host", authority.clone()),
        ("date", date.clone()),
        ("content-digest", content_digest.clone()),
    ];
    let names: Vec<String> = components
        .iter()
        .map(|(name, _)| format!("\"{name}\""))
        .collect();
    let signature_parameters = format!(
        "({});alg=\"rsa-v1_5-sha256\";keyid=\"{key_id}\";created={created}",
        names.join(" ")
    );
    let mut base: Vec<String> = components
        .iter()
        .map(|(name, value)| format!("\"{name}\": {value}"))
        .collect();
    base.push(format!("\"@signature-params\": {signature_parameters}"));
    let signature = key
        .sign(
            Pkcs1v15Sign::new::<Sha256>(),
            &Sha256::digest(base.join("\n").as_bytes()),
        )
        .expect("sign");
    let mut headers = vec![
        ("host".to_string(), authority),
        ("date".to_string(), date),
        (
            "content-type".to_string(),
            "application/activity+json".to_string(),
        ),
        ("content-digest".to_string(), content_digest),
    ];
    if !tampering.unsigned {
        headers.push((
            "signature-input".to_string(),
            format!("sig1={signature_parameters}"),
        ));
        headers.push((
            "signature".to_string(),
            format!("sig1=:{}:", BASE64.encode(signature)),
        ));
    }
    headers
}

/// The `keyid` of the first signature in `Signature-Input`.
pub(super) fn key_id(headers: &HeaderMap) -> Option<String> {
    let input = headers.get("signature-input")?.to_str().ok()?;
    let (_, members) = first_member(input)?;
    let (_, parameters) = split_inner_list(members)?;
    parameter(parameters, "keyid")
}

/// Verifies the first RFC 9421 signature of an inbound request as Mastodon 4.5 does, with the
/// key fetched from the `keyid`'s actor.
pub(super) async fn verify(
    state: &PeerState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Option<&[u8]>,
) -> Result<(), String> {
    let header = |name: &str| -> Option<String> {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(|value| value.trim().to_string())
    };
    let input = header("signature-input").ok_or("no Signature-Input header")?;
    let (label, member) = first_member(&input).ok_or("unreadable Signature-Input")?;
    let (components, parameters) = split_inner_list(member).ok_or("unreadable component list")?;
    let names: Vec<String> = components
        .split(' ')
        .filter(|name| !name.is_empty())
        .map(|name| name.trim_matches('"').to_string())
        .collect();
    let key_id = parameter(parameters, "keyid").ok_or("no keyid")?;
    let created: u64 = parameter(parameters, "created")
        .ok_or("Mastodon requires the created parameter")?
        .parse()
        .map_err(|_| "unreadable created")?;
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    // Mastodon: created at most an hour ahead; valid five minutes, plus an hour of skew.
    if created > now + 3600 || now > created + 300 + 3600 {
        return Err("created is outside the acceptable time window".into());
    }
    if let Some(algorithm) = parameter(parameters, "alg")
        && algorithm != "rsa-v1_5-sha256"
    {
        return Err(format!("unsupported algorithm {algorithm}"));
    }
    let covers = |name: &str| names.iter().any(|covered| covered == name);
    if !covers("@method") || !covers("@target-uri") {
        return Err("@method and @target-uri must be signed".into());
    }
    if let Some(body) = body {
        if !covers("content-digest") {
            return Err("Content-Digest must be signed on a POST".into());
        }
        let digest = header("content-digest").ok_or("no Content-Digest")?;
        let expected = format!("sha-256=:{}:", BASE64.encode(Sha256::digest(body)));
        if !digest.split(',').any(|part| part.trim() == expected) {
            return Err("Content-Digest does not match the body".into());
        }
    }
    let path_and_query = uri
        .path_and_query()
        .map(|path| path.as_str())
        .unwrap_or("/");
    let authority = state
        .base_url
        .host_str()
        .map(|host| match state.base_url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        })
        .unwrap_or_default();
    let mut base = Vec::new();
    for name in &names {
        let value = match name.as_str() {
            "@method" => method.as_str().to_string(),
            "@target-uri" => format!(
                "{}{path_and_query}",
                state.base_url.as_str().trim_end_matches('/')
            ),
            "@authority" => authority.clone(),
            "@path" => uri.path().to_string(),
            other if other.starts_with('@') => return Err(format!("unsupported {other}")),
            other => header(other).ok_or(format!("signed header {other} missing"))?,
        };
        base.push(format!("\"{name}\": {value}"));
    }
    // The signature parameters exactly as they came in the Signature-Input member.
    base.push(format!("\"@signature-params\": {member}"));
    let signature_header = header("signature").ok_or("no Signature header")?;
    let encoded = signature_header
        .split(',')
        .map(str::trim)
        .find_map(|entry| entry.strip_prefix(&format!("{label}=")))
        .ok_or("no signature with the Signature-Input's label")?;
    let signature = BASE64
        .decode(encoded.trim_matches(':'))
        .map_err(|_| "signature is not base64")?;
    let public_key = fetch_public_key(state, &key_id).await?;
    public_key
        .verify(
            Pkcs1v15Sign::new::<Sha256>(),
            &Sha256::digest(base.join("\n").as_bytes()),
            &signature,
        )
        .map_err(|_| "signature does not verify".to_string())
}

/// The first `label=value` of a dictionary whose first value is an inner list: the label and
/// the member's text (the list and its parameters) as sent.
fn first_member(field: &str) -> Option<(&str, &str)> {
    let (label, rest) = field.trim().split_once('=')?;
    // The member ends at the first comma outside quotes and parentheses.
    let mut in_quotes = false;
    let mut depth = 0;
    let mut end = rest.len();
    for (index, character) in rest.char_indices() {
        match character {
            '"' => in_quotes = !in_quotes,
            '(' if !in_quotes => depth += 1,
            ')' if !in_quotes => depth -= 1,
            ',' if !in_quotes && depth == 0 => {
                end = index;
                break;
            }
            _ => {}
        }
    }
    Some((label.trim(), rest[..end].trim()))
}

/// `("a" "b");k=v;…` as the text inside the parentheses and the parameters after them.
fn split_inner_list(member: &str) -> Option<(&str, &str)> {
    let inner = member.strip_prefix('(')?;
    let close = inner.find(')')?;
    Some((&inner[..close], &inner[close + 1..]))
}

/// A parameter's value (quotes removed) among `;k=v;k2="v2"`.
fn parameter(parameters: &str, name: &str) -> Option<String> {
    parameters
        .split(';')
        .filter_map(|part| part.split_once('='))
        .find(|(key, _)| key.trim() == name)
        .map(|(_, value)| value.trim().trim_matches('"').to_string())
}

/// When a request is signed: now, shifted by the tampering's date offset.
pub(super) fn signing_time(tampering: &Tampering) -> SystemTime {
    if tampering.date_offset_seconds >= 0 {
        SystemTime::now() + Duration::from_secs(tampering.date_offset_seconds as u64)
    } else {
        SystemTime::now() - Duration::from_secs(tampering.date_offset_seconds.unsigned_abs())
    }
}
