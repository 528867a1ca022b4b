// Engine: construction, nodes, constraints, task bookkeeping, batch placement and release.
#include "placement/engine.hpp"

#include <algorithm>
#include <climits>

#include "common/error.hpp"

namespace aios::placement {

namespace {
std::string s(int64_t v) { return std::to_string(v); }

void check_model(int32_t model, int node) {
  if (model < -1 || model > 63) {
    throw ConfigError("gpu_model[" + s(node) + "]: GPU model id must be in -1..63, got " + s(model));
  }
}
}  // namespace

uint64_t tie_hash(uint64_t seed, int64_t node) {
  // splitmix64 of (seed + (node + 1) * golden ratio): a fixed pseudo-random order per seed.
  uint64_t z = seed + static_cast<uint64_t>(node + 1) * 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

Engine::Engine(const ClusterArrays& c, const Policy& policy, uint64_t seed)
    : R_(c.resources), L_(c.levels), gpu_col_(c.gpu_column), seed_(seed), policy_(policy) {
  if (c.nodes < 0) throw ConfigError("capacity: negative node count " + s(c.nodes));
  if (R_ < 1 || R_ > kMaxResources) {
    throw ConfigError("resources: need 1.." + s(kMaxResources) + " resources, got " + s(R_));
  }
  if (gpu_col_ < -1 || gpu_col_ >= R_) throw ConfigError("gpu_resource: column " + s(gpu_col_) + " out of range");
  if (L_ < 0 || L_ > 16) throw ConfigError("topology: need 0..16 levels, got " + s(L_));
  if (c.nodes > 0 && c.capacity == nullptr) throw ConfigError("capacity: null array");
  if (L_ > 0 && c.nodes > 0 && c.domains == nullptr) throw ConfigError("topology: null array");
  validate_policy(policy_, R_);
  for (int i = 0; i < c.nodes && c.gpu_model; ++i) check_model(c.gpu_model[i], i);
  for (double p : policy_.fgd.popularity) fgd_psum_ += p;
  basic_.assign(c.basic, c.basic + R_);
  has_resource_.assign(static_cast<size_t>(R_), 0);
  lacks_resource_.assign(static_cast<size_t>(R_), 0);
  for (int i = 0; i < c.nodes; ++i) {
    for (int r = 0; r < R_; ++r) {
      const int64_t v = c.capacity[static_cast<size_t>(i) * R_ + r];
      if (v < 0 || v > kMaxQuantity) {
        throw ConfigError("capacity[" + s(i) + ", " + s(r) + "]: must be in 0..2^62, got " + s(v));
      }
      if (r == gpu_col_ && (v % kGpuMilli != 0 || v / kGpuMilli > kMaxGpusPerNode)) {
        throw ConfigError("capacity[" + s(i) + ", " + s(r) + "]: GPU capacity is milli-GPUs, a multiple of 1000 up to " +
                          s(kMaxGpusPerNode * kGpuMilli) + ", got " + s(v));
      }
    }
    for (int l = 0; l < L_; ++l) {
      if (c.domains[static_cast<size_t>(i) * L_ + l] < 0) {
        throw ConfigError("topology[" + s(i) + ", " + s(l) + "]: negative domain id");
      }
    }
  }
  scalars_ = policy_scalar_count(policy_, basic_.data(), R_);
  // Conditions the index keeps policy scalars for: GPUs free (whole counts, shares) crossed with
  // the free amount of the first basic resource (cpu), so the bounds of a request only look at
  // nodes that can give it both. Dropped where their memory would exceed a budget.
  if (scalars_ > 0) {
    if (gpu_col_ >= 0) {
      int64_t most = 1;
      for (int i = 0; i < c.nodes; ++i) most = std::max(most, c.capacity[static_cast<size_t>(i) * R_ + gpu_col_] / kGpuMilli);
      for (int64_t k = 1; k <= most; k *= 2) gpu_conditions_.push_back(static_cast<int32_t>(k * kGpuMilli));
      for (int32_t share : {250, 500, 750}) gpu_conditions_.push_back(share);
    }
    for (int r = 0; r < R_ && second_ < 0; ++r) {
      if (basic_[r] && r != gpu_col_ && policy_.weights[r] > 0) second_ = r;
    }
    if (second_ >= 0) {
      int64_t top = 0;
      for (int i = 0; i < c.nodes; ++i) top = std::max(top, c.capacity[static_cast<size_t>(i) * R_ + second_]);
      for (int j = 9; j >= 1; --j) {
        if ((top >> j) > 0) second_thresholds_.push_back(top >> j);
      }
    }
    // Scalars are at most sum(w) * 1e6 (fit policies), sum(w) * 100 * kFineUnits (most allocated) or
    // sum(w) * 100: int32 when that fits.
    int64_t wsum = 0;
    for (int r = 0; r < R_; ++r) wsum += policy_.weights[r];
    const int64_t scale = policy_.kind == PolicyKind::BestFit || policy_.kind == PolicyKind::WorstFit ? 1000000
                          : policy_.kind == PolicyKind::MostAllocated                                 ? 100 * kFineUnits
                                                                                                      : 100;
    narrow_scalars_ = wsum * scale < INT32_MAX - 1;
    int64_t leaves = 1;
    while (leaves < c.nodes) leaves <<= 1;
    const double vertices = 2.0 * static_cast<double>(leaves);
    auto bytes = [&]() {
      return vertices * static_cast<double>(gpu_conditions_.size() + 1) * static_cast<double>(second_thresholds_.size() + 1) *
             scalars_ * (narrow_scalars_ ? 4.0 : 8.0);
    };
    constexpr double kBudget = 384.0 * (1 << 20);
    if (bytes() > kBudget) second_thresholds_.clear();
    if (bytes() > kBudget) gpu_conditions_.clear();
  }
  index_.reset(R_, scalars_, policy_scalar_keeps_max(policy_), narrow_scalars_, gpu_col_, gpu_conditions_, second_, second_thresholds_,
               std::max(1, c.nodes), policy_reads_min_extremes(policy_));
  // Positions: first_fit keeps node order (its score is the index); every other policy uses a
  // seeded shuffle, which is also its tie rule (smallest position wins).
  pos_of_.resize(static_cast<size_t>(c.nodes));
  node_at_.resize(static_cast<size_t>(c.nodes));
  for (int i = 0; i < c.nodes; ++i) node_at_[i] = i;
  if (policy_.kind != PolicyKind::FirstFit) {
    std::vector<uint64_t> key(static_cast<size_t>(c.nodes));
    for (int i = 0; i < c.nodes; ++i) key[i] = tie_hash(seed_, i);
    std::sort(node_at_.begin(), node_at_.end(), [&](int32_t a, int32_t b) { return key[a] < key[b]; });
  }
  for (int p = 0; p < c.nodes; ++p) pos_of_[node_at_[p]] = p;
  // The default constraint 0 admits every node (no taints tolerated beyond none, no selector).
  Constraint any;
  constraints_.push_back(any);
  for (int i = 0; i < c.nodes; ++i) {
    const uint8_t yes = 1;
    add_node(c.capacity + static_cast<size_t>(i) * R_, L_ ? c.domains + static_cast<size_t>(i) * L_ : nullptr, &yes, &yes,
             c.gpu_model ? c.gpu_model[i] : -1);
  }
}

// ---------------------------------------------------------------- validation

void Engine::check_request(const int64_t* req, const char* what, int row) const {
  for (int r = 0; r < R_; ++r) {
    const int64_t v = req[r];
    if (v < 0 || v > kMaxQuantity) {
      throw ConfigError(std::string(what) + "[" + s(row) + ", " + s(r) + "]: must be in 0..2^62, got " + s(v));
    }
  }
  if (gpu_col_ >= 0) {
    const int64_t g = req[gpu_col_];
    if (g >= kGpuMilli && (g % kGpuMilli != 0 || g / kGpuMilli > kMaxGpusPerNode)) {
      throw ConfigError(std::string(what) + "[" + s(row) + ", " + s(gpu_col_) +
                        "]: a GPU request is a share below 1000 milli-GPU or whole GPUs (a multiple of 1000), got " + s(g));
    }
  }
}

void Engine::check_cid(int32_t cid) const {
  if (cid < 0 || cid >= static_cast<int32_t>(constraints_.size())) {
    throw NotFoundError("constraint: unknown constraint id " + s(cid));
  }
}

void Engine::check_node(int32_t node) const {
  if (node < 0 || node >= n_ || !live_[node]) throw NotFoundError("node: unknown node index " + s(node));
}

bool Engine::is_live(int32_t node) const { return node >= 0 && node < n_ && live_[node]; }
bool Engine::is_cordoned(int32_t node) const { return is_live(node) && cordoned_[node]; }

// ---------------------------------------------------------------- per-node facts

uint64_t Engine::tie_key(int32_t node) const { return static_cast<uint64_t>(pos_of_[node]); }

bool Engine::eligible(int32_t cid, int32_t node) const {
  const Constraint& c = constraints_[cid];
  if (!live_[node] || cordoned_[node]) return false;
  if (cid == 0) return true;
  return c.taint_ok[node] && c.affinity_ok[node];
}

bool Engine::gpu_fits(int32_t node, int64_t milli) const {
  if (milli <= 0) return true;
  if (milli >= kGpuMilli) return whole_free_[node] >= milli / kGpuMilli;
  return share_free_[node] >= milli;
}

bool Engine::fits(int32_t node, const int64_t* req) const {
  const int64_t* f = &free_[static_cast<size_t>(node) * R_];
  for (int r = 0; r < R_; ++r) {
    if (req[r] > f[r]) return false;
  }
  return gpu_col_ < 0 || gpu_fits(node, req[gpu_col_]);
}

bool Engine::group_room(int32_t cid, int32_t node, int32_t delta) const {
  const Constraint& c = constraints_[cid];
  if (c.group < 0) return true;
  const int32_t* count = group_count_.find((static_cast<uint64_t>(c.group) << 32) | static_cast<uint32_t>(node));
  return (count == nullptr ? 0 : *count) + delta < c.max_per_node;
}

int64_t Engine::copies_that_fit(int32_t node, const int64_t* unit) const {
  return copies_in(&free_[static_cast<size_t>(node) * R_], &gpu_used_[gpu_offset_[node]], gpu_count_[node],
                   whole_free_[node], unit);
}

int64_t Engine::score_at(int32_t node, const int64_t* req) const {
  if (policy_.kind == PolicyKind::Fgd) return fgd_score(node, req);
  NodeView v{&cap_[static_cast<size_t>(node) * R_], &free_[static_cast<size_t>(node) * R_], node};
  return score_node(policy_, v, req, basic_.data(), R_);
}

// ---------------------------------------------------------------- nodes

void Engine::grow(int slots) {
  index_.reset(R_, scalars_, policy_scalar_keeps_max(policy_), narrow_scalars_, gpu_col_, gpu_conditions_, second_, second_thresholds_,
               slots, policy_reads_min_extremes(policy_));
  for (int i = 0; i < n_; ++i) {
    const int64_t* cap = &cap_[static_cast<size_t>(i) * R_];
    const int64_t* free = &free_[static_cast<size_t>(i) * R_];
    int64_t* sc = node_scalars_.data() + static_cast<size_t>(i) * scalars_;
    if (scalars_) policy_node_scalars(policy_, basic_.data(), R_, cap, free, sc);
    index_.set_leaf(pos_of_[i], LeafFacts{cap, free, sc, whole_free_[i], share_free_[i], live_[i] != 0});
  }
  index_.rebuild_all();
  const int leaves = index_.leaves();
  for (size_t cid = 0; cid < constraints_.size(); ++cid) {
    auto& e = constraints_[cid].eligible;
    e.assign(static_cast<size_t>(2 * leaves), 0);
    for (int i = 0; i < n_; ++i) e[leaves + pos_of_[i]] = eligible(static_cast<int32_t>(cid), i) ? 1 : 0;
    for (int v = leaves - 1; v >= 1; --v) e[v] = e[2 * v] + e[2 * v + 1];
  }
}

void Engine::scalar_columns(const int64_t* req, int m, int32_t* column, int32_t* which) {
  // The pair (condition, scalar) of each request first, so that the index adds every missing
  // column in one pass.
  std::vector<std::pair<int, int>> missing;
  std::vector<uint8_t> listed(static_cast<size_t>(index_.pair_slots()), 0);
  for (int i = 0; i < m; ++i) {
    const int64_t* q = req + static_cast<size_t>(i) * R_;
    which[i] = policy_scalar_index(policy_, basic_.data(), R_, q);
    column[i] = index_.condition(q);  // the condition until the columns are known
    const size_t slot = static_cast<size_t>(column[i]) * scalars_ + which[i];
    if (index_.column(column[i], which[i]) < 0 && !listed[slot]) {
      listed[slot] = 1;
      missing.emplace_back(column[i], which[i]);
    }
  }
  index_.add_columns(missing);
  for (int i = 0; i < m; ++i) column[i] = index_.column(column[i], which[i]);
}

void Engine::refresh_node(int32_t node) {
  int32_t whole = 0, share = 0;
  for (int k = 0; k < gpu_count_[node]; ++k) {
    const int32_t used = gpu_used_[gpu_offset_[node] + k];
    if (used == 0) ++whole;
    share = std::max<int32_t>(share, static_cast<int32_t>(kGpuMilli) - used);
  }
  whole_free_[node] = whole;
  share_free_[node] = share;
  const int64_t* cap = &cap_[static_cast<size_t>(node) * R_];
  const int64_t* free = &free_[static_cast<size_t>(node) * R_];
  int64_t* sc = node_scalars_.data() + static_cast<size_t>(node) * scalars_;
  if (scalars_) policy_node_scalars(policy_, basic_.data(), R_, cap, free, sc);
  index_.set_leaf(pos_of_[node], LeafFacts{cap, free, sc, whole, share, live_[node] != 0});
  index_.update_path(pos_of_[node]);
  fgd_refresh(node);
}

void Engine::refresh_eligibility(int32_t node) {
  const int leaves = index_.leaves();
  const int leaf = leaves + pos_of_[node];
  for (size_t cid = 0; cid < constraints_.size(); ++cid) {
    auto& e = constraints_[cid].eligible;
    const int32_t now = eligible(static_cast<int32_t>(cid), node) ? 1 : 0;
    if (e[leaf] == now) continue;
    e[leaf] = now;
    for (int v = leaf >> 1; v >= 1; v >>= 1) e[v] = e[2 * v] + e[2 * v + 1];
  }
}

int32_t Engine::add_node(const int64_t* cap, const int32_t* domains, const uint8_t* taint_ok,
                         const uint8_t* affinity_ok, int32_t gpu_model) {
  check_model(gpu_model, n_);
  for (int r = 0; r < R_; ++r) {
    if (cap[r] < 0 || cap[r] > kMaxQuantity) {
      throw ConfigError("capacity[" + s(r) + "]: must be in 0..2^62, got " + s(cap[r]));
    }
  }
  if (gpu_col_ >= 0 && (cap[gpu_col_] % kGpuMilli != 0 || cap[gpu_col_] / kGpuMilli > kMaxGpusPerNode)) {
    throw ConfigError("capacity[" + s(gpu_col_) + "]: GPU capacity is milli-GPUs, a multiple of 1000 up to " +
                      s(kMaxGpusPerNode * kGpuMilli) + ", got " + s(cap[gpu_col_]));
  }
  for (int l = 0; l < L_; ++l) {
    if (domains == nullptr || domains[l] < 0) throw ConfigError("topology[" + s(l) + "]: missing or negative domain id");
  }
  const int32_t node = n_;
  if (static_cast<size_t>(node) >= pos_of_.size()) {  // added after construction: next position
    pos_of_.push_back(node);
    node_at_.push_back(node);
  }
  ++n_;
  ++live_count_;
  cap_.insert(cap_.end(), cap, cap + R_);
  free_.insert(free_.end(), cap, cap + R_);
  for (int l = 0; l < L_; ++l) domains_.push_back(domains[l]);
  live_.push_back(1);
  cordoned_.push_back(0);
  const int gpus = gpu_col_ >= 0 ? static_cast<int>(cap[gpu_col_] / kGpuMilli) : 0;
  gpu_offset_.push_back(static_cast<int32_t>(gpu_used_.size()));
  gpu_count_.push_back(gpus);
  gpu_used_.insert(gpu_used_.end(), gpus, 0);
  whole_free_.push_back(0);
  share_free_.push_back(0);
  node_scalars_.resize(node_scalars_.size() + static_cast<size_t>(scalars_));
  model_.push_back(gpu_model);
  fgd_before_.push_back(0.0);
  node_stamp_.push_back(0);
  node_tasks_.emplace_back();
  node_min_priority_.push_back(INT64_MAX);
  for (size_t cid = 1; cid < constraints_.size(); ++cid) {
    constraints_[cid].taint_ok.push_back(taint_ok[cid] ? 1 : 0);
    constraints_[cid].affinity_ok.push_back(affinity_ok[cid] ? 1 : 0);
  }
  if (n_ > index_.leaves()) {
    grow(2 * index_.leaves());
  } else {
    for (auto& c : constraints_) {
      if (c.eligible.empty()) c.eligible.assign(static_cast<size_t>(2 * index_.leaves()), 0);
    }
  }
  refresh_node(node);
  refresh_eligibility(node);
  // Least/most allocated read the free fractions only where their scalar bound fails: a weighted
  // resource that some nodes have and others lack. Until such a node comes, the index skips them.
  for (int r = 0; r < R_; ++r) {
    if (policy_.weights[r] > 0) (cap[r] > 0 ? has_resource_ : lacks_resource_)[r] = 1;
  }
  bool mixed = false;
  for (int r = 0; r < R_; ++r) mixed = mixed || (has_resource_[r] && lacks_resource_[r]);
  const bool scalar_always = scalars_ > 0 && !mixed &&
                             (policy_.kind == PolicyKind::LeastAllocated || policy_.kind == PolicyKind::MostAllocated);
  index_.set_fractions(policy_reads_min_extremes(policy_) && !scalar_always);
  return node;
}

std::vector<int64_t> Engine::remove_node(int32_t node) {
  check_node(node);
  std::vector<int64_t> evicted;
  while (!node_tasks_[node].empty()) {
    const int32_t slot = node_tasks_[node].back();
    evicted.push_back(slots_[slot].id);
    unapply(slot);
  }
  live_[node] = 0;
  --live_count_;
  refresh_node(node);
  refresh_eligibility(node);
  return evicted;
}

void Engine::set_cordoned(int32_t node, bool cordoned) {
  check_node(node);
  cordoned_[node] = cordoned ? 1 : 0;
  refresh_eligibility(node);
}

// ---------------------------------------------------------------- constraints

int32_t Engine::add_constraint(const uint8_t* taint_ok, const uint8_t* affinity_ok, int32_t group,
                               int32_t max_per_node) {
  if (group < -1) throw ConfigError("group: invalid group id " + s(group));
  if (group >= 0 && max_per_node < 1) throw ConfigError("max_per_node: must be >= 1, got " + s(max_per_node));
  Constraint c;
  c.taint_ok.assign(taint_ok, taint_ok + n_);
  c.affinity_ok.assign(affinity_ok, affinity_ok + n_);
  c.group = group;
  c.max_per_node = max_per_node;
  const int leaves = index_.leaves();
  c.eligible.assign(static_cast<size_t>(2 * leaves), 0);
  constraints_.push_back(std::move(c));
  const int32_t cid = static_cast<int32_t>(constraints_.size() - 1);
  auto& e = constraints_.back().eligible;
  for (int i = 0; i < n_; ++i) e[leaves + pos_of_[i]] = eligible(cid, i) ? 1 : 0;
  for (int v = leaves - 1; v >= 1; --v) e[v] = e[2 * v] + e[2 * v + 1];
  return cid;
}

// ---------------------------------------------------------------- tasks

int32_t Engine::apply(int32_t node, const int64_t* req, int64_t id, int64_t priority, int32_t cid) {
  int32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<int32_t>(slots_.size());
    slots_.emplace_back();
    slot_req_.resize(slot_req_.size() + R_);
  }
  std::copy(req, req + R_, &slot_req_[static_cast<size_t>(slot) * R_]);
  // fgd takes the GPU of a share where fragmentation grows least (read before the node changes).
  int fgd_gpu = -1;
  if (policy_.kind == PolicyKind::Fgd && gpu_col_ >= 0 && req[gpu_col_] > 0 && req[gpu_col_] < kGpuMilli) {
    fgd_delta(node, req, &fgd_gpu);
  }
  int64_t* f = &free_[static_cast<size_t>(node) * R_];
  for (int r = 0; r < R_; ++r) f[r] -= req[r];
  TaskSlot& t = slots_[slot];
  t = TaskSlot{id, node, cid, priority, 0, -1, 0, static_cast<int32_t>(node_tasks_[node].size())};
  if (gpu_col_ >= 0 && req[gpu_col_] > 0) {
    int16_t* used = &gpu_used_[gpu_offset_[node]];
    const int64_t g = req[gpu_col_];
    if (g >= kGpuMilli) {  // lowest-index free GPUs
      int64_t need = g / kGpuMilli;
      for (int k = 0; k < gpu_count_[node] && need > 0; ++k) {
        if (used[k] == 0) {
          used[k] = static_cast<int16_t>(kGpuMilli);
          t.gpu_mask |= uint64_t{1} << k;
          --need;
        }
      }
    } else {  // tightest GPU that holds the share, lowest index on ties (fgd: its own choice)
      int best = fgd_gpu;
      for (int k = 0; k < gpu_count_[node] && fgd_gpu < 0; ++k) {
        if (used[k] + g <= kGpuMilli && (best < 0 || used[k] > used[best])) best = k;
      }
      used[best] = static_cast<int16_t>(used[best] + g);
      t.share_gpu = best;
      t.share_milli = static_cast<int32_t>(g);
    }
  }
  node_tasks_[node].push_back(slot);
  node_min_priority_[node] = std::min(node_min_priority_[node], priority);
  if (constraints_[cid].group >= 0) {
    ++group_count_.get_or_insert((static_cast<uint64_t>(constraints_[cid].group) << 32) | static_cast<uint32_t>(node), 0);
  }
  task_slot_.get_or_insert(id, slot);
  refresh_node(node);
  return slot;
}

void Engine::unapply(int32_t slot) {
  TaskSlot& t = slots_[slot];
  const int32_t node = t.node;
  const int64_t* req = &slot_req_[static_cast<size_t>(slot) * R_];
  int64_t* f = &free_[static_cast<size_t>(node) * R_];
  for (int r = 0; r < R_; ++r) f[r] += req[r];
  int16_t* used = gpu_count_[node] ? &gpu_used_[gpu_offset_[node]] : nullptr;
  for (int k = 0; k < gpu_count_[node]; ++k) {
    if (t.gpu_mask >> k & 1) used[k] = 0;
  }
  if (t.share_gpu >= 0) used[t.share_gpu] = static_cast<int16_t>(used[t.share_gpu] - t.share_milli);
  auto& list = node_tasks_[node];
  const int32_t moved = list.back();
  list[t.pos] = moved;
  slots_[moved].pos = t.pos;
  list.pop_back();
  if (t.priority == node_min_priority_[node]) {
    int64_t lowest = INT64_MAX;
    for (int32_t other : list) lowest = std::min(lowest, slots_[other].priority);
    node_min_priority_[node] = lowest;
  }
  const Constraint& c = constraints_[t.cid];
  if (c.group >= 0) {
    const uint64_t key = (static_cast<uint64_t>(c.group) << 32) | static_cast<uint32_t>(node);
    if (--*group_count_.find(key) == 0) group_count_.erase(key);
  }
  task_slot_.erase(t.id);
  free_slots_.push_back(slot);
  refresh_node(node);
}

void Engine::check_new_ids(const int64_t* ids, int m) const {
  bool increasing = true;
  for (int i = 0; i < m; ++i) {
    if (task_slot_.contains(ids[i])) throw ConfigError("ids[" + s(i) + "]: task id " + s(ids[i]) + " is already placed");
    if (i > 0 && ids[i] <= ids[i - 1]) increasing = false;
  }
  if (!increasing) {
    std::vector<int64_t> sorted(ids, ids + m);
    std::sort(sorted.begin(), sorted.end());
    const auto dup = std::adjacent_find(sorted.begin(), sorted.end());
    if (dup != sorted.end()) throw ConfigError("ids: task id " + s(*dup) + " appears twice in the batch");
  }
}

void Engine::assign(const int64_t* req, int m, const int64_t* ids, const int64_t* priority, const int32_t* cids,
                    const int32_t* nodes) {
  if (m < 0) throw ConfigError("requests: negative task count " + s(m));
  for (int i = 0; i < m; ++i) {
    check_request(req + static_cast<size_t>(i) * R_, "requests", i);
    check_cid(cids[i]);
    if (nodes[i] < 0 || nodes[i] >= n_ || !live_[nodes[i]]) {
      throw NotFoundError("nodes[" + s(i) + "]: unknown node index " + s(nodes[i]));
    }
  }
  check_new_ids(ids, m);
  // Place one by one; undo everything if a task does not fit where it is put.
  std::vector<int32_t> applied;
  for (int i = 0; i < m; ++i) {
    const int64_t* q = req + static_cast<size_t>(i) * R_;
    if (!fits(nodes[i], q) || !group_room(cids[i], nodes[i])) {
      for (auto it = applied.rbegin(); it != applied.rend(); ++it) unapply(*it);
      throw ConfigError("nodes[" + s(i) + "]: task " + s(ids[i]) + " does not fit on node " + s(nodes[i]));
    }
    applied.push_back(apply(nodes[i], q, ids[i], priority[i], cids[i]));
  }
}

void Engine::place_batch(const int64_t* req, int m, const int64_t* ids, const int64_t* priority,
                         const int32_t* cids, int32_t* out_nodes) {
  if (m < 0) throw ConfigError("requests: negative task count " + s(m));
  // Validate everything first: a rejected call changes nothing.
  for (int i = 0; i < m; ++i) {
    check_request(req + static_cast<size_t>(i) * R_, "requests", i);
    check_cid(cids[i]);
  }
  check_new_ids(ids, m);
  task_slot_.reserve(task_slot_.size() + static_cast<size_t>(m));
  // Room for every task of the batch at once, so the task table grows by one copy, not by doublings.
  if (free_slots_.size() < static_cast<size_t>(m)) {
    const size_t want = slots_.size() + static_cast<size_t>(m) - free_slots_.size();
    if (want > slots_.capacity()) {  // at least doubling, so one-task batches stay amortised O(1)
      const size_t cap = std::max(want, 2 * slots_.capacity());
      slots_.reserve(cap);
      slot_req_.reserve(cap * static_cast<size_t>(R_));
    }
  }
  // The index column each search bounds its request with (none without policy scalars).
  std::vector<int32_t> column(static_cast<size_t>(m), -1), which(static_cast<size_t>(m), 0);
  if (scalars_ > 0) scalar_columns(req, m, column.data(), which.data());
  for (int i = 0; i < m; ++i) {
    const int64_t* q = req + static_cast<size_t>(i) * R_;
    const int32_t node = find_best(q, cids[i], column[i], which[i]);
    out_nodes[i] = node;
    if (node >= 0) apply(node, q, ids[i], priority[i], cids[i]);
  }
}

void Engine::release(const int64_t* ids, int m) {
  std::vector<int32_t> slots(static_cast<size_t>(m));
  for (int i = 0; i < m; ++i) {
    const int32_t* slot = task_slot_.find(ids[i]);
    if (slot == nullptr) throw NotFoundError("ids[" + s(i) + "]: unknown task id " + s(ids[i]));
    slots[i] = *slot;
  }
  std::vector<int32_t> sorted = slots;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
    throw ConfigError("ids: a task id appears twice in the release");
  }
  for (int32_t slot : slots) unapply(slot);
}

