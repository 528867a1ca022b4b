// Binding of the packing area (aios_core.binpack): numpy in, numpy out, GIL released around the
// native work. Shapes are checked here; dtypes are converted and checked by the Python wrapper.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

#include "binpack/bounds.hpp"
#include "binpack/fragmentation.hpp"
#include "binpack/heterogeneous.hpp"
#include "binpack/pack.hpp"
#include "common/error.hpp"
#include "arrays.hpp"
#include "registry.hpp"

namespace py = pybind11;
using aios::ConfigError;
namespace bp = aios::binpack;
using aios_bind::carray;
using aios_bind::to_numpy;
using aios_bind::vec;

namespace {

bp::Items items_of(const carray<int64_t>& sizes, const carray<int64_t>& cap) {
  if (sizes.ndim() != 2) throw ConfigError("sizes: expected a 2-D array [n, d]");
  if (cap.ndim() != 1 || cap.shape(0) != sizes.shape(1))
    throw ConfigError("capacity: expected " + std::to_string(sizes.shape(1)) + " entries (one per dimension)");
  bp::Items it;
  it.n = static_cast<int>(sizes.shape(0));
  it.d = static_cast<int>(sizes.shape(1));
  it.size = sizes.data();
  it.cap = cap.data();
  return it;
}

bp::GpuNodes nodes_of(const carray<int64_t>& gpu_free, const carray<int32_t>& gpu_count,
                      const carray<int64_t>& cpu_free, const carray<int64_t>& mem_free, const carray<int32_t>& model) {
  if (gpu_free.ndim() != 2) throw ConfigError("gpu_free: expected a 2-D array [nodes, gpus]");
  const auto n = gpu_free.shape(0);
  bp::GpuNodes g;
  g.n = static_cast<int>(n);
  g.g = static_cast<int>(gpu_free.shape(1));
  g.gpu_free = gpu_free.data();
  g.gpu_count = vec(gpu_count, "gpu_count", n);
  g.cpu_free = vec(cpu_free, "cpu_free", n);
  g.mem_free = vec(mem_free, "mem_free", n);
  g.model = vec(model, "model", n);
  bp::validate_nodes(g);
  return g;
}

bp::TaskClasses classes_of(const carray<int64_t>& cpu, const carray<int64_t>& mem, const carray<int64_t>& gpu,
                           const carray<uint64_t>& mask, const carray<double>& pop) {
  if (cpu.ndim() != 1) throw ConfigError("workload.cpu_milli: expected a 1-D array");
  const auto m = cpu.shape(0);
  bp::TaskClasses c;
  c.m = static_cast<int>(m);
  c.cpu = cpu.data();
  c.mem = vec(mem, "workload.memory", m);
  c.gpu = vec(gpu, "workload.gpu_milli", m);
  c.model_mask = vec(mask, "workload.model_mask", m);
  c.popularity = vec(pop, "workload.popularity", m);
  bp::validate_classes(c);
  return c;
}

}  // namespace

