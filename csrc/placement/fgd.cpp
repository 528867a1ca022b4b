// The fgd policy inside the engine: Fragmentation Gradient Descent (Weng et al., USENIX ATC 2023)
// over the measure of binpack/fragmentation.hpp. With q = floor(1000 * delta + 0.5), where
// delta = (sum_m p_m F_after(m) - sum_m p_m F_before(m)) / sum_m p_m in milli-GPU, a node's score
// is -q, or -floor(q / (1000 r)) with a resolution of r milli-GPU (q is rounded first so that a
// growth of exactly zero never falls into the step below through floating-point noise).
#include <algorithm>
#include <cmath>
#include <limits>

#include "binpack/fragmentation.hpp"
#include "placement/engine.hpp"

namespace aios::placement {

namespace {
// Bounds the score cache to about 64 MiB; past it the cache starts again empty.
constexpr double kFgdCacheBytes = 64.0 * (1 << 20);

// Division rounding towards minus infinity (d > 0): a small fall must not tie with no change.
int64_t floor_div(int64_t a, int64_t d) { return a / d - (a % d != 0 && a < 0 ? 1 : 0); }
}  // namespace

double Engine::fgd_weighted(int32_t node, const int64_t* gpu_free, int64_t cpu_free, int64_t mem_free) const {
  const FgdWorkload& w = policy_.fgd;
  double total = 0.0;
  for (size_t k = 0; k < w.cpu.size(); ++k) {
    const binpack::TaskRequest t{w.cpu[k], w.memory[k], w.gpu[k], w.model_mask[k]};
    const int64_t f = binpack::task_fragmentation(gpu_free, gpu_count_[node], cpu_free, mem_free, model_[node], t);
    total += w.popularity[k] * static_cast<double>(f);
  }
  return total;
}

void Engine::fgd_refresh(int32_t node) {
  if (policy_.kind != PolicyKind::Fgd) return;
  if (++stamp_clock_ == 0) {  // wrapped: start every stamp and the cache again
    fgd_cache_.map.clear();
    std::fill(node_stamp_.begin(), node_stamp_.end(), 1u);
    stamp_clock_ = 2;
  }
  node_stamp_[node] = stamp_clock_;
  int64_t gpu_free[kMaxGpusPerNode];
  for (int k = 0; k < gpu_count_[node]; ++k) gpu_free[k] = kGpuMilli - gpu_used_[gpu_offset_[node] + k];
  const FgdWorkload& w = policy_.fgd;
  const int64_t* f = &free_[static_cast<size_t>(node) * R_];
  fgd_before_[node] = fgd_weighted(node, gpu_free, w.cpu_column >= 0 ? f[w.cpu_column] : 0,
                                   w.memory_column >= 0 ? f[w.memory_column] : 0);
}

double Engine::fgd_delta(int32_t node, const int64_t* req, int* share_gpu) const {
  const FgdWorkload& w = policy_.fgd;
  const int64_t* f = &free_[static_cast<size_t>(node) * R_];
  const int64_t cpu = w.cpu_column >= 0 ? f[w.cpu_column] - req[w.cpu_column] : 0;
  const int64_t mem = w.memory_column >= 0 ? f[w.memory_column] - req[w.memory_column] : 0;
  const int count = gpu_count_[node];
  int64_t trial[kMaxGpusPerNode];
  for (int k = 0; k < count; ++k) trial[k] = kGpuMilli - gpu_used_[gpu_offset_[node] + k];
  const int64_t g = gpu_col_ >= 0 ? req[gpu_col_] : 0;
  const double before = fgd_before_[node];
  *share_gpu = -1;
  if (g >= kGpuMilli) {  // whole GPUs: the lowest-indexed free ones, as apply() takes them
    int64_t need = g / kGpuMilli;
    for (int k = 0; k < count && need > 0; ++k) {
      if (trial[k] == kGpuMilli) {
        trial[k] = 0;
        --need;
      }
    }
  }
  if (g == 0 || g >= kGpuMilli) return (fgd_weighted(node, trial, cpu, mem) - before) / fgd_psum_;
  // A share: try each GPU that holds it. F depends on the multiset of free amounts only, so a GPU
  // whose free amount an earlier GPU had gives the same growth (and loses the tie): skip it.
  double best = std::numeric_limits<double>::infinity();
  for (int k = 0; k < count; ++k) {
    const int64_t had = trial[k];
    if (had < g) continue;
    bool seen = false;
    for (int j = 0; j < k && !seen; ++j) seen = trial[j] == had;
    if (seen) continue;
    trial[k] = had - g;
    const double d = (fgd_weighted(node, trial, cpu, mem) - before) / fgd_psum_;
    trial[k] = had;
    if (d < best) {
      best = d;
      *share_gpu = k;
    }
  }
  return best;
}

int64_t Engine::fgd_score(int32_t node, const int64_t* req) const {
  const FgdWorkload& w = policy_.fgd;
  const FgdKey key{w.cpu_column >= 0 ? req[w.cpu_column] : 0, w.memory_column >= 0 ? req[w.memory_column] : 0,
                   gpu_col_ >= 0 ? req[gpu_col_] : 0};
  auto it = fgd_cache_.map.find(key);
  if (it == fgd_cache_.map.end()) {
    const double entry_bytes = 12.0 * static_cast<double>(n_ + 1);
    if (static_cast<double>(fgd_cache_.map.size() + 1) * entry_bytes > kFgdCacheBytes) fgd_cache_.map.clear();
    it = fgd_cache_.map.emplace(key, FgdCacheEntry{}).first;
  }
  FgdCacheEntry& e = it->second;
  if (e.stamp.size() < static_cast<size_t>(n_)) {
    e.stamp.resize(static_cast<size_t>(n_), 0);
    e.score.resize(static_cast<size_t>(n_), 0);
  }
  if (e.stamp[node] != node_stamp_[node]) {
    int gpu = -1;
    const double delta = fgd_delta(node, req, &gpu);
    const int64_t q = static_cast<int64_t>(std::floor(delta * 1000.0 + 0.5));
    const int64_t step = policy_.fgd.resolution > 0 ? 1000 * policy_.fgd.resolution : 1;
    e.score[node] = -floor_div(q, step);
    e.stamp[node] = node_stamp_[node];
  }
  return e.score[node];
}

}  // namespace aios::placement
