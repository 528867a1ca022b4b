#include "partition/plan.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "common/error.hpp"
#include "partition/placement.hpp"
#include "partition/split.hpp"

namespace aios::partition {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

struct Candidate {
  double sum = kInf, max = 0;
  std::vector<int64_t> bounds;
};

struct Config {
  const Prefix& px;
  const Options& opt;
  int64_t L, p, t, d;
  std::vector<Block> blocks;
  // DP tables reused across passes: best sum with stage i ending at layer j, and that stage's start.
  std::vector<double> G;
  std::vector<int64_t> start;

  // stage_cost's arithmetic with the per-configuration constants taken out of the DP's inner loop.
  // A division by a power of two y is the multiplication by 1/y (exact: both round the same real),
  // and an integer one a shift (the prefix differences are >= 0), so every value is bit-identical
  // to stage_cost's (tests/test_partition_* compare it with the reference and an oracle).
  struct Div {
    double y = 1, inv = 1;
    bool pow2 = false;
    int shift = 0;
    int64_t mask = 0, iy = 1;
    explicit Div(int64_t v) : y(static_cast<double>(v)), iy(v) {
      pow2 = v > 0 && (v & (v - 1)) == 0;
      if (pow2) {
        inv = 1.0 / y;
        while ((int64_t{1} << shift) != v) ++shift;
        mask = v - 1;
      }
    }
    double operator()(double x) const { return pow2 ? x * inv : x / y; }
    int64_t ceil(int64_t a) const { return pow2 ? (a >> shift) + ((a & mask) != 0) : a / iy + (a % iy != 0); }
  };
  Div by_d, by_t, by_td, by_B;
  double k_fwd, two_tm1, two_dm1, td;

  Config(const Prefix& px_, const Options& opt_, int64_t L_, int64_t p_, int64_t t_, int64_t d_)
      : px(px_), opt(opt_), L(L_), p(p_), t(t_), d(d_), by_d(d_), by_t(t_), by_td(t_ * d_), by_B(opt_.microbatches),
        k_fwd(1.0 + opt_.backward_factor), two_tm1(2.0 * static_cast<double>(t_ - 1)),
        two_dm1(2.0 * static_cast<double>(d_ - 1)), td(static_cast<double>(t_ * d_)) {}

  // compute and memory of layers [a, b] as stage s (time left at 0): enough for the DP's break test.
  StageCost bound(int64_t a, int64_t b, int64_t s) const {
    const Block& blk = blocks[static_cast<size_t>(s)];
    StageCost c;
    c.compute = k_fwd * (px.flops[b + 1] - px.flops[a]) / (td * blk.speed);
    const int64_t state = by_t.ceil(px.params[b + 1] - px.params[a]);
    const int64_t inflight = std::min<int64_t>(opt.microbatches, p - s);
    const int64_t act = by_td.ceil(px.activation[b + 1] - px.activation[a]);
    const int64_t cap = std::numeric_limits<int64_t>::max() / 4;
    const double mem = static_cast<double>(state) * static_cast<double>(opt.state_bytes_per_param) +
                       static_cast<double>(inflight) * static_cast<double>(act);
    c.memory = mem >= static_cast<double>(cap) ? cap : state * opt.state_bytes_per_param + inflight * act;
    return c;
  }
  // The stage time, given its compute from bound().
  double time(int64_t a, int64_t b, int64_t s, double compute) const {
    const Block& blk = blocks[static_cast<size_t>(s)];
    double time = compute;
    if (t > 1) {
      const double bytes = by_d(static_cast<double>(px.tp_comm[b + 1] - px.tp_comm[a]));
      time += bytes <= 0 ? 0.0 : two_tm1 * (by_t(bytes) / blk.tp_bw + blk.tp_lat);
    }
    if (s + 1 < p) time += 2.0 * (by_td(static_cast<double>(px.output[b])) / blk.pp_bw + blk.pp_lat);
    if (d > 1) {
      const int64_t state = by_t.ceil(px.params[b + 1] - px.params[a]);
      const double grads = static_cast<double>(state) * static_cast<double>(opt.grad_bytes_per_param);
      time += by_B(grads <= 0 ? 0.0 : two_dm1 * (by_d(grads) / blk.dp_bw + blk.dp_lat));
    }
    return time;
  }
  StageCost cost(int64_t a, int64_t b, int64_t s) const {
    StageCost c = bound(a, b, s);
    c.time = time(a, b, s, c.compute);
    return c;
  }

