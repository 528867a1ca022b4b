// Lower bounds on the number of bins (Martello & Toth 1990; see notes/algorithms.md §1.6).
#pragma once
#include <cstdint>
#include <vector>

#include "binpack/items.hpp"

namespace aios::binpack {

// L1 = ceil(sum w / C). O(n).
int64_t l1_bound(const std::vector<int64_t>& w, int64_t cap);

// Martello-Toth L2 = max over alpha in {0} U {distinct w <= C/2} of L(alpha). O(n log n).
int64_t l2_bound(std::vector<int64_t> w, int64_t cap);

// Greedy clique of pairwise incompatible items (for some h, s_jh + s_kh > C_h), items visited by
// decreasing sum of normalised sizes (ties: lower index). O(n log n + n q d), q = clique size.
int64_t clique_bound(const Items& it);

// max(max_h L2_h, clique bound); for d = 1 this is L2. O(d n log n + n q d).
int64_t lower_bound(const Items& it);

}  // namespace aios::binpack
