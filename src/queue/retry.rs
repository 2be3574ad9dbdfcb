//! The retry policy: exponential backoff with full jitter, an upstream's `Retry-After`, and
//! a bound on attempts. Pure functions: the random value and the clock are arguments.

use std::time::{Duration, SystemTime};

/// When to try a failed delivery again, and when to give up.
///
/// After the `n`-th failed attempt (`n` from 1) the next one waits a random time in
/// `[0, min(max, initial × 2^(n-1))]` ("full jitter": retries of many events spread out
/// instead of arriving together), or the upstream's `Retry-After` if that is longer (capped at
/// `max`, so an upstream cannot park an event for days). After `max_attempts` failed
/// attempts the event is a dead letter.
///
/// ```
/// use hookgate::queue::{RetryDecision, RetryPolicy};
/// use std::time::Duration;
///
/// let policy = RetryPolicy::default(); // 10 attempts, 1 s doubling up to 10 min
/// // `random` is any u64: u64::MAX picks the top of the range, 0 the bottom.
/// assert_eq!(policy.decide(1, None, u64::MAX), RetryDecision::RetryAfter(Duration::from_secs(1)));
/// assert_eq!(policy.decide(4, None, u64::MAX), RetryDecision::RetryAfter(Duration::from_secs(8)));
/// assert_eq!(policy.decide(4, None, 0), RetryDecision::RetryAfter(Duration::ZERO));
/// // The upstream asked for 2 minutes: it gets them, whatever the jitter drew.
/// assert_eq!(
///     policy.decide(1, Some(Duration::from_secs(120)), 0),
///     RetryDecision::RetryAfter(Duration::from_secs(120)),
/// );
/// assert_eq!(policy.decide(10, None, 0), RetryDecision::DeadLetter);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Failed attempts after which an event is a dead letter (at least 1).
    pub max_attempts: u32,
    /// Upper bound of the first retry's delay.
    pub initial: Duration,
    /// Upper bound of any delay, `Retry-After` included.
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: crate::defaults::QUEUE_MAX_ATTEMPTS,
            initial: crate::defaults::QUEUE_RETRY_INITIAL,
            max: crate::defaults::QUEUE_RETRY_MAX,
        }
    }
}

/// What to do with an event whose delivery just failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Try again after this delay ([`Queue::retry`](super::Queue::retry)).
    RetryAfter(Duration),
    /// Give up: move it to the dead letters ([`Queue::bury`](super::Queue::bury)).
    DeadLetter,
}

impl RetryPolicy {
    /// A policy of `max_attempts` (at least 1), delays from `initial` doubling up to `max`.
    pub fn new(max_attempts: u32, initial: Duration, max: Duration) -> Self {
        RetryPolicy {
            max_attempts: max_attempts.max(1),
            initial,
            max: max.max(initial),
        }
    }

    /// The upper bound of the delay after `failed` attempts: `min(max, initial × 2^(failed-1))`.
    ///
    /// ```
    /// use hookgate::queue::RetryPolicy;
    /// use std::time::Duration;
    /// let policy = RetryPolicy::new(10, Duration::from_secs(1), Duration::from_secs(600));
    /// assert_eq!(policy.ceiling(1), Duration::from_secs(1));
    /// assert_eq!(policy.ceiling(3), Duration::from_secs(4));
    /// assert_eq!(policy.ceiling(60), Duration::from_secs(600));
    /// ```
    pub fn ceiling(&self, failed: u32) -> Duration {
        let doublings = failed.saturating_sub(1).min(63);
        self.initial
            .checked_mul(1u32.checked_shl(doublings).unwrap_or(u32::MAX))
            .map_or(self.max, |delay| delay.min(self.max))
    }

