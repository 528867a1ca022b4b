#include "sim/event_loop.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <queue>
#include <set>
#include <tuple>
#include <utility>

#include "sim/queues.hpp"

namespace aios::sim {
namespace {

using placement::Engine;

constexpr int64_t kNever = int64_t{1} << 62;

// A planned completion; it is stale once the job's epoch has moved on (killed, or finished).
struct Completion {
  int64_t end;
  int32_t job;
  int32_t epoch;
  bool operator>(const Completion& o) const {
    return std::tie(end, job, epoch) > std::tie(o.end, o.job, o.epoch);
  }
};

class Loop {
 public:
  Loop(Engine& engine, const LoopInput& in, LoopOutput& out);
  void run();

 private:
  const int64_t* req(int32_t j) const { return in_.request + static_cast<size_t>(j) * R_; }
  const int64_t* demand(int32_t j) const { return in_.demand + static_cast<size_t>(j) * R_; }
  bool shape_failed(int32_t j) const { return failed_stamp_[in_.shape[j]] == release_stamp_; }
  void fail_shape(int32_t j) { failed_stamp_[in_.shape[j]] = release_stamp_; }

  // queue dispatch
  void push(int32_t j);
  int32_t head();
  void behind_head(std::vector<int32_t>& out);

  // job state changes
  void released();
  void charge(int32_t j, int64_t members);
  void plan_end(int32_t j, int64_t t);
  bool try_start(int32_t j, int64_t t);
  void stop(int32_t j, const std::vector<int64_t>* gone);
  void finish(const std::vector<int32_t>& jobs, int64_t t);
  void requeue(int32_t j);
  void arrived(int32_t j);
  int64_t kill(const std::vector<int64_t>& task_ids, int64_t t);
  void close_segment(int32_t j, int64_t t);

  // answers that stay "no" until a release on the right node (see failed_singles_ below)
  struct Failed;
  Failed* find_failed(std::vector<Failed>& list, int32_t j, int64_t priority);
  void record_failed(std::vector<Failed>& list, int32_t j, int64_t priority);  // its entry starts over
  void forget_failed(std::vector<Failed>& list, int32_t j, int64_t priority);
  void released_on(int32_t node);
  bool tracking() const {
    return !failed_singles_.empty() || !failed_gangs_.empty() || !failed_gang_preempts_.empty();
  }
  bool gang_may_fit(int32_t j);
  bool worth_retrying(int32_t j, const Failed& f) const;

  // policy steps
  bool lower_priority_covers(int32_t j);
  bool preempt_for(int32_t j, int64_t t);
  int64_t shadow(std::vector<int64_t>& need) const;
  void backfill(int32_t h, int64_t t);
  void schedule(int64_t t);
  void node_event(int k, int64_t t);
  void sample_fragmentation(int64_t t);

