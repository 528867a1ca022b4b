// Binding of the partition area: exact chain split and the pipeline planner. GIL released around work.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

#include "common/error.hpp"
#include "partition/split.hpp"
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
}

}  // namespace aios_bind
