// Live engine handles. A handle is an id, never reused, mapped to a shared box: an entry point looks
// the id up under the registry's mutex and keeps the box alive for the duration of the call, so a
// destroyed (or never created) handle is an error code, never a use of freed memory, and destroy
// while another thread is inside a call frees the engine only after that call returns.
#pragma once
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

#include "aios/aios.h"
#include "placement/engine.hpp"

namespace aios::capi {

struct EngineBox {
  EngineBox(const placement::ClusterArrays& cluster, const placement::Policy& policy, uint64_t seed,
            std::vector<std::string> names)
      : engine(cluster, policy, seed), resource_names(std::move(names)) {}

  // Calls that change the engine (or its score cache) take it exclusively; pure reads share it.
  std::shared_mutex lock;
  placement::Engine engine;
  std::vector<std::string> resource_names;
};

// Stores the box and returns its new handle.
aios_engine register_engine(std::shared_ptr<EngineBox> box);
// The live box of a handle; throws Failure(AIOS_ERR_INVALID_HANDLE) otherwise.
std::shared_ptr<EngineBox> lookup_engine(aios_engine handle);
// Removes the handle; throws Failure(AIOS_ERR_INVALID_HANDLE) if it is not live.
void unregister_engine(aios_engine handle);

}  // namespace aios::capi
