#include "binpack/items.hpp"

#include <string>

#include "common/error.hpp"

namespace aios::binpack {

void validate(const Items& it) {
  if (it.d < 1) throw ConfigError("capacity: expected at least one dimension, got " + std::to_string(it.d));
  if (it.n < 0) throw ConfigError("sizes: negative item count " + std::to_string(it.n));
  for (int h = 0; h < it.d; ++h) {
    if (it.cap[h] <= 0) {
      throw ConfigError("capacity[" + std::to_string(h) + "]: must be positive, got " + std::to_string(it.cap[h]));
    }
  }
  for (int j = 0; j < it.n; ++j) {
    bool any = false;
    for (int h = 0; h < it.d; ++h) {
      const int64_t s = it.at(j, h);
      const std::string where = "sizes[" + std::to_string(j) + (it.d > 1 ? ", " + std::to_string(h) : "") + "]";
      if (s < 0 || (s == 0 && it.d == 1)) throw ConfigError(where + ": must be positive, got " + std::to_string(s));
      any = any || s > 0;
      if (s > it.cap[h]) {
        throw ConfigError(where + ": item larger than the capacity (" + std::to_string(s) + " > " +
                          std::to_string(it.cap[h]) + ")");
      }
    }
    if (!any) throw ConfigError("sizes[" + std::to_string(j) + "]: item of size zero in every dimension");
  }
}

int64_t unit_weight(const Items& it, int j) {
  int64_t w = 0;
  for (int h = 0; h < it.d; ++h) {
    const i128 s = static_cast<i128>(it.at(j, h)) << 30;
    w += static_cast<int64_t>(s / it.cap[h]);
  }
  return w;
}

bool is_valid(const Items& it, const Packing& p) {
  if (static_cast<int>(p.bin_of.size()) != it.n) return false;
  std::vector<int64_t> load(static_cast<size_t>(p.bins) * it.d, 0);
  for (int j = 0; j < it.n; ++j) {
    const int b = p.bin_of[j];
    if (b < 0 || b >= p.bins) return false;
    for (int h = 0; h < it.d; ++h) {
      int64_t& l = load[static_cast<size_t>(b) * it.d + h];
      l += it.at(j, h);
      if (l > it.cap[h]) return false;
    }
  }
  return true;
}

void compact(Packing& p) {
  std::vector<int32_t> remap(static_cast<size_t>(p.bins) + p.bin_of.size(), -1);
  int next = 0;
  for (auto& b : p.bin_of) {
    if (remap[b] < 0) remap[b] = next++;
    b = remap[b];
  }
  p.bins = next;
}

}  // namespace aios::binpack
