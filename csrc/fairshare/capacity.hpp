// Capacity queues as Kueue models them: ClusterQueues with a nominal quota per (flavor, resource),
// optional borrowing and lending limits, a tree of cohorts (which may hold quota of their own),
// fair-sharing weights, admission in scheduling cycles, the dominant-resource share value (DRS)
// and preemption (classic, and fair sharing with its strategies). Quantities are int64
// milli-units or bytes; weights are milli-units (1000 = weight 1).
//
// Nodes 0..Q-1 are ClusterQueues, Q..Q+C-1 cohorts. Quota formulas (per flavor and resource):
//   subtree(cq) = nominal; subtree(cohort) = nominal + sum_children (subtree - local)
//   local = max(0, subtree - lendingLimit) if a lending limit is set, else 0
//   usage above local is also counted in the parent (recursively)
//   available(root) = subtree - usage; available(node) = max(0, local - usage) +
//       min(available(parent), subtree - local - max(0, usage - local) + borrowingLimit)
//       (the min only with a borrowing limit)
//   potential(root) = subtree; potential(node) = min(local + potential(parent), subtree + BL)
// DRS(node) = 0 without parent or borrowing; else max over resources of
//   borrowed_r * 1000 / sum_flavors potential(parent) (int64 division), divided by weight/1000;
//   a borrowing node with weight 0 has DRS +inf.
//
// Admission cycles order the nominated heads by their queue's share with the workload (flat
// cohorts) or, when cohorts nest, by a tournament per root: at each cohort the child sub-tree with
// the lowest share with its best head's workload goes first.
//
// Complexity (F flavors, R resources, D cohort depth, W admitted workloads):
//   fits / assign_flavor          O(F R D)
//   admit, evict                  O(R D)
//   share                         O(F R)
//   admit_batch (n workloads)     O(n log n + K Q + n F R D + K Q log Q) for K cycles (K is at
//                                 most the largest number of workloads of one queue); nested
//                                 cohorts add O(E^2 (F R + D)) per cycle for E heads in one root
//   preempt                       O(F (W log W + V (W + Q) (F R + D))) worst case for W admitted
//                                 workloads, Q queues, V victims tried
// A model is not thread-safe: one call at a time.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace aios::fairshare {

__extension__ typedef __int128 wide;  // for sums of quantities over flavors

enum class WithinQueue : int8_t { Never = 0, LowerPriority = 1 };
enum class Reclaim : int8_t { Never = 0, LowerPriority = 1, Any = 2 };
enum class Strategy : int8_t { LessThanOrEqualToFinalShare = 0, LessThanInitialShare = 1 };

struct CapacitySpec {
  int resources = 0, flavors = 0, queues = 0, cohorts = 0;
  std::vector<int32_t> parent;           // [Q + C]: a cohort node (>= Q) or -1
  std::vector<int64_t> nominal;          // [Q + C, F, R], >= 0
  std::vector<int64_t> borrowing_limit;  // [Q + C, F, R], -1 = none
  std::vector<int64_t> lending_limit;    // [Q + C, F, R], -1 = none
  std::vector<int64_t> weight_milli;     // [Q + C], >= 0
  std::vector<int32_t> flavor_start;     // [Q + 1]: queue q tries flavor_list[start[q]..start[q+1])
  std::vector<int32_t> flavor_list;
  std::vector<int8_t> within_queue;      // [Q] WithinQueue
  std::vector<int8_t> reclaim;           // [Q] Reclaim
  bool fair_sharing = true;
  std::vector<int8_t> strategies;        // Strategy, tried in order (fair sharing)
  bool try_next_flavor = false;          // whenCanBorrow: TryNextFlavor (else MayStopSearch)
};

struct Workload {
  int32_t queue = -1;
  int32_t flavor = -1;
  int64_t priority = 0;
  int64_t seq = 0;  // admission order
  bool admitted = false;
};

struct PreemptPlan {
  int32_t flavor = -1;             // -1: nothing makes it fit
  std::vector<int64_t> victims;    // workload ids, in the order they were chosen
  int64_t admitted_id = -1;        // set when applied
};

