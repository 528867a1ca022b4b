// GPU-set selection inside one node, compatible with the best-effort policy of NVIDIA's
// go-gpuallocator (the Kubernetes device plugin's GetPreferredAllocation): pad the free GPUs to a
// multiple of the request size, find the partition of them into sets of that size with the
// highest total pairwise score, and return that partition's best set containing the required GPUs.
#pragma once
#include <cstdint>
#include <vector>

namespace aios::topology {

struct Selection {
  std::vector<int32_t> gpus;  // positions into `available`, in the order of that list; empty = none
  int64_t set_score = 0;      // sum of pair scores inside the returned set
  int64_t partition_score = 0;
  bool exact = true;          // false when the node budget ran out before the search finished
  int64_t nodes = 0;          // search nodes visited
};

// score: m x m symmetric pair scores (row-major) of the available GPUs, in the order they are
// offered; required: positions into that list; size: GPUs wanted. max_nodes <= 0 means no budget.
// Enumerates partitions depth-first (each set starts with the first unused GPU, its other members
// in lexicographic order) and keeps the first partition of maximal score, like go-gpuallocator;
// branch and bound skips subtrees whose optimistic bound (half the sum, over unused GPUs, of each
// one's size-1 best pair scores) cannot beat the best so far strictly, so ties still go to the
// first partition in enumeration order. Worst case O(m! / ((size!)^(m/size) (m/size)!) * size),
// in practice far less; memory O(m^2). Throws aios::ConfigError on bad arguments.
Selection select_best_effort(const int64_t* score, int32_t m, const int32_t* required, int32_t n_required,
                             int32_t size, int64_t max_nodes);

}  // namespace aios::topology
