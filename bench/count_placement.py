"""One native placement run, for instruction counts (the wall clock of a shared machine is noisy).

    valgrind --tool=callgrind --dump-instr=no --collect-atstart=no \
        '--toggle-collect=*Engine::place_batch*' python bench/count_placement.py 5000 50000 most_allocated mixed

counts only what place_batch executes; the printed line (tasks placed, index vertices visited, sum
of the chosen nodes) tells two builds' runs made the same decisions.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import placement_workloads as w  # noqa: E402

from aios_core import Placer  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("nodes", type=int)
    ap.add_argument("tasks", type=int)
    ap.add_argument("policy")
    ap.add_argument("shape", choices=["basic", "mixed"])
    args = ap.parse_args()
    p = Placer(w.cluster(args.nodes), policy=args.policy)
    out = p.place_batch(w.tasks(args.tasks, args.shape))
    placed = int((out >= 0).sum())
    print(f"{args.policy} {args.shape}: placed {placed}, visits {p._engine.search_visits}, node sum {int(out.sum())}")


if __name__ == "__main__":
    main()
