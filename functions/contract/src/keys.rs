//! The state `unique` and `primaryKey` keep across a file: every distinct key, and the line
//! it was first seen on. It grows with the distinct keys by nature, so it is kept compact:
//! each key's bytes and line are appended to an arena of large chunks (no allocation per
//! key, no copy when the arena grows), and one hash table holds only where each entry
//! starts and 32 bits of its hash (12 bytes a slot). Keys are compared byte for byte on a hash match, so a
//! collision is never taken for a duplicate.

use std::hash::BuildHasher;

use hashbrown::hash_table::Entry;
use hashbrown::{DefaultHashBuilder, HashTable};

/// The largest chunk the arena allocates (a longer entry gets a chunk of its own size).
const MAX_CHUNK: usize = 1 << 20;
/// Out-of-order keys below which the run is kept whatever its length: a few keys out of
/// place (a correction appended to a sorted export) do not cost the run.
const MIN_UNORDERED: usize = 1024;
/// The first chunk: a file with few keys does not pay for a large one.
const FIRST_CHUNK: usize = 4 * 1024;
/// Where an entry starts: its chunk in the high bits, its offset in the low ones.
const OFFSET_BITS: u32 = 40;

/// Distinct keys, each with the line it was first seen on.
pub(crate) struct KeySet {
    /// Entries, each `varint(key length) key varint(line)`; a chunk is never reallocated.
    chunks: Vec<Vec<u8>>,
    /// Entries whose keys rose with every insertion, in that order (a file sorted by its
    /// key, as exports usually are, puts every key here): a key above the last is new
    /// after one comparison, with no hashing and no random access, and one below it is
    /// looked for by binary search. 8 bytes a key.
    run: Vec<u64>,
    /// The other keys' entries (all of them once the run is given up).
    table: HashTable<Slot>,
    /// Whether the run is still in use: a file far from its key's order (sorted by another
    /// column, or by the key's fields the other way round) gives it up once its
    /// out-of-order keys are an eighth of the run's, and moves the run into the table, so
    /// that each key then costs one hash probe instead of a binary search of the run
    /// (random reads of the arena) and then a probe.
    ordered: bool,
    /// foldhash with a random seed per set: several times faster than SipHash on keys of
    /// a few bytes, and the seed keeps a crafted file from choosing colliding keys.
    hasher: DefaultHashBuilder,
}

/// A table slot, 12 bytes: where the entry starts (two halves, so that the slot needs no
/// 8-byte alignment) and 32 bits of its key's hash, from which the table's hash is
/// rebuilt when it grows, without reading the key back from the arena (a cache miss each).
#[derive(Clone, Copy)]
struct Slot {
    at: [u32; 2],
    hash: u32,
}

impl Slot {
    fn at(self) -> u64 {
        (u64::from(self.at[0]) << 32) | u64::from(self.at[1])
    }
}

/// The table's hash of a key's 32 stored bits: an odd multiplier spreads them over the
/// high bits the table probes by and keeps the low ones it indexes by as they are.
fn spread(hash: u32) -> u64 {
    u64::from(hash).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ u64::from(hash)
}

impl KeySet {
    pub(crate) fn new() -> KeySet {
        KeySet {
            chunks: Vec::new(),
            run: Vec::new(),
            table: HashTable::new(),
            ordered: true,
            hasher: DefaultHashBuilder::default(),
        }
    }

    /// The line `key` was first seen on; `None`, recording it as seen on `line`, when it
    /// is new.
    pub(crate) fn first_or_insert(&mut self, key: &[u8], line: u64) -> Option<u64> {
        if !self.ordered {
            return self.table_first_or_insert(key, line);
        }
        let above_run = self.run.last().is_none_or(|&last| key > read_entry(&self.chunks, last).0);
        if above_run {
            // Above every key of the run: new unless the table has it.
            if let Some(found) = self.find_in_table(key) {
                return Some(found);
            }
            let at = append(&mut self.chunks, key, line);
            self.run.push(at);
            return None;
        }
        let chunks = &self.chunks;
        if let Ok(i) = self.run.binary_search_by(|&at| read_entry(chunks, at).0.cmp(key)) {
            return Some(read_entry(chunks, self.run[i]).1);
        }
        let found = self.table_first_or_insert(key, line);
        if self.table.len() >= MIN_UNORDERED && self.table.len() * 8 >= self.run.len() {
            self.give_up_the_run();
        }
        found
    }

