// FreeIndex: a complete binary tree over node positions whose inner vertices hold, per resource,
// the extremes of free capacity, capacity and free fraction of their subtree, the GPU maxima, and
// the extremes of a few per-node policy scalars. A placement search prunes every subtree that
// cannot hold the request or cannot beat the best score found so far (branch and bound), so the
// common request visits O(log n) vertices instead of scanning n nodes.
//
// Leaves are node *positions*: a seeded order of the nodes, so that "smallest position" is the
// tie rule and a left-first search finds the winner of a tie without looking further right.
//
// Complexity (n positions, R resources, K scalar columns kept): reset O(n R); set_leaf O(R + K);
// update_path O((R + K) log n), less where a vertex does not change; add_columns O(n k) for k new
// columns; memory
// O(n (R + K)).
#pragma once
#include <cstddef>
#include <cstdint>
#include <climits>
#include <cstring>
#include <utility>
#include <vector>

namespace aios::placement {

struct LeafFacts {
  const int64_t* cap;
  const int64_t* free;
  const int64_t* scalars;      // S policy scalars of the node
  int32_t whole_gpus_free;     // GPUs with no share in use
  int32_t max_gpu_share_free;  // largest free milli-GPU on one GPU
  bool live;
};

class FreeIndex {
 public:
  FreeIndex() = default;
  // `slots` is rounded up to a power of two; leaves past the live nodes stay empty.
  // Scalars are aggregated per condition: a node counts towards condition c only if it satisfies
  // it, so bounds for a request ignore nodes that cannot hold it. A condition is a pair (GPU
  // condition g, threshold q on the free amount of resource `second_resource`); see condition().
  // `keep_max` chooses whether the maximum or the minimum of each scalar is kept.
  // `narrow` stores scalars as int32 (the caller guarantees they fit), halving their memory.
  // `min_extremes` false: no vertex keeps min_free, no inner vertex the free fractions (a policy
  // whose bounds never read them saves their memory and updates).
  void reset(int resources, int scalars, bool keep_max, bool narrow, int gpu_column,
             const std::vector<int32_t>& gpu_conditions, int second_resource,
             const std::vector<int64_t>& second_thresholds, int slots, bool min_extremes = true);
  int leaves() const { return leaves_; }
  // Whether inner vertices keep the free fractions (reset: as min_extremes). Off where the caller
  // knows no bound will read them; turning it on recomputes them.
  void set_fractions(bool keep);
  void set_leaf(int pos, const LeafFacts& facts);
  // Recomputes the vertices above `pos` from their children, stopping where nothing changes.
  void update_path(int pos);
  void rebuild_all();

  // Scalar columns: only the (condition, scalar) pairs that searches have asked for are kept, one
  // value per vertex each, so updates and memory grow with the request mix, not with every pair.
  // column() is -1 for a pair not kept yet; add_columns() keeps the pairs (condition, scalar) given
  // and fills them from the leaves, which keep each node's scalars in position order (one
  // sequential pass for all of them). pair_slots() bounds c * scalars + k.
  int column(int c, int k) const { return col_of_[static_cast<size_t>(c) * S_ + k]; }
  int pair_slots() const { return C_ * S_; }
  void add_columns(const std::vector<std::pair<int, int>>& pairs);  // distinct pairs

