// FlatMap: a hash map from 64-bit integer keys to small values in one flat array: open addressing
// with linear probing in Robin Hood order (along a run, entries sit in the order of their home
// slots), a power-of-two capacity, and erase by backward shift (no tombstones, so probe lengths do
// not grow with churn). The engine's task and group tables use it: a node-based
// std::unordered_map allocates on every insert, and a batch inserts one entry per task.
//
// The hash folds the high key bits onto the low ones and keeps the low bits as they are, so that
// consecutive ids (the common case) take consecutive slots: a batch's inserts and lookups walk
// memory in order instead of missing the cache once each. Robin Hood order is what makes that
// safe: a long run of entries at their home slots stops a lookup or an erase at its first step
// (plain linear probing would scan the rest of the run).
//
// Keys are arbitrary (every int64 value is a valid key, so there is no empty-key sentinel: each
// entry carries an occupied flag). The load stays at most 1/2. Copyable (the engine is copied as
// preemption's scratch).
#pragma once
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace aios {

template <class K, class V>
class FlatMap {
  static_assert(sizeof(K) == 8, "FlatMap keys are 64-bit integers");

 public:
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // Room for n entries without rehashing.
  void reserve(size_t n) {
    if (2 * n > slots_.size()) rehash(capacity_for(n));
  }

  const V* find(K key) const {
    const size_t i = locate(key);
    return i == kNone ? nullptr : &slots_[i].value;
  }
  V* find(K key) { return const_cast<V*>(static_cast<const FlatMap*>(this)->find(key)); }
  bool contains(K key) const { return find(key) != nullptr; }

  // The value of key, inserted as `fresh` if absent.
  V& get_or_insert(K key, V fresh) {
    if (V* v = find(key)) return *v;
    if (2 * (size_ + 1) > slots_.size()) rehash(capacity_for(size_ + 1));
    ++size_;
    return place(Slot{key, fresh, true});
  }

  // Removes key if present; returns whether it was.
  bool erase(K key) {
    size_t hole = locate(key);
    if (hole == kNone) return false;
    // Backward shift: the entries after it that are away from home move one slot back; the run
    // ends at an empty slot or at an entry at its home.
    for (size_t j = (hole + 1) & mask_; slots_[j].full && distance(j) > 0; j = (j + 1) & mask_) {
      slots_[hole] = slots_[j];
      hole = j;
    }
    slots_[hole].full = false;
    --size_;
    return true;
  }

 private:
  struct Slot {
    K key;
    V value;
    bool full;
  };

  static constexpr size_t kNone = ~size_t{0};

  // The slot of key, or kNone.
  size_t locate(K key) const {
    if (slots_.empty()) return kNone;
    // Robin Hood order: once an entry is nearer its home than key would be here, key is absent.
    for (size_t i = home(key), d = 0;; i = (i + 1) & mask_, ++d) {
      const Slot& s = slots_[i];
      if (!s.full || distance(i) < d) return kNone;
      if (s.key == key) return i;
    }
  }
  static size_t capacity_for(size_t n) {
    size_t cap = 16;
    while (cap < 2 * n) cap *= 2;
    return cap;
  }
  size_t home(K key) const {
    const uint64_t k = static_cast<uint64_t>(key);
    return static_cast<size_t>((k ^ (k >> 16) ^ (k >> 32) ^ (k >> 48)) & mask_);
  }
  size_t distance(size_t i) const { return (i - home(slots_[i].key)) & mask_; }
  // Puts an absent entry in Robin Hood order (there is room); returns its value.
  V& place(Slot entry) {
    V* mine = nullptr;
    for (size_t i = home(entry.key), d = 0;; i = (i + 1) & mask_, ++d) {
      Slot& s = slots_[i];
      if (!s.full) {
        s = entry;
        return mine ? *mine : s.value;
      }
      const size_t ds = distance(i);
      if (ds < d) {  // the resident is nearer its home: it moves on, the entry takes its slot
        std::swap(s, entry);
        d = ds;
        if (mine == nullptr) mine = &s.value;
      }
    }
  }
  void rehash(size_t cap) {
    std::vector<Slot> old(cap, Slot{K{}, V{}, false});
    old.swap(slots_);
    mask_ = cap - 1;
    for (const Slot& s : old) {
      if (s.full) place(s);
    }
  }

  std::vector<Slot> slots_;
  size_t size_ = 0, mask_ = 0;
};

}  // namespace aios
