// Improvement phase: a consistent-neighbourhood tabu search that empties bins (after the idea of
// Buljubasic & Vasquez, "Consistent neighborhood search for one-dimensional bin packing and
// two-dimensional vector packing", C&OR 2016). To go from m to m-1 bins it drops the two lightest
// bins into a pool S and keeps m-2 feasible bins; it then exchanges up to two items of a bin with
// up to two items of S (every bin stays feasible), choosing the non-tabu exchange that lowers the
// pool's weight most, and, when none lowers it, a descent that moves and swaps items between bins
// to make the bin weights unequal (which concentrates free space). It succeeds when S fits in one
// bin. Weights are integers (items.hpp unit_weight), so the search is exact and repeatable.
//
// Complexity per iteration: O(k q^2 P d) for the exchange scan (k bins, q items per bin, P = O(|S|^2)
// pool pairs, with early exit) and O(k^2 q^2 d) for a descent pass.
#pragma once
#include <cstdint>

#include "binpack/items.hpp"

namespace aios::binpack {

struct ImproveOptions {
  int64_t max_iters = 0;     // total search iterations over all targets
  double time_limit_s = 0;   // <= 0: no wall-clock limit (then the answer depends only on the seed)
  uint64_t seed = 0;
  int64_t lower_bound = 0;   // stop when the packing reaches it
};

struct ImproveStats {
  int64_t iterations = 0;
  bool timed_out = false;
};

// Returns a packing with at most start.bins bins. start must be valid. The seed only drives the
// tabu tenures.
Packing improve(const Items& it, const Packing& start, const ImproveOptions& opt, ImproveStats* stats);

}  // namespace aios::binpack
