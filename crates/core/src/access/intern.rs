//! Interning of ids to dense `u32`s, and a deterministic hasher for the index's maps.
//!
//! A lookup is on the path of every check, so the table keeps ids of up to 38 bytes (UUIDs in
//! their 36-character form, short test ids) inside its buckets: finding one reads the bucket and
//! nothing else, where a boxed key would cost a second cache miss to compare the text. Names are
//! kept once more, back to back in one string, for turning ids back into names.
//!
//! std's `RandomState` seeds itself from the operating system, which the core does not do; the
//! hasher here is fixed (FxHash's multiply-rotate with a murmur3 finaliser), so the index behaves
//! identically on every run. Its keys are ids the server created and scopes administrators
//! assigned at, not strings chosen freely by whoever sends a request, so a fixed hash is fine.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

/// FxHash-style hasher with a strong finaliser (hashbrown takes bucket bits from the low end
/// and tag bits from the high end; the finaliser mixes every input bit into both).
#[derive(Default, Clone, Copy)]
pub struct FastHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FastHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 59));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        // murmur3's fmix64.
        let mut h = self.hash;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

/// [`FastHasher`] for maps and sets outside the core whose keys are the server's own ids
/// (random UUIDs): std's default hashes them several times slower (a start keys hundreds of
/// thousands by schedule id).
pub type FastBuildHasher = BuildHasherDefault<FastHasher>;

pub(crate) type FastMap<K, V> = HashMap<K, V, FastBuildHasher>;

const INLINE_KEY: usize = 38;

/// A name as a table key: its bytes inline when short enough, boxed otherwise. Hashes and
/// compares as its bytes, so the table is probed with a plain `&[u8]`.
#[derive(Debug, Clone)]
enum Key {
    Inline { len: u8, bytes: [u8; INLINE_KEY] },
    Heap(Box<[u8]>),
}

impl Key {
    fn new(name: &[u8]) -> Self {
        if name.len() <= INLINE_KEY {
            let mut bytes = [0; INLINE_KEY];
            bytes[..name.len()].copy_from_slice(name);
            Key::Inline {
                len: name.len() as u8,
                bytes,
            }
        } else {
            Key::Heap(name.into())
        }
    }
}

impl Borrow<[u8]> for Key {
    #[inline]
    fn borrow(&self) -> &[u8] {
        match self {
            Key::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Key::Heap(b) => b,
        }
    }
}

impl Hash for Key {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        Borrow::<[u8]>::borrow(self).hash(state);
    }
}

impl PartialEq for Key {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        Borrow::<[u8]>::borrow(self) == Borrow::<[u8]>::borrow(other)
    }
}

impl Eq for Key {}

/// Strings to dense ids and back. Ids are never reused or forgotten: a principal whose last
/// edge and assignment were removed keeps its number (a few bytes), so ids stay stable.
#[derive(Debug, Clone, Default)]
pub(crate) struct Interner {
    ids: FastMap<Key, u32>,
    /// Every name, back to back, in id order; `ends[id]` is where name `id` ends.
    text: String,
    ends: Vec<usize>,
    /// The last two names `intern` answered, newest first, with their ids. A bulk build names
    /// the same few many times in a row (a start reads schedules grouped by holder, relations
    /// grouped by group, and an edge names its group and its member in turn): comparing with
    /// these reads only this struct, where a probe of the table misses the cache. The names
    /// are copies: comparing with `text` would miss the cache just as well.
    recent: [Option<Recent>; 2],
}

/// Long enough for the index's longest usual names: `eligible:{role id}` (45 bytes) and
/// `/groups/{id}` (44), which the table keeps boxed.
const RECENT_LEN: usize = 48;

/// A recently interned name (of at most [`RECENT_LEN`] bytes) and its id.
#[derive(Debug, Clone, Copy)]
struct Recent {
    len: u8,
    bytes: [u8; RECENT_LEN],
    id: u32,
}

impl Recent {
    fn new(name: &[u8], id: u32) -> Option<Self> {
        let mut bytes = [0; RECENT_LEN];
        bytes.get_mut(..name.len())?.copy_from_slice(name);
        Some(Recent {
            len: name.len() as u8,
            bytes,
            id,
        })
    }

