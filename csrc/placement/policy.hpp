// Placement policies: each is an integer score over feasible nodes (higher wins; ties go to the
// node with the smaller seeded tie key). Scores are exact: integer arithmetic where kube-scheduler
// uses integers, IEEE doubles in a fixed order where it uses floats, so the Python reference
// (aios_core._reference) reproduces every score bit for bit.
#pragma once
#include <algorithm>
#include <climits>
#include <cstdint>
#include <string>
#include <vector>

namespace aios::placement {

enum class PolicyKind : int {
  FirstFit = 0,           // lowest node index
  // least normalized leftover, in ppm: -sum_r w_r * (floor(free_r * 1e6 / cap_r) - floor(req_r * 1e6 / cap_r))
  BestFit = 1,
  WorstFit = 2,           // most normalized leftover: the same sum with a plus sign
  LeastAllocated = 3,     // kube-scheduler NodeResourcesFit LeastAllocated
  MostAllocated = 4,      // kube-scheduler NodeResourcesFit MostAllocated
  RequestedToCapacityRatio = 5,  // kube-scheduler RequestedToCapacityRatio (broken-linear shape)
  BalancedAllocation = 6,        // kube-scheduler NodeResourcesBalancedAllocation (classic score)
  DotProduct = 7,         // Tetris alignment: int64(1e9 * sum_r w_r * (req_r/cap_r) * (free_r/cap_r))
  // Fragmentation Gradient Descent (Weng et al., ATC'23): -floor(1000 * delta + 0.5) where delta is
  // the growth of the node's expected unusable GPU capacity F_n(M) (binpack/fragmentation.hpp) in
  // milli-GPU, floored to steps of FgdWorkload::resolution when that is set; the engine computes it
  // (it needs per-GPU state), score_node returns 0.
  Fgd = 8,
};

struct ShapePoint {
  int64_t utilization;  // 0..100, strictly increasing
  int64_t score;        // 0..10 as configured; scaled by 10 internally as kube-scheduler does
};

// Largest FgdWorkload::resolution: 64 whole GPUs, the most one node can hold.
constexpr int64_t kMaxFgdResolution = 64000;

// FGD's workload M: task classes with popularity, and which resources are cpu and memory.
struct FgdWorkload {
  int cpu_column = -1, memory_column = -1;  // -1: the cluster has no such resource (class values 0)
  std::vector<int64_t> cpu, memory, gpu;     // per class; gpu in total milli-GPU
  std::vector<uint64_t> model_mask;          // per class: bit i = GPU model id i allowed, 0 = any
  std::vector<double> popularity;            // per class, finite, >= 0, positive sum
  // Score step in milli-GPU: 0 compares growths to 1e-3 milli-GPU; r > 0 makes growths in the same
  // step [k r, (k + 1) r) tie (the seeded node order then decides), so a fall never ties a rise.
  int64_t resolution = 0;
};

struct Policy {
  PolicyKind kind = PolicyKind::BestFit;
  std::vector<int64_t> weights;  // one per resource, >= 0; 0 leaves the resource out of the score
  std::vector<ShapePoint> shape; // RequestedToCapacityRatio only
  FgdWorkload fgd;               // Fgd only
};

// Throws ConfigError on bad weights or shape. `resources` is the number of resources.
void validate_policy(const Policy& policy, int resources);

// Per-resource facts of one node that every score reads.
struct NodeView {
  const int64_t* cap;
  const int64_t* free;  // before the task is placed
  int32_t index;
};

// The exact score of placing `req` on a node that can hold it. `basic[r]` marks resources that
// kube-scheduler scores even when the pod does not request them (cpu, memory, ephemeral-storage).
int64_t score_node(const Policy& policy, const NodeView& node, const int64_t* req,
                   const uint8_t* basic, int resources);

// Aggregates of a set of nodes, per resource, that bound every score over the set.
struct SetBounds {
  const int64_t* min_free;
  const int64_t* max_free;
  const int64_t* min_pos_cap;   // smallest positive capacity (INT64_MAX if none)
  const int64_t* max_cap;
  const double* min_free_frac;  // over nodes with capacity > 0
  const double* max_free_frac;
  const uint8_t* has_zero_cap;  // some node in the set has capacity 0 for the resource
  const int64_t* scalar;        // policy scalars aggregated over the nodes that meet the request's
                                // GPU condition: the minimum for best_fit, the maximum otherwise
  int32_t min_index;
};

// Per-node scalars whose extremes over a set bound a policy's score tightly; 0 when the policy
// has none. best/worst fit: the weighted free ppm; least/most allocated: the weighted free/used
// percentages, one per subset of the non-basic weighted resources a request may ask for;
// most_allocated's in units of 1/kFineUnits percent (see kFineUnits).
int policy_scalar_count(const Policy& policy, const uint8_t* basic, int resources);
// most_allocated's scalar unit. Whole percents floored per resource would make the bound round
// each request's term up (floor(u) + ceil(q) >= floor(u + q)), by up to a point per resource, and
// many nodes that only tie would look better; in fine units the bound is the weighted mean of
// u + q to within wsum / kFineUnits, which cuts such subtrees (at 100,000 nodes a search visits a
// third fewer vertices).
constexpr int64_t kFineUnits = 4096;
bool policy_scalar_keeps_max(const Policy& policy);
// Whether score_upper_bound may read a set's min_free or free fractions: not first/best/worst
// fit (their scalar bound always applies) nor fgd (no bound).
bool policy_reads_min_extremes(const Policy& policy);
// Which of the node scalars the bound of `req` reads (the subset mask of least/most allocated).
int policy_scalar_index(const Policy& policy, const uint8_t* basic, int resources, const int64_t* req);
void policy_node_scalars(const Policy& policy, const uint8_t* basic, int resources, const int64_t* cap,
                         const int64_t* free, int64_t* out);

// Request terms of the scalar bounds that depend only on the set's capacities; one search reuses
// them while consecutive sets have the same capacity extremes (always, on a uniform cluster).
struct BoundCache {
  bool valid = false;
  int64_t min_pos_cap[64], max_cap[64];
  uint8_t has_zero[64];
  bool usable = false;  // the scalar bound applies to sets with these capacities
  int64_t term = 0;     // best_fit: +B_max; worst_fit: -B_min; least/most: the request term
  int64_t wsum = 0;     // least/most: the weight sum
  int64_t div = 1;      // least/most: the bound is (scalar + term) / div
};

// An upper bound (as a real) on score_node over every feasible node of the set.
// A cheap bound below `enough` is returned as soon as it is known (the caller prunes on it).
double score_upper_bound(const Policy& policy, const SetBounds& set, const int64_t* req,
                         const uint8_t* basic, int resources, BoundCache* cache = nullptr,
                         int64_t enough = INT64_MIN);

// floor(x / d) for x >= 0, d > 0, a quotient below 2^40 and (x / d + 2) * d < 2^63: a
// multiplication by inv_d = 1.0 / d (its relative error is far below 1 / quotient), corrected to
// the exact quotient; a division costs several times more on the search's path.
inline int64_t fast_div(int64_t x, int64_t d, double inv_d) {
  int64_t q = static_cast<int64_t>(static_cast<double>(x) * inv_d);  // off by at most one
  q -= q * d > x;
  q += (q + 1) * d <= x;
  return q;
}

// The scalar and exact bounds of score_upper_bound for one request, prepared once per search, for
// sets whose nodes all have the same capacities (a uniform cluster): best/worst fit and
// least/most allocated. Same values, without per-set setup or divisions.
struct FastBound {
  bool ok = false;
  PolicyKind kind = PolicyKind::BestFit;
  int64_t term = 0, wsum = 0, div = 1;
  double inv_wsum = 0.0, inv_div = 0.0;
  int n = 0;  // resources the score reads, and per such resource:
  int res[64];
  int64_t cap[64], req[64], w[64];
  double inv_cap[64];
  double inv_cap_up[64], inv_wsum_up = 0.0;  // the inverses raised by 2^-40: products never fall short
  // The scalar bound, from the set's policy scalar.
  int64_t scalar(int64_t set_scalar) const {
    if (kind == PolicyKind::BestFit) return term - set_scalar;
    if (kind == PolicyKind::WorstFit) return set_scalar + term;
    const int64_t x = set_scalar + term;
    if (wsum == 0) return 0;
    return x >= 0 ? fast_div(x, div, inv_div) : x / div;
  }
  // most_allocated's exact bound below for an inner vertex, where any upper bound will do: each
  // division a multiplication by an inverse raised enough (2^-40, far above the doubles' error)
  // that no quotient falls short, without fast_div's correction steps; at most a point higher.
  int64_t exact_upper(const int64_t* min_free) const {
    int64_t sum = 0;
    for (int i = 0; i < n; ++i) {
      const int64_t used = cap[i] - std::max<int64_t>(min_free[res[i]] - req[i], 0);
      sum += w[i] * static_cast<int64_t>(static_cast<double>(used * 100) * inv_cap_up[i]);
    }
    return static_cast<int64_t>(static_cast<double>(sum) * inv_wsum_up);
  }
  // least/most allocated: the exact bound from the set's free extremes (score_node on
  // uniform_bound's virtual node); at a leaf, the node's score.
  int64_t exact(const int64_t* min_free, const int64_t* max_free) const {
    int64_t sum = 0;
    if (kind == PolicyKind::MostAllocated) {  // the least free amount there may be after placing
      for (int i = 0; i < n; ++i) {
        const int64_t used = cap[i] - std::max<int64_t>(min_free[res[i]] - req[i], 0);
        sum += w[i] * fast_div(used * 100, cap[i], inv_cap[i]);  // MaxNodeScore = 100
      }
    } else {  // least allocated: the most
      for (int i = 0; i < n; ++i) {
        const int64_t left = std::max<int64_t>(max_free[res[i]] - req[i], 0);
        sum += w[i] * fast_div(left * 100, cap[i], inv_cap[i]);
      }
    }
    return wsum == 0 ? 0 : fast_div(sum, wsum, inv_wsum);
  }
};

// `cap`: the capacities of every node (0 where a node has none of a resource). False (and out->ok
// false) when the policy has no fast bound or the capacities are too large for it.
// The request terms of recent (request, capacities) pairs: a batch repeats a few request shapes,
// and each term costs wide divisions per resource. Direct-mapped; a slot is overwritten on a clash.
struct TermMemo {
  static constexpr int kSlots = 256;
  static constexpr int kMaxResources = 8;  // wider requests are not memoized
  struct Slot {
    bool valid = false;
    bool usable = false;
    int64_t key[2 * kMaxResources];  // the request, then the capacities (read only where valid)
    int64_t term = 0, wsum = 0, div = 1;
  };
  std::vector<Slot> slots = std::vector<Slot>(kSlots);
};

bool prepare_fast_bound(const Policy& policy, const int64_t* cap, const int64_t* req, const uint8_t* basic,
                        int resources, FastBound* out, TermMemo* memo = nullptr);

const char* policy_name(PolicyKind kind);
PolicyKind policy_from_name(const std::string& name);

}  // namespace aios::placement
