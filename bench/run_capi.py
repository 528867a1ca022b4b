"""Cost of the C API boundary against the Python binding, on the same placement workload: one call
for the whole batch, and one call per task (how a kube-scheduler plugin calls it, one pod per
cycle). Builds bench/capi/place_calls.c against the installed package, checks that C and Python
chose the same node for every task, and prints a Markdown table (medians of --rounds runs) for
bench/RESULTS.md.

    python bench/run_capi.py                # 5,000 nodes, 20,000 tasks
    python bench/run_capi.py --quick        # small sizes, seconds
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import placement_workloads as w  # noqa: E402

import aios_core  # noqa: E402
from aios_core import Placer  # noqa: E402


def build(work: Path) -> Path:
    lib = aios_core.get_lib_dir()
    binary = work / "place_calls"
    cc = os.environ.get("CC", "cc")
    subprocess.run([cc, "-O2", "-std=c99", f"-I{aios_core.get_include()}", str(Path(__file__).parent / "capi" / "place_calls.c"),
                    f"-L{lib}", "-laios", f"-Wl,-rpath,{lib}", "-o", str(binary)], check=True)
    return binary


def python_times(nodes: int, req: np.ndarray, policy: str) -> tuple[float, float, np.ndarray, np.ndarray]:
    placer = Placer(w.cluster(nodes), policy)
    t0 = time.perf_counter()
    batch = placer.place_batch(req)
    batch_s = time.perf_counter() - t0
    placer = Placer(w.cluster(nodes), policy)
    single = np.empty(len(req), dtype=np.int32)
    t0 = time.perf_counter()
    for k in range(len(req)):
        single[k] = placer.place_batch(req[k : k + 1])[0]
    return batch_s, time.perf_counter() - t0, batch, single


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    nodes, count = (200, 1000) if args.quick else (5000, 20000)
    req = w.tasks(count)
    print("| policy | C API batch µs/task | Python batch µs/task | C API one call per task µs | Python one call per task µs | same answers |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        binary = build(work)
        (work / "capacity.bin").write_bytes(np.ascontiguousarray(w.cluster(1).capacity[0]).tobytes())
        (work / "requests.bin").write_bytes(np.ascontiguousarray(req).tobytes())
        for policy in ("best_fit", "most_allocated"):
            c_batch, c_single, py_batch, py_single, same = [], [], [], [], True
            for _ in range(args.rounds):
                out = subprocess.run([str(binary), policy, str(nodes), str(work / "capacity.bin"), str(work / "requests.bin"),
                                      str(work / "nodes")], capture_output=True, text=True, check=True).stdout.split()
                c_batch.append(float(out[0]) / 1e9)
                c_single.append(float(out[1]) / 1e9)
                pb, ps, nodes_batch, nodes_single = python_times(nodes, req, policy)
                py_batch.append(pb)
                py_single.append(ps)
                same &= np.array_equal(np.fromfile(work / "nodes.batch", dtype=np.int32), nodes_batch)
                same &= np.array_equal(np.fromfile(work / "nodes.single", dtype=np.int32), nodes_single)

            def us(samples: list[float]) -> str:
                return f"{statistics.median(samples) / count * 1e6:.2f}"

            print(f"| {policy} | {us(c_batch)} | {us(py_batch)} | {us(c_single)} | {us(py_single)} | {same} |")


if __name__ == "__main__":
    main()
