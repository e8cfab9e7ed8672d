//! Token buckets: for the inboxes (each remote actor, and each remote server, may send a burst
//! of so many activities and then so many per minute) and for sign-ups (so many an hour from
//! one address). Beyond that the answer is 429 with `Retry-After`. In memory, per process: a
//! limit, not an accounting.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

/// Buckets keyed by actor or host.
#[derive(Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<String, Bucket>>,
}

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
        if buckets.len() > 10_000 {
            buckets.retain(|_, bucket| now - bucket.refilled_at < IDLE);
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
}
