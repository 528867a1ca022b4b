#include "placement/free_index.hpp"

#include <algorithm>
#include <climits>
#include <limits>

namespace aios::placement {

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();
}

void FreeIndex::reset(int resources, int slots) {
  R_ = resources;
  leaves_ = 1;
  while (leaves_ < slots) leaves_ <<= 1;
  const size_t vertices = static_cast<size_t>(2 * leaves_);
  max_free_.assign(vertices * R_, -1);
  min_pos_cap_.assign(vertices * R_, INT64_MAX);
  max_cap_.assign(vertices * R_, 0);
  min_ff_.assign(vertices * R_, kInf);
  max_ff_.assign(vertices * R_, -kInf);
  has_zero_.assign(vertices * R_, 0);
  max_whole_.assign(vertices, -1);
  max_share_.assign(vertices, -1);
  min_tie_.assign(vertices, UINT64_MAX);
}

int32_t FreeIndex::first_slot(int v) const {
  while (v < leaves_) v <<= 1;
  return v - leaves_;
}

void FreeIndex::set_leaf(int node, const LeafFacts& f, uint64_t tie) {
  const int v = leaves_ + node;
  const size_t o = static_cast<size_t>(v) * R_;
  min_tie_[v] = tie;
  if (!f.live) {
    for (int r = 0; r < R_; ++r) {
      max_free_[o + r] = -1;
      min_pos_cap_[o + r] = INT64_MAX;
      max_cap_[o + r] = 0;
      min_ff_[o + r] = kInf;
      max_ff_[o + r] = -kInf;
      has_zero_[o + r] = 0;
    }
    max_whole_[v] = -1;
    max_share_[v] = -1;
    return;
  }
  for (int r = 0; r < R_; ++r) {
    const int64_t cap = f.cap[r];
    max_free_[o + r] = f.free[r];
    max_cap_[o + r] = cap;
    if (cap > 0) {
      const double ff = static_cast<double>(f.free[r]) / static_cast<double>(cap);
      min_pos_cap_[o + r] = cap;
      min_ff_[o + r] = ff;
      max_ff_[o + r] = ff;
      has_zero_[o + r] = 0;
    } else {
      min_pos_cap_[o + r] = INT64_MAX;
      min_ff_[o + r] = kInf;
      max_ff_[o + r] = -kInf;
      has_zero_[o + r] = 1;
    }
  }
  max_whole_[v] = f.whole_gpus_free;
  max_share_[v] = f.max_gpu_share_free;
}

void FreeIndex::combine(int v) {
  const int a = 2 * v, b = 2 * v + 1;
  const size_t o = static_cast<size_t>(v) * R_, oa = static_cast<size_t>(a) * R_,
               ob = static_cast<size_t>(b) * R_;
  for (int r = 0; r < R_; ++r) {
    max_free_[o + r] = std::max(max_free_[oa + r], max_free_[ob + r]);
    min_pos_cap_[o + r] = std::min(min_pos_cap_[oa + r], min_pos_cap_[ob + r]);
    max_cap_[o + r] = std::max(max_cap_[oa + r], max_cap_[ob + r]);
    min_ff_[o + r] = std::min(min_ff_[oa + r], min_ff_[ob + r]);
    max_ff_[o + r] = std::max(max_ff_[oa + r], max_ff_[ob + r]);
    has_zero_[o + r] = has_zero_[oa + r] | has_zero_[ob + r];
  }
  max_whole_[v] = std::max(max_whole_[a], max_whole_[b]);
  max_share_[v] = std::max(max_share_[a], max_share_[b]);
  min_tie_[v] = std::min(min_tie_[a], min_tie_[b]);
}

void FreeIndex::update_path(int node) {
  for (int v = (leaves_ + node) >> 1; v >= 1; v >>= 1) combine(v);
}

void FreeIndex::rebuild_all() {
  for (int v = leaves_ - 1; v >= 1; --v) combine(v);
}

}  // namespace aios::placement