  // Per-vertex aggregates, vertex v in [1, 2 * leaves); leaves at [leaves, 2 * leaves). What a
  // search reads and a placement changes lies together in one small block per vertex (hot_); the
  // capacity extremes, which change only with nodes, in another (cold_).
  const int64_t* max_free(int v) const { return hot(v); }
  int32_t max_whole_gpus(int v) const { return static_cast<int32_t>(hot(v)[R_]); }
  int32_t max_gpu_share(int v) const { return static_cast<int32_t>(hot(v)[R_ + 1]); }
  const int64_t* min_free(int v) const { return hot(v) + min_offset_; }  // only kept with min_extremes
  const int64_t* max_cap(int v) const { return cold(v); }
  const int64_t* min_pos_cap(int v) const { return cold(v) + R_; }
  // One byte per resource (char access to the int64 block is allowed aliasing).
  const uint8_t* has_zero_cap(int v) const { return reinterpret_cast<const uint8_t*>(cold(v) + 2 * R_); }
  const double* min_free_frac(int v) const { return &frac_[static_cast<size_t>(v) * 2 * R_]; }
  const double* max_free_frac(int v) const { return &frac_[static_cast<size_t>(v) * 2 * R_ + R_]; }
  // Column j of vertex v (neutral() when no node there meets its condition).
  int64_t value(int v, int j) const {
    const size_t o = static_cast<size_t>(v) * col_stride_ + j;
    return narrow_ ? widen(scalar32_[o]) : scalar_[o];
  }
  void prefetch(int v, int j) const {
    __builtin_prefetch(hot(v));
    __builtin_prefetch(hot(v) + hot_stride_ - 1);
    if (j >= 0) {
      const size_t o = static_cast<size_t>(v) * col_stride_ + j;
      __builtin_prefetch(narrow_ ? static_cast<const void*>(&scalar32_[o]) : static_cast<const void*>(&scalar_[o]));
    }
  }
  int64_t neutral() const { return keep_max_ ? INT64_MIN : INT64_MAX; }
  // Values of a request's `need` row for may_hold(): the R resources, whole GPUs, a GPU share, then
  // zeros up to a whole block of 4.
  int need_lanes() const { return static_cast<int>(min_offset_); }
  // Whether some node below v might hold `need`: no lane above the subtree's maximum. Whole blocks
  // and no early exit, so that a vector target compares 4 lanes at a time.
  bool may_hold(int v, const int64_t* need) const {
    typedef int64_t V __attribute__((vector_size(32)));
    const int64_t* h = hot(v);
    V over = {};
    for (size_t b = 0; b < min_offset_; b += 4) {
      V x, y;
      std::memcpy(&x, need + b, sizeof(V));
      std::memcpy(&y, h + b, sizeof(V));
      over |= x > y;
    }
    return ((over[0] | over[1]) | (over[2] | over[3])) == 0;
  }
  // Condition index of a request (0: no condition).
  int condition(const int64_t* req) const;
  // Leftmost position in the subtree of v: shift v down to the leaf level (leaves_ is a power of
  // two, v >= 1).
  int32_t first_pos(int v) const {
    const int shift = __builtin_clz(static_cast<unsigned>(v)) - __builtin_clz(static_cast<unsigned>(leaves_));
    return (v << shift) - leaves_;
  }

 private:
  // hot_: max_free[R] whole share, then min_free[R] where kept, each part padded to whole
  // 32-byte blocks (zeros that every merge keeps) so that combine() merges whole blocks, and the
  // row to whole cache lines from an aligned start (a visit reads one line, or two adjacent ones);
  // cold_: max_cap[R] min_pos_cap[R] has_zero[R bytes].
  const int64_t* hot(int v) const { return hot_.data() + hot_offset_ + static_cast<size_t>(v) * hot_stride_; }
  int64_t* hot(int v) { return hot_.data() + hot_offset_ + static_cast<size_t>(v) * hot_stride_; }
  const int64_t* cold(int v) const { return &cold_[static_cast<size_t>(v) * cold_stride_]; }
  int64_t* cold(int v) { return &cold_[static_cast<size_t>(v) * cold_stride_]; }
  bool combine(int v, bool capacity);  // true when the aggregates of v changed
  void combine_columns(int first, int end);  // every inner vertex's columns [first, end), from the leaves
  void widen_rows(int columns);  // room for this many columns per row
  void new_column(int c, int k);  // the column's facts (the rows have room)
  void set_neutral(int v);
  size_t hot_stride_ = 0, hot_offset_ = 0, cold_stride_ = 0, min_offset_ = 0;
  bool capacity_changed_ = true;  // by the last set_leaf
  bool min_extremes_ = true, fractions_ = true;
  int R_ = 0, S_ = 0, C_ = 1;
  bool keep_max_ = true;
  std::vector<int32_t> gpu_conditions_;  // milli-GPU: >= 1000 whole GPUs free, below a share on one GPU
  int gpu_column_ = -1, second_ = -1;
  std::vector<int64_t> second_thresholds_;
  // Columns: index per (condition, scalar) pair or -1; per column its scalar and what a node
  // needs to meet its condition: whole GPUs free, a free share on one GPU, free `second_` amount.
  int cols_ = 0;
  int col_stride_ = 0;  // room for columns per vertex row, grown a cache line at a time
  std::vector<int32_t> col_of_;
  std::vector<int32_t> col_k_, col_whole_, col_share_;
  std::vector<int64_t> col_second_;
  bool meets(int64_t whole, int64_t share, int64_t second, int j) const {
    return (whole >= col_whole_[j]) & (share >= col_share_[j]) & (second >= col_second_[j]);
  }
  std::vector<int64_t> leaf_scalars_;  // [position, S]: the scalars of the node there
  int leaves_ = 0;
  std::vector<int64_t> hot_, cold_;
  std::vector<double> frac_;  // min_free_frac[R] max_free_frac[R] per vertex
  bool narrow_ = false;
  std::vector<int64_t> scalar_;
  std::vector<int32_t> scalar32_;
  int64_t widen(int32_t x) const {
    if (x == INT32_MIN) return INT64_MIN;
    if (x == INT32_MAX) return INT64_MAX;
    return x;
  }
  void put(size_t o, int64_t x) {
    if (!narrow_) {
      scalar_[o] = x;
    } else {
      scalar32_[o] = x == INT64_MIN ? INT32_MIN : x == INT64_MAX ? INT32_MAX : static_cast<int32_t>(x);
    }
  }
};

}  // namespace aios::placement
