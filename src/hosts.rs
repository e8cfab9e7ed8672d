//! Host names as Kindred keys remote servers: in lower case, without a trailing dot, with the
//! port when there is one. Instance blocks, per-group server bans, the allowlist and the
//! instances table all compare hosts in this one form, so `Blocked.Test.` is `blocked.test`.
//! Used by `federation/` and `groups/` alike; it knows nothing of either.

use crate::error::{Error, Result};
use url::Url;

/// The host of a URL in canonical form: `host` or `host:port`.
pub fn host_of(url: &Url) -> Result<String> {
    let host = url
        .host_str()
        .ok_or_else(|| Error::bad_request(format!("{url} has no host")))?;
    let host = canonical_name(host);
    if host.is_empty() {
        return Err(Error::bad_request(format!("{url} has no host")));
    }
    Ok(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    })
}

/// As [`host_of`] for an id given as text; empty when it is not a URL with a host.
pub fn host_of_id(ap_id: &str) -> String {
    Url::parse(ap_id)
        .ok()
        .and_then(|url| host_of(&url).ok())
        .unwrap_or_default()
}

/// Reads a host typed by a person or written in the configuration (`lemmy.example`,
/// `Lemmy.Example.`, `friends.example:8443`) into canonical form, and refuses anything that is
/// not a host name or address with an optional port.
pub fn parse_host(text: &str) -> Result<String> {
    let refuse = || Error::invalid("give a host name, like lemmy.example");
    let text = text.trim();
    if text.is_empty()
        || text.contains(['/', '?', '#', '@', '\\'])
        || text.contains(char::is_whitespace)
        || text.contains(char::is_control)
    {
        return Err(refuse());
    }
    let url = Url::parse(&format!("https://{text}/")).map_err(|_| refuse())?;
    let host = url.host_str().ok_or_else(refuse)?;
    let name = canonical_name(host);
    // An IPv6 literal was checked by the URL parser; a name is made of sound labels.
    let labels_are_sound = name.starts_with('[')
        || (name.len() <= 253
            && name.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            }));
    if !labels_are_sound {
        return Err(refuse());
    }
    host_of(&url).map_err(|_| refuse())
}

/// Whether two hosts as people type them (`Lemmy.Example.`, `lemmy.example`, each with the
/// same port or none) name the same server.
pub fn same_host(left: &str, right: &str) -> bool {
    match (parse_host(left), parse_host(right)) {
        (Ok(left), Ok(right)) => left == right,
        _ => false,
    }
}

/// Lower case, without the one trailing dot that makes a name fully qualified.
fn canonical_name(host: &str) -> String {
    host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_trailing_dot_and_capitals_name_the_same_server() {
        for spelling in [
            "https://blocked.test/users/a",
            "https://blocked.test./users/a",
            "https://BLOCKED.Test./inbox",
        ] {
            assert_eq!(
                host_of(&Url::parse(spelling).unwrap()).unwrap(),
                "blocked.test"
            );
        }
        assert_eq!(
            host_of(&Url::parse("http://a.test.:8080/x").unwrap()).unwrap(),
            "a.test:8080"
        );
        assert_eq!(
            host_of_id("https://Friends.Example./u/b"),
            "friends.example"
        );
        assert_eq!(host_of_id("not a url"), "");
    }

    #[test]
    fn hosts_people_type_are_compared_as_servers() {
        assert!(same_host("Lemmy.Example.", "lemmy.example"));
        assert!(same_host("a.test.:8080", "A.TEST:8080"));
        assert!(!same_host("a.test:8080", "a.test"));
        assert!(!same_host("a.test", "b.test"));
        assert!(same_host("[::1]:8080", "[::1]:8080"));
    }

    #[test]
    fn typed_hosts_are_canonical_or_refused() {
        assert_eq!(parse_host(" Blocked.Test. ").unwrap(), "blocked.test");
        assert_eq!(
            parse_host("friends.example:8443").unwrap(),
            "friends.example:8443"
        );
        assert_eq!(parse_host("127.0.0.1").unwrap(), "127.0.0.1");
        assert_eq!(parse_host("[::1]:8080").unwrap(), "[::1]:8080");
        assert_eq!(parse_host("Café.example").unwrap(), "xn--caf-dma.example");
        for malformed in [
            "",
            ".",
            "a..b",
            "https://x.example",
            "x.example/path",
            "x example",
            "user@x.example",
            "x.example:99999",
            "x.example:port",
            "x.example\u{0}",
            "-",
        ] {
            assert!(parse_host(malformed).is_err(), "{malformed:?} was taken");
        }
    }
}
