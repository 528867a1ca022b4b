"""Simulator scale: events per second on a large synthetic trace (native loop and engine), and on
a small trace the native loop, the Python loop over the native engine, and the Python loop over the
plain-Python reference engine.

    python bench/run_sim.py --jobs 1000000 --gpus 10000 --reference-jobs 5000
"""

from __future__ import annotations

import argparse
import json

from aios_core.sim.bench import measure


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=100_000)
    ap.add_argument("--gpus", type=int, default=10_000)
    ap.add_argument("--reference-jobs", type=int, default=2_000)
    ap.add_argument("--reference-gpus", type=int, default=512)
    ap.add_argument("--policy", default="fifo:best_fit")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--load", type=float, default=0.9, help="offered load as a fraction of the GPUs")
    a = ap.parse_args()
    if a.reference_jobs:
        for backend, loop in (("native", "auto"), ("native", "python"), ("reference", "python")):
            print(json.dumps(measure(a.reference_jobs, a.reference_gpus, a.policy, backend, a.seed, a.load, loop)),
                  flush=True)
    if a.jobs:
        print(json.dumps(measure(a.jobs, a.gpus, a.policy, "native", a.seed, a.load)), flush=True)


if __name__ == "__main__":
    main()
