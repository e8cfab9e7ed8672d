//! A test peer that behaves like a Mastodon server: it serves Person actors and WebFinger, signs
//! what it sends the way Mastodon does (draft-cavage, `rsa-sha256`, `(request-target) host date
//! digest content-type`), and verifies every signature on what its inboxes receive with its own
//! verifier (written from the draft, not the federation crate's), recording all of it. It
//! speaks RFC 9421 too (`peer/rfc9421.rs`): it can knock with it first and fall back to
//! draft-cavage on a refusal, as Fedify does, and its inboxes can take RFC 9421 only.

mod documents;
mod nodeinfo;
mod rfc9421;

pub use documents::DocumentGenerator;

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, Query, State},
    http::{HeaderMap, Method, StatusCode, Uri, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use rsa::{
    Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey,
    pkcs8::{DecodePrivateKey, DecodePublicKey},
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::{
    collections::{BTreeMap, HashMap},
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};
use tokio::net::TcpListener;
use url::Url;

/// One activity a peer inbox received, with what the peer's verifier made of its signature.
#[derive(Debug, Clone)]
pub struct ReceivedDelivery {
    pub inbox_path: String,
    pub activity: Value,
    pub signature_verified: bool,
    pub verification_error: Option<String>,
    pub key_id: Option<String>,
    /// The scheme the request was signed in; `None` when it was not signed.
    pub scheme: Option<SignatureScheme>,
    /// What the inbox answered.
    pub answered: StatusCode,
}

/// The two schemes of HTTP signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureScheme {
    DraftCavage,
    Rfc9421,
}

/// One POST the peer sent (each knock of a double-knock is one).
#[derive(Debug, Clone)]
pub struct SentRequest {
    pub url: String,
    pub scheme: SignatureScheme,
    pub status: StatusCode,
}

#[derive(Clone)]
struct Person {
    /// The path of the person's actor document, e.g. `/users/alice` or Takahe's
    /// `/@alice@takahe.test/`.
    path: String,
    private_key: RsaPrivateKey,
    public_key_pem: String,
    /// Fields that replace the defaults of the actor document (a hostile name, a Group type).
    profile: serde_json::Map<String, Value>,
}

struct PeerState {
    base_url: Url,
    people: Mutex<HashMap<String, Person>>,
    notes: Mutex<HashMap<String, Value>>,
    received: Mutex<Vec<ReceivedDelivery>>,
    /// The `keyId` of every signed GET the peer answered (authorized fetch).
    fetch_key_ids: Mutex<Vec<String>>,
    client: reqwest::Client,
    /// Answer inbox POSTs with this status instead (to simulate a failing server).
    forced_inbox_status: Mutex<Option<StatusCode>>,
    /// Sign POSTs with RFC 9421 first and knock again with draft-cavage on a 400 or 401, as
    /// Fedify does.
    rfc9421_first: Mutex<bool>,
    /// Answer 401 to inbox POSTs signed in any other scheme.
    accepted_scheme_only: Mutex<Option<SignatureScheme>>,
    /// Every POST `send` made.
    sent: Mutex<Vec<SentRequest>>,
    /// The `software.name` its NodeInfo reports; no NodeInfo while unset.
    software: Mutex<Option<String>>,
    /// Documents served at fixed paths (with their query), and made on the fly
    /// (`peer/documents.rs`).
    documents: Mutex<HashMap<String, Value>>,
    generator: Mutex<Option<DocumentGenerator>>,
    /// Bytes served at fixed paths, with their content type (pictures).
    raw: Mutex<HashMap<String, (String, Vec<u8>)>>,
    /// Every GET answered, as path and query.
    gets: Mutex<Vec<String>>,
}

/// A running Mastodon-like peer.
#[derive(Clone)]
pub struct MastodonPeer {
    state: Arc<PeerState>,
    pub domain: String,
    pub address: SocketAddr,
}

/// How to (mis)sign an outgoing request, for the tests of hostile input.
#[derive(Debug, Clone, Default)]
pub struct Tampering {
    /// Sign with this other key while claiming to be the actor.
    pub sign_with_key: Option<String>,
    /// Send a `Digest` that does not match the body.
    pub wrong_digest: bool,
    /// Shift the `Date` header by this many seconds (negative: in the past).
    pub date_offset_seconds: i64,
    /// Send no `Signature` header at all.
    pub unsigned: bool,
}

impl MastodonPeer {
    /// Serves the peer on `listener` as `http://{domain}`; `hosts` resolves the network's names.
    pub async fn start(
        listener: TcpListener,
        domain: String,
        hosts: &BTreeMap<String, std::net::IpAddr>,
    ) -> MastodonPeer {
        let address = listener.local_addr().expect("peer address");
        let mut client = reqwest::Client::builder().timeout(Duration::from_secs(10));
        for (host, ip) in hosts {
            client = client.resolve(host, SocketAddr::new(*ip, 0));
        }
        let state = Arc::new(PeerState {
            base_url: Url::parse(&format!("http://{domain}")).expect("peer url"),
            people: Mutex::new(HashMap::new()),
            notes: Mutex::new(HashMap::new()),
            received: Mutex::new(Vec::new()),
            fetch_key_ids: Mutex::new(Vec::new()),
            client: client.build().expect("peer client"),
            forced_inbox_status: Mutex::new(None),
            rfc9421_first: Mutex::new(false),
            accepted_scheme_only: Mutex::new(None),
            software: Mutex::new(None),
            sent: Mutex::new(Vec::new()),
            documents: Mutex::new(HashMap::new()),
            generator: Mutex::new(None),
            raw: Mutex::new(HashMap::new()),
            gets: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .route("/users/{name}/statuses/{id}", get(note_document))
            .route("/inbox", post(inbox))
            .route("/.well-known/webfinger", get(webfinger))
            .route("/.well-known/nodeinfo", get(nodeinfo::links))
            .route("/nodeinfo/2.1", get(nodeinfo::document))
            // People live at any path (Takahe's `/@alice@host/`, Lemmy's `/u/alice`), and
            // every path ending in `inbox` is an inbox.
            .fallback(get(person_document).post(inbox))
            .with_state(state.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        MastodonPeer {
            state,
            domain,
            address,
        }
    }

    /// Adds a person at `/users/{name}` with the given PKCS#8 private key and public key (PEM).
    pub fn add_person(&self, name: &str, private_key_pem: &str, public_key_pem: &str) -> String {
        self.add_person_at(
            name,
            &format!("/users/{name}"),
            private_key_pem,
            public_key_pem,
        )
    }

    /// Adds a person whose actor document is at `path`; returns the actor id.
    pub fn add_person_at(
        &self,
        name: &str,
        path: &str,
        private_key_pem: &str,
        public_key_pem: &str,
    ) -> String {
        let private_key = RsaPrivateKey::from_pkcs8_pem(private_key_pem).expect("test key");
        self.state.people.lock().expect("lock").insert(
            name.to_string(),
            Person {
                path: path.to_string(),
                private_key,
                public_key_pem: public_key_pem.to_string(),
                profile: serde_json::Map::new(),
            },
        );
        self.actor_id(name)
    }

    /// Replaces fields of a person's actor document (`name`, `summary`, `icon`, even `type`).
    pub fn set_profile(&self, name: &str, fields: Value) {
        if let (Some(person), Value::Object(fields)) = (
            self.state.people.lock().expect("lock").get_mut(name),
            fields,
        ) {
            person.profile.extend(fields);
        }
    }

    pub fn actor_id(&self, name: &str) -> String {
        let path = self
            .state
            .people
            .lock()
            .expect("lock")
            .get(name)
            .map(|person| person.path.clone())
            .unwrap_or_else(|| format!("/users/{name}"));
        self.url(&path)
    }

    /// The `keyId`s of the signed GETs this peer answered.
    pub fn fetch_key_ids(&self) -> Vec<String> {
        self.state.fetch_key_ids.lock().expect("lock").clone()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.state.base_url, path.trim_start_matches('/'))
    }

    /// Makes a note fetchable at `/users/{author}/statuses/{id}` and returns its id.
    pub fn publish_note(&self, author: &str, id: &str, note: Value) -> String {
        let url = format!("{}/statuses/{id}", self.actor_id(author));
        self.state
            .notes
            .lock()
            .expect("lock")
            .insert(format!("{author}/{id}"), note);
        url
    }

    /// Everything the peer's inboxes received so far.
    pub fn received(&self) -> Vec<ReceivedDelivery> {
        self.state.received.lock().expect("lock").clone()
    }

    pub fn clear_received(&self) {
        self.state.received.lock().expect("lock").clear();
    }

    /// Serves a NodeInfo document saying the peer runs `software` (`mastodon`, `lemmy`, …).
    pub fn set_software(&self, software: &str) {
        *self.state.software.lock().expect("lock") = Some(software.to_string());
    }

    /// Makes every inbox POST answer `status` (or answer normally again with `None`).
    pub fn force_inbox_status(&self, status: Option<StatusCode>) {
        *self.state.forced_inbox_status.lock().expect("lock") = status;
    }

    /// Signs POSTs with RFC 9421 first and falls back to draft-cavage when the answer is 400 or
    /// 401 (Fedify's double-knock), or signs draft-cavage only again (`false`, the default).
    pub fn sign_rfc9421_first(&self, on: bool) {
        *self.state.rfc9421_first.lock().expect("lock") = on;
    }

    /// Makes every inbox take only `scheme`, answering 401 to a request signed in the other
    /// (as a server that speaks only RFC 9421 would); `None` takes both again.
    pub fn accept_only(&self, scheme: Option<SignatureScheme>) {
        *self.state.accepted_scheme_only.lock().expect("lock") = scheme;
    }

    /// Every POST `send` made, each knock of a double-knock on its own.
    pub fn sent(&self) -> Vec<SentRequest> {
        self.state.sent.lock().expect("lock").clone()
    }

    /// Waits until `predicate` holds for the received deliveries, or panics after `timeout`.
    pub async fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        predicate: impl Fn(&[ReceivedDelivery]) -> bool,
    ) -> Vec<ReceivedDelivery> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let received = self.received();
            if predicate(&received) {
                return received;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("{what}: not received within {timeout:?}; got {received:#?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// POSTs `activity` to `inbox` signed as `sender`, like Mastodon does (or, after
    /// [`MastodonPeer::sign_rfc9421_first`], like Fedify: RFC 9421, then draft-cavage when that
    /// is answered 400 or 401); returns the last status and response body.
    pub async fn send(
        &self,
        sender: &str,
        inbox: &str,
        activity: &Value,
        tampering: &Tampering,
    ) -> (StatusCode, String) {
        let body = serde_json::to_vec(activity).expect("json");
        if *self.state.rfc9421_first.lock().expect("lock") {
            let (status, text) = self
                .send_in(SignatureScheme::Rfc9421, sender, inbox, &body, tampering)
                .await;
            if status != StatusCode::BAD_REQUEST && status != StatusCode::UNAUTHORIZED {
                return (status, text);
            }
        }
        self.send_in(
            SignatureScheme::DraftCavage,
            sender,
            inbox,
            &body,
            tampering,
        )
        .await
    }

    async fn send_in(
        &self,
        scheme: SignatureScheme,
        sender: &str,
        inbox: &str,
        body: &[u8],
        tampering: &Tampering,
    ) -> (StatusCode, String) {
        let request = match scheme {
            SignatureScheme::DraftCavage => {
                self.signed_request(Method::POST, sender, inbox, Some(body), tampering)
            }
            SignatureScheme::Rfc9421 => {
                let url = Url::parse(inbox).expect("url");
                let key = self.signing_key(sender, tampering);
                let key_id = format!("{}#main-key", self.actor_id(sender));
                let signed_at = rfc9421::signing_time(tampering);
                let mut request = self.state.client.post(url.as_str()).body(body.to_vec());
                for (name, value) in
                    rfc9421::signed_headers(&key, &key_id, &url, body, signed_at, tampering)
                {
                    request = request.header(name, value);
                }
                request
            }
        };
        let response = request.send().await.expect("send to inbox");
        let status = StatusCode::from_u16(response.status().as_u16()).expect("status");
        self.state.sent.lock().expect("lock").push(SentRequest {
            url: inbox.to_string(),
            scheme,
            status,
        });
        (status, response.text().await.unwrap_or_default())
    }

    /// The key `sender` signs with, or the other key the tampering names.
    fn signing_key(&self, sender: &str, tampering: &Tampering) -> RsaPrivateKey {
        match &tampering.sign_with_key {
            Some(pem) => RsaPrivateKey::from_pkcs8_pem(pem).expect("other key"),
            None => {
                self.state
                    .people
                    .lock()
                    .expect("lock")
                    .get(sender)
                    .cloned()
                    .expect("known sender")
                    .private_key
            }
        }
    }

    /// A signed GET, as Mastodon sends in authorized-fetch mode.
    pub async fn signed_get(&self, sender: &str, url: &str) -> reqwest::Response {
        self.signed_request(Method::GET, sender, url, None, &Tampering::default())
            .header(header::ACCEPT, "application/activity+json")
            .send()
            .await
            .expect("signed get")
    }

    fn signed_request(
        &self,
        method: Method,
        sender: &str,
        url: &str,
        body: Option<&[u8]>,
        tampering: &Tampering,
    ) -> reqwest::RequestBuilder {
        let url = Url::parse(url).expect("url");
        let key = self.signing_key(sender, tampering);
        let host = match url.port() {
            Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_string(),
        };
        let date = httpdate::fmt_http_date(rfc9421::signing_time(tampering));
        let path_and_query = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_string(),
        };
        let mut signed_headers: Vec<(String, String)> = vec![
            (
                "(request-target)".into(),
                format!("{} {path_and_query}", method.as_str().to_lowercase()),
            ),
            ("host".into(), host.clone()),
            ("date".into(), date.clone()),
        ];
        let mut request = self
            .state
            .client
            .request(method.clone(), url.as_str())
            .header(header::HOST, host)
            .header(header::DATE, date);
        if let Some(body) = body {
            let digest = if tampering.wrong_digest {
                format!(
                    "SHA-256={}",
                    BASE64.encode(Sha256::digest(b"something else"))
                )
            } else {
                format!("SHA-256={}", BASE64.encode(Sha256::digest(body)))
            };
            signed_headers.push(("digest".into(), digest.clone()));
            signed_headers.push(("content-type".into(), "application/activity+json".into()));
            request = request
                .header("digest", digest)
                .header(header::CONTENT_TYPE, "application/activity+json")
                .body(body.to_vec());
        }
        if tampering.unsigned {
            return request;
        }
        let signing_string = signed_headers
            .iter()
            .map(|(name, value)| format!("{name}: {value}"))
            .collect::<Vec<_>>()
            .join("\n");
        let signature = key
            .sign(
                Pkcs1v15Sign::new::<Sha256>(),
                &Sha256::digest(signing_string.as_bytes()),
            )
            .expect("sign");
        let header_names = signed_headers
            .iter()
            .map(|(name, _)| name.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        request.header(
            "signature",
            format!(
                "keyId=\"{}#main-key\",algorithm=\"rsa-sha256\",headers=\"{header_names}\",signature=\"{}\"",
                self.actor_id(sender),
                BASE64.encode(signature)
            ),
        )
    }
}

async fn person_document(
    State(state): State<Arc<PeerState>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if let Some((content_type, bytes)) = documents::raw_at(&state, uri.path()) {
        return ([(header::CONTENT_TYPE, content_type)], bytes).into_response();
    }
    let path_and_query = uri
        .path_and_query()
        .map_or_else(|| uri.path().to_string(), ToString::to_string);
    if let Some(document) = documents::served_at(&state, &path_and_query) {
        return activity_json(document);
    }
    let found = state
        .people
        .lock()
        .expect("lock")
        .iter()
        .find(|(_, person)| person.path == uri.path())
        .map(|(name, person)| (name.clone(), person.clone()));
    let Some((name, person)) = found else {
        return StatusCode::NOT_FOUND.into_response();
    };
    // Record who signed the fetch, when the signature verifies (authorized fetch).
    if let Some(key_id) =
        signature_parameters(&headers).and_then(|parameters| parameters.get("keyId").cloned())
        && verify_like_mastodon(&state, &Method::GET, &uri, &headers, None)
            .await
            .is_ok()
    {
        state.fetch_key_ids.lock().expect("lock").push(key_id);
    }
    let id = format!("{}{}", state.base_url, person.path.trim_start_matches('/'));
    let inbox = format!("{}/inbox", id.trim_end_matches('/'));
    let mut document = json!({
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": id,
        "type": "Person",
        "preferredUsername": name,
        "name": name.to_uppercase(),
        "summary": "<p>A test person</p>",
        "inbox": inbox,
        "outbox": format!("{}/outbox", id.trim_end_matches('/')),
        "followers": format!("{}/followers", id.trim_end_matches('/')),
        "following": format!("{}/following", id.trim_end_matches('/')),
        "url": format!("{}@{name}", state.base_url),
        "manuallyApprovesFollowers": false,
        "discoverable": true,
        "published": "2024-01-01T00:00:00Z",
        "endpoints": { "sharedInbox": format!("{}inbox", state.base_url) },
        "publicKey": { "id": format!("{id}#main-key"), "owner": id, "publicKeyPem": person.public_key_pem },
    });
    if let Value::Object(map) = &mut document {
        map.extend(person.profile.clone());
    }
    activity_json(document)
}

async fn note_document(
    State(state): State<Arc<PeerState>>,
    Path((name, id)): Path<(String, String)>,
    uri: Uri,
) -> Response {
    let path_and_query = uri
        .path_and_query()
        .map_or_else(|| uri.path().to_string(), ToString::to_string);
    if let Some(document) = documents::served_at(&state, &path_and_query) {
        return activity_json(document);
    }
    match state
        .notes
        .lock()
        .expect("lock")
        .get(&format!("{name}/{id}"))
    {
        Some(note) => activity_json(note.clone()),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn webfinger(
    State(state): State<Arc<PeerState>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let resource = query.get("resource").cloned().unwrap_or_default();
    let name = resource
        .trim_start_matches("acct:")
        .split('@')
        .next()
        .unwrap_or_default()
        .to_string();
    if !state.people.lock().expect("lock").contains_key(&name) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let id = format!("{}users/{name}", state.base_url);
    Json(json!({
        "subject": resource,
        "links": [{ "rel": "self", "type": "application/activity+json", "href": id }]
    }))
    .into_response()
}

fn activity_json(document: Value) -> Response {
    let mut response = Json(document).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        "application/activity+json; charset=utf-8"
            .parse()
            .expect("header"),
    );
    response
}

async fn inbox(
    State(state): State<Arc<PeerState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let activity: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    // RFC 9421 when `Signature-Input` is present, as Mastodon 4.5 decides.
    let scheme = if headers.contains_key("signature-input") {
        Some(SignatureScheme::Rfc9421)
    } else if headers.contains_key("signature") {
        Some(SignatureScheme::DraftCavage)
    } else {
        None
    };
    let accepted_only = *state.accepted_scheme_only.lock().expect("lock");
    let (verification, key_id) = match scheme {
        Some(refused) if accepted_only.is_some_and(|accepted| accepted != refused) => (
            Err(format!("this server does not take {refused:?} signatures")),
            None,
        ),
        Some(SignatureScheme::Rfc9421) => (
            rfc9421::verify(&state, &method, &uri, &headers, Some(&body[..])).await,
            rfc9421::key_id(&headers),
        ),
        _ => (
            verify_like_mastodon(&state, &method, &uri, &headers, Some(&body[..])).await,
            signature_parameters(&headers).and_then(|parameters| parameters.get("keyId").cloned()),
        ),
    };
    let answered = match *state.forced_inbox_status.lock().expect("lock") {
        Some(status) => status,
        None if verification.is_ok() => StatusCode::ACCEPTED,
        None => StatusCode::UNAUTHORIZED,
    };
    state.received.lock().expect("lock").push(ReceivedDelivery {
        inbox_path: uri.path().to_string(),
        activity,
        signature_verified: verification.is_ok(),
        verification_error: verification.as_ref().err().cloned(),
        key_id,
        scheme,
        answered,
    });
    answered
}

fn signature_parameters(headers: &HeaderMap) -> Option<HashMap<String, String>> {
    let header = headers.get("signature")?.to_str().ok()?;
    let mut parameters = HashMap::new();
    for part in header.split(',') {
        let (name, value) = part.split_once('=')?;
        parameters.insert(
            name.trim().to_string(),
            value.trim().trim_matches('"').to_string(),
        );
    }
    Some(parameters)
}

/// Verifies a draft-cavage signature the way Mastodon does: the signed headers must include
/// `(request-target)`, `host`, `date` and (for a body) `digest`; the date must be within 12
/// hours; the digest must match; the key is fetched from the `keyId`'s actor.
async fn verify_like_mastodon(
    state: &PeerState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Option<&[u8]>,
) -> Result<(), String> {
    let parameters = signature_parameters(headers).ok_or("no Signature header")?;
    let key_id = parameters.get("keyId").ok_or("no keyId")?;
    let algorithm = parameters
        .get("algorithm")
        .map(String::as_str)
        .unwrap_or("hs2019");
    if algorithm != "rsa-sha256" && algorithm != "hs2019" {
        return Err(format!("unsupported algorithm {algorithm}"));
    }
    let signed_header_names: Vec<&str> = parameters
        .get("headers")
        .map(|names| names.split(' ').collect())
        .unwrap_or_else(|| vec!["date"]);
    for required in ["(request-target)", "host", "date", "digest"] {
        if required == "digest" && body.is_none() {
            continue;
        }
        if !signed_header_names.contains(&required) {
            return Err(format!("{required} is not signed"));
        }
    }
    let date = headers
        .get(header::DATE)
        .and_then(|value| value.to_str().ok())
        .ok_or("no Date")?;
    let date = httpdate::parse_http_date(date).map_err(|_| "unreadable Date")?;
    let skew = SystemTime::now()
        .duration_since(date)
        .or_else(|error| Ok::<_, String>(error.duration()))?;
    if skew > Duration::from_secs(12 * 3600) {
        return Err("Date is more than 12 hours off".into());
    }
    if let Some(body) = body {
        let digest = headers
            .get("digest")
            .and_then(|value| value.to_str().ok())
            .ok_or("no Digest")?;
        if digest != format!("SHA-256={}", BASE64.encode(Sha256::digest(body))) {
            return Err("Digest does not match the body".into());
        }
    }
    let mut lines = Vec::new();
    for name in &signed_header_names {
        let value = match *name {
            "(request-target)" => format!(
                "{} {}",
                method.as_str().to_lowercase(),
                uri.path_and_query()
                    .map(|path| path.as_str())
                    .unwrap_or("/")
            ),
            other => headers
                .get(other)
                .and_then(|value| value.to_str().ok())
                .ok_or(format!("signed header {other} missing"))?
                .to_string(),
        };
        lines.push(format!("{name}: {value}"));
    }
    let signing_string = lines.join("\n");
    let signature = BASE64
        .decode(parameters.get("signature").ok_or("no signature")?)
        .map_err(|_| "signature is not base64")?;
    let public_key = fetch_public_key(state, key_id).await?;
    public_key
        .verify(
            Pkcs1v15Sign::new::<Sha256>(),
            &Sha256::digest(signing_string.as_bytes()),
            &signature,
        )
        .map_err(|_| "signature does not verify".to_string())
}

/// The public key `key_id` names, fetched from its actor (`<actor>#main-key`).
async fn fetch_public_key(state: &PeerState, key_id: &str) -> Result<RsaPublicKey, String> {
    let actor_url = key_id.split('#').next().unwrap_or_default();
    let actor: Value = state
        .client
        .get(actor_url)
        .header(header::ACCEPT, "application/activity+json")
        .send()
        .await
        .map_err(|error| format!("fetching {actor_url}: {error}"))?
        .json()
        .await
        .map_err(|error| format!("reading {actor_url}: {error}"))?;
    if actor["publicKey"]["id"] != key_id {
        return Err("keyId is not the actor's key".into());
    }
    let pem = actor["publicKey"]["publicKeyPem"]
        .as_str()
        .ok_or("actor has no key")?;
    RsaPublicKey::from_public_key_pem(pem).map_err(|error| format!("bad key: {error}"))
}
