// Dominant Resource Fairness (Ghodsi et al., NSDI'11) over whole tasks and its continuous
// (fractional) relaxation, with per-user, per-resource weights and per-user task limits.
//
// Weighted dominant share of user i holding k tasks: s_i = max_r (k d_ir) / (w_ir C_r), computed
// with the exact integer numerator so that shares equal as rationals tie. Discrete DRF is progressive filling: repeatedly give one task to
// the user with the lowest s_i; ties go to the lower user index. The filling is work-conserving: a
// user whose next task no longer fits (or who reached its limit) drops out and the others go on,
// so on return no remaining user's next task fits. Native speed-up, same result: while every task
// fits, filling hands out tasks in increasing (share, user) order, so a bisection on the share
// level hands out a whole batch at once before the heap takes over near saturation.
//
// Complexity (U users, R resources, T tasks handed out):
//   drf_tasks       O((T + U) (R + log U)) time in the worst case; with batches, typically
//                   O(U R log(T / U) + T_heap (R + log U)) where T_heap is the tasks handed out
//                   near saturation; O(U + R) extra memory
//   drf_continuous  O(U^2 R + U R^2) time in the worst case (each saturation event freezes at
//                   least one user), O(U + R) extra memory
#pragma once
#include <cstdint>

namespace aios::fairshare {

struct DrfProblem {
  int users = 0;
  int resources = 0;
  const int64_t* capacity = nullptr;  // [R], every entry > 0
  const int64_t* demands = nullptr;   // [U, R] per task, >= 0, no all-zero row
  const double* weights = nullptr;    // [U, R], finite and > 0
  const int64_t* limits = nullptr;    // [U], max tasks per user; -1 = unlimited
};

// Checks every field; throws aios::ConfigError naming the field and value.
void validate(const DrfProblem& p);

// Tasks per user (out has U entries).
void drf_tasks(const DrfProblem& p, int64_t* out);

// Fractional tasks per user (out has U entries): continuous progressive filling, where all
// unfrozen users rise at the same weighted dominant share until a resource saturates (its users
// freeze) or a user reaches its limit.
void drf_continuous(const DrfProblem& p, double* out);

}  // namespace aios::fairshare
