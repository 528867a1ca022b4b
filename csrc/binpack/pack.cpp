#include "binpack/pack.hpp"

#include "binpack/bounds.hpp"
#include "binpack/constructive.hpp"
#include "common/error.hpp"

namespace aios::binpack {

PackResult pack(const Items& it, const PackOptions& opt) {
  validate(it);
  if (opt.max_iters < 0) throw ConfigError("max_iters: must be >= 0, got " + std::to_string(opt.max_iters));
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
  if (opt.improve && r.packing.bins > r.lower_bound && opt.max_iters > 0) {
    ImproveOptions io;
    io.max_iters = opt.max_iters;
    io.time_limit_s = opt.time_limit_s;
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
