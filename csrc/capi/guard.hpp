// The boundary of the C API: every entry point runs its body through guard(), which turns C++
// exceptions into status codes and the thread's last-error message, and the check helpers below
// that reject null pointers and wrong counts before the core sees them.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "aios/aios.h"

namespace aios::capi {

// A rejection decided at the boundary, with its own status code.
struct Failure {
  aios_status status;
  std::string message;
};

// Records a failure's message for aios_last_error() on this thread and returns its status.
aios_status fail(aios_status status, const std::string& message);

// Runs body(); maps Failure and the core's exceptions onto status codes. Never throws.
template <typename Body>
aios_status guard(Body&& body) noexcept;

// A required pointer (out-parameters, descriptions).
inline void need_ptr(const void* p, const char* field) {
  if (p == nullptr) throw Failure{AIOS_ERR_NULL_ARGUMENT, std::string(field) + ": must not be NULL"};
}

// An input array of exactly `expected` elements; NULL only when empty.
void need_len(const void* p, size_t len, size_t expected, const char* field);
// An optional input array: 0 elements (the default) or exactly `expected`.
void need_optional_len(const void* p, size_t len, size_t expected, const char* field);
// An output buffer of at least `expected` elements.
void need_out(const void* p, size_t len, size_t expected, const char* field);
// A count the core holds in an int.
int to_int(size_t count, const char* field);
// a * b, rejecting overflow of size_t.
size_t product(size_t a, size_t b, const char* field);

}  // namespace aios::capi

#include "capi/guard_impl.hpp"