class CapacityModel {
 public:
  explicit CapacityModel(CapacitySpec spec);

  int resources() const { return R_; }
  int flavors() const { return F_; }
  int queues() const { return Q_; }
  int nodes() const { return N_; }

  // Flavor the workload would get now (-1 if none fits), following whenCanBorrow.
  int32_t assign_flavor(int queue, const int64_t* req) const;
  // Admit now if it fits; returns the workload id or -1. State is unchanged on -1.
  int64_t admit(int queue, const int64_t* req, int64_t priority);
  void evict(int64_t id);
  // Scheduling cycles over a batch (BestEffortFIFO queues ordered by priority, then position).
  void admit_batch(int n, const int32_t* queue, const int64_t* req, const int64_t* priority, int32_t* out_flavor,
                   int64_t* out_id);
  PreemptPlan preempt(int queue, const int64_t* req, int64_t priority, bool apply);

  // Would admitting req in flavor f take the queue above nominal in some resource? O(R).
  bool would_borrow(int queue, int f, const int64_t* req) const { return borrows_with(queue, f, req); }
  double share(int node) const { return drs(node, -1, nullptr); }
  double share_with(int queue, int flavor, const int64_t* req) const { return drs(queue, flavor, req); }
  int64_t usage(int node, int f, int r) const { return cell_[idx(node, f, r)].usage; }
  int64_t subtree_quota(int node, int f, int r) const { return subtree_[idx(node, f, r)]; }
  int64_t available(int node, int f, int r) const;
  int64_t potential_available(int node, int f, int r) const { return potential_[idx(node, f, r)]; }
  const Workload& workload(int64_t id) const;
  const int64_t* requests_of(int64_t id) const { return req_.data() + static_cast<std::size_t>(id) * R_; }
  int64_t workload_count() const { return static_cast<int64_t>(work_.size()); }

 private:
  std::size_t idx(int node, int f, int r) const { return (static_cast<std::size_t>(node) * F_ + f) * R_ + r; }
  void check_queue(int queue) const;
  void check_request(const int64_t* req) const;
  int32_t pick_flavor(int queue, const int64_t* req) const;  // assign_flavor without input checks
  bool fits(int queue, int f, const int64_t* req) const;
  bool borrows_with(int queue, int f, const int64_t* req) const;
  bool borrowing_in(int queue, int f, const int64_t* req) const;
  double drs(int node, int f, const int64_t* req) const;
  void add_usage(int node, int f, int r, int64_t delta);
  void charge(int queue, int f, const int64_t* req, int64_t sign);
  int64_t commit(int queue, int f, const int64_t* req, int64_t priority);
  struct Entry {  // a queue head nominated in a scheduling cycle
    double share;
    int64_t neg_priority;
    int32_t pos, queue, flavor;
  };
  int32_t tournament(int node, const std::vector<Entry>& entries, const std::vector<int32_t>& entry_of,
                     const std::vector<int32_t>& pending, const int64_t* req);
  // Children of the lowest common ancestor of a and b on a's and on b's side.
  void sides_below_lca(int a, int b, int* a_side, int* b_side) const;
  bool plan_for_flavor(int queue, int f, const int64_t* req, int64_t priority, std::vector<int64_t>& targets);

  CapacitySpec s_;
  int R_, F_, Q_, N_;
  std::vector<int32_t> root_;
  struct Cell {
    int64_t subtree, local, usage, borrow;  // borrow: borrowing limit, -1 = none
  };
  std::vector<int64_t> subtree_, local_, potential_;
  std::vector<wide> lendable_;  // [node, R]: sum over flavors of the parent's potential
  std::vector<Cell> cell_;  // [node, flavor, resource]
  std::vector<int32_t> child_start_, child_list_;  // children of each node (CSR)
  bool hierarchical_ = false;                      // some cohort has a parent cohort
  std::vector<Workload> work_;
  std::vector<int64_t> req_;  // [workloads, R]
  int64_t next_seq_ = 0;
};

}  // namespace aios::fairshare
