// Engine: the stateful placement engine. It owns node capacities and allocations, per-GPU share
// state, the running tasks, compiled constraints and a FreeIndex, and answers place / release /
// gang / preempt / explain. Every public call validates its whole input first and either completes
// or throws with all state unchanged.
//
// Complexity (n nodes, R resources, C constraints, m tasks in a call, L topology levels):
//   place_batch     O(m (R log n)) for common requests (branch and bound over FreeIndex; the worst
//                   case, e.g. a tie-free score whose bounds are loose, degrades towards O(m n R))
//                   fgd: O(m f) per call for f feasible nodes (no score bound: every feasible node is
//                   scored), plus O(k G^2) per node score recomputed (k workload classes, G GPUs per
//                   node); scores are cached per request shape (cpu, memory, GPU) and node until the
//                   node changes, so a recomputation follows only a change of that node. Every node
//                   change (place, release, add) also recomputes the node's F(M): O(k G)
//   release         O(m (R log n + C log n))
//   place_gang      O(n (R + L) + m R log n)  (one pass over the domain's nodes)
//   preempt         O(n R + V log V)  for V lower-priority tasks on the candidate nodes
//   explain, scores O(n R)  (fgd scores: plus the score recomputations described above)
//   add_node        O(C log n + R log n), amortised; remove_node O(t + C log n) for t tasks there
//   add_constraint  O(n)
#pragma once
#include <algorithm>
#include <climits>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/flat_map.hpp"
#include "placement/free_index.hpp"
#include "placement/policy.hpp"

namespace aios::placement {

uint64_t tie_hash(uint64_t seed, int64_t node);

constexpr int64_t kGpuMilli = 1000;
constexpr int kMaxGpusPerNode = 64;
constexpr int kMaxResources = 64;
constexpr int64_t kMaxQuantity = int64_t{1} << 62;

enum class GangStrategy : int { Pack = 0, Spread = 1, StrictPack = 2, StrictSpread = 3 };

// Reason codes of explain(); kInsufficientBase + r means "Insufficient <resource r>".
enum Reason : int {
  kUnschedulable = 0,   // node(s) were unschedulable (cordoned)
  kTaint = 1,           // node(s) had untolerated taint(s)
  kAffinity = 2,        // node(s) didn't match Pod's node affinity/selector
  kAntiAffinity = 3,    // node(s) didn't match pod anti-affinity rules (group limit per node)
  kInsufficientBase = 100,
};

struct ClusterArrays {
  int nodes = 0;
  int resources = 0;
  const int64_t* capacity = nullptr;  // [nodes, resources]
  const uint8_t* basic = nullptr;     // [resources]: scored by kube policies even when not requested
  int gpu_column = -1;                // resource holding milli-GPUs, or -1
  int levels = 0;                     // topology levels, top first
  const int32_t* domains = nullptr;   // [nodes, levels] domain id per level, nested
  const int32_t* gpu_model = nullptr; // [nodes] GPU model id 0..63 or -1 (read by fgd); null: all -1
};

struct Victims {
  int32_t node = -1;                  // where the preemptor would go; -1 when nothing helps
  std::vector<int64_t> task_ids;      // tasks to evict (empty when it already fits)
  std::vector<int32_t> task_nodes;
};

struct TaskInfo {
  int64_t id;
  int32_t node;
  int64_t priority;
  uint64_t gpu_mask;     // whole GPUs held
  int32_t share_gpu;     // GPU of a share, or -1
  int32_t share_milli;
};

class Engine {
 public:
  Engine(const ClusterArrays& cluster, const Policy& policy, uint64_t seed);

  int resources() const { return R_; }
  int node_slots() const { return n_; }
  int live_nodes() const { return live_count_; }
  int levels() const { return L_; }
  const Policy& policy() const { return policy_; }

  // --- nodes ---
  // taint_ok / affinity_ok hold one flag per existing constraint. Returns the new node index.
  int32_t add_node(const int64_t* cap, const int32_t* domains, const uint8_t* taint_ok,
                   const uint8_t* affinity_ok, int32_t gpu_model = -1);
  // Releases every task on the node and returns their ids (so the caller can requeue them).
  std::vector<int64_t> remove_node(int32_t node);
  void set_cordoned(int32_t node, bool cordoned);
  bool is_live(int32_t node) const;
  bool is_cordoned(int32_t node) const;

