// Branch-and-bound search for the best node of one request over the FreeIndex.
#include <algorithm>
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

// Compiled twice where the toolchain can pick at load time, as FreeIndex::combine: with AVX2 the
// fit tests compare 4 values at a time.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
__attribute__((target_clones("avx2", "default")))
#endif
int32_t Engine::find_best(const int64_t* req, int32_t cid, int column, int which) {
  const auto& elig = constraints_[cid].eligible;
  if (elig.empty() || elig[1] == 0) return -1;
  const int leaves = index_.leaves();
  const int64_t gpu = gpu_col_ >= 0 ? req[gpu_col_] : 0;
  const int32_t need_whole = gpu >= kGpuMilli ? static_cast<int32_t>(gpu / kGpuMilli) : 0;
  const int32_t need_share = gpu > 0 && gpu < kGpuMilli ? static_cast<int32_t>(gpu) : 0;
  const uint8_t* basic = basic_.data();
  BoundCache cache;
  int64_t scalar_buf[64];
  const int64_t neutral = index_.neutral();

  // A subtree is worth visiting only if some eligible node in it might hold the request.
  int64_t need[kMaxResources + 8];
  std::fill(need, need + index_.need_lanes(), 0);
  std::copy(req, req + R_, need);
  need[R_] = need_whole;
  need[R_ + 1] = need_share;
  auto may_fit = [&](int v) {
    if (elig[v] == 0 || !index_.may_hold(v, need)) return false;
    return column < 0 || index_.value(v, column) != neutral;  // some node meets the condition
  };
  int64_t best_score = INT64_MIN;
  int32_t best_pos = INT32_MAX;
  int32_t best = -1;
  // At a leaf the best/worst-fit scalar bound is the exact score; other policies score the leaf.
  const bool scalar_exact_at_leaf =
      scalars_ > 0 && (policy_.kind == PolicyKind::BestFit || policy_.kind == PolicyKind::WorstFit);
  // On a cluster whose nodes all have the same capacities (the root's extremes agree) the bounds
  // are prepared once for the request.
  FastBound fast;
  if (column >= 0) {
    int64_t cap[kMaxResources];
    bool uniform = true;
    for (int r = 0; r < R_; ++r) {
      const int64_t lo = index_.min_pos_cap(1)[r], hi = index_.max_cap(1)[r];
      const bool zero = index_.has_zero_cap(1)[r];
      uniform = uniform && (zero ? lo == INT64_MAX : lo == hi);
      cap[r] = zero ? 0 : hi;
    }
    if (uniform) prepare_fast_bound(policy_, cap, req, basic, R_, &fast, &term_memo_);
  }
  const bool exact_bound = policy_.kind == PolicyKind::LeastAllocated || policy_.kind == PolicyKind::MostAllocated;
  // Any bound below `enough` prunes v, so a cheap one suffices there.
  auto enough = [&](int v) {
    return index_.first_pos(v) > best_pos && best_score < INT64_MAX ? best_score + 1 : best_score;
  };
  // The general bound, kept out of line so that the fast one below stays small.
  auto general_bound = [&](int v) __attribute__((noinline)) {
    if (v >= leaves && !scalar_exact_at_leaf) return score_at(node_at_[v - leaves], req);
    SetBounds b{index_.min_free(v), index_.max_free(v), index_.min_pos_cap(v), index_.max_cap(v),
                index_.min_free_frac(v), index_.max_free_frac(v), index_.has_zero_cap(v),
                scalars_ ? scalar_buf : nullptr, index_.first_pos(v)};
    if (scalars_) scalar_buf[which] = index_.value(v, column);
    return floor_to_int(score_upper_bound(policy_, b, req, basic, R_, &cache, enough(v)));
  };
  // Inlined where it is called: the captured state then stays in registers (called ~20 times per search).
  auto bound = [&](int v) __attribute__((always_inline)) {
    if (!fast.ok) return general_bound(v);
    if (v >= leaves && exact_bound) return fast.exact(index_.min_free(v), index_.max_free(v));
    const int64_t scalar = fast.scalar(index_.value(v, column));
    if (!exact_bound || scalar < enough(v)) return scalar;
    if (policy_.kind == PolicyKind::MostAllocated) return std::min(scalar, fast.exact_upper(index_.min_free(v)));
    return std::min(scalar, fast.exact(index_.min_free(v), index_.max_free(v)));
  };

  // Best score, ties to the smallest position; a subtree is visited only if it might beat it.
  struct Item {
    int v;
    int64_t ub;
  };
  Item stack[256];
  int top = 0;
  if (!may_fit(1)) return -1;
  // The node the last search chose is often best again (packing policies fill it up): start from
  // its score, so that most bounds can stop at the cheap scalar and more subtrees are cut. The
  // answer stays the best score at the smallest position: it only replaces a worse incumbent.
  if (last_best_ >= 0 && last_best_ < n_) {
    const int leaf = leaves + pos(last_best_);
    if (may_fit(leaf) && group_room(cid, last_best_)) {
      best_score = bound(leaf);
      best_pos = pos(last_best_);
      best = last_best_;
    }
  }
  stack[top++] = Item{1, bound(1)};
  while (top > 0) {
    const Item it = stack[--top];
    ++visits_;
    if (it.ub < best_score || (it.ub == best_score && index_.first_pos(it.v) > best_pos)) continue;
    if (it.v >= leaves) {
      const int32_t node = node_at_[it.v - leaves];
      if (!group_room(cid, node)) continue;
      best_score = it.ub;  // the exact score at a leaf
      best_pos = it.v - leaves;
      best = node;
      continue;
    }
    const int a = 2 * it.v, b = 2 * it.v + 1;
    if (4 * it.v + 3 < 2 * leaves) {  // warm the grandchildren: they are read when a or b is popped
      for (int g = 4 * it.v; g < 4 * it.v + 4; ++g) index_.prefetch(g, column);
    }
    // A child that cannot beat the best node found so far is not pushed at all.
    auto worth = [&](const Item& c) {
      return c.ub > best_score || (c.ub == best_score && index_.first_pos(c.v) < best_pos);
    };
    const bool fa = may_fit(a), fb = may_fit(b);
    if (fa && fb) {
      const Item ia{a, bound(a)}, ib{b, bound(b)};
      // Explore the more promising child first (the left one on equal bounds).
      const Item& first = ia.ub >= ib.ub ? ia : ib;
      const Item& second = ia.ub >= ib.ub ? ib : ia;
      if (worth(second)) stack[top++] = second;
      if (worth(first)) stack[top++] = first;
    } else if (fa || fb) {
      const Item c{fa ? a : b, bound(fa ? a : b)};
      if (worth(c)) stack[top++] = c;
    }
  }
  if (best >= 0) last_best_ = best;
  return best;
}

}  // namespace aios::placement
