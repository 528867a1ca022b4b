#include "partition/placement.hpp"

#include <cmath>
#include <tuple>
#include <utility>

namespace aios::partition {

double placement_count(int64_t n, int64_t p, int64_t t, int64_t d) {
  // lgamma keeps the huge cases finite; small ones are exact after rounding.
  const double lg = std::lgamma(static_cast<double>(n) + 1) -
                    static_cast<double>(n / t) * std::lgamma(static_cast<double>(t) + 1) -
                    static_cast<double>(p) * std::lgamma(static_cast<double>(d) + 1);
  return std::round(std::exp(lg));
}

namespace {

// Unused device with the lexicographically largest key; keys compared as tuples, first index wins ties.
template <typename Key>
int64_t pick(const std::vector<char>& used, Key key) {
  int64_t best = -1;
  decltype(key(0)) best_key{};
  for (int64_t y = 0; y < static_cast<int64_t>(used.size()); ++y) {
    if (used[static_cast<size_t>(y)]) continue;
    const auto k = key(y);
    if (best < 0 || best_key < k) {
      best = y;
      best_key = k;
    }
  }
  return best;
}

std::vector<int64_t> chain(const DeviceArrays& dev, bool speed_first) {
  const int64_t n = dev.count;
  std::vector<char> used(static_cast<size_t>(n), 0);
  std::vector<int64_t> order;
  order.reserve(static_cast<size_t>(n));
  int64_t x = 0;
  if (speed_first) {
    x = pick(used, [&](int64_t y) { return std::make_pair(dev.flops_per_s[y], dev.memory[y]); });
  }
  while (true) {
    used[static_cast<size_t>(x)] = 1;
    order.push_back(x);
    if (static_cast<int64_t>(order.size()) == n) return order;
    const int64_t last = x;
    if (speed_first) {
      x = pick(used, [&](int64_t y) {
        return std::make_tuple(dev.flops_per_s[y], dev.memory[y], dev.bandwidth[last * n + y], -dev.latency[last * n + y]);
      });
    } else {
      x = pick(used, [&](int64_t y) { return std::make_pair(dev.bandwidth[last * n + y], -dev.latency[last * n + y]); });
    }
  }
}

}  // namespace

std::vector<std::vector<int64_t>> candidate_orders(const DeviceArrays& dev) {
  std::vector<std::vector<int64_t>> out;
  std::vector<int64_t> identity(static_cast<size_t>(dev.count));
  for (int64_t i = 0; i < dev.count; ++i) identity[static_cast<size_t>(i)] = i;
  out.push_back(identity);
  for (const bool speed_first : {false, true}) {
    std::vector<int64_t> c = chain(dev, speed_first);
    if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(std::move(c));
  }
  return out;
}

}  // namespace aios::partition