  // --- constraints: static node filters compiled once; a task refers to one by id ---
  int32_t add_constraint(const uint8_t* taint_ok, const uint8_t* affinity_ok, int32_t group,
                         int32_t max_per_node);
  int constraint_count() const { return static_cast<int>(constraints_.size()); }

  // --- tasks ---
  // req [m, R]; ids, priority, cids [m]; writes the node per task, -1 where it did not fit.
  void place_batch(const int64_t* req, int m, const int64_t* ids, const int64_t* priority,
                   const int32_t* cids, int32_t* out_nodes);
  // Places tasks on the given nodes (decided elsewhere, or running before a restart): all or
  // nothing, every task must fit where it is put (ConfigError naming the first that does not).
  void assign(const int64_t* req, int m, const int64_t* ids, const int64_t* priority, const int32_t* cids,
              const int32_t* nodes);
  void release(const int64_t* ids, int m);
  // All-or-nothing gang: at least min_count members placed or none. level = -1 for no topology.
  // Returns true if placed; out_nodes gets -1 for members left out (only when min_count < m).
  bool place_gang(const int64_t* req, int m, const int64_t* ids, int64_t priority, int32_t cid,
                  int min_count, GangStrategy strategy, int level, bool required, int32_t* out_nodes);
  // Members shaped like `unit` (constraint cid) that the node takes now, as place_gang counts them.
  int64_t member_capacity(int32_t node, const int64_t* unit, int32_t cid) const {
    return member_copies(node, unit, cid, GangStrategy::Pack);
  }
  // Members shaped like `unit` that would fit on the node once every task of priority below
  // `priority` were gone (0 where cid may not go; group limits not counted): what a preemption
  // for such members can get there at most.
  int64_t capacity_after_eviction(int32_t node, const int64_t* unit, int64_t priority, int32_t cid) const;
  int32_t constraint_group(int32_t cid) const { return constraints_[cid].group; }
  // Victims of strictly lower priority whose eviction lets the request (a task, or a gang when
  // m > 1) fit. Changes nothing unless evict is true.
  // `only` (one flag per node slot; a single task without a topology level) limits the search to
  // those nodes, for a caller that knows the others cannot help.
  Victims preempt(const int64_t* req, int m, int64_t priority, int32_t cid, int level, bool evict,
                  const std::vector<uint8_t>* only = nullptr);

  // --- queries ---
  std::vector<std::pair<int, int64_t>> explain(const int64_t* req, int32_t cid) const;
  void scores(const int64_t* req, int32_t cid, int64_t* out) const;  // INT64_MIN where infeasible
  const std::vector<int64_t>& capacity() const { return cap_; }
  void allocated(int64_t* out) const;  // [n_, R]
  int64_t task_count() const { return static_cast<int64_t>(task_slot_.size()); }
  TaskInfo task(int64_t id) const;
  void task_table(int64_t* ids, int32_t* nodes) const;  // task_count() entries
  std::vector<int32_t> gpu_used(int32_t node) const;    // milli-GPU used per physical GPU
  // FreeIndex vertices the searches have visited so far (a measure of the index's pruning).
  uint64_t search_visits() const { return visits_; }

 private:
  struct Constraint {
    std::vector<uint8_t> taint_ok, affinity_ok;  // per node slot
    int32_t group = -1;
    int32_t max_per_node = 0;
    std::vector<int32_t> eligible;  // per FreeIndex vertex: eligible live nodes below it (by position)
  };
  struct TaskSlot {
    int64_t id;
    int32_t node;
    int32_t cid;
    int64_t priority;
    uint64_t gpu_mask;
    int32_t share_gpu;
    int32_t share_milli;
    int32_t pos;  // position in node_tasks_[node]
  };

  // validation
  void check_request(const int64_t* req, const char* what, int row) const;
  void check_cid(int32_t cid) const;
  void check_node(int32_t node) const;
  void check_new_ids(const int64_t* ids, int m) const;

