// Pipeline planner: pipeline stages x tensor- and data-parallel degrees x device placement,
// minimising Alpa's inter-operator objective  T = sum_i t_i + (B - 1) * max_i t_i  under the
// per-device memory limit, exactly over its search space:
//   * degrees (p, t, d) with p * t * d = devices, t a power of two <= max_tensor_parallel, p <= layers;
//   * device placements (placement.hpp): which devices form each tensor-parallel row, which rows
//     form each stage and the order of the stages; the links a stage pays for are the ones its
//     devices really share (cost_model.hpp). Every placement when a configuration has at most
//     Options::max_placements of them (all configurations of <= 8 devices under the default), else
//     only the blocks of four candidate device orders (placement.hpp: topology order, bandwidth
//     chain, speed-first chain and its reverse) -- bounded, not exact (PlanResult::exact says so),
//     never worse than the topology order. The candidates are also searched first everywhere, so
//     their plans prune the enumeration; a placement is skipped unless bounds from its stages'
//     speed, memory and links can beat the best plan;
//   * every split of the layer chain into p non-empty contiguous stages.
#pragma once
#include <cstdint>
#include <vector>

#include "partition/cost_model.hpp"

namespace aios::partition {

struct PlanResult {
  bool feasible = false;
  int64_t pipeline = 0, tensor = 0, data = 0;
  double iteration_time = 0;
  std::vector<int64_t> boundaries;   // pipeline + 1 entries
  std::vector<double> stage_time;    // per micro-batch
  std::vector<int64_t> stage_memory; // bytes per device
  int64_t configs_searched = 0, dp_passes = 0;
  int64_t placements_searched = 0;   // placements whose split search ran
  bool exact = true;                 // false if a configuration that could win was not enumerated
  std::vector<int64_t> placement;    // device order: stage s owns placement[s*g, (s+1)*g), g = t*d
};

// fixed_pipeline / fixed_tensor: 0 = search, otherwise only that degree.
//
// Per (p, t, d): walk the Pareto front of (max stage, sum of stages) from above. A DP pass with a
// threshold c gives F(c) = min sum of stage times with every stage <= c (and memory feasible);
// its solution has some max m <= c, and F is constant on [m, c], so the next threshold is just
// below m. The walk stops when F(c) + (B - 1) * lower_bound(max) cannot beat the best plan, and
// starts at c_hi = (best - lower_bound(sum)) / (B - 1), so stage windows stay short. Ties keep the
// first plan found (configurations by lower bound, then t, then p ascending; candidate orders before
// the enumeration). A pass costs O(p * L * w), w = layers a
// stage can hold under c (O(L) when c is unbounded); Alpa's DP instead runs an O(p * L^2) pass for
// every distinct stage cost below its cut-off.
// Throws aios::ConfigError for bad model/device values (zero-speed device, NaN, overflow) and
// aios::TopologyError for devices that share no link (bandwidth <= 0).
PlanResult plan_pipeline(const ModelArrays& model, const DeviceArrays& devices, const Options& opt,
                         int64_t fixed_pipeline, int64_t fixed_tensor);

// The same with the candidate device orders and the fastest link given, as candidate_orders
// (placement.hpp) returns them for these devices -- e.g. cached by a caller that plans many models on
// one cluster -- which skips its O(n^2) pass over the link matrices. Any permutations are
// accepted; the caller vouches for the links (candidate_orders validated them) and for max_bw being
// at least the fastest link (a larger value only prunes less).
PlanResult plan_pipeline(const ModelArrays& model, const DeviceArrays& devices, const Options& opt,
                         int64_t fixed_pipeline, int64_t fixed_tensor, const std::vector<std::vector<int64_t>>& orders,
                         double max_bw);

}  // namespace aios::partition
