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
  stride_ = static_cast<size_t>(4 * R_ + 2 + (R_ + 7) / 8);
  block_.assign(vertices * stride_, 0);
  frac_.assign(vertices * 2 * R_, 0.0);
  for (size_t v = 0; v < vertices; ++v) set_neutral(static_cast<int>(v));
  scalar_.clear();
  scalar32_.clear();
  if (narrow_) {
    scalar32_.assign(vertices * C_ * S_, keep_max_ ? INT32_MIN : INT32_MAX);
  } else {
    scalar_.assign(vertices * C_ * S_, neutral());
  }
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

void FreeIndex::set_neutral(int v) {
  int64_t* b = block(v);
  for (int r = 0; r < R_; ++r) {
    b[r] = -1;                      // max_free
    b[R_ + r] = INT64_MAX;          // min_free
    b[2 * R_ + r] = INT64_MAX;      // min_pos_cap
    b[3 * R_ + r] = 0;              // max_cap
    frac_[static_cast<size_t>(v) * 2 * R_ + r] = kInf;
    frac_[static_cast<size_t>(v) * 2 * R_ + R_ + r] = -kInf;
  }
  b[4 * R_] = -1;  // whole GPUs
  b[4 * R_ + 1] = -1;  // GPU share
  uint8_t* zero = reinterpret_cast<uint8_t*>(b + 4 * R_ + 2);
  for (int r = 0; r < R_; ++r) zero[r] = 0;
}

void FreeIndex::set_leaf(int pos, const LeafFacts& f) {
  const int v = leaves_ + pos;
  const size_t os = static_cast<size_t>(v) * C_ * S_;
  set_neutral(v);
  if (!f.live) {  // neutral for every min and max
    for (size_t k = 0; k < static_cast<size_t>(C_) * S_; ++k) put(os + k, neutral());
    return;
  }
  int64_t* b = block(v);
  uint8_t* zero = reinterpret_cast<uint8_t*>(b + 4 * R_ + 2);
  double* frac = &frac_[static_cast<size_t>(v) * 2 * R_];
  for (int r = 0; r < R_; ++r) {
    const int64_t cap = f.cap[r];
    b[r] = f.free[r];
    b[R_ + r] = f.free[r];
    b[3 * R_ + r] = cap;
    if (cap > 0) {
      const double ff = static_cast<double>(f.free[r]) / static_cast<double>(cap);
      b[2 * R_ + r] = cap;
      frac[r] = ff;
      frac[R_ + r] = ff;
    } else {
      zero[r] = 1;
    }
  }
  for (int c = 0; c < C_; ++c) {
    const bool ok = meets(f, c);
    for (int k = 0; k < S_; ++k) put(os + static_cast<size_t>(c) * S_ + k, ok ? f.scalars[k] : neutral());
  }
  b[4 * R_] = f.whole_gpus_free;
  b[4 * R_ + 1] = f.max_gpu_share_free;
}

void FreeIndex::combine(int v) {
  const int a = 2 * v, b = 2 * v + 1;
  int64_t* o = block(v);
  const int64_t* x = block(a);
  const int64_t* y = block(b);
  for (int r = 0; r < R_; ++r) {
    o[r] = std::max(x[r], y[r]);
    o[R_ + r] = std::min(x[R_ + r], y[R_ + r]);
    o[2 * R_ + r] = std::min(x[2 * R_ + r], y[2 * R_ + r]);
    o[3 * R_ + r] = std::max(x[3 * R_ + r], y[3 * R_ + r]);
  }
  o[4 * R_] = std::max(x[4 * R_], y[4 * R_]);
  o[4 * R_ + 1] = std::max(x[4 * R_ + 1], y[4 * R_ + 1]);
  uint8_t* oz = reinterpret_cast<uint8_t*>(o + 4 * R_ + 2);
  const uint8_t* xz = reinterpret_cast<const uint8_t*>(x + 4 * R_ + 2);
  const uint8_t* yz = reinterpret_cast<const uint8_t*>(y + 4 * R_ + 2);
  for (int r = 0; r < R_; ++r) oz[r] = xz[r] | yz[r];
  double* f = &frac_[static_cast<size_t>(v) * 2 * R_];
  const double* fa = &frac_[static_cast<size_t>(a) * 2 * R_];
  const double* fb = &frac_[static_cast<size_t>(b) * 2 * R_];
  for (int r = 0; r < R_; ++r) {
    f[r] = std::min(fa[r], fb[r]);
    f[R_ + r] = std::max(fa[R_ + r], fb[R_ + r]);
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
}

void FreeIndex::update_path(int pos) {
  for (int v = (leaves_ + pos) >> 1; v >= 1; v >>= 1) combine(v);
}

void FreeIndex::rebuild_all() {
  for (int v = leaves_ - 1; v >= 1; --v) combine(v);
}

}  // namespace aios::placement
