// Constructive heuristics (Panigrahy et al. 2011; Mommessin et al. 2024; notes/algorithms.md §1.6).
// Normalised sizes s_jh = size_jh / C_h; average weights a_h = sum_j s_jh over the (remaining)
// items. Fit tests are exact integer comparisons; scores are doubles evaluated in a fixed order.
#pragma once
#include <string>

#include "binpack/items.hpp"

namespace aios::binpack {

// Item-centric size measure used to sort items (decreasing; ties by lower index).
enum class Measure { Sum, Prod, L2 };  // sum_h a_h s_jh, prod_h s_jh, sum_h a_h s_jh^2

// First fit (best_fit = false) or best fit (least weighted slack sum_h a_h (r_h - s_jh)) decreasing
// by `measure`, with static average weights. For d = 1 these are FFD and BFD. O(n log n + n k d)
// for k bins.
Packing item_centric(const Items& it, Measure measure, bool best_fit);

// Bin-centric greedy: fill one bin at a time with the fitting item of best score, then open the
// next. DotProduct maximises sum_h a_h s_jh r_h; L2Norm minimises sum_h a_h (r_h - s_jh)^2.
// dynamic = true recomputes a_h from the unpacked items after every placement. O(n^2 d).
enum class BinScore { DotProduct, L2Norm };
Packing bin_centric(const Items& it, BinScore score, bool dynamic);

// Runs the named constructive method ("ffd", "bfd", "ffd_prod", "ffd_l2", "bfd_prod", "bfd_l2",
// "dp", "dp_dyn", "l2", "l2_dyn"); throws ConfigError for an unknown name.
Packing construct(const Items& it, const std::string& method);

// The names accepted by construct(), in the order "auto" tries them.
const std::vector<std::string>& constructive_methods(int d);

}  // namespace aios::binpack
