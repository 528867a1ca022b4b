// guard(): the single place where C++ exceptions stop.
#pragma once
#include <new>
#include <stdexcept>

#include "common/error.hpp"

namespace aios::capi {

template <typename Body>
aios_status guard(Body&& body) noexcept {
  try {
    try {
      body();
      return AIOS_OK;
    } catch (const Failure& f) {
      return fail(f.status, f.message);
    } catch (const aios::NotFoundError& e) {
      return fail(AIOS_ERR_NOT_FOUND, e.what());
    } catch (const aios::ConfigError& e) {
      return fail(AIOS_ERR_INVALID_ARGUMENT, e.what());
    } catch (const aios::UnschedulableError& e) {
      return fail(AIOS_ERR_INVALID_ARGUMENT, e.what());
    } catch (const aios::TopologyError& e) {
      return fail(AIOS_ERR_TOPOLOGY, e.what());
    } catch (const std::bad_alloc&) {
      return fail(AIOS_ERR_OUT_OF_MEMORY, "out of memory");
    } catch (const std::exception& e) {
      return fail(AIOS_ERR_INTERNAL, std::string("internal error: ") + e.what());
    } catch (...) {
      return fail(AIOS_ERR_INTERNAL, "internal error: unknown exception");
    }
  } catch (...) {
    // Building the message itself failed (out of memory): still no exception across the boundary.
    return AIOS_ERR_OUT_OF_MEMORY;
  }
}

}  // namespace aios::capi
