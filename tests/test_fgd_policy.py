"""Placement policy "fgd" (Fragmentation Gradient Descent, Weng et al., ATC'23): native and reference
agree on random clusters, workloads and operation sequences; the score is the growth of the
fragmentation measure of aios_core.binpack; hand-worked examples; bad workloads are refused."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from placement_strategies import clusters, operation, requests
from test_placement_agreement import run_engines

from aios_core import Cluster, FgdWorkload, Node, Placer, binpack
from aios_core.errors import ConfigError

INT64_MIN = np.iinfo(np.int64).min


@st.composite
def clusters_and_workloads(draw: st.DrawFn, max_nodes: int = 12) -> tuple[Cluster, FgdWorkload]:
    cluster = draw(clusters(max_nodes=max_nodes))
    names = sorted(set(cluster.gpu_models))
    req = draw(requests())
    pop = draw(st.lists(st.sampled_from([0.0, 0.25, 1.0, 3.0, 7.5]), min_size=len(req), max_size=len(req)))
    pop[0] = max(pop[0], 0.5)  # a positive sum
    choices = [None, names[0], "|".join(names[-2:]), frozenset(names[-1:])]
    models = draw(st.lists(st.sampled_from(choices), min_size=len(req), max_size=len(req)))
    resolution = draw(st.sampled_from([0, 0, 1, 37, 100, 1000]))
    return cluster, FgdWorkload(req, pop, models, resolution)


def expected_score(delta: float, resolution: int) -> int:
    """The fgd score of a growth `delta` (milli-GPU): rounded to 1e-3 milli-GPU, then floored to
    steps of `resolution` milli-GPU when that is set."""
    q = math.floor(delta * 1000.0 + 0.5)
    return -(q // (1000 * resolution)) if resolution else -q


def both(cluster: Cluster, workload: FgdWorkload, seed: int) -> list[Placer]:
    return [Placer(cluster, policy="fgd", workload=workload, seed=seed, backend=b) for b in ("native", "reference")]


@given(clusters_and_workloads(), st.integers(0, 2**32), st.lists(operation, min_size=1, max_size=10))
def test_native_and_reference_agree(cw: tuple[Cluster, FgdWorkload], seed: int, ops: list) -> None:
    cluster, workload = cw
    run_engines(both(cluster, workload, seed), ops)


@given(clusters_and_workloads(), st.integers(0, 2**32), st.lists(requests(), min_size=1, max_size=6))
def test_never_overcommitted(cw: tuple[Cluster, FgdWorkload], seed: int, batches: list[np.ndarray]) -> None:
    cluster, workload = cw
    p = Placer(cluster, policy="fgd", workload=workload, seed=seed)
    for req in batches:
        p.place_batch(req)
        assert (p.allocated <= p.capacity).all() and (p.free >= 0).all()
        for node in range(p.capacity.shape[0]):
            used = p.gpu_used(node)
            assert ((used >= 0) & (used <= 1000)).all()
            assert used.sum() == p.allocated[node, cluster.gpu_column]


def _gpu_nodes(p: Placer) -> binpack.GpuNodes:
    """The Placer's free state as aios_core.binpack sees it."""
    n = p.capacity.shape[0]
    free = p.free
    gpu_free = np.zeros((n, 8), dtype=np.int64)
    counts = np.zeros(n, dtype=np.int64)
    for i in range(n):
        used = p.gpu_used(i)
        counts[i] = len(used)
        gpu_free[i, : len(used)] = 1000 - used
    models = [p._model_ids[m] for m in p.cluster.gpu_models]
    return binpack.GpuNodes.create(gpu_free, counts, free[:, 0], free[:, 1], models)


def _binpack_workload(w: FgdWorkload, ids: dict[str, int]) -> binpack.Workload:
    req = np.asarray(w.requests)
    masks = []
    for m in w.gpu_models:
        names = [] if m is None else (m.split("|") if isinstance(m, str) else sorted(m))
        masks.append(sum(1 << ids[x] for x in names))
    return binpack.Workload.create(req[:, 0], req[:, 1], req[:, 2], w.popularity, masks)


