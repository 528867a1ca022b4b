// FlatMap: a hash map from 64-bit integer keys to small values in one flat array: open addressing
// with linear probing, a power-of-two capacity, and erase by backward shift (no tombstones, so
// probe lengths do not grow with churn). The engine's task and group tables use it: a node-based
// std::unordered_map allocates on every insert, and a batch inserts one entry per task.
//
// Keys are arbitrary (every int64 value is a valid key, so there is no empty-key sentinel: each
// entry carries an occupied flag). The load stays at most 1/2. Copyable (the engine is copied as
// preemption's scratch).
#pragma once
#include <cstddef>
#include <cstdint>
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
    if (slots_.empty()) return nullptr;
    for (size_t i = home(key);; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (!s.full) return nullptr;
      if (s.key == key) return &s.value;
    }
  }
  V* find(K key) { return const_cast<V*>(static_cast<const FlatMap*>(this)->find(key)); }
  bool contains(K key) const { return find(key) != nullptr; }

  // The value of key, inserted as `fresh` if absent.
  V& get_or_insert(K key, V fresh) {
    if (2 * (size_ + 1) > slots_.size()) rehash(capacity_for(size_ + 1));
    size_t i = home(key);
    for (; slots_[i].full; i = (i + 1) & mask_) {
      if (slots_[i].key == key) return slots_[i].value;
    }
    slots_[i] = Slot{key, fresh, true};
    ++size_;
    return slots_[i].value;
  }

  // Removes key if present; returns whether it was.
  bool erase(K key) {
    if (slots_.empty()) return false;
    size_t hole = home(key);
    for (;; hole = (hole + 1) & mask_) {
      if (!slots_[hole].full) return false;
      if (slots_[hole].key == key) break;
    }
    // Backward shift: pull later entries of the run into the hole unless that would put one
    // before its home slot, so that every entry stays reachable from its home.
    for (size_t j = (hole + 1) & mask_; slots_[j].full; j = (j + 1) & mask_) {
      const size_t h = home(slots_[j].key);
      // j's entry may move to the hole when its home is not in the cyclic range (hole, j].
      const bool home_in_range = hole <= j ? (hole < h && h <= j) : (hole < h || h <= j);
      if (!home_in_range) {
        slots_[hole] = slots_[j];
        hole = j;
      }
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

  static size_t capacity_for(size_t n) {
    size_t cap = 16;
    while (cap < 2 * n) cap *= 2;
    return cap;
  }
  // Keys that differ only in their last 3 bits share a hashed block of 8 slots (two cache lines),
  // so that consecutive ids, the common case, are read and written together rather than one
  // cache miss each; the block is the top bits of the other key bits, mixed.
  size_t home(K key) const {
    const uint64_t k = static_cast<uint64_t>(key);
    uint64_t z = k >> 3;
    z = (z ^ (z >> 31)) * 0x9E3779B97F4A7C15ULL;
    return static_cast<size_t>(((z >> (shift_ + 3)) << 3) | (k & 7));
  }
  void rehash(size_t cap) {
    std::vector<Slot> old(cap, Slot{K{}, V{}, false});
    old.swap(slots_);
    mask_ = cap - 1;
    shift_ = 64 - __builtin_ctzll(static_cast<unsigned long long>(cap));
    for (const Slot& s : old) {
      if (!s.full) continue;
      size_t i = home(s.key);
      while (slots_[i].full) i = (i + 1) & mask_;
      slots_[i] = s;
    }
  }

  std::vector<Slot> slots_;
  size_t size_ = 0, mask_ = 0;
  int shift_ = 64;
};

}  // namespace aios
