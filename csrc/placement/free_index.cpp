#include "placement/free_index.hpp"

#include <algorithm>
#include <climits>
#include <cstring>
#include <limits>

namespace aios::placement {

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();

typedef int64_t Bits __attribute__((vector_size(32)));

// o[k] = max or min of x[k], y[k] for k < n rounded up to whole 32-byte blocks (the caller's rows
// hold values there that merge to themselves); the bits that changed are or-ed into *changed.
// One vector step per block, no remainder loop. Inlined, so that it is compiled for each target
// of combine().
template <bool Max, class T>
__attribute__((always_inline)) inline void merge_blocks(T* o, const T* x, const T* y, size_t n, Bits* changed) {
  typedef T V __attribute__((vector_size(32)));
  V diff = {};
  for (size_t b = 0; b < n; b += sizeof(V) / sizeof(T)) {
    V a, c, old;
    std::memcpy(&a, x + b, sizeof(V));
    std::memcpy(&c, y + b, sizeof(V));
    std::memcpy(&old, o + b, sizeof(V));
    V take_c;  // all ones in the lanes where y[k] wins
    if constexpr (Max) {
      take_c = c > a;
    } else {
      take_c = c < a;
    }
    const V m = a ^ ((a ^ c) & take_c);
    diff |= m ^ old;
    std::memcpy(o + b, &m, sizeof(V));
  }
  Bits d;
  std::memcpy(&d, &diff, sizeof(d));
  *changed |= d;
}

template <class T>
__attribute__((always_inline)) inline void merge(T* o, const T* x, const T* y, size_t n, bool keep_max, Bits* changed) {
  if (keep_max) {
    merge_blocks<true>(o, x, y, n, changed);
  } else {
    merge_blocks<false>(o, x, y, n, changed);
  }
}

// The same for exactly n values (rows without padding; only capacity changes read them).
template <class T>
bool merge_exact(T* __restrict o, const T* __restrict x, const T* __restrict y, size_t n, bool keep_max) {
  T diff = 0;
  for (size_t k = 0; k < n; ++k) {
    const T m = keep_max ? std::max(x[k], y[k]) : std::min(x[k], y[k]);
    diff |= m ^ o[k];
    o[k] = m;
  }
  return diff != 0;
}
}  // namespace

void FreeIndex::reset(int resources, int scalars, bool keep_max, bool narrow, int gpu_column,
                      const std::vector<int32_t>& gpu_conditions, int second_resource,
                      const std::vector<int64_t>& second_thresholds, int slots, bool min_extremes) {
  R_ = resources;
  min_extremes_ = min_extremes;
  fractions_ = min_extremes;
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
  min_offset_ = static_cast<size_t>((R_ + 2 + 3) / 4 * 4);
  hot_stride_ = (min_offset_ + (min_extremes_ ? static_cast<size_t>((R_ + 3) / 4 * 4) : 0) + 7) / 8 * 8;
  cold_stride_ = static_cast<size_t>(2 * R_ + (R_ + 7) / 8);
  // Aligned to the block size up to 128 bytes (a pair of lines that the hardware fetches together).
  const size_t align = hot_stride_ >= 16 ? 128 : 64;
  hot_.assign(vertices * hot_stride_ + 16, 0);
  hot_offset_ = (align - reinterpret_cast<uintptr_t>(hot_.data()) % align) % align / sizeof(int64_t);
  cold_.assign(vertices * cold_stride_, 0);
  frac_.assign(vertices * 2 * R_, 0.0);
  for (size_t v = 0; v < vertices; ++v) set_neutral(static_cast<int>(v));
  scalar_.clear();
  scalar32_.clear();
  cols_ = 0;
  col_stride_ = 0;
  leaf_scalars_.assign(static_cast<size_t>(leaves_) * S_, 0);
  col_of_.assign(static_cast<size_t>(C_) * S_, -1);
  col_k_.clear();
  col_whole_.clear();
  col_share_.clear();
  col_second_.clear();
}

void FreeIndex::new_column(int c, int k) {
  const int Q = static_cast<int>(second_thresholds_.size()) + 1;
  const int g = c / Q, q = c % Q;
  const int32_t gpu = g > 0 ? gpu_conditions_[g - 1] : 0;
  col_of_[static_cast<size_t>(c) * S_ + k] = cols_++;
  col_k_.push_back(k);
  col_whole_.push_back(gpu >= 1000 ? gpu / 1000 : 0);
  col_share_.push_back(gpu < 1000 ? gpu : 0);
  col_second_.push_back(q > 0 ? second_thresholds_[q - 1] : INT64_MIN);
}

void FreeIndex::widen_rows(int columns) {
  // Rows a whole number of cache lines wide, moved once however many columns come; the room past
  // the current columns stays neutral.
  const int per_line = narrow_ ? 16 : 8;
  const int stride = (columns + per_line - 1) / per_line * per_line;
  if (stride <= col_stride_) return;
  const size_t vertices = static_cast<size_t>(2 * leaves_);
  if (narrow_) {
    std::vector<int32_t> next(vertices * stride, keep_max_ ? INT32_MIN : INT32_MAX);
    for (size_t v = 0; v < vertices; ++v) std::copy_n(scalar32_.data() + v * col_stride_, cols_, &next[v * stride]);
    scalar32_.swap(next);
  } else {
    std::vector<int64_t> next(vertices * stride, neutral());
    for (size_t v = 0; v < vertices; ++v) std::copy_n(scalar_.data() + v * col_stride_, cols_, &next[v * stride]);
    scalar_.swap(next);
  }
  col_stride_ = stride;
}

