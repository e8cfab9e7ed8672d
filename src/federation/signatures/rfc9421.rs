//! RFC 9421 HTTP Message Signatures, one of the two schemes in `signatures/`: `Signature-Input`
//! and `Signature` headers over derived components (`@method`, `@target-uri`, …) and header
//! fields, with the body bound by an RFC 9530 `Content-Digest`. Mastodon 4.5 verifies it;
//! Fedify and NodeBB sign with it first and fall back to draft-cavage on a 401. Kindred signs a
//! delivery with it when a server takes nothing else, and verifies it on every inbox.

use super::{
    ACTIVITY_CONTENT_TYPE, SigningKey, VerifyingKey, check_signing_time, host_header, same_host,
    structured_fields::{self, BareItem, Item, Member, Parameters},
};
use crate::error::{Error, Result};
use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use sha2::{Digest, Sha256, Sha512};
use std::time::{Duration, SystemTime};
use url::Url;

/// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 9421 §3.3.6), the only algorithm fediverse keys use.
pub const RSA_V1_5_SHA256: &str = "rsa-v1_5-sha256";

/// The label of the signature Kindred sends.
const LABEL: &str = "sig1";

/// The components a delivery is signed over, in order.
const SIGNED_COMPONENTS: [&str; 5] = [
    "@method",
    "@target-uri",
    "@authority",
    "content-digest",
    "content-type",
];

/// Signs a POST of `body` to `inbox` as `key_id`; returns the headers to send with the body:
/// `Host`, `Content-Type`, `Content-Digest: sha-256=:…:`, and `Signature-Input` / `Signature`
/// labelled `sig1`, with `created`, `keyid` and `alg="rsa-v1_5-sha256"`.
pub fn sign_post_rfc9421(
    key: &SigningKey,
    key_id: &str,
    inbox: &Url,
    body: &[u8],
    now: SystemTime,
) -> Result<http::HeaderMap> {
    let authority = host_header(inbox)?;
    let mut target_uri = inbox.clone();
    target_uri.set_fragment(None);
    let content_digest = format!("sha-256=:{}:", BASE64.encode(Sha256::digest(body)));
    let created = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_err(|_| Error::internal("the clock is set before 1970"))?
        .as_secs();
    let values = [
        "POST",
        target_uri.as_str(),
        authority.as_str(),
        content_digest.as_str(),
        ACTIVITY_CONTENT_TYPE,
    ];
    let covered: Vec<Item> = SIGNED_COMPONENTS
        .iter()
        .map(|name| Item {
            value: BareItem::String(name.to_string()),
            parameters: Parameters::default(),
        })
        .collect();
    let parameters = Parameters(vec![
        (
            "created".into(),
            BareItem::Integer(i64::try_from(created).unwrap_or(i64::MAX)),
        ),
        ("keyid".into(), BareItem::String(key_id.to_string())),
        ("alg".into(), BareItem::String(RSA_V1_5_SHA256.to_string())),
    ]);
    let signature_parameters = structured_fields::serialize_inner_list(&covered, &parameters);
    let base = signature_base(
        SIGNED_COMPONENTS.iter().copied().zip(values),
        &signature_parameters,
    );
    let signature = BASE64.encode(key.sign(base.as_bytes())?);

    let value = |text: String| {
        http::HeaderValue::try_from(text)
            .map_err(|_| Error::internal("a signed header is not a valid header value"))
    };
    let mut headers = http::HeaderMap::with_capacity(5);
    headers.insert(http::header::HOST, value(authority)?);
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(ACTIVITY_CONTENT_TYPE),
    );
    headers.insert("content-digest", value(content_digest)?);
    headers.insert(
        "signature-input",
        value(format!("{LABEL}={signature_parameters}"))?,
    );
    headers.insert("signature", value(format!("{LABEL}=:{signature}:"))?);
    Ok(headers)
}

/// Checks the `Content-Digest` header (RFC 9530) of an inbound request against its body: it
/// must name a `sha-256` or `sha-512` digest, and every one of those it names must match.
pub fn verify_content_digest(headers: &http::HeaderMap, body: &[u8]) -> Result<()> {
    let refuse = || Err(Error::Unauthorized("digest does not match the body".into()));
    let Some(field) = joined_field(headers, "content-digest") else {
        return Err(Error::Unauthorized(
            "the request has no Content-Digest header".into(),
        ));
    };
    let digests = structured_fields::parse_dictionary(&field)
        .map_err(|_| Error::Unauthorized("unreadable Content-Digest header".into()))?;
    let mut matched = false;
    for (algorithm, digest) in digests {
        let expected = match algorithm.as_str() {
            "sha-256" => Sha256::digest(body).to_vec(),
            "sha-512" => Sha512::digest(body).to_vec(),
            _ => continue,
        };
        match digest {
            Member::Item(Item {
                value: BareItem::ByteSequence(given),
                ..
            }) if given == expected => matched = true,
            _ => return refuse(),
        }
    }
    if matched {
        Ok(())
    } else {
        Err(Error::Unauthorized(
            "the Content-Digest names no sha-256 or sha-512 digest".into(),
        ))
    }
}

