// Branch-and-bound search for the best node of one request over the FreeIndex.
#include <climits>
#include <cmath>

#include "placement/engine.hpp"

namespace aios::placement {

namespace {
int64_t floor_to_int(double x) {
  if (x >= 9.0e18) return INT64_MAX;
  if (x <= -9.0e18) return INT64_MIN + 1;
  return static_cast<int64_t>(std::floor(x));
}
}  // namespace

int32_t Engine::find_best(const int64_t* req, int32_t cid) const {
  const auto& elig = constraints_[cid].eligible;
  if (elig.empty() || elig[1] == 0) return -1;
  const int leaves = index_.leaves();
  const int64_t gpu = gpu_col_ >= 0 ? req[gpu_col_] : 0;
  const int32_t need_whole = gpu >= kGpuMilli ? static_cast<int32_t>(gpu / kGpuMilli) : 0;
  const int32_t need_share = gpu > 0 && gpu < kGpuMilli ? static_cast<int32_t>(gpu) : 0;
  const uint8_t* basic = basic_.data();

  // A subtree is worth visiting only if some eligible node in it might hold the request.
  auto may_fit = [&](int v) {
    if (elig[v] == 0) return false;
    const int64_t* mf = index_.max_free(v);
    for (int r = 0; r < R_; ++r) {
      if (req[r] > mf[r]) return false;
    }
    return need_whole <= index_.max_whole_gpus(v) && need_share <= index_.max_gpu_share(v);
  };
  auto bound = [&](int v) {
    if (v >= leaves) return score_at(v - leaves, req);  // exact at a leaf
    SetBounds b{index_.min_pos_cap(v), index_.max_cap(v), index_.min_free_frac(v), index_.max_free_frac(v),
                index_.has_zero_cap(v), index_.first_slot(v)};
    return floor_to_int(score_upper_bound(policy_, b, req, basic, R_));
  };

  int64_t best_score = INT64_MIN;
  uint64_t best_tie = UINT64_MAX;
  int32_t best = -1;
  struct Item {
    int v;
    int64_t ub;
  };
  Item stack[256];
  int top = 0;
  if (!may_fit(1)) return -1;
  stack[top++] = Item{1, bound(1)};
  while (top > 0) {
    const Item it = stack[--top];
    if (it.ub < best_score || (it.ub == best_score && index_.min_tie(it.v) >= best_tie)) continue;
    if (it.v >= leaves) {
      const int32_t node = it.v - leaves;
      if (!group_room(cid, node)) continue;
      best_score = it.ub;  // the exact score at a leaf
      best_tie = index_.min_tie(it.v);
      best = node;
      continue;
    }
    const int a = 2 * it.v, b = 2 * it.v + 1;
    const bool fa = may_fit(a), fb = may_fit(b);
    if (fa && fb) {
      const Item ia{a, bound(a)}, ib{b, bound(b)};
      // Push the less promising child first so the better one is explored first.
      const bool a_first = ia.ub > ib.ub || (ia.ub == ib.ub && index_.min_tie(a) < index_.min_tie(b));
      stack[top++] = a_first ? ib : ia;
      stack[top++] = a_first ? ia : ib;
    } else if (fa) {
      stack[top++] = Item{a, bound(a)};
    } else if (fb) {
      stack[top++] = Item{b, bound(b)};
    }
  }
  return best;
}

}  // namespace aios::placement
