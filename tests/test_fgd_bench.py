"""The FGD trace study's helpers (bench/run_fgd_alibaba.py): the paper's Monte-Carlo workload and
the paper's Best-fit score, on small hand-made inputs."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from aios_core import Cluster, Placer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import run_fgd_alibaba as study  # noqa: E402


@given(st.lists(st.sampled_from([0, 250, 500, 1000, 2000, 8000]), min_size=1, max_size=30), st.integers(1000, 60_000),
       st.sampled_from([1.0, 1.3]), st.integers(0, 2**32))
def test_paper_stream_every_pod_once_then_draws_up_to_the_inflated_capacity(
    gpus: list[int], capacity: int, inflate: float, seed: int
) -> None:
    req = np.array([[i, 0, g] for i, g in enumerate(gpus)], dtype=np.int64)  # cpu column = pod index
    cons = [None] * len(gpus)
    out, out_cons = study.paper_stream(req, cons, capacity, inflate, seed)
    assert len(out_cons) == len(out)
    head = out[: len(req), 0]
    assert sorted(head.tolist()) == list(range(len(req))), "the first pass is a permutation of the pods"
    tail = out[len(req):]
    for row in tail:  # every appended pod is a copy of one of the variant's pods
        assert row.tolist() == req[row[0]].tolist()
    if len(tail):
        assert out[:, 2].sum() <= inflate * capacity
    again, _ = study.paper_stream(req, cons, capacity, inflate, seed)
    assert np.array_equal(out, again)


def test_paper_best_fit_score_by_hand() -> None:
    # Node 0: 96 cores, 8 GPUs free; node 1: 16 cores, 2 GPUs. Task: 8 cores, 1 GPU.
    #   Node 0: s = 0.5 * 88/128 + 0.5 * 7/8 = 0.34375 + 0.4375 = 0.78125 -> floor(21.875) = 21.
    #   Node 1: s = 0.5 * 8/128 + 0.5 * 1/8 = 0.03125 + 0.0625 = 0.09375 -> floor(90.625) = 90.
    cap = np.array([[96_000, 1 << 40, 8000], [16_000, 1 << 40, 2000]], dtype=np.int64)
    p = Placer(Cluster.from_arrays(cap, ["cpu", "memory", "nvidia.com/gpu"], gpu_models=["A", "A"]), policy="first_fit")
    row = np.array([8000, 1 << 30, 1000], dtype=np.int64)
    assert study.paper_best_fit_scores(p, row, np.array([0, 1])).tolist() == [21.0, 90.0]
    out = study.run_loop(p, "best_fit_paper", row[None, :], [None], seed=0)
    assert out.tolist() == [1]
