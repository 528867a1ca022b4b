// GPU-set selection inside one node (go-gpuallocator's best effort), without state.
#include <algorithm>

#include "capi/guard.hpp"
#include "topology/select.hpp"

using aios::capi::Failure;
using aios::capi::guard;
using aios::capi::need_len;
using aios::capi::need_out;
using aios::capi::need_ptr;
using aios::capi::product;

extern "C" {

aios_status aios_select_gpus(const int64_t* score, size_t score_len, int32_t gpus, const int32_t* required,
                             size_t required_len, int32_t size, int64_t max_nodes, int32_t* out_gpus,
                             size_t out_gpus_len, aios_gpu_selection* out) {
  return guard([&] {
    need_ptr(out, "out");
    if (gpus < 0) throw Failure{AIOS_ERR_INVALID_ARGUMENT, "gpus: must be >= 0, got " + std::to_string(gpus)};
    if (size < 1) throw Failure{AIOS_ERR_INVALID_ARGUMENT, "size: must be >= 1, got " + std::to_string(size)};
    const size_t m = static_cast<size_t>(gpus);
    need_len(score, score_len, product(m, m, "score"), "score");
    need_len(required, required_len, required_len, "required");
    if (required_len > m) {
      throw Failure{AIOS_ERR_INVALID_ARGUMENT, "required: " + std::to_string(required_len) + " positions for " +
                                                   std::to_string(m) + " GPUs"};
    }
    need_out(out_gpus, out_gpus_len, static_cast<size_t>(size), "out_gpus");
    const aios::topology::Selection s = aios::topology::select_best_effort(
        score, gpus, required, static_cast<int32_t>(required_len), size, max_nodes);
    std::copy(s.gpus.begin(), s.gpus.end(), out_gpus);
    *out = aios_gpu_selection{static_cast<int32_t>(s.gpus.size()), s.set_score, s.partition_score, s.exact ? 1 : 0,
                              s.nodes};
  });
}

}  // extern "C"
