// Binding of the partition area: exact chain split and the pipeline planner. GIL released around work.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

#include "common/error.hpp"
#include "partition/placement.hpp"
#include "partition/plan.hpp"
#include "partition/split.hpp"
#include "arrays.hpp"
#include "registry.hpp"

namespace py = pybind11;

namespace aios_bind {

void register_partition(py::module_& m) {
  m.def(
      "split_chain",
      [](const py::array_t<double, py::array::c_style>& costs, int64_t k) {
        if (costs.ndim() != 1) throw aios::ConfigError("costs: expected a 1-D array");
        aios::partition::SplitResult r;
        {
          py::gil_scoped_release release;
          r = aios::partition::split_chain(costs.data(), costs.shape(0), k);
        }
        py::array_t<int64_t> b(static_cast<py::ssize_t>(r.boundaries.size()));
        std::copy(r.boundaries.begin(), r.boundaries.end(), b.mutable_data());
        return py::make_tuple(r.bottleneck, b);
      },
      py::arg("costs"), py::arg("k"), "Exact min-bottleneck contiguous split; returns (bottleneck, boundaries).");
  m.def(
      "plan_pipeline",
      [](const carray<double>& flops, const carray<int64_t>& params, const carray<int64_t>& activation,
         const carray<int64_t>& output, const carray<int64_t>& tp_comm, const carray<double>& dev_flops,
         const carray<int64_t>& dev_memory, const carray<double>& bandwidth, const carray<double>& latency,
         int64_t microbatches, int64_t grad_bytes, int64_t state_bytes, int64_t max_tp, double backward_factor,
         int64_t fixed_pipeline, int64_t fixed_tensor, int64_t max_placements, const py::object& orders,
         double max_bw) {
        if (flops.ndim() != 1) throw aios::ConfigError("flops: expected a 1-D array");
        if (dev_flops.ndim() != 1) throw aios::ConfigError("devices: expected a 1-D array of speeds");
        const auto L = flops.shape(0), N = dev_flops.shape(0);
        aios::partition::ModelArrays mdl{L, flops.data(), vec(params, "params", L), vec(activation, "activation_bytes", L),
                                         vec(output, "output_bytes", L), vec(tp_comm, "tp_comm_bytes", L)};
        if (bandwidth.ndim() != 2 || bandwidth.shape(0) != N || bandwidth.shape(1) != N ||
            latency.ndim() != 2 || latency.shape(0) != N || latency.shape(1) != N) {
          throw aios::ConfigError("bandwidth/latency: expected shape [devices, devices]");
        }
        aios::partition::DeviceArrays dev{N, dev_flops.data(), vec(dev_memory, "memory", N), bandwidth.data(),
                                          latency.data()};
        aios::partition::Options opt{microbatches, grad_bytes, state_bytes, max_tp, backward_factor, max_placements};
        std::vector<std::vector<int64_t>> given;
        if (!orders.is_none()) {
          const auto o = orders.cast<carray<int64_t>>();
          const int64_t* rows = mat(o, "orders", -1, N);
          for (py::ssize_t k = 0; k < o.shape(0); ++k) given.emplace_back(rows + k * N, rows + (k + 1) * N);
        }
        aios::partition::PlanResult r;
        {
          py::gil_scoped_release release;
          r = given.empty() ? aios::partition::plan_pipeline(mdl, dev, opt, fixed_pipeline, fixed_tensor)
                            : aios::partition::plan_pipeline(mdl, dev, opt, fixed_pipeline, fixed_tensor, given, max_bw);
        }
        py::array_t<int64_t> b(static_cast<py::ssize_t>(r.boundaries.size()));
        std::copy(r.boundaries.begin(), r.boundaries.end(), b.mutable_data());
        py::array_t<double> st(static_cast<py::ssize_t>(r.stage_time.size()));
        std::copy(r.stage_time.begin(), r.stage_time.end(), st.mutable_data());
        py::array_t<int64_t> sm(static_cast<py::ssize_t>(r.stage_memory.size()));
        std::copy(r.stage_memory.begin(), r.stage_memory.end(), sm.mutable_data());
        return py::make_tuple(r.feasible, r.pipeline, r.tensor, r.data, r.iteration_time, b, st, sm,
                              r.configs_searched, r.dp_passes, to_numpy(r.placement), r.placements_searched, r.exact);
      },
      py::arg("flops"), py::arg("params"), py::arg("activation"), py::arg("output"), py::arg("tp_comm"),
      py::arg("dev_flops"), py::arg("dev_memory"), py::arg("bandwidth"), py::arg("latency"), py::arg("microbatches"),
      py::arg("grad_bytes"), py::arg("state_bytes"), py::arg("max_tp"), py::arg("backward_factor"),
      py::arg("fixed_pipeline"), py::arg("fixed_tensor"), py::arg("max_placements") = 50000,
      py::arg("orders") = py::none(), py::arg("max_bw") = 0.0,
      "Pipeline plan with device placement; returns (feasible, p, t, d, time, boundaries, stage_time, stage_memory, "
      "configs, passes, placement, placements_searched, exact). orders/max_bw: candidate_orders' result, cached.");
  m.def(
      "candidate_orders",
      [](const carray<double>& dev_flops, const carray<int64_t>& dev_memory, const carray<double>& bandwidth,
         const carray<double>& latency) {
        if (dev_flops.ndim() != 1) throw aios::ConfigError("devices: expected a 1-D array of speeds");
        const auto N = dev_flops.shape(0);
        aios::partition::DeviceArrays dev{N, dev_flops.data(), vec(dev_memory, "memory", N),
                                          mat(bandwidth, "bandwidth", N, N), mat(latency, "latency", N, N)};
        std::vector<std::vector<int64_t>> orders;
        double max_bw = 0;
        {
          py::gil_scoped_release release;
          orders = aios::partition::candidate_orders(dev, max_bw);
        }
        py::array_t<int64_t> out({static_cast<py::ssize_t>(orders.size()), static_cast<py::ssize_t>(N)});
        for (size_t k = 0; k < orders.size(); ++k) {
          std::copy(orders[k].begin(), orders[k].end(), out.mutable_data() + k * static_cast<size_t>(N));
        }
        return py::make_tuple(out, max_bw);
      },
      py::arg("dev_flops"), py::arg("dev_memory"), py::arg("bandwidth"), py::arg("latency"),
      "The planner's candidate device orders (one per row) and the fastest link; checks every bandwidth.");
}

}  // namespace aios_bind
