// Binding of the placement engine: numpy in, numpy out; the GIL is released around core work.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>

#include "arrays.hpp"
#include "common/error.hpp"
#include "placement/engine.hpp"
#include "registry.hpp"

namespace py = pybind11;
using aios::ConfigError;
using aios::placement::Engine;
using aios_bind::carray;
using aios_bind::mat;
using aios_bind::to_numpy;
using aios_bind::vec;

namespace {

// fgd = (cpu_column, memory_column, cpu [k], memory [k], gpu [k], model_mask [k], popularity [k],
// node GPU model ids [n][, resolution]); fills the workload and returns the model ids.
carray<int32_t> fgd_workload(const py::object& fgd, py::ssize_t n, aios::placement::FgdWorkload& w) {
  const auto t = fgd.cast<py::tuple>();
  if (t.size() != 8 && t.size() != 9)
    throw ConfigError("workload: expected an 8- or 9-tuple, got " + std::to_string(t.size()) + " entries");
  if (t.size() == 9) w.resolution = t[8].cast<int64_t>();
  w.cpu_column = t[0].cast<int>();
  w.memory_column = t[1].cast<int>();
  const auto cpu = t[2].cast<carray<int64_t>>(), mem = t[3].cast<carray<int64_t>>(), gpu = t[4].cast<carray<int64_t>>();
  const auto mask = t[5].cast<carray<uint64_t>>();
  const auto pop = t[6].cast<carray<double>>();
  const py::ssize_t k = cpu.ndim() == 1 ? cpu.shape(0) : -1;
  const int64_t* c = vec(cpu, "workload.cpu", k);
  const int64_t* m = vec(mem, "workload.memory", k);
  const int64_t* g = vec(gpu, "workload.gpu", k);
  const uint64_t* mk = vec(mask, "workload.model_mask", k);
  const double* p = vec(pop, "workload.popularity", k);
  w.cpu.assign(c, c + k);
  w.memory.assign(m, m + k);
  w.gpu.assign(g, g + k);
  w.model_mask.assign(mk, mk + k);
  w.popularity.assign(p, p + k);
  auto models = t[7].cast<carray<int32_t>>();
  vec(models, "gpu_model", n);
  return models;
}

std::unique_ptr<Engine> make_engine(const carray<int64_t>& capacity, const carray<uint8_t>& basic, int gpu_column,
                                    const carray<int32_t>& domains, const std::string& policy,
                                    const carray<int64_t>& weights, const std::vector<std::pair<int64_t, int64_t>>& shape,
                                    uint64_t seed, const py::object& fgd) {
  if (capacity.ndim() != 2) throw ConfigError("capacity: expected a 2-D array [nodes, resources]");
  const auto n = capacity.shape(0), R = capacity.shape(1);
  aios::placement::Policy p;
  p.kind = aios::placement::policy_from_name(policy);
  const int64_t* w = vec(weights, "weights", R);
  p.weights.assign(w, w + R);
  for (const auto& pt : shape) p.shape.push_back({pt.first, pt.second});
  if (domains.ndim() != 2 || domains.shape(0) != n) throw ConfigError("topology: expected shape [nodes, levels]");
  carray<int32_t> models;
  if (!fgd.is_none()) models = fgd_workload(fgd, n, p.fgd);
  aios::placement::ClusterArrays c;
  c.nodes = static_cast<int>(n);
  c.resources = static_cast<int>(R);
  c.capacity = capacity.data();
  c.basic = vec(basic, "basic", R);
  c.gpu_column = gpu_column;
  c.levels = static_cast<int>(domains.shape(1));
  c.domains = domains.data();
  if (!fgd.is_none()) c.gpu_model = models.data();
  return std::make_unique<Engine>(c, p, seed);
}

}  // namespace

