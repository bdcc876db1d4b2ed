//! `HammingIndex` against brute force: a million random hashes with planted neighbours, the
//! reference needle/haystack set, and random inserts and deletes.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use rampart_hashbank::HammingIndex;
use rampart_pdq::PdqHash;

/// SplitMix64: a small seeded generator, so the tests need no RNG crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn hash(&mut self) -> PdqHash {
        PdqHash::from_limbs([self.next(), self.next(), self.next(), self.next()])
    }
}

/// `h` with `d` distinct random bits flipped.
fn flip_random(rng: &mut Rng, h: PdqHash, d: usize) -> PdqHash {
    let mut bits: Vec<usize> = (0..256).collect();
    let mut l = h.limbs();
    for i in 0..d {
        let j = i + rng.below(256 - i);
        bits.swap(i, j);
        l[bits[i] / 64] ^= 1 << (bits[i] % 64);
    }
    PdqHash::from_limbs(l)
}

/// `h` with `d` bits flipped, spread round-robin over `chunks` equal-ish chunks, so that the
/// differences are as even as possible across the index's substrings (the hard case for
/// multi-index hashing).
fn flip_spread(h: PdqHash, d: usize, chunks: usize, phase: usize) -> PdqHash {
    let mut l = h.limbs();
    let width = 256 / chunks;
    for i in 0..d {
        let chunk = (i + phase) % chunks;
        let bit = chunk * width + (i / chunks + phase) % width;
        l[bit / 64] ^= 1 << (bit % 64);
    }
    PdqHash::from_limbs(l)
}

fn brute_force(items: &[(u32, PdqHash)], q: &PdqHash, radius: u32) -> Vec<(u32, u32)> {
    let mut out: Vec<(u32, u32)> = items
        .iter()
        .filter_map(|(id, h)| {
            let d = q.distance(h);
            (d <= radius).then_some((*id, d))
        })
        .collect();
    out.sort_by_key(|&(id, d)| (d, id));
    out
}

/// A million random hashes, 300 queries each with 41 planted neighbours at distances 0..=40.
#[test]
fn million_hashes_with_planted_neighbours_match_brute_force() {
    let mut rng = Rng(0x5eed_0001);
    let queries: Vec<PdqHash> = (0..300).map(|_| rng.hash()).collect();
    let mut items: Vec<(u32, PdqHash)> = Vec::with_capacity(1_000_000);
    let mut planted = Vec::new(); // (query, id, distance)
    for (qi, q) in queries.iter().enumerate() {
        for d in 0..=40usize {
            let h = match qi % 3 {
                0 => flip_random(&mut rng, *q, d),
                1 => flip_spread(*q, d, 16, qi),
                _ => flip_spread(*q, d, 12, qi),
            };
            let id = (items.len() as u32).wrapping_mul(2_654_435_761); // scattered ids
            planted.push((qi, id, d as u32));
            items.push((id, h));
        }
    }
    while items.len() < 1_000_000 {
        let id = (items.len() as u32).wrapping_mul(2_654_435_761);
        items.push((id, rng.hash()));
    }

    let index = HammingIndex::from_items(items.iter().copied());
    assert_eq!(index.len(), 1_000_000);
    assert!(index.table_count() > 0);

    let results = index.search_batch(&queries, 31);
    for (qi, q) in queries.iter().enumerate() {
        let expected = brute_force(&items, q, 31);
        assert_eq!(results[qi], expected, "query {qi}");
        let found: HashSet<u32> = results[qi].iter().map(|r| r.0).collect();
        for &(pq, id, d) in planted.iter().filter(|p| p.0 == qi) {
            assert_eq!(found.contains(&id), d <= 31, "query {pq}, planted at {d}");
        }
    }
    // Other radii on a few queries, single-query path.
    for radius in [0, 1, 8, 15, 16, 17, 24, 32, 40] {
        for q in queries.iter().step_by(37) {
            assert_eq!(
                index.search(q, radius),
                brute_force(&items, q, radius),
                "r={radius}"
            );
        }
    }
}

