#include "placement/policy.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <limits>

#include "binpack/fragmentation.hpp"
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
  // 64-bit when num * scale cannot overflow (the common case); 128-bit otherwise.
  if (num < (int64_t{1} << 62) / scale && num > -((int64_t{1} << 62) / scale)) return num * scale / den;
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
    case PolicyKind::Fgd: return "fgd";
  }
  return "unknown";
}

PolicyKind policy_from_name(const std::string& name) {
  for (int k = 0; k <= static_cast<int>(PolicyKind::Fgd); ++k) {
    if (name == policy_name(static_cast<PolicyKind>(k))) return static_cast<PolicyKind>(k);
  }
  throw ConfigError("policy: unknown policy '" + name + "'");
}

namespace {

void validate_fgd(const FgdWorkload& w, int resources) {
  const size_t m = w.cpu.size();
  if (w.memory.size() != m || w.gpu.size() != m || w.model_mask.size() != m || w.popularity.size() != m) {
    throw ConfigError("workload: cpu, memory, gpu, model_mask and popularity need one entry per class, got " +
                      std::to_string(m) + ", " + std::to_string(w.memory.size()) + ", " + std::to_string(w.gpu.size()) +
                      ", " + std::to_string(w.model_mask.size()) + ", " + std::to_string(w.popularity.size()));
  }
  for (int col : {w.cpu_column, w.memory_column}) {
    if (col < -1 || col >= resources) throw ConfigError("workload: resource column " + std::to_string(col) + " out of range");
  }
  if (w.resolution < 0 || w.resolution > kMaxFgdResolution)
    throw ConfigError("workload.resolution: must be in [0, " + std::to_string(kMaxFgdResolution) +
                      "] milli-GPU, got " + std::to_string(w.resolution));
  binpack::TaskClasses c{static_cast<int>(m), w.cpu.data(), w.memory.data(), w.gpu.data(), w.model_mask.data(),
                         w.popularity.data()};
  binpack::validate_classes(c);
}

}  // namespace

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
  if (policy.kind == PolicyKind::Fgd) validate_fgd(policy.fgd, resources);
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
    case PolicyKind::Fgd:
      return 0;  // Engine::fgd_score holds the real score
    case PolicyKind::BestFit:
    case PolicyKind::WorstFit: {
      int64_t total = 0;
      for (int r = 0; r < R; ++r) {
        if (!scored(p, r, node.cap[r], req[r], basic)) continue;
        total += p.weights[r] * (floor_div_scaled(node.free[r], 1000000, node.cap[r]) -
                                 floor_div_scaled(req[r], 1000000, node.cap[r]));
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

namespace {

int64_t rtcr_resource_score(const std::vector<ShapePoint>& shape, int64_t cap, int64_t free, int64_t req) {
  const int64_t requested = cap - free + req;
  const int64_t util = requested > cap ? kMaxNodeScore : floor_div_scaled(requested, kMaxNodeScore, cap);
  return broken_linear(shape, util);
}

// Exact bound when every resource the score reads has one capacity across the set: the score of
// a virtual node holding the most favourable free amounts (scores are monotone in each free
// amount). Returns false when the set is not uniform or the score is not monotone.
bool uniform_bound(const Policy& p, const SetBounds& s, const int64_t* req, const uint8_t* basic, int R,
                   int64_t* out) {
  const bool every = uses_every_resource(p.kind);
  int64_t cap[64], lo_free[64], hi_free[64];
  bool degenerate = true;
  for (int r = 0; r < R; ++r) {
    cap[r] = 0;
    lo_free[r] = hi_free[r] = 0;
    if (p.weights[r] <= 0 || !(every || basic[r] || req[r] > 0)) continue;
    if (s.min_pos_cap[r] == INT64_MAX) continue;  // no node of the set has any: never scored
    if (s.has_zero_cap[r] || s.min_pos_cap[r] != s.max_cap[r]) return false;
    cap[r] = s.max_cap[r];
    hi_free[r] = s.max_free[r];
    lo_free[r] = std::max(s.min_free[r], req[r]);  // a feasible node has at least req free
    if (s.min_free[r] != s.max_free[r]) degenerate = false;
  }
  const NodeView lo{cap, lo_free, 0}, hi{cap, hi_free, 0};
  switch (p.kind) {
    case PolicyKind::BestFit:
    case PolicyKind::MostAllocated:
      *out = score_node(p, lo, req, basic, R);
      return true;
    case PolicyKind::WorstFit:
    case PolicyKind::LeastAllocated:
    case PolicyKind::DotProduct:
      *out = score_node(p, hi, req, basic, R);
      return true;
    case PolicyKind::BalancedAllocation:
      if (!degenerate) return false;
      *out = score_node(p, hi, req, basic, R);
      return true;
    case PolicyKind::RequestedToCapacityRatio: {
      bool up = true, down = true;
      for (size_t i = 1; i < p.shape.size(); ++i) {
        up = up && p.shape[i].score >= p.shape[i - 1].score;
        down = down && p.shape[i].score <= p.shape[i - 1].score;
      }
      if (!up && !down) return false;
      const int64_t* best_free = up ? lo_free : hi_free;
      const int64_t* worst_free = up ? hi_free : lo_free;
      int64_t sum = 0, wsum = 0, most = 0;
      bool fixed_set = true;
      for (int r = 0; r < R; ++r) {
        if (cap[r] == 0) continue;
        const int64_t s_hi = rtcr_resource_score(p.shape, cap[r], best_free[r], req[r]);
        const int64_t s_lo = rtcr_resource_score(p.shape, cap[r], worst_free[r], req[r]);
        if (s_hi > 0) {
          sum += s_hi * p.weights[r];
          wsum += p.weights[r];
          most = std::max(most, s_hi);
          if (s_lo <= 0) fixed_set = false;  // the resource may drop out of the mean
        }
      }
      if (wsum == 0) *out = 0;
      else *out = fixed_set ? (2 * sum + wsum) / (2 * wsum) : most;
      return true;
    }
    case PolicyKind::FirstFit:
    case PolicyKind::Fgd:
      break;
  }
  return false;
}

// Non-basic weighted resources, in order: bit j of a subset mask stands for the j-th of them.
int optional_resources(const Policy& p, const uint8_t* basic, int R, int* which) {
  int k = 0;
  for (int r = 0; r < R; ++r) {
    if (p.weights[r] > 0 && !basic[r]) which[k++] = r;
  }
  return k;
}

constexpr int kMaxOptionalForScalars = 6;

// The request terms of the scalar bound for a set's capacities (see BoundCache).
void scalar_terms(const Policy& p, const SetBounds& s, const int64_t* req, const uint8_t* basic, int R,
                  BoundCache& c) {
  c.usable = true;
  c.term = 0;
  c.wsum = 0;
  c.div = 1;
  for (int r = 0; r < R; ++r) {
    const int64_t w = p.weights[r];
    if (w <= 0 || s.min_pos_cap[r] == INT64_MAX) continue;
    switch (p.kind) {
      case PolicyKind::BestFit:
        c.term += w * floor_div_scaled(req[r], 1000000, s.min_pos_cap[r]);
        break;
      case PolicyKind::WorstFit:
        if (!s.has_zero_cap[r]) c.term -= w * floor_div_scaled(req[r], 1000000, s.max_cap[r]);
        break;
      case PolicyKind::LeastAllocated:
      case PolicyKind::MostAllocated: {
        if (!(basic[r] || req[r] > 0)) break;
        if (s.has_zero_cap[r]) {  // the weight sum would differ between nodes
          c.usable = false;
          return;
        }
        c.wsum += w;
        if (p.kind == PolicyKind::LeastAllocated) {
          c.term -= w * floor_div_scaled(req[r], kMaxNodeScore, s.max_cap[r]);
        } else {  // ceil(req * 100 * kFineUnits / min cap): the request's share in fine units, at
                  // most 100% on a node that can hold it (which also keeps the sum from overflowing)
          const int64_t cap = s.min_pos_cap[r];
          const i128 share = (static_cast<i128>(req[r]) * kMaxNodeScore * kFineUnits + cap - 1) / cap;
          c.term += w * static_cast<int64_t>(std::min<i128>(share, kMaxNodeScore * kFineUnits));
        }
        break;
      }
      default:
        c.usable = false;
        return;
    }
  }
  c.div = c.wsum > 0 ? c.wsum : 1;
  if (p.kind == PolicyKind::MostAllocated && c.wsum > 0) {
    // A node's numerator N = sum_r w_r floor(u_r + q_r) (u, q: used and requested percent) is at
    // most sum_r w_r (u_r + q_r); K times that (K = kFineUnits) is below its fine scalar + wsum +
    // the request term, so N K, an integer, is at most scalar + term + wsum - 1, and the score
    // floor(N / wsum) at most floor((scalar + term + wsum - 1) / (K wsum)).
    c.term += c.wsum - 1;
    c.div = kFineUnits * c.wsum;
  }
}

// The scalar bound: exact sums over one node, so it does not mix resources of different nodes.
bool scalar_bound(const Policy& p, const SetBounds& s, const int64_t* req, const uint8_t* basic, int R,
                  BoundCache* cache, int64_t* out) {
  int mask = 0;
  switch (p.kind) {
    case PolicyKind::BestFit:
    case PolicyKind::WorstFit:
      break;
    case PolicyKind::LeastAllocated:
    case PolicyKind::MostAllocated: {
      int which[64];
      const int k = optional_resources(p, basic, R, which);
      if (k > kMaxOptionalForScalars) return false;
      for (int j = 0; j < k; ++j) {
        if (req[which[j]] > 0) mask |= 1 << j;
      }
      break;
    }
    default:
      return false;
  }
  BoundCache local;
  BoundCache& c = cache ? *cache : local;
  bool hit = c.valid;
  for (int r = 0; r < R && hit; ++r) {
    hit = c.min_pos_cap[r] == s.min_pos_cap[r] && c.max_cap[r] == s.max_cap[r] && c.has_zero[r] == s.has_zero_cap[r];
  }
  if (!hit) {
    scalar_terms(p, s, req, basic, R, c);
    std::copy(s.min_pos_cap, s.min_pos_cap + R, c.min_pos_cap);
    std::copy(s.max_cap, s.max_cap + R, c.max_cap);
    std::copy(s.has_zero_cap, s.has_zero_cap + R, c.has_zero);
    c.valid = true;
  }
  if (!c.usable) return false;
  switch (p.kind) {
    case PolicyKind::BestFit:
      *out = c.term - s.scalar[0];
      return true;
    case PolicyKind::WorstFit:
      *out = s.scalar[0] + c.term;
      return true;
    default:
      *out = c.wsum == 0 ? 0 : (s.scalar[mask] + c.term) / c.div;
      return true;
  }
}

}  // namespace

bool policy_scalar_keeps_max(const Policy& p) { return p.kind != PolicyKind::BestFit; }

bool policy_reads_min_extremes(const Policy& p) {
  return p.kind != PolicyKind::FirstFit && p.kind != PolicyKind::BestFit && p.kind != PolicyKind::WorstFit &&
         p.kind != PolicyKind::Fgd;
}

int policy_scalar_count(const Policy& p, const uint8_t* basic, int R) {
  int which[64];
  switch (p.kind) {
    case PolicyKind::BestFit:
    case PolicyKind::WorstFit:
      return 1;
    case PolicyKind::LeastAllocated:
    case PolicyKind::MostAllocated: {
      const int k = optional_resources(p, basic, R, which);
      return k > kMaxOptionalForScalars ? 0 : 1 << k;
    }
    default:
      return 0;
  }
}

int policy_scalar_index(const Policy& p, const uint8_t* basic, int R, const int64_t* req) {
  if (p.kind != PolicyKind::LeastAllocated && p.kind != PolicyKind::MostAllocated) return 0;
  int which[64];
  const int k = optional_resources(p, basic, R, which);
  int mask = 0;
  for (int j = 0; j < k && k <= kMaxOptionalForScalars; ++j) {
    if (req[which[j]] > 0) mask |= 1 << j;
  }
  return mask;
}

bool prepare_fast_bound(const Policy& p, const int64_t* cap, const int64_t* req, const uint8_t* basic, int R,
                        FastBound* out, TermMemo* memo) {
  FastBound& f = *out;
  f.ok = false;
  f.kind = p.kind;
  if (p.kind != PolicyKind::BestFit && p.kind != PolicyKind::WorstFit && p.kind != PolicyKind::LeastAllocated &&
      p.kind != PolicyKind::MostAllocated) {
    return false;
  }
  // The set every search vertex looks like when all nodes have these capacities.
  int64_t min_pos_cap[64], max_cap[64];
  uint8_t has_zero[64];
  f.n = 0;
  for (int r = 0; r < R; ++r) {
    if (cap[r] > (int64_t{1} << 55)) return false;  // keeps q * cap in fast_div below 2^62
    min_pos_cap[r] = cap[r] > 0 ? cap[r] : INT64_MAX;
    max_cap[r] = cap[r];
    has_zero[r] = cap[r] == 0;
    if (scored(p, r, cap[r], req[r], basic)) {
      f.cap[f.n] = cap[r];
      f.inv_cap[f.n] = 1.0 / static_cast<double>(cap[r]);
      f.inv_cap_up[f.n] = f.inv_cap[f.n] * (1.0 + 0x1p-40);
      f.req[f.n] = req[r];
      f.w[f.n] = p.weights[r];
      f.res[f.n++] = r;
    }
  }
  // The request terms, from the memo when this (request, capacities) pair was seen before.
  TermMemo::Slot fresh;
  TermMemo::Slot* slot = &fresh;
  bool hit = false;
  if (memo != nullptr && R <= TermMemo::kMaxResources) {
    uint64_t h = 1469598103934665603ULL;  // FNV-1a over the request and the capacities
    for (int r = 0; r < R; ++r) {
      h = (h ^ static_cast<uint64_t>(req[r])) * 1099511628211ULL;
      h = (h ^ static_cast<uint64_t>(cap[r])) * 1099511628211ULL;
    }
    slot = &memo->slots[(h ^ (h >> 32)) % TermMemo::kSlots];
    hit = slot->valid;
    for (int r = 0; r < R && hit; ++r) hit = slot->key[r] == req[r] && slot->key[R + r] == cap[r];
  }
  if (!hit) {
    const SetBounds s{nullptr, nullptr, min_pos_cap, max_cap, nullptr, nullptr, has_zero, nullptr, 0};
    BoundCache c;
    scalar_terms(p, s, req, basic, R, c);
    *slot = TermMemo::Slot{true, c.usable, {}, c.term, c.wsum, c.div};
    if (slot != &fresh) {
      std::copy(req, req + R, slot->key);
      std::copy(cap, cap + R, slot->key + R);
    }
  }
  if (!slot->usable) return false;
  f.term = slot->term;
  f.wsum = slot->wsum;
  f.div = slot->div;
  f.inv_wsum = f.wsum > 0 ? 1.0 / static_cast<double>(f.wsum) : 0.0;
  f.inv_wsum_up = f.inv_wsum * (1.0 + 0x1p-40);
  f.inv_div = 1.0 / static_cast<double>(f.div);
  f.ok = true;
  return true;
}

void policy_node_scalars(const Policy& p, const uint8_t* basic, int R, const int64_t* cap, const int64_t* free,
                         int64_t* out) {
  switch (p.kind) {
    case PolicyKind::BestFit:
    case PolicyKind::WorstFit: {
      int64_t a = 0;
      for (int r = 0; r < R; ++r) {
        if (p.weights[r] > 0 && cap[r] > 0) a += p.weights[r] * floor_div_scaled(free[r], 1000000, cap[r]);
      }
      out[0] = a;
      return;
    }
    case PolicyKind::LeastAllocated:
    case PolicyKind::MostAllocated: {
      // The basic resources' sum, plus each optional resource's term where its bit is set:
      // one division per resource.
      int64_t base = 0, term[kMaxOptionalForScalars];
      int k = 0;
      for (int r = 0; r < R; ++r) {
        if (p.weights[r] <= 0) continue;
        int64_t t = 0;
        if (cap[r] > 0) {
          if (p.kind == PolicyKind::LeastAllocated) {
            t = p.weights[r] * floor_div_scaled(free[r], kMaxNodeScore, cap[r]);
          } else {
            t = p.weights[r] * floor_div_scaled(cap[r] - free[r], kMaxNodeScore * kFineUnits, cap[r]);
          }
        }
        if (basic[r]) {
          base += t;
        } else if (k == kMaxOptionalForScalars) {
          return;  // too many optional resources: no scalars (policy_scalar_count is 0)
        } else {
          term[k++] = t;
        }
      }
      out[0] = base;
      for (int j = 0; j < k; ++j) {  // masks with top bit j from those below it
        for (int mask = 0; mask < (1 << j); ++mask) out[mask | 1 << j] = out[mask] + term[j];
      }
      return;
    }
    default:
      return;
  }
}

double score_upper_bound(const Policy& p, const SetBounds& s, const int64_t* req, const uint8_t* basic,
                         int R, BoundCache* cache, int64_t enough) {
  if (p.kind == PolicyKind::FirstFit) return -static_cast<double>(s.min_index);
  // FGD has no useful bound: every feasible node is scored.
  if (p.kind == PolicyKind::Fgd) return std::numeric_limits<double>::infinity();
  int64_t exact = 0, scalar = 0;
  const bool has_scalar = s.scalar != nullptr && scalar_bound(p, s, req, basic, R, cache, &scalar);
  if (has_scalar && scalar < enough) return static_cast<double>(scalar);
  // best/worst fit scalar bounds are already exact on a uniform set; the others may round up.
  const bool fit = p.kind == PolicyKind::BestFit || p.kind == PolicyKind::WorstFit;
  const bool has_exact = !(fit && has_scalar) && uniform_bound(p, s, req, basic, R, &exact);
  if (has_exact && has_scalar) return static_cast<double>(std::min(exact, scalar));
  if (has_exact) return static_cast<double>(exact);
  if (has_scalar) return static_cast<double>(scalar);
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
    case PolicyKind::Fgd:
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