@given(clusters_and_workloads(max_nodes=20), st.integers(0, 2**32), requests())
def test_scores_are_the_fragmentation_growth_and_the_best_node_wins(
    cw: tuple[Cluster, FgdWorkload], seed: int, req: np.ndarray
) -> None:
    cluster, workload = cw
    native, ref = both(cluster, workload, seed)
    assert native.place_batch(req).tolist() == ref.place_batch(req).tolist()
    for row in req:
        s_native = native.scores(row)
        assert s_native.tolist() == ref.scores(row).tolist()
        # The score is -round(1000 * delta) of binpack's fragmentation growth on every feasible node
        # (in steps of the workload's resolution)
        # (binpack's feasibility reads only cpu, memory and GPUs, so compare where the engine's holds).
        delta, mask = binpack.fgd_scores(_gpu_nodes(native), _binpack_workload(workload, native._model_ids), int(row[0]), int(row[1]),
                                          int(row[2]))
        ok = s_native != INT64_MIN
        for i in np.flatnonzero(ok):
            assert s_native[i] == expected_score(delta[i], workload.resolution)
        best = native.place(row)
        assert best == ref.place(row)
        if best >= 0:
            assert s_native[best] == s_native[ok].max(), "the chosen node does not have the best score"
            if 0 < row[2] < 1000:  # the share took the GPU binpack's FGD chooses
                t = native.task(int(native.last_ids[0]))
                assert 1 << t.gpus[0] == int(mask[best])


@given(clusters_and_workloads(max_nodes=6), st.integers(0, 2**32),
       st.lists(st.sampled_from([100, 250, 300, 500, 700, 1000, 2000]), min_size=10, max_size=40))
def test_gpu_shares_follow_the_fragmentation_growth_as_the_cluster_fills(
    cw: tuple[Cluster, FgdWorkload], seed: int, gpus: list[int]
) -> None:
    cluster, workload = cw
    native, ref = both(cluster, workload, seed)
    bw = _binpack_workload(workload, native._model_ids)
    for g in gpus:
        row = [100, 1 << 28, g, 0]
        delta, mask = binpack.fgd_scores(_gpu_nodes(native), bw, row[0], row[1], g)
        node = native.place(row)
        assert node == ref.place(row)
        if node < 0:
            continue
        assert native.gpu_used(node).tolist() == ref.gpu_used(node).tolist()
        t = native.task(int(native.last_ids[0]))
        assert sum(1 << k for k in t.gpus) == int(mask[node]), "placement took other GPUs than FGD chose"


def _cluster(gpus: int, models: list[str], cpu: int = 32_000) -> Cluster:
    cap = np.array([[cpu, 64 << 30, gpus * 1000]] * len(models), dtype=np.int64)
    return Cluster.from_arrays(cap, ["cpu", "memory", "nvidia.com/gpu"], gpu_models=models)


@pytest.mark.parametrize("backend", ["native", "reference"])
def test_hand_worked_prefers_the_node_whose_gpus_the_workload_cannot_use(backend: str) -> None:
    # Nodes 0, 1: model A, node 2: model B; 4 free GPUs each. Workload: a 0.5 share (any model,
    # p 1) and one whole GPU of model A (p 1).
    #   Node A before: both classes fit, no free share is too small: F = 0.
    #   Node A after a 0.5 share: share class F = 0; whole-GPU class F = 500 (the half-used GPU).
    #     F = (0 + 500) / 2 = 250 -> delta +250 milli-GPU -> score -250000.
    #   Node B before: the whole-GPU class cannot run there, F(it) = 4000: F = (0 + 4000) / 2 = 2000.
    #   Node B after: F(it) = 3500: F = 1750 -> delta -250 -> score +250000.
    w = FgdWorkload([[1000, 1 << 30, 500], [2000, 2 << 30, 1000]], [1.0, 1.0], [None, "A"])
    p = Placer(_cluster(4, ["A", "A", "B"]), policy="fgd", workload=w, backend=backend)
    assert p.scores([1000, 1 << 30, 500]).tolist() == [-250_000, -250_000, 250_000]
    assert p.place([1000, 1 << 30, 500]) == 2


@pytest.mark.parametrize("backend", ["native", "reference"])
def test_hand_worked_share_takes_the_gpu_of_least_growth_not_the_tightest(backend: str) -> None:
    # One node, 2 GPUs; a 300 share already on GPU 0: free [700, 1000]. Workload: 600 shares only.
    #   Before: both GPUs hold 600, F = 0. A 200 share on GPU 0 -> free [500, 1000]: 500 < 600 is a
    #   fragment, F = 500 (delta +500); on GPU 1 -> free [700, 800]: F = 0 (delta 0).
    # FGD takes GPU 1; the tightest-fit rule of the other policies would take GPU 0.
    w = FgdWorkload([[0, 0, 600]], [1.0])
    cluster = _cluster(2, ["A"])
    p = Placer(cluster, policy="fgd", workload=w, backend=backend)
    p.assign([[0, 0, 300]], [0])
    assert p.gpu_used(0).tolist() == [300, 0]
    assert p.scores([0, 0, 200]).tolist() == [0]
    assert p.place([0, 0, 200]) == 0
    assert p.gpu_used(0).tolist() == [300, 200]
    q = Placer(cluster, policy="best_fit", backend=backend)
    q.assign([[0, 0, 300]], [0])
    q.place([0, 0, 200])
    assert q.gpu_used(0).tolist() == [500, 0]


