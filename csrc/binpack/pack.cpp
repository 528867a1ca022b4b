#include "binpack/pack.hpp"

#include <chrono>

#include "binpack/bounds.hpp"
#include "binpack/constructive.hpp"
#include "common/error.hpp"

namespace aios::binpack {

PackResult pack(const Items& it, const PackOptions& opt) {
  validate(it);
  if (opt.max_iters < 0) throw ConfigError("max_iters: must be >= 0, got " + std::to_string(opt.max_iters));
  const auto start = std::chrono::steady_clock::now();
  PackResult r;
  r.lower_bound = lower_bound(it);
  if (opt.method == "auto") {
    for (const auto& name : constructive_methods(it.d)) {
      Packing p = construct(it, name);
      if (r.constructive.empty() || p.bins < r.packing.bins) {
        r.packing = std::move(p);
        r.constructive = name;
      }
      if (r.packing.bins <= r.lower_bound) break;
    }
  } else {
    r.packing = construct(it, opt.method);
    r.constructive = opt.method;
  }
  r.constructive_bins = r.packing.bins;
  // The time limit covers the whole call: the search gets what the constructive phase left.
  double remaining = opt.time_limit_s;
  if (opt.time_limit_s > 0) {
    remaining -= std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (remaining <= 0) r.timed_out = true;
  }
  if (opt.improve && r.packing.bins > r.lower_bound && opt.max_iters > 0 && !r.timed_out) {
    ImproveOptions io;
    io.max_iters = opt.max_iters;
    io.time_limit_s = remaining;
    io.seed = opt.seed;
    io.lower_bound = r.lower_bound;
    ImproveStats st;
    r.packing = improve(it, r.packing, io, &st);
    r.iterations = st.iterations;
    r.timed_out = st.timed_out;
  }
  return r;
}

}  // namespace aios::binpack
