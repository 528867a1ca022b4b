/* Places tasks through the aios C API, as a C scheduler plugin would, and checks the answer: the
 * engine's allocation equals the sum of what it placed and stays within capacity, and a gang that
 * needs one topology domain got one.
 *
 *   place [scenario.txt]     (stdin without an argument; format in examples/README.md)
 *
 * Prints one line per step: "batch <node per task>", "gang <placed> <node per member>",
 * "released <count>", "batch <node per task>", "explain <text>", "preempt <node> <victim ids>".
 * Exit 0 when every check holds, 1 when a check fails, 2 when the API rejects a call or the input. */
#include <aios/aios.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"

#define CALL(expr)                                                                               \
  do {                                                                                           \
    aios_status status_ = (expr);                                                                \
    if (status_ != AIOS_OK) {                                                                    \
      fprintf(stderr, "%s failed: %s: %s\n", #expr, aios_status_name(status_), aios_last_error()); \
      exit(2);                                                                                   \
    }                                                                                            \
  } while (0)

/* What this program placed: node and request row per task id (ids are 0, 1, 2, ...). */
typedef struct {
  int32_t* node; /* -1: not running */
  const int64_t** request;
  size_t count;
} ledger;

static void record(ledger* g, int64_t id, int32_t node, const int64_t* request) {
  g->node[id] = node;
  g->request[id] = request;
}

static int check_allocation(aios_engine engine, const scenario* s, const ledger* g, const char* step) {
  const size_t R = (size_t)s->resources, cells = (size_t)s->nodes * R;
  int64_t* got = calloc(cells + 1, sizeof(int64_t));
  int64_t* want = calloc(cells + 1, sizeof(int64_t));
  size_t id, k, r;
  int ok = 1;
  CALL(aios_engine_allocated(engine, got, cells));
  for (id = 0; id < g->count; ++id) {
    if (g->node[id] < 0) continue;
    for (r = 0; r < R; ++r) want[(size_t)g->node[id] * R + r] += g->request[id][r];
  }
  for (k = 0; k < cells; ++k) {
    if (got[k] != want[k] || got[k] > s->capacity[k]) {
      fprintf(stderr, "check failed after %s: node %zu resource %zu allocated %lld, placed %lld, capacity %lld\n", step,
              k / R, k % R, (long long)got[k], (long long)want[k], (long long)s->capacity[k]);
      ok = 0;
    }
  }
  free(got);
  free(want);
  return ok;
}

static int place_batch(aios_engine engine, const task_list* t, int64_t first_id, ledger* g) {
  int64_t* ids = calloc(t->count + 1, sizeof(int64_t));
  int32_t* nodes = calloc(t->count + 1, sizeof(int32_t));
  size_t k, resources;
  aios_engine_info info;
  CALL(aios_engine_get_info(engine, &info));
  resources = (size_t)info.resources;
  for (k = 0; k < t->count; ++k) ids[k] = first_id + (int64_t)k;
  CALL(aios_engine_place_batch(engine, t->count, t->requests, t->count * resources, ids, t->count, NULL, 0, NULL, 0,
                               nodes, t->count));
  printf("batch");
  for (k = 0; k < t->count; ++k) {
    printf(" %d", nodes[k]);
    record(g, ids[k], nodes[k], t->requests + k * resources);
  }
  printf("\n");
  free(ids);
  free(nodes);
  return 1;
}

static int place_gang(aios_engine engine, const scenario* s, int64_t first_id, ledger* g) {
  const task_list* t = &s->gang;
  const size_t R = (size_t)s->resources;
  int64_t* ids = calloc(t->count + 1, sizeof(int64_t));
  int32_t* nodes = calloc(t->count + 1, sizeof(int32_t));
  int32_t placed = 0, domain = -1;
  size_t k, members = 0;
  int ok = 1;
  for (k = 0; k < t->count; ++k) ids[k] = first_id + (int64_t)k;
  CALL(aios_engine_place_gang(engine, t->count, t->requests, t->count * R, ids, t->count, 0, 0, s->gang_min_count,
                              s->gang_strategy, s->gang_level, s->gang_required, nodes, t->count,
                              &placed));
  printf("gang %d", placed);
  for (k = 0; k < t->count; ++k) {
    const int32_t node = placed ? nodes[k] : -1;
    printf(" %d", node);
    record(g, ids[k], node, t->requests + k * R);
    if (node < 0) continue;
    ++members;
    if (s->gang_required && s->gang_level >= 0) {
      const int32_t d = s->domains[(size_t)node * (size_t)s->levels + (size_t)s->gang_level];
      if (domain >= 0 && d != domain) {
        fprintf(stderr, "check failed: gang member %zu is in domain %d, another in %d\n", k, d, domain);
        ok = 0;
      }
      domain = d;
    }
  }
  printf("\n");
  if (placed) {
    const size_t need = s->gang_min_count > 0 ? (size_t)s->gang_min_count : t->count;
    if (members < need) {
      fprintf(stderr, "check failed: gang placed %zu members, fewer than %zu\n", members, need);
      ok = 0;
    }
  }
  free(ids);
  free(nodes);
  return ok;
}

/* Asks for room for one task of higher priority; with evict, the victims stop running. */
static int preempt(aios_engine engine, const scenario* s, ledger* g) {
  aios_engine_info info;
  int64_t* victims;
  int32_t* victim_nodes;
  int32_t node;
  size_t count, k;
  int ok = 1;
  CALL(aios_engine_get_info(engine, &info));
  victims = calloc((size_t)info.tasks + 1, sizeof(int64_t));
  victim_nodes = calloc((size_t)info.tasks + 1, sizeof(int32_t));
  CALL(aios_engine_preempt(engine, 1, s->preempt, (size_t)s->resources, s->preempt_priority, 0, -1, s->preempt_evict,
                           &node, victims, victim_nodes, (size_t)info.tasks, &count));
  printf("preempt %d", node);
  for (k = 0; k < count; ++k) {
    printf(" %lld", (long long)victims[k]);
    if (g->node[victims[k]] != victim_nodes[k]) {
      fprintf(stderr, "check failed: victim %lld is on node %d, not %d\n", (long long)victims[k], g->node[victims[k]],
              victim_nodes[k]);
      ok = 0;
    }
    if (s->preempt_evict && node >= 0) g->node[victims[k]] = -1;
  }
  printf("\n");
  free(victims);
  free(victim_nodes);
  return ok;
}

int main(int argc, char** argv) {
  scenario s;
  aios_engine engine;
  aios_engine_desc desc;
  ledger g;
  const char* names[MAX_RESOURCES];
  FILE* in = argc > 1 ? fopen(argv[1], "r") : stdin;
  char text[4096];
  size_t needed, k;
  int32_t r;
  int64_t next_id = 0;
  int ok = 1;

  if (in == NULL || scenario_read(in, &s) != 0) {
    fprintf(stderr, "place: cannot read the scenario\n");
    return 2;
  }
  if (aios_version() / 100 != AIOS_VERSION_NUMBER / 100) {
    fprintf(stderr, "place: built for aios %s, running with %s\n", AIOS_VERSION_STRING, aios_version_string());
    return 2;
  }
  for (r = 0; r < s.resources; ++r) names[r] = s.names[r];
  memset(&desc, 0, sizeof desc);
  desc.nodes = s.nodes;
  desc.resources = s.resources;
  desc.capacity = s.capacity;
  desc.capacity_len = (size_t)s.nodes * (size_t)s.resources;
  desc.resource_names = names;
  desc.resource_names_len = (size_t)s.resources;
  desc.gpu_column = s.gpu_column;
  desc.levels = s.levels;
  desc.domains = s.domains;
  desc.domains_len = (size_t)s.nodes * (size_t)s.levels;
  desc.policy = s.policy;
  desc.seed = s.seed;
  CALL(aios_engine_create(&desc, &engine));

  g.count = s.batch.count + s.gang.count + s.batch2.count;
  g.node = calloc(g.count + 1, sizeof(int32_t));
  g.request = calloc(g.count + 1, sizeof(const int64_t*));
  for (k = 0; k < g.count; ++k) g.node[k] = -1;

  ok &= place_batch(engine, &s.batch, next_id, &g);
  next_id += (int64_t)s.batch.count;
  ok &= check_allocation(engine, &s, &g, "the first batch");
  ok &= place_gang(engine, &s, next_id, &g);
  next_id += (int64_t)s.gang.count;
  ok &= check_allocation(engine, &s, &g, "the gang");

  CALL(aios_engine_release(engine, s.release_ids, s.release_count));
  for (k = 0; k < s.release_count; ++k) g.node[s.release_ids[k]] = -1;
  printf("released %zu\n", s.release_count);
  ok &= check_allocation(engine, &s, &g, "the release");

  ok &= place_batch(engine, &s.batch2, next_id, &g);
  ok &= check_allocation(engine, &s, &g, "the second batch");

  CALL(aios_engine_explain_text(engine, s.explain, (size_t)s.resources, 0, text, sizeof text, &needed));
  printf("explain %s\n", text);

  ok &= preempt(engine, &s, &g);
  ok &= check_allocation(engine, &s, &g, "the preemption");

  CALL(aios_engine_destroy(engine));
  free(g.node);
  free(g.request);
  scenario_free(&s);
  if (in != stdin) fclose(in);
  return ok ? 0 : 1;
}
