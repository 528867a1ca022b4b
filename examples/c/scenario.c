#include "scenario.h"

#include <stdlib.h>
#include <string.h>

static int expect(FILE* in, const char* word) {
  char got[MAX_NAME];
  if (fscanf(in, "%63s", got) != 1 || strcmp(got, word) != 0) {
    fprintf(stderr, "input: expected '%s'\n", word);
    return -1;
  }
  return 0;
}

static int read_i64s(FILE* in, int64_t* out, size_t n) {
  size_t k;
  for (k = 0; k < n; ++k) {
    long long v;
    if (fscanf(in, "%lld", &v) != 1) {
      fprintf(stderr, "input: expected an integer\n");
      return -1;
    }
    out[k] = (int64_t)v;
  }
  return 0;
}

static int read_i32(FILE* in, int32_t* out) {
  int64_t v;
  if (read_i64s(in, &v, 1) != 0) return -1;
  *out = (int32_t)v;
  return 0;
}

static int read_count(FILE* in, size_t* out) {
  int64_t v;
  if (read_i64s(in, &v, 1) != 0 || v < 0 || v > 1000000) return -1;
  *out = (size_t)v;
  return 0;
}

static int read_tasks(FILE* in, task_list* t, int32_t resources) {
  if (read_count(in, &t->count) != 0) return -1;
  t->requests = calloc(t->count * (size_t)resources + 1, sizeof(int64_t));
  return t->requests ? read_i64s(in, t->requests, t->count * (size_t)resources) : -1;
}

int scenario_read(FILE* in, scenario* s) {
  int32_t r, i, l;
  unsigned long long seed;
  memset(s, 0, sizeof *s);
  if (expect(in, "policy") || fscanf(in, "%63s", s->policy) != 1) return -1;
  if (expect(in, "seed") || fscanf(in, "%llu", &seed) != 1) return -1;
  s->seed = (uint64_t)seed;
  if (expect(in, "resources") || read_i32(in, &s->resources)) return -1;
  if (s->resources < 1 || s->resources > MAX_RESOURCES) return -1;
  for (r = 0; r < s->resources; ++r) {
    if (fscanf(in, "%63s", s->names[r]) != 1) return -1;
  }
  if (expect(in, "gpu_column") || read_i32(in, &s->gpu_column)) return -1;
  if (expect(in, "levels") || read_i32(in, &s->levels) || s->levels < 0 || s->levels > 16) return -1;
  if (expect(in, "nodes") || read_i32(in, &s->nodes) || s->nodes < 0) return -1;
  s->capacity = calloc((size_t)s->nodes * (size_t)s->resources + 1, sizeof(int64_t));
  s->domains = calloc((size_t)s->nodes * (size_t)s->levels + 1, sizeof(int32_t));
  if (!s->capacity || !s->domains) return -1;
  for (i = 0; i < s->nodes; ++i) {
    if (read_i64s(in, s->capacity + (size_t)i * (size_t)s->resources, (size_t)s->resources)) return -1;
    for (l = 0; l < s->levels; ++l) {
      if (read_i32(in, s->domains + (size_t)i * (size_t)s->levels + (size_t)l)) return -1;
    }
  }
  if (expect(in, "batch") || read_tasks(in, &s->batch, s->resources)) return -1;
  if (expect(in, "gang") || read_count(in, &s->gang.count)) return -1;
  if (read_i32(in, &s->gang_strategy) || read_i32(in, &s->gang_level) || read_i32(in, &s->gang_required) ||
      read_i32(in, &s->gang_min_count)) {
    return -1;
  }
  s->gang.requests = calloc(s->gang.count * (size_t)s->resources + 1, sizeof(int64_t));
  if (!s->gang.requests || read_i64s(in, s->gang.requests, s->gang.count * (size_t)s->resources)) return -1;
  if (expect(in, "release") || read_count(in, &s->release_count)) return -1;
  s->release_ids = calloc(s->release_count + 1, sizeof(int64_t));
  if (!s->release_ids || read_i64s(in, s->release_ids, s->release_count)) return -1;
  if (expect(in, "batch") || read_tasks(in, &s->batch2, s->resources)) return -1;
  if (expect(in, "explain") || read_i64s(in, s->explain, (size_t)s->resources)) return -1;
  if (expect(in, "preempt") || read_i32(in, &s->preempt_priority) || read_i32(in, &s->preempt_evict)) return -1;
  if (read_i64s(in, s->preempt, (size_t)s->resources)) return -1;
  return 0;
}

void scenario_free(scenario* s) {
  free(s->capacity);
  free(s->domains);
  free(s->batch.requests);
  free(s->gang.requests);
  free(s->release_ids);
  free(s->batch2.requests);
}