    /// Moves the run's entries into the table, once, and takes every key there from now on.
    fn give_up_the_run(&mut self) {
        self.ordered = false;
        self.table.reserve(self.run.len(), |s| spread(s.hash));
        for at in std::mem::take(&mut self.run) {
            let hash = self.hasher.hash_one(read_entry(&self.chunks, at).0) as u32;
            // Run and table never share a key, so each goes in as it is.
            self.table
                .insert_unique(spread(hash), Slot { at: [(at >> 32) as u32, at as u32], hash }, |s| spread(s.hash));
        }
    }

    fn find_in_table(&self, key: &[u8]) -> Option<u64> {
        if self.table.is_empty() {
            return None;
        }
        let hash = self.hasher.hash_one(key) as u32;
        let found = self.table.find(spread(hash), |s| s.hash == hash && read_entry(&self.chunks, s.at()).0 == key)?;
        Some(read_entry(&self.chunks, found.at()).1)
    }

    fn table_first_or_insert(&mut self, key: &[u8], line: u64) -> Option<u64> {
        let hash = self.hasher.hash_one(key) as u32;
        let chunks = &self.chunks;
        let slot = self.table.entry(
            spread(hash),
            |s| s.hash == hash && read_entry(chunks, s.at()).0 == key,
            |s| spread(s.hash),
        );
        match slot {
            Entry::Occupied(found) => Some(read_entry(&self.chunks, found.get().at()).1),
            Entry::Vacant(slot) => {
                let at = append(&mut self.chunks, key, line);
                slot.insert(Slot { at: [(at >> 32) as u32, at as u32], hash });
                None
            }
        }
    }

    /// The heap bytes the set holds (its chunks' and its table's capacity).
    #[cfg(test)]
    fn heap_bytes(&self) -> usize {
        self.chunks.iter().map(Vec::capacity).sum::<usize>()
            + self.run.capacity() * std::mem::size_of::<u64>()
            // Buckets are 8/7 of the capacity; each is a slot and a control byte.
            + self.table.capacity() * 8 / 7 * (std::mem::size_of::<Slot>() + 1)
    }
}

/// Appends an entry to the last chunk, or to a new one when it does not fit; its position.
fn append(chunks: &mut Vec<Vec<u8>>, key: &[u8], line: u64) -> u64 {
    let needed = key.len() + 2 * MAX_VARINT;
    if chunks.last().is_none_or(|c| c.capacity() - c.len() < needed) {
        let next = chunks.last().map_or(FIRST_CHUNK, |c| (2 * c.capacity()).min(MAX_CHUNK));
        chunks.push(Vec::with_capacity(next.max(needed)));
    }
    let index = chunks.len() - 1;
    let chunk = &mut chunks[index];
    let at = ((index as u64) << OFFSET_BITS) | chunk.len() as u64;
    put_varint(chunk, key.len() as u64);
    chunk.extend_from_slice(key);
    put_varint(chunk, line);
    at
}

/// The key and line of the entry at `at`.
fn read_entry(chunks: &[Vec<u8>], at: u64) -> (&[u8], u64) {
    let chunk = chunks.get((at >> OFFSET_BITS) as usize).map_or(&[][..], Vec::as_slice);
    let rest = chunk.get((at & ((1 << OFFSET_BITS) - 1)) as usize..).unwrap_or_default();
    let (len, rest) = get_varint(rest);
    let (key, rest) = rest.split_at(usize::try_from(len).unwrap_or(usize::MAX).min(rest.len()));
    (key, get_varint(rest).0)
}

const MAX_VARINT: usize = 10;