  // One pass with threshold c. O(p * L * window).
  Candidate pass(double c) {
    const int64_t span = L - p + 1;  // stage i may end at j in [i, i + span - 1]
    G.assign(static_cast<size_t>(p * span), kInf);
    start.assign(static_cast<size_t>(p * span), -1);
    for (int64_t j = 0; j < span; ++j) {
      const StageCost sc = cost(0, j, 0);
      if (sc.compute > c || sc.memory > blocks[0].memory) break;
      if (sc.time <= c) { G[j] = sc.time; start[j] = 0; }
    }
    for (int64_t i = 1; i < p; ++i) {
      const int64_t mem = blocks[i].memory;
      for (int64_t j = i; j < i + span; ++j) {
        double best = kInf;
        int64_t arg = -1;
        for (int64_t a = j; a >= i; --a) {  // stage i = layers a..j; previous stage ends at a-1
          const StageCost sc = bound(a, j, i);
          if (sc.compute > c || sc.memory > mem) break;  // both only grow as the stage widens
          const double prev = G[(i - 1) * span + (a - 1 - (i - 1))];
          // Stage times are >= 0, so prev + time >= prev: nothing to gain unless prev < best.
          if (!(prev < best)) continue;
          const double ti = time(a, j, i, sc.compute);
          if (ti <= c && prev < kInf) {
            const double cand = prev + ti;
            if (cand < best) { best = cand; arg = a; }
          }
        }
        G[i * span + (j - i)] = best;
        start[i * span + (j - i)] = arg;
      }
    }
    Candidate out;
    const double total = G[(p - 1) * span + (L - 1 - (p - 1))];
    if (!(total < kInf)) return out;
    out.bounds.assign(static_cast<size_t>(p) + 1, 0);
    out.bounds[p] = L;
    int64_t j = L - 1;
    for (int64_t i = p - 1; i >= 0; --i) {
      const int64_t a = start[i * span + (j - i)];
      out.bounds[i] = a;
      j = a - 1;
    }
    // Recompute sum and max in stage order so every caller sees the same arithmetic.
    out.sum = 0;
    for (int64_t i = 0; i < p; ++i) {
      const double ti = cost(out.bounds[i], out.bounds[i + 1] - 1, i).time;
      out.sum += ti;
      out.max = std::max(out.max, ti);
    }
    (void)total;
    return out;
  }

  // Smallest max stage time over memory-feasible splits whose stages all take <= c (inf if none).
  // Same windows as pass(). O(p * L * window).
  double minimax(double c) {
    const int64_t span = L - p + 1;
    G.assign(static_cast<size_t>(p * span), kInf);
    for (int64_t j = 0; j < span; ++j) {
      const StageCost sc = cost(0, j, 0);
      if (sc.compute > c || sc.memory > blocks[0].memory) break;
      if (sc.time <= c) G[j] = sc.time;
    }
    for (int64_t i = 1; i < p; ++i) {
      const int64_t mem = blocks[i].memory;
      for (int64_t j = i; j < i + span; ++j) {
        double best = kInf;
        for (int64_t a = j; a >= i; --a) {
          const StageCost sc = bound(a, j, i);
          if (sc.compute > c || sc.memory > mem) break;
          const double prev = G[(i - 1) * span + (a - 1 - (i - 1))];
          if (!(prev < best)) continue;  // max(prev, time) >= prev >= best
          const double ti = time(a, j, i, sc.compute);
          if (ti <= c) best = std::min(best, std::max(prev, ti));
        }
        G[i * span + (j - i)] = best;
      }
    }
    return G[(p - 1) * span + (L - 1 - (p - 1))];
  }

