#include "capi/engine_registry.hpp"

#include <mutex>
#include <unordered_map>

#include "capi/guard.hpp"

namespace aios::capi {

namespace {

struct Registry {
  std::mutex mutex;
  uint64_t next_id = 1;
  std::unordered_map<uint64_t, std::shared_ptr<EngineBox>> live;
};

// Never destroyed: entry points may run during static destruction (an embedder's atexit hook).
Registry& registry() {
  static Registry* r = new Registry();
  return *r;
}

Failure invalid(aios_engine handle) {
  return Failure{AIOS_ERR_INVALID_HANDLE,
                 "engine: handle " + std::to_string(handle.id) + " is not a live engine (destroyed or never created)"};
}

}  // namespace

aios_engine register_engine(std::shared_ptr<EngineBox> box) {
  Registry& r = registry();
  std::lock_guard<std::mutex> hold(r.mutex);
  const uint64_t id = r.next_id++;
  r.live.emplace(id, std::move(box));
  return aios_engine{id};
}

std::shared_ptr<EngineBox> lookup_engine(aios_engine handle) {
  Registry& r = registry();
  std::lock_guard<std::mutex> hold(r.mutex);
  const auto it = r.live.find(handle.id);
  if (it == r.live.end()) throw invalid(handle);
  return it->second;
}

void unregister_engine(aios_engine handle) {
  std::shared_ptr<EngineBox> last;  // freed after the registry's mutex is released
  Registry& r = registry();
  std::lock_guard<std::mutex> hold(r.mutex);
  const auto it = r.live.find(handle.id);
  if (it == r.live.end()) throw invalid(handle);
  last = std::move(it->second);
  r.live.erase(it);
}

}  // namespace aios::capi
