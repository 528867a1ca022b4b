// Placement policies: each is an integer score over feasible nodes (higher wins; ties go to the
// node with the smaller seeded tie key). Scores are exact: integer arithmetic where kube-scheduler
// uses integers, IEEE doubles in a fixed order where it uses floats, so the Python reference
// (aios_core._reference) reproduces every score bit for bit.
#pragma once
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
// percentages, one per subset of the non-basic weighted resources a request may ask for.
int policy_scalar_count(const Policy& policy, const uint8_t* basic, int resources);
bool policy_scalar_keeps_max(const Policy& policy);
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
};

// An upper bound (as a real) on score_node over every feasible node of the set.
// A cheap bound below `enough` is returned as soon as it is known (the caller prunes on it).
double score_upper_bound(const Policy& policy, const SetBounds& set, const int64_t* req,
                         const uint8_t* basic, int resources, BoundCache* cache = nullptr,
                         int64_t enough = INT64_MIN);

const char* policy_name(PolicyKind kind);
PolicyKind policy_from_name(const std::string& name);

}  // namespace aios::placement