  // Sum and max of a given split, or sum = inf if a stage exceeds its memory.
  Candidate evaluate(const std::vector<int64_t>& bounds) const {
    Candidate out;
    double sum = 0, mx = 0;
    for (int64_t i = 0; i < p; ++i) {
      const StageCost sc = cost(bounds[i], bounds[i + 1] - 1, i);
      if (sc.memory > blocks[i].memory) return out;
      sum += sc.time;
      mx = std::max(mx, sc.time);
    }
    out.sum = sum;
    out.max = mx;
    out.bounds = bounds;
    return out;
  }
};

// Lower bounds on the sum and the max of the stage times of (p, t, d): all work at `speed`, all
// tensor- and data-parallel traffic at tp_bw / dp_bw, no latency; a hair of slack for rounding.
struct Bounds {
  double sum, max, key;
};
Bounds lower_bounds(const Prefix& px, const Options& opt, int64_t L, int64_t p, int64_t t, int64_t d, double speed,
                    double tp_bw, double dp_bw, double max_layer) {
  const double td = static_cast<double>(t * d);
  double lb_sum = (1.0 + opt.backward_factor) * px.flops[L] / (td * speed);
  if (t > 1) {
    lb_sum += 2.0 * static_cast<double>(t - 1) *
              (static_cast<double>(px.tp_comm[L]) / static_cast<double>(d) / static_cast<double>(t) / tp_bw);
  }
  if (d > 1) {
    lb_sum += 2.0 * static_cast<double>(d - 1) *
              (static_cast<double>(px.params[L]) / static_cast<double>(t) * static_cast<double>(opt.grad_bytes_per_param) /
               static_cast<double>(d) / dp_bw) /
              static_cast<double>(opt.microbatches);
  }
  lb_sum *= 1.0 - 1e-12;
  const double lb_max =
      std::max(lb_sum / static_cast<double>(p), (1.0 + opt.backward_factor) * max_layer / (td * speed) * (1.0 - 1e-12));
  return {lb_sum, lb_max, lb_sum + static_cast<double>(opt.microbatches - 1) * lb_max};
}

void validate_devices(const DeviceArrays& dev) {
  if (dev.count < 1) throw ConfigError(field_msg("devices", "need at least one device"));
  for (int64_t i = 0; i < dev.count; ++i) {
    const double f = dev.flops_per_s[i];
    if (!std::isfinite(f) || f <= 0) {
      throw ConfigError(field_msg("devices[" + std::to_string(i) + "].tflops", "must be finite and > 0, got " + std::to_string(f)));
    }
    if (dev.memory[i] < 0) {
      throw ConfigError(field_msg("devices[" + std::to_string(i) + "].memory_bytes", "must be >= 0, got " + std::to_string(dev.memory[i])));
    }
  }
}

void validate_orders(const std::vector<std::vector<int64_t>>& orders, int64_t n, double max_bw) {
  if (orders.empty()) throw ConfigError(field_msg("orders", "need at least one device order"));
  std::vector<char> seen;
  for (size_t k = 0; k < orders.size(); ++k) {
    seen.assign(static_cast<size_t>(n), 0);
    bool ok = static_cast<int64_t>(orders[k].size()) == n;
    for (size_t i = 0; ok && i < orders[k].size(); ++i) {
      const int64_t x = orders[k][i];
      ok = x >= 0 && x < n && !seen[static_cast<size_t>(x)];
      if (ok) seen[static_cast<size_t>(x)] = 1;
    }
    if (!ok) throw ConfigError(field_msg("orders[" + std::to_string(k) + "]", "must be a permutation of the devices"));
  }
  if (!(max_bw >= 0) || !std::isfinite(max_bw)) {
    throw ConfigError(field_msg("max_bw", "must be finite and >= 0, got " + std::to_string(max_bw)));
  }
}

}  // namespace

PlanResult plan_pipeline(const ModelArrays& model, const DeviceArrays& dev, const Options& opt, int64_t fixed_pipeline,
                         int64_t fixed_tensor) {
  validate_devices(dev);
  double max_bw = 0;  // the fastest link; candidate_orders validates every link on its way
  const std::vector<std::vector<int64_t>> orders = candidate_orders(dev, max_bw);
  return plan_pipeline(model, dev, opt, fixed_pipeline, fixed_tensor, orders, max_bw);
}