  // per-node facts
  bool eligible(int32_t cid, int32_t node) const;
  bool fits(int32_t node, const int64_t* req) const;
  bool gpu_fits(int32_t node, int64_t milli) const;
  // delta: tasks of the group added (+) or removed (-) on the node by a preemption in progress
  bool group_room(int32_t cid, int32_t node, int32_t delta = 0) const;
  int64_t copies_that_fit(int32_t node, const int64_t* unit) const;
  // Copies of `unit` that fit in free capacity f with per-GPU use `used` (G GPUs, `whole` of them
  // idle); 2^40 when the unit asks for nothing.
  template <typename U>
  int64_t copies_in(const int64_t* f, const U* used, int G, int64_t whole, const int64_t* unit) const {
    int64_t copies = INT64_MAX;
    for (int r = 0; r < R_; ++r) {
      if (r != gpu_col_ && unit[r] > 0) copies = std::min(copies, f[r] / unit[r]);
    }
    const int64_t g = gpu_col_ >= 0 ? unit[gpu_col_] : 0;
    if (g >= kGpuMilli) {
      copies = std::min<int64_t>(copies, whole / (g / kGpuMilli));
    } else if (g > 0) {
      int64_t shares = 0;
      for (int k = 0; k < G; ++k) shares += (kGpuMilli - used[k]) / g;
      copies = std::min(copies, shares);
    }
    return copies == INT64_MAX ? int64_t{1} << 40 : copies;
  }
  // Members shaped like `unit` that the node takes for a gang: fit, group limit, strategy.
  int64_t member_copies(int32_t node, const int64_t* unit, int32_t cid, GangStrategy strategy) const;
  int64_t score_at(int32_t node, const int64_t* req) const;

  // fgd (fgd.cpp): the workload-weighted fragmentation sum_m p_m F_n(m) of a node state, the score
  // of a request on a node (cached), and the GPU a share takes (least growth, lower index on ties).
  double fgd_weighted(int32_t node, const int64_t* gpu_free, int64_t cpu_free, int64_t mem_free) const;
  double fgd_delta(int32_t node, const int64_t* req, int* share_gpu) const;
  int64_t fgd_score(int32_t node, const int64_t* req) const;
  void fgd_refresh(int32_t node);

  // state changes
  int32_t apply(int32_t node, const int64_t* req, int64_t id, int64_t priority, int32_t cid);
  void unapply(int32_t slot);
  void refresh_node(int32_t node);
  void refresh_eligibility(int32_t node);
  void grow(int slots);

  // search
  // `column`: the index column holding the policy scalar `which` that bounds `req` (-1: none).
  int32_t find_best(const int64_t* req, int32_t cid, int column, int which);
  // Per request of a batch: the column and scalar of its bound, columns kept from now on.
  void scalar_columns(const int64_t* req, int m, int32_t* column, int32_t* which);
  bool place_gang_in(const std::vector<int32_t>& nodes, const int64_t* req, int m,
                     const int64_t* ids, int64_t priority, int32_t cid, int min_count,
                     GangStrategy strategy, int level, int32_t* out_nodes);
  // A gang preemption in progress: per node it touched, the free capacity and GPU use after the
  // victims chosen so far left and the members chosen so far arrived. The engine itself does not
  // change until the answer is known, so nothing has to be copied or undone.
  struct PreemptScratch {
    struct Node {
      int32_t node;
      std::vector<int64_t> free;
      std::vector<int32_t> used;     // milli-GPU per physical GPU
      std::vector<int32_t> evicted;  // task slots
      int32_t group_delta = 0;       // change in tasks of the preemptor's group
    };
    std::vector<int32_t> at;  // per node slot: index into nodes, or -1
    std::vector<Node> nodes;
    const Node* find(int32_t node) const { return at[node] < 0 ? nullptr : &nodes[at[node]]; }
  };
  Victims preempt_one(const int64_t* req, int64_t priority, int32_t cid, const std::vector<uint8_t>* allowed,
                      const PreemptScratch* scratch) const;
  PreemptScratch::Node node_state(int32_t node) const;
  PreemptScratch::Node& scratch_node(PreemptScratch& s, int32_t node) const;
  void scratch_evict(PreemptScratch::Node& s, int32_t slot, int32_t cid) const;
  void scratch_place(PreemptScratch::Node& s, const int64_t* req, int32_t cid) const;
  // Victims for a gang's members placed one by one (in `order`) within the `allowed` nodes, each
  // evicting what it needs; false when some member finds no node.
  bool gang_victims(const int64_t* req, const std::vector<int>& order, int64_t priority, int32_t cid,
                    const std::vector<uint8_t>& allowed, Victims& got, int64_t& max_priority,
                    int64_t& priority_sum) const;
  uint64_t tie_key(int32_t node) const;
  std::vector<std::vector<int32_t>> domain_nodes(int level) const;
  int32_t pos(int32_t node) const { return pos_of_[node]; }

