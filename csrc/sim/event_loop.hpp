// The simulator's event loop in native code, for the strict queue orders (FIFO, priority with
// aging, SJF, DRF) with EASY backfilling, preemption and node drains. It makes exactly the
// choices of the Python loop in aios_core.sim.engine (its plain-Python twin, which also runs the
// orders and features this loop does not have), calling the placement Engine directly.
//
// Per event: O(log J) heap work for J jobs, one engine call per start / release, and for a
// blocked head one EASY pass (its shadow walk O(k log J) for the k earliest ends it needs, up to
// `backfill_depth` candidates) or one victim search (Engine::preempt).
#pragma once
#include <cstdint>
#include <vector>

#include "placement/engine.hpp"

namespace aios::sim {

enum class Order : int { Fifo = 0, Keyed = 1, Drf = 2 };

struct LoopInput {
  int jobs = 0, resources = 0;
  const int64_t* request = nullptr;    // [jobs, resources], one gang member
  const int64_t* demand = nullptr;     // [jobs, resources], the whole gang
  const int64_t* gang = nullptr;       // [jobs]
  const int64_t* priority = nullptr;   // [jobs]
  const int32_t* constraint = nullptr; // [jobs], engine constraint ids
  const int64_t* task_base = nullptr;  // [jobs], member k has task id task_base[j] + k
  const int64_t* arrival = nullptr;    // [jobs]
  const int64_t* duration = nullptr;   // [jobs], run time (>= 1)
  const int64_t* planned = nullptr;    // [jobs], the duration EASY plans with
  const int32_t* shape = nullptr;      // [jobs], equal for equal (request, gang, constraint)
  const uint8_t* feasible = nullptr;   // [jobs], 0: can never run (reported unschedulable on arrival)
  const int64_t* by_arrival = nullptr; // [jobs], job indices by (arrival, index)
  const int64_t* capacity_total = nullptr;  // [resources]

  Order order = Order::Fifo;
  const int64_t* key = nullptr;      // Keyed: [jobs]
  const int64_t* user = nullptr;     // Drf: [jobs]
  int users = 0;
  const int64_t* weights = nullptr;  // Drf: [users]

  bool backfill = false;
  int64_t backfill_interval = 0;
  int backfill_depth = 100;
  bool preempt = false;
  int gang_level = -1;         // topology level gangs go in (-1: anywhere)
  bool gang_required = false;  // the level is required (else preferred)

  int node_events = 0;               // sorted by (time, node name, up)
  const int64_t* event_time = nullptr;
  const int32_t* event_node = nullptr;
  const uint8_t* event_kind = nullptr;  // 0: the node fails, 1: it comes back up, 2: it is drained

  int gpu_column = -1;
  int64_t frag_every = 1;             // steps between fragmentation samples
  const int64_t* typical = nullptr;   // [resources], the median GPU task
};

struct LoopOutput {
  std::vector<int64_t> start, end, first_start, final_members;
  std::vector<int32_t> node;
  std::vector<uint8_t> queued;           // still queued at the end
  std::vector<int64_t> runs;             // (job, start, stop) of killed runs, flat
  std::vector<int64_t> segments;         // (job, start, stop, members), flat
  std::vector<int64_t> timeline_t;       // one per step
  std::vector<int64_t> timeline_alloc;   // [steps, resources]
  std::vector<int64_t> fragmentation;    // (t, free milli-GPU, stranded milli-GPU), flat
  int64_t preemptions = 0, drain_kills = 0, events = 0;
};

LoopOutput run_event_loop(placement::Engine& engine, const LoopInput& in);

}  // namespace aios::sim