    /// The decision after `failed` failed attempts (this one included, so at least 1).
    ///
    /// `retry_after` is the upstream's `Retry-After` ([`parse_retry_after`]); `random` is a
    /// uniformly random `u64` (see [`random_u64`]), an argument so that tests pin it.
    pub fn decide(&self, failed: u32, retry_after: Option<Duration>, random: u64) -> RetryDecision {
        if failed >= self.max_attempts {
            return RetryDecision::DeadLetter;
        }
        let ceiling = self.ceiling(failed);
        // random / u64::MAX of the ceiling: 0 and u64::MAX reach both ends of the range.
        let jittered = match ceiling.as_nanos().checked_mul(u128::from(random)) {
            Some(product) => {
                let nanos = product / u128::from(u64::MAX);
                Duration::new(
                    u64::try_from(nanos / 1_000_000_000).unwrap_or(u64::MAX),
                    (nanos % 1_000_000_000) as u32,
                )
            }
            // Ceilings beyond 10^19 s: nanosecond exactness no longer matters.
            None => Duration::try_from_secs_f64(
                ceiling.as_secs_f64() * (random as f64 / u64::MAX as f64),
            )
            .map_or(ceiling, |delay| delay.min(ceiling)),
        };
        let asked = retry_after.map_or(Duration::ZERO, |after| after.min(self.max));
        RetryDecision::RetryAfter(jittered.max(asked))
    }
}

/// An upstream's `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date, as the
/// time to wait from `now`. `None` if it is neither (an HTTP-date in the past is zero).
///
/// ```
/// use hookgate::queue::parse_retry_after;
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
/// let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000); // Tue, 14 Nov 2023 22:13:20 GMT
/// assert_eq!(parse_retry_after(b"120", now), Some(Duration::from_secs(120)));
/// assert_eq!(parse_retry_after(b"Tue, 14 Nov 2023 22:14:20 GMT", now), Some(Duration::from_secs(60)));
/// assert_eq!(parse_retry_after(b"Tue, 14 Nov 2023 22:00:00 GMT", now), Some(Duration::ZERO));
/// assert_eq!(parse_retry_after(b"soon", now), None);
/// ```
pub fn parse_retry_after(value: &[u8], now: SystemTime) -> Option<Duration> {
    let text = std::str::from_utf8(value).ok()?.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        // A huge number of seconds is still "a long time": saturate rather than ignore it.
        return Some(Duration::from_secs(text.parse().unwrap_or(u64::MAX)));
    }
    let at = httpdate::parse_http_date(text).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A random `u64` for [`RetryPolicy::decide`]'s jitter (std's randomly keyed SipHash of a
