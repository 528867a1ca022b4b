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
  cols_ = 0;
  col_of_.assign(static_cast<size_t>(C_) * S_, -1);
  col_k_.clear();
  col_gpu_.clear();
  col_second_.clear();
}

int FreeIndex::new_column(int c, int k) {
  const int Q = static_cast<int>(second_thresholds_.size()) + 1;
  const int g = c / Q, q = c % Q;
  const int j = cols_++;
  col_of_[static_cast<size_t>(c) * S_ + k] = j;
  col_k_.push_back(k);
  col_gpu_.push_back(g > 0 ? gpu_conditions_[g - 1] : 0);
  col_second_.push_back(q > 0 ? second_thresholds_[q - 1] : -1);
  // Widen every vertex's row by one neutral value.
  const size_t vertices = static_cast<size_t>(2 * leaves_);
  if (narrow_) {
    std::vector<int32_t> next(vertices * cols_, keep_max_ ? INT32_MIN : INT32_MAX);
    for (size_t v = 0; v < vertices; ++v) {
      std::copy_n(scalar32_.data() + v * j, j, &next[v * cols_]);
    }
    scalar32_.swap(next);
  } else {
    std::vector<int64_t> next(vertices * cols_, neutral());
    for (size_t v = 0; v < vertices; ++v) std::copy_n(scalar_.data() + v * j, j, &next[v * cols_]);
    scalar_.swap(next);
  }
  return j;
}

bool FreeIndex::meets(const LeafFacts& f, int j) const {
  const int32_t need = col_gpu_[j];
  if (need >= 1000 ? f.whole_gpus_free < need / 1000 : f.max_gpu_share_free < need) return false;
  return col_second_[j] < 0 || f.free[second_] >= col_second_[j];
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
    b[r] = -1;                        // max_free
    b[R_ + 2 + r] = INT64_MAX;        // min_free
    b[2 * R_ + 2 + r] = 0;            // max_cap
    b[3 * R_ + 2 + r] = INT64_MAX;    // min_pos_cap
    frac_[static_cast<size_t>(v) * 2 * R_ + r] = kInf;
    frac_[static_cast<size_t>(v) * 2 * R_ + R_ + r] = -kInf;
  }
  b[R_] = -1;      // whole GPUs
  b[R_ + 1] = -1;  // GPU share
  uint8_t* zero = reinterpret_cast<uint8_t*>(b + 4 * R_ + 2);
  for (int r = 0; r < R_; ++r) zero[r] = 0;
}

void FreeIndex::set_leaf(int pos, const LeafFacts& f) {
  const int v = leaves_ + pos;
  const size_t os = static_cast<size_t>(v) * cols_;
  int64_t* b = block(v);
  // The capacity part before, to tell update_path whether it must recompute it.
  int64_t before[2 * kMaxR + 8];
  const size_t fixed = stride_ - (2 * R_ + 2);
  std::copy_n(b + 2 * R_ + 2, fixed, before);
  set_neutral(v);
  if (f.live) {
    uint8_t* zero = reinterpret_cast<uint8_t*>(b + 4 * R_ + 2);
    double* frac = &frac_[static_cast<size_t>(v) * 2 * R_];
    for (int r = 0; r < R_; ++r) {
      const int64_t cap = f.cap[r];
      b[r] = f.free[r];
      b[R_ + 2 + r] = f.free[r];
      b[2 * R_ + 2 + r] = cap;
      if (cap > 0) {
        const double ff = static_cast<double>(f.free[r]) / static_cast<double>(cap);
        b[3 * R_ + 2 + r] = cap;
        frac[r] = ff;
        frac[R_ + r] = ff;
      } else {
        zero[r] = 1;
      }
    }
    b[R_] = f.whole_gpus_free;
    b[R_ + 1] = f.max_gpu_share_free;
  }
  for (int j = 0; j < cols_; ++j) put(os + j, f.live && meets(f, j) ? f.scalars[col_k_[j]] : neutral());
  capacity_changed_ = !std::equal(before, before + fixed, b + 2 * R_ + 2);
}

