// Binding of the fair-share area: DRF, hierarchical DRF, Slurm fair share, Kueue-style capacity
// queues. numpy in, numpy out; shapes checked here, dtypes converted in aios_core.fairshare; the
// GIL is released around the core work.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>

#include "common/error.hpp"
#include "fairshare/assoc_tree.hpp"
#include "fairshare/capacity.hpp"
#include "fairshare/drf.hpp"
#include "fairshare/hdrf.hpp"
#include "arrays.hpp"
#include "registry.hpp"

namespace py = pybind11;
using aios::ConfigError;
namespace fs = aios::fairshare;
using aios_bind::carray;
using aios_bind::mat;
using aios_bind::shape_of;
using aios_bind::to_numpy;
using aios_bind::vec;

namespace {

fs::DrfProblem drf_problem(const carray<int64_t>& capacity, const carray<int64_t>& demands,
                           const carray<double>& weights, const carray<int64_t>& limits) {
  if (capacity.ndim() != 1) throw ConfigError("capacity: expected a 1-D array, got shape " + shape_of(capacity));
  if (demands.ndim() != 2) throw ConfigError("demands: expected a 2-D array [users, resources], got shape " + shape_of(demands));
  fs::DrfProblem p;
  p.resources = static_cast<int>(capacity.shape(0));
  p.users = static_cast<int>(demands.shape(0));
  p.capacity = capacity.data();
  p.demands = mat(demands, "demands", p.users, p.resources);
  p.weights = mat(weights, "weights", p.users, p.resources);
  p.limits = vec(limits, "limits", p.users);
  return p;
}

fs::AssocTree assoc_tree(const carray<int32_t>& parent, const carray<int64_t>& shares, const carray<double>& usage,
                         const carray<uint8_t>& is_user) {
  if (parent.ndim() != 1) throw ConfigError("parent: expected a 1-D array, got shape " + shape_of(parent));
  fs::AssocTree t;
  t.n = static_cast<int>(parent.shape(0));
  t.parent = parent.data();
  t.shares = vec(shares, "shares", t.n);
  t.usage = vec(usage, "usage", t.n);
  t.is_user = vec(is_user, "is_user", t.n);
  return t;
}

// One [6, n] array (rows: norm shares, raw usage, norm usage, effective usage, level FS, fair
// share): a single allocation, which numpy backs with huge pages once it is large.
template <typename Fn>
py::array_t<double> tree_columns(const fs::AssocTree& t, Fn&& run) {
  const py::ssize_t n = t.n;
  py::array_t<double> out({py::ssize_t{6}, n});
  double* o = out.mutable_data();
  fs::FairShareColumns c{o, o + n, o + 2 * n, o + 3 * n, o + 4 * n, o + 5 * n};
  {
    py::gil_scoped_release release;
    run(c);
  }
  return out;
}

std::vector<int64_t> to_vec(const carray<int64_t>& a, const char* name, size_t n) {
  if (a.ndim() < 1 || static_cast<size_t>(a.size()) != n)
    throw ConfigError(std::string(name) + ": expected " + std::to_string(n) + " entries, got shape " + shape_of(a));
  return std::vector<int64_t>(a.data(), a.data() + n);
}

}  // namespace

