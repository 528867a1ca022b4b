// pack(): constructive heuristic (one method, or the best of the portfolio for "auto"), then the
// improvement phase until the lower bound, the iteration budget or the time limit.
#pragma once
#include <string>

#include "binpack/improve.hpp"
#include "binpack/items.hpp"

namespace aios::binpack {

struct PackOptions {
  std::string method = "auto";
  bool improve = true;
  int64_t max_iters = 0;
  double time_limit_s = 0;  // whole call (constructive + search); <= 0: none
  uint64_t seed = 0;
};

struct PackResult {
  Packing packing;
  int64_t lower_bound = 0;
  std::string constructive;      // the constructive method the search started from
  int constructive_bins = 0;
  int64_t iterations = 0;
  bool timed_out = false;
};

// Validates, then packs. O(portfolio) + the improvement budget; see constructive.hpp, improve.hpp.
PackResult pack(const Items& it, const PackOptions& opt);

}  // namespace aios::binpack
