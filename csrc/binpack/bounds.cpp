#include "binpack/bounds.hpp"

#include <algorithm>
#include <numeric>

namespace aios::binpack {

int64_t l1_bound(const std::vector<int64_t>& w, int64_t cap) {
  i128 total = 0;
  for (int64_t x : w) total += x;
  return static_cast<int64_t>((total + cap - 1) / cap);
}

int64_t l2_bound(std::vector<int64_t> w, int64_t cap) {
  if (w.empty()) return 0;
  std::sort(w.begin(), w.end());  // ascending
  const size_t n = w.size();
  std::vector<i128> prefix(n + 1, 0);
  for (size_t i = 0; i < n; ++i) prefix[i + 1] = prefix[i] + w[i];
  // index of first element > x
  auto upper = [&](int64_t x) { return static_cast<size_t>(std::upper_bound(w.begin(), w.end(), x) - w.begin()); };
  auto lower = [&](int64_t x) { return static_cast<size_t>(std::lower_bound(w.begin(), w.end(), x) - w.begin()); };
  const int64_t half = cap / 2;                 // w <= C/2  <=>  w <= floor(C/2)
  const size_t big_start = upper(half);         // first w > C/2
  int64_t best = 0;
  auto eval = [&](int64_t alpha) {
    const size_t n1_start = upper(cap - alpha);  // w > C - alpha
    const int64_t n1 = static_cast<int64_t>(n - n1_start);
    const int64_t n2 = static_cast<int64_t>(n1_start - big_start);
    const i128 sum_n2 = prefix[n1_start] - prefix[big_start];
    const size_t n3_start = lower(alpha);
    const i128 sum_n3 = prefix[big_start] - prefix[std::min(n3_start, big_start)];
    const i128 excess = sum_n3 - (static_cast<i128>(n2) * cap - sum_n2);
    const int64_t extra = excess <= 0 ? 0 : static_cast<int64_t>((excess + cap - 1) / cap);
    best = std::max(best, n1 + n2 + extra);
  };
  eval(0);
  for (size_t i = 0; i < big_start; ++i) {
    if (i == 0 || w[i] != w[i - 1]) eval(w[i]);
  }
  return best;
}

int64_t clique_bound(const Items& it) {
  std::vector<double> key(it.n, 0.0);
  for (int j = 0; j < it.n; ++j) {
    double k = 0.0;
    for (int h = 0; h < it.d; ++h) k += static_cast<double>(it.at(j, h)) / static_cast<double>(it.cap[h]);
    key[j] = k;
  }
  std::vector<int> order(it.n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int a, int b) { return key[a] != key[b] ? key[a] > key[b] : a < b; });
  std::vector<int> clique;
  for (int j : order) {
    bool all = true;
    for (int k : clique) {
      bool conflict = false;
      for (int h = 0; h < it.d && !conflict; ++h) conflict = it.at(j, h) + it.at(k, h) > it.cap[h];
      if (!conflict) {
        all = false;
        break;
      }
    }
    if (all) clique.push_back(j);
  }
  return static_cast<int64_t>(clique.size());
}

int64_t lower_bound(const Items& it) {
  if (it.n == 0) return 0;
  int64_t best = 0;
  std::vector<int64_t> col(it.n);
  for (int h = 0; h < it.d; ++h) {
    for (int j = 0; j < it.n; ++j) col[j] = it.at(j, h);
    best = std::max(best, l2_bound(col, it.cap[h]));
  }
  if (it.d > 1) best = std::max(best, clique_bound(it));
  return best;
}

}  // namespace aios::binpack
