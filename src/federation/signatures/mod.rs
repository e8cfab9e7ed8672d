//! HTTP signatures in both schemes the fediverse speaks, with ring's RSA (several times faster
//! than the pure-Rust `rsa` crate the federation crate uses): signing of outgoing deliveries
//! (`delivery/send.rs`) and verification of inbound requests (`inbox.rs`). `draft_cavage.rs`
//! is the draft every server sends today; `rfc9421.rs` is RFC 9421 HTTP Message Signatures,
//! which Mastodon 4.5 verifies and Fedify and NodeBB sign with first; `structured_fields.rs`
//! reads and writes the RFC 8941 fields it uses. The keys and their caches are in
//! `crypto/keys.rs`.

mod draft_cavage;
mod rfc9421;
mod structured_fields;

pub use crate::crypto::keys::{SigningKey, VerifyingKey};
pub use draft_cavage::{
    DraftCavageSignature, SignedPost, sign_post, signature_parameters, verify_digest,
    verify_request_signature,
};
pub use rfc9421::{RSA_V1_5_SHA256, Rfc9421Signature, sign_post_rfc9421, verify_content_digest};

use crate::error::{Error, Result};
use std::time::{Duration, SystemTime};
use url::Url;

/// The media type deliveries are posted with.
pub const ACTIVITY_CONTENT_TYPE: &str = "application/activity+json";

/// How long a signed request stays valid after its `Date` (or its `created` parameter), and how
/// far ahead of our clock it may be dated: the federation crate's window, and Fedify's.
pub const SIGNATURE_LIFETIME: Duration = Duration::from_secs(60 * 60);

/// A scheme of HTTP signatures. Deliveries go out in draft-cavage unless a server is known to
/// take only RFC 9421 (see `delivery/send.rs`, which remembers what each server accepted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureScheme {
    /// draft-cavage-http-signatures-12: `Signature: keyId=…,headers=…,signature=…`.
    DraftCavage,
    /// RFC 9421: `Signature-Input` and `Signature`, with an RFC 9530 `Content-Digest`.
    Rfc9421,
}

impl SignatureScheme {
    /// The name stored in `instances.signature_scheme`.
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureScheme::DraftCavage => "draft-cavage",
            SignatureScheme::Rfc9421 => "rfc9421",
        }
    }

    /// The scheme a stored name means; draft-cavage, the default, for none or an unknown one.
    pub fn from_stored(name: Option<&str>) -> SignatureScheme {
        match name {
            Some("rfc9421") => SignatureScheme::Rfc9421,
            _ => SignatureScheme::DraftCavage,
        }
    }

    /// The scheme to knock with when this one was refused.
    pub fn other(self) -> SignatureScheme {
        match self {
            SignatureScheme::DraftCavage => SignatureScheme::Rfc9421,
            SignatureScheme::Rfc9421 => SignatureScheme::DraftCavage,
        }
    }
}

/// Signs a POST of `body` to `inbox` as `key_id` in `scheme`; returns every header to send
/// with the body (`Host`, `Content-Type`, the digest and the signature).
pub fn signed_post_headers(
    scheme: SignatureScheme,
    key: &SigningKey,
    key_id: &str,
    inbox: &Url,
    body: &[u8],
    now: SystemTime,
) -> Result<http::HeaderMap> {
    match scheme {
        SignatureScheme::DraftCavage => sign_post(key, key_id, inbox, body, now)?.into_headers(),
        SignatureScheme::Rfc9421 => sign_post_rfc9421(key, key_id, inbox, body, now),
    }
}

/// The signature of an inbound request in either scheme, read and checked as far as it can be
/// without the sender's key. The inbox parses it before it looks up or fetches anyone, so a
/// request that could never verify costs nothing; checks the body's digest with
/// [`InboundSignature::verify_digest`]; then [`InboundSignature::verify`] checks the signature
/// with the key that [`InboundSignature::key_id`] names.
pub enum InboundSignature {
    DraftCavage(DraftCavageSignature),
    Rfc9421(Rfc9421Signature),
}

impl InboundSignature {
    /// RFC 9421 when the request has a `Signature-Input` header, draft-cavage otherwise; each
    /// bound to the request the same way: this instance's host (`local_origin` is its public
    /// URL), the target, the body's digest and a time within [`SIGNATURE_LIFETIME`] of `now`.
    pub fn parse(
        method: &str,
        path_and_query: &str,
        headers: &http::HeaderMap,
        local_origin: &Url,
        now: SystemTime,
    ) -> Result<InboundSignature> {
        if headers.contains_key("signature-input") {
            Rfc9421Signature::parse(method, path_and_query, headers, local_origin, now)
                .map(InboundSignature::Rfc9421)
        } else {
            let local_host = crate::hosts::host_of(local_origin)?;
            DraftCavageSignature::parse(method, path_and_query, headers, &local_host, now)
                .map(InboundSignature::DraftCavage)
        }
    }

    /// Checks the body against the digest the signature covers: `Digest` for draft-cavage,
    /// `Content-Digest` (RFC 9530) for RFC 9421.
    pub fn verify_digest(&self, headers: &http::HeaderMap, body: &[u8]) -> Result<()> {
        match self {
            InboundSignature::DraftCavage(_) => verify_digest(headers, body),
            InboundSignature::Rfc9421(_) => verify_content_digest(headers, body),
        }
    }

    /// The key the signature names, usually `<actor>#main-key`.
    pub fn key_id(&self) -> &str {
        match self {
            InboundSignature::DraftCavage(signature) => signature.key_id(),
            InboundSignature::Rfc9421(signature) => signature.key_id(),
        }
    }

    /// Checks the signature with the sender's key.
    pub fn verify(&self, key: &VerifyingKey) -> Result<()> {
        match self {
            InboundSignature::DraftCavage(signature) => signature.verify(key),
            InboundSignature::Rfc9421(signature) => signature.verify(key),
        }
    }

    pub fn scheme(&self) -> SignatureScheme {
        match self {
            InboundSignature::DraftCavage(_) => SignatureScheme::DraftCavage,
            InboundSignature::Rfc9421(_) => SignatureScheme::Rfc9421,
        }
    }
}

/// Refuses a request signed more than [`SIGNATURE_LIFETIME`] before `now`, or as far after it.
/// Compared without adding to the signer's time, which could overflow.
fn check_signing_time(signed_at: SystemTime, now: SystemTime) -> Result<()> {
    if now
        .duration_since(signed_at)
        .is_ok_and(|age| age > SIGNATURE_LIFETIME)
    {
        return Err(Error::Unauthorized("the signature has expired".into()));
    }
    if signed_at
        .duration_since(now)
        .is_ok_and(|ahead| ahead > SIGNATURE_LIFETIME)
    {
        return Err(Error::Unauthorized(
            "the request is dated in the future".into(),
        ));
    }
    Ok(())
}

/// Whether a `Host` header names `local_host` (this instance's domain, with its port if it
/// has one): compared as `hosts::same_host` compares hosts (case, a trailing dot, and :443),
/// and without plain http's default port.
fn same_host(header: &str, local_host: &str) -> bool {
    let header = header.trim();
    crate::hosts::same_host(header.strip_suffix(":80").unwrap_or(header), local_host)
}

/// `host` or `host:port` of a URL, as the `Host` header and RFC 9421's `@authority` write it
/// (the URL parser has dropped a scheme's default port already).
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
