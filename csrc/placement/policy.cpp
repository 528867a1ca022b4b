#include "placement/policy.hpp"

#include <algorithm>
#include <climits>
#include <cmath>

#include "common/error.hpp"

namespace aios::placement {

namespace {

__extension__ typedef __int128 i128;

constexpr int64_t kMaxNodeScore = 100;
constexpr int64_t kShapeScale = 10;  // MaxNodeScore / MaxCustomPriorityScore
constexpr double kLeftoverScale = 1e6;
constexpr double kDotScale = 1e9;
constexpr double kSlack = 1e-9;

bool uses_every_resource(PolicyKind k) {
  return k == PolicyKind::BestFit || k == PolicyKind::WorstFit || k == PolicyKind::DotProduct;
}

// kube-scheduler skips an extended resource the pod does not request, and any resource the node
// has none of; our own policies score every weighted resource the node has.
bool scored(const Policy& p, int r, int64_t cap, int64_t req, const uint8_t* basic) {
  if (p.weights[r] <= 0 || cap <= 0) return false;
  return uses_every_resource(p.kind) || basic[r] || req > 0;
}

int64_t broken_linear(const std::vector<ShapePoint>& shape, int64_t p) {
  for (size_t i = 0; i < shape.size(); ++i) {
    if (p <= shape[i].utilization) {
      if (i == 0) return shape[0].score * kShapeScale;
      const int64_t s0 = shape[i - 1].score * kShapeScale, s1 = shape[i].score * kShapeScale;
      const int64_t u0 = shape[i - 1].utilization, u1 = shape[i].utilization;
      return s0 + (s1 - s0) * (p - u0) / (u1 - u0);  // truncates toward zero, like Go
    }
  }
  return shape.back().score * kShapeScale;
}

int64_t floor_div_scaled(int64_t num, int64_t scale, int64_t den) {
  return static_cast<int64_t>(static_cast<i128>(num) * scale / den);
}

}  // namespace

const char* policy_name(PolicyKind kind) {
  switch (kind) {
    case PolicyKind::FirstFit: return "first_fit";
    case PolicyKind::BestFit: return "best_fit";
    case PolicyKind::WorstFit: return "worst_fit";
    case PolicyKind::LeastAllocated: return "least_allocated";
    case PolicyKind::MostAllocated: return "most_allocated";
    case PolicyKind::RequestedToCapacityRatio: return "requested_to_capacity_ratio";
    case PolicyKind::BalancedAllocation: return "balanced_allocation";
    case PolicyKind::DotProduct: return "dot_product";
  }
  return "unknown";
}

PolicyKind policy_from_name(const std::string& name) {
  for (int k = 0; k <= static_cast<int>(PolicyKind::DotProduct); ++k) {
    if (name == policy_name(static_cast<PolicyKind>(k))) return static_cast<PolicyKind>(k);
  }
  throw ConfigError("policy: unknown policy '" + name + "'");
}

void validate_policy(const Policy& policy, int resources) {
  if (static_cast<int>(policy.weights.size()) != resources) {
    throw ConfigError("weights: expected " + std::to_string(resources) + " weights, got " +
                      std::to_string(policy.weights.size()));
  }
  for (int r = 0; r < resources; ++r) {
    if (policy.weights[r] < 0 || policy.weights[r] > 1000000) {
      throw ConfigError("weights[" + std::to_string(r) + "]: must be in 0..1000000, got " +
                        std::to_string(policy.weights[r]));
    }
  }
  if (policy.kind == PolicyKind::RequestedToCapacityRatio) {
    if (policy.shape.empty()) throw ConfigError("shape: requested_to_capacity_ratio needs at least one point");
    for (size_t i = 0; i < policy.shape.size(); ++i) {
      const auto& pt = policy.shape[i];
      if (pt.utilization < 0 || pt.utilization > 100) {
        throw ConfigError("shape[" + std::to_string(i) + "].utilization: must be in 0..100, got " +
                          std::to_string(pt.utilization));
      }
      if (pt.score < 0 || pt.score > 10) {
        throw ConfigError("shape[" + std::to_string(i) + "].score: must be in 0..10, got " +
                          std::to_string(pt.score));
      }
      if (i > 0 && pt.utilization <= policy.shape[i - 1].utilization) {
        throw ConfigError("shape[" + std::to_string(i) + "].utilization: must be strictly increasing, got " +
                          std::to_string(pt.utilization) + " after " +
                          std::to_string(policy.shape[i - 1].utilization));
      }
    }
  }
}

int64_t score_node(const Policy& p, const NodeView& node, const int64_t* req, const uint8_t* basic,
                   int R) {
  switch (p.kind) {
    case PolicyKind::FirstFit:
      return -static_cast<int64_t>(node.index);
    case PolicyKind::BestFit:
    case PolicyKind::WorstFit: {
      int64_t total = 0;
      for (int r = 0; r < R; ++r) {
        if (!scored(p, r, node.cap[r], req[r], basic)) continue;
        total += p.weights[r] * floor_div_scaled(node.free[r] - req[r], 1000000, node.cap[r]);
      }
      return p.kind == PolicyKind::BestFit ? -total : total;
    }
    case PolicyKind::LeastAllocated:
    case PolicyKind::MostAllocated: {
      int64_t sum = 0, wsum = 0;
      for (int r = 0; r < R; ++r) {
        const int64_t cap = node.cap[r];
        if (!scored(p, r, cap, req[r], basic)) continue;
        const int64_t requested = cap - node.free[r] + req[r];
        int64_t s;
        if (p.kind == PolicyKind::LeastAllocated) {
          s = requested > cap ? 0 : floor_div_scaled(cap - requested, kMaxNodeScore, cap);
        } else {
          s = floor_div_scaled(std::min(requested, cap), kMaxNodeScore, cap);
        }
        sum += p.weights[r] * s;
        wsum += p.weights[r];
      }
      return wsum == 0 ? 0 : sum / wsum;
    }
    case PolicyKind::RequestedToCapacityRatio: {
      int64_t sum = 0, wsum = 0;
      for (int r = 0; r < R; ++r) {
        const int64_t cap = node.cap[r];
        if (!scored(p, r, cap, req[r], basic)) continue;
        const int64_t requested = cap - node.free[r] + req[r];
        const int64_t util = requested > cap ? kMaxNodeScore : floor_div_scaled(requested, kMaxNodeScore, cap);
        const int64_t s = broken_linear(p.shape, util);
        if (s > 0) {
          sum += s * p.weights[r];
          wsum += p.weights[r];
        }
      }
      if (wsum == 0) return 0;
      return (2 * sum + wsum) / (2 * wsum);  // math.Round(sum / wsum) for non-negative values
    }
    case PolicyKind::BalancedAllocation: {
      double fractions[64];
      double total = 0.0;
      int k = 0;
      for (int r = 0; r < R; ++r) {
        const int64_t cap = node.cap[r];
        if (!scored(p, r, cap, req[r], basic)) continue;
        const int64_t requested = cap - node.free[r] + req[r];
        double f = static_cast<double>(requested) / static_cast<double>(cap);
        if (f > 1.0) f = 1.0;
        total += f;
        fractions[k++] = f;
      }
      double std_dev = 0.0;
      if (k == 2) {
        std_dev = std::fabs((fractions[0] - fractions[1]) / 2.0);
      } else if (k > 2) {
        const double mean = total / static_cast<double>(k);
        double sum = 0.0;
        for (int i = 0; i < k; ++i) sum = sum + (fractions[i] - mean) * (fractions[i] - mean);
        std_dev = std::sqrt(sum / static_cast<double>(k));
      }
      return static_cast<int64_t>((1.0 - std_dev) * 100.0);
    }
    case PolicyKind::DotProduct: {
      double acc = 0.0;
      for (int r = 0; r < R; ++r) {
        const int64_t cap = node.cap[r];
        if (!scored(p, r, cap, req[r], basic)) continue;
        const double c = static_cast<double>(cap);
        acc += static_cast<double>(p.weights[r]) *
               ((static_cast<double>(req[r]) / c) * (static_cast<double>(node.free[r]) / c));
      }
      return static_cast<int64_t>(acc * kDotScale);
    }
  }
  return 0;
}

double score_upper_bound(const Policy& p, const SetBounds& s, const int64_t* req, const uint8_t* basic,
                         int R) {
  if (p.kind == PolicyKind::FirstFit) return -static_cast<double>(s.min_index);
  const bool every = uses_every_resource(p.kind);
  // Leftover fraction after placement, (free - req) / cap, lies in [lo, hi] on every feasible node.
  double lo[64], hi[64];
  bool possible[64], always[64];
  bool fixed_set = true;
  int n_possible = 0;
  for (int r = 0; r < R; ++r) {
    possible[r] = p.weights[r] > 0 && s.min_pos_cap[r] != INT64_MAX && (every || basic[r] || req[r] > 0);
    always[r] = possible[r] && !s.has_zero_cap[r];
    if (!possible[r]) continue;
    ++n_possible;
    if (!always[r]) fixed_set = false;
    const double rq = static_cast<double>(req[r]);
    lo[r] = std::max(0.0, s.min_free_frac[r] - rq / static_cast<double>(s.min_pos_cap[r])) - kSlack;
    hi[r] = std::min(1.0, s.max_free_frac[r] - rq / static_cast<double>(s.max_cap[r])) + kSlack;
    if (hi[r] < lo[r]) hi[r] = lo[r];
  }
  switch (p.kind) {
    case PolicyKind::FirstFit:
      return 0.0;
    case PolicyKind::BestFit:
    case PolicyKind::WorstFit: {
      double total = 0.0;
      for (int r = 0; r < R; ++r) {
        if (!possible[r]) continue;
        const double w = static_cast<double>(p.weights[r]);
        double term = p.kind == PolicyKind::BestFit ? -w * (lo[r] * kLeftoverScale - 1.0)
                                                    : w * hi[r] * kLeftoverScale;
        if (!always[r]) term = std::max(term, 0.0);
        total += term;
      }
      return total + 1.0;
    }
    case PolicyKind::LeastAllocated:
    case PolicyKind::MostAllocated: {
      if (n_possible == 0) return 0.0;
      double sum = 0.0, wsum = 0.0, best = 0.0;
      for (int r = 0; r < R; ++r) {
        if (!possible[r]) continue;
        const double ub = p.kind == PolicyKind::LeastAllocated ? 100.0 * hi[r] : 100.0 * (1.0 - lo[r]);
        sum += static_cast<double>(p.weights[r]) * ub;
        wsum += static_cast<double>(p.weights[r]);
        best = std::max(best, ub);
      }
      return (fixed_set ? sum / wsum : best) + 1e-6;
    }
    case PolicyKind::RequestedToCapacityRatio: {
      int64_t best = 0;
      for (int r = 0; r < R; ++r) {
        if (!possible[r]) continue;
        const int64_t u_lo = std::clamp<int64_t>(static_cast<int64_t>(std::floor(100.0 * (1.0 - hi[r]))) - 1, 0, 100);
        const int64_t u_hi = std::clamp<int64_t>(static_cast<int64_t>(std::ceil(100.0 * (1.0 - lo[r]))) + 1, 0, 100);
        best = std::max({best, broken_linear(p.shape, u_lo), broken_linear(p.shape, u_hi)});
        for (const auto& pt : p.shape) {
          if (pt.utilization >= u_lo && pt.utilization <= u_hi) best = std::max(best, pt.score * kShapeScale);
        }
      }
      return static_cast<double>(best);
    }
    case PolicyKind::BalancedAllocation: {
      if (!fixed_set || n_possible < 2) return 100.0;
      double max_lo = 0.0, min_hi = 1.0;
      for (int r = 0; r < R; ++r) {
        if (!possible[r]) continue;
        max_lo = std::max(max_lo, 1.0 - hi[r]);  // smallest possible used fraction
        min_hi = std::min(min_hi, 1.0 - lo[r]);  // largest possible used fraction
      }
      const double gap = std::max(0.0, max_lo - min_hi);
      const double std_lb = n_possible == 2 ? gap / 2.0 : gap / std::sqrt(2.0 * n_possible);
      return (1.0 - std_lb) * 100.0 + 1e-6;
    }
    case PolicyKind::DotProduct: {
      double acc = 0.0;
      for (int r = 0; r < R; ++r) {
        if (!possible[r]) continue;
        acc += static_cast<double>(p.weights[r]) * (static_cast<double>(req[r]) / static_cast<double>(s.min_pos_cap[r])) *
               std::max(0.0, s.max_free_frac[r] + kSlack);
      }
      return acc * kDotScale + 1.0;
    }
  }
  return 0.0;
}

}  // namespace aios::placement