/// counter: no RNG dependency, and jitter needs no cryptographic strength).
///
/// ```
/// assert_ne!(hookgate::queue::random_u64(), hookgate::queue::random_u64());
/// ```
pub fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    const S: Duration = Duration::from_secs(1);

    /// A small seeded generator (SplitMix64), so the jitter tests are reproducible.
    fn splitmix(seed: &mut u64) -> u64 {
        *seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    #[test]
    fn the_ceiling_doubles_up_to_max_without_overflow() {
        let policy = RetryPolicy::new(100, S, 600 * S);
        let ceilings: Vec<u64> = (1..=12).map(|n| policy.ceiling(n).as_secs()).collect();
        assert_eq!(ceilings, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600]);
        assert_eq!(policy.ceiling(0), S, "0 failures reads as the first");
        assert_eq!(policy.ceiling(u32::MAX), 600 * S);
        let huge = RetryPolicy::new(100, Duration::MAX / 2, Duration::MAX);
        assert_eq!(huge.ceiling(40), Duration::MAX);
    }

    #[test]
    fn full_jitter_stays_in_range_and_spreads() {
        let policy = RetryPolicy::default();
        let mut seed = 42;
        for failed in 1..policy.max_attempts {
            let ceiling = policy.ceiling(failed);
            let delays: Vec<Duration> = (0..2000)
                .map(|_| match policy.decide(failed, None, splitmix(&mut seed)) {
                    RetryDecision::RetryAfter(delay) => delay,
                    RetryDecision::DeadLetter => panic!("attempt {failed} is retried"),
                })
                .collect();
            assert!(delays.iter().all(|d| *d <= ceiling));
            // Uniform over [0, ceiling]: the mean is near the middle, and both halves occur.
            let mean = delays.iter().sum::<Duration>() / delays.len() as u32;
            assert!(
                mean > ceiling.mul_f64(0.45) && mean < ceiling.mul_f64(0.55),
                "mean {mean:?} of ceiling {ceiling:?}"
            );
            assert!(delays.iter().any(|d| *d < ceiling / 10));
            assert!(delays.iter().any(|d| *d > ceiling.mul_f64(0.9)));
        }
    }

    #[test]
    fn the_same_random_value_gives_the_same_delay() {
        let policy = RetryPolicy::default();
        let (mut a, mut b) = (7, 7);
        for failed in 1..9 {
            assert_eq!(
                policy.decide(failed, None, splitmix(&mut a)),
                policy.decide(failed, None, splitmix(&mut b))
            );
        }
        // Half of u64 is half the ceiling (to the nanosecond).
        assert_eq!(
            policy.decide(3, None, u64::MAX / 2),
            RetryDecision::RetryAfter(2 * S - Duration::from_nanos(1))
        );
        assert_eq!(
            policy.decide(3, None, u64::MAX),
            RetryDecision::RetryAfter(4 * S)
        );
        let huge = RetryPolicy::new(100, Duration::MAX / 4, Duration::MAX);
        assert_eq!(
            huge.decide(3, None, u64::MAX),
            RetryDecision::RetryAfter(huge.ceiling(3))
        );
    }

    #[test]
    fn retry_after_is_a_floor_capped_at_max() {
        let policy = RetryPolicy::new(10, S, 60 * S);
        assert_eq!(
            policy.decide(1, Some(30 * S), u64::MAX),
            RetryDecision::RetryAfter(30 * S)
        );
        // Shorter than the jitter drew: the jitter wins (never earlier than asked).
        assert_eq!(
            policy.decide(6, Some(S), u64::MAX),
            RetryDecision::RetryAfter(32 * S)
        );
        assert_eq!(
            policy.decide(1, Some(3600 * S), 0),
            RetryDecision::RetryAfter(60 * S)
        );
    }

    #[test]
    fn max_attempts_then_dead_letter() {
        let policy = RetryPolicy::new(3, S, 10 * S);
        assert!(matches!(
            policy.decide(1, None, 5),
            RetryDecision::RetryAfter(_)
        ));
        assert!(matches!(
            policy.decide(2, None, 5),
            RetryDecision::RetryAfter(_)
        ));
        assert_eq!(policy.decide(3, None, 5), RetryDecision::DeadLetter);
        assert_eq!(
            policy.decide(4, Some(S), 5),
            RetryDecision::DeadLetter,
            "Retry-After does not buy more attempts"
        );
        assert_eq!(RetryPolicy::new(0, S, S).max_attempts, 1);
        assert_eq!(
            RetryPolicy::new(1, S, S).decide(1, None, 0),
            RetryDecision::DeadLetter
        );
    }

    #[test]
    fn retry_after_forms() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after(b"0", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after(b" 5 ", now), Some(5 * S));
        assert_eq!(
            parse_retry_after(b"99999999999999999999999", now),
            Some(Duration::from_secs(u64::MAX))
        );
        // IMF-fixdate, obsolete RFC 850 and asctime forms.
        assert_eq!(
            parse_retry_after(b"Tue, 14 Nov 2023 22:13:50 GMT", now),
            Some(30 * S)
        );
        assert_eq!(
            parse_retry_after(b"Tuesday, 14-Nov-23 22:13:50 GMT", now),
            Some(30 * S)
        );
        assert_eq!(
            parse_retry_after(b"Tue Nov 14 22:13:50 2023", now),
            Some(30 * S)
        );
        for bad in [&b""[..], b"-1", b"1.5", b"tomorrow", b"\xff\xfe"] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad:?}");
        }
    }
}