// ---------------------------------------------------------------- queries

void Engine::allocated(int64_t* out) const {
  for (size_t k = 0; k < cap_.size(); ++k) out[k] = cap_[k] - free_[k];
}

TaskInfo Engine::task(int64_t id) const {
  const int32_t* slot = task_slot_.find(id);
  if (slot == nullptr) throw NotFoundError("id: unknown task id " + s(id));
  const TaskSlot& t = slots_[*slot];
  return TaskInfo{t.id, t.node, t.priority, t.gpu_mask, t.share_gpu, t.share_milli};
}

void Engine::task_table(int64_t* ids, int32_t* nodes) const {
  size_t k = 0;
  for (int32_t node = 0; node < n_; ++node) {
    for (int32_t slot : node_tasks_[node]) {
      ids[k] = slots_[slot].id;
      nodes[k] = node;
      ++k;
    }
  }
}

std::vector<int32_t> Engine::gpu_used(int32_t node) const {
  check_node(node);
  std::vector<int32_t> out(static_cast<size_t>(gpu_count_[node]));
  for (int k = 0; k < gpu_count_[node]; ++k) out[k] = gpu_used_[gpu_offset_[node] + k];
  return out;
}

void Engine::scores(const int64_t* req, int32_t cid, int64_t* out) const {
  check_request(req, "request", 0);
  check_cid(cid);
  for (int32_t i = 0; i < n_; ++i) {
    out[i] = (eligible(cid, i) && fits(i, req) && group_room(cid, i)) ? score_at(i, req) : INT64_MIN;
  }
}