  int R_ = 0, n_ = 0, L_ = 0, gpu_col_ = -1, live_count_ = 0;
  uint64_t seed_ = 0;
  Policy policy_;
  std::vector<uint8_t> basic_;
  std::vector<int64_t> cap_, free_;
  std::vector<int32_t> domains_;
  std::vector<uint8_t> live_, cordoned_;
  std::vector<int32_t> pos_of_, node_at_;  // seeded order of nodes: the FreeIndex leaf order and tie rule
  int scalars_ = 0;
  std::vector<int32_t> gpu_conditions_;  // conditions the FreeIndex keeps scalars for (engine.cpp)
  int second_ = -1;
  bool narrow_scalars_ = false;
  std::vector<int64_t> second_thresholds_;
  std::vector<uint8_t> has_resource_, lacks_resource_;  // per resource: some node added with / without it
  std::vector<int64_t> node_scalars_;  // [node, scalars_]: the policy scalars of each node
  std::vector<int32_t> gpu_offset_, gpu_count_;
  std::vector<int16_t> gpu_used_;  // milli used per physical GPU, flat
  std::vector<int32_t> whole_free_, share_free_;
  std::vector<std::vector<int32_t>> node_tasks_;  // task slots per node
  std::vector<int64_t> node_min_priority_;        // lowest task priority per node (INT64_MAX: none)
  std::vector<Constraint> constraints_;
  std::vector<TaskSlot> slots_;
  std::vector<int32_t> free_slots_;
  std::vector<int64_t> slot_req_;  // [slot, R]
  FlatMap<int64_t, int32_t> task_slot_;
  FlatMap<uint64_t, int32_t> group_count_;  // (group << 32 | node) -> tasks
  FreeIndex index_;
  mutable uint64_t visits_ = 0;
  int32_t last_best_ = -1;  // the node the last search chose (its first incumbent)
  TermMemo term_memo_;       // prepare_fast_bound's request terms by request shape
  // fgd state: node models, each node's current weighted F, and the score cache. A cache entry of
  // (request shape, node) is valid while its stamp equals the node's stamp, which every change renews.
  struct FgdCacheEntry {
    std::vector<int64_t> score;
    std::vector<uint32_t> stamp;
  };
  std::vector<int32_t> model_;
  std::vector<double> fgd_before_;
  double fgd_psum_ = 0.0;
  std::vector<uint32_t> node_stamp_;
  uint32_t stamp_clock_ = 0;
  struct FgdKey {
    int64_t cpu, mem, gpu;
    bool operator==(const FgdKey& o) const { return cpu == o.cpu && mem == o.mem && gpu == o.gpu; }
  };
  struct FgdKeyHash {
    size_t operator()(const FgdKey& k) const {
      return static_cast<size_t>(tie_hash(static_cast<uint64_t>(k.cpu) * 31 + static_cast<uint64_t>(k.mem), k.gpu));
    }
  };
  // A copy of the engine (preemption's scratch) starts with an empty cache: it refills lazily.
  struct FgdCache {
    std::unordered_map<FgdKey, FgdCacheEntry, FgdKeyHash> map;
    FgdCache() = default;
    FgdCache(const FgdCache&) {}
    FgdCache& operator=(const FgdCache&) {
      map.clear();
      return *this;
    }
  };
  mutable FgdCache fgd_cache_;
};

uint64_t tie_hash(uint64_t seed, int64_t node);

}  // namespace aios::placement
