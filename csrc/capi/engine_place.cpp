// Engine calls that place and release tasks; each takes the engine exclusively.
#include <algorithm>
#include <mutex>
#include <vector>

#include "capi/engine_registry.hpp"
#include "capi/guard.hpp"

namespace pl = aios::placement;
using aios::capi::Failure;
using aios::capi::guard;
using aios::capi::lookup_engine;
using aios::capi::need_len;
using aios::capi::need_optional_len;
using aios::capi::need_out;
using aios::capi::need_ptr;
using aios::capi::product;
using aios::capi::to_int;

namespace {

// The per-task arrays of a batch, checked, with the optional ones filled with their defaults.
struct Batch {
  int m = 0;
  const int64_t* requests = nullptr;
  const int64_t* ids = nullptr;
  const int64_t* priority = nullptr;
  const int32_t* constraints = nullptr;
  std::vector<int64_t> default_priority;
  std::vector<int32_t> default_constraints;
};

void read_batch(Batch& b, const pl::Engine& e, size_t tasks, const int64_t* requests, size_t requests_len,
                const int64_t* ids, size_t ids_len, const int64_t* priority, size_t priority_len,
                const int32_t* constraints, size_t constraints_len) {
  b.m = to_int(tasks, "tasks");
  need_len(requests, requests_len, product(tasks, static_cast<size_t>(e.resources()), "requests"), "requests");
  need_len(ids, ids_len, tasks, "ids");
  need_optional_len(priority, priority_len, tasks, "priority");
  need_optional_len(constraints, constraints_len, tasks, "constraints");
  b.requests = requests;
  b.ids = ids;
  if (priority_len) {
    b.priority = priority;
  } else {
    b.default_priority.assign(tasks, 0);
    b.priority = b.default_priority.data();
  }
  if (constraints_len) {
    b.constraints = constraints;
  } else {
    b.default_constraints.assign(tasks, 0);
    b.constraints = b.default_constraints.data();
  }
}

}  // namespace

extern "C" {

aios_status aios_engine_place_batch(aios_engine engine, size_t tasks, const int64_t* requests, size_t requests_len,
                                    const int64_t* ids, size_t ids_len, const int64_t* priority, size_t priority_len,
                                    const int32_t* constraints, size_t constraints_len, int32_t* out_nodes,
                                    size_t out_nodes_len) {
  return guard([&] {
    auto box = lookup_engine(engine);
    std::unique_lock<std::shared_mutex> hold(box->lock);
    Batch b;
    read_batch(b, box->engine, tasks, requests, requests_len, ids, ids_len, priority, priority_len, constraints,
               constraints_len);
    need_out(out_nodes, out_nodes_len, tasks, "out_nodes");
    box->engine.place_batch(b.requests, b.m, b.ids, b.priority, b.constraints, out_nodes);
  });
}

aios_status aios_engine_assign(aios_engine engine, size_t tasks, const int64_t* requests, size_t requests_len,
                               const int64_t* ids, size_t ids_len, const int64_t* priority, size_t priority_len,
                               const int32_t* constraints, size_t constraints_len, const int32_t* nodes,
                               size_t nodes_len) {
  return guard([&] {
    auto box = lookup_engine(engine);
    std::unique_lock<std::shared_mutex> hold(box->lock);
    Batch b;
    read_batch(b, box->engine, tasks, requests, requests_len, ids, ids_len, priority, priority_len, constraints,
               constraints_len);
    need_len(nodes, nodes_len, tasks, "nodes");
    box->engine.assign(b.requests, b.m, b.ids, b.priority, b.constraints, nodes);
  });
}

aios_status aios_engine_release(aios_engine engine, const int64_t* ids, size_t ids_len) {
  return guard([&] {
    auto box = lookup_engine(engine);
    std::unique_lock<std::shared_mutex> hold(box->lock);
    need_len(ids, ids_len, ids_len, "ids");
    box->engine.release(ids, to_int(ids_len, "ids"));
  });
}

aios_status aios_engine_place_gang(aios_engine engine, size_t members, const int64_t* requests, size_t requests_len,
                                   const int64_t* ids, size_t ids_len, int64_t priority, int32_t constraint,
                                   int32_t min_count, int32_t strategy, int32_t level, int32_t required,
                                   int32_t* out_nodes, size_t out_nodes_len, int32_t* out_placed) {
  return guard([&] {
    need_ptr(out_placed, "out_placed");
    auto box = lookup_engine(engine);
    std::unique_lock<std::shared_mutex> hold(box->lock);
    pl::Engine& e = box->engine;
    const int m = to_int(members, "members");
    need_len(requests, requests_len, product(members, static_cast<size_t>(e.resources()), "requests"), "requests");
    need_len(ids, ids_len, members, "ids");
    need_out(out_nodes, out_nodes_len, members, "out_nodes");
    if (strategy < AIOS_GANG_PACK || strategy > AIOS_GANG_STRICT_SPREAD) {
      throw Failure{AIOS_ERR_INVALID_ARGUMENT, "strategy: unknown strategy " + std::to_string(strategy)};
    }
    if (min_count < 0) throw Failure{AIOS_ERR_INVALID_ARGUMENT, "min_count: must be >= 0, got " + std::to_string(min_count)};
    const bool placed = e.place_gang(requests, m, ids, priority, constraint, min_count == 0 ? m : min_count,
                                     static_cast<pl::GangStrategy>(strategy), level, required != 0, out_nodes);
    *out_placed = placed ? 1 : 0;
  });
}

aios_status aios_engine_preempt(aios_engine engine, size_t members, const int64_t* requests, size_t requests_len,
                                int64_t priority, int32_t constraint, int32_t level, int32_t evict, int32_t* out_node,
                                int64_t* out_victims, int32_t* out_victim_nodes, size_t victims_len,
                                size_t* out_victim_count) {
  return guard([&] {
    need_ptr(out_node, "out_node");
    need_ptr(out_victim_count, "out_victim_count");
    auto box = lookup_engine(engine);
    std::unique_lock<std::shared_mutex> hold(box->lock);
    pl::Engine& e = box->engine;
    const int m = to_int(members, "members");
    need_len(requests, requests_len, product(members, static_cast<size_t>(e.resources()), "requests"), "requests");
    // Found without evicting, so that a short buffer leaves the tasks running.
    const pl::Victims v = e.preempt(requests, m, priority, constraint, level, false);
    *out_victim_count = v.task_ids.size();
    need_out(out_victims, victims_len, v.task_ids.size(), "out_victims");
    need_out(out_victim_nodes, victims_len, v.task_ids.size(), "out_victim_nodes");
    if (evict && v.node >= 0 && !v.task_ids.empty()) e.release(v.task_ids.data(), static_cast<int>(v.task_ids.size()));
    std::copy(v.task_ids.begin(), v.task_ids.end(), out_victims);
    std::copy(v.task_nodes.begin(), v.task_nodes.end(), out_victim_nodes);
    *out_node = v.node;
  });
}

}  // extern "C"
