#include "fairshare/capacity.hpp"

#include <algorithm>
#include <limits>
#include <string>
#include <tuple>

#include "common/error.hpp"

namespace aios::fairshare {

namespace {

constexpr int64_t kMaxQuantity = int64_t{1} << 60;
constexpr int64_t kMaxRatio = std::numeric_limits<int64_t>::max();

std::string at(const char* field, int64_t i) { return std::string(field) + "[" + std::to_string(i) + "]"; }


}  // namespace

CapacityModel::CapacityModel(CapacitySpec spec) : s_(std::move(spec)) {
  R_ = s_.resources;
  F_ = s_.flavors;
  Q_ = s_.queues;
  N_ = s_.queues + s_.cohorts;
  if (R_ <= 0) throw ConfigError("resources: needs at least one resource");
  if (F_ <= 0) throw ConfigError("flavors: needs at least one flavor");
  if (Q_ < 0 || s_.cohorts < 0) throw ConfigError("queues: negative count");
  const size_t cells = static_cast<size_t>(N_) * F_ * R_;
  if (s_.parent.size() != static_cast<size_t>(N_) || s_.nominal.size() != cells || s_.borrowing_limit.size() != cells ||
      s_.lending_limit.size() != cells || s_.weight_milli.size() != static_cast<size_t>(N_) ||
      s_.flavor_start.size() != static_cast<size_t>(Q_) + 1 || s_.within_queue.size() != static_cast<size_t>(Q_) ||
      s_.reclaim.size() != static_cast<size_t>(Q_)) {
    throw ConfigError("spec: array sizes do not match the queue, cohort, flavor and resource counts");
  }
  for (int v = 0; v < N_; ++v) {
    const int32_t p = s_.parent[v];
    if (p != -1 && (p < Q_ || p >= N_)) {
      throw ConfigError(at("parent", v) + ": must be a cohort or -1, got node " + std::to_string(p));
    }
    if (s_.weight_milli[v] < 0) throw ConfigError(at("weight", v) + ": must be >= 0, got " + std::to_string(s_.weight_milli[v]));
  }
  for (size_t k = 0; k < cells; ++k) {
    const int node = static_cast<int>(k / (static_cast<size_t>(F_) * R_));
    if (s_.nominal[k] < 0 || s_.nominal[k] > kMaxQuantity)
      throw ConfigError(at("nominal_quota", node) + ": must be in [0, 2^60], got " + std::to_string(s_.nominal[k]));
    if (s_.borrowing_limit[k] < -1 || s_.borrowing_limit[k] > kMaxQuantity)
      throw ConfigError(at("borrowing_limit", node) + ": must be >= 0 or unset, got " + std::to_string(s_.borrowing_limit[k]));
    if (s_.lending_limit[k] < -1 || s_.lending_limit[k] > kMaxQuantity)
      throw ConfigError(at("lending_limit", node) + ": must be >= 0 or unset, got " + std::to_string(s_.lending_limit[k]));
  }
  if (s_.flavor_start[0] != 0 || s_.flavor_start[Q_] != static_cast<int32_t>(s_.flavor_list.size()))
    throw ConfigError("flavor_start: malformed flavor order");
  for (int q = 0; q < Q_; ++q) {
    if (s_.flavor_start[q + 1] < s_.flavor_start[q]) throw ConfigError(at("flavor_start", q) + ": decreasing");
    std::vector<char> seen(F_, 0);
    for (int32_t k = s_.flavor_start[q]; k < s_.flavor_start[q + 1]; ++k) {
      const int32_t f = s_.flavor_list[k];
      if (f < 0 || f >= F_) throw ConfigError(at("flavors_of_queue", q) + ": unknown flavor index " + std::to_string(f));
      if (seen[f]) throw ConfigError(at("flavors_of_queue", q) + ": flavor " + std::to_string(f) + " listed twice");
      seen[f] = 1;
    }
    if (s_.within_queue[q] < 0 || s_.within_queue[q] > 1) throw ConfigError(at("within_cluster_queue", q) + ": unknown policy");
    if (s_.reclaim[q] < 0 || s_.reclaim[q] > 2) throw ConfigError(at("reclaim_within_cohort", q) + ": unknown policy");
  }
  for (int8_t st : s_.strategies) {
    if (st < 0 || st > 1) throw ConfigError("preemption_strategies: unknown strategy " + std::to_string(st));
  }
  // Depth of every node; a walk longer than N means a cycle among cohorts.
  std::vector<int> depth(N_, 0);
  root_.assign(N_, 0);
  for (int v = 0; v < N_; ++v) {
    int u = v, d = 0;
    while (s_.parent[u] >= 0) {
      u = s_.parent[u];
      if (++d > N_) throw ConfigError(at("cohort_parent", v) + ": the cohort tree has a cycle through node " + std::to_string(v));
    }
    depth[v] = d;
    root_[v] = u;
  }
  std::vector<int> by_depth(N_);
  for (int v = 0; v < N_; ++v) by_depth[v] = v;
  std::stable_sort(by_depth.begin(), by_depth.end(), [&](int a, int b) { return depth[a] > depth[b]; });
  subtree_ = s_.nominal;
  local_.assign(cells, 0);
  potential_.assign(cells, 0);

  for (int v : by_depth) {  // children before parents
    for (int f = 0; f < F_; ++f) {
      for (int r = 0; r < R_; ++r) {
        const size_t k = idx(v, f, r);
        if (subtree_[k] > kMaxQuantity) throw ConfigError(at("nominal_quota", v) + ": cohort total overflows 2^60");
        local_[k] = s_.lending_limit[k] >= 0 ? std::max<int64_t>(0, subtree_[k] - s_.lending_limit[k]) : 0;
        if (s_.parent[v] >= 0) {
          int64_t& up = subtree_[idx(s_.parent[v], f, r)];
          up += subtree_[k] - local_[k];  // both <= 2^60 here, so no int64 overflow
          if (up > kMaxQuantity) throw ConfigError(at("nominal_quota", s_.parent[v]) + ": cohort total overflows 2^60");
        }
      }
    }
  }
  for (auto it = by_depth.rbegin(); it != by_depth.rend(); ++it) {  // parents before children
    const int v = *it;
    for (int f = 0; f < F_; ++f) {
      for (int r = 0; r < R_; ++r) {
        const size_t k = idx(v, f, r);
        if (s_.parent[v] < 0) {
          potential_[k] = subtree_[k];
          continue;
        }
        int64_t p = local_[k] + potential_[idx(s_.parent[v], f, r)];
        if (s_.borrowing_limit[k] >= 0) p = std::min(p, subtree_[k] + s_.borrowing_limit[k]);
        potential_[k] = p;
      }
    }
  }
  // Children of every node (index order) for the hierarchical admission tournament.
  child_start_.assign(N_ + 1, 0);
  for (int v = 0; v < N_; ++v) {
    if (s_.parent[v] >= 0) ++child_start_[s_.parent[v] + 1];
  }
  for (int v = 0; v < N_; ++v) child_start_[v + 1] += child_start_[v];
  child_list_.assign(child_start_[N_], 0);
  {
    std::vector<int32_t> fill(child_start_.begin(), child_start_.end() - 1);
    for (int v = 0; v < N_; ++v) {
      if (s_.parent[v] >= 0) child_list_[fill[s_.parent[v]]++] = v;
    }
  }
  hierarchical_ = false;
  for (int v = Q_; v < N_; ++v) hierarchical_ = hierarchical_ || s_.parent[v] >= 0;
  // Hot-path copy of the quota arithmetic, one cache line per two cells.
  cell_.resize(cells);
  for (size_t k = 0; k < cells; ++k) cell_[k] = {subtree_[k], local_[k], 0, s_.borrowing_limit[k]};
  // What the parent could lend, summed over flavors per resource (the DRS denominator).
  lendable_.assign(static_cast<size_t>(N_) * R_, 0);
  for (int v = 0; v < N_; ++v) {
    if (s_.parent[v] < 0) continue;
    for (int f = 0; f < F_; ++f)
      for (int r = 0; r < R_; ++r) lendable_[static_cast<size_t>(v) * R_ + r] += potential_[idx(s_.parent[v], f, r)];
  }
}

void CapacityModel::check_queue(int queue) const {
  if (queue < 0 || queue >= Q_) throw NotFoundError("queue: unknown cluster queue index " + std::to_string(queue));
}

void CapacityModel::check_request(const int64_t* req) const {
  for (int r = 0; r < R_; ++r) {
    if (req[r] < 0 || req[r] > kMaxQuantity)
      throw ConfigError(at("requests", r) + ": must be in [0, 2^60], got " + std::to_string(req[r]));
  }
}

int64_t CapacityModel::available(int node, int f, int r) const {
  const size_t k = idx(node, f, r);
  const int32_t p = s_.parent[node];
  if (p < 0) return cell_[k].subtree - cell_[k].usage;
  int64_t from_parent = available(p, f, r);
  if (cell_[k].borrow >= 0) {
    from_parent = std::min(from_parent, cell_[k].subtree - cell_[k].local - std::max<int64_t>(0, cell_[k].usage - cell_[k].local) +
                                            cell_[k].borrow);
  }
  return std::max<int64_t>(0, cell_[k].local - cell_[k].usage) + from_parent;
}

bool CapacityModel::fits(int queue, int f, const int64_t* req) const {
  for (int r = 0; r < R_; ++r) {
    if (req[r] > 0 && req[r] > available(queue, f, r)) return false;
  }
  return true;
}

// Would this workload take the queue above its nominal quota in some resource?
bool CapacityModel::borrows_with(int queue, int f, const int64_t* req) const {
  for (int r = 0; r < R_; ++r) {
    const size_t k = idx(queue, f, r);
    if (req[r] > 0 && cell_[k].usage + req[r] > cell_[k].subtree) return true;
  }
  return false;
}

// Is the queue above nominal now in a resource this request needs?
bool CapacityModel::borrowing_in(int queue, int f, const int64_t* req) const {
  for (int r = 0; r < R_; ++r) {
    const size_t k = idx(queue, f, r);
    if (req[r] > 0 && cell_[k].usage > cell_[k].subtree) return true;
  }
  return false;
}

double CapacityModel::drs(int node, int fq, const int64_t* req) const {
  const int32_t p = s_.parent[node];
  if (p < 0) return 0.0;
  // Sums over flavors and the * 1000 are done in 128 bits; the ratio saturates at 2^63 - 1.
  wide ratio = 0;
  bool any = false;
  for (int r = 0; r < R_; ++r) {
    wide borrowed = 0;
    for (int f = 0; f < F_; ++f) {
      const size_t k = idx(node, f, r);
      const int64_t b = cell_[k].usage + (f == fq && req ? req[r] : 0) - cell_[k].subtree;
      if (b > 0) borrowed += b;
    }
    any = any || borrowed > 0;
    const wide lendable = lendable_[static_cast<size_t>(node) * R_ + r];
    if (lendable > 0) ratio = std::max<wide>(ratio, std::min<wide>(borrowed * 1000 / lendable, kMaxRatio));
  }
  if (!any) return 0.0;
  if (s_.weight_milli[node] == 0) return std::numeric_limits<double>::infinity();
  return static_cast<double>(ratio) / (static_cast<double>(s_.weight_milli[node]) / 1000.0);
}

void CapacityModel::add_usage(int node, int f, int r, int64_t delta) {
  for (int v = node; v >= 0 && delta != 0;) {
    const size_t k = idx(v, f, r);
    const int64_t before = std::max<int64_t>(0, cell_[k].usage - cell_[k].local);
    cell_[k].usage += delta;
    const int64_t after = std::max<int64_t>(0, cell_[k].usage - cell_[k].local);
    delta = after - before;  // only usage above the local (non-lendable) part reaches the parent
    v = s_.parent[v];
  }
}

void CapacityModel::charge(int queue, int f, const int64_t* req, int64_t sign) {
  for (int r = 0; r < R_; ++r) {
    if (req[r] != 0) add_usage(queue, f, r, sign * req[r]);
  }
}

int32_t CapacityModel::assign_flavor(int queue, const int64_t* req) const {
  check_queue(queue);
  check_request(req);
  return pick_flavor(queue, req);
}

int32_t CapacityModel::pick_flavor(int queue, const int64_t* req) const {
  int32_t borrowing_choice = -1;
  for (int32_t k = s_.flavor_start[queue]; k < s_.flavor_start[queue + 1]; ++k) {
    const int32_t f = s_.flavor_list[k];
    if (!fits(queue, f, req)) continue;
    if (!s_.try_next_flavor || !borrows_with(queue, f, req)) return f;
    if (borrowing_choice < 0) borrowing_choice = f;
  }
  return borrowing_choice;
}

int64_t CapacityModel::commit(int queue, int f, const int64_t* req, int64_t priority) {
  Workload w;
  w.queue = queue;
  w.flavor = f;
  w.priority = priority;
  w.seq = next_seq_++;
  w.admitted = true;
  req_.insert(req_.end(), req, req + R_);
  charge(queue, f, req, +1);
  work_.push_back(std::move(w));
  return static_cast<int64_t>(work_.size()) - 1;
}

int64_t CapacityModel::admit(int queue, const int64_t* req, int64_t priority) {
  const int32_t f = assign_flavor(queue, req);
  if (f < 0) return -1;
  return commit(queue, f, req, priority);
}

const Workload& CapacityModel::workload(int64_t id) const {
  if (id < 0 || id >= static_cast<int64_t>(work_.size())) throw NotFoundError("workload: unknown id " + std::to_string(id));
  return work_[id];
}

void CapacityModel::evict(int64_t id) {
  const Workload& w = workload(id);
  if (!w.admitted) throw NotFoundError("workload: id " + std::to_string(id) + " is not admitted");
  charge(w.queue, w.flavor, requests_of(&w - work_.data()), -1);
  work_[id].admitted = false;
}

int32_t CapacityModel::tournament(int node, const std::vector<Entry>& entries, const std::vector<int32_t>& entry_of,
                                  const std::vector<int32_t>& pending, const int64_t* req) {
  if (node < Q_) return entry_of[node];
  int32_t best = -1;
  double best_share = 0.0;
  for (int32_t k = child_start_[node]; k < child_start_[node + 1]; ++k) {
    const int32_t c = child_list_[k];
    if (pending[c] == 0) continue;
    const int32_t cand = tournament(c, entries, entry_of, pending, req);
    const Entry& e = entries[cand];
    const int64_t* rq = req + static_cast<int64_t>(e.pos) * R_;
    charge(e.queue, e.flavor, rq, +1);  // the sub-tree's share with this workload
    const double share = drs(c, -1, nullptr);
    charge(e.queue, e.flavor, rq, -1);
    if (best < 0 || std::tie(share, e.neg_priority, e.pos) < std::tie(best_share, entries[best].neg_priority, entries[best].pos)) {
      best = cand;
      best_share = share;
    }
  }
  return best;
}

void CapacityModel::admit_batch(int n, const int32_t* queue, const int64_t* req, const int64_t* priority,
                                int32_t* out_flavor, int64_t* out_id) {
  for (int i = 0; i < n; ++i) {
    check_queue(queue[i]);
    check_request(req + static_cast<int64_t>(i) * R_);
  }
  // Each queue's pending list: higher priority first, then earlier position (bucket by queue,
  // then a small sort per queue).
  std::vector<int32_t> start(Q_ + 1, 0);
  for (int i = 0; i < n; ++i) ++start[queue[i] + 1];
  for (int q = 0; q < Q_; ++q) start[q + 1] += start[q];
  std::vector<int32_t> order(n);
  {
    std::vector<int32_t> fill(start.begin(), start.end() - 1);
    for (int i = 0; i < n; ++i) order[fill[queue[i]]++] = i;
  }
  for (int q = 0; q < Q_; ++q) {
    std::sort(order.begin() + start[q], order.begin() + start[q + 1], [&](int32_t a, int32_t b) {
      return priority[a] != priority[b] ? priority[a] > priority[b] : a < b;
    });
  }
  std::vector<int32_t> head(start.begin(), start.end() - 1);
  std::vector<int32_t> live;
  for (int q = 0; q < Q_; ++q) {
    if (start[q + 1] > start[q]) live.push_back(q);
  }
  for (int i = 0; i < n; ++i) {
    out_flavor[i] = -1;
    out_id[i] = -1;
  }
  work_.reserve(work_.size() + static_cast<size_t>(n));  // at most n admissions: no regrowth
  req_.reserve(req_.size() + static_cast<size_t>(n) * R_);
  std::vector<Entry> entries;
  std::vector<int32_t> entry_of(Q_, -1), pending(N_, 0);  // tournament bookkeeping
  while (!live.empty()) {
    // Nominate every queue's head against the current usage; heads that fit nowhere are dropped.
    entries.clear();
    size_t keep = 0;
    for (int32_t q : live) {
      while (head[q] < start[q + 1]) {
        const int32_t i = order[head[q]];
        const int64_t* rq = req + static_cast<int64_t>(i) * R_;
        const int32_t f = pick_flavor(q, rq);  // inputs checked above
        if (f >= 0) {
          const double key = s_.fair_sharing ? drs(q, f, rq) : (borrows_with(q, f, rq) ? 1.0 : 0.0);
          entries.push_back({key, -priority[i], i, q, f});
          break;
        }
        ++head[q];
      }
      if (head[q] < start[q + 1]) live[keep++] = q;
    }
    live.resize(keep);
    auto try_admit = [&](const Entry& e) {  // an entry that no longer fits waits for the next cycle
      const int64_t* rq = req + static_cast<int64_t>(e.pos) * R_;
      if (!fits(e.queue, e.flavor, rq)) return;
      out_flavor[e.pos] = e.flavor;
      out_id[e.pos] = commit(e.queue, e.flavor, rq, priority[e.pos]);
      ++head[e.queue];
    };
    if (!hierarchical_ || !s_.fair_sharing) {
      std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
        return std::tie(a.share, a.neg_priority, a.pos) < std::tie(b.share, b.neg_priority, b.pos);
      });
      for (const Entry& e : entries) try_admit(e);
    } else {
      // Hierarchical cohorts: a tournament per root. At each cohort the child whose sub-tree has
      // the lowest share with its best entry's workload wins (then priority, then position); the
      // winner is tried, and the next tournament sees the usage it added.
      for (size_t k = 0; k < entries.size(); ++k) {
        entry_of[entries[k].queue] = static_cast<int32_t>(k);
        for (int v = entries[k].queue; v >= 0; v = s_.parent[v]) ++pending[v];
      }
      std::vector<int32_t> roots;
      for (const Entry& e : entries) roots.push_back(root_[e.queue]);
      std::sort(roots.begin(), roots.end());
      roots.erase(std::unique(roots.begin(), roots.end()), roots.end());
      for (int32_t r : roots) {
        while (pending[r] > 0) {
          const Entry& e = entries[tournament(r, entries, entry_of, pending, req)];
          for (int v = e.queue; v >= 0; v = s_.parent[v]) --pending[v];
          entry_of[e.queue] = -1;
          try_admit(e);
        }
      }
    }
    keep = 0;
    for (int32_t q : live) {
      if (head[q] < start[q + 1]) live[keep++] = q;
    }
    live.resize(keep);
  }
}

