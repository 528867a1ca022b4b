// The binding module aios_core._core: one register_<area>() per area, exceptions mapped onto the
// Python error family defined in aios_core.errors.
#include <pybind11/pybind11.h>

#include "common/error.hpp"
#include "registry.hpp"

namespace py = pybind11;

namespace {

// Looked up at throw time so the module does not import aios_core while aios_core imports it.
void raise_as(const char* python_name, const std::exception& e) {
  py::object cls = py::module_::import("aios_core.errors").attr(python_name);
  PyErr_SetString(cls.ptr(), e.what());
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "Native core of aios-core (C++17).";
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const aios::NotFoundError& e) {
      raise_as("NotFoundError", e);
    } catch (const aios::ConfigError& e) {
      raise_as("ConfigError", e);
    } catch (const aios::UnschedulableError& e) {
      raise_as("UnschedulableError", e);
    } catch (const aios::TopologyError& e) {
      raise_as("TopologyError", e);
    } catch (const aios::Error& e) {
      raise_as("AiosError", e);
    }
  });
  aios_bind::register_placement(m);
  aios_bind::register_topology(m);
  aios_bind::register_partition(m);
  aios_bind::register_fairshare(m);
  aios_bind::register_binpack(m);
  aios_bind::register_sim(m);
}
