/* A placement scenario read from text (format: examples/README.md): a cluster, a batch of tasks,
 * a gang, a release, a second batch, a request to explain and one to preempt for. */
#ifndef AIOS_EXAMPLE_SCENARIO_H
#define AIOS_EXAMPLE_SCENARIO_H

#include <stdint.h>
#include <stdio.h>

#define MAX_RESOURCES 64
#define MAX_NAME 64

typedef struct {
  size_t count;
  int64_t* requests; /* [count * resources] */
} task_list;

typedef struct {
  char policy[MAX_NAME];
  uint64_t seed;
  int32_t resources, gpu_column, levels, nodes;
  char names[MAX_RESOURCES][MAX_NAME];
  int64_t* capacity; /* [nodes * resources] */
  int32_t* domains;  /* [nodes * levels] */
  task_list batch;
  task_list gang;
  int32_t gang_strategy, gang_level, gang_required, gang_min_count;
  size_t release_count;
  int64_t* release_ids;
  task_list batch2;
  int64_t explain[MAX_RESOURCES];
  int32_t preempt_priority, preempt_evict;
  int64_t preempt[MAX_RESOURCES];
} scenario;

/* Returns 0 on success; prints what is wrong to stderr otherwise. */
int scenario_read(FILE* in, scenario* s);
void scenario_free(scenario* s);

#endif