namespace aios_bind {

void register_binpack(py::module_& m) {
  m.def(
      "binpack_pack",
      [](const carray<int64_t>& sizes, const carray<int64_t>& cap, const std::string& method, bool improve,
         int64_t max_iters, double time_limit, uint64_t seed) {
        const bp::Items it = items_of(sizes, cap);
        bp::PackOptions o;
        o.method = method;
        o.improve = improve;
        o.max_iters = max_iters;
        o.time_limit_s = time_limit;
        o.seed = seed;
        bp::PackResult r;
        {
          py::gil_scoped_release release;
          r = bp::pack(it, o);
        }
        return py::make_tuple(to_numpy(r.packing.bin_of), r.packing.bins, r.lower_bound, r.constructive,
                              r.constructive_bins, r.iterations, r.timed_out);
      },
      py::arg("sizes"), py::arg("capacity"), py::arg("method"), py::arg("improve"), py::arg("max_iters"),
      py::arg("time_limit"), py::arg("seed"));
  m.def(
      "binpack_lower_bound",
      [](const carray<int64_t>& sizes, const carray<int64_t>& cap) {
        const bp::Items it = items_of(sizes, cap);
        py::gil_scoped_release release;
        bp::validate(it);
        return bp::lower_bound(it);
      },
      py::arg("sizes"), py::arg("capacity"));
  m.def(
      "binpack_pack_heterogeneous",
      [](const carray<int64_t>& sizes, const carray<int64_t>& caps, const carray<int64_t>& costs) {
        if (sizes.ndim() != 2) throw ConfigError("sizes: expected a 2-D array [n, d]");
        if (caps.ndim() != 2 || caps.shape(1) != sizes.shape(1))
          throw ConfigError("capacities: expected shape [types, " + std::to_string(sizes.shape(1)) + "]");
        bp::BinTypes t;
        t.t = static_cast<int>(caps.shape(0));
        t.cap = caps.data();
        t.cost = vec(costs, "costs", caps.shape(0));
        bp::HeteroResult r;
        {
          py::gil_scoped_release release;
          r = bp::pack_heterogeneous(sizes.data(), static_cast<int>(sizes.shape(0)), static_cast<int>(sizes.shape(1)), t);
        }
        return py::make_tuple(to_numpy(r.bin_of), to_numpy(r.bin_type), r.total_cost, r.lower_bound);
      },
      py::arg("sizes"), py::arg("capacities"), py::arg("costs"));
  m.def(
      "binpack_fragmentation",
      [](const carray<int64_t>& gpu_free, const carray<int32_t>& gpu_count, const carray<int64_t>& cpu_free,
         const carray<int64_t>& mem_free, const carray<int32_t>& model, const carray<int64_t>& c_cpu,
         const carray<int64_t>& c_mem, const carray<int64_t>& c_gpu, const carray<uint64_t>& c_mask,
         const carray<double>& c_pop) {
        const auto nodes = nodes_of(gpu_free, gpu_count, cpu_free, mem_free, model);
        const auto classes = classes_of(c_cpu, c_mem, c_gpu, c_mask, c_pop);
        py::array_t<double> out(nodes.n);
        double* o = out.mutable_data();
        py::gil_scoped_release release;
        bp::node_fragmentation(nodes, classes, o);
        return out;
      },
      py::arg("gpu_free"), py::arg("gpu_count"), py::arg("cpu_free"), py::arg("mem_free"), py::arg("model"),
      py::arg("cpu_milli"), py::arg("memory"), py::arg("gpu_milli"), py::arg("model_mask"), py::arg("popularity"));
  m.def(
      "binpack_fgd_scores",
      [](const carray<int64_t>& gpu_free, const carray<int32_t>& gpu_count, const carray<int64_t>& cpu_free,
         const carray<int64_t>& mem_free, const carray<int32_t>& model, const carray<int64_t>& c_cpu,
         const carray<int64_t>& c_mem, const carray<int64_t>& c_gpu, const carray<uint64_t>& c_mask,
         const carray<double>& c_pop, int64_t t_cpu, int64_t t_mem, int64_t t_gpu, uint64_t t_mask) {
        const auto nodes = nodes_of(gpu_free, gpu_count, cpu_free, mem_free, model);
        const auto classes = classes_of(c_cpu, c_mem, c_gpu, c_mask, c_pop);
        const bp::TaskRequest task{t_cpu, t_mem, t_gpu, t_mask};
        bp::validate_request(task, "task");
        py::array_t<double> delta(nodes.n);
        py::array_t<uint64_t> mask(nodes.n);
        double* d = delta.mutable_data();
        uint64_t* k = mask.mutable_data();
        {
          py::gil_scoped_release release;
          bp::fgd_scores(nodes, classes, task, d, k);
        }
        return py::make_tuple(delta, mask);
      },
      py::arg("gpu_free"), py::arg("gpu_count"), py::arg("cpu_free"), py::arg("mem_free"), py::arg("model"),
      py::arg("cpu_milli"), py::arg("memory"), py::arg("gpu_milli"), py::arg("model_mask"), py::arg("popularity"),
      py::arg("task_cpu"), py::arg("task_memory"), py::arg("task_gpu"), py::arg("task_model_mask"));
}

}  // namespace aios_bind
