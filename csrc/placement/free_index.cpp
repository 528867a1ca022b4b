#include "placement/free_index.hpp"

#include <algorithm>
#include <climits>
#include <limits>

namespace aios::placement {

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();
}

void FreeIndex::reset(int resources, int scalars, bool keep_max, bool narrow, int gpu_column,
                      const std::vector<int32_t>& gpu_conditions, int second_resource, const std::vector<int64_t>& second_thresholds, int slots) {
  R_ = resources;
  S_ = scalars;
  keep_max_ = keep_max;
  narrow_ = narrow;
  gpu_column_ = gpu_column;
  gpu_conditions_ = gpu_conditions;
  second_ = second_resource;
  second_thresholds_ = second_resource >= 0 ? second_thresholds : std::vector<int64_t>{};
  C_ = static_cast<int>((gpu_conditions_.size() + 1) * (second_thresholds_.size() + 1));
  leaves_ = 1;
  while (leaves_ < slots) leaves_ <<= 1;
  const size_t vertices = static_cast<size_t>(2 * leaves_);
  max_free_.assign(vertices * R_, -1);
  min_free_.assign(vertices * R_, INT64_MAX);
  min_pos_cap_.assign(vertices * R_, INT64_MAX);
  max_cap_.assign(vertices * R_, 0);
  min_ff_.assign(vertices * R_, kInf);
  max_ff_.assign(vertices * R_, -kInf);
  has_zero_.assign(vertices * R_, 0);
  scalar_.clear();
  scalar32_.clear();
  if (narrow_) {
    scalar32_.assign(vertices * C_ * S_, keep_max_ ? INT32_MIN : INT32_MAX);
  } else {
    scalar_.assign(vertices * C_ * S_, neutral());
  }
  max_whole_.assign(vertices, -1);
  max_share_.assign(vertices, -1);
}

bool FreeIndex::meets(const LeafFacts& f, int c) const {
  const int Q = static_cast<int>(second_thresholds_.size()) + 1;
  const int g = c / Q, q = c % Q;
  if (g > 0) {
    const int32_t need = gpu_conditions_[g - 1];
    if (need >= 1000 ? f.whole_gpus_free < need / 1000 : f.max_gpu_share_free < need) return false;
  }
  return q == 0 || f.free[second_] >= second_thresholds_[q - 1];
}

int FreeIndex::condition(const int64_t* req) const {
  // The most demanding condition the request implies (thresholds ascend within each kind).
  int g = 0;
  const int64_t milli = gpu_column_ >= 0 ? req[gpu_column_] : 0;
  for (size_t k = 0; k < gpu_conditions_.size() && milli > 0; ++k) {
    const int32_t need = gpu_conditions_[k];
    if (milli >= 1000 ? (need >= 1000 && need <= milli) : (need < 1000 && need <= milli)) g = static_cast<int>(k) + 1;
  }
  int q = 0;
  for (size_t k = 0; k < second_thresholds_.size(); ++k) {
    if (second_thresholds_[k] <= req[second_]) q = static_cast<int>(k) + 1;
  }
  return g * (static_cast<int>(second_thresholds_.size()) + 1) + q;
}

int32_t FreeIndex::first_pos(int v) const {
  // Shift v down to the leaf level: leaves_ is a power of two, v >= 1.
  const int shift = __builtin_clz(static_cast<unsigned>(v)) - __builtin_clz(static_cast<unsigned>(leaves_));
  return (v << shift) - leaves_;
}

void FreeIndex::set_leaf(int pos, const LeafFacts& f) {
  const int v = leaves_ + pos;
  const size_t o = at(v), os = static_cast<size_t>(v) * C_ * S_;
  if (!f.live) {  // neutral for every min and max
    for (int r = 0; r < R_; ++r) {
      max_free_[o + r] = -1;
      min_free_[o + r] = INT64_MAX;
      min_pos_cap_[o + r] = INT64_MAX;
      max_cap_[o + r] = 0;
      min_ff_[o + r] = kInf;
      max_ff_[o + r] = -kInf;
      has_zero_[o + r] = 0;
    }
    for (size_t k = 0; k < static_cast<size_t>(C_) * S_; ++k) put(os + k, neutral());
    max_whole_[v] = -1;
    max_share_[v] = -1;
    return;
  }
  for (int r = 0; r < R_; ++r) {
    const int64_t cap = f.cap[r];
    max_free_[o + r] = f.free[r];
    min_free_[o + r] = f.free[r];
    max_cap_[o + r] = cap;
    const bool positive = cap > 0;
    const double ff = positive ? static_cast<double>(f.free[r]) / static_cast<double>(cap) : 0.0;
    min_pos_cap_[o + r] = positive ? cap : INT64_MAX;
    min_ff_[o + r] = positive ? ff : kInf;
    max_ff_[o + r] = positive ? ff : -kInf;
    has_zero_[o + r] = positive ? 0 : 1;
  }
  for (int c = 0; c < C_; ++c) {
    const bool ok = meets(f, c);
    for (int k = 0; k < S_; ++k) put(os + static_cast<size_t>(c) * S_ + k, ok ? f.scalars[k] : neutral());
  }
  max_whole_[v] = f.whole_gpus_free;
  max_share_[v] = f.max_gpu_share_free;
}

void FreeIndex::combine(int v) {
  const int a = 2 * v, b = 2 * v + 1;
  const size_t o = at(v), oa = at(a), ob = at(b);
  for (int r = 0; r < R_; ++r) {
    max_free_[o + r] = std::max(max_free_[oa + r], max_free_[ob + r]);
    min_free_[o + r] = std::min(min_free_[oa + r], min_free_[ob + r]);
    min_pos_cap_[o + r] = std::min(min_pos_cap_[oa + r], min_pos_cap_[ob + r]);
    max_cap_[o + r] = std::max(max_cap_[oa + r], max_cap_[ob + r]);
    min_ff_[o + r] = std::min(min_ff_[oa + r], min_ff_[ob + r]);
    max_ff_[o + r] = std::max(max_ff_[oa + r], max_ff_[ob + r]);
    has_zero_[o + r] = has_zero_[oa + r] | has_zero_[ob + r];
  }
  const size_t n = static_cast<size_t>(C_) * S_;
  const size_t s = static_cast<size_t>(v) * n, sa = static_cast<size_t>(a) * n, sb = static_cast<size_t>(b) * n;
  if (narrow_) {
    int32_t* x = scalar32_.data();
    if (keep_max_) {
      for (size_t k = 0; k < n; ++k) x[s + k] = std::max(x[sa + k], x[sb + k]);
    } else {
      for (size_t k = 0; k < n; ++k) x[s + k] = std::min(x[sa + k], x[sb + k]);
    }
  } else {
    int64_t* x = scalar_.data();
    if (keep_max_) {
      for (size_t k = 0; k < n; ++k) x[s + k] = std::max(x[sa + k], x[sb + k]);
    } else {
      for (size_t k = 0; k < n; ++k) x[s + k] = std::min(x[sa + k], x[sb + k]);
    }
  }
  max_whole_[v] = std::max(max_whole_[a], max_whole_[b]);
  max_share_[v] = std::max(max_share_[a], max_share_[b]);
}

void FreeIndex::update_path(int pos) {
  for (int v = (leaves_ + pos) >> 1; v >= 1; v >>= 1) combine(v);
}

void FreeIndex::rebuild_all() {
  for (int v = leaves_ - 1; v >= 1; --v) combine(v);
}

}  // namespace aios::placement
