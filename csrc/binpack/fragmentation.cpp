#include "binpack/fragmentation.hpp"

#include <cmath>
#include <limits>
#include <string>

#include "common/error.hpp"

namespace aios::binpack {

namespace {

std::string at(const char* field, int i) { return std::string(field) + "[" + std::to_string(i) + "]"; }

void check_gpu(int64_t gpu, const std::string& where) {
  if (gpu < 0) throw ConfigError(where + ": must be >= 0, got " + std::to_string(gpu));
  if (gpu >= kMilliGpu && gpu % kMilliGpu != 0)
    throw ConfigError(where + ": whole-GPU requests must be a multiple of 1000 milli-GPU, got " + std::to_string(gpu));
  if (gpu / kMilliGpu > kMaxFragGpus) throw ConfigError(where + ": more than 64 GPUs, got " + std::to_string(gpu));
}

bool model_ok(uint64_t mask, int32_t model) {
  if (mask == 0) return true;
  return model >= 0 && ((mask >> model) & 1ULL);
}

// F_n(M) * sum p, before the division, so both callers divide once.
double weighted(const int64_t* free, int count, int64_t cpu, int64_t mem, int32_t model, const TaskClasses& c) {
  double total = 0.0;
  for (int k = 0; k < c.m; ++k) {
    TaskRequest t{c.cpu[k], c.mem[k], c.gpu[k], c.model_mask[k]};
    total += c.popularity[k] * static_cast<double>(task_fragmentation(free, count, cpu, mem, model, t));
  }
  return total;
}

double popularity_sum(const TaskClasses& c) {
  double s = 0.0;
  for (int k = 0; k < c.m; ++k) s += c.popularity[k];
  return s;
}

}  // namespace

void validate_nodes(const GpuNodes& nodes) {
  if (nodes.g < 0 || nodes.g > kMaxFragGpus)
    throw ConfigError("gpu_free: at most 64 GPU slots per node, got " + std::to_string(nodes.g));
  for (int i = 0; i < nodes.n; ++i) {
    const int c = nodes.gpu_count[i];
    if (c < 0 || c > nodes.g)
      throw ConfigError(at("gpu_count", i) + ": must be in [0, " + std::to_string(nodes.g) + "], got " + std::to_string(c));
    for (int g = 0; g < c; ++g) {
      const int64_t f = nodes.gpu_free[static_cast<size_t>(i) * nodes.g + g];
      if (f < 0 || f > kMilliGpu)
        throw ConfigError("gpu_free[" + std::to_string(i) + ", " + std::to_string(g) + "]: must be in [0, 1000], got " +
                          std::to_string(f));
    }
    if (nodes.cpu_free[i] < 0) throw ConfigError(at("cpu_free", i) + ": must be >= 0, got " + std::to_string(nodes.cpu_free[i]));
    if (nodes.mem_free[i] < 0) throw ConfigError(at("mem_free", i) + ": must be >= 0, got " + std::to_string(nodes.mem_free[i]));
    if (nodes.model[i] < -1 || nodes.model[i] > 63)
      throw ConfigError(at("model", i) + ": must be in [-1, 63], got " + std::to_string(nodes.model[i]));
  }
}

void validate_request(const TaskRequest& t, const char* field) {
  if (t.cpu < 0) throw ConfigError(std::string(field) + ".cpu_milli: must be >= 0, got " + std::to_string(t.cpu));
  if (t.mem < 0) throw ConfigError(std::string(field) + ".memory: must be >= 0, got " + std::to_string(t.mem));
  check_gpu(t.gpu, std::string(field) + ".gpu_milli");
}

void validate_classes(const TaskClasses& c) {
  if (c.m < 1) throw ConfigError("workload: expected at least one task class");
  double s = 0.0;
  for (int k = 0; k < c.m; ++k) {
    if (c.cpu[k] < 0) throw ConfigError(at("cpu_milli", k) + ": must be >= 0, got " + std::to_string(c.cpu[k]));
    if (c.mem[k] < 0) throw ConfigError(at("memory", k) + ": must be >= 0, got " + std::to_string(c.mem[k]));
    check_gpu(c.gpu[k], at("gpu_milli", k));
    const double p = c.popularity[k];
    if (!std::isfinite(p) || p < 0) throw ConfigError(at("popularity", k) + ": must be finite and >= 0, got " + std::to_string(p));
    s += p;
  }
  if (!(s > 0)) throw ConfigError("popularity: must have a positive sum");
}

int64_t task_fragmentation(const int64_t* free, int count, int64_t cpu_free, int64_t mem_free, int32_t model,
                           const TaskRequest& m) {
  int64_t total = 0;
  for (int g = 0; g < count; ++g) total += free[g];
  if (m.gpu == 0 || m.cpu > cpu_free || m.mem > mem_free || !model_ok(m.model_mask, model)) return total;
  const int64_t k = m.gpu < kMilliGpu ? 1 : m.gpu / kMilliGpu;
  const int64_t d = m.gpu < kMilliGpu ? m.gpu : kMilliGpu;
  int64_t usable = 0, small = 0;
  for (int g = 0; g < count; ++g) {
    if (free[g] >= d) ++usable;
    else small += free[g];
  }
  return usable < k ? total : small;
}

void node_fragmentation(const GpuNodes& nodes, const TaskClasses& classes, double* out) {
  const double ps = popularity_sum(classes);
  for (int i = 0; i < nodes.n; ++i) {
    const int64_t* free = nodes.gpu_free + static_cast<size_t>(i) * nodes.g;
    out[i] = weighted(free, nodes.gpu_count[i], nodes.cpu_free[i], nodes.mem_free[i], nodes.model[i], classes) / ps;
  }
}

void fgd_scores(const GpuNodes& nodes, const TaskClasses& classes, const TaskRequest& task, double* delta,
                uint64_t* mask) {
  const double ps = popularity_sum(classes);
  const double inf = std::numeric_limits<double>::infinity();
  int64_t trial[kMaxFragGpus];
  for (int i = 0; i < nodes.n; ++i) {
    delta[i] = inf;
    mask[i] = 0;
    const int64_t* free = nodes.gpu_free + static_cast<size_t>(i) * nodes.g;
    const int count = nodes.gpu_count[i];
    const int64_t cpu = nodes.cpu_free[i], mem = nodes.mem_free[i];
    const int32_t model = nodes.model[i];
    if (task.cpu > cpu || task.mem > mem) continue;
    if (task.gpu > 0 && !model_ok(task.model_mask, model)) continue;
    const double before = weighted(free, count, cpu, mem, model, classes);
    for (int g = 0; g < count; ++g) trial[g] = free[g];
    const int64_t cpu2 = cpu - task.cpu, mem2 = mem - task.mem;
    if (task.gpu == 0) {
      delta[i] = (weighted(trial, count, cpu2, mem2, model, classes) - before) / ps;
      continue;
    }
    if (task.gpu < kMilliGpu) {
      for (int g = 0; g < count; ++g) {
        if (free[g] < task.gpu) continue;
        trial[g] = free[g] - task.gpu;
        const double dlt = (weighted(trial, count, cpu2, mem2, model, classes) - before) / ps;
        trial[g] = free[g];
        if (dlt < delta[i]) {
          delta[i] = dlt;
          mask[i] = 1ULL << g;
        }
      }
      continue;
    }
    int64_t need = task.gpu / kMilliGpu;
    uint64_t take = 0;
    for (int g = 0; g < count && need > 0; ++g) {
      if (free[g] == kMilliGpu) {
        take |= 1ULL << g;
        trial[g] = 0;
        --need;
      }
    }
    if (need > 0) continue;
    delta[i] = (weighted(trial, count, cpu2, mem2, model, classes) - before) / ps;
    mask[i] = take;
  }
}

}  // namespace aios::binpack