@pytest.mark.parametrize("backend", ["native", "reference"])
def test_hand_worked_cpu_bound_gpus_are_fragments_and_resolution_steps(backend: str) -> None:
    # Workload (popularity sum 4): CPU-only 4 cores (p 1), a 0.5 share with 8 cores (p 1), one whole
    # GPU with 8 cores (p 2). Node 0: 2 GPUs, 16 cores; node 1: 2 GPUs, 64 cores. Task: 0.5 GPU with
    # 10 cores. Before, on both nodes: the CPU-only class sees both free GPUs (2000), the others fit
    # with no fragment: F = 2000 / 4 = 500.
    #   Node 0 after: free GPUs [500, 1000], 6 cores: no GPU class fits any more, each sees 1500:
    #     F = (1500 + 1500 + 2 * 1500) / 4 = 1500 -> growth +1000 milli-GPU.
    #   Node 1 after: 54 cores: CPU-only 1500, share 0 (no GPU below 500), whole GPU 500 (the half
    #     GPU): F = (1500 + 0 + 2 * 500) / 4 = 625 -> growth +125.
    # Exact scores -1e6 and -125e3; with a resolution of 100 milli-GPU -10 and -1; of 1000 -1 and 0.
    cap = np.array([[16_000, 64 << 30, 2000], [64_000, 64 << 30, 2000]], dtype=np.int64)
    cluster = Cluster.from_arrays(cap, ["cpu", "memory", "nvidia.com/gpu"], gpu_models=["A", "A"])
    classes = [[4000, 1 << 30, 0], [8000, 1 << 30, 500], [8000, 1 << 30, 1000]]
    task = [10_000, 1 << 30, 500]
    for resolution, want in ((0, [-1_000_000, -125_000]), (100, [-10, -1]), (1000, [-1, 0])):
        p = Placer(cluster, policy="fgd", workload=FgdWorkload(classes, [1.0, 1.0, 2.0], resolution=resolution),
                   backend=backend)
        assert p.scores(task).tolist() == want
    # A fall of fragmentation never ties with a rise: growths +250, +250, -250 at a step of 1000.
    w = FgdWorkload([[1000, 1 << 30, 500], [2000, 2 << 30, 1000]], [1.0, 1.0], [None, "A"], resolution=1000)
    p = Placer(_cluster(4, ["A", "A", "B"]), policy="fgd", workload=w, backend=backend)
    assert p.scores([1000, 1 << 30, 500]).tolist() == [0, 0, 1]


def test_from_requests_counts_distinct_rows() -> None:
    w = FgdWorkload.from_requests([[1, 2, 500], [1, 2, 500], [3, 4, 1000], [1, 2, 500]], ["A", "A", None, None])
    rows = [tuple(r) for r in np.asarray(w.requests).tolist()]
    got = {(rows[i], w.gpu_models[i]): w.popularity[i] for i in range(len(rows))}
    assert got == {((1, 2, 500), frozenset({"A"})): 2.0, ((1, 2, 500), None): 1.0, ((3, 4, 1000), None): 1.0}


def test_added_node_is_scored_with_its_model() -> None:
    w = FgdWorkload([[0, 0, 1000]], [1.0], ["A"])
    for backend in ("native", "reference"):
        p = Placer(_cluster(2, ["A"]), policy="fgd", workload=w, backend=backend)
        p.add_node(Node("new", {"cpu": 32_000, "memory": 64 << 30, "nvidia.com/gpu": 2000}, gpu_model="B"))
        # On B the class never runs: all its free GPUs count as fragments before and after.
        #   A: before 0, after a 0.5 share 500 -> -500000. B: before 2000, after 1500 -> +500000.
        assert p.scores([0, 0, 500]).tolist() == [-500_000, 500_000]


GOOD = FgdWorkload([[1000, 1 << 30, 500]], [1.0])