void FreeIndex::add_columns(const std::vector<std::pair<int, int>>& pairs) {
  const int first = cols_;
  int fresh = 0;
  for (const auto& [c, k] : pairs) fresh += column(c, k) < 0;
  if (fresh == 0) return;
  widen_rows(first + fresh);  // the rows first: if that throws, the index is as it was
  for (const auto& [c, k] : pairs) {
    if (column(c, k) < 0) new_column(c, k);
  }
  // One pass over the leaves, then one up the tree, for all the new columns together: each pass
  // reads every vertex's row once (a pass per column read each row once per column).
  for (int pos = 0; pos < leaves_; ++pos) {
    const int64_t* h = hot(leaves_ + pos);  // a live node's leaf has max_free >= 0
    const int64_t* scalars = leaf_scalars_.data() + static_cast<size_t>(pos) * S_;
    const size_t row = static_cast<size_t>(leaves_ + pos) * col_stride_;
    for (int j = first; j < cols_; ++j) {
      const bool ok = h[0] >= 0 && meets(h[R_], h[R_ + 1], second_ >= 0 ? h[second_] : 0, j);
      put(row + j, ok ? scalars[col_k_[j]] : neutral());
    }
  }
  combine_columns(first, cols_);
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

void FreeIndex::set_neutral(int v) {
  int64_t* h = hot(v);
  int64_t* c = cold(v);
  for (int r = 0; r < R_; ++r) {
    h[r] = -1;                  // max_free
    if (min_extremes_) h[min_offset_ + r] = INT64_MAX;  // min_free
    c[r] = 0;                   // max_cap
    c[R_ + r] = INT64_MAX;      // min_pos_cap
    frac_[static_cast<size_t>(v) * 2 * R_ + r] = kInf;
    frac_[static_cast<size_t>(v) * 2 * R_ + R_ + r] = -kInf;
  }
  h[R_] = -1;      // whole GPUs
  h[R_ + 1] = -1;  // GPU share
  uint8_t* zero = reinterpret_cast<uint8_t*>(c + 2 * R_);
  for (int r = 0; r < R_; ++r) zero[r] = 0;
}

void FreeIndex::set_leaf(int pos, const LeafFacts& f) {
  const int v = leaves_ + pos;
  const size_t os = static_cast<size_t>(v) * col_stride_;
  int64_t* h = hot(v);
  int64_t* c = cold(v);
  // The capacity part before, to tell update_path whether it must recompute it.
  int64_t before[3 * 64];
  std::copy_n(c, cold_stride_, before);
  if (!f.live) {  // neutral for every min and max
    set_neutral(v);
    for (int j = 0; j < cols_; ++j) put(os + j, neutral());
  } else {
    uint8_t* zero = reinterpret_cast<uint8_t*>(c + 2 * R_);
    double* frac = &frac_[static_cast<size_t>(v) * 2 * R_];
    for (int r = 0; r < R_; ++r) {
      const int64_t cap = f.cap[r], free = f.free[r];
      h[r] = free;
      if (min_extremes_) h[min_offset_ + r] = free;
      c[r] = cap;
      c[R_ + r] = cap > 0 ? cap : INT64_MAX;
      zero[r] = cap == 0;
      const double ff = cap > 0 ? static_cast<double>(free) / static_cast<double>(cap) : 0.0;
      frac[r] = cap > 0 ? ff : kInf;
      frac[R_ + r] = cap > 0 ? ff : -kInf;
    }
    h[R_] = f.whole_gpus_free;
    h[R_ + 1] = f.max_gpu_share_free;
    std::copy_n(f.scalars, S_, leaf_scalars_.data() + static_cast<size_t>(pos) * S_);
    // Each column: the node's scalar where it meets the column's condition. The column facts are
    // read through local pointers (a store to the int32 row may not alias them).
    const int64_t whole = f.whole_gpus_free, share = f.max_gpu_share_free, second = second_ >= 0 ? f.free[second_] : 0;
    const int32_t* __restrict cw = col_whole_.data();
    const int32_t* __restrict cs = col_share_.data();
    const int64_t* __restrict c2 = col_second_.data();
    const int32_t* __restrict ck = col_k_.data();
    auto meets_j = [&](int j) { return (whole >= cw[j]) & (share >= cs[j]) & (second >= c2[j]); };
    if (narrow_) {  // narrow each scalar once, then pick per column
      int32_t narrowed[64];
      for (int k = 0; k < S_; ++k) narrowed[k] = static_cast<int32_t>(f.scalars[k]);
      const int32_t none = keep_max_ ? INT32_MIN : INT32_MAX;
      int32_t* __restrict out = scalar32_.data() + os;
      for (int j = 0; j < cols_; ++j) out[j] = meets_j(j) ? narrowed[ck[j]] : none;
    } else {
      int64_t* __restrict out = scalar_.data() + os;
      for (int j = 0; j < cols_; ++j) out[j] = meets_j(j) ? f.scalars[ck[j]] : neutral();
    }
  }
  capacity_changed_ = !std::equal(before, before + cold_stride_, c);
}

// Compiled twice where the toolchain can pick at load time: with AVX2 the merges take 4 int64 or
// 8 int32 at a time (SSE2 has no 64-bit compare nor 32-bit min/max).
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
__attribute__((target_clones("avx2", "default")))
#endif
bool FreeIndex::combine(int v, bool capacity) {
  const int a = 2 * v, b = 2 * v + 1;
  const size_t R = static_cast<size_t>(R_);
  int64_t* o = hot(v);
  const int64_t* x = hot(a);
  const int64_t* y = hot(b);
  const size_t mo = min_offset_;
  Bits bits = {};  // what changed in the padded rows, tested once at the end
  merge(o, x, y, R + 2, true, &bits);  // max_free, GPU maxima
  if (min_extremes_) merge(o + mo, x + mo, y + mo, R, false, &bits);  // min_free
  bool changed = false;
  if (capacity) {
    int64_t* oc = cold(v);
    const int64_t* xc = cold(a);
    const int64_t* yc = cold(b);
    changed |= merge_exact(oc, xc, yc, R, true);               // max_cap
    changed |= merge_exact(oc + R, xc + R, yc + R, R, false);  // min_pos_cap
    uint8_t* oz = reinterpret_cast<uint8_t*>(oc + 2 * R);
    const uint8_t* xz = reinterpret_cast<const uint8_t*>(xc + 2 * R);
    const uint8_t* yz = reinterpret_cast<const uint8_t*>(yc + 2 * R);
    for (size_t r = 0; r < R; ++r) {
      const uint8_t z = xz[r] | yz[r];
      changed |= z != oz[r];
      oz[r] = z;
    }
  }
  double* f = &frac_[static_cast<size_t>(v) * 2 * R];
  const double* fa = &frac_[static_cast<size_t>(a) * 2 * R];
  const double* fb = &frac_[static_cast<size_t>(b) * 2 * R];
  for (size_t r = 0; r < R && fractions_; ++r) {
    const double lo = std::min(fa[r], fb[r]), hi = std::max(fa[R + r], fb[R + r]);
    changed |= (lo != f[r]) | (hi != f[R + r]);  // fractions are never NaN
    f[r] = lo;
    f[R + r] = hi;
  }
  const size_t n = static_cast<size_t>(cols_), w = static_cast<size_t>(col_stride_);
  const size_t s = static_cast<size_t>(v) * w, sa = static_cast<size_t>(a) * w, sb = static_cast<size_t>(b) * w;
  if (narrow_) {
    int32_t* c = scalar32_.data();
    merge(c + s, c + sa, c + sb, n, keep_max_, &bits);
  } else {
    int64_t* c = scalar_.data();
    merge(c + s, c + sa, c + sb, n, keep_max_, &bits);
  }
  return changed || ((bits[0] | bits[1]) | (bits[2] | bits[3])) != 0;
}

void FreeIndex::combine_columns(int first, int end) {
  // One pass up from the leaves, the element type and the extreme chosen once.
  auto fill = [&](auto* c, bool keep_max) {
    const size_t w = static_cast<size_t>(col_stride_);
    for (size_t v = static_cast<size_t>(leaves_) - 1; v >= 1; --v) {
      for (int j = first; j < end; ++j) {
        const auto a = c[2 * v * w + j], b = c[(2 * v + 1) * w + j];
        c[v * w + j] = keep_max ? std::max(a, b) : std::min(a, b);
      }
    }
  };
  if (narrow_) {
    fill(scalar32_.data(), keep_max_);
  } else {
    fill(scalar_.data(), keep_max_);
  }
}

void FreeIndex::update_path(int pos) {
  // Once a vertex is unchanged, so is everything above it; a placement leaves capacities alone.
  for (int v = (leaves_ + pos) >> 1; v >= 1 && combine(v, capacity_changed_); v >>= 1) {
  }
}

void FreeIndex::set_fractions(bool keep) {
  if (keep && !fractions_) {
    for (int v = leaves_ - 1; v >= 1; --v) {
      double* f = &frac_[static_cast<size_t>(v) * 2 * R_];
      const double* fa = &frac_[static_cast<size_t>(2 * v) * 2 * R_];
      const double* fb = &frac_[static_cast<size_t>(2 * v + 1) * 2 * R_];
      for (int r = 0; r < R_; ++r) {
        f[r] = std::min(fa[r], fb[r]);
        f[R_ + r] = std::max(fa[R_ + r], fb[R_ + r]);
      }
    }
  }
  fractions_ = keep;
}

void FreeIndex::rebuild_all() {
  for (int v = leaves_ - 1; v >= 1; --v) combine(v, true);
}

}  // namespace aios::placement
