/* Calls every entry point of the C API with NULL pointers, wrong sizes, destroyed and never-created
 * handles and checks the status codes (built with AddressSanitizer by tests/test_capi.py: a crash
 * or a use of freed memory fails the run). Also checks that a rejected call changes nothing and
 * that threads may share an engine, and destroy it, while others call it.
 * Prints "ok <checks>" and exits 0, or names each failed check and exits 1. */
#include <aios/aios.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static int checks = 0, failures = 0;

static void expect_status(aios_status got, aios_status want, const char* what, int line) {
  ++checks;
  if (got != want) {
    fprintf(stderr, "line %d: %s: got %s, want %s (%s)\n", line, what, aios_status_name(got), aios_status_name(want),
            aios_last_error());
    ++failures;
  } else if (want != AIOS_OK && aios_last_error()[0] == '\0') {
    fprintf(stderr, "line %d: %s: %s without a message\n", line, what, aios_status_name(got));
    ++failures;
  }
}

#define EXPECT(call, want) expect_status((call), (want), #call, __LINE__)
#define CHECK(cond)                                                    \
  do {                                                                 \
    ++checks;                                                          \
    if (!(cond)) {                                                     \
      fprintf(stderr, "line %d: check failed: %s\n", __LINE__, #cond); \
      ++failures;                                                      \
    }                                                                  \
  } while (0)

enum { N = 3, R = 2 };
static const int64_t capacity[N * R] = {4000, 8000, 4000, 8000, 2000, 4000};
static const int32_t domains[N] = {0, 0, 1};
static const char* names[R] = {"cpu", "memory"};

static aios_engine_desc good_desc(void) {
  aios_engine_desc d;
  memset(&d, 0, sizeof d);
  d.nodes = N;
  d.resources = R;
  d.capacity = capacity;
  d.capacity_len = N * R;
  d.resource_names = names;
  d.resource_names_len = R;
  d.gpu_column = -1;
  d.levels = 1;
  d.domains = domains;
  d.domains_len = N;
  d.policy = "best_fit";
  d.seed = 1;
  return d;
}

static void check_library(void) {
  CHECK(aios_version() == AIOS_VERSION_NUMBER);
  CHECK(strcmp(aios_version_string(), AIOS_VERSION_STRING) == 0);
  CHECK(aios_abi_version() == AIOS_ABI_VERSION);
  CHECK(strcmp(aios_status_name(AIOS_ERR_INVALID_HANDLE), "AIOS_ERR_INVALID_HANDLE") == 0);
  CHECK(strcmp(aios_status_name(99), "unknown status") == 0);
}

static void check_create(void) {
  aios_engine e;
  aios_engine_desc d = good_desc();
  int64_t weights[R + 1] = {1, 1, 1};
  int64_t shape[3] = {0, 0, 100};
  EXPECT(aios_engine_create(NULL, &e), AIOS_ERR_NULL_ARGUMENT);
  EXPECT(aios_engine_create(&d, NULL), AIOS_ERR_NULL_ARGUMENT);
  d.capacity_len = N * R - 1;
  EXPECT(aios_engine_create(&d, &e), AIOS_ERR_INVALID_ARGUMENT);
  d = good_desc();
  d.capacity = NULL;
  EXPECT(aios_engine_create(&d, &e), AIOS_ERR_NULL_ARGUMENT);
  d = good_desc();
  d.domains_len = 1;
  EXPECT(aios_engine_create(&d, &e), AIOS_ERR_INVALID_ARGUMENT);
  d = good_desc();
  d.policy = NULL;
  EXPECT(aios_engine_create(&d, &e), AIOS_ERR_NULL_ARGUMENT);
  d.policy = "no_such_policy";
  EXPECT(aios_engine_create(&d, &e), AIOS_ERR_INVALID_ARGUMENT);
  d.policy = "fgd";
  EXPECT(aios_engine_create(&d, &e), AIOS_ERR_INVALID_ARGUMENT);
  d = good_desc();
  d.resources = 0;
  EXPECT(aios_engine_create(&d, &e), AIOS_ERR_INVALID_ARGUMENT);
  d = good_desc();
  d.nodes = -1;
  EXPECT(aios_engine_create(&d, &e), AIOS_ERR_INVALID_ARGUMENT);
  d = good_desc();
  d.weights = weights;
  d.weights_len = R + 1;
  EXPECT(aios_engine_create(&d, &e), AIOS_ERR_INVALID_ARGUMENT);
  d = good_desc();
  d.policy = "requested_to_capacity_ratio";
  d.shape = shape;
  d.shape_len = 3;
  EXPECT(aios_engine_create(&d, &e), AIOS_ERR_INVALID_ARGUMENT);
  d = good_desc();
  d.resource_names_len = R - 1;
  EXPECT(aios_engine_create(&d, &e), AIOS_ERR_INVALID_ARGUMENT);
  d = good_desc();
  d.gpu_column = R;
  EXPECT(aios_engine_create(&d, &e), AIOS_ERR_INVALID_ARGUMENT);
}

/* Every engine entry point on handle h gives `want` (a destroyed or never-created handle). */
static void check_handle_rejected(aios_engine h, aios_status want) {
  const int64_t req[R] = {1000, 1000};
  const int64_t ids[1] = {7};
  const int32_t node[1] = {0};
  const uint8_t flags[N] = {1, 1, 1};
  const int32_t dom[1] = {0};
  int32_t out_nodes[1], out_id, placed, codes[8], feasible;
  int64_t counts[8], scores[N], allocated[N * R];
  size_t entries, needed;
  char text[256];
  aios_engine_info info;
  aios_task_info task;
  EXPECT(aios_engine_destroy(h), want);
  EXPECT(aios_engine_get_info(h, &info), want);
  EXPECT(aios_engine_add_constraint(h, flags, N, flags, N, -1, 0, &out_id), want);
  EXPECT(aios_engine_place_batch(h, 1, req, R, ids, 1, NULL, 0, NULL, 0, out_nodes, 1), want);
  EXPECT(aios_engine_assign(h, 1, req, R, ids, 1, NULL, 0, NULL, 0, node, 1), want);
  EXPECT(aios_engine_release(h, ids, 1), want);
  EXPECT(aios_engine_place_gang(h, 1, req, R, ids, 1, 0, 0, 0, AIOS_GANG_PACK, -1, 0, out_nodes, 1, &placed), want);
  EXPECT(aios_engine_explain(h, req, R, 0, codes, counts, 8, &entries, &feasible), want);
  EXPECT(aios_engine_explain_text(h, req, R, 0, text, sizeof text, &needed), want);
  EXPECT(aios_engine_scores(h, req, R, 0, scores, N), want);
  EXPECT(aios_engine_allocated(h, allocated, N * R), want);
  EXPECT(aios_engine_get_task(h, 7, &task), want);
  EXPECT(aios_engine_add_node(h, req, R, dom, 1, flags, 1, flags, 1, -1, &out_id), want);
  EXPECT(aios_engine_set_cordoned(h, 0, 1), want);
  EXPECT(aios_engine_preempt(h, 1, req, R, 1, 0, -1, 0, &out_id, counts, codes, 8, &entries), want);
}

static void check_engine_arguments(aios_engine e) {
  const int64_t req[2 * R] = {1000, 1000, 1000, 1000};
  const int64_t too_big[R] = {1000, 1000000};
  const int64_t ids[2] = {1, 2};
  const int64_t prio[2] = {0, 0};
  const int32_t cids[2] = {0, 0};
  const int32_t bad_cid[1] = {9};
  const int32_t nodes[2] = {0, 1};
  const int32_t bad_node[1] = {N};
  const uint8_t flags[N] = {1, 1, 1};
  const int32_t dom[1] = {0};
  int32_t out_nodes[2], out_id, placed, codes[8], feasible;
  int64_t counts[8], scores[N], allocated[N * R];
  size_t entries, needed;
  char text[256];
  aios_engine_info before, after;
  aios_task_info task;

  EXPECT(aios_engine_get_info(e, NULL), AIOS_ERR_NULL_ARGUMENT);
  EXPECT(aios_engine_get_info(e, &before), AIOS_OK);

  EXPECT(aios_engine_add_constraint(e, NULL, N, flags, N, -1, 0, &out_id), AIOS_ERR_NULL_ARGUMENT);
  EXPECT(aios_engine_add_constraint(e, flags, N - 1, flags, N, -1, 0, &out_id), AIOS_ERR_INVALID_ARGUMENT);
  EXPECT(aios_engine_add_constraint(e, flags, N, flags, N, -1, 0, NULL), AIOS_ERR_NULL_ARGUMENT);
  EXPECT(aios_engine_add_constraint(e, flags, N, flags, N, 0, 0, &out_id), AIOS_ERR_INVALID_ARGUMENT);

  EXPECT(aios_engine_place_batch(e, 2, NULL, 2 * R, ids, 2, NULL, 0, NULL, 0, out_nodes, 2), AIOS_ERR_NULL_ARGUMENT);
  EXPECT(aios_engine_place_batch(e, 2, req, R, ids, 2, NULL, 0, NULL, 0, out_nodes, 2), AIOS_ERR_INVALID_ARGUMENT);
  EXPECT(aios_engine_place_batch(e, 2, req, 2 * R, ids, 1, NULL, 0, NULL, 0, out_nodes, 2), AIOS_ERR_INVALID_ARGUMENT);
  EXPECT(aios_engine_place_batch(e, 2, req, 2 * R, ids, 2, prio, 1, NULL, 0, out_nodes, 2), AIOS_ERR_INVALID_ARGUMENT);
  EXPECT(aios_engine_place_batch(e, 2, req, 2 * R, ids, 2, NULL, 0, cids, 3, out_nodes, 2), AIOS_ERR_INVALID_ARGUMENT);
  EXPECT(aios_engine_place_batch(e, 2, req, 2 * R, ids, 2, NULL, 0, NULL, 0, out_nodes, 1), AIOS_ERR_BUFFER_TOO_SMALL);
  EXPECT(aios_engine_place_batch(e, 2, req, 2 * R, ids, 2, NULL, 0, NULL, 0, NULL, 2), AIOS_ERR_NULL_ARGUMENT);
  EXPECT(aios_engine_place_batch(e, 1, req, R, ids, 1, NULL, 0, bad_cid, 1, out_nodes, 1), AIOS_ERR_NOT_FOUND);
  EXPECT(aios_engine_place_batch(e, (size_t)1 << 40, req, R, ids, 1, NULL, 0, NULL, 0, out_nodes, 1),
         AIOS_ERR_INVALID_ARGUMENT);

  EXPECT(aios_engine_assign(e, 2, req, 2 * R, ids, 2, prio, 2, cids, 2, NULL, 2), AIOS_ERR_NULL_ARGUMENT);
  EXPECT(aios_engine_assign(e, 2, req, 2 * R, ids, 2, prio, 2, cids, 2, nodes, 1), AIOS_ERR_INVALID_ARGUMENT);
  EXPECT(aios_engine_assign(e, 1, req, R, ids, 1, NULL, 0, NULL, 0, bad_node, 1), AIOS_ERR_NOT_FOUND);
  EXPECT(aios_engine_assign(e, 1, too_big, R, ids, 1, NULL, 0, NULL, 0, nodes, 1), AIOS_ERR_INVALID_ARGUMENT);

  EXPECT(aios_engine_release(e, NULL, 1), AIOS_ERR_NULL_ARGUMENT);
  EXPECT(aios_engine_release(e, ids, 1), AIOS_ERR_NOT_FOUND);

  EXPECT(aios_engine_place_gang(e, 2, req, 2 * R, ids, 2, 0, 0, 0, AIOS_GANG_PACK, -1, 0, out_nodes, 2, NULL),
         AIOS_ERR_NULL_ARGUMENT);
  EXPECT(aios_engine_place_gang(e, 2, req, R, ids, 2, 0, 0, 0, AIOS_GANG_PACK, -1, 0, out_nodes, 2, &placed),
         AIOS_ERR_INVALID_ARGUMENT);
  EXPECT(aios_engine_place_gang(e, 2, req, 2 * R, ids, 2, 0, 0, 0, AIOS_GANG_PACK, -1, 0, out_nodes, 1, &placed),
         AIOS_ERR_BUFFER_TOO_SMALL);
  EXPECT(aios_engine_place_gang(e, 2, req, 2 * R, ids, 2, 0, 0, 0, 7, -1, 0, out_nodes, 2, &placed),
         AIOS_ERR_INVALID_ARGUMENT);
  EXPECT(aios_engine_place_gang(e, 2, req, 2 * R, ids, 2, 0, 0, 3, AIOS_GANG_PACK, -1, 0, out_nodes, 2, &placed),
         AIOS_ERR_INVALID_ARGUMENT);
  EXPECT(aios_engine_place_gang(e, 2, req, 2 * R, ids, 2, 0, 0, -1, AIOS_GANG_PACK, -1, 0, out_nodes, 2, &placed),
         AIOS_ERR_INVALID_ARGUMENT);
  EXPECT(aios_engine_place_gang(e, 2, req, 2 * R, ids, 2, 0, 0, 0, AIOS_GANG_PACK, 5, 1, out_nodes, 2, &placed),
         AIOS_ERR_INVALID_ARGUMENT);
  EXPECT(aios_engine_place_gang(e, 0, NULL, 0, NULL, 0, 0, 0, 0, AIOS_GANG_PACK, -1, 0, NULL, 0, &placed),
         AIOS_ERR_INVALID_ARGUMENT);

  EXPECT(aios_engine_explain(e, NULL, R, 0, codes, counts, 8, &entries, &feasible), AIOS_ERR_NULL_ARGUMENT);
  EXPECT(aios_engine_explain(e, req, R + 1, 0, codes, counts, 8, &entries, &feasible), AIOS_ERR_INVALID_ARGUMENT);
  EXPECT(aios_engine_explain(e, too_big, R, 0, codes, counts, 0, &entries, &feasible), AIOS_ERR_BUFFER_TOO_SMALL);
  EXPECT(aios_engine_explain(e, req, R, 0, codes, counts, 8, NULL, &feasible), AIOS_ERR_NULL_ARGUMENT);
  EXPECT(aios_engine_explain(e, req, R, 0, codes, counts, 8, &entries, NULL), AIOS_ERR_NULL_ARGUMENT);
  EXPECT(aios_engine_explain(e, req, R, 9, codes, counts, 8, &entries, &feasible), AIOS_ERR_NOT_FOUND);
  EXPECT(aios_engine_explain_text(e, req, R, 0, text, sizeof text, NULL), AIOS_ERR_NULL_ARGUMENT);
  EXPECT(aios_engine_explain_text(e, too_big, R, 0, text, 4, &needed), AIOS_ERR_BUFFER_TOO_SMALL);
  CHECK(needed > 4);
  EXPECT(aios_engine_explain_text(e, too_big, R, 0, NULL, 0, &needed), AIOS_ERR_BUFFER_TOO_SMALL);
  EXPECT(aios_engine_explain_text(e, req, 1, 0, text, sizeof text, &needed), AIOS_ERR_INVALID_ARGUMENT);
  EXPECT(aios_engine_scores(e, req, R, 0, scores, N - 1), AIOS_ERR_BUFFER_TOO_SMALL);
  EXPECT(aios_engine_scores(e, req, R, 0, NULL, N), AIOS_ERR_NULL_ARGUMENT);
  EXPECT(aios_engine_scores(e, NULL, 0, 0, scores, N), AIOS_ERR_INVALID_ARGUMENT);
  EXPECT(aios_engine_allocated(e, allocated, N * R - 1), AIOS_ERR_BUFFER_TOO_SMALL);
  EXPECT(aios_engine_allocated(e, NULL, N * R), AIOS_ERR_NULL_ARGUMENT);
  EXPECT(aios_engine_get_task(e, 1, NULL), AIOS_ERR_NULL_ARGUMENT);
  EXPECT(aios_engine_get_task(e, 12345, &task), AIOS_ERR_NOT_FOUND);
  EXPECT(aios_engine_add_node(e, req, R - 1, dom, 1, flags, 1, flags, 1, -1, &out_id), AIOS_ERR_INVALID_ARGUMENT);
  EXPECT(aios_engine_add_node(e, req, R, NULL, 1, flags, 1, flags, 1, -1, &out_id), AIOS_ERR_NULL_ARGUMENT);
  EXPECT(aios_engine_add_node(e, req, R, dom, 1, flags, 2, flags, 1, -1, &out_id), AIOS_ERR_INVALID_ARGUMENT);
  EXPECT(aios_engine_add_node(e, req, R, dom, 1, flags, 1, flags, 1, -1, NULL), AIOS_ERR_NULL_ARGUMENT);
  EXPECT(aios_engine_add_node(e, req, R, dom, 1, flags, 1, flags, 1, 99, &out_id), AIOS_ERR_INVALID_ARGUMENT);
  EXPECT(aios_engine_set_cordoned(e, N + 5, 1), AIOS_ERR_NOT_FOUND);
  EXPECT(aios_engine_preempt(e, 1, req, R, 1, 0, -1, 0, NULL, counts, codes, 8, &entries), AIOS_ERR_NULL_ARGUMENT);
  EXPECT(aios_engine_preempt(e, 1, req, R, 1, 0, -1, 0, &out_id, counts, codes, 8, NULL), AIOS_ERR_NULL_ARGUMENT);
  EXPECT(aios_engine_preempt(e, 1, req, R + 1, 1, 0, -1, 0, &out_id, counts, codes, 8, &entries),
         AIOS_ERR_INVALID_ARGUMENT);
  EXPECT(aios_engine_preempt(e, 1, NULL, R, 1, 0, -1, 0, &out_id, counts, codes, 8, &entries), AIOS_ERR_NULL_ARGUMENT);
  EXPECT(aios_engine_preempt(e, 0, NULL, 0, 1, 0, -1, 0, &out_id, counts, codes, 8, &entries), AIOS_ERR_INVALID_ARGUMENT);
  EXPECT(aios_engine_preempt(e, 1, req, R, 1, 9, -1, 0, &out_id, counts, codes, 8, &entries), AIOS_ERR_NOT_FOUND);
  EXPECT(aios_engine_preempt(e, 1, req, R, 1, 0, 4, 0, &out_id, counts, codes, 8, &entries), AIOS_ERR_INVALID_ARGUMENT);

  EXPECT(aios_engine_get_info(e, &after), AIOS_OK);
  /* every rejection left the engine as it was */
  CHECK(before.node_slots == after.node_slots && before.live_nodes == after.live_nodes);
  CHECK(before.constraints == after.constraints && before.tasks == after.tasks);
}

static void check_engine_works(aios_engine e) {
  const int64_t req[2 * R] = {3000, 1000, 3000, 1000};
  const int64_t ids[2] = {10, 11};
  const int64_t dup_ids[2] = {20, 20};
  const int64_t huge[R] = {1000, 1000000};
  int32_t out_nodes[2], codes[8], feasible;
  int64_t counts[8], allocated[N * R];
  size_t entries, needed;
  char text[256];
  aios_engine_info info;
  aios_task_info task;
  EXPECT(aios_engine_place_batch(e, 2, req, 2 * R, ids, 2, NULL, 0, NULL, 0, out_nodes, 2), AIOS_OK);
  CHECK(out_nodes[0] >= 0 && out_nodes[1] >= 0 && out_nodes[0] != out_nodes[1]);
  EXPECT(aios_engine_get_task(e, 10, &task), AIOS_OK);
  CHECK(task.node == out_nodes[0]);
  EXPECT(aios_engine_allocated(e, allocated, N * R), AIOS_OK);
  CHECK(allocated[out_nodes[0] * R] == 3000);
  /* A batch with a repeated id is rejected whole: still two tasks. */
  EXPECT(aios_engine_place_batch(e, 2, req, 2 * R, dup_ids, 2, NULL, 0, NULL, 0, out_nodes, 2),
         AIOS_ERR_INVALID_ARGUMENT);
  EXPECT(aios_engine_get_info(e, &info), AIOS_OK);
  CHECK(info.tasks == 2);
  EXPECT(aios_engine_explain(e, huge, R, 0, codes, counts, 8, &entries, &feasible), AIOS_OK);
  CHECK(entries == 1 && codes[0] == AIOS_REASON_INSUFFICIENT + 1 && counts[0] == N && feasible == 0);
  EXPECT(aios_engine_explain_text(e, huge, R, 0, text, sizeof text, &needed), AIOS_OK);
  CHECK(strcmp(text, "0/3 nodes are available: 3 Insufficient memory.") == 0);
  CHECK(needed == strlen(text) + 1);
  EXPECT(aios_engine_release(e, ids, 2), AIOS_OK);
  EXPECT(aios_engine_get_info(e, &info), AIOS_OK);
  CHECK(info.tasks == 0);
}

/* Preemption finds a lower-priority victim; a short buffer evicts nothing; evict releases it. */
static void check_preempt(aios_engine e) {
  const int64_t req[2 * R] = {3000, 1000, 3000, 1000};
  const int64_t ids[2] = {30, 31};
  const int64_t big[R] = {4000, 1000};
  int64_t victims[2];
  int32_t victim_nodes[2], nodes[2], node = -7;
  size_t count = 0;
  aios_engine_info info;
  aios_task_info task;
  EXPECT(aios_engine_place_batch(e, 2, req, 2 * R, ids, 2, NULL, 0, NULL, 0, nodes, 2), AIOS_OK);
  EXPECT(aios_engine_preempt(e, 1, big, R, 1, 0, -1, 1, &node, victims, victim_nodes, 0, &count),
         AIOS_ERR_BUFFER_TOO_SMALL);
  CHECK(count == 1);
  EXPECT(aios_engine_get_info(e, &info), AIOS_OK);
  CHECK(info.tasks == 2); /* nothing evicted */
  EXPECT(aios_engine_preempt(e, 1, big, R, 0, 0, -1, 1, &node, victims, victim_nodes, 2, &count), AIOS_OK);
  CHECK(node == -1 && count == 0); /* equal priority is no victim */
  EXPECT(aios_engine_preempt(e, 1, big, R, 1, 0, -1, 1, &node, victims, victim_nodes, 2, &count), AIOS_OK);
  CHECK(count == 1 && node == victim_nodes[0] && (victims[0] == 30 || victims[0] == 31));
  EXPECT(aios_engine_get_task(e, victims[0], &task), AIOS_ERR_NOT_FOUND);
  EXPECT(aios_engine_release(e, victims[0] == 30 ? &ids[1] : &ids[0], 1), AIOS_OK);
  EXPECT(aios_engine_get_info(e, &info), AIOS_OK);
  CHECK(info.tasks == 0);
}

static void check_stateless(void) {
  const int64_t cap[2] = {9, 18};
  const int64_t demands[4] = {1, 4, 3, 1};
  const double costs[4] = {1, 2, 3, 4};
  const int32_t parent[3] = {-1, 0, 0};
  const int64_t shares[3] = {1, 1, 1};
  const double usage[3] = {0, 1, 2};
  const uint8_t is_user[3] = {0, 1, 1};
  const int64_t score[4] = {0, 5, 5, 0};
  const int32_t required[1] = {0};
  int64_t tasks[2], bounds[3];
  double frac[2], bottleneck, table[18];
  int32_t gpus[2];
  aios_gpu_selection sel;
  aios_plan_result plan;
  const double flops[2] = {1e9, 1e9};
  const int64_t params[2] = {1000, 1000}, act[2] = {10, 10}, outb[2] = {10, 10}, tp[2] = {0, 0};
  const double speed[1] = {1e12}, bw[1] = {1e10}, lat[1] = {0};
  const int64_t mem[1] = {1 << 30};
  aios_plan_model model = {2, flops, params, act, outb, tp};
  aios_plan_devices devices = {1, speed, mem, bw, lat};
  aios_plan_options options = {4, 2, 16, 8, 2.0, 0, 0};
  int64_t plan_bounds[3], plan_mem[2];
  double plan_time[2];

  EXPECT(aios_drf_tasks(2, 2, cap, 2, demands, 4, NULL, 0, NULL, 0, tasks, 2), AIOS_OK);
  CHECK(tasks[0] == 3 && tasks[1] == 2); /* the NSDI'11 example */
  EXPECT(aios_drf_tasks(2, 2, NULL, 2, demands, 4, NULL, 0, NULL, 0, tasks, 2), AIOS_ERR_NULL_ARGUMENT);
  EXPECT(aios_drf_tasks(2, 2, cap, 2, demands, 3, NULL, 0, NULL, 0, tasks, 2), AIOS_ERR_INVALID_ARGUMENT);
  EXPECT(aios_drf_tasks(2, 2, cap, 2, demands, 4, NULL, 1, NULL, 0, tasks, 2), AIOS_ERR_INVALID_ARGUMENT);
  EXPECT(aios_drf_tasks(2, 2, cap, 2, demands, 4, NULL, 0, NULL, 0, tasks, 1), AIOS_ERR_BUFFER_TOO_SMALL);
  EXPECT(aios_drf_tasks(-1, 2, cap, 2, demands, 4, NULL, 0, NULL, 0, tasks, 2), AIOS_ERR_INVALID_ARGUMENT);
  EXPECT(aios_drf_continuous(2, 2, cap, 2, demands, 4, NULL, 0, NULL, 0, frac, 2), AIOS_OK);
  EXPECT(aios_drf_continuous(2, 2, cap, 2, demands, 4, NULL, 0, NULL, 0, NULL, 2), AIOS_ERR_NULL_ARGUMENT);

  EXPECT(aios_fair_tree(3, parent, 3, shares, 3, usage, 3, is_user, 3, table, 18), AIOS_OK);
  CHECK(table[AIOS_FS_FAIR_SHARE * 3 + 1] > table[AIOS_FS_FAIR_SHARE * 3 + 2]); /* less usage ranks higher */
  EXPECT(aios_fair_tree(3, parent, 3, shares, 3, usage, 3, is_user, 3, table, 17), AIOS_ERR_BUFFER_TOO_SMALL);
  EXPECT(aios_fair_tree(3, parent, 2, shares, 3, usage, 3, is_user, 3, table, 18), AIOS_ERR_INVALID_ARGUMENT);
  EXPECT(aios_fair_tree(3, parent, 3, shares, 3, NULL, 3, is_user, 3, table, 18), AIOS_ERR_NULL_ARGUMENT);
  EXPECT(aios_fair_tree(0, parent, 0, shares, 0, usage, 0, is_user, 0, table, 0), AIOS_ERR_INVALID_ARGUMENT);
  EXPECT(aios_classic_fair_share(3, parent, 3, shares, 3, usage, 3, is_user, 3, 1.0, table, 18), AIOS_OK);
  EXPECT(aios_classic_fair_share(3, parent, 3, shares, 3, usage, 3, is_user, 3, 0.5, table, 18),
         AIOS_ERR_INVALID_ARGUMENT);
  EXPECT(aios_classic_fair_share(3, parent, 3, shares, 3, usage, 3, NULL, 3, 1.0, table, 18), AIOS_ERR_NULL_ARGUMENT);

  EXPECT(aios_split(costs, 4, 2, &bottleneck, bounds, 3), AIOS_OK);
  CHECK(bottleneck == 6.0 && bounds[0] == 0 && bounds[2] == 4);
  EXPECT(aios_split(NULL, 4, 2, &bottleneck, bounds, 3), AIOS_ERR_NULL_ARGUMENT);
  EXPECT(aios_split(costs, 4, 2, NULL, bounds, 3), AIOS_ERR_NULL_ARGUMENT);
  EXPECT(aios_split(costs, 4, 2, &bottleneck, bounds, 2), AIOS_ERR_BUFFER_TOO_SMALL);
  EXPECT(aios_split(costs, 4, 0, &bottleneck, bounds, 3), AIOS_ERR_INVALID_ARGUMENT);
  EXPECT(aios_split(costs, 4, 5, &bottleneck, bounds, 6), AIOS_ERR_INVALID_ARGUMENT);
  EXPECT(aios_split(costs, 4, INT64_MAX, &bottleneck, bounds, 3), AIOS_ERR_INVALID_ARGUMENT);

  EXPECT(aios_plan(&model, &devices, &options, &plan, plan_bounds, 3, plan_time, 2, plan_mem, 2), AIOS_OK);
  CHECK(plan.feasible == 1 && plan.pipeline == 1);
  EXPECT(aios_plan(NULL, &devices, &options, &plan, plan_bounds, 3, plan_time, 2, plan_mem, 2), AIOS_ERR_NULL_ARGUMENT);
  EXPECT(aios_plan(&model, &devices, &options, NULL, plan_bounds, 3, plan_time, 2, plan_mem, 2), AIOS_ERR_NULL_ARGUMENT);
  EXPECT(aios_plan(&model, &devices, &options, &plan, plan_bounds, 2, plan_time, 2, plan_mem, 2),
         AIOS_ERR_BUFFER_TOO_SMALL);
  model.flops = NULL;
  EXPECT(aios_plan(&model, &devices, &options, &plan, plan_bounds, 3, plan_time, 2, plan_mem, 2), AIOS_ERR_NULL_ARGUMENT);
  model.flops = flops;
  model.layers = 0;
  EXPECT(aios_plan(&model, &devices, &options, &plan, plan_bounds, 3, plan_time, 2, plan_mem, 2),
         AIOS_ERR_INVALID_ARGUMENT);
  model.layers = 2;
  options.microbatches = 0;
  EXPECT(aios_plan(&model, &devices, &options, &plan, plan_bounds, 3, plan_time, 2, plan_mem, 2),
         AIOS_ERR_INVALID_ARGUMENT);

  EXPECT(aios_select_gpus(score, 4, 2, required, 1, 2, 0, gpus, 2, &sel), AIOS_OK);
  CHECK(sel.count == 2 && gpus[0] == 0 && gpus[1] == 1 && sel.set_score == 5);
  EXPECT(aios_select_gpus(score, 3, 2, required, 1, 2, 0, gpus, 2, &sel), AIOS_ERR_INVALID_ARGUMENT);
  EXPECT(aios_select_gpus(NULL, 4, 2, required, 1, 2, 0, gpus, 2, &sel), AIOS_ERR_NULL_ARGUMENT);
  EXPECT(aios_select_gpus(score, 4, 2, NULL, 1, 2, 0, gpus, 2, &sel), AIOS_ERR_NULL_ARGUMENT);
  EXPECT(aios_select_gpus(score, 4, 2, required, 1, 2, 0, gpus, 1, &sel), AIOS_ERR_BUFFER_TOO_SMALL);
  EXPECT(aios_select_gpus(score, 4, 2, required, 1, 2, 0, gpus, 2, NULL), AIOS_ERR_NULL_ARGUMENT);
  EXPECT(aios_select_gpus(score, 4, 2, required, 1, 3, 0, gpus, 3, &sel), AIOS_ERR_INVALID_ARGUMENT);
  EXPECT(aios_select_gpus(score, 4, -2, required, 1, 2, 0, gpus, 2, &sel), AIOS_ERR_INVALID_ARGUMENT);
}

/* Threads place, explain and release on one engine while the main thread destroys it: each call
 * returns AIOS_OK or AIOS_ERR_INVALID_HANDLE, and the engine's state stays consistent. */
typedef struct {
  aios_engine engine;
  int64_t first_id;
  int unexpected;
} worker_args;

static void* worker(void* p) {
  worker_args* a = (worker_args*)p;
  const int64_t req[R] = {10, 10};
  int k;
  for (k = 0; k < 200; ++k) {
    const int64_t id = a->first_id + k;
    int32_t node, codes[8], feasible;
    int64_t counts[8];
    size_t entries;
    aios_status s = aios_engine_place_batch(a->engine, 1, req, R, &id, 1, NULL, 0, NULL, 0, &node, 1);
    if (s == AIOS_OK && node >= 0) s = aios_engine_release(a->engine, &id, 1);
    if (s == AIOS_OK) s = aios_engine_explain(a->engine, req, R, 0, codes, counts, 8, &entries, &feasible);
    if (s == AIOS_ERR_INVALID_HANDLE) break;
    if (s != AIOS_OK) ++a->unexpected;
  }
  return NULL;
}

static void check_threads(void) {
  aios_engine_desc d = good_desc();
  aios_engine e;
  aios_engine_info info;
  pthread_t threads[4];
  worker_args args[4];
  int t;
  EXPECT(aios_engine_create(&d, &e), AIOS_OK);
  for (t = 0; t < 4; ++t) {
    args[t].engine = e;
    args[t].first_id = 1000 * (t + 1);
    args[t].unexpected = 0;
    pthread_create(&threads[t], NULL, worker, &args[t]);
  }
  for (t = 0; t < 2; ++t) pthread_join(threads[t], NULL);
  EXPECT(aios_engine_get_info(e, &info), AIOS_OK);
  EXPECT(aios_engine_destroy(e), AIOS_OK); /* threads 2 and 3 may still be inside a call */
  for (t = 2; t < 4; ++t) pthread_join(threads[t], NULL);
  for (t = 0; t < 4; ++t) CHECK(args[t].unexpected == 0);
  EXPECT(aios_engine_destroy(e), AIOS_ERR_INVALID_HANDLE);
}

/* Read-only calls from several threads at once give the answers a single thread gets. */
typedef struct {
  aios_engine engine;
  const int64_t* want_scores;
  int mismatches;
} reader_args;

static void* reader(void* p) {
  reader_args* a = (reader_args*)p;
  const int64_t req[R] = {1000, 2000};
  int64_t scores[N], counts[8];
  int32_t codes[8], feasible;
  size_t entries, needed;
  char text[256];
  int k, i;
  for (k = 0; k < 300; ++k) {
    if (aios_engine_scores(a->engine, req, R, 0, scores, N) != AIOS_OK) ++a->mismatches;
    for (i = 0; i < N; ++i) a->mismatches += scores[i] != a->want_scores[i];
    if (aios_engine_explain(a->engine, req, R, 0, codes, counts, 8, &entries, &feasible) != AIOS_OK) ++a->mismatches;
    a->mismatches += feasible != N;
    if (aios_engine_explain_text(a->engine, req, R, 0, text, sizeof text, &needed) != AIOS_OK) ++a->mismatches;
    a->mismatches += text[0] != '\0';
  }
  return NULL;
}

static void check_concurrent_reads(void) {
  aios_engine_desc d = good_desc();
  aios_engine e;
  const int64_t req[R] = {1000, 2000};
  const int64_t ids[1] = {1};
  int64_t want[N];
  int32_t node;
  pthread_t threads[4];
  reader_args args[4];
  int t;
  EXPECT(aios_engine_create(&d, &e), AIOS_OK);
  EXPECT(aios_engine_place_batch(e, 1, req, R, ids, 1, NULL, 0, NULL, 0, &node, 1), AIOS_OK);
  EXPECT(aios_engine_scores(e, req, R, 0, want, N), AIOS_OK);
  for (t = 0; t < 4; ++t) {
    args[t].engine = e;
    args[t].want_scores = want;
    args[t].mismatches = 0;
    pthread_create(&threads[t], NULL, reader, &args[t]);
  }
  for (t = 0; t < 4; ++t) pthread_join(threads[t], NULL);
  for (t = 0; t < 4; ++t) CHECK(args[t].mismatches == 0);
  EXPECT(aios_engine_destroy(e), AIOS_OK);
}

int main(void) {
  aios_engine e, never = {0}, forged = {987654321};
  aios_engine_desc d = good_desc();
  check_library();
  check_create();
  check_handle_rejected(never, AIOS_ERR_INVALID_HANDLE);
  check_handle_rejected(forged, AIOS_ERR_INVALID_HANDLE);
  EXPECT(aios_engine_create(&d, &e), AIOS_OK);
  check_engine_arguments(e);
  check_engine_works(e);
  check_preempt(e);
  EXPECT(aios_engine_destroy(e), AIOS_OK);
  check_handle_rejected(e, AIOS_ERR_INVALID_HANDLE);
  check_stateless();
  check_threads();
  check_concurrent_reads();
  if (failures) {
    fprintf(stderr, "%d of %d checks failed\n", failures, checks);
    return 1;
  }
  printf("ok %d checks\n", checks);
  return 0;
}
