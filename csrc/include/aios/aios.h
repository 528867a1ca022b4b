/* aios.h: the C API of aios-core, for schedulers that embed the kernel without Python
 * (Go through cgo, C plugins, C++ daemons). It wraps the same C++ core as the Python module.
 *
 * Conventions (docs/c-api.md has the full ABI promise and thread-safety table):
 *  - Every function returns an aios_status; AIOS_OK is 0. On any other status nothing changed
 *    (except the size a BUFFER_TOO_SMALL call reports where documented), and aios_last_error()
 *    on the same thread says what was wrong, naming the field and value.
 *  - No C++ type or exception crosses this boundary.
 *  - Arrays come as a pointer plus an element count. Input arrays must have exactly the count the
 *    call expects; output buffers at least that many elements. A pointer may be NULL only when its
 *    count is 0. "Optional" inputs take count 0 to mean the documented default.
 *  - The caller owns every buffer it passes in; the library copies what it keeps and never holds
 *    a caller pointer after returning. Strings the library returns are static or thread-local,
 *    owned by the library, and never freed by the caller.
 *  - Handles are opaque ids, never reused: a destroyed (or never created) handle gives
 *    AIOS_ERR_INVALID_HANDLE, not a crash.
 *  - Quantities are integers: milli-CPU, bytes, milli-GPU (1000 per physical GPU).
 *  - Thread safety, marked on each call: [any] may be called from any thread at any time;
 *    [reads] calls on one engine run concurrently with each other; [writes] calls on one engine
 *    run alone (the library serialises them against every other call on that engine); [pure]
 *    calls share no state. No call is forbidden from any thread.
 */
#ifndef AIOS_AIOS_H
#define AIOS_AIOS_H

#include <stddef.h>
#include <stdint.h>

#define AIOS_VERSION_MAJOR 0
#define AIOS_VERSION_MINOR 1
#define AIOS_VERSION_PATCH 0
#define AIOS_VERSION_STRING "0.1.0"
/* major * 10000 + minor * 100 + patch; aios_version() returns the library's at run time. */
#define AIOS_VERSION_NUMBER (AIOS_VERSION_MAJOR * 10000 + AIOS_VERSION_MINOR * 100 + AIOS_VERSION_PATCH)
/* Raised whenever a signature, struct layout or meaning changes; see docs/c-api.md. */
#define AIOS_ABI_VERSION 1

#if defined(AIOS_BUILDING_LIBRARY) && defined(__GNUC__)
#define AIOS_API __attribute__((visibility("default")))
#else
#define AIOS_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef enum aios_status {
  AIOS_OK = 0,
  AIOS_ERR_NULL_ARGUMENT = 1,     /* a required pointer was NULL */
  AIOS_ERR_INVALID_ARGUMENT = 2,  /* a value or a count is wrong */
  AIOS_ERR_INVALID_HANDLE = 3,    /* destroyed, or never created */
  AIOS_ERR_NOT_FOUND = 4,         /* unknown task id, node index or constraint id */
  AIOS_ERR_BUFFER_TOO_SMALL = 5,  /* an output buffer is too short; nothing changed */
  AIOS_ERR_TOPOLOGY = 6,          /* devices that share no link (plan) */
  AIOS_ERR_OUT_OF_MEMORY = 7,
  AIOS_ERR_INTERNAL = 8           /* a bug: please report it with aios_last_error() */
} aios_status;

/* ---------------------------------------------------------------- library: all [any] */

AIOS_API uint32_t aios_version(void);            /* AIOS_VERSION_NUMBER of the loaded library */
AIOS_API const char* aios_version_string(void);  /* static string */
AIOS_API uint32_t aios_abi_version(void);        /* AIOS_ABI_VERSION of the loaded library */
/* The message of the last failed call on this thread ("" before any failure). Thread-local,
 * owned by the library, valid until the next failing call on this thread. */
AIOS_API const char* aios_last_error(void);
/* "AIOS_OK", "AIOS_ERR_NULL_ARGUMENT", ...; static string ("unknown status" for others). Takes
 * an int32_t so that a status from a newer library is defined behaviour in C++ callers too. */
