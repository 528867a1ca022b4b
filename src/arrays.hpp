// numpy array helpers shared by every register_<area>.cpp: C-contiguous typed arrays in, shape
// checks that name the argument, std::vector out as a fresh numpy array.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace aios_bind {

template <typename T>
using carray = pybind11::array_t<T, pybind11::array::c_style>;

inline std::string shape_of(const pybind11::array& a) {
  std::string s = "(";
  for (pybind11::ssize_t k = 0; k < a.ndim(); ++k) s += (k ? ", " : "") + std::to_string(a.shape(k));
  return s + (a.ndim() == 1 ? ",)" : ")");
}

// A 1-D array of exactly n entries.
template <typename T>
const T* vec(const carray<T>& a, const char* name, pybind11::ssize_t n) {
  if (a.ndim() != 1 || a.shape(0) != n) {
    throw aios::ConfigError(std::string(name) + ": expected shape (" + std::to_string(n) + ",), got " + shape_of(a));
  }
  return a.data();
}

// A 2-D array [rows, cols]; rows < 0 accepts any number of rows.
template <typename T>
const T* mat(const carray<T>& a, const char* name, pybind11::ssize_t rows, pybind11::ssize_t cols) {
  if (a.ndim() != 2 || (rows >= 0 && a.shape(0) != rows) || a.shape(1) != cols) {
    throw aios::ConfigError(std::string(name) + ": expected shape (" + (rows >= 0 ? std::to_string(rows) : "n") + ", " +
                            std::to_string(cols) + "), got " + shape_of(a));
  }
  return a.data();
}

template <typename T>
pybind11::array_t<T> to_numpy(const std::vector<T>& v) {
  pybind11::array_t<T> out(static_cast<pybind11::ssize_t>(v.size()));
  std::copy(v.begin(), v.end(), out.mutable_data());
  return out;
}

}  // namespace aios_bind
