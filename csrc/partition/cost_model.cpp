#include "partition/cost_model.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "common/error.hpp"

namespace aios::partition {

namespace {

int64_t checked_add(int64_t a, int64_t b, const char* field, int64_t layer) {
  if (b < 0) {
    throw ConfigError(field_msg(std::string(field) + "[" + std::to_string(layer) + "]",
                                "must be >= 0, got " + std::to_string(b)));
  }
  if (a > std::numeric_limits<int64_t>::max() - b) {
    throw ConfigError(field_msg(field, "sum overflows int64 at layer " + std::to_string(layer)));
  }
  return a + b;
}

}  // namespace

Prefix make_prefix(const ModelArrays& m) {
  Prefix p;
  const auto L = static_cast<size_t>(m.layers);
  p.flops.assign(L + 1, 0.0);
  p.params.assign(L + 1, 0);
  p.activation.assign(L + 1, 0);
  p.tp_comm.assign(L + 1, 0);
  for (int64_t i = 0; i < m.layers; ++i) {
    const double f = m.flops[i];
    if (!std::isfinite(f) || f < 0) {
      throw ConfigError(field_msg("flops[" + std::to_string(i) + "]", "must be finite and >= 0, got " + std::to_string(f)));
    }
    p.flops[i + 1] = p.flops[i] + f;
    p.params[i + 1] = checked_add(p.params[i], m.params[i], "params", i);
    p.activation[i + 1] = checked_add(p.activation[i], m.activation[i], "activation_bytes", i);
    p.tp_comm[i + 1] = checked_add(p.tp_comm[i], m.tp_comm[i], "tp_comm_bytes", i);
    if (m.output[i] < 0) {
      throw ConfigError(field_msg("output_bytes[" + std::to_string(i) + "]", "must be >= 0, got " + std::to_string(m.output[i])));
    }
  }
  p.output = m.output;
  return p;
}

namespace {

constexpr double kBig = std::numeric_limits<double>::max();

[[noreturn]] void bad_latency(const DeviceArrays& dev, int64_t x, int64_t y) {
  throw ConfigError(field_msg("latency[" + std::to_string(x) + "][" + std::to_string(y) + "]",
                              "must be finite and >= 0, got " + std::to_string(dev.latency[x * dev.count + y])));
}

}  // namespace

double link_row(const DeviceArrays& dev, int64_t x) {
  const int64_t n = dev.count;
  const double* brow = dev.bandwidth + x * n;
  const double* lrow = dev.latency + x * n;
  // Count the usable links without branches; the slow path below names a bad pair.
  auto usable = [&](int64_t y) {
    return static_cast<int64_t>((brow[y] > 0.0) & (brow[y] <= kBig) & (lrow[y] >= 0.0) & (lrow[y] <= kBig));
  };
  int64_t good = 0;
  for (int64_t y = 0; y < n; ++y) good += usable(y);
  if (good - usable(x) != n - 1) {
    for (int64_t y = 0; y < n; ++y) {
      if (y == x || usable(y)) continue;
      if (!(brow[y] > 0.0 && brow[y] <= kBig)) {
        throw TopologyError("bandwidth: devices " + std::to_string(x) + " and " + std::to_string(y) +
                            " share no usable link (bandwidth " + std::to_string(brow[y]) +
                            "); the device graph is disconnected");
      }
      bad_latency(dev, x, y);
    }
  }
  double top[4] = {0, 0, 0, 0};  // four independent maxima: no loop-carried dependency
  auto scan = [&](int64_t from, int64_t to) {
    int64_t y = from;
    for (; y + 4 <= to; y += 4) {
      for (int64_t k = 0; k < 4; ++k) top[k] = brow[y + k] > top[k] ? brow[y + k] : top[k];
    }
    for (; y < to; ++y) top[0] = brow[y] > top[0] ? brow[y] : top[0];
  };
  scan(0, x);
  scan(x + 1, n);
  return std::max(std::max(top[0], top[1]), std::max(top[2], top[3]));
}

double validate_links(const DeviceArrays& dev) {
  double top = 0;
  for (int64_t x = 0; x < dev.count; ++x) top = std::max(top, link_row(dev, x));
  return top;
}

Block block_properties(const DeviceArrays& dev, const int64_t* order, int64_t stage, int64_t stages, int64_t t,
                       int64_t d, bool links_between_rows) {
  const int64_t g = t * d, base = stage * g, n = dev.count;
  constexpr double inf = std::numeric_limits<double>::infinity();
  Block b;
  b.speed = inf;
  b.memory = std::numeric_limits<int64_t>::max();
  b.tp_bw = b.dp_bw = b.pp_bw = inf;
  // Slowest link and largest latency from x to order[from, to); two accumulators each, so
  // consecutive iterations do not wait on each other (this is the planner's hottest loop).
  auto scan = [&](int64_t x, int64_t from, int64_t to, double& bw, double& lat) {
    const double* brow = dev.bandwidth + x * n;
    const double* lrow = dev.latency + x * n;
    double b0 = bw, b1 = inf, l0 = lat, l1 = 0;
    int64_t k = from;
    for (; k + 2 <= to; k += 2) {
      const int64_t y0 = order[k], y1 = order[k + 1];
      b0 = std::min(b0, brow[y0]);
      b1 = std::min(b1, brow[y1]);
      l0 = std::max(l0, lrow[y0]);
      l1 = std::max(l1, lrow[y1]);
    }
    if (k < to) {
      b0 = std::min(b0, brow[order[k]]);
      l0 = std::max(l0, lrow[order[k]]);
    }
    bw = std::min(b0, b1);
    lat = std::max(l0, l1);
  };
#if defined(__SSE2__)
  // Where the stage and the next one sit on consecutive devices (topology order, and chains that
  // follow it), the rows are contiguous: min/max with SSE2 (exact, so any grouping gives the same
  // values; a latency of -0.0 against 0.0 may come out either way, which no cost can tell apart).
  const int64_t span = std::min(stage + 1 < stages ? 2 * g : g, n - base);
  bool contiguous = links_between_rows;
  for (int64_t k = 0; contiguous && k < span; ++k) contiguous = order[base + k] == order[base] + k;
  if (contiguous) {
    const int64_t first = order[base];
    auto vscan = [&](int64_t x, int64_t from, int64_t to, double& bw, double& lat) {
      // order[k] == k + first - base: shift the range, not the row pointer (it would leave the array).
      const double* brow = dev.bandwidth + x * n;
      const double* lrow = dev.latency + x * n;
      from += first - base;
      to += first - base;
      __m128d b0 = _mm_set1_pd(bw), b1 = _mm_set1_pd(inf), l0 = _mm_set1_pd(lat), l1 = _mm_setzero_pd();
      int64_t k = from;
      for (; k + 4 <= to; k += 4) {
        b0 = _mm_min_pd(_mm_loadu_pd(brow + k), b0);
        b1 = _mm_min_pd(_mm_loadu_pd(brow + k + 2), b1);
        l0 = _mm_max_pd(_mm_loadu_pd(lrow + k), l0);
        l1 = _mm_max_pd(_mm_loadu_pd(lrow + k + 2), l1);
      }
      b0 = _mm_min_pd(b1, b0);
      l0 = _mm_max_pd(l1, l0);
      double lb[2], ll[2];
      _mm_storeu_pd(lb, b0);
      _mm_storeu_pd(ll, l0);
      bw = std::min(lb[0], lb[1]);
      lat = std::max(ll[0], ll[1]);
      for (; k < to; ++k) {
        bw = std::min(bw, brow[k]);
        lat = std::max(lat, lrow[k]);
      }
    };
    for (int64_t k = 0; k < g; ++k) {
      const int64_t x = first + k;
      b.speed = std::min(b.speed, dev.flops_per_s[x]);
      b.memory = std::min(b.memory, dev.memory[x]);
      const int64_t row_end = base + (k / t + 1) * t;
      vscan(x, base + k + 1, row_end, b.tp_bw, b.tp_lat);
      vscan(x, row_end, base + g, b.dp_bw, b.dp_lat);
      if (stage + 1 < stages) vscan(x, base + g, base + 2 * g, b.pp_bw, b.pp_lat);
    }
    return b;
  }
#endif
  for (int64_t k = 0; k < g; ++k) {
    const int64_t x = order[base + k];
    b.speed = std::min(b.speed, dev.flops_per_s[x]);
    b.memory = std::min(b.memory, dev.memory[x]);
    const int64_t row_end = base + (k / t + 1) * t;
    scan(x, base + k + 1, row_end, b.tp_bw, b.tp_lat);
    if (!links_between_rows) {
      // dp_bw is a minimum over all pairs of rows, so any one pair bounds it from above: here the
      // first device of the first row with the first device of every other row, O(d).
      if (k % t == 0 && k > 0) b.dp_bw = std::min(b.dp_bw, dev.bandwidth[order[base] * n + x]);
      continue;
    }
    scan(x, row_end, base + g, b.dp_bw, b.dp_lat);
    if (stage + 1 < stages) scan(x, base + g, base + 2 * g, b.pp_bw, b.pp_lat);
  }
  return b;
}

Block block_properties(const DeviceArrays& dev, int64_t stage, int64_t stages, int64_t t, int64_t d) {
  validate_links(dev);
  std::vector<int64_t> identity(static_cast<size_t>(dev.count));
  for (int64_t i = 0; i < dev.count; ++i) identity[static_cast<size_t>(i)] = i;
  return block_properties(dev, identity.data(), stage, stages, t, d);
}

}  // namespace aios::partition
