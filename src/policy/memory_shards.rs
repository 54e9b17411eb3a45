//! The memory store's maps: 64 shards of `RwLock<HashMap>`, each value in a cell of its
//! own, and a per-thread memory of the cells a thread used, so that the operations of a
//! request touch their cells and nothing else.
//!
//! Why: on two busy cores, the store's share of a request was mostly cache misses, four
//! lines an operation: the shard's lock word (written by every lock and unlock of the
//! other thread), the map's control bytes, the bucket with the key's pointer, the key's
//! bytes for the comparison; then the value itself, which neighboured other values the
//! other thread was updating. Now a cell sits on a cache line of its own, and a thread
//! that reached a key through the map once reaches it again with no lock, no hash of
//! the key's bytes and no comparison: it remembers the cell under the address of the
//! caller's `Arc<str>` key (the policy keeps the keys of a key, a day, a model, so the
//! same `Arc` comes back request after request), and holds that `Arc` so the address
//! cannot be reused by another key while remembered.
//!
//! A cell removed from its map (the sweep, a reset) is marked retired. A remembered
//! cell found retired is looked up again, and an operation whose cell was retired
//! while it ran is run again on the map's current cell ([`Shards::with_arc`]).

use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use crate::fx_hash::{FxBuild, FxMap};

const SHARDS: usize = 64;

/// Cells a thread remembers; past this the memory starts over (bounded per thread).
const REMEMBERED: usize = 4096;

/// One value on a cache line of its own: two threads updating neighbouring values
/// would otherwise take the line from each other on every update.
#[repr(align(64))]
#[derive(Debug, Default)]
pub(super) struct Cell<V> {
    pub(super) value: V,
    retired: AtomicBool,
}

impl<V> Cell<V> {
    fn new(value: V) -> Cell<V> {
        Cell {
            value,
            retired: AtomicBool::new(false),
        }
    }

    fn is_retired(&self) -> bool {
        self.retired.load(Ordering::Acquire)
    }

    fn retire(&self) {
        self.retired.store(true, Ordering::Release);
    }
}

/// A remembered cell, with the key whose address finds it.
struct Remembered {
    _key: Arc<str>,
    cell: Arc<dyn Any + Send + Sync>,
}

/// (map id, address of the key's `Arc`) → the cell.
type Memory = FxMap<(u64, usize), Remembered>;

thread_local! {
    static MEMORY: RefCell<Memory> = RefCell::new(Memory::default());
}

/// Ids of maps, so a map never finds the cells of another (dropped) one.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// One shard: key → its cell.
type Shard<V> = RwLock<HashMap<String, Arc<Cell<V>>, FxBuild>>;

/// A map split into independently locked shards. Its keys are built from configured
/// names and upstream model names, so FxHash is safe here (`crate::fx_hash`).
pub(super) struct Shards<V> {
    id: u64,
    shards: Box<[Shard<V>]>,
    hasher: FxBuild,
}