/// The RFC 9421 signature of an inbound request, read and checked as far as it can be without
/// the sender's key (see [`super::InboundSignature`]): what remains is its signature base and
/// the signature to check against it.
pub struct Rfc9421Signature {
    key_id: String,
    signature: Vec<u8>,
    signature_base: String,
}

impl Rfc9421Signature {
    /// Takes the first signature in `Signature-Input` that binds the request; the refusal of
    /// the first one otherwise. A signature binds the request when it covers `@method`, the
    /// target (`@target-uri`, or `@authority` and `@path`) and, for a POST, `content-digest`;
    /// has a `created` within [`super::SIGNATURE_LIFETIME`] of `now` and no past `expires`;
    /// names its key (`keyid`); and is `rsa-v1_5-sha256` or names no algorithm (every
    /// fediverse key is RSA). The request must be addressed to this instance (`Host`), and
    /// the derived components are this instance's public URL (`local_origin`) with the
    /// request's path, as the sender wrote them.
    pub fn parse(
        method: &str,
        path_and_query: &str,
        headers: &http::HeaderMap,
        local_origin: &Url,
        now: SystemTime,
    ) -> Result<Rfc9421Signature> {
        let unreadable = |what: &str| Error::Unauthorized(format!("unreadable {what} header"));
        let inputs = joined_field(headers, "signature-input")
            .map(|field| structured_fields::parse_dictionary(&field))
            .unwrap_or(Ok(Vec::new()))
            .map_err(|_| unreadable("Signature-Input"))?;
        let signatures = joined_field(headers, "signature")
            .map(|field| structured_fields::parse_dictionary(&field))
            .unwrap_or(Ok(Vec::new()))
            .map_err(|_| unreadable("Signature"))?;
        let request = InboundRequest {
            method,
            path_and_query,
            headers,
            scheme: local_origin.scheme(),
            authority: host_header(local_origin)?.to_ascii_lowercase(),
            now,
        };
        let mut first_refusal = None;
        for (label, input) in &inputs {
            match request.signature(label, input, &signatures) {
                Ok(signature) => return Ok(signature),
                Err(refusal) => {
                    first_refusal.get_or_insert(refusal);
                }
            }
        }
        Err(first_refusal.unwrap_or_else(|| {
            Error::Unauthorized("the Signature-Input header names no signature".into())
        }))
    }

    /// The `keyid` parameter: the sender's key, usually `<actor>#main-key`.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Checks the signature over the signature base with the sender's key.
    pub fn verify(&self, key: &VerifyingKey) -> Result<()> {
        if key.verify(self.signature_base.as_bytes(), &self.signature) {
            Ok(())
        } else {
            Err(Error::Unauthorized("signature does not verify".into()))
        }
    }
}

/// What the components of an inbound request's signature are derived from.
struct InboundRequest<'a> {
    method: &'a str,
    path_and_query: &'a str,
    headers: &'a http::HeaderMap,
    /// This instance's scheme and `host[:port]`, lower case without a default port.
    scheme: &'a str,
    authority: String,
    now: SystemTime,
}

