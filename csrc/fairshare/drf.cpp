#include "fairshare/drf.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "common/error.hpp"

namespace aios::fairshare {

namespace {

// Keeps every k * d and running sum below 2^63 (see bulk_fill).
constexpr int64_t kMaxQuantity = int64_t{1} << 61;

std::string at(const char* field, int64_t i) { return std::string(field) + "[" + std::to_string(i) + "]"; }

// Per-task weighted dominant share u_i = max_r d_ir / (w_ir * C_r).
std::vector<double> task_units(const DrfProblem& p) {
  std::vector<double> unit(p.users, 0.0);
  for (int i = 0; i < p.users; ++i) {
    double u = 0.0;
    for (int r = 0; r < p.resources; ++r) {
      const int64_t k = static_cast<int64_t>(i) * p.resources + r;
      const double share = static_cast<double>(p.demands[k]) /
                           (p.weights[k] * static_cast<double>(p.capacity[r]));
      if (share > u) u = share;
    }
    unit[i] = u;
  }
  return unit;
}

// Weighted dominant share of k tasks, max_r (k d_ir) / (w_ir C_r): the numerator is exact, so
// shares that are equal as rationals (with integral weights) compare equal.
double held_share(const DrfProblem& p, int i, int64_t k) {
  double s = 0.0;
  for (int r = 0; r < p.resources; ++r) {
    const int64_t c = static_cast<int64_t>(i) * p.resources + r;
    const double x = static_cast<double>(k * p.demands[c]) / (p.weights[c] * static_cast<double>(p.capacity[r]));
    if (x > s) s = x;
  }
  return s;
}

}  // namespace

void validate(const DrfProblem& p) {
  if (p.resources <= 0) throw ConfigError("capacity: needs at least one resource");
  for (int r = 0; r < p.resources; ++r) {
    if (p.capacity[r] <= 0 || p.capacity[r] > kMaxQuantity) {
      throw ConfigError(at("capacity", r) + ": must be in [1, 2^61], got " + std::to_string(p.capacity[r]));
    }
  }
  for (int i = 0; i < p.users; ++i) {
    bool any = false;
    for (int r = 0; r < p.resources; ++r) {
      const int64_t k = static_cast<int64_t>(i) * p.resources + r;
      const int64_t d = p.demands[k];
      if (d < 0 || d > kMaxQuantity)
        throw ConfigError(at("demands", i) + ": must be in [0, 2^61], got " + std::to_string(d) + " for resource " + std::to_string(r));
      any = any || d > 0;
      const double w = p.weights[k];
      if (!std::isfinite(w) || w <= 0.0) {
        throw ConfigError(at("weights", i) + ": must be finite and > 0, got " + std::to_string(w));
      }
    }
    if (!any) throw ConfigError(at("demands", i) + ": a task must demand some resource, got all zeros");
    if (p.limits[i] < -1) throw ConfigError(at("limits", i) + ": must be >= 0 (or -1 for none), got " + std::to_string(p.limits[i]));
  }
}

namespace {

// 4-ary min-heap on (share, user) with an in-place "replace the top", so giving the lowest user
// a task costs one sift-down (half the levels of a binary heap) instead of a pop and a push.
class ShareHeap {
 public:
  struct Item {
    double share;
    int32_t user;
    bool operator<(const Item& o) const { return share < o.share || (share == o.share && user < o.user); }
  };
  explicit ShareHeap(std::vector<Item> items) : h_(std::move(items)) {
    for (size_t i = h_.size(); i-- > 0;) sift_down(i);
  }
  bool empty() const { return h_.empty(); }
  const std::vector<Item>& items() const { return h_; }
  const Item& top() const { return h_[0]; }
  void replace_top(Item x) {
    h_[0] = x;
    sift_down(0);
  }
  void pop() {
    h_[0] = h_.back();
    h_.pop_back();
    if (!h_.empty()) sift_down(0);
  }

 private:
  void sift_down(size_t i) {
    const size_t n = h_.size();
    const Item x = h_[i];
    while (true) {
      const size_t first = 4 * i + 1;
      if (first >= n) break;
      size_t best = first;
      const size_t last = std::min(first + 4, n);
      for (size_t c = first + 1; c < last; ++c) best = h_[c] < h_[best] ? c : best;
      if (!(h_[best] < x)) break;
      h_[i] = h_[best];
      i = best;
    }
    h_[i] = x;
  }
  std::vector<Item> h_;
};

}  // namespace

namespace {

// Progressive filling gives tasks in increasing (key, user) order, where the key of a user's next
// task is its share now, as long as every task fits. Before the first task that does not fit,
// all tasks with key < L are handed out for any L whose total demand fits in what is left (the
// running sum is monotone, so no earlier task can fail). bulk_fill finds such an L by bisection
// and hands those tasks out at once; the heap then continues exactly where filling would be.
class BulkFiller {
 public:
  BulkFiller(const DrfProblem& p, const std::vector<double>& unit, int64_t* tasks, std::vector<int64_t>& left)
      : p_(p), unit_(unit), tasks_(tasks), left_(left) {}

