//! Token buckets, for the inboxes (each remote actor, and each remote server, may send a burst
//! of so many activities and then so many per minute), for fetches of unknown signers, for
//! sign-ups and for requests per client address. Beyond that the answer is 429 with
//! `Retry-After`. In memory, per process: a limit, not an accounting. Used by `federation/`
//! and `http/` alike.

use std::{collections::HashMap, net::IpAddr, sync::Mutex, time::Duration};
// Tokio's clock, which is the system's except in tests that pause and advance it.
use tokio::time::Instant;

/// Buckets keyed by actor, host or client address.
#[derive(Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<String, Bucket>>,
    /// When idle buckets were last forgotten.
    swept_at: Mutex<Option<Instant>>,
}

/// How a client address is keyed in a limit: an IPv4 address as it is, an IPv6 address by its
/// /64 network, since one subscriber commonly holds a whole /64 and could otherwise take a
/// fresh allowance from each of its addresses.
pub fn address_key(address: IpAddr) -> String {
    match address.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let [a, b, c, d, ..] = v6.segments();
            format!("{a:x}:{b:x}:{c:x}:{d:x}::/64")
        }
    }
}

/// Beyond this many buckets, idle ones are forgotten (at most once a second); beyond
/// [`MOST_BUCKETS`] even after that, the map starts over rather than grow without bound.
const SWEEP_ABOVE: usize = 10_000;
const MOST_BUCKETS: usize = 200_000;

struct Bucket {
    tokens: f64,
    refilled_at: Instant,
}

/// Buckets untouched this long are forgotten, so the map stays small.
const IDLE: Duration = Duration::from_secs(600);

impl RateLimiter {
    /// Takes one token from `key`'s bucket (capacity and refill both `per_minute`); when it is
    /// empty, how long until the next token.
    pub fn take(&self, key: &str, per_minute: u32) -> Result<(), Duration> {
        self.take_from(key, per_minute, f64::from(per_minute) / 60.0)
    }

    /// Whether `key`'s bucket has a token, without taking it: checked before a request is
    /// verified, charged (with [`RateLimiter::take`]) only once it is, so forged
    /// requests cannot spend a real sender's allowance.
    pub fn peek(&self, key: &str, per_minute: u32) -> Result<(), Duration> {
        if per_minute == 0 {
            return Ok(());
        }
        let Ok(buckets) = self.buckets.lock() else {
            return Ok(());
        };
        let Some(bucket) = buckets.get(key) else {
            return Ok(());
        };
        let per_second = f64::from(per_minute) / 60.0;
        let tokens = (bucket.tokens + bucket.refilled_at.elapsed().as_secs_f64() * per_second)
            .min(f64::from(per_minute));
        if tokens >= 1.0 {
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - tokens) / per_second).max(Duration::from_secs(1)))
        }
    }

    /// Takes one token from a bucket of `capacity` refilled at `per_second`.
    pub fn take_from(&self, key: &str, capacity: u32, per_second: f64) -> Result<(), Duration> {
        if capacity == 0 {
            return Ok(());
        }
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        let now = Instant::now();
        if buckets.len() > SWEEP_ABOVE {
            let mut swept_at = self
                .swept_at
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if swept_at.is_none_or(|at| now - at > Duration::from_secs(1)) {
                buckets.retain(|_, bucket| now - bucket.refilled_at < IDLE);
                *swept_at = Some(now);
            }
            if buckets.len() > MOST_BUCKETS {
                buckets.clear();
            }
        }
        let capacity = f64::from(capacity);
        let bucket = buckets.entry(key.to_string()).or_insert(Bucket {
            tokens: capacity,
            refilled_at: now,
        });
        let elapsed = (now - bucket.refilled_at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(capacity);
        bucket.refilled_at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / per_second)
                .max(Duration::from_secs(1)))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_refused_with_a_wait() {
        let limiter = RateLimiter::default();
        for _ in 0..3 {
            assert!(limiter.take("a", 3).is_ok());
        }
        let wait = limiter.take("a", 3).unwrap_err();
        assert!(
            wait >= Duration::from_secs(1) && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        assert!(
            limiter.take("b", 3).is_ok(),
            "another key has its own bucket"
        );
        assert!(limiter.take("a", 0).is_ok(), "0 turns the limit off");
        assert!(
            limiter.peek("a", 3).is_err(),
            "peeking sees the empty bucket"
        );
        assert!(limiter.peek("c", 3).is_ok(), "and an unknown key as full");
    }

    #[tokio::test(start_paused = true)]
    async fn an_emptied_bucket_refills_as_time_passes_and_not_before() {
        let limiter = RateLimiter::default();
        for _ in 0..6 {
            assert!(limiter.take("a", 6).is_ok());
        }
        let wait = limiter.take("a", 6).unwrap_err();
        assert_eq!(
            wait,
            Duration::from_secs(10),
            "six a minute: one every ten seconds"
        );
        tokio::time::advance(Duration::from_secs(9)).await;
        assert!(limiter.peek("a", 6).is_err(), "not before the wait is over");
        assert!(limiter.take("a", 6).is_err());
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(
            limiter.take("a", 6).is_ok(),
            "one token back after ten seconds"
        );
        assert!(limiter.take("a", 6).is_err(), "and only one");
        tokio::time::advance(Duration::from_secs(3600)).await;
        for _ in 0..6 {
            assert!(
                limiter.take("a", 6).is_ok(),
                "a full bucket after a long wait"
            );
        }
        assert!(
            limiter.take("a", 6).is_err(),
            "which holds no more than its capacity"
        );
    }

    #[test]
    fn an_ipv6_network_shares_one_allowance() {
        let one: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let other: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let elsewhere: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(one), address_key(other));
        assert_ne!(address_key(one), address_key(elsewhere));
        assert_eq!(address_key("192.0.2.7".parse().unwrap()), "192.0.2.7");
        assert_eq!(
            address_key("::ffff:192.0.2.7".parse().unwrap()),
            "192.0.2.7"
        );
    }
}
