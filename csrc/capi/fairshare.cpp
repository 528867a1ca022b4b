// Fair share without state: DRF (discrete and continuous), Slurm's Fair Tree and classic factor.
#include <vector>

#include "capi/guard.hpp"
#include "fairshare/assoc_tree.hpp"
#include "fairshare/drf.hpp"

namespace fs = aios::fairshare;
using aios::capi::Failure;
using aios::capi::guard;
using aios::capi::need_len;
using aios::capi::need_optional_len;
using aios::capi::need_out;
using aios::capi::product;

namespace {

// A DRF problem over the caller's arrays, with the optional weights and limits defaulted.
struct Drf {
  fs::DrfProblem problem;
  std::vector<double> unit_weights;
  std::vector<int64_t> no_limits;
};

void read_drf(Drf& d, int32_t users, int32_t resources, const int64_t* capacity, size_t capacity_len,
              const int64_t* demands, size_t demands_len, const double* weights, size_t weights_len,
              const int64_t* limits, size_t limits_len) {
  if (users < 0) throw Failure{AIOS_ERR_INVALID_ARGUMENT, "users: must be >= 0, got " + std::to_string(users)};
  if (resources < 1) throw Failure{AIOS_ERR_INVALID_ARGUMENT, "resources: must be >= 1, got " + std::to_string(resources)};
  const size_t U = static_cast<size_t>(users), R = static_cast<size_t>(resources), cells = product(U, R, "demands");
  need_len(capacity, capacity_len, R, "capacity");
  need_len(demands, demands_len, cells, "demands");
  need_optional_len(weights, weights_len, cells, "weights");
  need_optional_len(limits, limits_len, U, "limits");
  fs::DrfProblem& p = d.problem;
  p.users = users;
  p.resources = resources;
  p.capacity = capacity;
  p.demands = demands;
  if (weights_len) {
    p.weights = weights;
  } else {
    d.unit_weights.assign(cells, 1.0);
    p.weights = d.unit_weights.data();
  }
  if (limits_len) {
    p.limits = limits;
  } else {
    d.no_limits.assign(U, -1);
    p.limits = d.no_limits.data();
  }
}

fs::AssocTree read_tree(int32_t n, const int32_t* parent, size_t parent_len, const int64_t* shares, size_t shares_len,
                        const double* usage, size_t usage_len, const uint8_t* is_user, size_t is_user_len,
                        double* out, size_t out_len) {
  if (n < 1) throw Failure{AIOS_ERR_INVALID_ARGUMENT, "associations: must be >= 1, got " + std::to_string(n)};
  const size_t N = static_cast<size_t>(n);
  need_len(parent, parent_len, N, "parent");
  need_len(shares, shares_len, N, "shares");
  need_len(usage, usage_len, N, "usage");
  need_len(is_user, is_user_len, N, "is_user");
  need_out(out, out_len, product(N, AIOS_FS_ROWS, "out"), "out");
  return fs::AssocTree{n, parent, shares, usage, is_user};
}

fs::FairShareColumns columns(double* out, size_t n) {
  return fs::FairShareColumns{out, out + n, out + 2 * n, out + 3 * n, out + 4 * n, out + 5 * n};
}

}  // namespace

extern "C" {

aios_status aios_drf_tasks(int32_t users, int32_t resources, const int64_t* capacity, size_t capacity_len,
                           const int64_t* demands, size_t demands_len, const double* weights, size_t weights_len,
                           const int64_t* limits, size_t limits_len, int64_t* out_tasks, size_t out_tasks_len) {
  return guard([&] {
    Drf d;
    read_drf(d, users, resources, capacity, capacity_len, demands, demands_len, weights, weights_len, limits,
             limits_len);
    need_out(out_tasks, out_tasks_len, static_cast<size_t>(users), "out_tasks");
    std::vector<int64_t> tasks(static_cast<size_t>(users));  // the caller's buffer changes only on success
    fs::drf_tasks(d.problem, tasks.data());
    std::copy(tasks.begin(), tasks.end(), out_tasks);
  });
}

aios_status aios_drf_continuous(int32_t users, int32_t resources, const int64_t* capacity, size_t capacity_len,
                                const int64_t* demands, size_t demands_len, const double* weights,
                                size_t weights_len, const int64_t* limits, size_t limits_len, double* out_tasks,
                                size_t out_tasks_len) {
  return guard([&] {
    Drf d;
    read_drf(d, users, resources, capacity, capacity_len, demands, demands_len, weights, weights_len, limits,
             limits_len);
    need_out(out_tasks, out_tasks_len, static_cast<size_t>(users), "out_tasks");
    std::vector<double> tasks(static_cast<size_t>(users));
    fs::drf_continuous(d.problem, tasks.data());
    std::copy(tasks.begin(), tasks.end(), out_tasks);
  });
}

aios_status aios_fair_tree(int32_t associations, const int32_t* parent, size_t parent_len, const int64_t* shares,
                           size_t shares_len, const double* usage, size_t usage_len, const uint8_t* is_user,
                           size_t is_user_len, double* out, size_t out_len) {
  return guard([&] {
    const fs::AssocTree t = read_tree(associations, parent, parent_len, shares, shares_len, usage, usage_len,
                                      is_user, is_user_len, out, out_len);
    const size_t n = static_cast<size_t>(associations);
    std::vector<double> result(n * AIOS_FS_ROWS);
    fs::fair_tree(t, columns(result.data(), n));
    std::copy(result.begin(), result.end(), out);
  });
}

aios_status aios_classic_fair_share(int32_t associations, const int32_t* parent, size_t parent_len,
                                    const int64_t* shares, size_t shares_len, const double* usage, size_t usage_len,
                                    const uint8_t* is_user, size_t is_user_len, double dampening, double* out,
                                    size_t out_len) {
  return guard([&] {
    const fs::AssocTree t = read_tree(associations, parent, parent_len, shares, shares_len, usage, usage_len,
                                      is_user, is_user_len, out, out_len);
    const size_t n = static_cast<size_t>(associations);
    std::vector<double> result(n * AIOS_FS_ROWS);
    fs::classic_fair_share(t, dampening, columns(result.data(), n));
    std::copy(result.begin(), result.end(), out);
  });
}

}  // extern "C"
