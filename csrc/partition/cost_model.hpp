// Per-stage cost model of the pipeline planner: compute from FLOPs and device speed, ring
// all-reduces and point-to-point sends over the bandwidth of the links the chosen devices share,
// memory per device with the activations 1F1B keeps in flight.
#pragma once
#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

namespace aios::partition {

// Model: a chain of L layers, per micro-batch. Prefix sums make every range query O(1).
struct ModelArrays {
  int64_t layers = 0;
  const double* flops = nullptr;         // forward FLOPs per micro-batch
  const int64_t* params = nullptr;       // parameter count
  const int64_t* activation = nullptr;   // bytes stashed for backward per micro-batch (no TP)
  const int64_t* output = nullptr;       // bytes of the layer's output (sent to the next stage)
  const int64_t* tp_comm = nullptr;      // bytes all-reduced per micro-batch under tensor parallelism
};

// Devices in placement order (node by node) with an n x n bandwidth (bytes/s) and latency (s).
struct DeviceArrays {
  int64_t count = 0;
  const double* flops_per_s = nullptr;
  const int64_t* memory = nullptr;
  const double* bandwidth = nullptr;
  const double* latency = nullptr;
};

struct Options {
  int64_t microbatches = 1;          // B
  int64_t grad_bytes_per_param = 2;  // gradients all-reduced across data-parallel replicas
  int64_t state_bytes_per_param = 16;  // weights + grads + optimizer state (mixed-precision Adam)
  int64_t max_tensor_parallel = 8;
  double backward_factor = 2.0;      // backward FLOPs = factor x forward
  int64_t max_placements = 50000;    // enumerate every placement of a configuration up to this many
};

// Properties of the devices of one stage under (p, t, d) and a placement `order` (a permutation of
// the devices): stage s owns order[s*g, (s+1)*g), g = t*d, as d rows of t tensor-parallel ranks.
// A collective over a set of devices is charged at the slowest link between any two of them (and
// the largest latency), so a stage's cost does not depend on the order inside a row or of the rows:
// exact on switched domains (NVSwitch, network), pessimistic on meshes such as DGX-1's, where a
// ring may avoid the slowest pair.
struct Block {
  double speed = 0;      // slowest device, FLOP/s
  int64_t memory = 0;    // smallest device memory
  double tp_bw = 0, tp_lat = 0;  // slowest link inside any tensor-parallel row
  double dp_bw = 0, dp_lat = 0;  // slowest link between two rows (the data-parallel replicas)
  double pp_bw = 0, pp_lat = 0;  // slowest link to any device of the next stage (inf for the last)
  bool operator==(const Block& o) const {
    return speed == o.speed && memory == o.memory && tp_bw == o.tp_bw && tp_lat == o.tp_lat && dp_bw == o.dp_bw &&
           dp_lat == o.dp_lat && pp_bw == o.pp_bw && pp_lat == o.pp_lat;
  }
};

// Every pair of distinct devices needs bandwidth > 0 and finite (TopologyError: disconnected) and a
// latency finite and >= 0 (ConfigError), since a placement may put any two devices together.
// link_row checks the links of device x and returns its fastest, O(n); validate_links checks all
// and returns the fastest, O(n^2).
double link_row(const DeviceArrays& dev, int64_t x);
double validate_links(const DeviceArrays& dev);

// O(g * t), plus O(g^2) for the links between rows and to the next stage unless
// links_between_rows is false: a cheap first look for bounds, where dp_bw is only an upper bound
// (the slowest of d - 1 of its pairs), dp_lat = 0 and pp_* stay at inf / 0.
// The links must have passed validate_links (or candidate_orders, which runs it).
Block block_properties(const DeviceArrays& dev, const int64_t* order, int64_t stage, int64_t stages, int64_t t,
                       int64_t d, bool links_between_rows = true);
// The same with the devices in topology order (order = 0, 1, ..., n-1); validates the links, O(n^2).
Block block_properties(const DeviceArrays& dev, int64_t stage, int64_t stages, int64_t t, int64_t d);

struct Prefix {
  std::vector<double> flops;
  std::vector<int64_t> params, activation, tp_comm;
  const int64_t* output = nullptr;
};
// O(L); throws aios::ConfigError on NaN/negative values (naming the layer) or int64 overflow.
Prefix make_prefix(const ModelArrays& m);

struct StageCost {
  double time = 0;      // per micro-batch: compute + TP all-reduce + sends + amortised DP all-reduce
  double compute = 0;
  int64_t memory = 0;   // bytes per device
};

namespace detail {
inline int64_t ceil_div(int64_t a, int64_t b) { return a / b + (a % b != 0); }
// Ring all-reduce of `bytes` over n ranks: 2(n-1)/n of the data crosses the slowest link.
inline double ring_allreduce(double bytes, int64_t n, double bw, double lat) {
  if (n <= 1 || bytes <= 0) return 0.0;
  return 2.0 * static_cast<double>(n - 1) * (bytes / static_cast<double>(n) / bw + lat);
}
}  // namespace detail

// Layers [a, b] (inclusive) as stage `stage` of `stages`. O(1). Inline: the DP's innermost call.
inline StageCost stage_cost(const Prefix& px, const Block& blk, const Options& opt, int64_t a, int64_t b, int64_t stage,
                     int64_t stages, int64_t t, int64_t d) {
  StageCost c;
  const double td = static_cast<double>(t * d);
  const double fwd = px.flops[b + 1] - px.flops[a];
  c.compute = (1.0 + opt.backward_factor) * fwd / (td * blk.speed);
  double time = c.compute;
  if (t > 1) {
    time += detail::ring_allreduce(static_cast<double>(px.tp_comm[b + 1] - px.tp_comm[a]) / static_cast<double>(d), t,
                           blk.tp_bw, blk.tp_lat);
  }
  if (stage + 1 < stages) {  // activation forward, its gradient backward; each TP rank sends its 1/t
    time += 2.0 * (static_cast<double>(px.output[b]) / td / blk.pp_bw + blk.pp_lat);
  }
  const int64_t params = px.params[b + 1] - px.params[a];
  if (d > 1) {  // one gradient all-reduce per iteration, spread over the B micro-batches
    const double grads = static_cast<double>(detail::ceil_div(params, t)) * static_cast<double>(opt.grad_bytes_per_param);
    time += detail::ring_allreduce(grads, d, blk.dp_bw, blk.dp_lat) / static_cast<double>(opt.microbatches);
  }
  c.time = time;
  const int64_t inflight = std::min<int64_t>(opt.microbatches, stages - stage);
  const int64_t act = detail::ceil_div(px.activation[b + 1] - px.activation[a], t * d);
  const int64_t state = detail::ceil_div(params, t);
  // Saturate instead of overflowing: anything above the device memory is infeasible anyway.
  const int64_t cap = std::numeric_limits<int64_t>::max() / 4;
  const double mem = static_cast<double>(state) * static_cast<double>(opt.state_bytes_per_param) +
                     static_cast<double>(inflight) * static_cast<double>(act);
  c.memory = mem >= static_cast<double>(cap) ? cap
                                             : state * opt.state_bytes_per_param + inflight * act;
  return c;
}

}  // namespace aios::partition