  // Returns the number of tasks handed out to the users in `active`.
  int64_t run(const std::vector<int32_t>& active, double level) {
    const int R = p_.resources;
    cap_.resize(active.size());
    for (size_t a = 0; a < active.size(); ++a) {
      const int i = active[a];
      const int64_t* d = p_.demands + static_cast<int64_t>(i) * R;
      int64_t room = std::numeric_limits<int64_t>::max();
      for (int r = 0; r < R; ++r) {
        if (d[r] > 0) room = std::min(room, left_[r] / d[r]);
      }
      int64_t c = tasks_[i] + room + 1;  // one past what could ever fit: keeps k * d < 2^63
      if (p_.limits[i] >= 0) c = std::min(c, p_.limits[i]);
      cap_[a] = c;
    }
    // Bracket: lo feasible (the current level), hi infeasible or +inf.
    double lo = level, hi = level;
    int64_t lo_count = 0, hi_count = 0;
    double rate = 0.0;
    for (int32_t i : active) rate += 1.0 / unit_[i];
    const int64_t batch = std::max<int64_t>(16, static_cast<int64_t>(active.size()) / 8);
    hi = level + std::max(1e-300, (static_cast<double>(batch) / rate));
    while (true) {
      int64_t c;
      if (!feasible(active, hi, &c)) {
        hi_count = c;
        break;
      }
      lo = hi;
      lo_count = c;
      if (std::isinf(hi)) break;
      hi = hi * 2.0 - level;
      if (!(hi < std::numeric_limits<double>::max())) hi = std::numeric_limits<double>::infinity();
    }
    if (!std::isinf(lo)) {
      for (int it = 0; it < 200 && hi_count - lo_count > batch; ++it) {
        const double mid = lo + (hi - lo) / 2.0;
        if (!(mid > lo && mid < hi)) break;
        int64_t c;
        if (feasible(active, mid, &c)) {
          lo = mid;
          lo_count = c;
        } else {
          hi = mid;
          hi_count = c;
        }
      }
    }
    if (lo_count == 0) return 0;
    const int R2 = p_.resources;
    for (size_t a = 0; a < active.size(); ++a) {
      const int i = active[a];
      const int64_t n = below(i, lo, cap_[a]) - tasks_[i];
      if (n == 0) continue;
      const int64_t* d = p_.demands + static_cast<int64_t>(i) * R2;
      for (int r = 0; r < R2; ++r) left_[r] -= n * d[r];
      tasks_[i] += n;
    }
    return lo_count;
  }

 private:
  // Tasks user i holds once every task with key < L is given: the smallest k >= tasks with
  // held_share(k) >= L, at most cap.
  int64_t below(int i, double L, int64_t cap) const {
    const int64_t cur = tasks_[i];
    if (cur >= cap || held_share(p_, i, cur) >= L) return cur;
    const double est = L / unit_[i];
    int64_t k = est >= static_cast<double>(cap) ? cap : std::max<int64_t>(cur, static_cast<int64_t>(est));
    while (k > cur && held_share(p_, i, k - 1) >= L) --k;
    while (k < cap && held_share(p_, i, k) < L) ++k;
    return k;
  }

  bool feasible(const std::vector<int32_t>& active, double L, int64_t* count) {
    const int R = p_.resources;
    used_.assign(R, 0);
    int64_t total = 0;
    for (size_t a = 0; a < active.size(); ++a) {
      const int i = active[a];
      const int64_t n = below(i, L, cap_[a]) - tasks_[i];
      if (n == 0) continue;
      total += n;
      const int64_t* d = p_.demands + static_cast<int64_t>(i) * R;
      for (int r = 0; r < R; ++r) {
        used_[r] += n * d[r];  // each term <= left + d <= 2^62 and the sum so far <= left
        if (used_[r] > left_[r]) {
          *count = total;
          return false;
        }
      }
    }
    *count = total;
    return true;
  }