PlanResult plan_pipeline(const ModelArrays& model, const DeviceArrays& dev, const Options& opt, int64_t fixed_pipeline,
                         int64_t fixed_tensor, const std::vector<std::vector<int64_t>>& orders, double max_bw) {
  if (model.layers < 1) throw ConfigError(field_msg("model", "needs at least one layer"));
  if (opt.microbatches < 1) throw ConfigError(field_msg("microbatches", "must be >= 1, got " + std::to_string(opt.microbatches)));
  if (opt.state_bytes_per_param < 0 || opt.grad_bytes_per_param < 0) {
    throw ConfigError(field_msg("state_bytes_per_param", "byte counts must be >= 0"));
  }
  if (opt.max_tensor_parallel < 1) throw ConfigError(field_msg("max_tensor_parallel", "must be >= 1"));
  if (!std::isfinite(opt.backward_factor) || opt.backward_factor < 0) {
    throw ConfigError(field_msg("backward_factor", "must be finite and >= 0"));
  }
  if (opt.max_placements < 0) {
    throw ConfigError(field_msg("max_placements", "must be >= 0, got " + std::to_string(opt.max_placements)));
  }
  validate_devices(dev);
  validate_orders(orders, dev.count, max_bw);
  const Prefix px = make_prefix(model);
  const int64_t L = model.layers, N = dev.count, B = opt.microbatches;
  const double Bm1 = static_cast<double>(B - 1);
  double max_speed = 0, max_layer = 0;
  int64_t max_mem = 0;
  for (int64_t i = 0; i < N; ++i) {
    max_speed = std::max(max_speed, dev.flops_per_s[i]);
    max_mem = std::max(max_mem, dev.memory[i]);
  }
  for (int64_t i = 0; i < L; ++i) max_layer = std::max(max_layer, model.flops[i]);

  PlanResult res;
  double best = kInf;
  auto record = [&](const Candidate& cand, const Config& cfg, const std::vector<int64_t>& order) {
    const double T = cand.sum + Bm1 * cand.max;
    if (!(T < best)) return;
    best = T;
    res.feasible = true;
    res.pipeline = cfg.p;
    res.tensor = cfg.t;
    res.data = cfg.d;
    res.iteration_time = T;
    res.boundaries = cand.bounds;
    res.placement = order;
  };

  // Phase 1: every (p, t, d) with bounds that hold for any placement (fastest device, fastest link);
  // configurations whose model state cannot fit even p of the largest devices are dropped.
  struct Entry {
    int64_t p, t, d;
    double need;
    Bounds lb;
  };
  std::vector<Entry> entries;
  for (int64_t t = 1; t <= opt.max_tensor_parallel && t <= N; t *= 2) {
    if (N % t != 0 || (fixed_tensor > 0 && t != fixed_tensor)) continue;
    for (int64_t p = 1; p <= std::min(L, N / t); ++p) {
      if ((N / t) % p != 0 || (fixed_pipeline > 0 && p != fixed_pipeline)) continue;
      const int64_t d = N / (t * p);
      // sum over stages of ceil(x_s / t) >= ceil(sum / t): a lower bound on the memory all stages need.
      const double need = static_cast<double>(px.params[L] / t + (px.params[L] % t != 0)) *
                              static_cast<double>(opt.state_bytes_per_param) +
                          static_cast<double>(px.activation[L] / (t * d) + (px.activation[L] % (t * d) != 0));
      if (need > static_cast<double>(p) * static_cast<double>(max_mem) * (1.0 + 1e-12)) continue;
      entries.push_back({p, t, d, need, lower_bounds(px, opt, L, p, t, d, max_speed, max_bw, max_bw, max_layer)});
    }
  }
  // Most promising first (ties: t, then p ascending), so the best plan prunes the rest.
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& x, const Entry& y) { return x.lb.key < y.lb.key; });

  // The exact split search of one placement (its blocks in cfg), skipped when its own bounds
  // (its fastest stage, its fastest links, its memory) cannot beat the best plan.
  // Bounds of a placement from its blocks (complete or first-look: dp_bw an upper bound either way).
  auto placement_bounds = [&](const Config& cfg, double need) {
    double held = 0, speed = 0, tp_bw = 0, dp_bw = 0;
    for (const Block& b : cfg.blocks) {
      held += static_cast<double>(b.memory);
      speed = std::max(speed, b.speed);
      tp_bw = std::max(tp_bw, b.tp_bw);
      dp_bw = std::max(dp_bw, b.dp_bw);
    }
    if (need > held * (1.0 + 1e-12)) return Bounds{kInf, kInf, kInf};
    return lower_bounds(px, opt, L, cfg.p, cfg.t, cfg.d, speed, tp_bw, dp_bw, max_layer);
  };
  auto search = [&](Config& cfg, double need, const std::vector<int64_t>& order) {
    const int64_t p = cfg.p;
    const Bounds lb = placement_bounds(cfg, need);
    if (lb.key >= best) return;
    ++res.placements_searched;
    // A first plan: the FLOP-balanced split.
    const SplitResult sp = split_chain(model.flops, L, p);
    record(cfg.evaluate(sp.boundaries), cfg, order);
    double c = best < kInf ? (B > 1 ? (best - lb.sum) / Bm1 : best) : kInf;
    if (c < lb.max) return;
    // The exact smallest bottleneck below c: no threshold under it is feasible.
    ++res.dp_passes;
    const double lo = std::max(lb.max, cfg.minimax(c));
    if (!(lo < kInf) || lb.sum + Bm1 * lo >= best) return;
    while (c >= lo) {
      ++res.dp_passes;
      const Candidate cand = cfg.pass(c);
      if (!(cand.sum < kInf)) break;
      record(cand, cfg, order);
      if (cand.sum + Bm1 * lo >= best) break;
      c = std::nextafter(cand.max, -kInf);
    }
  };
  // The blocks of a placement; false (blocks incomplete) if a first look without the O(g^2) links
  // between rows and stages already shows it cannot beat the best plan.
  auto fill_blocks = [&](Config& cfg, double need, const std::vector<int64_t>& order) {
    cfg.blocks.clear();
    for (int64_t s = 0; s < cfg.p; ++s) {
      cfg.blocks.push_back(block_properties(dev, order.data(), s, cfg.p, cfg.t, cfg.d, false));
    }
    if (placement_bounds(cfg, need).key >= best) return false;
    for (int64_t s = 0; s < cfg.p; ++s) cfg.blocks[static_cast<size_t>(s)] = block_properties(dev, order.data(), s, cfg.p, cfg.t, cfg.d);
    return true;
  };

  // Phase 2: the candidate device orders of every configuration that can still win; orders whose
  // stages have the same properties as an earlier order's are searched once.
  for (const Entry& e : entries) {
    if (e.lb.key >= best) break;  // sorted: no later configuration can do better
    ++res.configs_searched;
    Config cfg(px, opt, L, e.p, e.t, e.d);
    std::vector<std::vector<Block>> seen;
    for (const auto& order : orders) {
      if (!fill_blocks(cfg, e.need, order)) continue;
      if (std::find(seen.begin(), seen.end(), cfg.blocks) != seen.end()) continue;
      seen.push_back(cfg.blocks);
      search(cfg, e.need, order);
    }
  }
  // Phase 3: every placement of the configurations small enough to enumerate.
  for (const Entry& e : entries) {
    if (e.lb.key >= best) break;
    if (placement_count(N, e.p, e.t, e.d) > static_cast<double>(opt.max_placements)) {
      res.exact = false;
      continue;
    }
    Config cfg(px, opt, L, e.p, e.t, e.d);
    for_each_placement(N, e.p, e.t, e.d, [&](const std::vector<int64_t>& order) {
      if (fill_blocks(cfg, e.need, order)) search(cfg, e.need, order);
      return true;
    });
  }
  if (!res.feasible) return res;
  // Per-stage facts of the winner.
  Config cfg(px, opt, L, res.pipeline, res.tensor, res.data);
  for (int64_t s = 0; s < cfg.p; ++s) {
    cfg.blocks.push_back(block_properties(dev, res.placement.data(), s, cfg.p, cfg.t, cfg.d));
  }
  for (int64_t s = 0; s < res.pipeline; ++s) {
    const StageCost sc = cfg.cost(res.boundaries[s], res.boundaries[s + 1] - 1, s);
    res.stage_time.push_back(sc.time);
    res.stage_memory.push_back(sc.memory);
  }
  return res;
}

}  // namespace aios::partition