void CapacityModel::sides_below_lca(int a, int b, int* a_side, int* b_side) const {
  // Ancestors of a (a included), then walk up from b until one of them.
  std::vector<int> path_a;
  for (int v = a; v >= 0; v = s_.parent[v]) path_a.push_back(v);
  int prev_b = b;
  for (int v = b; v >= 0; prev_b = v, v = s_.parent[v]) {
    for (size_t k = 0; k < path_a.size(); ++k) {
      if (path_a[k] == v) {
        *a_side = k > 0 ? path_a[k - 1] : a;
        *b_side = v == b ? b : prev_b;
        return;
      }
    }
  }
  *a_side = a;  // different trees: never candidates of each other
  *b_side = b;
}

bool CapacityModel::plan_for_flavor(int queue, int f, const int64_t* req, int64_t priority,
                                    std::vector<int64_t>& targets) {
  const int8_t within = s_.within_queue[queue];
  const int8_t reclaim = s_.reclaim[queue];
  const bool in_cohort = s_.parent[queue] >= 0;
  const bool preemptor_borrows = borrows_with(queue, f, req);
  // Candidates: own-queue workloads allowed by withinClusterQueue, and workloads of other queues in
  // the same cohort tree allowed by reclaimWithinCohort (used only while their queue borrows).
  std::vector<int64_t> cand;
  for (int64_t id = 0; id < static_cast<int64_t>(work_.size()); ++id) {
    const Workload& w = work_[id];
    if (!w.admitted || w.flavor != f) continue;
    bool overlaps = false;
    for (int r = 0; r < R_ && !overlaps; ++r) overlaps = req[r] > 0 && requests_of(id)[r] > 0;
    if (!overlaps) continue;
    if (w.queue == queue) {
      if (within == static_cast<int8_t>(WithinQueue::LowerPriority) && w.priority < priority) cand.push_back(id);
    } else if (in_cohort && root_[w.queue] == root_[queue]) {
      if (!s_.fair_sharing && preemptor_borrows) continue;  // classic: no reclaim while borrowing
      if (reclaim == static_cast<int8_t>(Reclaim::Any) ||
          (reclaim == static_cast<int8_t>(Reclaim::LowerPriority) && w.priority < priority))
        cand.push_back(id);
    }
  }
  // Other queues first, lower priority first, most recently admitted first, then id.
  std::sort(cand.begin(), cand.end(), [&](int64_t a, int64_t b) {
    const Workload &x = work_[a], &y = work_[b];
    return std::make_tuple(x.queue == queue, x.priority, -x.seq, a) < std::make_tuple(y.queue == queue, y.priority, -y.seq, b);
  });
  std::vector<char> taken(cand.size(), 0);
  auto take = [&](size_t c) {
    taken[c] = 1;
    const Workload& w = work_[cand[c]];
    charge(w.queue, w.flavor, requests_of(&w - work_.data()), -1);
    targets.push_back(cand[c]);
  };
  if (!s_.fair_sharing) {
    for (size_t c = 0; c < cand.size() && !fits(queue, f, req); ++c) {
      const Workload& w = work_[cand[c]];
      if (w.queue != queue && !borrowing_in(w.queue, f, req)) continue;
      take(c);
    }
  } else {
    std::vector<char> done(Q_, 0);
    for (int8_t strategy : s_.strategies) {
      std::fill(done.begin(), done.end(), 0);
      while (!fits(queue, f, req)) {
        // The queue whose side of the lowest common ancestor has the highest share, among those
        // that still have candidates (flat cohorts: the queue's own share).
        int best = -1, best_side = -1, my_side = -1;
        double best_share = -1.0;
        for (size_t c = 0; c < cand.size(); ++c) {
          const int q = work_[cand[c]].queue;
          if (taken[c] || done[q]) continue;
          int mine_node = queue, their_node = q;
          if (q != queue) sides_below_lca(queue, q, &mine_node, &their_node);
          const double s = drs(their_node, -1, nullptr);
          if (best < 0 || s > best_share || (s == best_share && q < best)) {
            best = q;
            best_share = s;
            best_side = their_node;
            my_side = mine_node;
          }
        }
        if (best < 0) break;
        bool took = false;
        for (size_t c = 0; c < cand.size() && !took; ++c) {
          const Workload& w = work_[cand[c]];
          if (taken[c] || w.queue != best) continue;
          if (best == queue) {
            take(c);
            took = true;
            break;
          }
          if (!borrowing_in(best, f, req)) break;  // reclaim only from queues above nominal
          // The preemptor's side with the incoming workload.
          charge(queue, f, req, +1);
          const double mine = drs(my_side, -1, nullptr);
          charge(queue, f, req, -1);
          if (mine == 0.0) {
            take(c);  // the preemptor's side does not borrow after admission: reclaim
          } else if (strategy == static_cast<int8_t>(Strategy::LessThanInitialShare)) {
            if (mine < best_share) take(c);
          } else {
            charge(w.queue, w.flavor, requests_of(&w - work_.data()), -1);
            const bool ok = mine <= drs(best_side, -1, nullptr);
            charge(w.queue, w.flavor, requests_of(&w - work_.data()), +1);
            if (ok) take(c);
          }
          took = taken[c] != 0;
        }
        if (!took) done[best] = 1;
      }
      if (fits(queue, f, req)) break;
    }
  }
  const bool ok = fits(queue, f, req);
  if (ok) {
    // Reverse pass: give back every target the preemptor does not need.
    std::vector<int64_t> kept;
    for (auto it = targets.rbegin(); it != targets.rend(); ++it) {
      const Workload& w = work_[*it];
      charge(w.queue, w.flavor, requests_of(&w - work_.data()), +1);
      if (fits(queue, f, req)) continue;
      charge(w.queue, w.flavor, requests_of(&w - work_.data()), -1);
      kept.push_back(*it);
    }
    std::reverse(kept.begin(), kept.end());
    targets.swap(kept);
  }
  for (int64_t id : targets) {  // restore: the caller decides whether to apply
    const Workload& w = work_[id];
    charge(w.queue, w.flavor, requests_of(&w - work_.data()), +1);
  }
  if (!ok) targets.clear();
  return ok;
}

PreemptPlan CapacityModel::preempt(int queue, const int64_t* req, int64_t priority, bool apply) {
  check_queue(queue);
  check_request(req);
  PreemptPlan plan;
  const int32_t direct = assign_flavor(queue, req);
  if (direct >= 0) {
    plan.flavor = direct;
  } else {
    for (int32_t k = s_.flavor_start[queue]; k < s_.flavor_start[queue + 1]; ++k) {
      std::vector<int64_t> targets;
      if (plan_for_flavor(queue, s_.flavor_list[k], req, priority, targets)) {
        plan.flavor = s_.flavor_list[k];
        plan.victims = std::move(targets);
        break;
      }
    }
  }
  if (apply && plan.flavor >= 0) {
    for (int64_t id : plan.victims) evict(id);
    plan.admitted_id = commit(queue, plan.flavor, req, priority);
  }
  return plan;
}

}  // namespace aios::fairshare
