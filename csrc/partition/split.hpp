// Exact minimum-bottleneck split of a chain of non-negative layer costs into k contiguous,
// non-empty stages. Unlike DeepSpeed's partition_balanced and torchgpipe's block partition
// (heuristics), the bottleneck returned is the true optimum.
#pragma once
#include <cstdint>
#include <vector>

namespace aios::partition {

struct SplitResult {
  double bottleneck = 0.0;             // max stage cost of the optimal split
  std::vector<int64_t> boundaries;     // k + 1 entries; stage s owns [boundaries[s], boundaries[s+1])
};

// costs: n finite values >= 0; 1 <= k <= n. Throws aios::ConfigError otherwise.
// Bottleneck: DP B(j, s) = min_i max(B(i, s-1), P_j - P_i), where B(., s-1) is non-decreasing and
// P_j - P_i non-increasing in i, so the best i is found by binary search at the crossing.
// Boundaries (canonical among optimal splits): each stage, left to right, takes as many layers as
// fit under the bottleneck while leaving one layer for every later stage.
// Time O(n k log n), memory O(n).
SplitResult split_chain(const double* costs, int64_t n, int64_t k);

}  // namespace aios::partition