namespace aios_bind {

void register_placement(py::module_& m) {
  py::class_<Engine>(m, "Engine", "Stateful placement engine over a cluster (see aios_core.Placer).")
      .def(py::init(&make_engine), py::arg("capacity"), py::arg("basic"), py::arg("gpu_column"), py::arg("domains"),
           py::arg("policy"), py::arg("weights"), py::arg("shape"), py::arg("seed"), py::arg("fgd") = py::none())
      .def_property_readonly("resources", &Engine::resources)
      .def_property_readonly("node_slots", &Engine::node_slots)
      .def_property_readonly("live_nodes", &Engine::live_nodes)
      .def_property_readonly("task_count", &Engine::task_count)
      .def_property_readonly("constraint_count", &Engine::constraint_count)
      .def_property_readonly("search_visits", &Engine::search_visits)
      .def("is_live", &Engine::is_live)
      .def("is_cordoned", &Engine::is_cordoned)
      .def(
          "add_node",
          [](Engine& e, const carray<int64_t>& cap, const carray<int32_t>& domains, const carray<uint8_t>& taint_ok,
             const carray<uint8_t>& affinity_ok, int32_t gpu_model) {
            const int C = e.constraint_count();
            return e.add_node(vec(cap, "capacity", e.resources()), vec(domains, "topology", e.levels()),
                              vec(taint_ok, "taint_ok", C), vec(affinity_ok, "affinity_ok", C), gpu_model);
          },
          py::arg("capacity"), py::arg("domains"), py::arg("taint_ok"), py::arg("affinity_ok"), py::arg("gpu_model") = -1)
      .def("remove_node", [](Engine& e, int32_t node) { return to_numpy(e.remove_node(node)); })
      .def("set_cordoned", &Engine::set_cordoned)
      .def(
          "add_constraint",
          [](Engine& e, const carray<uint8_t>& taint_ok, const carray<uint8_t>& affinity_ok, int32_t group,
             int32_t max_per_node) {
            const int n = e.node_slots();
            return e.add_constraint(vec(taint_ok, "taint_ok", n), vec(affinity_ok, "affinity_ok", n), group,
                                    max_per_node);
          },
          py::arg("taint_ok"), py::arg("affinity_ok"), py::arg("group"), py::arg("max_per_node"))
      .def(
          "place_batch",
          [](Engine& e, const carray<int64_t>& req, const carray<int64_t>& ids, const carray<int64_t>& priority,
             const carray<int32_t>& cids) {
            const int64_t* q = mat(req, "requests", -1, e.resources());
            const auto m = req.shape(0);
            const int64_t* id = vec(ids, "ids", m);
            const int64_t* pr = vec(priority, "priority", m);
            const int32_t* c = vec(cids, "constraints", m);
            py::array_t<int32_t> out(m);
            int32_t* o = out.mutable_data();
            {
              py::gil_scoped_release release;
              e.place_batch(q, static_cast<int>(m), id, pr, c, o);
            }
            return out;
          },
          py::arg("requests"), py::arg("ids"), py::arg("priority"), py::arg("constraints"))
      .def(
          "assign",
          [](Engine& e, const carray<int64_t>& req, const carray<int64_t>& ids, const carray<int64_t>& priority,
             const carray<int32_t>& cids, const carray<int32_t>& nodes) {
            const int64_t* q = mat(req, "requests", -1, e.resources());
            const auto m = req.shape(0);
            const int64_t* id = vec(ids, "ids", m);
            const int64_t* pr = vec(priority, "priority", m);
            const int32_t* c = vec(cids, "constraints", m);
            const int32_t* nd = vec(nodes, "nodes", m);
            py::gil_scoped_release release;
            e.assign(q, static_cast<int>(m), id, pr, c, nd);
          },
          py::arg("requests"), py::arg("ids"), py::arg("priority"), py::arg("constraints"), py::arg("nodes"))
      .def(
          "release",
          [](Engine& e, const carray<int64_t>& ids) {
            if (ids.ndim() != 1) throw ConfigError("ids: expected a 1-D array");
            py::gil_scoped_release release;
            e.release(ids.data(), static_cast<int>(ids.shape(0)));
          },
          py::arg("ids"))
      .def(
          "place_gang",
          [](Engine& e, const carray<int64_t>& req, const carray<int64_t>& ids, int64_t priority, int32_t cid,
             int min_count, int strategy, int level, bool required) {
            const int64_t* q = mat(req, "requests", -1, e.resources());
            const auto m = req.shape(0);
            const int64_t* id = vec(ids, "ids", m);
            py::array_t<int32_t> out(m);
            int32_t* o = out.mutable_data();
            bool ok;
            {
              py::gil_scoped_release release;
              ok = e.place_gang(q, static_cast<int>(m), id, priority, cid, min_count,
                                static_cast<aios::placement::GangStrategy>(strategy), level, required, o);
            }
            return py::make_tuple(ok, out);
          },
          py::arg("requests"), py::arg("ids"), py::arg("priority"), py::arg("constraint"), py::arg("min_count"),
          py::arg("strategy"), py::arg("level"), py::arg("required"))
      .def(
          "preempt",
          [](Engine& e, const carray<int64_t>& req, int64_t priority, int32_t cid, int level, bool evict) {
            const int64_t* q = mat(req, "requests", -1, e.resources());
            aios::placement::Victims v;
            {
              py::gil_scoped_release release;
              v = e.preempt(q, static_cast<int>(req.shape(0)), priority, cid, level, evict);
            }
            py::array_t<int32_t> nodes(static_cast<py::ssize_t>(v.task_nodes.size()));
            std::copy(v.task_nodes.begin(), v.task_nodes.end(), nodes.mutable_data());
            return py::make_tuple(v.node, to_numpy(v.task_ids), nodes);
          },
          py::arg("requests"), py::arg("priority"), py::arg("constraint"), py::arg("level"), py::arg("evict"))
      .def(
          "explain",
          [](const Engine& e, const carray<int64_t>& req, int32_t cid) {
            return e.explain(vec(req, "request", e.resources()), cid);
          },
          py::arg("request"), py::arg("constraint"))
      .def(
          "scores",
          [](const Engine& e, const carray<int64_t>& req, int32_t cid) {
            const int64_t* q = vec(req, "request", e.resources());
            py::array_t<int64_t> out(e.node_slots());
            int64_t* o = out.mutable_data();
            py::gil_scoped_release release;
            e.scores(q, cid, o);
            return out;
          },
          py::arg("request"), py::arg("constraint"))
      .def("allocated",
           [](const Engine& e) {
             py::array_t<int64_t> out({static_cast<py::ssize_t>(e.node_slots()), static_cast<py::ssize_t>(e.resources())});
             e.allocated(out.mutable_data());
             return out;
           })
      .def("capacity",
           [](const Engine& e) {
             py::array_t<int64_t> out({static_cast<py::ssize_t>(e.node_slots()), static_cast<py::ssize_t>(e.resources())});
             std::copy(e.capacity().begin(), e.capacity().end(), out.mutable_data());
             return out;
           })
      .def("task",
           [](const Engine& e, int64_t id) {
             const auto t = e.task(id);
             return py::make_tuple(t.node, t.priority, t.gpu_mask, t.share_gpu, t.share_milli);
           })
      .def("tasks",
           [](const Engine& e) {
             const auto k = static_cast<py::ssize_t>(e.task_count());
             py::array_t<int64_t> ids(k);
             py::array_t<int32_t> nodes(k);
             e.task_table(ids.mutable_data(), nodes.mutable_data());
             return py::make_tuple(ids, nodes);
           })
      .def("gpu_used", [](const Engine& e, int32_t node) {
        const auto v = e.gpu_used(node);
        py::array_t<int32_t> out(static_cast<py::ssize_t>(v.size()));
        std::copy(v.begin(), v.end(), out.mutable_data());
        return out;
      });
}

}  // namespace aios_bind
