"""FGD fragmentation measure (Weng et al., ATC'23) and the Alibaba trace readers."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aios_core import binpack
from aios_core._reference import binpack as ref
from aios_core.errors import ConfigError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import alibaba  # noqa: E402


def _node(free, cpu=64000, mem=2**40, model=0, slots=8):
    g = np.zeros((1, slots), dtype=np.int64)
    g[0, : len(free)] = free
    return binpack.GpuNodes.create(g, [len(free)], [cpu], [mem], [model])


def test_hand_worked_example_from_the_definition() -> None:
    # One node, 4 GPUs free [1000, 1000, 600, 200] milli, plenty of CPU and memory.
    # Workload: A = 1 whole GPU (p 0.5), B = 0.5 GPU share (p 0.3), C = CPU-only (p 0.2).
    #   F(A): A fits (two GPUs with R >= 1000); fragments are GPUs with R < 1000: 600 + 200 = 800.
    #   F(B): B fits (R >= 500 on three GPUs); fragments are R < 500: 200.
    #   F(C): asks no GPU, so every free share is a fragment: 2800.
    #   F(M) = 0.5*800 + 0.3*200 + 0.2*2800 = 400 + 60 + 560 = 1020.
    nodes = _node([1000, 1000, 600, 200])
    w = binpack.Workload.create([1000, 1000, 1000], [0, 0, 0], [1000, 500, 0], [0.5, 0.3, 0.2])
    assert binpack.fragmentation(nodes, w)[0] == pytest.approx(1020.0)
    # Placing a 0.5 share: on GPU 2 (600 -> 100) F(A) = 100 + 200, F(B) = 300, F(C) = 2300:
    #   0.5*300 + 0.3*300 + 0.2*2300 = 150 + 90 + 460 = 700 (delta -320); on GPU 0 (1000 -> 500)
    #   F(A) = 500+600+200, F(B) = 200, F(C) = 2300: 650 + 60 + 460 = 1170 (delta +150).
    #   FGD picks GPU 2, the steepest descent.
    delta, mask = binpack.fgd_scores(nodes, w, 1000, 0, 500)
    assert delta[0] == pytest.approx(-320.0) and int(mask[0]) == 1 << 2


def test_infeasible_task_class_sees_every_free_gpu_as_fragment() -> None:
    w = binpack.Workload.create([100_000], [0], [1000], [1.0])  # needs more CPU than the node has
    assert binpack.fragmentation(_node([1000, 300]), w)[0] == 1300
    w = binpack.Workload.create([0], [0], [2000], [1.0], model_mask=[1 << 3])  # wrong GPU model
    assert binpack.fragmentation(_node([1000, 1000], model=0), w)[0] == 2000
    w = binpack.Workload.create([0], [0], [2000], [1.0], model_mask=[1])
    assert binpack.fragmentation(_node([1000, 1000], model=0), w)[0] == 0


def test_infeasible_nodes_score_infinity() -> None:
    nodes = binpack.GpuNodes.create(np.array([[1000, 0], [500, 500]]), [2, 2], [8000, 8000], [10**9, 10**9], [0, 0])
    w = binpack.Workload.create([0], [0], [1000], [1.0])
    delta, mask = binpack.fgd_scores(nodes, w, 0, 0, 2000)
    assert math.isinf(delta[0]) and math.isinf(delta[1]) and int(mask[0]) == 0


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32))
def test_native_agrees_with_reference_twin(seed) -> None:
    rng = np.random.default_rng(seed)
    n, g = int(rng.integers(1, 6)), 8
    cnt = rng.integers(0, g + 1, size=n)
    free = rng.choice([0, 150, 500, 750, 1000], size=(n, g))
    cpu, mem = rng.integers(0, 10_000, size=n), rng.integers(0, 10**6, size=n)
    model = rng.integers(-1, 3, size=n)
    m = int(rng.integers(1, 5))
    cc, cm = rng.integers(0, 5000, size=m), rng.integers(0, 10**5, size=m)
    cg = rng.choice([0, 100, 500, 1000, 2000, 4000], size=m)
    cmask = rng.choice([0, 1, 2, 6], size=m).astype(np.uint64)
    pop = rng.random(m) + 0.01
    nodes = binpack.GpuNodes.create(free, cnt, cpu, mem, model)
    w = binpack.Workload.create(cc, cm, cg, pop, cmask)
    rn = [(list(map(int, free[i, : cnt[i]])), int(cpu[i]), int(mem[i]), int(model[i])) for i in range(n)]
    rc = [(int(cc[k]), int(cm[k]), int(cg[k]), int(cmask[k])) for k in range(m)]
    assert list(binpack.fragmentation(nodes, w)) == ref.node_fragmentation(rn, rc, list(map(float, pop)))
    task = (int(rng.integers(0, 3000)), int(rng.integers(0, 10**4)), int(rng.choice([0, 300, 1000, 2000])),
            int(rng.choice([0, 1, 2])))
    delta, mask = binpack.fgd_scores(nodes, w, *task)
    rd, rm = ref.fgd_scores(rn, rc, list(map(float, pop)), task)
    assert list(delta) == rd and list(map(int, mask)) == rm


def test_workload_from_requests_counts_popularity() -> None:
    w = binpack.Workload.from_requests([1, 1, 2], [0, 0, 0], [500, 500, 1000])
    assert sorted(w.popularity.tolist()) == [1.0, 2.0]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"gpu_free": [[1200]]}, r"gpu_free\[0, 0\]"),
        ({"gpu_count": [3]}, "gpu_count"),
        ({"cpu_free": [-1]}, r"cpu_free\[0\]"),
        ({"model": [70]}, "model"),
    ],
)
def test_bad_nodes_rejected(kwargs, match) -> None:
    args = {"gpu_free": [[1000]], "gpu_count": [1], "cpu_free": [1], "memory_free": [1], "model": [0]}
    args.update(kwargs)
    w = binpack.Workload.create([0], [0], [500], [1.0])
    with pytest.raises(ConfigError, match=match):
        binpack.fragmentation(binpack.GpuNodes.create(**args), w)


def test_bad_workload_rejected() -> None:
    nodes = _node([1000])
    with pytest.raises(ConfigError, match=r"gpu_milli\[0\].*multiple of 1000"):
        binpack.fragmentation(nodes, binpack.Workload.create([0], [0], [1500], [1.0]))
    with pytest.raises(ConfigError, match=r"popularity\[1\]: must be finite and >= 0, got nan"):
        binpack.Workload.create([0, 0], [0, 0], [500, 250], [1.0, float("nan")])
    with pytest.raises(ConfigError, match="popularity"):
        binpack.fragmentation(nodes, binpack.Workload.create([0], [0], [500], [0.0]))
    with pytest.raises(ConfigError, match="task.gpu_milli"):
        binpack.fgd_scores(nodes, binpack.Workload.create([0], [0], [500], [1.0]), 0, 0, 1200)


# --- Alibaba trace readers ----------------------------------------------------------------------


def test_reads_the_real_trace_when_present() -> None:
    path = alibaba.data_root() / alibaba.TRACE / "openb_node_list_all_node.csv"
    if not path.exists():
        pytest.skip("shared data not available")
    nodes = alibaba.read_nodes()
    assert len(nodes.names) == 1523 and int(nodes.gpu_count.sum()) == 6212  # the trace's README
    pods = alibaba.read_pods("default", nodes.model_names)
    assert len(pods.names) == 8152
    assert ((pods.gpu_milli < 1000) | (pods.gpu_milli % 1000 == 0)).all()
    spec = alibaba.read_pods("gpuspec33", nodes.model_names)
    assert (spec.model_mask > 0).any()


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "pods.csv"
    p.write_text(text)
    return p


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("p,1000,1024,2,500\n", r"pods.csv:2: a GPU share"),
        ("p,1000,1024,1,1500\n", r"pods.csv:2: gpu_milli must be <= 1000"),
        ("p,x,1024,1,500\n", r"pods.csv:2: cpu_milli must be an integer"),
        ("p,1000,1024,1\n", r"pods.csv:2: expected 5 fields"),
        ("p,-5,1024,1,500\n", r"pods.csv:2: cpu_milli must be >= 0"),
        ("p,1,1,0,300\n", r"pods.csv:2: gpu_milli 300 with num_gpu 0"),
    ],
)
def test_malformed_pod_rows_name_file_and_line(tmp_path, body, match) -> None:
    p = _write(tmp_path, "name,cpu_milli,memory_mib,num_gpu,gpu_milli\n" + body)
    with pytest.raises(ConfigError, match=match):
        alibaba.read_pods(p, ())


def test_pod_conversion_and_spec_mask(tmp_path) -> None:
    p = _write(tmp_path, "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec\n"
                         "a,1000,2,4,1000,\nb,500,1,1,250,T4|A10\nc,100,1,0,0,\n")
    pods = alibaba.read_pods(p, ("A10", "T4"))
    assert pods.gpu_milli.tolist() == [4000, 250, 0]
    assert pods.memory_bytes.tolist() == [2 << 20, 1 << 20, 1 << 20]
    assert pods.model_mask.tolist() == [0, 0b11, 0]
    with pytest.raises(ConfigError, match=r"pods.csv:3: gpu_spec names unknown GPU model 'T4'"):
        alibaba.read_pods(p, ("A10",))
