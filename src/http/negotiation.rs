//! Content negotiation: whether a request asks for ActivityPub JSON or for a web page.

use axum::http::{HeaderMap, header};

/// The media type Kindred answers ActivityPub requests with.
pub const ACTIVITY_JSON: &str = "application/activity+json";
/// The media type the ActivityPub specification names (with the ActivityStreams profile).
pub const LD_JSON_ACTIVITYSTREAMS: &str =
    "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"";

/// True when the `Accept` header names `application/activity+json` or `application/ld+json`
/// (with any profile) before any HTML type. A browser, or curl's `*/*`, gets HTML.
pub fn wants_activity_json(headers: &HeaderMap) -> bool {
    let Some(accept) = headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    for media_range in accept.split(',') {
        let media_type = media_range
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        match media_type.as_str() {
            "application/activity+json" | "application/ld+json" => return true,
            "text/html" | "application/xhtml+xml" => return false,
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(header::ACCEPT, value);
        }
        headers
    }

    #[test]
    fn activitypub_clients_get_json() {
        assert!(wants_activity_json(&accept("application/activity+json")));
        assert!(wants_activity_json(&accept(LD_JSON_ACTIVITYSTREAMS)));
        assert!(wants_activity_json(&accept(
            "application/activity+json, application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\""
        )));
        assert!(wants_activity_json(&accept(
            "Application/Activity+JSON; charset=utf-8"
        )));
    }

    #[test]
    fn browsers_and_curl_get_html() {
        assert!(!wants_activity_json(&accept(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        )));
        assert!(!wants_activity_json(&accept("*/*")));
        assert!(!wants_activity_json(&HeaderMap::new()));
    }
}
