// FreeIndex: a complete binary tree over node positions whose inner vertices hold, per resource,
// the extremes of free capacity, capacity and free fraction of their subtree, the GPU maxima, and
// the extremes of a few per-node policy scalars. A placement search prunes every subtree that
// cannot hold the request or cannot beat the best score found so far (branch and bound), so the
// common request visits O(log n) vertices instead of scanning n nodes.
//
// Leaves are node *positions*: a seeded order of the nodes, so that "smallest position" is the
// tie rule and a left-first search finds the winner of a tie without looking further right.
//
// Complexity (n positions, R resources, S scalars): reset O(n (R + S)); set_leaf O(R + S);
// update_path O((R + S) log n); memory O(n (R + S)).
#pragma once
#include <cstddef>
#include <cstdint>
#include <climits>
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
  // Scalars are aggregated per GPU condition (see gpu_condition): a node counts towards condition c
  // only if it satisfies it, so bounds for a GPU request ignore nodes that cannot hold it.
  // `keep_max` chooses whether the maximum or the minimum of each scalar is kept.
  // A condition is a pair (GPU condition g, threshold q on the free amount of resource
  // `second_resource`): bounds for a request that needs both ignore nodes that cannot give both.
  // `narrow` stores scalars as int32 (the caller guarantees they fit), halving the largest array.
  void reset(int resources, int scalars, bool keep_max, bool narrow, int gpu_column,
             const std::vector<int32_t>& gpu_conditions, int second_resource,
             const std::vector<int64_t>& second_thresholds, int slots);
  int leaves() const { return leaves_; }
  void set_leaf(int pos, const LeafFacts& facts);
  // Recomputes the vertices above `pos` from their children, stopping where nothing changes.
  void update_path(int pos);
  void rebuild_all();

  // Scalar columns: only the (condition, scalar) pairs that searches have asked for are kept, one
  // value per vertex each, so updates and memory grow with the request mix, not with every pair.
  // column() is -1 for a pair not kept yet; add_column() keeps it and fills it from `leaf`, which
  // gives the facts of the node at a position (nullptr when the position holds no live node).
  int column(int c, int k) const { return col_of_[static_cast<size_t>(c) * S_ + k]; }
  template <class Leaf>
  int add_column(int c, int k, Leaf&& leaf) {
    const int j = new_column(c, k);
    for (int pos = 0; pos < leaves_; ++pos) {
      const LeafFacts* f = leaf(pos);
      put(static_cast<size_t>(leaves_ + pos) * cols_ + j,
          f && f->live && meets(*f, j) ? f->scalars[k] : neutral());
    }
    for (int v = leaves_ - 1; v >= 1; --v) combine_column(v, j);
    return j;
  }

  // Per-vertex aggregates, vertex v in [1, 2 * leaves); leaves at [leaves, 2 * leaves). The
  // integer aggregates of a vertex lie together in one block (few cache lines per visit).
  const int64_t* max_free(int v) const { return block(v); }
  const int64_t* min_free(int v) const { return block(v) + R_ + 2; }
  const int64_t* max_cap(int v) const { return block(v) + 2 * R_ + 2; }
  const int64_t* min_pos_cap(int v) const { return block(v) + 3 * R_ + 2; }
  const double* min_free_frac(int v) const { return &frac_[static_cast<size_t>(v) * 2 * R_]; }
  const double* max_free_frac(int v) const { return &frac_[static_cast<size_t>(v) * 2 * R_ + R_]; }
  // One byte per resource (char access to the int64 block is allowed aliasing).
  const uint8_t* has_zero_cap(int v) const { return reinterpret_cast<const uint8_t*>(block(v) + 4 * R_ + 2); }
  // Column j of vertex v (neutral() when no node there meets its condition).
  int64_t value(int v, int j) const {
    const size_t o = static_cast<size_t>(v) * cols_ + j;
    return narrow_ ? widen(scalar32_[o]) : scalar_[o];
  }
  void prefetch(int v, int j) const {
    __builtin_prefetch(block(v));
    __builtin_prefetch(block(v) + 8);
    if (j >= 0) {
      const size_t o = static_cast<size_t>(v) * cols_ + j;
      __builtin_prefetch(narrow_ ? static_cast<const void*>(&scalar32_[o]) : static_cast<const void*>(&scalar_[o]));
    }
  }
  int64_t neutral() const { return keep_max_ ? INT64_MIN : INT64_MAX; }
  // Condition index of a request (0: no condition).
  int condition(const int64_t* req) const;
  int32_t max_whole_gpus(int v) const { return static_cast<int32_t>(block(v)[R_]); }
  int32_t max_gpu_share(int v) const { return static_cast<int32_t>(block(v)[R_ + 1]); }
  int32_t first_pos(int v) const;  // leftmost position in the subtree of v

 private:
  // Block layout: what placements change first, max_free[R] whole share min_free[R], then what
  // only capacities change, max_cap[R] min_pos_cap[R] has_zero[R bytes].
  static constexpr int kMaxR = 64;
  const int64_t* block(int v) const { return &block_[static_cast<size_t>(v) * stride_]; }
  int64_t* block(int v) { return &block_[static_cast<size_t>(v) * stride_]; }
  bool combine(int v, bool capacity);  // true when the aggregates of v changed
  bool capacity_changed_ = true;      // by the last set_leaf
  void combine_column(int v, int j);
  int new_column(int c, int k);
  void set_neutral(int v);
  size_t stride_ = 0;
  int R_ = 0, S_ = 0, C_ = 1;
  bool keep_max_ = true;
  std::vector<int32_t> gpu_conditions_;  // milli-GPU: >= 1000 whole GPUs free, below a share on one GPU
  int gpu_column_ = -1, second_ = -1;
  std::vector<int64_t> second_thresholds_;
  // Columns: index per (condition, scalar) pair or -1; per column its scalar and its condition
  // (GPU need, 0 for none; least free amount of `second_`, -1 for none).
  int cols_ = 0;
  std::vector<int32_t> col_of_;
  std::vector<int32_t> col_k_, col_gpu_;
  std::vector<int64_t> col_second_;
  bool meets(const LeafFacts& f, int j) const;
  int leaves_ = 0;
  std::vector<int64_t> block_;
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