AIOS_API const char* aios_status_name(int32_t status);

/* ---------------------------------------------------------------- placement engine */

/* A stateful placement engine over a cluster: capacities, allocations, running tasks. */
typedef struct aios_engine {
  uint64_t id; /* 0 is never a live handle */
} aios_engine;

typedef struct aios_engine_desc {
  int32_t nodes;
  int32_t resources;               /* 1..64 */
  const int64_t* capacity;         /* [nodes * resources], row-major, each in 0..2^62 */
  size_t capacity_len;
  /* Optional [resources] names (cpu, memory, nvidia.com/gpu, ...): used in explanations and to
   * derive `basic`. 0 names: "resource0", "resource1", ... */
  const char* const* resource_names;
  size_t resource_names_len;
  /* Optional [resources] flags: resources kube-scheduler policies score even when a task does
   * not request them. 0 entries: cpu, memory and ephemeral-storage by name, as the Python API. */
  const uint8_t* basic;
  size_t basic_len;
  int32_t gpu_column;              /* the milli-GPU resource, or -1 */
  int32_t levels;                  /* topology levels, top first, 0..16 */
  const int32_t* domains;          /* [nodes * levels] domain id per level, >= 0, nested */
  size_t domains_len;
  /* first_fit, best_fit, worst_fit, least_allocated, most_allocated,
   * requested_to_capacity_ratio, balanced_allocation, dot_product. */
  const char* policy;
  const int64_t* weights;          /* optional [resources], >= 0; 0 entries: all 1 */
  size_t weights_len;
  /* requested_to_capacity_ratio only: (utilization 0..100, score 0..10) pairs, flattened;
   * 0 entries: (0, 0), (100, 10), kube-scheduler's bin-packing shape. */
  const int64_t* shape;
  size_t shape_len;
  uint64_t seed;                   /* tie-break seed: the same seed gives the same placements */
} aios_engine_desc;

typedef enum aios_gang_strategy {
  AIOS_GANG_PACK = 0,
  AIOS_GANG_SPREAD = 1,
  AIOS_GANG_STRICT_PACK = 2,
  AIOS_GANG_STRICT_SPREAD = 3
} aios_gang_strategy;

/* Reason codes of aios_engine_explain; AIOS_REASON_INSUFFICIENT + r is "Insufficient <resource r>". */
#define AIOS_REASON_UNSCHEDULABLE 0   /* node(s) were unschedulable (cordoned) */
#define AIOS_REASON_TAINT 1           /* node(s) had untolerated taint(s) */
#define AIOS_REASON_AFFINITY 2        /* node(s) didn't match Pod's node affinity/selector */
#define AIOS_REASON_ANTI_AFFINITY 3   /* node(s) didn't match pod anti-affinity rules */
#define AIOS_REASON_INSUFFICIENT 100
/* Enough entries for any explanation of an engine with `resources` resources. */
#define AIOS_EXPLAIN_MAX_ENTRIES(resources) (4 + (size_t)(resources))

typedef struct aios_engine_info {
  int32_t node_slots;       /* node indices ever used (removed nodes keep their slot) */
  int32_t live_nodes;
  int32_t resources;
  int32_t levels;
  int32_t constraints;      /* constraint ids 0..constraints-1; 0 is "no constraint" */
  int64_t tasks;            /* running tasks */
} aios_engine_info;

typedef struct aios_task_info {
  int32_t node;
  int64_t priority;
  uint64_t gpu_mask;        /* whole GPUs held, bit k = physical GPU k of the node */
  int32_t share_gpu;        /* GPU of a fractional share, or -1 */
  int32_t share_milli;      /* milli-GPU of that share, 0 for whole GPUs */
} aios_task_info;

/* [any] Builds an engine; *out receives its handle. The desc's arrays are copied. */
AIOS_API aios_status aios_engine_create(const aios_engine_desc* desc, aios_engine* out);
/* [any] Frees the engine. Calls already running on it finish first; later calls get
 * INVALID_HANDLE. */
AIOS_API aios_status aios_engine_destroy(aios_engine engine);
/* [reads] */
AIOS_API aios_status aios_engine_get_info(aios_engine engine, aios_engine_info* out);

