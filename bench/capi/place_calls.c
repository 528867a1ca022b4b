/* Times placement through the C API on a workload written by bench/run_capi.py: one
 * aios_engine_place_batch call for every task, then a fresh engine and one call per task (the
 * kube-scheduler pattern: one pod per scheduling cycle). Writes the nodes of both runs to
 * <out>.batch and <out>.single (int32) and prints "batch_ns single_ns".
 *
 *   place_calls <policy> <nodes> <capacity.bin [resources]> <requests.bin [tasks, resources]> <out> */
#define _POSIX_C_SOURCE 199309L /* clock_gettime under -std=c99 */
#include <aios/aios.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { R = 4 };

static int64_t* read_all(const char* path, size_t* count) {
  FILE* f = fopen(path, "rb");
  int64_t* data;
  long bytes;
  if (!f || fseek(f, 0, SEEK_END) != 0 || (bytes = ftell(f)) < 0) exit(2);
  rewind(f);
  *count = (size_t)bytes / sizeof(int64_t);
  data = malloc((size_t)bytes + sizeof(int64_t));
  if (!data || fread(data, sizeof(int64_t), *count, f) != *count) exit(2);
  fclose(f);
  return data;
}

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static aios_engine make_engine(const char* policy, int32_t nodes, const int64_t* row) {
  static const char* names[R] = {"cpu", "memory", "nvidia.com/gpu", "gpu-memory"};
  int64_t* capacity = malloc((size_t)nodes * R * sizeof(int64_t));
  aios_engine_desc d;
  aios_engine e;
  int32_t i, r;
  memset(&d, 0, sizeof d);
  for (i = 0; i < nodes; ++i) {
    for (r = 0; r < R; ++r) capacity[(size_t)i * R + (size_t)r] = row[r];
  }
  d.nodes = nodes;
  d.resources = R;
  d.capacity = capacity;
  d.capacity_len = (size_t)nodes * R;
  d.resource_names = names;
  d.resource_names_len = R;
  d.gpu_column = 2;
  d.policy = policy;
  if (aios_engine_create(&d, &e) != AIOS_OK) {
    fprintf(stderr, "create: %s\n", aios_last_error());
    exit(2);
  }
  free(capacity);
  return e;
}

static void write_nodes(const char* out, const char* suffix, const int32_t* nodes, size_t count) {
  char path[4096];
  FILE* f;
  snprintf(path, sizeof path, "%s.%s", out, suffix);
  f = fopen(path, "wb");
  if (!f || fwrite(nodes, sizeof(int32_t), count, f) != count) exit(2);
  fclose(f);
}

int main(int argc, char** argv) {
  size_t caps, cells, tasks, k;
  int64_t *capacity, *requests, *ids;
  int32_t* nodes;
  aios_engine e;
  double t0, batch_ns, single_ns;
  if (argc != 6) return 2;
  capacity = read_all(argv[3], &caps);
  requests = read_all(argv[4], &cells);
  if (caps != R) return 2;
  tasks = cells / R;
  ids = malloc((tasks + 1) * sizeof(int64_t));
  nodes = malloc((tasks + 1) * sizeof(int32_t));
  for (k = 0; k < tasks; ++k) ids[k] = (int64_t)k;

  e = make_engine(argv[1], atoi(argv[2]), capacity);
  t0 = now_ns();
  if (aios_engine_place_batch(e, tasks, requests, cells, ids, tasks, NULL, 0, NULL, 0, nodes, tasks) != AIOS_OK) return 2;
  batch_ns = now_ns() - t0;
  write_nodes(argv[5], "batch", nodes, tasks);
  aios_engine_destroy(e);

  e = make_engine(argv[1], atoi(argv[2]), capacity);
  t0 = now_ns();
  for (k = 0; k < tasks; ++k) {
    if (aios_engine_place_batch(e, 1, requests + k * R, R, ids + k, 1, NULL, 0, NULL, 0, nodes + k, 1) != AIOS_OK) return 2;
  }
  single_ns = now_ns() - t0;
  write_nodes(argv[5], "single", nodes, tasks);
  aios_engine_destroy(e);

  printf("%.0f %.0f\n", batch_ns, single_ns);
  free(capacity);
  free(requests);
  free(ids);
  free(nodes);
  return 0;
}
