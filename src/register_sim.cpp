// Binding of the simulator's native event loop: the job columns in as numpy arrays, the results
// out as numpy arrays that own the loop's vectors (no copy). The GIL is released for the loop.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "arrays.hpp"
#include "common/error.hpp"
#include "placement/engine.hpp"
#include "registry.hpp"
#include "sim/event_loop.hpp"

namespace py = pybind11;
using aios::ConfigError;
using aios_bind::carray;
using aios_bind::mat;
using aios_bind::vec;

namespace {

// A numpy array viewing `v`, which it takes over (freed with the array).
template <typename T>
py::array_t<T> give(std::vector<T>&& v, py::ssize_t cols = 0) {
  auto* owned = new std::vector<T>(std::move(v));
  py::capsule free_when_done(owned, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  const auto size = static_cast<py::ssize_t>(owned->size());
  if (cols > 0) return py::array_t<T>({size / cols, cols}, owned->data(), free_when_done);
  return py::array_t<T>({size}, owned->data(), free_when_done);
}

}  // namespace

namespace aios_bind {

void register_sim(py::module_& m) {
  m.def(
      "simulate_loop",
      [](aios::placement::Engine& engine, const carray<int64_t>& request, const carray<int64_t>& demand,
         const carray<int64_t>& gang, const carray<int64_t>& priority, const carray<int32_t>& constraint,
         const carray<int64_t>& task_base, const carray<int64_t>& arrival, const carray<int64_t>& duration,
         const carray<int64_t>& planned, const carray<int32_t>& shape, const carray<uint8_t>& feasible,
         const carray<int64_t>& by_arrival, const carray<int64_t>& capacity_total, const std::string& order,
         const carray<int64_t>& key, const carray<int64_t>& user, const carray<int64_t>& weights, bool backfill,
         int64_t backfill_interval, int backfill_depth, bool preempt, int gang_level, bool gang_required,
         const carray<int64_t>& event_time, const carray<int32_t>& event_node, const carray<uint8_t>& event_kind,
         int gpu_column, int64_t frag_every, const carray<int64_t>& typical) {
        const int R = engine.resources();
        if (request.ndim() != 2) throw ConfigError("request: expected a 2-D array [jobs, resources]");
        const auto n = request.shape(0);
        aios::sim::LoopInput in;
        in.jobs = static_cast<int>(n);
        in.resources = R;
        in.request = mat(request, "request", n, R);
        in.demand = mat(demand, "demand", n, R);
        in.gang = vec(gang, "gang", n);
        in.priority = vec(priority, "priority", n);
        in.constraint = vec(constraint, "constraint", n);
        in.task_base = vec(task_base, "task_base", n);
        in.arrival = vec(arrival, "arrival", n);
        in.duration = vec(duration, "duration", n);
        in.planned = vec(planned, "planned", n);
        in.shape = vec(shape, "shape", n);
        in.feasible = vec(feasible, "feasible", n);
        in.by_arrival = vec(by_arrival, "by_arrival", n);
        in.capacity_total = vec(capacity_total, "capacity_total", R);
        for (py::ssize_t j = 0; j < n; ++j) {
          if (in.by_arrival[j] < 0 || in.by_arrival[j] >= n)
            throw ConfigError("by_arrival[" + std::to_string(j) + "]: not a job index: " + std::to_string(in.by_arrival[j]));
          if (in.gang[j] < 1 || in.shape[j] < 0 || in.duration[j] < 1)
            throw ConfigError("job " + std::to_string(j) + ": gang and duration must be >= 1 and shape >= 0");
          if (in.constraint[j] < 0 || in.constraint[j] >= engine.constraint_count())
            throw ConfigError("constraint[" + std::to_string(j) + "]: unknown constraint id " +
                              std::to_string(in.constraint[j]));
        }
        if (order == "fifo") {
          in.order = aios::sim::Order::Fifo;
        } else if (order == "keyed") {
          in.order = aios::sim::Order::Keyed;
          in.key = vec(key, "key", n);
        } else if (order == "drf") {
          in.order = aios::sim::Order::Drf;
          in.user = vec(user, "user", n);
          in.users = static_cast<int>(weights.ndim() == 1 ? weights.shape(0) : -1);
          in.weights = vec(weights, "weights", in.users);
          for (py::ssize_t j = 0; j < n; ++j)
            if (in.user[j] < 0 || in.user[j] >= in.users)
              throw ConfigError("user[" + std::to_string(j) + "]: not a user index: " + std::to_string(in.user[j]));
          for (int u = 0; u < in.users; ++u)
            if (in.weights[u] < 1) throw ConfigError("weights[" + std::to_string(u) + "]: must be >= 1");
        } else {
          throw ConfigError("order: expected 'fifo', 'keyed' or 'drf', got '" + order + "'");
        }
        in.backfill = backfill;
        in.backfill_interval = backfill_interval;
        if (backfill_depth < 1) throw ConfigError("backfill_depth: must be >= 1");
        in.backfill_depth = backfill_depth;
        in.preempt = preempt;
        if (gang_level < -1 || gang_level >= engine.levels() || (gang_required && gang_level < 0))
          throw ConfigError("gang_level: not a topology level of the engine: " + std::to_string(gang_level));
        in.gang_level = gang_level;
        in.gang_required = gang_required;
        in.node_events = static_cast<int>(event_time.ndim() == 1 ? event_time.shape(0) : -1);
        in.event_time = vec(event_time, "event_time", in.node_events);
        in.event_node = vec(event_node, "event_node", in.node_events);
        in.event_kind = vec(event_kind, "event_kind", in.node_events);
        for (int k = 0; k < in.node_events; ++k)
          if (in.event_kind[k] > 2)
            throw ConfigError("event_kind[" + std::to_string(k) + "]: expected 0, 1 or 2, got " +
                              std::to_string(in.event_kind[k]));
        for (int k = 0; k < in.node_events; ++k)
          if (in.event_node[k] < 0 || in.event_node[k] >= engine.node_slots())
            throw ConfigError("event_node[" + std::to_string(k) + "]: unknown node " + std::to_string(in.event_node[k]));
        if (gpu_column >= R) throw ConfigError("gpu_column: out of range: " + std::to_string(gpu_column));
        in.gpu_column = gpu_column;
        if (frag_every < 1) throw ConfigError("frag_every: must be >= 1");
        in.frag_every = frag_every;
        in.typical = vec(typical, "typical", R);
        aios::sim::LoopOutput out;
        {
          py::gil_scoped_release release;
          out = aios::sim::run_event_loop(engine, in);
        }
        std::map<std::string, py::object> d;
        d["start"] = give(std::move(out.start));
        d["end"] = give(std::move(out.end));
        d["first_start"] = give(std::move(out.first_start));
        d["final_members"] = give(std::move(out.final_members));
        d["node"] = give(std::move(out.node));
        d["queued"] = give(std::move(out.queued));
        d["runs"] = give(std::move(out.runs), 3);
        d["segments"] = give(std::move(out.segments), 4);
        d["timeline_t"] = give(std::move(out.timeline_t));
        d["timeline_alloc"] = give(std::move(out.timeline_alloc), R);
        d["fragmentation"] = give(std::move(out.fragmentation), 3);
        d["preemptions"] = py::int_(out.preemptions);
        d["drain_kills"] = py::int_(out.drain_kills);
        d["events"] = py::int_(out.events);
        return d;
      },
      py::arg("engine"), py::arg("request"), py::arg("demand"), py::arg("gang"), py::arg("priority"),
      py::arg("constraint"), py::arg("task_base"), py::arg("arrival"), py::arg("duration"), py::arg("planned"),
      py::arg("shape"), py::arg("feasible"), py::arg("by_arrival"), py::arg("capacity_total"), py::arg("order"),
      py::arg("key"), py::arg("user"), py::arg("weights"), py::arg("backfill"), py::arg("backfill_interval"),
      py::arg("backfill_depth"), py::arg("preempt"), py::arg("gang_level"), py::arg("gang_required"),
      py::arg("event_time"), py::arg("event_node"),
      py::arg("event_kind"), py::arg("gpu_column"), py::arg("frag_every"), py::arg("typical"),
      "Run the simulator's event loop natively (see aios_core.sim.native_loop); returns a dict of results.");
}

}  // namespace aios_bind
