// Engine lifetime and cluster changes: create, destroy, info, constraints, nodes, cordon.
#include <mutex>
#include <string>
#include <vector>

#include "capi/engine_registry.hpp"
#include "capi/guard.hpp"
#include "placement/policy.hpp"

namespace pl = aios::placement;
using aios::capi::EngineBox;
using aios::capi::Failure;
using aios::capi::guard;
using aios::capi::lookup_engine;
using aios::capi::need_len;
using aios::capi::need_optional_len;
using aios::capi::need_ptr;

namespace {

bool is_basic_name(const std::string& name) {  // kube-scheduler scores these even when not requested
  return name == "cpu" || name == "memory" || name == "ephemeral-storage";
}

std::vector<std::string> resource_names(const aios_engine_desc& d, size_t R) {
  need_optional_len(d.resource_names, d.resource_names_len, R, "desc.resource_names");
  std::vector<std::string> names;
  for (size_t r = 0; r < R; ++r) {
    if (d.resource_names_len == 0) {
      names.push_back("resource" + std::to_string(r));
      continue;
    }
    const char* name = d.resource_names[r];
    if (name == nullptr) throw Failure{AIOS_ERR_NULL_ARGUMENT, "desc.resource_names[" + std::to_string(r) + "]: must not be NULL"};
    names.emplace_back(name);
  }
  return names;
}

pl::Policy policy_of(const aios_engine_desc& d, size_t R) {
  need_ptr(d.policy, "desc.policy");
  pl::Policy p;
  p.kind = pl::policy_from_name(d.policy);
  if (p.kind == pl::PolicyKind::Fgd) {
    throw Failure{AIOS_ERR_INVALID_ARGUMENT, "desc.policy: 'fgd' needs a workload, which the C API does not take yet"};
  }
  need_optional_len(d.weights, d.weights_len, R, "desc.weights");
  p.weights.assign(R, 1);
  if (d.weights_len) p.weights.assign(d.weights, d.weights + R);
  if (d.shape_len % 2 != 0) {
    throw Failure{AIOS_ERR_INVALID_ARGUMENT,
                  "desc.shape: expected (utilization, score) pairs, got " + std::to_string(d.shape_len) + " values"};
  }
  need_len(d.shape, d.shape_len, d.shape_len, "desc.shape");
  for (size_t k = 0; k + 1 < d.shape_len; k += 2) p.shape.push_back({d.shape[k], d.shape[k + 1]});
  if (p.kind == pl::PolicyKind::RequestedToCapacityRatio && p.shape.empty()) p.shape = {{0, 0}, {100, 10}};
  return p;
}

}  // namespace

extern "C" {

aios_status aios_engine_create(const aios_engine_desc* desc, aios_engine* out) {
  return guard([&] {
    need_ptr(desc, "desc");
    need_ptr(out, "out");
    const aios_engine_desc& d = *desc;
    if (d.nodes < 0) throw Failure{AIOS_ERR_INVALID_ARGUMENT, "desc.nodes: must be >= 0, got " + std::to_string(d.nodes)};
    if (d.resources < 1 || d.resources > pl::kMaxResources) {
      throw Failure{AIOS_ERR_INVALID_ARGUMENT, "desc.resources: must be in 1..64, got " + std::to_string(d.resources)};
    }
    if (d.levels < 0) throw Failure{AIOS_ERR_INVALID_ARGUMENT, "desc.levels: must be >= 0, got " + std::to_string(d.levels)};
    const size_t n = static_cast<size_t>(d.nodes), R = static_cast<size_t>(d.resources);
    need_len(d.capacity, d.capacity_len, n * R, "desc.capacity");
    need_len(d.domains, d.domains_len, n * static_cast<size_t>(d.levels), "desc.domains");
    std::vector<std::string> names = resource_names(d, R);
    need_optional_len(d.basic, d.basic_len, R, "desc.basic");
    std::vector<uint8_t> basic(R);
    for (size_t r = 0; r < R; ++r) basic[r] = d.basic_len ? (d.basic[r] != 0) : is_basic_name(names[r]);
    const pl::Policy policy = policy_of(d, R);
    pl::ClusterArrays c;
    c.nodes = d.nodes;
    c.resources = d.resources;
    c.capacity = d.capacity;
    c.basic = basic.data();
    c.gpu_column = d.gpu_column;
    c.levels = d.levels;
    c.domains = d.domains;
    *out = aios::capi::register_engine(std::make_shared<EngineBox>(c, policy, d.seed, std::move(names)));
  });
}

aios_status aios_engine_destroy(aios_engine engine) {
  return guard([&] { aios::capi::unregister_engine(engine); });
}

aios_status aios_engine_get_info(aios_engine engine, aios_engine_info* out) {
  return guard([&] {
    need_ptr(out, "out");
    auto box = lookup_engine(engine);
    std::shared_lock<std::shared_mutex> hold(box->lock);
    const pl::Engine& e = box->engine;
    *out = aios_engine_info{e.node_slots(), e.live_nodes(), e.resources(), e.levels(), e.constraint_count(),
                            e.task_count()};
  });
}

aios_status aios_engine_add_constraint(aios_engine engine, const uint8_t* taint_ok, size_t taint_ok_len,
                                       const uint8_t* affinity_ok, size_t affinity_ok_len, int32_t group,
                                       int32_t max_per_node, int32_t* out_constraint) {
  return guard([&] {
    need_ptr(out_constraint, "out_constraint");
    auto box = lookup_engine(engine);
    std::unique_lock<std::shared_mutex> hold(box->lock);
    const size_t n = static_cast<size_t>(box->engine.node_slots());
    need_len(taint_ok, taint_ok_len, n, "taint_ok");
    need_len(affinity_ok, affinity_ok_len, n, "affinity_ok");
    *out_constraint = box->engine.add_constraint(taint_ok, affinity_ok, group, max_per_node);
  });
}

aios_status aios_engine_add_node(aios_engine engine, const int64_t* capacity, size_t capacity_len,
                                 const int32_t* domains, size_t domains_len, const uint8_t* taint_ok,
                                 size_t taint_ok_len, const uint8_t* affinity_ok, size_t affinity_ok_len,
                                 int32_t gpu_model, int32_t* out_node) {
  return guard([&] {
    need_ptr(out_node, "out_node");
    auto box = lookup_engine(engine);
    std::unique_lock<std::shared_mutex> hold(box->lock);
    pl::Engine& e = box->engine;
    need_len(capacity, capacity_len, static_cast<size_t>(e.resources()), "capacity");
    need_len(domains, domains_len, static_cast<size_t>(e.levels()), "domains");
    const size_t C = static_cast<size_t>(e.constraint_count());
    need_len(taint_ok, taint_ok_len, C, "taint_ok");
    need_len(affinity_ok, affinity_ok_len, C, "affinity_ok");
    *out_node = e.add_node(capacity, domains, taint_ok, affinity_ok, gpu_model);
  });
}

aios_status aios_engine_set_cordoned(aios_engine engine, int32_t node, int32_t cordoned) {
  return guard([&] {
    auto box = lookup_engine(engine);
    std::unique_lock<std::shared_mutex> hold(box->lock);
    box->engine.set_cordoned(node, cordoned != 0);
  });
}

}  // extern "C"
