// Last-error message, argument checks, and the library-level entry points (version, status names).
#include "capi/guard.hpp"

#include <climits>
#include <limits>

namespace aios::capi {

namespace {
thread_local std::string last_error;

std::string count_text(size_t n) { return std::to_string(n); }
}  // namespace

aios_status fail(aios_status status, const std::string& message) {
  last_error = message;
  return status;
}

void need_len(const void* p, size_t len, size_t expected, const char* field) {
  if (len != expected) {
    throw Failure{AIOS_ERR_INVALID_ARGUMENT,
                  std::string(field) + ": expected " + count_text(expected) + " elements, got " + count_text(len)};
  }
  if (p == nullptr && len > 0) throw Failure{AIOS_ERR_NULL_ARGUMENT, std::string(field) + ": NULL with " + count_text(len) + " elements"};
}

void need_optional_len(const void* p, size_t len, size_t expected, const char* field) {
  if (len == 0) return;
  need_len(p, len, expected, field);
}

void need_out(const void* p, size_t len, size_t expected, const char* field) {
  if (len < expected) {
    throw Failure{AIOS_ERR_BUFFER_TOO_SMALL, std::string(field) + ": buffer holds " + count_text(len) +
                                                 " elements, needs " + count_text(expected)};
  }
  if (p == nullptr && expected > 0) throw Failure{AIOS_ERR_NULL_ARGUMENT, std::string(field) + ": must not be NULL"};
}

int to_int(size_t count, const char* field) {
  if (count > static_cast<size_t>(INT_MAX)) {
    throw Failure{AIOS_ERR_INVALID_ARGUMENT, std::string(field) + ": count " + count_text(count) + " is too large"};
  }
  return static_cast<int>(count);
}

size_t product(size_t a, size_t b, const char* field) {
  if (b != 0 && a > std::numeric_limits<size_t>::max() / b) {
    throw Failure{AIOS_ERR_INVALID_ARGUMENT, std::string(field) + ": size overflows"};
  }
  return a * b;
}

}  // namespace aios::capi

extern "C" {

uint32_t aios_version(void) { return AIOS_VERSION_NUMBER; }

const char* aios_version_string(void) { return AIOS_VERSION_STRING; }

uint32_t aios_abi_version(void) { return AIOS_ABI_VERSION; }

const char* aios_last_error(void) { return aios::capi::last_error.c_str(); }

const char* aios_status_name(int32_t status) {
  switch (status) {
    case AIOS_OK: return "AIOS_OK";
    case AIOS_ERR_NULL_ARGUMENT: return "AIOS_ERR_NULL_ARGUMENT";
    case AIOS_ERR_INVALID_ARGUMENT: return "AIOS_ERR_INVALID_ARGUMENT";
    case AIOS_ERR_INVALID_HANDLE: return "AIOS_ERR_INVALID_HANDLE";
    case AIOS_ERR_NOT_FOUND: return "AIOS_ERR_NOT_FOUND";
    case AIOS_ERR_BUFFER_TOO_SMALL: return "AIOS_ERR_BUFFER_TOO_SMALL";
    case AIOS_ERR_TOPOLOGY: return "AIOS_ERR_TOPOLOGY";
    case AIOS_ERR_OUT_OF_MEMORY: return "AIOS_ERR_OUT_OF_MEMORY";
    case AIOS_ERR_INTERNAL: return "AIOS_ERR_INTERNAL";
  }
  return "unknown status";
}

}  // extern "C"
