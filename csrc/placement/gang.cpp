// All-or-nothing gang placement with Ray placement-group strategies and Kueue-style topology
// (BestFit: fill the largest free domains whole, take the tightest fitting domain for the rest).
#include <algorithm>
#include <climits>
#include <map>

#include "common/error.hpp"
#include "placement/engine.hpp"

namespace aios::placement {

namespace {

std::string s(int64_t v) { return std::to_string(v); }

struct Assignment {
  int32_t node;
  int64_t count;
};

}  // namespace

std::vector<std::vector<int32_t>> Engine::domain_nodes(int level) const {
  std::map<int32_t, std::vector<int32_t>> by_domain;
  for (int32_t i = 0; i < n_; ++i) {
    if (live_[i]) by_domain[domains_[static_cast<size_t>(i) * L_ + level]].push_back(i);
  }
  std::vector<std::vector<int32_t>> out;
  out.reserve(by_domain.size());
  for (auto& kv : by_domain) out.push_back(std::move(kv.second));
  return out;
}

namespace {

// Kueue BestFit over the domain tree below `depth`: visit groups from most to least capacity,
// take whole groups while the need exceeds them, and give the remainder to the tightest group
// that holds it. `cap` is the per-node count of members that fit.
void best_fit_assign(const std::vector<int32_t>& nodes, int depth, int levels, const int32_t* domains,
                     const std::vector<int64_t>& cap, const std::vector<uint64_t>& tie, int64_t need,
                     std::vector<Assignment>& out) {
  if (need <= 0) return;
  struct Group {
    int64_t capacity = 0;
    uint64_t tie = UINT64_MAX;
    std::vector<int32_t> nodes;
  };
  std::vector<Group> groups;
  if (depth >= levels) {
    for (int32_t i : nodes) {
      if (cap[i] > 0) groups.push_back(Group{cap[i], tie[i], {i}});
    }
  } else {
    std::map<int32_t, Group> by;
    for (int32_t i : nodes) {
      if (cap[i] <= 0) continue;
      Group& g = by[domains[static_cast<size_t>(i) * levels + depth]];
      g.capacity += cap[i];
      g.tie = std::min(g.tie, tie[i]);
      g.nodes.push_back(i);
    }
    for (auto& kv : by) groups.push_back(std::move(kv.second));
  }
  std::sort(groups.begin(), groups.end(), [](const Group& a, const Group& b) {
    return a.capacity != b.capacity ? a.capacity > b.capacity : a.tie < b.tie;
  });
  for (size_t k = 0; k < groups.size() && need > 0; ++k) {
    size_t pick = k;
    int64_t take = groups[k].capacity;
    if (groups[k].capacity >= need) {
      // The tightest group that still holds the rest: the last one (in this order) that fits.
      while (pick + 1 < groups.size() && groups[pick + 1].capacity >= need) ++pick;
      take = need;
    }
    const Group& g = groups[pick];
    if (depth >= levels) {
      out.push_back(Assignment{g.nodes[0], take});
    } else {
      best_fit_assign(g.nodes, depth + 1, levels, domains, cap, tie, take, out);
    }
    need -= take;
    if (pick != k) break;
  }
}

}  // namespace

int64_t Engine::member_copies(int32_t node, const int64_t* unit, int32_t cid, GangStrategy strategy) const {
  if (!eligible(cid, node)) return 0;
  int64_t k = copies_that_fit(node, unit);
  const Constraint& c = constraints_[cid];
  if (c.group >= 0) {
    const int32_t* count = group_count_.find((static_cast<uint64_t>(c.group) << 32) | static_cast<uint32_t>(node));
    k = std::min<int64_t>(k, c.max_per_node - (count == nullptr ? 0 : *count));
  }
  if (strategy == GangStrategy::StrictSpread) k = std::min<int64_t>(k, 1);
  return std::max<int64_t>(k, 0);
}

bool Engine::place_gang_in(const std::vector<int32_t>& nodes, const int64_t* req, int m, const int64_t* ids,
                           int64_t priority, int32_t cid, int count, GangStrategy strategy, int level,
                           int32_t* out_nodes) {
  // Per-node member capacity under the strategy.
  std::vector<int64_t> unit(static_cast<size_t>(R_), 0);
  for (int j = 0; j < m; ++j) {
    for (int r = 0; r < R_; ++r) unit[r] = std::max(unit[r], req[static_cast<size_t>(j) * R_ + r]);
  }
  std::vector<int64_t> cap(static_cast<size_t>(n_), 0);
  std::vector<uint64_t> tie(static_cast<size_t>(n_), UINT64_MAX);
  int64_t total = 0, most = 0;
  for (int32_t i : nodes) {
    tie[i] = tie_key(i);
    cap[i] = member_copies(i, unit.data(), cid, strategy);
    total += cap[i];
    most = std::max(most, cap[i]);
  }
  std::vector<Assignment> plan;
  if (strategy == GangStrategy::StrictPack) {
    int32_t pick = -1;
    for (int32_t i : nodes) {  // tightest node that holds all
      if (cap[i] >= count && (pick < 0 || cap[i] < cap[pick] || (cap[i] == cap[pick] && tie[i] < tie[pick]))) pick = i;
    }
    if (pick < 0) return false;
    plan.push_back(Assignment{pick, count});
  } else {
    if (total < count) return false;
    if (strategy == GangStrategy::Spread) {  // the smallest per-node cap that still holds everyone
      int64_t lo = 1, hi = std::max<int64_t>(most, 1);
      while (lo < hi) {
        const int64_t mid = lo + (hi - lo) / 2;
        int64_t sum = 0;
        for (int32_t i : nodes) sum += std::min(cap[i], mid);
        if (sum >= count) hi = mid; else lo = mid + 1;
      }
      for (int32_t i : nodes) cap[i] = std::min(cap[i], lo);
    }
    best_fit_assign(nodes, level + 1, L_, domains_.data(), cap, tie, count, plan);
  }
  // Members in input order, the first `count` of them; larger GPU requests placed first.
  std::vector<int> order(static_cast<size_t>(count));
  for (int j = 0; j < count; ++j) order[j] = j;
  if (gpu_col_ >= 0) {
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
      return req[static_cast<size_t>(a) * R_ + gpu_col_] > req[static_cast<size_t>(b) * R_ + gpu_col_];
    });
  }
  std::vector<int32_t> applied;
  size_t next = 0;
  for (const Assignment& a : plan) {
    for (int64_t k = 0; k < a.count; ++k) {
      const int j = order[next++];
      const int64_t* q = req + static_cast<size_t>(j) * R_;
      if (!fits(a.node, q) || !group_room(cid, a.node)) {  // cannot happen with the unit counts; stay safe
        for (auto it = applied.rbegin(); it != applied.rend(); ++it) unapply(*it);
        std::fill(out_nodes, out_nodes + m, -1);
        return false;
      }
      applied.push_back(apply(a.node, q, ids[j], priority, cid));
      out_nodes[j] = a.node;
    }
  }
  return true;
}

