"""One timed native placement run in a fresh process, from the editable build or from a copy of
another build's installed package, so two builds can alternate on the same (loaded) machine.

    python bench/time_build.py new 100000 500000 mixed most_allocated
    python bench/time_build.py /tmp/oldpkg 100000 500000 mixed most_allocated

/tmp/oldpkg holds python/aios_core with the other build's _core*.so copied in; the editable
install's finder is dropped so that the copy is imported. Prints µs per task and visits per task.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

if sys.argv[1] != "new":
    sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "ScikitBuildRedirectingFinder"]
    sys.path.insert(0, sys.argv[1])
sys.path.insert(0, str(Path(__file__).resolve().parent))
import placement_workloads as w  # noqa: E402

from aios_core import Placer  # noqa: E402


def main() -> None:
    build, nodes, tasks, shape, policy = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
    req = w.tasks(tasks, shape)
    p = Placer(w.cluster(nodes), policy=policy)
    t0 = time.perf_counter()
    p.place_batch(req)
    dt = time.perf_counter() - t0
    print(f"{build} {nodes} {tasks} {shape} {policy}: {dt / tasks * 1e6:.3f} us/task, "
          f"{p._engine.search_visits / tasks:.2f} visits/task")


if __name__ == "__main__":
    main()