@pytest.mark.parametrize(
    ("workload", "needle"),
    [
        (None, "workload"),
        (FgdWorkload([[1000, 1 << 30]], [1.0]), "workload.requests"),
        (FgdWorkload(np.zeros((0, 3), dtype=np.int64), []), "workload.requests"),
        (FgdWorkload([[1000, 1 << 30, 1500]], [1.0]), "1500"),
        (FgdWorkload([[-1, 1 << 30, 500]], [1.0]), "-1"),
        (FgdWorkload([[1000, 1 << 30, 500]], [1.0, 2.0]), "workload.popularity"),
        (FgdWorkload([[1000, 1 << 30, 500]] * 2, [1.0, float("nan")]), "workload.popularity[1]: must be finite and >= 0, got nan"),
        (FgdWorkload([[1000, 1 << 30, 500]] * 2, [1.0, -2.0]), "workload.popularity[1]: must be finite and >= 0, got -2.0"),
        (FgdWorkload([[1000, 1 << 30, 500]], [0.0]), "workload.popularity: must have a positive sum"),
        (FgdWorkload([[1000, 1 << 30, 500]], [1.0], ["H100"]), "workload.gpu_models[0]: unknown GPU model 'H100'"),
        (FgdWorkload([[1000, 1 << 30, 500]] * 2, [1.0, 1.0], [None, "A|X"]), "workload.gpu_models[1]: unknown GPU model 'X'"),
        (FgdWorkload([[1000, 1 << 30, 500]], [1.0], [None, None]), "workload.gpu_models"),
        (FgdWorkload([[1000, 1 << 30, 500]], ["many"]), "workload.popularity"),
        (FgdWorkload([[1000, 1 << 30, 500]], [1.0], resolution=-1), "workload.resolution: expected an integer in [0, 64000] milli-GPU, got -1"),
        (FgdWorkload([[1000, 1 << 30, 500]], [1.0], resolution=64001), "got 64001"),
        (FgdWorkload([[1000, 1 << 30, 500]], [1.0], resolution=2.5), "workload.resolution"),  # type: ignore[arg-type]
        (FgdWorkload([[1000, 1 << 30, 500]], [1.0], resolution=True), "got True"),
    ],
)
@pytest.mark.parametrize("backend", ["native", "reference"])
def test_bad_workload_is_refused_naming_field_and_value(workload: FgdWorkload | None, needle: str, backend: str) -> None:
    with pytest.raises(ConfigError, match=None) as err:
        Placer(_cluster(2, ["A", "B"]), policy="fgd", workload=workload, backend=backend)
    assert needle in str(err.value)


def test_workload_only_with_fgd() -> None:
    with pytest.raises(ConfigError, match="workload"):
        Placer(_cluster(2, ["A"]), policy="best_fit", workload=GOOD)


def test_engine_checks_the_workload_itself() -> None:
    # The native engine validates what the Placer hands it (a caller that skips the Placer).
    from aios_core import _core

    cap = np.array([[1000, 1000, 2000]], dtype=np.int64)
    args = (cap, np.array([1, 1, 0], np.uint8), 2, np.zeros((1, 0), np.int32), "fgd", np.ones(3, np.int64), [], 0)
    one = np.array([1], np.int64)
    with pytest.raises(ConfigError, match=r"popularity\[0\]: must be finite"):
        _core.Engine(*args, (0, 1, one, one, one, np.zeros(1, np.uint64), np.array([np.nan]), np.zeros(1, np.int32)))
    with pytest.raises(ConfigError, match=r"gpu_model\[0\]: GPU model id must be in -1..63, got 64"):
        _core.Engine(*args, (0, 1, one, one, one, np.zeros(1, np.uint64), np.ones(1), np.array([64], np.int32)))
    with pytest.raises(ConfigError, match=r"workload.resolution: must be in \[0, 64000\] milli-GPU, got -5"):
        _core.Engine(*args, (0, 1, one, one, one, np.zeros(1, np.uint64), np.ones(1), np.zeros(1, np.int32), -5))
    with pytest.raises(ConfigError, match=r"workload: expected an 8- or 9-tuple, got 10"):
        _core.Engine(*args, (0, 1, one, one, one, np.zeros(1, np.uint64), np.ones(1), np.zeros(1, np.int32), 0, 0))
    with pytest.raises(ConfigError, match=r"gpu_milli\[0\]"):
        _core.Engine(*args, (0, 1, one, one, np.array([1500]), np.zeros(1, np.uint64), np.ones(1), np.zeros(1, np.int32)))
