// Packing into heterogeneous bins: bin types with their own capacities and costs (nodes of
// different sizes and prices), minimising the total cost of the bins used; every type is available
// in unlimited number.
//
// Greedy: repeatedly, for every type, fill a fresh bin first-fit with the remaining items in
// decreasing order of sum_h s_jh / max_t C_th, and open the bin whose cost per packed size is
// lowest; then give each bin the cheapest type that holds its load, and empty bins (most expensive
// first) into the others where all their items fit. O(B T n d + B^2 q d) for B bins, T types.
// Lower bound: max_h sum_j s_jh * min over types t that hold j of cost_t / C_th (every bin pays at
// least its share of dimension h at its type's price), and at least the cheapest usable type.
#pragma once
#include <cstdint>
#include <vector>

namespace aios::binpack {

struct BinTypes {
  int t = 0;
  const int64_t* cap = nullptr;   // [t, d]
  const int64_t* cost = nullptr;  // [t]
};

struct HeteroResult {
  std::vector<int32_t> bin_of;    // [n]
  std::vector<int32_t> bin_type;  // [bins]
  int64_t total_cost = 0;
  double lower_bound = 0;
};

// Throws ConfigError for non-positive capacity or cost, non-positive sizes, an item that fits no
// type, or a total cost above 2^62.
HeteroResult pack_heterogeneous(const int64_t* sizes, int n, int d, const BinTypes& types);

}  // namespace aios::binpack