/* [writes] A static node filter tasks refer to by id: per node slot, whether the task tolerates the node's
 * taints and matches its selector; at most max_per_node tasks of `group` per node (group -1: no
 * limit). Arrays hold node_slots flags (0 or 1). */
AIOS_API aios_status aios_engine_add_constraint(aios_engine engine, const uint8_t* taint_ok, size_t taint_ok_len,
                                                const uint8_t* affinity_ok, size_t affinity_ok_len, int32_t group,
                                                int32_t max_per_node, int32_t* out_constraint);

/* [writes] Places `tasks` tasks in order. requests [tasks * resources]; ids [tasks], new and distinct;
 * optional priority [tasks] (default 0) and constraint ids [tasks] (default 0). out_nodes gets the
 * node of each task, -1 where it did not fit. */
AIOS_API aios_status aios_engine_place_batch(aios_engine engine, size_t tasks, const int64_t* requests,
                                             size_t requests_len, const int64_t* ids, size_t ids_len,
                                             const int64_t* priority, size_t priority_len,
                                             const int32_t* constraints, size_t constraints_len, int32_t* out_nodes,
                                             size_t out_nodes_len);

/* [writes] Puts tasks on nodes decided elsewhere; all or nothing (a task that does not fit:
 * INVALID_ARGUMENT). */
AIOS_API aios_status aios_engine_assign(aios_engine engine, size_t tasks, const int64_t* requests, size_t requests_len,
                                        const int64_t* ids, size_t ids_len, const int64_t* priority,
                                        size_t priority_len, const int32_t* constraints, size_t constraints_len,
                                        const int32_t* nodes, size_t nodes_len);

/* [writes] Releases tasks by id; an unknown id gives NOT_FOUND and releases nothing. */
AIOS_API aios_status aios_engine_release(aios_engine engine, const int64_t* ids, size_t ids_len);

/* [writes] All or nothing: at least min_count members (0: all) placed, or none. strategy: an
 * aios_gang_strategy, passed as int32_t so that any value is defined and checked. level: topology
 * level (-1: none); required != 0 keeps every member in one domain of that level, otherwise the level is
 * tried first and wider ones after. *out_placed is 1 when placed; out_nodes [members] gets each
 * member's node, -1 for members left out. A gang that does not fit is AIOS_OK with *out_placed 0. */
AIOS_API aios_status aios_engine_place_gang(aios_engine engine, size_t members, const int64_t* requests,
                                            size_t requests_len, const int64_t* ids, size_t ids_len,
                                            int64_t priority, int32_t constraint, int32_t min_count,
                                            int32_t strategy, int32_t level, int32_t required,
                                            int32_t* out_nodes, size_t out_nodes_len, int32_t* out_placed);

/* [writes] Victims of strictly lower priority whose eviction lets a task (members 1) or a gang
 * (requests [members * resources]) fit; level: -1, or a topology level whose one domain holds every
 * member. *out_node gets where the (first) member would go, -1 when no eviction helps;
 * out_victims and out_victim_nodes the victims' ids and nodes, *out_victim_count their number (0
 * when it fits already). evict != 0 releases the victims. A short buffer gives BUFFER_TOO_SMALL
 * with *out_victim_count set and nothing evicted; buffers of aios_engine_info.tasks entries always
 * suffice. */
AIOS_API aios_status aios_engine_preempt(aios_engine engine, size_t members, const int64_t* requests,
                                         size_t requests_len, int64_t priority, int32_t constraint, int32_t level,
                                         int32_t evict, int32_t* out_node, int64_t* out_victims,
                                         int32_t* out_victim_nodes, size_t victims_len, size_t* out_victim_count);

/* [reads] Why a task (request [resources]) cannot go on each live node, as kube-scheduler counts it: one
 * (code, node count) entry per reason, codes ascending; at most AIOS_EXPLAIN_MAX_ENTRIES entries.
 * *out_entries gets the number written; *out_feasible_nodes the live nodes where it fits now. */
AIOS_API aios_status aios_engine_explain(aios_engine engine, const int64_t* request, size_t request_len,
                                         int32_t constraint, int32_t* out_codes, int64_t* out_counts,
                                         size_t out_len, size_t* out_entries, int32_t* out_feasible_nodes);

