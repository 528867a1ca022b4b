#include "partition/placement.hpp"

#include <cmath>
#include <cstddef>

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
