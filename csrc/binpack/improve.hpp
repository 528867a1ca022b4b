// Improvement phase: a consistent-neighbourhood tabu search that empties bins (after the idea of
// Buljubasic & Vasquez, "Consistent neighborhood search for one-dimensional bin packing and
// two-dimensional vector packing", C&OR 2016). To go from m to m-1 bins it empties the three
// lightest bins into a pool S and keeps m-3 feasible bins; it succeeds when S packs into two bins.
// Each iteration (every bin always stays feasible):
//   1. exchange: up to two items of a bin swap with up to two items of S; the non-tabu exchange that
//      lowers the pool weight most (ties: more items left in S, then uniformly sampled);
//   2. if none lowers it: refill a bin with its heaviest fitting subset of its items plus S
//      (bounded branch and bound), else a descent that moves / swaps single items between two bins
//      to make their weights more unequal (concentrating free space; only pairs with a bin changed
//      since the last fruitless descent), else the best uphill or sideways exchange.
// Moved items are tabu for a random tenure. When the pool has not become lighter for 100 + n
// iterations, the attempt restarts from the best packing with three random bins emptied. Weights are integers (items.hpp unit_weight), so the
// search is exact and repeatable: the same seed and iteration budget give the same packing.
//
// Complexity per iteration: O(k q^2 P d) for the exchange scan (k bins, q items per bin, P = O(|S|^2)
// pool pairs, with early exit), O(k B d) for refills (B = node cap) and O(k q^2 d) per changed bin
// for the descent.
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