/// Every table count, and the linear scan, on a smaller set and many radii.
#[test]
fn every_table_count_is_exact() {
    let mut rng = Rng(0x5eed_0002);
    let queries: Vec<PdqHash> = (0..40).map(|_| rng.hash()).collect();
    let mut items = Vec::new();
    for q in &queries {
        for d in [
            0, 1, 2, 3, 5, 8, 11, 12, 13, 16, 20, 24, 31, 32, 33, 40, 48, 64,
        ] {
            let h = if items.len() % 2 == 0 {
                flip_random(&mut rng, *q, d)
            } else {
                flip_spread(*q, d, 11 + items.len() % 7, d)
            };
            items.push((items.len() as u32 * 3, h));
        }
    }
    while items.len() < 30_000 {
        items.push((items.len() as u32 * 3, rng.hash()));
    }
    for tables in [
        None,
        Some(11),
        Some(12),
        Some(13),
        Some(16),
        Some(20),
        Some(32),
        Some(64),
    ] {
        let mut index = HammingIndex::with_table_count(tables);
        index.extend(items.iter().copied());
        index.merge();
        for radius in [0, 1, 7, 10, 11, 12, 13, 20, 31, 32, 45, 64] {
            for q in &queries {
                assert_eq!(
                    index.search(q, radius),
                    brute_force(&items, q, radius),
                    "tables {tables:?}, radius {radius}"
                );
            }
        }
    }
}

fn testdata() -> PathBuf {
    match std::env::var_os("RAMPART_TESTDATA") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(
            std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()),
        )
        .join("../../data/testdata"),
    }
}

fn read_hashes(name: &str) -> Vec<PdqHash> {
    let path = testdata().join("pdq").join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| l.parse().unwrap())
        .collect()
}

/// The reference's `mih-query -d 31 needles.txt haystack.txt`: exactly the 250 pairs.
#[test]
fn needles_in_the_haystack_match_the_reference() {
    let haystack = read_hashes("haystack.txt");
    let needles = read_hashes("needles.txt");
    assert_eq!((haystack.len(), needles.len()), (1350, 100));
    let path = testdata().join("pdq/needle-matches.csv");
    let expected: BTreeMap<(u32, u32), u32> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<u32> = l.split(',').map(|x| x.parse().unwrap()).collect();
            ((f[0], f[1]), f[2])
        })
        .collect();
    assert_eq!(expected.len(), 250);

    // The default (linear, for 1350 items) and forced multi-index layouts.
    for tables in [Some(None), Some(Some(12)), Some(Some(16)), None] {
        let mut index = match tables {
            Some(t) => HammingIndex::with_table_count(t),
            None => HammingIndex::new(),
        };
        index.extend((1..).zip(haystack.iter().copied()));
        index.merge();
        let mut got = BTreeMap::new();
        for (line, n) in (1..).zip(&needles) {
            for (hay, d) in index.search(n, 31) {
                got.insert((line, hay), d);
            }
        }
        assert_eq!(got, expected, "tables {tables:?}");
        // The same 250 at 32, per the README.
        let at_32: usize = index.search_batch(&needles, 32).iter().map(Vec::len).sum();
        assert_eq!(at_32, 250);
    }
}

/// Random inserts, replacements and removals, with queries checked against a plain map.
#[test]
fn inserts_and_removals_stay_equal_to_brute_force() {
    for (seed, tables) in [
        (3, None),
        (4, Some(Some(16))),
        (5, Some(Some(12))),
        (6, Some(None)),
    ] {
        let mut rng = Rng(seed);
        let mut index = match tables {
            Some(t) => HammingIndex::with_table_count(t),
            None => HammingIndex::new(),
        };
        let mut model: BTreeMap<u32, PdqHash> = BTreeMap::new();
        let centres: Vec<PdqHash> = (0..8).map(|_| rng.hash()).collect();
        for step in 0..40_000 {
            let id = rng.below(12_000) as u32;
            match rng.below(10) {
                0..=5 => {
                    // Clustered around the centres so that queries find things.
                    let c = centres[rng.below(centres.len())];
                    let d = rng.below(48);
                    let h = flip_random(&mut rng, c, d);
                    assert_eq!(index.insert(id, h), model.insert(id, h).is_none());
                }
                _ => assert_eq!(index.remove(id), model.remove(&id).is_some()),
            }
            assert_eq!(index.len(), model.len());
            if step % 500 == 0 {
                let items: Vec<(u32, PdqHash)> = model.iter().map(|(&i, &h)| (i, h)).collect();
                for c in &centres {
                    let q = flip_random(&mut rng, *c, 6);
                    assert_eq!(
                        index.search(&q, 31),
                        brute_force(&items, &q, 31),
                        "seed {seed} step {step}"
                    );
                }
                let probe = rng.below(12_000) as u32;
                assert_eq!(index.get(probe), model.get(&probe).copied());
            }
        }
        let mut all: Vec<(u32, PdqHash)> = index.iter().collect();
        all.sort_by_key(|e| e.0);
        let expected: Vec<(u32, PdqHash)> = model.into_iter().collect();
        assert_eq!(all, expected);
    }
}
