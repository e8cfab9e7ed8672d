//! The JSON-LD `@context` values Kindred puts on what it serves and sends.

use serde_json::{Value, json};

/// For actors: ActivityStreams, the security vocabulary (publicKey) and the extension terms
/// Lemmy and Mastodon use for groups.
pub fn actor_context() -> Value {
    json!([
        "https://www.w3.org/ns/activitystreams",
        "https://w3id.org/security/v1",
        {
            "lemmy": "https://join-lemmy.org/ns#",
            "toot": "http://joinmastodon.org/ns#",
            "postingRestrictedToMods": "lemmy:postingRestrictedToMods",
            "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
            "discoverable": "toot:discoverable",
            "featured": { "@id": "toot:featured", "@type": "@id" },
            "sensitive": "as:sensitive",
            "source": "as:source"
        }
    ])
}

/// For activities, objects and collections.
pub fn object_context() -> Value {
    json!([
        "https://www.w3.org/ns/activitystreams",
        {
            "lemmy": "https://join-lemmy.org/ns#",
            "sensitive": "as:sensitive",
            "context": { "@id": "as:context", "@type": "@id" }
        }
    ])
}
