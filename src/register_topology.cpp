// Binding of the topology area: GPU-set selection. numpy in, numpy out; GIL released around the search.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

#include "common/error.hpp"
#include "registry.hpp"
#include "topology/select.hpp"

namespace py = pybind11;

namespace aios_bind {

void register_topology(py::module_& m) {
  m.def(
      "select_best_effort",
      [](const py::array_t<int64_t, py::array::c_style>& score, const py::array_t<int32_t, py::array::c_style>& required,
         int32_t size, int64_t max_nodes) {
        if (score.ndim() != 2 || score.shape(0) != score.shape(1)) {
          throw aios::ConfigError("score: expected a square 2-D array");
        }
        if (required.ndim() != 1) throw aios::ConfigError("required: expected a 1-D array");
        aios::topology::Selection sel;
        {
          py::gil_scoped_release release;
          sel = aios::topology::select_best_effort(score.data(), static_cast<int32_t>(score.shape(0)), required.data(),
                                                   static_cast<int32_t>(required.shape(0)), size, max_nodes);
        }
        py::array_t<int32_t> gpus(static_cast<py::ssize_t>(sel.gpus.size()));
        std::copy(sel.gpus.begin(), sel.gpus.end(), gpus.mutable_data());
        return py::make_tuple(gpus, sel.set_score, sel.partition_score, sel.exact, sel.nodes);
      },
      py::arg("score"), py::arg("required"), py::arg("size"), py::arg("max_nodes"),
      "Best-effort GPU set (go-gpuallocator semantics); returns (positions, set score, partition score, exact, nodes).");
}

}  // namespace aios_bind