  Engine& engine_;
  const LoopInput& in_;
  LoopOutput& out_;
  const int n_, R_;
  std::vector<uint8_t> queued_, running_;
  std::vector<int64_t> members_;
  std::vector<int32_t> epoch_;
  std::vector<int64_t> alloc_;
  std::map<int64_t, std::vector<int64_t>> alloc_by_priority_;  // preemption: what runs per priority
  std::priority_queue<Completion, std::vector<Completion>, std::greater<Completion>> completions_;
  std::set<std::pair<int64_t, int32_t>> by_end_;  // running jobs by (planned end, job): EASY's shadow walk
  std::unique_ptr<FifoQueue> fifo_;
  std::unique_ptr<KeyedQueue> keyed_;
  std::unique_ptr<DrfQueue> drf_;
  // A shape (request, gang, constraint) that failed stays failed until something is released.
  std::vector<uint32_t> failed_stamp_;
  uint32_t release_stamp_ = 1;
  // Answers that stay "no" until something is released on the right node. A failed attempt keeps
  // the nodes released on since (it is forgotten once it succeeds; all are forgotten when a node
  // comes back up):
  // - a single task whose preemption failed can succeed only on such a node: elsewhere evicting
  //   everything of lower priority was not enough and stays so (a start of lower priority is
  //   evictable again, anything else only takes room), so the retry searches those nodes alone;
  // - a gang that did not fit (it fits when its nodes together take all its members, and a node
  //   that released nothing takes no more than before) is tried again only when such a node takes
  //   a member now;
  // - a gang whose preemption failed is tried again only after a release; when its members ask
  //   for whole GPUs (or none) and no group limit, it failed because all nodes together, with
  //   everything of lower priority evicted, held fewer than all its members, a sum that grows
  //   only on such nodes, so it is tried again only when one of them could take a member.
  struct ReleasedSince {
    std::vector<uint8_t> flag;  // per node slot
    std::vector<int32_t> nodes;
    void add(int32_t node) {
      if (!flag[node]) {
        flag[node] = 1;
        nodes.push_back(node);
      }
    }
    void clear() {
      for (int32_t node : nodes) flag[node] = 0;
      nodes.clear();
    }
  };
  struct Failed {
    int32_t shape;
    int64_t priority;
    ReleasedSince since;
  };
  std::vector<Failed> failed_singles_, failed_gangs_, failed_gang_preempts_;
  int64_t next_backfill_ = 0, wakeup_ = -1;
  int32_t idle_head_ = -1;         // head of the last EASY pass that started nothing, until a change
  bool idle_window_full_ = false;  // that pass's FIFO window was full: arrivals land behind it
  std::vector<uint32_t> seen_;     // dedupes a backfill window
  uint32_t seen_stamp_ = 0;
  // scratch
  std::vector<int64_t> ids_, gang_req_, need_, free_, spare_;
  std::vector<int32_t> gang_nodes_, window_, done_;
};

Loop::Loop(Engine& engine, const LoopInput& in, LoopOutput& out)
    : engine_(engine), in_(in), out_(out), n_(in.jobs), R_(in.resources), queued_(n_, 0), running_(n_, 0),
      members_(n_, 0), epoch_(n_, 0), alloc_(R_, 0), seen_(n_, 0) {
  out_.start.assign(n_, -1);
  out_.end.assign(n_, -1);
  out_.first_start.assign(n_, -1);
  out_.final_members.assign(n_, 0);
  out_.node.assign(n_, -1);
  int32_t shapes = 0;
  for (int j = 0; j < n_; ++j) {
    shapes = std::max(shapes, in_.shape[j] + 1);
    if (in_.preempt) alloc_by_priority_.emplace(in_.priority[j], std::vector<int64_t>(R_, 0));
  }
  failed_stamp_.assign(shapes, 0);
  if (in_.order == Order::Fifo) fifo_ = std::make_unique<FifoQueue>(queued_);
  if (in_.order == Order::Keyed) keyed_ = std::make_unique<KeyedQueue>(queued_, in_.key);
  if (in_.order == Order::Drf)
    drf_ = std::make_unique<DrfQueue>(queued_, in_.user, in_.users, in_.capacity_total, R_, in_.weights);
}

void Loop::push(int32_t j) {
  if (fifo_) fifo_->push(j);
  else if (keyed_) keyed_->push(j);
  else drf_->push(j);
}

int32_t Loop::head() { return fifo_ ? fifo_->head() : keyed_ ? keyed_->head() : drf_->head(); }

void Loop::behind_head(std::vector<int32_t>& out) {
  out.clear();
  if (fifo_) fifo_->behind_head(in_.backfill_depth, out);
  else if (keyed_) keyed_->behind_head(in_.backfill_depth, out);
}

// ---------------------------------------------------------------- job state changes

void Loop::released() {
  idle_head_ = -1;
  ++release_stamp_;
}

void Loop::charge(int32_t j, int64_t members) {
  const int64_t* r = req(j);
  for (int k = 0; k < R_; ++k) alloc_[k] += r[k] * members;
  if (in_.preempt) {
    auto& a = alloc_by_priority_[in_.priority[j]];
    for (int k = 0; k < R_; ++k) a[k] += r[k] * members;
  }
  if (drf_) drf_->charge(j, r, members);
}

void Loop::plan_end(int32_t j, int64_t t) {
  ++epoch_[j];
  const int64_t end = t + std::max<int64_t>(1, in_.duration[j]);  // rigid jobs run their duration
  out_.end[j] = end;
  completions_.push({end, j, epoch_[j]});
  by_end_.emplace(end, j);
}

bool Loop::try_start(int32_t j, int64_t t) {
  const int64_t g = in_.gang[j];
  int32_t first = -1;
  if (g == 1) {
    const int64_t id = in_.task_base[j];
    engine_.place_batch(req(j), 1, &id, &in_.priority[j], &in_.constraint[j], &first);
  } else {
    if (!gang_may_fit(j)) return false;
    gang_req_.resize(static_cast<size_t>(g) * R_);
    ids_.resize(g);
    gang_nodes_.resize(g);
    for (int64_t k = 0; k < g; ++k) {
      std::copy(req(j), req(j) + R_, gang_req_.begin() + k * R_);
      ids_[k] = in_.task_base[j] + k;
    }
    const bool placed = engine_.place_gang(gang_req_.data(), static_cast<int>(g), ids_.data(), in_.priority[j],
                                           in_.constraint[j], static_cast<int>(g), placement::GangStrategy::Pack,
                                           in_.gang_level, in_.gang_required, gang_nodes_.data());
    if (placed) {
      first = gang_nodes_[0];
      forget_failed(failed_gangs_, j, 0);
    } else {
      record_failed(failed_gangs_, j, 0);
    }
  }
  if (first < 0) return false;
  idle_head_ = -1;
  out_.node[j] = first;
  queued_[j] = 0;
  running_[j] = 1;
  out_.start[j] = t;
  if (out_.first_start[j] < 0) out_.first_start[j] = t;
  members_[j] = g;
  charge(j, g);
  plan_end(j, t);
  return true;
}

// False when gang j failed to fit and no node released on since takes one of its members now.
bool Loop::gang_may_fit(int32_t j) {
  const Failed* f = find_failed(failed_gangs_, j, 0);
  if (!f) return true;
  for (int32_t node : f->since.nodes)
    if (engine_.member_capacity(node, req(j), in_.constraint[j]) > 0) return true;
  return false;
}

// Releases job j's members (except task ids in the sorted `gone`, already released by the engine).
void Loop::stop(int32_t j, const std::vector<int64_t>* gone) {
  ids_.clear();
  for (int64_t k = 0; k < members_[j]; ++k) {
    const int64_t id = in_.task_base[j] + k;
    if (!gone || !std::binary_search(gone->begin(), gone->end(), id)) {
      ids_.push_back(id);
      if (tracking()) released_on(in_.gang[j] == 1 ? out_.node[j] : engine_.task(id).node);
    }
  }
  if (!ids_.empty()) engine_.release(ids_.data(), static_cast<int>(ids_.size()));
  charge(j, -members_[j]);
  members_[j] = 0;
  ++epoch_[j];
  running_[j] = 0;
  by_end_.erase({out_.end[j], j});
}

void Loop::finish(const std::vector<int32_t>& jobs, int64_t) {
  released();
  for (int32_t j : jobs) {
    out_.final_members[j] = members_[j];
    stop(j, nullptr);
  }
}

void Loop::requeue(int32_t j) {
  ++epoch_[j];
  out_.end[j] = -1;
  out_.node[j] = -1;
  queued_[j] = 1;
  arrived(j);
}

void Loop::arrived(int32_t j) {
  push(j);
  if (!idle_window_full_) idle_head_ = -1;
}

void Loop::close_segment(int32_t j, int64_t t) {
  const int64_t s = out_.start[j];
  if (t > s) out_.segments.insert(out_.segments.end(), {j, s, t, members_[j]});
  out_.start[j] = t;
}

// Kills the running jobs owning `task_ids` (already released by the engine) and requeues them
// from the start; returns how many.
int64_t Loop::kill(const std::vector<int64_t>& task_ids, int64_t t) {
  std::vector<int64_t> gone(task_ids);
  std::sort(gone.begin(), gone.end());
  std::vector<int32_t> jobs;
  for (int64_t id : gone) {
    const auto j = static_cast<int32_t>(std::upper_bound(in_.task_base, in_.task_base + n_, id) - in_.task_base - 1);
    if (running_[j] && (jobs.empty() || jobs.back() != j)) jobs.push_back(j);
  }
  released();
  for (int32_t j : jobs) {
    out_.runs.insert(out_.runs.end(), {j, out_.start[j], t});
    close_segment(j, t);
    stop(j, &gone);
    out_.start[j] = -1;
    requeue(j);
  }
  return static_cast<int64_t>(jobs.size());
}

// ---------------------------------------------------------------- policy steps

Loop::Failed* Loop::find_failed(std::vector<Failed>& list, int32_t j, int64_t priority) {
  for (auto& f : list)
    if (f.shape == in_.shape[j] && f.priority == priority) return &f;
  return nullptr;
}

void Loop::record_failed(std::vector<Failed>& list, int32_t j, int64_t priority) {
  if (Failed* f = find_failed(list, j, priority)) {
    f->since.clear();
    return;
  }
  list.push_back({in_.shape[j], priority, {std::vector<uint8_t>(engine_.node_slots(), 0), {}}});
}

void Loop::forget_failed(std::vector<Failed>& list, int32_t j, int64_t priority) {
  if (Failed* f = find_failed(list, j, priority)) {
    std::swap(*f, list.back());
    list.pop_back();
  }
}

void Loop::released_on(int32_t node) {
  for (auto* list : {&failed_singles_, &failed_gangs_, &failed_gang_preempts_})
    for (auto& f : *list) f.since.add(node);
}

// Free capacity plus everything running below job j's priority covers its demand (cluster
// totals): without that no eviction can make room for it.
bool Loop::lower_priority_covers(int32_t j) {
  const int64_t prio = in_.priority[j];
  free_.resize(R_);
  for (int k = 0; k < R_; ++k) free_[k] = in_.capacity_total[k] - alloc_[k];
  for (auto it = alloc_by_priority_.begin(); it != alloc_by_priority_.end() && it->first < prio; ++it)
    for (int k = 0; k < R_; ++k) free_[k] += it->second[k];
  for (int k = 0; k < R_; ++k)
    if (free_[k] < demand(j)[k]) return false;
  return true;
}

// Whether a preemption for j that failed (`f`) may succeed now (see failed_singles_).
bool Loop::worth_retrying(int32_t j, const Failed& f) const {
  if (f.since.nodes.empty()) return false;  // nothing released since
  const int64_t gpu = in_.gpu_column >= 0 ? req(j)[in_.gpu_column] : 0;
  const bool counted = gpu % placement::kGpuMilli == 0 && engine_.constraint_group(in_.constraint[j]) < 0;
  if (in_.gang[j] == 1 || !counted) return true;  // a single task's search is narrowed instead
  for (int32_t node : f.since.nodes)
    if (engine_.capacity_after_eviction(node, req(j), in_.priority[j], in_.constraint[j]) > 0) return true;
  return false;
}

bool Loop::preempt_for(int32_t j, int64_t t) {
  const int64_t prio = in_.priority[j], g = in_.gang[j];
  std::vector<Failed>& failures = g == 1 ? failed_singles_ : failed_gang_preempts_;
  const Failed* failed = find_failed(failures, j, prio);
  if (failed && !worth_retrying(j, *failed)) return false;
  placement::Victims v;  // node -1: none found
  if (lower_priority_covers(j)) {
    if (g == 1) {  // only the nodes released on since it failed can have changed
      const bool narrow = failed && failed->since.nodes.size() <= static_cast<size_t>(engine_.node_slots() / 4);
      v = engine_.preempt(req(j), 1, prio, in_.constraint[j], -1, true, narrow ? &failed->since.flag : nullptr);
    } else {
      gang_req_.resize(static_cast<size_t>(g) * R_);
      for (int64_t k = 0; k < g; ++k) std::copy(req(j), req(j) + R_, gang_req_.begin() + k * R_);
      v = engine_.preempt(gang_req_.data(), static_cast<int>(g), prio, in_.constraint[j],
                          in_.gang_required ? in_.gang_level : -1, true);  // victims in one domain
    }
  }
  if (v.node < 0) {
    record_failed(failures, j, prio);
    return false;
  }
  forget_failed(failures, j, prio);
  for (int32_t node : v.task_nodes)
    if (tracking()) released_on(node);
  out_.preemptions += kill(v.task_ids, t);
  return try_start(j, t);
}

// The earliest planned end by which enough has been released for `need` (cluster totals; -1 if
// never); `need` is left as what remains of it then (<= 0 everywhere on success).
int64_t Loop::shadow(std::vector<int64_t>& need) const {
  for (const auto& [end, k] : by_end_) {
    bool met = true;
    for (int r = 0; r < R_; ++r) {
      need[r] -= req(k)[r] * members_[k];
      met = met && need[r] <= 0;
    }
    if (met) return end;
  }
  return -1;
}

// EASY on cluster-wide totals: a job behind the blocked head h may start now if it ends by h's
// shadow time or uses only what h leaves spare then. A pass that started nothing is not repeated
// for the same head until something starts, is released, or joins its window.
void Loop::backfill(int32_t h, int64_t t) {
  idle_head_ = h;
  idle_window_full_ = true;
  if (by_end_.empty()) return;
  free_.resize(R_);
  need_.resize(R_);
  for (int k = 0; k < R_; ++k) {
    free_[k] = in_.capacity_total[k] - alloc_[k];
    need_[k] = demand(h)[k] - free_[k];
  }
  const int64_t shadow_t = shadow(need_);
  if (shadow_t < 0) return;
  spare_.resize(R_);
  for (int k = 0; k < R_; ++k) spare_[k] = -need_[k];
  behind_head(window_);
  idle_window_full_ = static_cast<int>(window_.size()) >= in_.backfill_depth && in_.order == Order::Fifo;
  ++seen_stamp_;
  bool started = false;
  for (int32_t k : window_) {
    if (seen_[k] == seen_stamp_) continue;  // a requeued job may appear twice
    seen_[k] = seen_stamp_;
    const int64_t* d = demand(k);
    if (shape_failed(k) || !queued_[k]) continue;
    bool fits = true, within_spare = true;
    for (int r = 0; r < R_; ++r) {
      fits = fits && d[r] <= free_[r];
      within_spare = within_spare && d[r] <= spare_[r];
    }
    if (!fits) continue;
    const bool early = t + in_.planned[k] <= shadow_t;
    if (!early && !within_spare) continue;
    if (try_start(k, t)) {
      started = true;
      for (int r = 0; r < R_; ++r) {
        free_[r] -= d[r];
        if (!early) spare_[r] -= d[r];
      }
    } else {
      fail_shape(k);
    }
  }
  if (started) idle_head_ = -1;
}

void Loop::schedule(int64_t t) {
  while (true) {
    const int32_t h = head();
    if (h < 0) return;
    if (!shape_failed(h)) {
      if (try_start(h, t)) continue;
      fail_shape(h);
    }
    if (in_.preempt && preempt_for(h, t)) continue;
    if (in_.backfill) {
      if (t >= next_backfill_) {
        next_backfill_ = t + in_.backfill_interval;
        if (h != idle_head_) backfill(h, t);
      } else {  // Slurm's backfill runs on a timer: wake up for the next pass
        wakeup_ = next_backfill_;
      }
    }
    return;
  }
}

void Loop::node_event(int k, int64_t t) {
  const int32_t node = in_.event_node[k];
  if (in_.event_kind[k] == 1) {
    engine_.set_cordoned(node, false);
    released();
    failed_singles_.clear();  // a node came back: anything may fit again
    failed_gangs_.clear();
    failed_gang_preempts_.clear();
    return;
  }
  engine_.set_cordoned(node, true);
  if (in_.event_kind[k] == 2) return;  // drained: its jobs run to their end
  const auto count = static_cast<size_t>(engine_.task_count());
  std::vector<int64_t> ids(count), victims;
  std::vector<int32_t> nodes(count);
  engine_.task_table(ids.data(), nodes.data());
  for (size_t i = 0; i < count; ++i)
    if (nodes[i] == node) victims.push_back(ids[i]);
  if (victims.empty()) return;
  engine_.release(victims.data(), static_cast<int>(victims.size()));
  if (tracking()) released_on(node);
  out_.drain_kills += kill(victims, t);
}

// Free milli-GPU, and free milli-GPU on nodes that cannot hold the median GPU task.
void Loop::sample_fragmentation(int64_t t) {
  const int slots = engine_.node_slots();
  std::vector<int64_t> used(static_cast<size_t>(slots) * R_);
  engine_.allocated(used.data());
  const auto& cap = engine_.capacity();
  const int g = in_.gpu_column;
  int64_t free_gpu = 0, stranded = 0;
  for (int i = 0; i < slots; ++i) {
    const size_t row = static_cast<size_t>(i) * R_;
    bool blocked = false;
    for (int r = 0; r < R_; ++r)
      blocked = blocked || (in_.typical[r] != 0 && cap[row + r] - used[row + r] < in_.typical[r]);
    const int64_t f = cap[row + g] - used[row + g];
    free_gpu += f;
    if (blocked) stranded += f;
  }
  out_.fragmentation.insert(out_.fragmentation.end(), {t, free_gpu, stranded});
}

// ---------------------------------------------------------------- the loop

void Loop::run() {
  int64_t ai = 0, steps = 0;
  int ni = 0;
  while (ai < n_ || !completions_.empty() || ni < in_.node_events) {
    int64_t t = ai < n_ ? in_.arrival[in_.by_arrival[ai]] : kNever;
    if (!completions_.empty() && completions_.top().end < t) t = completions_.top().end;
    if (ni < in_.node_events && in_.event_time[ni] < t) t = in_.event_time[ni];
    if (wakeup_ >= 0 && wakeup_ < t) t = wakeup_;
    if (wakeup_ <= t) wakeup_ = -1;
    done_.clear();
    while (!completions_.empty() && completions_.top().end == t) {
      const Completion c = completions_.top();
      completions_.pop();
      if (c.epoch == epoch_[c.job]) done_.push_back(c.job);
    }
    if (!done_.empty()) {
      finish(done_, t);
      out_.events += static_cast<int64_t>(done_.size());
    }
    for (; ni < in_.node_events && in_.event_time[ni] == t; ++ni) {  // after completions: those jobs are done
      node_event(ni, t);
      ++out_.events;
    }
    for (; ai < n_ && in_.arrival[in_.by_arrival[ai]] == t; ++ai) {
      const auto j = static_cast<int32_t>(in_.by_arrival[ai]);
      ++out_.events;
      if (!in_.feasible[j]) continue;
      queued_[j] = 1;
      arrived(j);
    }
    schedule(t);
    out_.timeline_t.push_back(t);
    out_.timeline_alloc.insert(out_.timeline_alloc.end(), alloc_.begin(), alloc_.end());
    ++steps;
    if (in_.gpu_column >= 0 && steps % in_.frag_every == 0) sample_fragmentation(t);
  }
  out_.queued = queued_;
}

}  // namespace

LoopOutput run_event_loop(Engine& engine, const LoopInput& in) {
  LoopOutput out;
  Loop(engine, in, out).run();
  return out;
}

}  // namespace aios::sim
