// One registration function per area; module.cpp calls each.
#pragma once
#include <pybind11/pybind11.h>

namespace aios_bind {
void register_placement(pybind11::module_& m);
void register_topology(pybind11::module_& m);
void register_partition(pybind11::module_& m);
void register_fairshare(pybind11::module_& m);
void register_binpack(pybind11::module_& m);
void register_sim(pybind11::module_& m);
}  // namespace aios_bind