  const DrfProblem& p_;
  const std::vector<double>& unit_;
  int64_t* tasks_;
  std::vector<int64_t>& left_;
  std::vector<int64_t> cap_, used_;
};

}  // namespace

void drf_tasks(const DrfProblem& p, int64_t* out) {
  validate(p);
  const int R = p.resources;
  const std::vector<double> unit = task_units(p);
  std::vector<int64_t> left(p.capacity, p.capacity + R);
  std::vector<int32_t> active;
  active.reserve(p.users);
  for (int i = 0; i < p.users; ++i) {
    out[i] = 0;
    if (p.limits[i] != 0) active.push_back(i);
  }
  BulkFiller bulk(p, unit, out, left);
  int64_t since_bulk = 0, wait = 0;
  double level = 0.0;
  while (!active.empty()) {
    // Hand out a batch at once, then rebuild the heap over the users still in.
    const int64_t gained = bulk.run(active, level);
    std::vector<ShareHeap::Item> items;
    items.reserve(active.size());
    for (int32_t i : active) {
      if (p.limits[i] >= 0 && out[i] >= p.limits[i]) continue;
      items.push_back({held_share(p, i, out[i]), i});
    }
    // Productive batches are retried soon; otherwise wait twice as long each time.
    const int64_t n = static_cast<int64_t>(items.size());
    wait = gained >= n ? n : std::max<int64_t>(2 * wait, n);
    since_bulk = 0;
    ShareHeap heap(std::move(items));
    while (!heap.empty() && since_bulk < wait) {
      const int i = heap.top().user;
      level = heap.top().share;
      ++since_bulk;
      const int64_t* d = p.demands + static_cast<int64_t>(i) * R;
      bool fits = true;
      for (int r = 0; r < R && fits; ++r) fits = d[r] <= left[r];
      if (!fits) {  // blocked for good: free capacity only shrinks
        heap.pop();
        continue;
      }
      for (int r = 0; r < R; ++r) left[r] -= d[r];
      const int64_t k = ++out[i];
      if (p.limits[i] < 0 || k < p.limits[i]) {
        heap.replace_top({held_share(p, i, k), i});
      } else {
        heap.pop();
      }
    }
    active.clear();
    for (const auto& it : heap.items()) active.push_back(it.user);
    std::sort(active.begin(), active.end());
  }
}

void drf_continuous(const DrfProblem& p, double* out) {
  validate(p);
  const int U = p.users, R = p.resources;
  const std::vector<double> unit = task_units(p);
  std::vector<char> active(U, 0);
  std::vector<double> rate(R, 0.0), frozen_used(R, 0.0);
  int n_active = 0;
  // tasks_i = level / u_i for an active user, so resource r is consumed at rate sum_i d_ir / u_i.
  auto freeze = [&](int i, double level) {
    active[i] = 0;
    --n_active;
    const double tasks = level / unit[i];
    out[i] = tasks;
    for (int r = 0; r < R; ++r) {
      const double d = static_cast<double>(p.demands[static_cast<int64_t>(i) * R + r]);
      rate[r] -= d / unit[i];
      frozen_used[r] += tasks * d;
    }
  };
  for (int i = 0; i < U; ++i) {
    out[i] = 0.0;
    if (p.limits[i] == 0) continue;
    active[i] = 1;
    ++n_active;
    for (int r = 0; r < R; ++r) rate[r] += static_cast<double>(p.demands[static_cast<int64_t>(i) * R + r]) / unit[i];
  }
  const double inf = std::numeric_limits<double>::infinity();
  while (n_active > 0) {
    double next = inf;
    std::vector<double> at_level(R, inf);
    for (int r = 0; r < R; ++r) {
      bool used = false;
      for (int i = 0; i < U && !used; ++i) used = active[i] && p.demands[static_cast<int64_t>(i) * R + r] > 0;
      if (!used) continue;
      const double room = static_cast<double>(p.capacity[r]) - frozen_used[r];
      at_level[r] = room <= 0.0 ? 0.0 : room / rate[r];
      if (at_level[r] < next) next = at_level[r];
    }
    for (int i = 0; i < U; ++i) {
      if (active[i] && p.limits[i] > 0) next = std::min(next, static_cast<double>(p.limits[i]) * unit[i]);
    }
    std::vector<int> to_freeze;
    for (int i = 0; i < U; ++i) {
      if (!active[i]) continue;
      bool stop = p.limits[i] > 0 && static_cast<double>(p.limits[i]) * unit[i] <= next;
      for (int r = 0; r < R && !stop; ++r) stop = at_level[r] <= next && p.demands[static_cast<int64_t>(i) * R + r] > 0;
      if (stop) to_freeze.push_back(i);
    }
    for (int i : to_freeze) {
      const bool by_limit = p.limits[i] > 0 && static_cast<double>(p.limits[i]) * unit[i] <= next;
      freeze(i, next);
      if (by_limit) out[i] = static_cast<double>(p.limits[i]);  // exact at the cap
    }
  }
}

}  // namespace aios::fairshare
