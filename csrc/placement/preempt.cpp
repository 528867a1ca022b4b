// Preemption: the cheapest set of strictly lower-priority victims whose eviction lets a task (or a
// gang) fit. Per node a greedy set cover picks the victim that removes the most missing capacity,
// then a reprieve pass gives back every victim that is not needed, highest priority first. Nodes
// (or domains, for gangs) are ranked by fewest victims, then lowest highest victim priority, then
// lowest priority sum, then tie key.
#include <algorithm>
#include <climits>
#include <tuple>

#include "common/error.hpp"
#include "placement/engine.hpp"

namespace aios::placement {

namespace {

__extension__ typedef __int128 i128;

// x * 10^6 / cap in parts per million (x, cap >= 0), in 64-bit arithmetic when the product fits.
int64_t ppm(int64_t x, int64_t cap) {
  if (x <= INT64_MAX / 1000000) return x * 1000000 / cap;
  return static_cast<int64_t>(static_cast<i128>(x) * 1000000 / cap);
}

struct Key {
  int64_t victims = INT64_MAX, max_priority = INT64_MAX, priority_sum = INT64_MAX;
  uint64_t tie = UINT64_MAX;
  bool operator<(const Key& o) const {
    return std::tie(victims, max_priority, priority_sum, tie) <
           std::tie(o.victims, o.max_priority, o.priority_sum, o.tie);
  }
};

// Whether `req` fits free capacity `f` and per-GPU use `used` (G GPUs), as Engine::fits decides.
bool fits_state(const int64_t* req, const int64_t* f, const int32_t* used, int G, int R, int gpu_col) {
  for (int r = 0; r < R; ++r) {
    if (req[r] > f[r]) return false;
  }
  const int64_t gpu = gpu_col >= 0 ? req[gpu_col] : 0;
  if (gpu <= 0) return true;
  int32_t whole = 0, share = 0;
  for (int g = 0; g < G; ++g) {
    whole += used[g] == 0;
    share = std::max<int32_t>(share, static_cast<int32_t>(kGpuMilli) - used[g]);
  }
  return gpu >= kGpuMilli ? whole >= gpu / kGpuMilli : share >= gpu;
}

}  // namespace

Victims Engine::preempt_one(const int64_t* req, int64_t priority, int32_t cid, const std::vector<uint8_t>* allowed,
                            const PreemptScratch* scratch) const {
  Victims best;
  Key best_key;
  const int64_t gpu = gpu_col_ >= 0 ? req[gpu_col_] : 0;
  for (int32_t node = 0; node < n_; ++node) {
    if (allowed && !(*allowed)[node]) continue;
    const PreemptScratch::Node* s = scratch ? scratch->find(node) : nullptr;
    const bool may_evict = node_min_priority_[node] < priority;
    if (!s && !may_evict && !fits(node, req)) continue;  // most nodes: the cheapest test first
    if (!eligible(cid, node) || !group_room(cid, node, s ? s->group_delta : 0)) continue;
    const uint64_t tie = tie_key(node);
    const int G = gpu_count_[node];
    if (s ? fits_state(req, s->free.data(), s->used.data(), G, R_, gpu_col_) : fits(node, req)) {
      const Key k{0, INT64_MIN, 0, tie};
      if (k < best_key) {
        best_key = k;
        best = Victims{node, {}, {}};
      }
      continue;
    }
    if (!may_evict) continue;  // nothing there may be evicted
    std::vector<int32_t> cand;
    for (int32_t slot : node_tasks_[node]) {
      if (slots_[slot].priority < priority && !(s && std::count(s->evicted.begin(), s->evicted.end(), slot)))
        cand.push_back(slot);
    }
    if (cand.empty()) continue;
    // Scratch copy of the node: free capacity and per-GPU use.
    const int64_t* cap = &cap_[static_cast<size_t>(node) * R_];
    std::vector<int64_t> f(R_);
    std::vector<int32_t> used(static_cast<size_t>(G));
    if (s) {
      f = s->free;
      used = s->used;
    } else {
      std::copy(&free_[static_cast<size_t>(node) * R_], &free_[static_cast<size_t>(node + 1) * R_], f.begin());
      for (int g = 0; g < G; ++g) used[g] = gpu_used_[gpu_offset_[node] + g];
    }
    auto change = [&](int32_t slot, int sign) {  // sign -1 evicts, +1 gives back
      const int64_t* q = &slot_req_[static_cast<size_t>(slot) * R_];
      for (int r = 0; r < R_; ++r) f[r] -= sign * q[r];
      const TaskSlot& t = slots_[slot];
      for (int g = 0; g < G; ++g) {
        if (t.gpu_mask >> g & 1) used[g] += sign * static_cast<int32_t>(kGpuMilli);
      }
      if (t.share_gpu >= 0) used[t.share_gpu] += sign * t.share_milli;
    };
    auto whole_free = [&]() {
      int32_t k = 0;
      for (int g = 0; g < G; ++g) k += used[g] == 0;
      return k;
    };
    auto share_free = [&]() {
      int32_t k = 0;
      for (int g = 0; g < G; ++g) k = std::max<int32_t>(k, static_cast<int32_t>(kGpuMilli) - used[g]);
      return k;
    };
    auto fits_now = [&]() {
      for (int r = 0; r < R_; ++r) {
        if (req[r] > f[r]) return false;
      }
      if (gpu <= 0) return true;
      return gpu >= kGpuMilli ? whole_free() >= gpu / kGpuMilli : share_free() >= gpu;
    };
    for (int32_t slot : cand) change(slot, -1);
    const bool possible = fits_now();
    for (int32_t slot : cand) change(slot, +1);
    if (!possible) continue;

    // Greedy cover: evict the candidate that removes the most missing capacity (normalized, ppm).
    std::vector<uint8_t> evicted(cand.size(), 0);
    std::vector<int32_t> victims;
    while (!fits_now()) {
      int pick = -1;
      int64_t pick_gain = -1;
      const int32_t wf = whole_free(), sf = share_free();
      for (size_t c = 0; c < cand.size(); ++c) {
        if (evicted[c]) continue;
        const TaskSlot& t = slots_[cand[c]];
        const int64_t* q = &slot_req_[static_cast<size_t>(cand[c]) * R_];
        int64_t gain = 0;
        for (int r = 0; r < R_; ++r) {
          if (r == gpu_col_ || cap[r] <= 0) continue;
          const int64_t missing = std::max<int64_t>(0, req[r] - f[r]);
          gain += ppm(std::min(q[r], missing), cap[r]);
        }
        if (gpu > 0) {
          int64_t helps = 0;
          if (gpu >= kGpuMilli) {
            const int64_t missing = std::max<int64_t>(0, gpu / kGpuMilli - wf);
            int64_t freed = __builtin_popcountll(t.gpu_mask);
            if (t.share_gpu >= 0 && used[t.share_gpu] == t.share_milli) ++freed;
            helps = std::min(freed, missing) * kGpuMilli;
          } else if (t.share_gpu >= 0 || t.gpu_mask) {
            const int64_t missing = std::max<int64_t>(0, gpu - sf);
            const int64_t after = t.gpu_mask ? kGpuMilli : kGpuMilli - (used[t.share_gpu] - t.share_milli);
            helps = std::min(std::max<int64_t>(0, after - sf), missing);
          }
          gain += ppm(helps, cap[gpu_col_]);
        }
        const bool better = pick < 0 || gain > pick_gain ||
                            (gain == pick_gain && (t.priority < slots_[cand[pick]].priority ||
                                                   (t.priority == slots_[cand[pick]].priority && t.id < slots_[cand[pick]].id)));
        if (better) {
          pick = static_cast<int>(c);
          pick_gain = gain;
        }
      }
      evicted[pick] = 1;
      change(cand[pick], -1);
      victims.push_back(cand[pick]);
    }
    // Reprieve: give back every victim the task can do without, highest priority first.
    std::sort(victims.begin(), victims.end(), [&](int32_t a, int32_t b) {
      return slots_[a].priority != slots_[b].priority ? slots_[a].priority > slots_[b].priority
                                                      : slots_[a].id < slots_[b].id;
    });
    std::vector<int32_t> kept;
    for (int32_t slot : victims) {
      change(slot, +1);
      if (!fits_now()) {
        change(slot, -1);
        kept.push_back(slot);
      }
    }
    Key k{static_cast<int64_t>(kept.size()), INT64_MIN, 0, tie};
    for (int32_t slot : kept) {
      k.max_priority = std::max(k.max_priority, slots_[slot].priority);
      k.priority_sum += slots_[slot].priority;
    }
    if (k < best_key) {
      best_key = k;
      best.node = node;
      best.task_ids.clear();
      best.task_nodes.clear();
      std::sort(kept.begin(), kept.end(), [&](int32_t a, int32_t b) { return slots_[a].id < slots_[b].id; });
      for (int32_t slot : kept) {
        best.task_ids.push_back(slots_[slot].id);
        best.task_nodes.push_back(node);
      }
    }
  }
  return best;
}

int64_t Engine::capacity_after_eviction(int32_t node, const int64_t* unit, int64_t priority, int32_t cid) const {
  if (!eligible(cid, node)) return 0;
  PreemptScratch::Node s = node_state(node);
  for (int32_t slot : node_tasks_[node]) {
    if (slots_[slot].priority < priority) scratch_evict(s, slot, cid);
  }
  const auto whole = static_cast<int64_t>(std::count(s.used.begin(), s.used.end(), 0));
  return copies_in(s.free.data(), s.used.data(), gpu_count_[node], whole, unit);
}

// The node as it is now, as a scratch to evict from and place on.
Engine::PreemptScratch::Node Engine::node_state(int32_t node) const {
  PreemptScratch::Node x{node, {}, {}, {}, 0};
  x.free.assign(&free_[static_cast<size_t>(node) * R_], &free_[static_cast<size_t>(node + 1) * R_]);
  x.used.assign(&gpu_used_[gpu_offset_[node]], &gpu_used_[gpu_offset_[node]] + gpu_count_[node]);
  return x;
}

Engine::PreemptScratch::Node& Engine::scratch_node(PreemptScratch& s, int32_t node) const {
  if (s.at[node] < 0) {
    s.at[node] = static_cast<int32_t>(s.nodes.size());
    s.nodes.push_back(node_state(node));
  }
  return s.nodes[s.at[node]];
}

// What unapply(slot) would do to the node, on the scratch.
void Engine::scratch_evict(PreemptScratch::Node& s, int32_t slot, int32_t cid) const {
  const TaskSlot& t = slots_[slot];
  const int64_t* q = &slot_req_[static_cast<size_t>(slot) * R_];
  for (int r = 0; r < R_; ++r) s.free[r] += q[r];
  for (size_t g = 0; g < s.used.size(); ++g) {
    if (t.gpu_mask >> g & 1) s.used[g] = 0;
  }
  if (t.share_gpu >= 0) s.used[t.share_gpu] -= t.share_milli;
  if (constraints_[cid].group >= 0 && constraints_[t.cid].group == constraints_[cid].group) --s.group_delta;
  s.evicted.push_back(slot);
}

// What apply() would do to the node for a member, on the scratch (GPU choice as apply makes it).
void Engine::scratch_place(PreemptScratch::Node& s, const int64_t* req, int32_t cid) const {
  for (int r = 0; r < R_; ++r) s.free[r] -= req[r];
  const int64_t g = gpu_col_ >= 0 ? req[gpu_col_] : 0;
  const int G = static_cast<int>(s.used.size());
  if (g >= kGpuMilli) {  // lowest-index free GPUs
    int64_t need = g / kGpuMilli;
    for (int k = 0; k < G && need > 0; ++k) {
      if (s.used[k] == 0) {
        s.used[k] = static_cast<int32_t>(kGpuMilli);
        --need;
      }
    }
  } else if (g > 0) {  // tightest GPU that holds the share, lowest index on ties
    int best = -1;
    for (int k = 0; k < G; ++k) {
      if (s.used[k] + g <= kGpuMilli && (best < 0 || s.used[k] > s.used[best])) best = k;
    }
    s.used[best] += static_cast<int32_t>(g);
  }
  if (constraints_[cid].group >= 0) ++s.group_delta;
}

bool Engine::gang_victims(const int64_t* req, const std::vector<int>& order, int64_t priority, int32_t cid,
                          const std::vector<uint8_t>& allowed, Victims& got, int64_t& max_priority,
                          int64_t& priority_sum) const {
  auto take = [&](const Engine& e, int32_t slot, size_t k, const Victims& v) {
    max_priority = std::max(max_priority, e.slots_[slot].priority);
    priority_sum += e.slots_[slot].priority;
    got.task_ids.push_back(v.task_ids[k]);
    got.task_nodes.push_back(v.task_nodes[k]);
  };
  if (policy_.kind == PolicyKind::Fgd) {
    // fgd picks a share's GPU by its fragmentation measure over the whole node state, which the
    // scratch does not model: place the members on a copy of the engine instead.
    Engine copy = *this;
    int64_t temp_id = INT64_MIN;
    for (int j : order) {
      const int64_t* q = req + static_cast<size_t>(j) * R_;
      const Victims v = copy.preempt_one(q, priority, cid, &allowed, nullptr);
      if (v.node < 0) return false;
      for (size_t k = 0; k < v.task_ids.size(); ++k) {
        const int32_t slot = *copy.task_slot_.find(v.task_ids[k]);  // a victim is a running task
        take(copy, slot, k, v);
        copy.unapply(slot);
      }
      while (copy.task_slot_.contains(temp_id)) ++temp_id;
      copy.apply(v.node, q, temp_id, priority, cid);
      if (got.node < 0) got.node = v.node;
    }
    return true;
  }
  PreemptScratch scratch;
  scratch.at.assign(static_cast<size_t>(n_), -1);
  for (int j : order) {
    const int64_t* q = req + static_cast<size_t>(j) * R_;
    const Victims v = preempt_one(q, priority, cid, &allowed, &scratch);
    if (v.node < 0) return false;
    PreemptScratch::Node& s = scratch_node(scratch, v.node);
    for (size_t k = 0; k < v.task_ids.size(); ++k) {
      const int32_t slot = *task_slot_.find(v.task_ids[k]);  // a victim is a running task
      take(*this, slot, k, v);
      scratch_evict(s, slot, cid);
    }
    scratch_place(s, q, cid);
    if (got.node < 0) got.node = v.node;
  }
  return true;
}

Victims Engine::preempt(const int64_t* req, int m, int64_t priority, int32_t cid, int level, bool evict,
                        const std::vector<uint8_t>* only) {
  if (m < 1) throw ConfigError("requests: need at least one task, got " + std::to_string(m));
  if (level < -1 || level >= L_) throw ConfigError("level: topology level " + std::to_string(level) + " out of range");
  check_cid(cid);
  for (int j = 0; j < m; ++j) check_request(req + static_cast<size_t>(j) * R_, "requests", j);

  Victims best;
  if (only && (m != 1 || level >= 0 || only->size() != static_cast<size_t>(n_)))
    throw ConfigError("only: a node subset needs a single task, no topology level and one flag per node slot");
  if (m == 1 && level < 0) {
    best = preempt_one(req, priority, cid, only, nullptr);
  } else {
    // A gang: place members one by one on a scratch copy, evicting as each needs, per domain.
    std::vector<std::vector<int32_t>> domains;
    if (level < 0) {
      domains.emplace_back();
      for (int32_t i = 0; i < n_; ++i) {
        if (live_[i]) domains.back().push_back(i);
      }
    } else {
      domains = domain_nodes(level);
    }
    std::vector<int> order(static_cast<size_t>(m));
    for (int j = 0; j < m; ++j) order[j] = j;
    if (gpu_col_ >= 0) {
      std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
        return req[static_cast<size_t>(a) * R_ + gpu_col_] > req[static_cast<size_t>(b) * R_ + gpu_col_];
      });
    }
    Key best_key;
    for (size_t d = 0; d < domains.size(); ++d) {
      std::vector<uint8_t> allowed(static_cast<size_t>(n_), 0);
      for (int32_t i : domains[d]) allowed[i] = 1;
      Victims got;
      Key key{0, INT64_MIN, 0, d};
      if (!gang_victims(req, order, priority, cid, allowed, got, key.max_priority, key.priority_sum)) continue;
      key.victims = static_cast<int64_t>(got.task_ids.size());
      if (key < best_key) {
        best_key = key;
        best = std::move(got);
      }
    }
  }
  if (evict && best.node >= 0 && !best.task_ids.empty()) {
    release(best.task_ids.data(), static_cast<int>(best.task_ids.size()));
  }
  return best;
}

}  // namespace aios::placement
