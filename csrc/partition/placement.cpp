#include "partition/placement.hpp"

#include <cmath>
#include <cstddef>
#include <limits>
#if defined(__SSE2__)
#include <emmintrin.h>
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
// One row of the bandwidth chain, branch-free over the row (SSE2; max, min and compares are exact,
// so lanes and accumulators may be combined in any order): validates the links of x (the slow
// path, link_row, names a bad pair), returns the fastest of them in row_max, and returns the
// unused device with the fastest link to x, then the lowest latency, then the lowest index.
// avail[y] is 0.0 for an unused device, NaN for a used one (x included), so that brow[y] + avail[y]
// is brow[y] exactly or NaN, and NaN never compares greater/equal.
// Every device before first_unused is used.
int64_t chain_row(const DeviceArrays& dev, int64_t x, const double* avail, const char* used, int64_t first_unused,
                  double& row_max) {
  const int64_t n = dev.count;
  const double* brow = dev.bandwidth + x * n;
  const double* lrow = dev.latency + x * n;
  constexpr int kAcc = 4;  // independent accumulators of 2 lanes: no long loop-carried chains
  const __m128d zero = _mm_setzero_pd(), big = _mm_set1_pd(std::numeric_limits<double>::max());
  const __m128d ninf = _mm_set1_pd(-std::numeric_limits<double>::infinity());
  // A row is valid iff it has no NaN, its smallest bandwidth is > 0, its largest <= DBL_MAX, its
  // smallest latency >= 0 and its largest <= DBL_MAX: min/max accumulators instead of four compares.
  __m128d nan[kAcc], bmin[kAcc], mx[kAcc], lmin[kAcc], lmax[kAcc], top[kAcc];
  for (int k = 0; k < kAcc; ++k) {
    nan[k] = zero;
    bmin[k] = lmin[k] = _mm_set1_pd(std::numeric_limits<double>::infinity());
    mx[k] = lmax[k] = zero;
    top[k] = ninf;
  }
  bool tail_ok = true;
  double tail_mx = 0, tail_top = -std::numeric_limits<double>::infinity();
  auto scalar = [&](int64_t y) {
    const double b = brow[y], l = lrow[y];
    tail_ok = tail_ok & (b > 0.0) & (b <= std::numeric_limits<double>::max()) & (l >= 0.0) &
              (l <= std::numeric_limits<double>::max());
    tail_mx = b > tail_mx ? b : tail_mx;
    const double v = b + avail[y];
    tail_top = v > tail_top ? v : tail_top;
  };
  // Pass 1: validity, the fastest link, the fastest link to an unused device.
  auto pass1 = [&](int64_t from, int64_t to) {
    int64_t y = from;
    for (; y + 2 * kAcc <= to; y += 2 * kAcc) {
      for (int k = 0; k < kAcc; ++k) {
        const __m128d b = _mm_loadu_pd(brow + y + 2 * k), l = _mm_loadu_pd(lrow + y + 2 * k);
        nan[k] = _mm_or_pd(nan[k], _mm_cmpunord_pd(b, l));  // min/max below drop a NaN b or l
        bmin[k] = _mm_min_pd(b, bmin[k]);
        mx[k] = _mm_max_pd(b, mx[k]);
        lmin[k] = _mm_min_pd(l, lmin[k]);
        lmax[k] = _mm_max_pd(l, lmax[k]);
        top[k] = _mm_max_pd(_mm_add_pd(b, _mm_loadu_pd(avail + y + 2 * k)), top[k]);  // NaN: keeps top
      }
    }
    for (; y < to; ++y) scalar(y);
  };
  pass1(0, x);
  pass1(x + 1, n);
  for (int k = 1; k < kAcc; ++k) {
    nan[0] = _mm_or_pd(nan[0], nan[k]);
    bmin[0] = _mm_min_pd(bmin[k], bmin[0]);
    mx[0] = _mm_max_pd(mx[k], mx[0]);
    lmin[0] = _mm_min_pd(lmin[k], lmin[0]);
    lmax[0] = _mm_max_pd(lmax[k], lmax[0]);
    top[0] = _mm_max_pd(top[k], top[0]);
  }
  const __m128d good = _mm_and_pd(_mm_and_pd(_mm_cmpgt_pd(bmin[0], zero), _mm_cmple_pd(mx[0], big)),
                                  _mm_and_pd(_mm_cmpge_pd(lmin[0], zero), _mm_cmple_pd(lmax[0], big)));
  if (_mm_movemask_pd(nan[0]) != 0 || _mm_movemask_pd(good) != 3 || !tail_ok) link_row(dev, x);  // throws
  double lanes[2];
  _mm_storeu_pd(lanes, mx[0]);
  row_max = std::max(std::max(lanes[0], lanes[1]), tail_mx);
  _mm_storeu_pd(lanes, top[0]);
  const double best_bw = std::max(std::max(lanes[0], lanes[1]), tail_top);
  if (!(best_bw > 0.0)) return -1;  // no unused device
  // Pass 2: the lowest latency among the unused devices at best_bw.
  const __m128d want = _mm_set1_pd(best_bw), pinf = _mm_set1_pd(std::numeric_limits<double>::infinity());
  __m128d lo[kAcc];
  for (int k = 0; k < kAcc; ++k) lo[k] = pinf;
  double tail_lo = std::numeric_limits<double>::infinity();
  auto pass2 = [&](int64_t from, int64_t to) {
    int64_t y = from;
    for (; y + 2 * kAcc <= to; y += 2 * kAcc) {
      for (int k = 0; k < kAcc; ++k) {
        const __m128d v = _mm_add_pd(_mm_loadu_pd(brow + y + 2 * k), _mm_loadu_pd(avail + y + 2 * k));
        const __m128d hit = _mm_cmpeq_pd(v, want);
        const __m128d l = _mm_or_pd(_mm_and_pd(hit, _mm_loadu_pd(lrow + y + 2 * k)), _mm_andnot_pd(hit, pinf));
        lo[k] = _mm_min_pd(l, lo[k]);
      }
    }
    for (; y < to; ++y) {
      if (brow[y] + avail[y] == best_bw && lrow[y] < tail_lo) tail_lo = lrow[y];
    }
  };
  pass2(first_unused, std::max(x, first_unused));  // devices before first_unused are used: no hit
  pass2(std::max(x + 1, first_unused), n);
  for (int k = 1; k < kAcc; ++k) lo[0] = _mm_min_pd(lo[k], lo[0]);
  _mm_storeu_pd(lanes, lo[0]);
  const double best_lat = std::min(std::min(lanes[0], lanes[1]), tail_lo);
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
  while (true) {
    used[static_cast<size_t>(last)] = 1;
    avail[static_cast<size_t>(last)] = std::numeric_limits<double>::quiet_NaN();
    order.push_back(last);
    while (first_unused < n && used[static_cast<size_t>(first_unused)]) ++first_unused;
    double row_max = 0;
    const int64_t next = chain_row(dev, last, avail.data(), used.data(), first_unused, row_max);
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