namespace aios_bind {

void register_fairshare(py::module_& m) {
  m.def(
      "drf_tasks",
      [](const carray<int64_t>& capacity, const carray<int64_t>& demands, const carray<double>& weights,
         const carray<int64_t>& limits) {
        const fs::DrfProblem p = drf_problem(capacity, demands, weights, limits);
        py::array_t<int64_t> out(p.users);
        int64_t* o = out.mutable_data();
        py::gil_scoped_release release;
        fs::drf_tasks(p, o);
        return out;
      },
      py::arg("capacity"), py::arg("demands"), py::arg("weights"), py::arg("limits"));
  m.def(
      "drf_continuous",
      [](const carray<int64_t>& capacity, const carray<int64_t>& demands, const carray<double>& weights,
         const carray<int64_t>& limits) {
        const fs::DrfProblem p = drf_problem(capacity, demands, weights, limits);
        py::array_t<double> out(p.users);
        double* o = out.mutable_data();
        py::gil_scoped_release release;
        fs::drf_continuous(p, o);
        return out;
      },
      py::arg("capacity"), py::arg("demands"), py::arg("weights"), py::arg("limits"));
  m.def(
      "hdrf_tasks",
      [](const carray<int64_t>& capacity, const carray<int32_t>& parent, const carray<double>& weights,
         const carray<int64_t>& demands, const carray<int64_t>& limits) {
        if (capacity.ndim() != 1) throw ConfigError("capacity: expected a 1-D array, got shape " + shape_of(capacity));
        if (parent.ndim() != 1) throw ConfigError("parent: expected a 1-D array, got shape " + shape_of(parent));
        fs::HdrfProblem p;
        p.resources = static_cast<int>(capacity.shape(0));
        p.nodes = static_cast<int>(parent.shape(0));
        p.capacity = capacity.data();
        p.parent = parent.data();
        p.weights = vec(weights, "weights", p.nodes);
        p.demands = mat(demands, "demands", p.nodes, p.resources);
        p.limits = vec(limits, "limits", p.nodes);
        py::array_t<int64_t> out(p.nodes);
        int64_t* o = out.mutable_data();
        py::gil_scoped_release release;
        fs::hdrf_tasks(p, o);
        return out;
      },
      py::arg("capacity"), py::arg("parent"), py::arg("weights"), py::arg("demands"), py::arg("limits"));
  m.def(
      "fair_tree",
      [](const carray<int32_t>& parent, const carray<int64_t>& shares, const carray<double>& usage,
         const carray<uint8_t>& is_user) {
        const fs::AssocTree t = assoc_tree(parent, shares, usage, is_user);
        return tree_columns(t, [&](const fs::FairShareColumns& c) { fs::fair_tree(t, c); });
      },
      py::arg("parent"), py::arg("shares"), py::arg("usage"), py::arg("is_user"));
  m.def(
      "classic_fair_share",
      [](const carray<int32_t>& parent, const carray<int64_t>& shares, const carray<double>& usage,
         const carray<uint8_t>& is_user, double dampening) {
        const fs::AssocTree t = assoc_tree(parent, shares, usage, is_user);
        return tree_columns(t, [&](const fs::FairShareColumns& c) { fs::classic_fair_share(t, dampening, c); });
      },
      py::arg("parent"), py::arg("shares"), py::arg("usage"), py::arg("is_user"), py::arg("dampening"));

  py::class_<fs::CapacityModel>(m, "CapacityModel", "Kueue-style capacity queues (see aios_core.fairshare.CapacityModel).")
      .def(py::init([](int resources, int flavors, int queues, int cohorts, const carray<int32_t>& parent,
                       const carray<int64_t>& nominal, const carray<int64_t>& borrowing_limit,
                       const carray<int64_t>& lending_limit, const carray<int64_t>& weight_milli,
                       const carray<int32_t>& flavor_start, const carray<int32_t>& flavor_list,
                       const carray<int8_t>& within_queue, const carray<int8_t>& reclaim, bool fair_sharing,
                       const carray<int8_t>& strategies, bool try_next_flavor) {
             if (resources <= 0 || flavors <= 0 || queues < 0 || cohorts < 0)
               throw ConfigError("spec: resource, flavor, queue and cohort counts must be positive");
             fs::CapacitySpec s;
             s.resources = resources;
             s.flavors = flavors;
             s.queues = queues;
             s.cohorts = cohorts;
             const size_t N = static_cast<size_t>(queues) + cohorts, cells = N * flavors * resources;
             const int32_t* p = vec(parent, "parent", static_cast<py::ssize_t>(N));
             s.parent.assign(p, p + N);
             s.nominal = to_vec(nominal, "nominal_quota", cells);
             s.borrowing_limit = to_vec(borrowing_limit, "borrowing_limit", cells);
             s.lending_limit = to_vec(lending_limit, "lending_limit", cells);
             s.weight_milli = to_vec(weight_milli, "weight", N);
             const int32_t* fst = vec(flavor_start, "flavor_start", queues + 1);
             s.flavor_start.assign(fst, fst + queues + 1);
             if (flavor_list.ndim() != 1) throw ConfigError("flavor_list: expected a 1-D array");
             s.flavor_list.assign(flavor_list.data(), flavor_list.data() + flavor_list.shape(0));
             const int8_t* wq = vec(within_queue, "within_cluster_queue", queues);
             s.within_queue.assign(wq, wq + queues);
             const int8_t* rc = vec(reclaim, "reclaim_within_cohort", queues);
             s.reclaim.assign(rc, rc + queues);
             s.fair_sharing = fair_sharing;
             if (strategies.ndim() != 1) throw ConfigError("preemption_strategies: expected a 1-D array");
             s.strategies.assign(strategies.data(), strategies.data() + strategies.shape(0));
             s.try_next_flavor = try_next_flavor;
             return std::make_unique<fs::CapacityModel>(std::move(s));
           }),
           py::arg("resources"), py::arg("flavors"), py::arg("queues"), py::arg("cohorts"), py::arg("parent"),
           py::arg("nominal"), py::arg("borrowing_limit"), py::arg("lending_limit"), py::arg("weight_milli"),
           py::arg("flavor_start"), py::arg("flavor_list"), py::arg("within_queue"), py::arg("reclaim"),
           py::arg("fair_sharing"), py::arg("strategies"), py::arg("try_next_flavor"))
      .def(
          "assign_flavor",
          [](const fs::CapacityModel& c, int queue, const carray<int64_t>& req) {
            return c.assign_flavor(queue, vec(req, "requests", c.resources()));
          },
          py::arg("queue"), py::arg("requests"))
      .def(
          "admit",
          [](fs::CapacityModel& c, int queue, const carray<int64_t>& req, int64_t priority) {
            return c.admit(queue, vec(req, "requests", c.resources()), priority);
          },
          py::arg("queue"), py::arg("requests"), py::arg("priority"))
      .def("evict", &fs::CapacityModel::evict, py::arg("id"))
      .def(
          "would_borrow",
          [](const fs::CapacityModel& c, int queue, int flavor, const carray<int64_t>& req) {
            if (queue < 0 || queue >= c.queues()) throw aios::NotFoundError("queue: unknown index " + std::to_string(queue));
            if (flavor < 0 || flavor >= c.flavors()) throw aios::NotFoundError("flavor: unknown index " + std::to_string(flavor));
            return c.would_borrow(queue, flavor, vec(req, "requests", c.resources()));
          },
          py::arg("queue"), py::arg("flavor"), py::arg("requests"))
      .def(
          "admit_batch",
          [](fs::CapacityModel& c, const carray<int32_t>& queues, const carray<int64_t>& req,
             const carray<int64_t>& priority) {
            if (queues.ndim() != 1) throw ConfigError("queues: expected a 1-D array, got shape " + shape_of(queues));
            const py::ssize_t n = queues.shape(0);
            const int64_t* r = mat(req, "requests", n, c.resources());
            const int64_t* pr = vec(priority, "priority", n);
            py::array_t<int32_t> flavor(n);
            py::array_t<int64_t> ids(n);
            int32_t* fo = flavor.mutable_data();
            int64_t* io = ids.mutable_data();
            {
              py::gil_scoped_release release;
              c.admit_batch(static_cast<int>(n), queues.data(), r, pr, fo, io);
            }
            return py::make_tuple(flavor, ids);
          },
          py::arg("queues"), py::arg("requests"), py::arg("priority"))
      .def(
          "preempt",
          [](fs::CapacityModel& c, int queue, const carray<int64_t>& req, int64_t priority, bool apply) {
            const int64_t* r = vec(req, "requests", c.resources());
            fs::PreemptPlan plan;
            {
              py::gil_scoped_release release;
              plan = c.preempt(queue, r, priority, apply);
            }
            return py::make_tuple(plan.flavor, to_numpy(plan.victims), plan.admitted_id);
          },
          py::arg("queue"), py::arg("requests"), py::arg("priority"), py::arg("apply"))
      .def("share", &fs::CapacityModel::share, py::arg("node"))
      .def(
          "share_with",
          [](const fs::CapacityModel& c, int queue, int flavor, const carray<int64_t>& req) {
            if (queue < 0 || queue >= c.queues()) throw aios::NotFoundError("queue: unknown index " + std::to_string(queue));
            if (flavor < 0 || flavor >= c.flavors()) throw aios::NotFoundError("flavor: unknown index " + std::to_string(flavor));
            return c.share_with(queue, flavor, vec(req, "requests", c.resources()));
          },
          py::arg("queue"), py::arg("flavor"), py::arg("requests"))
      .def("table",
           [](const fs::CapacityModel& c, const std::string& what) {
             // [nodes, flavors, resources] view of usage / subtree quota / available / potential.
             py::array_t<int64_t> out({c.nodes(), c.flavors(), c.resources()});
             int64_t* o = out.mutable_data();
             for (int v = 0; v < c.nodes(); ++v)
               for (int f = 0; f < c.flavors(); ++f)
                 for (int r = 0; r < c.resources(); ++r) {
                   int64_t x;
                   if (what == "usage") x = c.usage(v, f, r);
                   else if (what == "subtree_quota") x = c.subtree_quota(v, f, r);
                   else if (what == "available") x = c.available(v, f, r);
                   else if (what == "potential_available") x = c.potential_available(v, f, r);
                   else throw ConfigError("table: unknown column '" + what + "'");
                   *o++ = x;
                 }
             return out;
           })
      .def("workload",
           [](const fs::CapacityModel& c, int64_t id) {
             const fs::Workload& w = c.workload(id);
             py::array_t<int64_t> req(c.resources());
             std::copy(c.requests_of(id), c.requests_of(id) + c.resources(), req.mutable_data());
             return py::make_tuple(w.queue, w.flavor, w.priority, w.seq, w.admitted, req);
           })
      .def_property_readonly("workload_count", &fs::CapacityModel::workload_count);
}

}  // namespace aios_bind