    #[inline]
    fn name(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl Interner {
    #[inline]
    pub(crate) fn get(&self, name: &str) -> Option<u32> {
        self.ids.get(name.as_bytes()).copied()
    }

    pub(crate) fn intern(&mut self, name: &str) -> u32 {
        // Ids are never reused or forgotten, so a recent one still names what it named.
        let bytes = name.as_bytes();
        for (i, recent) in self.recent.iter().enumerate() {
            if let Some(recent) = recent
                && recent.name() == bytes
            {
                let id = recent.id;
                self.recent.swap(0, i);
                return id;
            }
        }
        let id = match self.get(name) {
            Some(id) => id,
            None => {
                let id = u32::try_from(self.ends.len()).expect("fewer than 2^32 distinct ids");
                self.text.push_str(name);
                self.ends.push(self.text.len());
                self.ids.insert(Key::new(name.as_bytes()), id);
                id
            }
        };
        if let Some(recent) = Recent::new(bytes, id) {
            self.recent = [Some(recent), self.recent[0]];
        }
        id
    }

    #[inline]
    pub(crate) fn name(&self, id: u32) -> &str {
        let id = id as usize;
        let start = if id == 0 { 0 } else { self.ends[id - 1] };
        &self.text[start..self.ends[id]]
    }

    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// Room for `more` names (of a UUID's length) without regrowing.
    pub(crate) fn reserve(&mut self, more: usize) {
        self.ids.reserve(more);
        self.ends.reserve(more);
        self.text.reserve(more * 36);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn interning_is_stable_and_hashing_deterministic() {
        let mut i = Interner::default();
        assert_eq!(i.intern("a"), 0);
        assert_eq!(i.intern("b"), 1);
        assert_eq!(i.intern("a"), 0);
        assert_eq!(i.get("c"), None);
        assert_eq!(i.name(1), "b");
        assert_eq!(i.len(), 2);
        // Long names are boxed; both kinds come back, and `c` is not a prefix match.
        let long = "x".repeat(INLINE_KEY + 1);
        let just = "y".repeat(INLINE_KEY);
        assert_eq!(i.intern(&long), 2);
        assert_eq!(i.intern(&just), 3);
        assert_eq!(i.intern(""), 4);
        assert_eq!(
            (i.get(&long), i.get(&just), i.get("")),
            (Some(2), Some(3), Some(4))
        );
        assert_eq!(
            (i.name(0), i.name(2), i.name(3), i.name(4)),
            ("a", &*long, &*just, "")
        );
        // The last name is answered without the table, and only for that very name.
        assert_eq!(i.intern(""), 4);
        assert_eq!(i.intern("a"), 0);
        assert_eq!(i.intern("a"), 0);
        assert_eq!(i.intern("ab"), 5);
        assert_eq!(i.intern("a"), 0);
        assert_eq!(i.intern("ab"), 5);
        assert_eq!(i.intern("b"), 1);
        assert_eq!(i.intern("a"), 0);
        assert_eq!(i.intern(&long), 2);
        assert_eq!(i.intern(&long[1..]), 6);
        assert_eq!(i.intern(&long[2..]), 7);
        assert_eq!(i.intern(&long[1..]), 6);
        assert_eq!(i.get(&long[1..]), Some(6));
        assert_eq!(
            (i.name(5), i.name(6), i.name(7)),
            ("ab", &long[1..], &long[2..])
        );
        // Names longer than the recent ones' room are found in the table.
        let longer = "z".repeat(RECENT_LEN + 1);
        assert_eq!(i.intern(&longer), 8);
        assert_eq!(i.intern(&longer[1..]), 9);
        assert_eq!(i.intern(&longer), 8);
        assert_eq!(i.intern(&longer[1..]), 9);
        assert_eq!(i.intern(&longer[..1]), 10);
        assert_eq!(i.get(&just[1..]), None);
        let b = BuildHasherDefault::<FastHasher>::default();
        assert_eq!(b.hash_one("abc"), b.hash_one("abc"));
        assert_ne!(b.hash_one("abc"), b.hash_one("abd"));
        assert_ne!(b.hash_one(1u64 << 32), b.hash_one(2u64 << 32));
        // Role bits (high half of a key) reach the low bits hashbrown picks buckets with.
        assert_ne!(b.hash_one(1u64 << 32) & 0xff, b.hash_one(2u64 << 32) & 0xff);
    }
}
