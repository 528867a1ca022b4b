// Device placements for the pipeline planner. A placement is a permutation `order` of the devices:
// stage s owns order[s*g, (s+1)*g) as d rows of t tensor-parallel ranks (g = t*d). Under the
// pairwise cost model (cost_model.hpp) only three things matter: which devices share a row, which
// rows share a stage, and the order of the stages.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "partition/cost_model.hpp"

namespace aios::partition {

// Number of distinct placements, n! / (t!^(n/t) * d!^p) (as a double: it overflows int64 early).
double placement_count(int64_t n, int64_t p, int64_t t, int64_t d);

// Calls visit(order) once for every distinct placement, in a fixed order: rows are the partitions
// of the devices into sets of t (each set led by its smallest device, the rest in lexicographic
// order), stages the partitions of the rows into sets of d (likewise), then every order of the
// stages (lexicographic). Inside the order, rows and devices appear ascending. Stops when visit
// returns false; returns false if it was stopped.
template <typename Visit>
bool for_each_placement(int64_t n, int64_t p, int64_t t, int64_t d, Visit&& visit);

// The device orders tried for every configuration (first, to find a good plan early) and the only
// ones for a configuration with more than Options::max_placements placements
// (stage s then runs on the s-th block of t*d devices of the order), duplicates dropped:
//   1. the topology order (the old block-in-order placement, so a plan is never worse than it);
//   2. a bandwidth chain: from device 0, repeatedly the unused device with the fastest link to the
//      last one (lowest latency, then lowest index on ties): NVLink islands and nodes stay together
//      and consecutive blocks sit on adjacent domains;
//   3. a speed-first chain: from the fastest device, repeatedly the fastest unused one (most memory,
//      then fastest link, lowest latency, lowest index): every block is homogeneous where the
//      device counts allow, fast blocks first;
//   4. that chain reversed: the same blocks, slowest first. Which end suits the slow devices
//      depends on memory (the first stages keep the most micro-batches in flight) and on where the
//      split puts the heavy layers, so both are tried.
// O(n^2). Also validates every link (validate_links) and sets max_bw to the fastest one.
std::vector<std::vector<int64_t>> candidate_orders(const DeviceArrays& dev, double& max_bw);

// ------------------------------------------------------------------ implementation of the template
namespace detail {

// Partitions of `items` (ascending) into sets of `size`, each led by its smallest item.
template <typename F>
bool partitions(const std::vector<int64_t>& items, int64_t size, std::vector<std::vector<int64_t>>& out, F& f) {
  if (items.empty()) return f(out);
  const int64_t r = static_cast<int64_t>(items.size()) - 1, k = size - 1;
  std::vector<int64_t> idx(static_cast<size_t>(k));
  for (int64_t i = 0; i < k; ++i) idx[static_cast<size_t>(i)] = i;
  std::vector<int64_t> block, rest;
  while (true) {
    block.assign(1, items[0]);
    rest.clear();
    size_t next = 0;
    for (int64_t i = 0; i < r; ++i) {
      if (next < idx.size() && idx[next] == i) {
        block.push_back(items[static_cast<size_t>(i + 1)]);
        ++next;
      } else {
        rest.push_back(items[static_cast<size_t>(i + 1)]);
      }
    }
    out.push_back(block);
    const bool go_on = partitions(rest, size, out, f);
    out.pop_back();
    if (!go_on) return false;
    // Next k-combination of [0, r) in lexicographic order.
    int64_t i = k - 1;
    while (i >= 0 && idx[static_cast<size_t>(i)] == r - k + i) --i;
    if (i < 0) return true;
    ++idx[static_cast<size_t>(i)];
    for (int64_t j = i + 1; j < k; ++j) idx[static_cast<size_t>(j)] = idx[static_cast<size_t>(j - 1)] + 1;
  }
}

}  // namespace detail

template <typename Visit>
bool for_each_placement(int64_t n, int64_t p, int64_t t, int64_t d, Visit&& visit) {
  std::vector<int64_t> devices(static_cast<size_t>(n)), row_ids(static_cast<size_t>(n / t));
  for (int64_t i = 0; i < n; ++i) devices[static_cast<size_t>(i)] = i;
  for (int64_t i = 0; i < n / t; ++i) row_ids[static_cast<size_t>(i)] = i;
  std::vector<std::vector<int64_t>> row_acc, rows, groups;
  std::vector<int64_t> order(static_cast<size_t>(n)), perm(static_cast<size_t>(p));
  auto on_groups = [&](const std::vector<std::vector<int64_t>>& gs) {
    for (int64_t i = 0; i < p; ++i) perm[static_cast<size_t>(i)] = i;
    do {
      size_t k = 0;
      for (const int64_t s : perm) {
        for (const int64_t row : gs[static_cast<size_t>(s)]) {
          for (const int64_t x : rows[static_cast<size_t>(row)]) order[k++] = x;
        }
      }
      if (!visit(order)) return false;
    } while (std::next_permutation(perm.begin(), perm.end()));
    return true;
  };
  auto on_rows = [&](const std::vector<std::vector<int64_t>>& rs) {
    rows = rs;
    return detail::partitions(row_ids, d, groups, on_groups);
  };
  return detail::partitions(devices, t, row_acc, on_rows);
}

}  // namespace aios::partition
