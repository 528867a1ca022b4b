// Hierarchical DRF over a tree of queues (weights per node; leaves hold per-task demands).
// Progressive filling level by level, as Volcano's hierarchical drf compares share / weight at each
// level: from the root, repeatedly step into the child with the lowest weighted dominant share of
// its whole subtree's allocation (ties: lower node index) until a leaf; give that leaf one task. A
// leaf whose next task does not fit (or that reached its limit) drops out, and an inner node drops
// out when all its children have (the blocked-leaf rule of H-DRF, Bhattacharya et al. SoCC'13, that
// keeps the allocation non-wasteful).
//
// Complexity (n nodes, R resources, depth D, largest fan-out c, T tasks handed out):
//   hdrf_tasks  O(n R + T D (R + log c)) time, O(n R) extra memory
#pragma once
#include <cstdint>

namespace aios::fairshare {

struct HdrfProblem {
  int nodes = 0;
  int resources = 0;
  const int64_t* capacity = nullptr;  // [R], > 0
  const int32_t* parent = nullptr;    // [n], -1 for the single root
  const double* weights = nullptr;    // [n], finite and > 0
  const int64_t* demands = nullptr;   // [n, R]: leaves' per-task demand (not all zero); inner rows zero
  const int64_t* limits = nullptr;    // [n], max tasks per leaf, -1 unlimited
};

// Tasks per node (leaves; inner nodes get 0).
void hdrf_tasks(const HdrfProblem& p, int64_t* out);

}  // namespace aios::fairshare