/// LEB128: seven bits a byte, low first, the high bit set on all but the last.
pub(crate) fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn get_varint(bytes: &[u8]) -> (u64, &[u8]) {
    let mut value = 0u64;
    for (i, &b) in bytes.iter().enumerate().take(MAX_VARINT) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            return (value, &bytes[i + 1..]);
        }
    }
    (value, &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_new_once_and_then_names_its_first_line() {
        let mut set = KeySet::new();
        assert_eq!(set.first_or_insert(b"a", 2), None);
        assert_eq!(set.first_or_insert(b"", 3), None);
        assert_eq!(set.first_or_insert(b"a", 4), Some(2));
        assert_eq!(set.first_or_insert(b"", 5), Some(3));
        // Lines beyond 32 bits, and a key longer than any chunk.
        let long = vec![7u8; 3 * MAX_CHUNK];
        assert_eq!(set.first_or_insert(&long, u64::MAX), None);
        assert_eq!(set.first_or_insert(&long, 9), Some(u64::MAX));
        assert_eq!(set.first_or_insert(&long[1..], 10), None);
    }

    #[test]
    fn keys_in_order_and_out_of_it_are_each_found_where_they_went() {
        let mut set = KeySet::new();
        // Rising keys go to the run; a key below the run's last goes to the table.
        for (key, line) in [("b", 2), ("d", 3), ("c", 4), ("f", 5), ("e", 6), ("g", 7)] {
            assert_eq!(set.first_or_insert(key.as_bytes(), line), None, "{key}");
        }
        assert_eq!((set.run.len(), set.table.len()), (4, 2));
        for (key, first) in [("b", 2), ("c", 4), ("d", 3), ("e", 6), ("f", 5), ("g", 7)] {
            assert_eq!(set.first_or_insert(key.as_bytes(), 99), Some(first), "{key}");
        }
        // Above the run, but already in the table: a duplicate, not a new key.
        let mut set = KeySet::new();
        for (key, line) in [("m", 2), ("a", 3), ("z", 4)] {
            assert_eq!(set.first_or_insert(key.as_bytes(), line), None, "{key}");
        }
        assert_eq!(set.first_or_insert(b"a", 5), Some(3));
        let mut set = KeySet::new();
        assert_eq!(set.first_or_insert(b"m", 2), None);
        assert_eq!(set.first_or_insert(b"a", 3), None);
        assert_eq!(set.first_or_insert(b"n", 4), None);
        assert_eq!(set.first_or_insert(b"b", 5), None);
        assert_eq!(set.first_or_insert(b"b", 6), Some(5));
    }

    proptest::proptest! {
        #[test]
        fn the_set_answers_as_a_map_of_first_lines_would(keys in proptest::collection::vec("[a-d]{0,3}", 0..60)) {
            let mut set = KeySet::new();
            let mut model = std::collections::HashMap::new();
            for (line, key) in (2u64..).zip(&keys) {
                let expected = model.get(key).copied();
                model.entry(key.clone()).or_insert(line);
                proptest::prop_assert_eq!(set.first_or_insert(key.as_bytes(), line), expected, "{:?}", key);
            }
        }
    }

    #[test]
    fn a_sorted_file_of_keys_costs_no_table() {
        let mut set = KeySet::new();
        let n = 300_000;
        for i in 0..n {
            assert_eq!(set.first_or_insert(format!("F{i:09}").as_bytes(), i + 2), None, "{i}");
        }
        assert_eq!(set.table.len(), 0);
        for i in (0..n).step_by(7) {
            assert_eq!(set.first_or_insert(format!("F{i:09}").as_bytes(), 0), Some(i + 2), "{i}");
        }
        let per_key = set.heap_bytes() as f64 / n as f64;
        assert!(per_key < 32.0, "{per_key:.1} bytes per key");
    }

    #[test]
    fn a_file_far_from_its_keys_order_gives_up_the_run_and_stays_exact() {
        let mut set = KeySet::new();
        // Sorted by time, keyed by (place, time): every third key is below the last.
        let key = |i: u64| format!("{}{:08}", ["EWR", "JFK", "LGA"][(i % 3) as usize], i / 3).into_bytes();
        let n = 30_000;
        for i in 0..n {
            assert_eq!(set.first_or_insert(&key(i), i + 2), None, "{i}");
        }
        assert!(!set.ordered && set.run.is_empty(), "the run was given up");
        assert_eq!(set.table.len() as u64, n, "every key moved to the table");
        for i in (0..n).step_by(5) {
            assert_eq!(set.first_or_insert(&key(i), 0), Some(i + 2), "{i}");
        }
        // A sorted file with a few corrections appended keeps its run.
        let mut set = KeySet::new();
        for i in 0..n {
            set.first_or_insert(format!("F{i:09}").as_bytes(), i + 2);
        }
        for i in (0..n).step_by(100) {
            assert_eq!(set.first_or_insert(format!("F{i:09}").as_bytes(), 0), Some(i + 2));
            assert_eq!(set.first_or_insert(format!("E{i:09}").as_bytes(), 0), None);
        }
        assert!(set.ordered && set.run.len() as u64 == n, "{} out of order", set.table.len());
    }

    #[test]
    fn many_keys_stay_exact_and_compact() {
        let mut set = KeySet::new();
        let key = |i: u64| format!("F{i}").into_bytes();
        let n = 300_000;
        for i in 0..n {
            assert_eq!(set.first_or_insert(&key(i), i + 2), None, "{i}");
        }
        for i in (0..n).step_by(7) {
            assert_eq!(set.first_or_insert(&key(i), 0), Some(i + 2), "{i}");
        }
        // Keys of 2 to 7 bytes and lines of 3 bytes, as a city's id and line: about 11 bytes
        // of arena and 1.1 to 2.3 table buckets (13 bytes each) per key, as the table grows.
        let per_key = set.heap_bytes() as f64 / n as f64;
        assert!(per_key < 40.0, "{per_key:.1} bytes per key");
    }
}