namespace {
// o[k] = max or min of x[k], y[k]; returns whether any o[k] changed.
template <class T>
bool merge(T* o, const T* x, const T* y, size_t n, bool keep_max) {
  T diff = 0;
  if (keep_max) {
    for (size_t k = 0; k < n; ++k) {
      const T m = std::max(x[k], y[k]);
      diff |= m ^ o[k];
      o[k] = m;
    }
  } else {
    for (size_t k = 0; k < n; ++k) {
      const T m = std::min(x[k], y[k]);
      diff |= m ^ o[k];
      o[k] = m;
    }
  }
  return diff != 0;
}
}  // namespace

bool FreeIndex::combine(int v, bool capacity) {
  const int a = 2 * v, b = 2 * v + 1;
  int64_t* o = block(v);
  const int64_t* x = block(a);
  const int64_t* y = block(b);
  const size_t R = static_cast<size_t>(R_);
  bool changed = merge(o, x, y, R + 2, true);              // max_free, GPU maxima
  changed |= merge(o + R + 2, x + R + 2, y + R + 2, R, false);  // min_free
  if (capacity) {
    changed |= merge(o + 2 * R + 2, x + 2 * R + 2, y + 2 * R + 2, R, true);  // max_cap
    changed |= merge(o + 3 * R + 2, x + 3 * R + 2, y + 3 * R + 2, R, false);  // min_pos_cap
    uint8_t* oz = reinterpret_cast<uint8_t*>(o + 4 * R + 2);
    const uint8_t* xz = reinterpret_cast<const uint8_t*>(x + 4 * R + 2);
    const uint8_t* yz = reinterpret_cast<const uint8_t*>(y + 4 * R + 2);
    for (size_t r = 0; r < R; ++r) {
      const uint8_t z = xz[r] | yz[r];
      changed |= z != oz[r];
      oz[r] = z;
    }
  }
  double* f = &frac_[static_cast<size_t>(v) * 2 * R];
  const double* fa = &frac_[static_cast<size_t>(a) * 2 * R];
  const double* fb = &frac_[static_cast<size_t>(b) * 2 * R];
  for (size_t r = 0; r < R; ++r) {
    const double lo = std::min(fa[r], fb[r]), hi = std::max(fa[R + r], fb[R + r]);
    changed |= lo != f[r] || hi != f[R + r];  // fractions are never NaN
    f[r] = lo;
    f[R + r] = hi;
  }
  const size_t n = static_cast<size_t>(cols_);
  const size_t s = static_cast<size_t>(v) * n, sa = static_cast<size_t>(a) * n, sb = static_cast<size_t>(b) * n;
  if (narrow_) {
    int32_t* c = scalar32_.data();
    changed |= merge(c + s, c + sa, c + sb, n, keep_max_);
  } else {
    int64_t* c = scalar_.data();
    changed |= merge(c + s, c + sa, c + sb, n, keep_max_);
  }
  return changed;
}

void FreeIndex::combine_column(int v, int j) {
  const size_t o = static_cast<size_t>(v) * cols_ + j, a = static_cast<size_t>(2 * v) * cols_ + j,
               b = static_cast<size_t>(2 * v + 1) * cols_ + j;
  if (narrow_) {
    scalar32_[o] = keep_max_ ? std::max(scalar32_[a], scalar32_[b]) : std::min(scalar32_[a], scalar32_[b]);
  } else {
    scalar_[o] = keep_max_ ? std::max(scalar_[a], scalar_[b]) : std::min(scalar_[a], scalar_[b]);
  }
}

void FreeIndex::update_path(int pos) {
  // Once a vertex is unchanged, so is everything above it; a placement leaves capacities alone.
  for (int v = (leaves_ + pos) >> 1; v >= 1 && combine(v, capacity_changed_); v >>= 1) {
  }
}

void FreeIndex::rebuild_all() {
  for (int v = leaves_ - 1; v >= 1; --v) combine(v, true);
}

}  // namespace aios::placement
