#include "partition/split.hpp"

#include <cmath>
#include <string>

#include "common/error.hpp"

namespace aios::partition {

namespace {

std::vector<double> prefix_sums(const double* costs, int64_t n) {
  std::vector<double> p(static_cast<size_t>(n) + 1, 0.0);
  for (int64_t i = 0; i < n; ++i) {
    const double c = costs[i];
    if (!std::isfinite(c) || c < 0.0) {
      throw ConfigError(field_msg("costs[" + std::to_string(i) + "]", "must be finite and >= 0, got " + std::to_string(c)));
    }
    p[i + 1] = p[i] + c;
  }
  if (!std::isfinite(p[n])) throw ConfigError(field_msg("costs", "sum overflows to infinity"));
  return p;
}

}  // namespace

SplitResult split_chain(const double* costs, int64_t n, int64_t k) {
  if (n < 1) throw ConfigError(field_msg("costs", "must hold at least one layer, got 0"));
  if (k < 1 || k > n) {
    throw ConfigError(field_msg("k", "must be in [1, " + std::to_string(n) + "], got " + std::to_string(k)));
  }
  const std::vector<double> P = prefix_sums(costs, n);
  // prev[j] = B(j, s-1): best bottleneck of the first j layers in s-1 stages (j >= s-1).
  std::vector<double> prev(static_cast<size_t>(n) + 1), cur(static_cast<size_t>(n) + 1);
  for (int64_t j = 1; j <= n; ++j) prev[j] = P[j];
  for (int64_t s = 2; s <= k; ++s) {
    // Layers left for the remaining k - s stages bound j from above.
    const int64_t j_hi = n - (k - s);
    for (int64_t j = s; j <= j_hi; ++j) {
      // i in [s-1, j-1]; find the first i with prev[i] >= P[j] - P[i].
      int64_t lo = s - 1, hi = j - 1;
      while (lo < hi) {
        const int64_t mid = lo + (hi - lo) / 2;
        if (prev[mid] >= P[j] - P[mid]) hi = mid; else lo = mid + 1;
      }
      double best = std::max(prev[lo], P[j] - P[lo]);
      if (lo > s - 1) best = std::min(best, std::max(prev[lo - 1], P[j] - P[lo - 1]));
      cur[j] = best;
    }
    std::swap(prev, cur);
  }
  SplitResult r;
  r.bottleneck = prev[n];
  r.boundaries.assign(static_cast<size_t>(k) + 1, 0);
  int64_t start = 0;
  for (int64_t s = 0; s < k; ++s) {
    int64_t end = start + 1;
    const int64_t end_max = n - (k - 1 - s);
    while (end < end_max && P[end + 1] - P[start] <= r.bottleneck) ++end;
    r.boundaries[s + 1] = end;
    start = end;
  }
  r.boundaries[k] = n;
  return r;
}

}  // namespace aios::partition