/* [reads] The same as one line, exactly as the Python API words it ("0/3 nodes are available: 3
 * Insufficient nvidia.com/gpu."), or "" when the task fits somewhere. Writes at most buffer_len
 * bytes including the terminating NUL; *out_needed gets the bytes the full text needs (with NUL).
 * A short buffer gives BUFFER_TOO_SMALL with *out_needed set and the buffer untouched. */
AIOS_API aios_status aios_engine_explain_text(aios_engine engine, const int64_t* request, size_t request_len,
                                              int32_t constraint, char* buffer, size_t buffer_len,
                                              size_t* out_needed);

/* [reads] The policy's score of the request on every node slot (INT64_MIN where it cannot go); out
 * [node_slots]. */
AIOS_API aios_status aios_engine_scores(aios_engine engine, const int64_t* request, size_t request_len,
                                        int32_t constraint, int64_t* out, size_t out_len);

/* [reads] Allocated quantities [node_slots * resources], row-major, a snapshot. */
AIOS_API aios_status aios_engine_allocated(aios_engine engine, int64_t* out, size_t out_len);

/* [reads] Where a running task is and what it holds; NOT_FOUND for an unknown id. */
AIOS_API aios_status aios_engine_get_task(aios_engine engine, int64_t id, aios_task_info* out);

/* [writes] Adds a node while tasks run. capacity [resources]; domains [levels]; taint_ok and affinity_ok
 * [constraints], one flag per existing constraint; gpu_model -1 or 0..63. *out_node: its index. */
AIOS_API aios_status aios_engine_add_node(aios_engine engine, const int64_t* capacity, size_t capacity_len,
                                          const int32_t* domains, size_t domains_len, const uint8_t* taint_ok,
                                          size_t taint_ok_len, const uint8_t* affinity_ok, size_t affinity_ok_len,
                                          int32_t gpu_model, int32_t* out_node);

/* [writes] A cordoned node keeps its tasks and takes no new ones. */
AIOS_API aios_status aios_engine_set_cordoned(aios_engine engine, int32_t node, int32_t cordoned);

/* ---------------------------------------------------------------- fair share (stateless) */

/* [pure] Dominant Resource Fairness over whole tasks. capacity [resources] > 0; demands [users *
 * resources] per task; weights [users * resources] > 0 (0 entries: all 1); limits [users] max
 * tasks, -1 unlimited (0 entries: all unlimited). out_tasks [users]. */
AIOS_API aios_status aios_drf_tasks(int32_t users, int32_t resources, const int64_t* capacity, size_t capacity_len,
                                    const int64_t* demands, size_t demands_len, const double* weights,
                                    size_t weights_len, const int64_t* limits, size_t limits_len, int64_t* out_tasks,
                                    size_t out_tasks_len);
/* [pure] The continuous relaxation: fractional tasks per user. Same arguments. */
AIOS_API aios_status aios_drf_continuous(int32_t users, int32_t resources, const int64_t* capacity,
                                         size_t capacity_len, const int64_t* demands, size_t demands_len,
                                         const double* weights, size_t weights_len, const int64_t* limits,
                                         size_t limits_len, double* out_tasks, size_t out_tasks_len);

/* Rows of aios_fair_tree / aios_classic_fair_share output, each [associations] long. */
#define AIOS_FS_NORM_SHARES 0
#define AIOS_FS_RAW_USAGE 1
#define AIOS_FS_NORM_USAGE 2
#define AIOS_FS_EFFECTIVE_USAGE 3
#define AIOS_FS_LEVEL_FS 4
#define AIOS_FS_FAIR_SHARE 5
#define AIOS_FS_ROWS 6

/* [pure] Slurm's Fair Tree over an association tree: parent [n] (-1 for the one root), shares [n],
 * usage [n] (own raw usage), is_user [n] (users are leaves). out [AIOS_FS_ROWS * n], row-major,
 * like sshare's columns; blanks are NaN. */
AIOS_API aios_status aios_fair_tree(int32_t associations, const int32_t* parent, size_t parent_len,
                                    const int64_t* shares, size_t shares_len, const double* usage, size_t usage_len,
                                    const uint8_t* is_user, size_t is_user_len, double* out, size_t out_len);