std::vector<std::pair<int, int64_t>> Engine::explain(const int64_t* req, int32_t cid) const {
  check_request(req, "request", 0);
  check_cid(cid);
  const Constraint& c = constraints_[cid];
  std::vector<int64_t> counts(static_cast<size_t>(kInsufficientBase + R_), 0);
  for (int32_t i = 0; i < n_; ++i) {
    if (!live_[i]) continue;
    // kube-scheduler stops at the first filter that fails, in this order.
    if (cordoned_[i]) { ++counts[kUnschedulable]; continue; }
    if (cid != 0 && !c.taint_ok[i]) { ++counts[kTaint]; continue; }
    if (cid != 0 && !c.affinity_ok[i]) { ++counts[kAffinity]; continue; }
    bool short_of_any = false;
    const int64_t* f = &free_[static_cast<size_t>(i) * R_];
    for (int r = 0; r < R_; ++r) {
      const bool short_here = req[r] > f[r] || (r == gpu_col_ && !gpu_fits(i, req[r]));
      if (short_here) { ++counts[kInsufficientBase + r]; short_of_any = true; }
    }
    if (short_of_any) continue;
    if (!group_room(cid, i)) ++counts[kAntiAffinity];
  }
  std::vector<std::pair<int, int64_t>> out;
  for (size_t k = 0; k < counts.size(); ++k) {
    if (counts[k]) out.emplace_back(static_cast<int>(k), counts[k]);
  }
  return out;
}

}  // namespace aios::placement
