// Items: the input of every packing routine, a read-only view of integer sizes [n, d] and
// capacities [d] (d = 1 for classic bin packing). Quantities stay integers; floating point is only
// used for heuristic scores, in a fixed evaluation order so the Python twin gives the same answer.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace aios::binpack {

// 128-bit intermediate for exact sums and products of int64 quantities (GCC / Clang).
__extension__ typedef __int128 i128;

struct Items {
  int n = 0;
  int d = 0;
  const int64_t* size = nullptr;  // row-major [n, d]
  const int64_t* cap = nullptr;   // [d]
  int64_t at(int j, int h) const { return size[static_cast<size_t>(j) * d + h]; }
  const int64_t* row(int j) const { return size + static_cast<size_t>(j) * d; }
};

// A packing: bin index per item (bins numbered 0..bins-1 in opening order).
struct Packing {
  std::vector<int32_t> bin_of;
  int bins = 0;
};

// Throws ConfigError naming the field and value for: d < 1, capacity <= 0, a negative size, an item
// of size zero (in every dimension; a vector item may be zero in some), or an item larger than the
// capacity in some dimension. O(n d).
void validate(const Items& it);

// Integer normalised weight sum_h floor(size_jh * 2^30 / cap_h), exact (128-bit). O(d).
int64_t unit_weight(const Items& it, int j);

// True when every bin respects the capacity and every item is in a bin. O(n d).
bool is_valid(const Items& it, const Packing& p);

// Renumbers bins in order of first use and drops empty ones. O(n).
void compact(Packing& p);

}  // namespace aios::binpack
