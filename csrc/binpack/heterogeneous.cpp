#include "binpack/heterogeneous.hpp"

#include <algorithm>
#include <limits>
#include <numeric>
#include <string>

#include "binpack/items.hpp"
#include "common/error.hpp"

namespace aios::binpack {

namespace {

struct View {
  const int64_t* s;
  int n, d;
  const BinTypes& ty;
  int64_t size(int j, int h) const { return s[static_cast<size_t>(j) * d + h]; }
  int64_t cap(int t, int h) const { return ty.cap[static_cast<size_t>(t) * d + h]; }
  bool holds(int t, int j) const {
    for (int h = 0; h < d; ++h)
      if (size(j, h) > cap(t, h)) return false;
    return true;
  }
};

void check(const View& v) {
  if (v.ty.t < 1) throw ConfigError("bin_types: expected at least one bin type");
  for (int t = 0; t < v.ty.t; ++t) {
    if (v.ty.cost[t] <= 0)
      throw ConfigError("costs[" + std::to_string(t) + "]: must be positive, got " + std::to_string(v.ty.cost[t]));
    for (int h = 0; h < v.d; ++h)
      if (v.cap(t, h) <= 0)
        throw ConfigError("capacities[" + std::to_string(t) + ", " + std::to_string(h) + "]: must be positive, got " +
                          std::to_string(v.cap(t, h)));
  }
  for (int j = 0; j < v.n; ++j) {
    for (int h = 0; h < v.d; ++h)
      if (v.size(j, h) <= 0)
        throw ConfigError("sizes[" + std::to_string(j) + ", " + std::to_string(h) + "]: must be positive, got " +
                          std::to_string(v.size(j, h)));
    bool any = false;
    for (int t = 0; t < v.ty.t && !any; ++t) any = v.holds(t, j);
    if (!any) throw ConfigError("sizes[" + std::to_string(j) + "]: item fits no bin type");
  }
}

}  // namespace

HeteroResult pack_heterogeneous(const int64_t* sizes, int n, int d, const BinTypes& types) {
  const View v{sizes, n, d, types};
  check(v);
  const int T = types.t;
  HeteroResult r;
  r.bin_of.assign(n, -1);
  if (n == 0) return r;

  // Lower bound.
  double lb = 0.0;
  double cheapest = std::numeric_limits<double>::infinity();
  for (int h = 0; h < d; ++h) {
    double total = 0.0;
    for (int j = 0; j < n; ++j) {
      double price = std::numeric_limits<double>::infinity();
      for (int t = 0; t < T; ++t) {
        if (!v.holds(t, j)) continue;
        price = std::min(price, static_cast<double>(types.cost[t]) / static_cast<double>(v.cap(t, h)));
        cheapest = std::min(cheapest, static_cast<double>(types.cost[t]));
      }
      total += static_cast<double>(v.size(j, h)) * price;
    }
    lb = std::max(lb, total);
  }
  r.lower_bound = std::max(lb, cheapest);

  // Greedy by cost per packed size.
  std::vector<double> maxcap(d, 0.0);
  for (int h = 0; h < d; ++h)
    for (int t = 0; t < T; ++t) maxcap[h] = std::max(maxcap[h], static_cast<double>(v.cap(t, h)));
  std::vector<double> key(n, 0.0);
  for (int j = 0; j < n; ++j)
    for (int h = 0; h < d; ++h) key[j] += static_cast<double>(v.size(j, h)) / maxcap[h];
  std::vector<int> left(n);
  std::iota(left.begin(), left.end(), 0);
  std::stable_sort(left.begin(), left.end(), [&](int a, int b) { return key[a] > key[b]; });
  std::vector<int64_t> load(d);
  std::vector<int> packed, best_packed;
  std::vector<std::vector<int64_t>> loads;
  while (!left.empty()) {
    int best_t = -1;
    double best_ratio = 0.0;
    for (int t = 0; t < T; ++t) {
      std::fill(load.begin(), load.end(), 0);
      packed.clear();
      double value = 0.0;
      for (int j : left) {
        bool ok = true;
        for (int h = 0; h < d && ok; ++h) ok = load[h] + v.size(j, h) <= v.cap(t, h);
        if (!ok) continue;
        for (int h = 0; h < d; ++h) load[h] += v.size(j, h);
        packed.push_back(j);
        value += key[j];
      }
      if (packed.empty()) continue;
      const double ratio = static_cast<double>(types.cost[t]) / value;
      if (best_t < 0 || ratio < best_ratio) {
        best_t = t;
        best_ratio = ratio;
        best_packed = packed;
      }
    }
    const int b = static_cast<int>(r.bin_type.size());
    r.bin_type.push_back(best_t);
    loads.emplace_back(d, 0);
    for (int j : best_packed) {
      r.bin_of[j] = b;
      for (int h = 0; h < d; ++h) loads[b][h] += v.size(j, h);
    }
    std::vector<int> rest;
    rest.reserve(left.size());
    for (int j : left)
      if (r.bin_of[j] < 0) rest.push_back(j);
    left.swap(rest);
  }

  auto cheapest_holding = [&](const std::vector<int64_t>& l) {
    int best = -1;
    for (int t = 0; t < T; ++t) {
      bool ok = true;
      for (int h = 0; h < d && ok; ++h) ok = l[h] <= v.cap(t, h);
      if (ok && (best < 0 || types.cost[t] < types.cost[best])) best = t;
    }
    return best;
  };
  const int B = static_cast<int>(r.bin_type.size());
  for (int b = 0; b < B; ++b) r.bin_type[b] = cheapest_holding(loads[b]);

  // Empty bins, most expensive first, into the other live bins (first fit, bin order).
  std::vector<std::vector<int>> items(B);
  for (int j = 0; j < n; ++j) items[r.bin_of[j]].push_back(j);
  std::vector<int> order(B);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return types.cost[r.bin_type[a]] > types.cost[r.bin_type[b]]; });
  std::vector<char> live(B, 1);
  for (int b : order) {
    live[b] = 0;
    auto trial = loads;
    std::vector<int> target(items[b].size(), -1);
    bool all = true;
    for (size_t i = 0; i < items[b].size() && all; ++i) {
      const int j = items[b][i];
      for (int c = 0; c < B; ++c) {
        if (!live[c]) continue;
        const int t = r.bin_type[c];
        bool ok = true;
        for (int h = 0; h < d && ok; ++h) ok = trial[c][h] + v.size(j, h) <= v.cap(t, h);
        if (!ok) continue;
        for (int h = 0; h < d; ++h) trial[c][h] += v.size(j, h);
        target[i] = c;
        break;
      }
      all = target[i] >= 0;
    }
    if (!all) {
      live[b] = 1;
      continue;
    }
    loads = std::move(trial);
    for (size_t i = 0; i < items[b].size(); ++i) {
      r.bin_of[items[b][i]] = target[i];
      items[target[i]].push_back(items[b][i]);
    }
    items[b].clear();
  }

  // Renumber live bins in order.
  std::vector<int32_t> id(B, -1);
  std::vector<int32_t> types_out;
  for (int b = 0; b < B; ++b) {
    if (!live[b]) continue;
    id[b] = static_cast<int32_t>(types_out.size());
    types_out.push_back(r.bin_type[b]);
  }
  for (auto& b : r.bin_of) b = id[b];
  r.bin_type = std::move(types_out);
  i128 total = 0;
  for (int t : r.bin_type) total += types.cost[t];
  if (total > (static_cast<i128>(1) << 62)) throw ConfigError("costs: total cost overflows 2^62");
  r.total_cost = static_cast<int64_t>(total);
  return r;
}

}  // namespace aios::binpack
