#include "fairshare/drf.hpp"

#include <cmath>
#include <functional>
#include <limits>
#include <queue>
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

void drf_tasks(const DrfProblem& p, int64_t* out) {
  validate(p);
  const int R = p.resources;
  std::vector<int64_t> left(p.capacity, p.capacity + R);
  using Key = std::pair<double, int>;  // (weighted dominant share, user): lowest first
  std::vector<Key> init;
  init.reserve(p.users);
  for (int i = 0; i < p.users; ++i) {
    out[i] = 0;
    if (p.limits[i] != 0) init.push_back({0.0, i});
  }
  std::priority_queue<Key, std::vector<Key>, std::greater<Key>> heap(std::greater<Key>(), std::move(init));
  while (!heap.empty()) {
    const int i = heap.top().second;
    heap.pop();
    const int64_t* d = p.demands + static_cast<int64_t>(i) * R;
    bool fits = true;
    for (int r = 0; r < R && fits; ++r) fits = d[r] <= left[r];
    if (!fits) continue;  // blocked for good: free capacity only shrinks
    for (int r = 0; r < R; ++r) left[r] -= d[r];
    const int64_t k = ++out[i];
    if (p.limits[i] < 0 || k < p.limits[i]) heap.push({held_share(p, i, k), i});
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
