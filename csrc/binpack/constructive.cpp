#include "binpack/constructive.hpp"

#include <algorithm>
#include <numeric>

#include "common/error.hpp"

namespace aios::binpack {

namespace {

double norm(const Items& it, int j, int h) {
  return static_cast<double>(it.at(j, h)) / static_cast<double>(it.cap[h]);
}

// a_h = sum_j s_jh, summed in index order.
std::vector<double> average_weights(const Items& it) {
  std::vector<double> a(it.d, 0.0);
  for (int j = 0; j < it.n; ++j)
    for (int h = 0; h < it.d; ++h) a[h] += norm(it, j, h);
  return a;
}

double measure_of(const Items& it, int j, Measure m, const std::vector<double>& a) {
  double v = m == Measure::Prod ? 1.0 : 0.0;
  for (int h = 0; h < it.d; ++h) {
    const double s = norm(it, j, h);
    if (m == Measure::Sum) v += a[h] * s;
    else if (m == Measure::Prod) v *= s;
    else v += a[h] * s * s;
  }
  return v;
}

bool fits(const Items& it, const int64_t* load, int j) {
  for (int h = 0; h < it.d; ++h)
    if (load[h] + it.at(j, h) > it.cap[h]) return false;
  return true;
}

}  // namespace

Packing item_centric(const Items& it, Measure measure, bool best_fit) {
  const auto a = average_weights(it);
  std::vector<double> key(it.n);
  for (int j = 0; j < it.n; ++j) key[j] = measure_of(it, j, measure, a);
  std::vector<int> order(it.n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int x, int y) { return key[x] != key[y] ? key[x] > key[y] : x < y; });
  Packing p;
  p.bin_of.assign(it.n, -1);
  std::vector<int64_t> load;
  for (int j : order) {
    int chosen = -1;
    double best_slack = 0.0;
    for (int b = 0; b < p.bins; ++b) {
      const int64_t* l = &load[static_cast<size_t>(b) * it.d];
      if (!fits(it, l, j)) continue;
      if (!best_fit) {
        chosen = b;
        break;
      }
      double slack = 0.0;
      for (int h = 0; h < it.d; ++h)
        slack += a[h] * (static_cast<double>(it.cap[h] - l[h] - it.at(j, h)) / static_cast<double>(it.cap[h]));
      if (chosen < 0 || slack < best_slack) {
        chosen = b;
        best_slack = slack;
      }
    }
    if (chosen < 0) {
      chosen = p.bins++;
      load.resize(load.size() + it.d, 0);
    }
    for (int h = 0; h < it.d; ++h) load[static_cast<size_t>(chosen) * it.d + h] += it.at(j, h);
    p.bin_of[j] = chosen;
  }
  return p;
}

Packing bin_centric(const Items& it, BinScore score, bool dynamic) {
  auto a = average_weights(it);
  Packing p;
  p.bin_of.assign(it.n, -1);
  std::vector<int> left(it.n);
  std::iota(left.begin(), left.end(), 0);
  std::vector<int64_t> load(it.d, 0);
  std::vector<double> r(it.d);
  bool open = false;
  while (!left.empty()) {
    if (!open) {
      std::fill(load.begin(), load.end(), 0);
      ++p.bins;
      open = true;
    }
    for (int h = 0; h < it.d; ++h)
      r[h] = static_cast<double>(it.cap[h] - load[h]) / static_cast<double>(it.cap[h]);
    int best = -1;
    double best_score = 0.0;
    for (size_t pos = 0; pos < left.size(); ++pos) {
      const int j = left[pos];
      if (!fits(it, load.data(), j)) continue;
      double v = 0.0;
      for (int h = 0; h < it.d; ++h) {
        const double s = norm(it, j, h);
        if (score == BinScore::DotProduct) {
          v += a[h] * s * r[h];
        } else {
          const double gap = r[h] - s;
          v -= a[h] * gap * gap;
        }
      }
      if (best < 0 || v > best_score) {
        best = static_cast<int>(pos);
        best_score = v;
      }
    }
    if (best < 0) {
      open = false;
      continue;
    }
    const int j = left[best];
    left.erase(left.begin() + best);  // keeps index order, so ties stay on the lower index
    p.bin_of[j] = p.bins - 1;
    for (int h = 0; h < it.d; ++h) {
      load[h] += it.at(j, h);
      if (dynamic) a[h] -= norm(it, j, h);
    }
  }
  return p;
}

const std::vector<std::string>& constructive_methods(int d) {
  static const std::vector<std::string> one{"ffd", "bfd"};
  static const std::vector<std::string> many{"ffd", "bfd", "ffd_prod", "bfd_prod", "ffd_l2",
                                             "bfd_l2", "dp", "dp_dyn", "l2", "l2_dyn"};
  return d == 1 ? one : many;
}

Packing construct(const Items& it, const std::string& method) {
  if (method == "ffd") return item_centric(it, Measure::Sum, false);
  if (method == "bfd") return item_centric(it, Measure::Sum, true);
  if (method == "ffd_prod") return item_centric(it, Measure::Prod, false);
  if (method == "bfd_prod") return item_centric(it, Measure::Prod, true);
  if (method == "ffd_l2") return item_centric(it, Measure::L2, false);
  if (method == "bfd_l2") return item_centric(it, Measure::L2, true);
  if (method == "dp") return bin_centric(it, BinScore::DotProduct, false);
  if (method == "dp_dyn") return bin_centric(it, BinScore::DotProduct, true);
  if (method == "l2") return bin_centric(it, BinScore::L2Norm, false);
  if (method == "l2_dyn") return bin_centric(it, BinScore::L2Norm, true);
  throw ConfigError("method: unknown constructive method '" + method + "'");
}

}  // namespace aios::binpack