/* [pure] Slurm's classic factor 2^(-U_E / S / d), dampening d >= 1 (1: none); same arrays. */
AIOS_API aios_status aios_classic_fair_share(int32_t associations, const int32_t* parent, size_t parent_len,
                                             const int64_t* shares, size_t shares_len, const double* usage,
                                             size_t usage_len, const uint8_t* is_user, size_t is_user_len,
                                             double dampening, double* out, size_t out_len);

/* ---------------------------------------------------------------- partition (stateless) */

/* [pure] Exact min-bottleneck split of layer costs [layers] into k contiguous non-empty stages.
 * out_boundaries [k + 1]: stage s owns layers [b[s], b[s+1]). */
AIOS_API aios_status aios_split(const double* costs, size_t costs_len, int64_t k, double* out_bottleneck,
                                int64_t* out_boundaries, size_t out_boundaries_len);

typedef struct aios_plan_model {
  int64_t layers;
  const double* flops;          /* [layers] forward FLOPs per micro-batch */
  const int64_t* params;        /* [layers] parameter count */
  const int64_t* activation;    /* [layers] bytes kept for backward per micro-batch */
  const int64_t* output;        /* [layers] bytes sent to the next stage */
  const int64_t* tp_comm;       /* [layers] bytes all-reduced per micro-batch under tensor parallelism */
} aios_plan_model;

typedef struct aios_plan_devices {
  int64_t count;
  const double* flops_per_s;    /* [count] */
  const int64_t* memory;        /* [count] bytes */
  const double* bandwidth;      /* [count * count] bytes/s */
  const double* latency;        /* [count * count] seconds */
} aios_plan_devices;

typedef struct aios_plan_options {
  int64_t microbatches;           /* e.g. 8 */
  int64_t grad_bytes_per_param;   /* e.g. 2 */
  int64_t state_bytes_per_param;  /* e.g. 16 */
  int64_t max_tensor_parallel;    /* e.g. 8 */
  double backward_factor;         /* e.g. 2.0 */
  int64_t fixed_pipeline;         /* 0: search, otherwise only this degree */
  int64_t fixed_tensor;           /* 0: search, otherwise only this degree */
} aios_plan_options;

typedef struct aios_plan_result {
  int32_t feasible;
  int64_t pipeline, tensor, data;
  double iteration_time;
  int64_t configs_searched, dp_passes;
} aios_plan_result;

/* [pure] Pipeline plan (stages x tensor x data parallel) minimising iteration time under device memory.
 * out_boundaries [layers + 1], out_stage_time and out_stage_memory [layers]: the first
 * pipeline + 1 / pipeline entries are written when feasible. */
AIOS_API aios_status aios_plan(const aios_plan_model* model, const aios_plan_devices* devices,
                               const aios_plan_options* options, aios_plan_result* out, int64_t* out_boundaries,
                               size_t out_boundaries_len, double* out_stage_time, size_t out_stage_time_len,
                               int64_t* out_stage_memory, size_t out_stage_memory_len);

/* ---------------------------------------------------------------- topology (stateless) */

typedef struct aios_gpu_selection {
  int32_t count;            /* GPUs written to out_gpus: `size`, or 0 when no set exists */
  int64_t set_score;
  int64_t partition_score;
  int32_t exact;            /* 0 when max_nodes ran out before the search finished */
  int64_t nodes;            /* search nodes visited */
} aios_gpu_selection;

/* [pure] go-gpuallocator's best-effort GPU set inside one node. score [gpus * gpus] symmetric pair scores
 * of the available GPUs; required [n] positions that must be in the set; size GPUs wanted;
 * max_nodes <= 0: no search budget. out_gpus [size] gets positions into the available list. */
AIOS_API aios_status aios_select_gpus(const int64_t* score, size_t score_len, int32_t gpus, const int32_t* required,
                                      size_t required_len, int32_t size, int64_t max_nodes, int32_t* out_gpus,
                                      size_t out_gpus_len, aios_gpu_selection* out);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* AIOS_AIOS_H */