impl InboundRequest<'_> {
    /// The signature labelled `label`, with `input` its `Signature-Input` member.
    fn signature(
        &self,
        label: &str,
        input: &Member,
        signatures: &[(String, Member)],
    ) -> Result<Rfc9421Signature> {
        let refuse = |why: &str| Err(Error::Unauthorized(why.to_string()));
        let Member::InnerList { items, parameters } = input else {
            return refuse("a Signature-Input member is not a list of components");
        };
        let mut names: Vec<&str> = Vec::with_capacity(items.len());
        for item in items {
            let BareItem::String(name) = &item.value else {
                return refuse("a covered component is not a string");
            };
            if !item.parameters.0.is_empty() {
                return refuse(
                    "component parameters (;sf, ;key, ;req, ;bs, ;tr) are not supported",
                );
            }
            if names.contains(&name.as_str()) {
                return refuse("a component is covered twice");
            }
            names.push(name.as_str());
        }
        let key_id = match parameters.get("keyid") {
            Some(BareItem::String(key_id)) if !key_id.is_empty() => key_id.clone(),
            _ => return refuse("the signature names no keyid"),
        };
        match parameters.get("alg") {
            None => {}
            Some(BareItem::String(algorithm)) if algorithm == RSA_V1_5_SHA256 => {}
            Some(_) => return refuse("unsupported signature algorithm"),
        }
        let created = match parameters.get("created") {
            Some(BareItem::Integer(seconds)) => unix_time(*seconds)
                .ok_or_else(|| Error::Unauthorized("unreadable `created` parameter".into()))?,
            Some(_) => return refuse("unreadable `created` parameter"),
            None => return refuse("the signature has no `created` parameter"),
        };
        check_signing_time(created, self.now)?;
        match parameters.get("expires") {
            None => {}
            Some(BareItem::Integer(seconds))
                if unix_time(*seconds).is_some_and(|expires| expires >= self.now) => {}
            Some(BareItem::Integer(_)) => return refuse("the signature has expired"),
            Some(_) => return refuse("unreadable `expires` parameter"),
        }

        // Bound to this request: its method, its target on this instance, and its body.
        let covers = |name: &str| names.contains(&name);
        if !covers("@method") {
            return refuse("the signature does not cover @method");
        }
        let covers_target = covers("@target-uri") || (covers("@authority") && covers("@path"));
        if !covers_target {
            return refuse("the signature covers neither @target-uri nor @authority and @path");
        }
        if self.method.eq_ignore_ascii_case("POST") && !covers("content-digest") {
            return refuse("the Content-Digest header is not signed");
        }
        let hosts: Vec<&str> = self
            .headers
            .get_all(http::header::HOST)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .collect();
        match hosts.as_slice() {
            [] => {}
            [host] if same_host(host, &self.authority) => {}
            _ => return refuse("the request was signed for another host"),
        }
        if covers("date") {
            let date = self
                .headers
                .get(http::header::DATE)
                .and_then(|value| value.to_str().ok())
                .and_then(|text| httpdate::parse_http_date(text).ok());
            match date {
                Some(date) => check_signing_time(date, self.now)?,
                None => return refuse("the signed Date header is missing or unreadable"),
            }
        }
        let signature = match signatures.iter().find(|(name, _)| name == label) {
            Some((
                _,
                Member::Item(Item {
                    value: BareItem::ByteSequence(signature),
                    ..
                }),
            )) => signature.clone(),
            _ => return refuse("the Signature header has no signature for the Signature-Input"),
        };

        let mut values = Vec::with_capacity(names.len());
        for name in &names {
            values.push(self.component_value(name)?);
        }
        let signature_parameters = structured_fields::serialize_inner_list(items, parameters);
        Ok(Rfc9421Signature {
            key_id,
            signature,
            signature_base: signature_base(
                names.iter().copied().zip(values.iter().map(String::as_str)),
                &signature_parameters,
            ),
        })
    }

    /// The value of one covered component (RFC 9421 §2.1 and §2.2).
    fn component_value(&self, name: &str) -> Result<String> {
        let refuse = |why: &str| Err(Error::Unauthorized(why.to_string()));
        let (path, query) = match self.path_and_query.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (self.path_and_query, None),
        };
        let path = if path.is_empty() { "/" } else { path };
        Ok(match name {
            "@method" => self.method.to_string(),
            "@target-uri" => format!(
                "{}://{}{}",
                self.scheme, self.authority, self.path_and_query
            ),
            "@authority" => self.authority.clone(),
            "@scheme" => self.scheme.to_string(),
            "@request-target" => self.path_and_query.to_string(),
            "@path" => path.to_string(),
            "@query" => format!("?{}", query.unwrap_or_default()),
            derived if derived.starts_with('@') => {
                return refuse("the signature covers an unsupported derived component");
            }
            header if header.bytes().any(|byte| byte.is_ascii_uppercase()) => {
                return refuse("a covered header name is not in lower case");
            }
            header => match joined_field(self.headers, header) {
                Some(value) => value,
                // Some proxies drop `Host`: it was this instance's, or it would not be here.
                None if header == "host" => self.authority.clone(),
                None => return refuse("a signed header is missing"),
            },
        })
    }
}

/// The signature base (RFC 9421 §2.5): one `"name": value` line per component, then the
/// signature parameters.
fn signature_base<'a>(
    components: impl IntoIterator<Item = (&'a str, &'a str)>,
    signature_parameters: &str,
) -> String {
    let mut base = String::new();
    for (name, value) in components {
        base.push_str(&format!("\"{name}\": {value}\n"));
    }
    base.push_str(&format!("\"@signature-params\": {signature_parameters}"));
    base
}

/// Every value of header `name`, trimmed and joined with `, ` as RFC 9421 §2.1 combines them;
/// `None` when there is none (or one is not visible ASCII).
fn joined_field(headers: &http::HeaderMap, name: &str) -> Option<String> {
    let values: Option<Vec<&str>> = headers
        .get_all(name)
        .iter()
        .map(|value| value.to_str().ok().map(str::trim))
        .collect();
    values
        .filter(|values| !values.is_empty())
        .map(|values| values.join(", "))
}

fn unix_time(seconds: i64) -> Option<SystemTime> {
    u64::try_from(seconds)
        .ok()
        .and_then(|seconds| SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(seconds)))
}

#[cfg(test)]
mod tests;
