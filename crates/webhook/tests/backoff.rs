//! The retry schedule, pure: seeded randomness, no clocks.

use std::time::Duration;

use rampart_webhook::Backoff;
use rand::rngs::StdRng;
use rand::SeedableRng;

fn rng() -> StdRng {
    StdRng::seed_from_u64(0x5eed)
}

const SECS: fn(u64) -> Duration = Duration::from_secs;

#[test]
fn defaults_match_the_design() {
    let backoff = Backoff::default();
    assert_eq!(backoff.base, SECS(5));
    assert_eq!(backoff.max_delay, SECS(600));
    assert_eq!(backoff.give_up_after, SECS(24 * 3600));
}

/// Each row: the attempt that just failed and the bounds of the wait before the next one
/// (equal jitter: half the ceiling fixed, the other half random).
const SCHEDULE: &[(u32, u64, u64)] = &[
    (1, 2_500, 5_000),
    (2, 5_000, 10_000),
    (3, 10_000, 20_000),
    (4, 20_000, 40_000),
    (5, 40_000, 80_000),
    (6, 80_000, 160_000),
    (7, 160_000, 320_000),
    (8, 300_000, 600_000), // 640 s capped at 600
    (9, 300_000, 600_000),
    (30, 300_000, 600_000),
    (u32::MAX, 300_000, 600_000),
];

#[test]
fn delays_stay_within_the_jitter_bounds() {
    let backoff = Backoff::default();
    let mut rng = rng();
    for &(attempt, low, high) in SCHEDULE {
        for _ in 0..200 {
            let delay = backoff.delay(attempt, &mut rng);
            assert!(
                delay >= Duration::from_millis(low) && delay <= Duration::from_millis(high),
                "attempt {attempt}: {delay:?} not in [{low}, {high}] ms"
            );
        }
    }
}

#[test]
fn attempt_zero_counts_as_the_first() {
    let backoff = Backoff::default();
    let delay = backoff.delay(0, &mut rng());
    assert!(
        delay >= Duration::from_millis(2_500) && delay <= SECS(5),
        "{delay:?}"
    );
}

#[test]
fn delays_grow_until_the_cap() {
    let backoff = Backoff::default();
    let mut rng = rng();
    for _ in 0..100 {
        let delays: Vec<Duration> = (1..=12).map(|n| backoff.delay(n, &mut rng)).collect();
        // Below the cap each wait's floor is the previous wait's ceiling, so the waits never
        // shrink (attempt 8's floor, 300 s, is under attempt 7's ceiling, 320 s).
        assert!(delays[..7].windows(2).all(|w| w[0] <= w[1]), "{delays:?}");
        assert!(delays[7] > delays[0] * 30, "{delays:?}");
        assert!(delays.iter().all(|&d| d <= SECS(600)), "{delays:?}");
    }
}

#[test]
fn delays_are_jittered_across_the_whole_upper_half() {
    let backoff = Backoff::default();
    let mut rng = rng();
    let samples: Vec<Duration> = (0..2000).map(|_| backoff.delay(3, &mut rng)).collect();
    let mut distinct = samples.clone();
    distinct.sort();
    distinct.dedup();
    assert!(
        distinct.len() > 1900,
        "only {} distinct delays",
        distinct.len()
    );
    let below_15 = samples.iter().filter(|&&d| d < SECS(15)).count();
    assert!(
        (800..1200).contains(&below_15),
        "{below_15} of 2000 below the midpoint"
    );
    assert!(samples.iter().any(|&d| d < Duration::from_millis(10_500)));
    assert!(samples.iter().any(|&d| d > Duration::from_millis(19_500)));
}

#[test]
fn the_same_seed_gives_the_same_schedule() {
    let backoff = Backoff::default();
    let (mut a, mut b) = (rng(), rng());
    let first: Vec<Duration> = (1..20).map(|n| backoff.delay(n, &mut a)).collect();
    let second: Vec<Duration> = (1..20).map(|n| backoff.delay(n, &mut b)).collect();
    assert_eq!(first, second);
    let other: Vec<Duration> = (1..20)
        .map(|n| backoff.delay(n, &mut StdRng::seed_from_u64(7)))
        .collect();
    assert_ne!(first, other);
}

#[test]
fn retries_stop_once_give_up_after_has_passed() {
    let backoff = Backoff::default();
    let mut rng = rng();
    let day = SECS(24 * 3600);
    for age in [Duration::ZERO, SECS(1), day - Duration::from_millis(1)] {
        assert!(backoff.next_attempt(5, age, &mut rng).is_some(), "{age:?}");
    }
    for age in [day, day + SECS(1), SECS(7 * 24 * 3600)] {
        assert_eq!(backoff.next_attempt(5, age, &mut rng), None, "{age:?}");
    }
}

#[test]
fn a_whole_schedule_ends_about_a_day_after_the_first_attempt() {
    let backoff = Backoff::default();
    let mut rng = rng();
    let mut age = Duration::ZERO;
    let mut failures = 0;
    while let Some(wait) = backoff.next_attempt(failures + 1, age, &mut rng) {
        failures += 1;
        age += wait;
    }
    // The last retry starts before the deadline plus one maximal wait.
    assert!(age >= backoff.give_up_after, "{age:?}");
    assert!(age <= backoff.give_up_after + backoff.max_delay, "{age:?}");
    // ~10 min of doubling, then one attempt every 5–10 min for the rest of the day.
    assert!((145..=300).contains(&failures), "{failures} retries");
}

#[test]
fn a_custom_schedule_is_honoured() {
    let backoff = Backoff {
        base: Duration::from_millis(100),
        max_delay: SECS(1),
        give_up_after: SECS(10),
    };
    let mut rng = rng();
    let d1 = backoff.delay(1, &mut rng);
    assert!(d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100));
    let d10 = backoff.delay(10, &mut rng);
    assert!(d10 >= Duration::from_millis(500) && d10 <= SECS(1));
    assert_eq!(backoff.next_attempt(1, SECS(10), &mut rng), None);
}
