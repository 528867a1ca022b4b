#include "fairshare/drf.hpp"

#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "common/error.hpp"

namespace aios::fairshare {

namespace {

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
    if (p.capacity[r] <= 0) {
      throw ConfigError(at("capacity", r) + ": must be > 0, got " + std::to_string(p.capacity[r]));
    }
  }
  for (int i = 0; i < p.users; ++i) {
    bool any = false;
    for (int r = 0; r < p.resources; ++r) {
      const int64_t k = static_cast<int64_t>(i) * p.resources + r;
      const int64_t d = p.demands[k];
      if (d < 0) throw ConfigError(at("demands", i) + ": must be >= 0, got " + std::to_string(d) + " for resource " + std::to_string(r));
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

// Binary min-heap on (share, user) with an in-place "replace the top" so that giving the lowest
// user a task costs one sift-down instead of a pop and a push.
class ShareHeap {
 public:
  struct Item {
    double share;
    int32_t user;
    bool operator<(const Item& o) const { return share < o.share || (share == o.share && user < o.user); }
  };
  explicit ShareHeap(std::vector<Item> items) : h_(std::move(items)) {
    for (size_t i = h_.size() / 2; i-- > 0;) sift_down(i);
  }
  bool empty() const { return h_.empty(); }
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
      size_t c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && h_[c + 1] < h_[c]) ++c;
      if (!(h_[c] < x)) break;
      h_[i] = h_[c];
      i = c;
    }
    h_[i] = x;
  }
  std::vector<Item> h_;
};

}  // namespace

void drf_tasks(const DrfProblem& p, int64_t* out) {
  validate(p);
  const int R = p.resources;
  std::vector<int64_t> left(p.capacity, p.capacity + R);
  std::vector<ShareHeap::Item> init;
  init.reserve(p.users);
  for (int i = 0; i < p.users; ++i) {
    out[i] = 0;
    if (p.limits[i] != 0) init.push_back({0.0, i});
  }
  ShareHeap heap(std::move(init));
  while (!heap.empty()) {
    const int i = heap.top().user;
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