bool Engine::place_gang(const int64_t* req, int m, const int64_t* ids, int64_t priority, int32_t cid,
                        int min_count, GangStrategy strategy, int level, bool required, int32_t* out_nodes) {
  if (m < 1) throw ConfigError("requests: a gang needs at least one member, got " + s(m));
  if (min_count < 1 || min_count > m) {
    throw ConfigError("min_count: must be in 1.." + s(m) + ", got " + s(min_count));
  }
  if (level < -1 || level >= L_) throw ConfigError("level: topology level " + s(level) + " out of range");
  if (required && level < 0) throw ConfigError("level: a required topology needs a level");
  if (static_cast<int>(strategy) < 0 || static_cast<int>(strategy) > 3) {
    throw ConfigError("strategy: unknown strategy " + s(static_cast<int>(strategy)));
  }
  check_cid(cid);
  for (int j = 0; j < m; ++j) {
    check_request(req + static_cast<size_t>(j) * R_, "requests", j);
    if (task_slot_.contains(ids[j])) throw ConfigError("ids[" + s(j) + "]: task id " + s(ids[j]) + " is already placed");
  }
  std::vector<int64_t> sorted(ids, ids + m);
  std::sort(sorted.begin(), sorted.end());
  const auto dup = std::adjacent_find(sorted.begin(), sorted.end());
  if (dup != sorted.end()) throw ConfigError("ids: task id " + s(*dup) + " appears twice in the gang");
  std::fill(out_nodes, out_nodes + m, -1);

  std::vector<int> levels_to_try;
  if (level < 0) {
    levels_to_try.push_back(-1);
  } else if (required) {
    levels_to_try.push_back(level);
  } else {
    for (int l = level; l >= 0; --l) levels_to_try.push_back(l);
    levels_to_try.push_back(-1);
  }
  std::vector<int32_t> all;
  for (int32_t i = 0; i < n_; ++i) {
    if (live_[i]) all.push_back(i);
  }
  // Domain capacity counts members shaped like the element-wise largest one.
  std::vector<int64_t> unit(static_cast<size_t>(R_), 0);
  for (int j = 0; j < m; ++j) {
    for (int r = 0; r < R_; ++r) unit[r] = std::max(unit[r], req[static_cast<size_t>(j) * R_ + r]);
  }
  // First the whole gang; then, if allowed, as many members as the roomiest domain holds.
  for (int pass = 0; pass < 2; ++pass) {
    if (pass == 1 && min_count == m) break;
    for (int lv : levels_to_try) {
      std::vector<std::vector<int32_t>> domains = lv < 0 ? std::vector<std::vector<int32_t>>{all} : domain_nodes(lv);
      // Domain capacity in members for this strategy, and the smallest tie key as its tiebreak.
      struct Cand {
        int64_t capacity;
        uint64_t tie;
        size_t index;
      };
      std::vector<Cand> cands;
      for (size_t d = 0; d < domains.size(); ++d) {
        int64_t total = 0, most = 0;
        uint64_t tie = UINT64_MAX;
        for (int32_t i : domains[d]) {
          tie = std::min(tie, tie_key(i));
          const int64_t k = member_copies(i, unit.data(), cid, strategy);
          total += k;
          most = std::max(most, k);
        }
        const int64_t capacity = strategy == GangStrategy::StrictPack ? most : total;
        cands.push_back(Cand{capacity, tie, d});
      }
      if (pass == 0) {
        // Tightest fitting domain first (Kueue BestFit), then the next tightest.
        std::sort(cands.begin(), cands.end(), [](const Cand& a, const Cand& b) {
          return a.capacity != b.capacity ? a.capacity < b.capacity : a.tie < b.tie;
        });
        for (const Cand& cd : cands) {
          if (cd.capacity < m) continue;
          if (place_gang_in(domains[cd.index], req, m, ids, priority, cid, m, strategy, lv, out_nodes)) return true;
        }
      } else {
        std::sort(cands.begin(), cands.end(), [](const Cand& a, const Cand& b) {
          return a.capacity != b.capacity ? a.capacity > b.capacity : a.tie < b.tie;
        });
        for (const Cand& cd : cands) {
          if (cd.capacity < min_count) break;
          const int count = static_cast<int>(std::min<int64_t>(cd.capacity, m));
          if (place_gang_in(domains[cd.index], req, m, ids, priority, cid, count, strategy, lv, out_nodes)) return true;
        }
      }
    }
  }
  return false;
}

}  // namespace aios::placement
