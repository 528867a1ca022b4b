// GPU fragmentation measure of Fragmentation Gradient Descent (Weng et al., "Beware of
// Fragmentation", USENIX ATC 2023; notes/algorithms.md §1.7).
//
// A node has per-GPU free capacity R_g in milli-GPU (0..1000), free CPU (milli) and free memory
// (bytes), and a GPU model id. A task class m asks for cpu, memory and gpu milli-GPU in total:
// gpu < 1000 is a share of one GPU (k = 1, per-GPU demand d = gpu), gpu >= 1000 is k = gpu / 1000
// whole GPUs (d = 1000), gpu = 0 is a CPU-only task; model_mask (bit i = model id i, 0 = any)
// restricts the GPU model.
//   F_n(m) = sum_g R_g                  if m asks no GPU or cannot run on n;
//          = sum_{g: R_g < d} R_g       otherwise (free shares too small for one of m's GPUs).
//   F_n(M) = sum_m p_m F_n(m) / sum_m p_m  (expected GPU capacity the workload cannot use).
// FGD places a task where F grows least: delta = F_n'(M) - F_n(M) for the node after placement.
#pragma once
#include <cstdint>
#include <vector>

namespace aios::binpack {

constexpr int64_t kMilliGpu = 1000;
constexpr int kMaxFragGpus = 64;

struct GpuNodes {
  int n = 0;
  int g = 0;                          // GPU slots per row (>= every gpu_count)
  const int64_t* gpu_free = nullptr;  // [n, g] milli-GPU; slots >= gpu_count[i] are ignored
  const int32_t* gpu_count = nullptr; // [n]
  const int64_t* cpu_free = nullptr;  // [n]
  const int64_t* mem_free = nullptr;  // [n]
  const int32_t* model = nullptr;     // [n], -1 = none; ids 0..63
};

struct TaskClasses {
  int m = 0;
  const int64_t* cpu = nullptr;         // [m]
  const int64_t* mem = nullptr;         // [m]
  const int64_t* gpu = nullptr;         // [m] total milli-GPU
  const uint64_t* model_mask = nullptr; // [m]
  const double* popularity = nullptr;   // [m], >= 0, positive sum
};

struct TaskRequest {
  int64_t cpu = 0, mem = 0, gpu = 0;
  uint64_t model_mask = 0;
};

// Validation (ConfigError naming field and value): free values in range, counts in [0, g],
// g <= 64, model ids in [-1, 63], gpu demands either < 1000 or a multiple of 1000, negative
// quantities, popularity NaN / negative / all zero.
void validate_nodes(const GpuNodes& nodes);
void validate_classes(const TaskClasses& classes);
void validate_request(const TaskRequest& task, const char* field);

// F_n(m) for one node given its free GPU vector. O(G).
int64_t task_fragmentation(const int64_t* gpu_free, int count, int64_t cpu_free, int64_t mem_free, int32_t model,
                           const TaskRequest& m);

// F_n(M) for every node. O(n m G).
void node_fragmentation(const GpuNodes& nodes, const TaskClasses& classes, double* out);

// For each node, the least fragmentation increase of placing `task` there and the GPUs it would
// take (bit mask over the node's GPU slots). Infeasible nodes get +inf and mask 0. Shares try every
// GPU that fits (ties: lower index); whole GPUs take the lowest-indexed fully free ones (all are
// equivalent). O(n m G^2).
void fgd_scores(const GpuNodes& nodes, const TaskClasses& classes, const TaskRequest& task, double* delta,
                uint64_t* mask);

}  // namespace aios::binpack
