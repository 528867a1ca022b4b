#include "fairshare/hdrf.hpp"

#include <cmath>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/error.hpp"

namespace aios::fairshare {

namespace {

std::string at(const char* field, int64_t i) { return std::string(field) + "[" + std::to_string(i) + "]"; }

// Returns the root; throws on a malformed tree.
int check_tree(const HdrfProblem& p, std::vector<std::vector<int32_t>>& children) {
  const int n = p.nodes, R = p.resources;
  if (R <= 0) throw ConfigError("capacity: needs at least one resource");
  for (int r = 0; r < R; ++r) {
    if (p.capacity[r] <= 0) throw ConfigError(at("capacity", r) + ": must be > 0, got " + std::to_string(p.capacity[r]));
  }
  if (n <= 0) throw ConfigError("parent: the tree needs at least one node");
  children.assign(n, {});
  int root = -1;
  for (int i = 0; i < n; ++i) {
    const int32_t q = p.parent[i];
    if (q == -1) {
      if (root >= 0) throw ConfigError(at("parent", i) + ": a second root (parent -1); the first is node " + std::to_string(root));
      root = i;
    } else if (q < 0 || q >= n) {
      throw ConfigError(at("parent", i) + ": orphaned node, parent " + std::to_string(q) + " is not in [0, " + std::to_string(n) + ")");
    } else {
      children[q].push_back(i);
    }
    if (!std::isfinite(p.weights[i]) || p.weights[i] <= 0.0)
      throw ConfigError(at("weights", i) + ": must be finite and > 0, got " + std::to_string(p.weights[i]));
    if (p.limits[i] < -1) throw ConfigError(at("limits", i) + ": must be >= 0 (or -1 for none), got " + std::to_string(p.limits[i]));
  }
  if (root < 0) throw ConfigError("parent: no root node (parent -1); the tree is cyclic");
  std::vector<int32_t> order{root};
  for (size_t k = 0; k < order.size(); ++k) {
    for (int32_t c : children[order[k]]) order.push_back(c);
  }
  if (static_cast<int>(order.size()) != n) {
    std::vector<char> seen(n, 0);
    for (int32_t v : order) seen[v] = 1;
    int bad = 0;
    while (seen[bad]) ++bad;
    throw ConfigError(at("parent", bad) + ": node is on a cycle or cut off from the root (parent " + std::to_string(p.parent[bad]) + ")");
  }
  for (int i = 0; i < n; ++i) {
    bool any = false, neg = false;
    for (int r = 0; r < R; ++r) {
      const int64_t d = p.demands[static_cast<int64_t>(i) * R + r];
      any = any || d != 0;
      neg = neg || d < 0;
    }
    if (neg) throw ConfigError(at("demands", i) + ": must be >= 0");
    if (children[i].empty() && !any) throw ConfigError(at("demands", i) + ": leaf task must demand some resource, got all zeros");
    if (!children[i].empty() && any) throw ConfigError(at("demands", i) + ": node " + std::to_string(i) + " has children, so it holds no tasks");
  }
  return root;
}

}  // namespace

void hdrf_tasks(const HdrfProblem& p, int64_t* out) {
  std::vector<std::vector<int32_t>> children;
  const int root = check_tree(p, children);
  const int n = p.nodes, R = p.resources;
  std::vector<int64_t> alloc(static_cast<size_t>(n) * R, 0), left(p.capacity, p.capacity + R);
  std::vector<double> key(n, 0.0);
  using Key = std::pair<double, int32_t>;
  std::vector<std::set<Key>> active(n);
  for (int i = 0; i < n; ++i) {
    out[i] = 0;
    // A leaf with limit 0 never enters; inner nodes enter once they have an active child (below).
  }
  // Activate bottom-up: a leaf is active unless its limit is 0, an inner node if any child is.
  std::vector<int32_t> order{root};
  for (size_t k = 0; k < order.size(); ++k) {
    for (int32_t c : children[order[k]]) order.push_back(c);
  }
  std::vector<char> alive(n, 0);
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const int v = *it;
    alive[v] = children[v].empty() ? p.limits[v] != 0 : !active[v].empty();
    if (alive[v] && p.parent[v] >= 0) active[p.parent[v]].insert({0.0, v});
  }
  auto drop = [&](int v) {  // v leaves the filling; so does every ancestor left without children
    for (int u = v; p.parent[u] >= 0;) {
      const int q = p.parent[u];
      active[q].erase({key[u], u});
      if (!active[q].empty()) return;
      u = q;
    }
  };
  if (children[root].empty()) {
    if (!alive[root]) return;
  } else if (active[root].empty()) {
    return;
  }
  while (true) {
    int v = root;
    while (!children[v].empty()) {
      if (active[v].empty()) return;  // only possible at the root
      v = active[v].begin()->second;
    }
    const int64_t* d = p.demands + static_cast<int64_t>(v) * R;
    bool fits = true;
    for (int r = 0; r < R && fits; ++r) fits = d[r] <= left[r];
    if (!fits) {
      if (v == root) return;
      drop(v);
      if (active[root].empty()) return;
      continue;
    }
    for (int r = 0; r < R; ++r) left[r] -= d[r];
    const int64_t k = ++out[v];
    // Update the subtree allocations and keys on the path to the root.
    for (int u = v; u >= 0; u = p.parent[u]) {
      double share = 0.0;
      for (int r = 0; r < R; ++r) {
        int64_t& a = alloc[static_cast<size_t>(u) * R + r];
        a += d[r];
        const double s = static_cast<double>(a) / (p.weights[u] * static_cast<double>(p.capacity[r]));
        if (s > share) share = s;
      }
      const double nk = share;
      if (p.parent[u] >= 0 && active[p.parent[u]].erase({key[u], u})) active[p.parent[u]].insert({nk, u});
      key[u] = nk;
    }
    if (p.limits[v] >= 0 && k >= p.limits[v]) {
      if (v == root) return;
      drop(v);
      if (active[root].empty()) return;
    }
  }
}

}  // namespace aios::fairshare
