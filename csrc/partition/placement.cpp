#include "partition/placement.hpp"

#include <cmath>
#include <cstddef>
#include <limits>
#if defined(__SSE2__)
#include <emmintrin.h>
#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#endif
#endif

namespace aios::partition {

double placement_count(int64_t n, int64_t p, int64_t t, int64_t d) {
  // lgamma keeps the huge cases finite; small ones are exact after rounding.
  const double lg = std::lgamma(static_cast<double>(n) + 1) -
                    static_cast<double>(n / t) * std::lgamma(static_cast<double>(t) + 1) -
                    static_cast<double>(p) * std::lgamma(static_cast<double>(d) + 1);
  return std::round(std::exp(lg));
}

namespace {

// a > b as tuples (speed, memory, bandwidth, -latency) or (bandwidth, -latency).
struct ChainKey {
  double speed = 0;
  int64_t memory = 0;
  double bw = 0, neg_lat = 0;
  bool operator>(const ChainKey& o) const {
    if (speed != o.speed) return speed > o.speed;
    if (memory != o.memory) return memory > o.memory;
    if (bw != o.bw) return bw > o.bw;
    return neg_lat > o.neg_lat;
  }
};

#if defined(__SSE2__)
// Reductions over part of one row of the link matrices for the bandwidth chain. min, max and
// compares are exact, so lanes and accumulators may be combined in any order. avail[y] is 0.0 for an
// unused device and NaN for a used one, so brow[y] + avail[y] is brow[y] exactly or NaN, and a NaN
// is never greater or equal (min/max below keep their accumulator on a NaN; `nan` records one).
struct RowStats {
  bool nan = false;
  double bmin = std::numeric_limits<double>::infinity(), bmax = 0;
  double lmin = std::numeric_limits<double>::infinity(), lmax = 0;
  double top = -std::numeric_limits<double>::infinity();  // fastest link to an unused device
  double lo = std::numeric_limits<double>::infinity();    // lowest latency among those at `want`
  void add(double b, double l, double av) {
    nan = nan | (b != b) | (l != l);
    bmin = b < bmin ? b : bmin;
    bmax = b > bmax ? b : bmax;
    lmin = l < lmin ? l : lmin;
    lmax = l > lmax ? l : lmax;
    const double v = b + av;
    top = v > top ? v : top;
  }
};

void pass1_sse2(const double* brow, const double* lrow, const double* avail, int64_t y, int64_t to, RowStats& st) {
  constexpr int kAcc = 4;  // independent accumulators of 2 lanes: no long loop-carried chains
  const __m128d inf = _mm_set1_pd(std::numeric_limits<double>::infinity());
  __m128d nan[kAcc], bmin[kAcc], bmax[kAcc], lmin[kAcc], lmax[kAcc], top[kAcc];
  for (int k = 0; k < kAcc; ++k) {
    nan[k] = bmax[k] = lmax[k] = _mm_setzero_pd();
    bmin[k] = lmin[k] = inf;
    top[k] = _mm_set1_pd(-std::numeric_limits<double>::infinity());
  }
  for (; y + 2 * kAcc <= to; y += 2 * kAcc) {
    for (int k = 0; k < kAcc; ++k) {
      const __m128d b = _mm_loadu_pd(brow + y + 2 * k), l = _mm_loadu_pd(lrow + y + 2 * k);
      nan[k] = _mm_or_pd(nan[k], _mm_cmpunord_pd(b, l));
      bmin[k] = _mm_min_pd(b, bmin[k]);
      bmax[k] = _mm_max_pd(b, bmax[k]);
      lmin[k] = _mm_min_pd(l, lmin[k]);
      lmax[k] = _mm_max_pd(l, lmax[k]);
      top[k] = _mm_max_pd(_mm_add_pd(b, _mm_loadu_pd(avail + y + 2 * k)), top[k]);
    }
  }
  double v[6][2];
  for (int k = 0; k < kAcc; ++k) {
    _mm_storeu_pd(v[0], nan[k]);
    _mm_storeu_pd(v[1], bmin[k]);
    _mm_storeu_pd(v[2], bmax[k]);
    _mm_storeu_pd(v[3], lmin[k]);
    _mm_storeu_pd(v[4], lmax[k]);
    _mm_storeu_pd(v[5], top[k]);
    for (int j = 0; j < 2; ++j) {
      st.nan = st.nan | (v[0][j] != 0.0);  // all-ones bits: a NaN
      st.bmin = std::min(st.bmin, v[1][j]);
      st.bmax = std::max(st.bmax, v[2][j]);
      st.lmin = std::min(st.lmin, v[3][j]);
      st.lmax = std::max(st.lmax, v[4][j]);
      st.top = std::max(st.top, v[5][j]);
    }
  }
  for (; y < to; ++y) st.add(brow[y], lrow[y], avail[y]);
}

void pass2_sse2(const double* brow, const double* lrow, const double* avail, int64_t y, int64_t to, double want,
                RowStats& st) {
  constexpr int kAcc = 4;
  const __m128d w = _mm_set1_pd(want), inf = _mm_set1_pd(std::numeric_limits<double>::infinity());
  __m128d lo[kAcc];
  for (int k = 0; k < kAcc; ++k) lo[k] = inf;
  for (; y + 2 * kAcc <= to; y += 2 * kAcc) {
    for (int k = 0; k < kAcc; ++k) {
      const __m128d v = _mm_add_pd(_mm_loadu_pd(brow + y + 2 * k), _mm_loadu_pd(avail + y + 2 * k));
      const __m128d hit = _mm_cmpeq_pd(v, w);
      lo[k] = _mm_min_pd(_mm_or_pd(_mm_and_pd(hit, _mm_loadu_pd(lrow + y + 2 * k)), _mm_andnot_pd(hit, inf)), lo[k]);
    }
  }
  double v[2];
  for (int k = 0; k < kAcc; ++k) {
    _mm_storeu_pd(v, lo[k]);
    st.lo = std::min(st.lo, std::min(v[0], v[1]));
  }
  for (; y < to; ++y) {
    if (brow[y] + avail[y] == want && lrow[y] < st.lo) st.lo = lrow[y];
  }
}

#if defined(__GNUC__) && defined(__x86_64__)
#define AIOS_CHAIN_AVX2 1
// The same with 4 lanes, where the CPU has AVX2 (chosen at run time; same values).
__attribute__((target("avx2"))) void pass1_avx2(const double* brow, const double* lrow, const double* avail,
                                                int64_t y, int64_t to, RowStats& st) {
  constexpr int kAcc = 4;
  const __m256d inf = _mm256_set1_pd(std::numeric_limits<double>::infinity());
  __m256d nan[kAcc], bmin[kAcc], bmax[kAcc], lmin[kAcc], lmax[kAcc], top[kAcc];
  for (int k = 0; k < kAcc; ++k) {
    nan[k] = bmax[k] = lmax[k] = _mm256_setzero_pd();
    bmin[k] = lmin[k] = inf;
    top[k] = _mm256_set1_pd(-std::numeric_limits<double>::infinity());
  }
  for (; y + 4 * kAcc <= to; y += 4 * kAcc) {
    for (int k = 0; k < kAcc; ++k) {
      const __m256d b = _mm256_loadu_pd(brow + y + 4 * k), l = _mm256_loadu_pd(lrow + y + 4 * k);
      nan[k] = _mm256_or_pd(nan[k], _mm256_cmp_pd(b, l, _CMP_UNORD_Q));
      bmin[k] = _mm256_min_pd(b, bmin[k]);
      bmax[k] = _mm256_max_pd(b, bmax[k]);
      lmin[k] = _mm256_min_pd(l, lmin[k]);
      lmax[k] = _mm256_max_pd(l, lmax[k]);
      top[k] = _mm256_max_pd(_mm256_add_pd(b, _mm256_loadu_pd(avail + y + 4 * k)), top[k]);
    }
  }
  double v[6][4];
  for (int k = 0; k < kAcc; ++k) {
    _mm256_storeu_pd(v[0], nan[k]);
    _mm256_storeu_pd(v[1], bmin[k]);
    _mm256_storeu_pd(v[2], bmax[k]);
    _mm256_storeu_pd(v[3], lmin[k]);
    _mm256_storeu_pd(v[4], lmax[k]);
    _mm256_storeu_pd(v[5], top[k]);
    for (int j = 0; j < 4; ++j) {
      st.nan = st.nan | (v[0][j] != 0.0);
      st.bmin = std::min(st.bmin, v[1][j]);
      st.bmax = std::max(st.bmax, v[2][j]);
      st.lmin = std::min(st.lmin, v[3][j]);
      st.lmax = std::max(st.lmax, v[4][j]);
      st.top = std::max(st.top, v[5][j]);
    }
  }
  for (; y < to; ++y) st.add(brow[y], lrow[y], avail[y]);
}

__attribute__((target("avx2"))) void pass2_avx2(const double* brow, const double* lrow, const double* avail,
                                                int64_t y, int64_t to, double want, RowStats& st) {
  constexpr int kAcc = 4;
  const __m256d w = _mm256_set1_pd(want), inf = _mm256_set1_pd(std::numeric_limits<double>::infinity());
  __m256d lo[kAcc];
  for (int k = 0; k < kAcc; ++k) lo[k] = inf;
  for (; y + 4 * kAcc <= to; y += 4 * kAcc) {
    for (int k = 0; k < kAcc; ++k) {
      const __m256d v = _mm256_add_pd(_mm256_loadu_pd(brow + y + 4 * k), _mm256_loadu_pd(avail + y + 4 * k));
      const __m256d hit = _mm256_cmp_pd(v, w, _CMP_EQ_OQ);
      lo[k] = _mm256_min_pd(_mm256_blendv_pd(inf, _mm256_loadu_pd(lrow + y + 4 * k), hit), lo[k]);
    }
  }
  double v[4];
  for (int k = 0; k < kAcc; ++k) {
    _mm256_storeu_pd(v, lo[k]);
    for (int j = 0; j < 4; ++j) st.lo = std::min(st.lo, v[j]);
  }
  for (; y < to; ++y) {
    if (brow[y] + avail[y] == want && lrow[y] < st.lo) st.lo = lrow[y];
  }
}
#endif

// One row of the bandwidth chain: validates the links of x (the slow path, link_row, names a bad
// pair), returns the fastest of them in row_max, and returns the unused device with the fastest link
// to x, then the lowest latency, then the lowest index. Every device before first_unused is used.
int64_t chain_row(const DeviceArrays& dev, int64_t x, const double* avail, const char* used, int64_t first_unused,
                  bool avx2, double& row_max) {
  const int64_t n = dev.count;
  const double* brow = dev.bandwidth + x * n;
  const double* lrow = dev.latency + x * n;
  auto pass1 = [&](int64_t from, int64_t to, RowStats& st) {
#ifdef AIOS_CHAIN_AVX2
    if (avx2) return pass1_avx2(brow, lrow, avail, from, to, st);
#endif
    pass1_sse2(brow, lrow, avail, from, to, st);
  };
  auto pass2 = [&](int64_t from, int64_t to, double want, RowStats& st) {
    if (from >= to) return;
#ifdef AIOS_CHAIN_AVX2
    if (avx2) return pass2_avx2(brow, lrow, avail, from, to, want, st);
#endif
    pass2_sse2(brow, lrow, avail, from, to, want, st);
  };
  (void)avx2;
  // Pass 1: validity (no NaN, bandwidths in (0, DBL_MAX], latencies in [0, DBL_MAX]), the fastest
  // link, the fastest link to an unused device.
  RowStats st;
  pass1(0, x, st);
  pass1(x + 1, n, st);
  constexpr double big = std::numeric_limits<double>::max();
  if (st.nan || !(st.bmin > 0.0) || !(st.bmax <= big) || !(st.lmin >= 0.0) || !(st.lmax <= big)) {
    link_row(dev, x);  // throws: names the bad pair
  }
  row_max = st.bmax;
  const double best_bw = st.top;
  if (!(best_bw > 0.0)) return -1;  // no unused device
  // Pass 2: the lowest latency among the unused devices at best_bw.
  pass2(first_unused, x, best_bw, st);  // devices before first_unused are used: no hit
  pass2(std::max(x + 1, first_unused), n, best_bw, st);
  const double best_lat = st.lo;
  // Pass 3: the first such device (-0.0 == 0.0, as the scalar scan's strict < had it).
  for (int64_t y = first_unused; y < n; ++y) {
    if (!used[y] && brow[y] == best_bw && lrow[y] == best_lat) return y;
  }
  return -1;
}
#endif

// The bandwidth chain, one pass over each row of the link matrices (the largest input, so the same
// pass validates them and finds the fastest link): the fastest link among unused devices, then the
// lowest latency, first index on ties.
std::vector<int64_t> bandwidth_chain(const DeviceArrays& dev, double& max_bw) {
  const int64_t n = dev.count;
  std::vector<char> used(static_cast<size_t>(n), 0);
  std::vector<int64_t> order;
  order.reserve(static_cast<size_t>(n));
  max_bw = 0;
  int64_t last = 0;
#if defined(__SSE2__)
  std::vector<double> avail(static_cast<size_t>(n), 0.0);
  int64_t first_unused = 0;
#ifdef AIOS_CHAIN_AVX2
  const bool avx2 = __builtin_cpu_supports("avx2");
#else
  const bool avx2 = false;
#endif
  while (true) {
    used[static_cast<size_t>(last)] = 1;
    avail[static_cast<size_t>(last)] = std::numeric_limits<double>::quiet_NaN();
    order.push_back(last);
    while (first_unused < n && used[static_cast<size_t>(first_unused)]) ++first_unused;
    double row_max = 0;
    const int64_t next = chain_row(dev, last, avail.data(), used.data(), first_unused, avx2, row_max);
    max_bw = std::max(max_bw, row_max);
    if (static_cast<int64_t>(order.size()) == n) return order;
    last = next;
  }
#else
  while (true) {
    used[static_cast<size_t>(last)] = 1;
    order.push_back(last);
    max_bw = std::max(max_bw, link_row(dev, last));
    if (static_cast<int64_t>(order.size()) == n) return order;
    const double* brow = dev.bandwidth + last * n;
    const double* lrow = dev.latency + last * n;
    int64_t arg = -1;
    double top = 0, lat = 0;
    for (int64_t y = 0; y < n; ++y) {
      if (used[static_cast<size_t>(y)] || brow[y] < top) continue;
      if (brow[y] > top || lrow[y] < lat) {
        arg = y;
        top = brow[y];
        lat = lrow[y];
      }
    }
    last = arg;
  }
#endif
}

// The speed-first chain (heterogeneous device sets only).
std::vector<int64_t> speed_chain(const DeviceArrays& dev) {
  const int64_t n = dev.count;
  std::vector<int64_t> unused(static_cast<size_t>(n));  // ascending, so the first best wins ties
  for (int64_t i = 0; i < n; ++i) unused[static_cast<size_t>(i)] = i;
  auto key = [&](int64_t last, int64_t y) {
    ChainKey k;  // (speed, memory, bandwidth, -latency)
    k.speed = dev.flops_per_s[y];
    k.memory = dev.memory[y];
    if (last >= 0) {
      k.bw = dev.bandwidth[last * n + y];
      k.neg_lat = -dev.latency[last * n + y];
    }
    return k;
  };
  std::vector<int64_t> order;
  order.reserve(static_cast<size_t>(n));
  int64_t last = -1;  // the first device: the fastest (most memory)
  while (!unused.empty()) {
    size_t arg = 0;
    ChainKey best = key(last, unused[0]);
    for (size_t i = 1; i < unused.size(); ++i) {
      const ChainKey k = key(last, unused[i]);
      if (k > best) {
        best = k;
        arg = i;
      }
    }
    last = unused[arg];
    order.push_back(last);
    unused.erase(unused.begin() + static_cast<std::ptrdiff_t>(arg));
  }
  return order;
}

}  // namespace

std::vector<std::vector<int64_t>> candidate_orders(const DeviceArrays& dev, double& max_bw) {
  std::vector<std::vector<int64_t>> out;
  std::vector<int64_t> identity(static_cast<size_t>(dev.count));
  for (int64_t i = 0; i < dev.count; ++i) identity[static_cast<size_t>(i)] = i;
  out.push_back(identity);
  auto add = [&](std::vector<int64_t> c) {
    if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(std::move(c));
  };
  add(bandwidth_chain(dev, max_bw));
  bool uniform = true;  // then the speed-first chain is the bandwidth chain
  for (int64_t i = 1; i < dev.count; ++i) {
    uniform = uniform && dev.flops_per_s[i] == dev.flops_per_s[0] && dev.memory[i] == dev.memory[0];
  }
  if (!uniform) {
    std::vector<int64_t> c = speed_chain(dev);
    add(c);
    std::reverse(c.begin(), c.end());  // the same stage groups, slowest first
    add(std::move(c));
  }
  return out;
}

}  // namespace aios::partition
