// FreeIndex: a complete binary tree over node slots whose inner vertices hold, per resource, the
// maxima of free capacity and the ranges of free fractions of their subtree, plus GPU maxima and
// the smallest tie key. A placement search prunes every subtree that cannot hold the request or
// cannot beat the best score found so far (branch and bound), so the common request visits
// O(log n) vertices instead of scanning n nodes.
//
// Complexity (n node slots, R resources): build O(n R); update of one node O(R log n);
// memory O(n R).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace aios::placement {

struct LeafFacts {
  const int64_t* cap;
  const int64_t* free;
  int32_t whole_gpus_free;  // GPUs with no share in use
  int32_t max_gpu_share_free;  // largest free milli-GPU on one GPU
  bool live;
};

class FreeIndex {
 public:
  FreeIndex() = default;
  // `slots` is rounded up to a power of two; leaves past the live nodes stay empty.
  void reset(int resources, int slots);
  int leaves() const { return leaves_; }
  int resources() const { return R_; }
  void set_leaf(int node, const LeafFacts& facts, uint64_t tie);
  // Recomputes the vertices above `node` from their children.
  void update_path(int node);
  void rebuild_all();

  // Per-vertex aggregates, vertex v in [1, 2 * leaves); leaves at [leaves, 2 * leaves).
  const int64_t* max_free(int v) const { return &max_free_[static_cast<size_t>(v) * R_]; }
  const int64_t* min_pos_cap(int v) const { return &min_pos_cap_[static_cast<size_t>(v) * R_]; }
  const int64_t* max_cap(int v) const { return &max_cap_[static_cast<size_t>(v) * R_]; }
  const double* min_free_frac(int v) const { return &min_ff_[static_cast<size_t>(v) * R_]; }
  const double* max_free_frac(int v) const { return &max_ff_[static_cast<size_t>(v) * R_]; }
  const uint8_t* has_zero_cap(int v) const { return &has_zero_[static_cast<size_t>(v) * R_]; }
  int32_t max_whole_gpus(int v) const { return max_whole_[v]; }
  int32_t max_gpu_share(int v) const { return max_share_[v]; }
  uint64_t min_tie(int v) const { return min_tie_[v]; }
  int32_t first_slot(int v) const;  // smallest node slot in the subtree of v

 private:
  void combine(int v);
  int R_ = 0;
  int leaves_ = 0;
  std::vector<int64_t> max_free_, min_pos_cap_, max_cap_;
  std::vector<double> min_ff_, max_ff_;
  std::vector<uint8_t> has_zero_;
  std::vector<int32_t> max_whole_, max_share_;
  std::vector<uint64_t> min_tie_;
};

}  // namespace aios::placement
