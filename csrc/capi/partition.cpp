// Model partitioning without state: the exact chain split and the pipeline planner.
#include <algorithm>

#include "capi/guard.hpp"
#include "partition/plan.hpp"
#include "partition/split.hpp"

namespace pt = aios::partition;
using aios::capi::Failure;
using aios::capi::guard;
using aios::capi::need_len;
using aios::capi::need_out;
using aios::capi::need_ptr;
using aios::capi::product;

extern "C" {

aios_status aios_split(const double* costs, size_t costs_len, int64_t k, double* out_bottleneck,
                       int64_t* out_boundaries, size_t out_boundaries_len) {
  return guard([&] {
    need_ptr(out_bottleneck, "out_bottleneck");
    need_len(costs, costs_len, costs_len, "costs");
    if (k < 1 || static_cast<uint64_t>(k) > costs_len) {
      throw Failure{AIOS_ERR_INVALID_ARGUMENT,
                    "k: must be in 1.." + std::to_string(costs_len) + " (one layer per stage), got " + std::to_string(k)};
    }
    need_out(out_boundaries, out_boundaries_len, static_cast<size_t>(k) + 1, "out_boundaries");
    const pt::SplitResult r = pt::split_chain(costs, static_cast<int64_t>(costs_len), k);
    std::copy(r.boundaries.begin(), r.boundaries.end(), out_boundaries);
    *out_bottleneck = r.bottleneck;
  });
}

aios_status aios_plan(const aios_plan_model* model, const aios_plan_devices* devices, const aios_plan_options* options,
                      aios_plan_result* out, int64_t* out_boundaries, size_t out_boundaries_len,
                      double* out_stage_time, size_t out_stage_time_len, int64_t* out_stage_memory,
                      size_t out_stage_memory_len) {
  return guard([&] {
    need_ptr(model, "model");
    need_ptr(devices, "devices");
    need_ptr(options, "options");
    need_ptr(out, "out");
    if (model->layers < 1) throw Failure{AIOS_ERR_INVALID_ARGUMENT, "model.layers: must be >= 1, got " + std::to_string(model->layers)};
    if (devices->count < 1) throw Failure{AIOS_ERR_INVALID_ARGUMENT, "devices.count: must be >= 1, got " + std::to_string(devices->count)};
    need_ptr(model->flops, "model.flops");
    need_ptr(model->params, "model.params");
    need_ptr(model->activation, "model.activation");
    need_ptr(model->output, "model.output");
    need_ptr(model->tp_comm, "model.tp_comm");
    need_ptr(devices->flops_per_s, "devices.flops_per_s");
    need_ptr(devices->memory, "devices.memory");
    need_ptr(devices->bandwidth, "devices.bandwidth");
    need_ptr(devices->latency, "devices.latency");
    const size_t L = static_cast<size_t>(model->layers);
    product(static_cast<size_t>(devices->count), static_cast<size_t>(devices->count), "devices.count");
    need_out(out_boundaries, out_boundaries_len, L + 1, "out_boundaries");
    need_out(out_stage_time, out_stage_time_len, L, "out_stage_time");
    need_out(out_stage_memory, out_stage_memory_len, L, "out_stage_memory");
    const pt::ModelArrays m{model->layers, model->flops, model->params, model->activation, model->output,
                            model->tp_comm};
    const pt::DeviceArrays d{devices->count, devices->flops_per_s, devices->memory, devices->bandwidth,
                             devices->latency};
    const pt::Options o{options->microbatches, options->grad_bytes_per_param, options->state_bytes_per_param,
                        options->max_tensor_parallel, options->backward_factor};
    const pt::PlanResult r = pt::plan_pipeline(m, d, o, options->fixed_pipeline, options->fixed_tensor);
    std::copy(r.boundaries.begin(), r.boundaries.end(), out_boundaries);
    std::copy(r.stage_time.begin(), r.stage_time.end(), out_stage_time);
    std::copy(r.stage_memory.begin(), r.stage_memory.end(), out_stage_memory);
    *out = aios_plan_result{r.feasible ? 1 : 0, r.pipeline, r.tensor,       r.data,
                            r.iteration_time, r.configs_searched, r.dp_passes};
  });
}

}  // extern "C"