impl<V: Default + Send + Sync + 'static> Shards<V> {
    pub(super) fn new() -> Self {
        Shards {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            shards: (0..SHARDS)
                .map(|_| RwLock::new(HashMap::default()))
                .collect(),
            hasher: FxBuild::default(),
        }
    }

    fn shard(&self, key: &str) -> &Shard<V> {
        // Middle bits: the map itself uses the low bits for buckets and the top 7 as tags.
        let i = (self.hasher.hash_one(key) >> 32) as usize % SHARDS;
        &self.shards[i]
    }

    /// The cell of `key`, created if absent.
    fn cell(&self, key: &str) -> Arc<Cell<V>> {
        let shard = self.shard(key);
        if let Some(cell) = shard.read().unwrap_or_else(|e| e.into_inner()).get(key) {
            return cell.clone();
        }
        let mut map = shard.write().unwrap_or_else(|e| e.into_inner());
        map.entry(key.to_string()).or_default().clone()
    }

    /// Runs `f` on the value of `key`, creating it (default) if absent.
    pub(super) fn with<R>(&self, key: &str, f: impl FnOnce(&V) -> R) -> R {
        f(&self.cell(key).value)
    }

    /// [`Shards::with`] for a key the caller keeps in an `Arc`: through the cell this
    /// thread remembers for it. `f` runs again on the map's current cell when its cell
    /// was retired while it ran (its effect went to a value no longer in the map).
    pub(super) fn with_arc<R>(&self, key: &Arc<str>, mut f: impl FnMut(&V) -> R) -> R {
        let slot = self.slot(key);
        let remembered = MEMORY.with_borrow(|memory| {
            let cell = Self::find(memory, slot)?;
            let out = f(&cell.value);
            (!cell.is_retired()).then_some(out)
        });
        if let Some(out) = remembered {
            return out;
        }
        loop {
            let cell = self.cell(key);
            let out = f(&cell.value);
            if !cell.is_retired() {
                remember(slot, key, cell);
                return out;
            }
        }
    }

    /// Runs `f` on the value of `key` if present, without creating it.
    pub(super) fn peek<R>(&self, key: &str, f: impl FnOnce(Option<&V>) -> R) -> R {
        let map = self.shard(key).read().unwrap_or_else(|e| e.into_inner());
        f(map.get(key).map(|c| &c.value))
    }

    /// [`Shards::peek`] through the remembered cell of an `Arc` key.
    pub(super) fn peek_arc<R>(&self, key: &Arc<str>, f: impl Fn(Option<&V>) -> R) -> R {
        let slot = self.slot(key);
        let remembered =
            MEMORY.with_borrow(|memory| Self::find(memory, slot).map(|cell| f(Some(&cell.value))));
        if let Some(out) = remembered {
            return out;
        }
        let found = self
            .shard(key)
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&**key)
            .cloned();
        match found {
            Some(cell) => {
                let out = f(Some(&cell.value));
                remember(slot, key, cell);
                out
            }
            None => f(None),
        }
    }

    /// Replaces the value of `key`; the old cell is retired.
    pub(super) fn reset(&self, key: &str, v: V) {
        let mut map = self.shard(key).write().unwrap_or_else(|e| e.into_inner());
        if let Some(old) = map.insert(key.to_string(), Arc::new(Cell::new(v))) {
            old.retire();
        }
    }

    /// Keeps the values for which `keep` is true; the cells of the others are retired.
    pub(super) fn retain(&self, mut keep: impl FnMut(&V) -> bool) {
        for shard in self.shards.iter() {
            let mut map = shard.write().unwrap_or_else(|e| e.into_inner());
            map.retain(|_, cell| {
                let kept = keep(&cell.value);
                if !kept {
                    cell.retire();
                }
                kept
            });
        }
    }

    /// Entries in the map (tests).
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        let len = |s: &Shard<V>| s.read().map_or(0, |m| m.len());
        self.shards.iter().map(len).sum()
    }

    fn slot(&self, key: &Arc<str>) -> (u64, usize) {
        (self.id, Arc::as_ptr(key) as *const u8 as usize)
    }

    /// The live cell remembered under `slot`.
    fn find(memory: &Memory, slot: (u64, usize)) -> Option<&Cell<V>> {
        let cell = memory.get(&slot)?.cell.downcast_ref::<Cell<V>>()?;
        (!cell.is_retired()).then_some(cell)
    }
}

fn remember<V: Send + Sync + 'static>(slot: (u64, usize), key: &Arc<str>, cell: Arc<Cell<V>>) {
    MEMORY.with_borrow_mut(|memory| {
        if memory.len() >= REMEMBERED {
            memory.clear();
        }
        memory.insert(
            slot,
            Remembered {
                _key: key.clone(),
                cell,
            },
        );
    });
}

#[cfg(test)]
#[path = "memory_shards_tests.rs"]
mod tests;
