"""Metrics of a simulation: utilisation over time, share deviation per user, unschedulable jobs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from test_sim_fairshare import saturating_trace

from aios_core.errors import ConfigError
from aios_core.sim import JobTrace, simulate
from aios_core.sim.fairness import water_fill
from aios_core.sim.synthetic import RESOURCES, WorkloadSpec, synthetic_cluster, synthetic_trace

GIB = 1 << 30


def _trace(arrival: list[int], duration: list[int], gpus: list[int], users: list[int]) -> JobTrace:
    n = len(arrival)
    return JobTrace(RESOURCES, np.array(arrival), np.array(duration),
                    np.array([[1000, GIB, g] for g in gpus], dtype=np.int64), np.ones(n, dtype=np.int64),
                    np.array(users), np.zeros(n, dtype=np.int64), tuple(f"u{u}" for u in range(max(users) + 1)))


def test_water_fill_by_hand() -> None:
    # u0 asks for less than its quarter: all of it; u2 (weight 2) then fits in its part of the 0.9
    # left; u1 gets the rest, less than it asks for
    np.testing.assert_allclose(water_fill(np.array([0.1, 0.5, 0.5]), np.array([1, 1, 2])), [0.1, 0.4, 0.5])
    np.testing.assert_allclose(water_fill(np.array([0.2, 0.3]), np.array([1, 1])), [0.2, 0.3])  # room for all
    np.testing.assert_allclose(water_fill(np.array([1.0, 1.0, 1.0]), np.array([1, 2, 5])), [1 / 8, 2 / 8, 5 / 8])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 2), st.integers(1, 9)), min_size=1, max_size=12))
def test_water_fill_is_max_min_fair(users: list[tuple[float, int]]) -> None:
    d = np.array([u[0] for u in users])
    w = np.array([u[1] for u in users])
    out = water_fill(d, w)
    assert np.all(out >= -1e-12) and np.all(out <= d + 1e-12)  # nobody gets more than it asks for
    assert out.sum() == pytest.approx(min(1.0, d.sum()), abs=1e-9)  # nothing wasted while anyone wants more
    short = out < d - 1e-9
    if short.any():  # those left short all get the same part per weight, the most anyone gets per weight
        per_weight = out / w
        assert np.ptp(per_weight[short]) == pytest.approx(0, abs=1e-9)
        assert per_weight.max() <= per_weight[short].max() + 1e-9


def test_utilisation_over_time_by_hand() -> None:
    # one 8-GPU job on 16 GPUs for 100 s, then a 16-GPU job for 100 s
    trace = _trace([0, 0], [100, 100], [8000, 16000], [0, 0])
    trace = JobTrace(RESOURCES, trace.arrival, trace.duration, np.array([[1000, GIB, 8000], [1000, GIB, 8000]]),
                     np.array([1, 2]), trace.user, trace.priority, trace.users)
    r = simulate(trace, synthetic_cluster(nodes=2), "fifo")
    t, gpu = r.utilisation_over_time("nvidia.com/gpu", points=4)
    assert t.tolist() == [0, 50, 100, 150]
    np.testing.assert_allclose(gpu, [0.5, 0.5, 1.0, 1.0])


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(["fifo", "easy", "drf", "las", "priority+preempt"]),
       st.integers(1, 300))
def test_utilisation_series_averages_to_the_mean(seed: int, policy: str, points: int) -> None:
    trace = synthetic_trace(WorkloadSpec(jobs=60, mean_interarrival_s=20.0), seed=seed)
    r = simulate(trace, synthetic_cluster(nodes=3), policy, seed=seed)
    for resource in ("nvidia.com/gpu", "cpu"):
        t, frac = r.utilisation_over_time(resource, points)
        assert len(t) == len(frac) <= points and np.all(np.diff(t) > 0)
        assert np.all((frac >= 0) & (frac <= 1 + 1e-12))
        widths = np.diff(np.append(t, r.timeline_t[-1]))
        assert float((frac * widths).sum() / widths.sum()) == pytest.approx(r.utilisation(resource), rel=1e-9)


def test_share_deviation_small_for_drf_large_for_fifo() -> None:
    weights = [1, 2, 5]
    trace = saturating_trace(3, 600)
    cluster = synthetic_cluster(nodes=4)
    drf = simulate(trace, cluster, "drf", user_weights=weights).metrics(weights)
    fifo = simulate(trace, cluster, "fifo").metrics(weights)
    assert drf["share_deviation_max"] < 0.05 < 0.3 < fifo["share_deviation_max"]
    for u in ("u0", "u1", "u2"):  # DRF tracks the fair share at every moment, FIFO serves u0 first
        assert drf["users"][u]["share"] == pytest.approx(drf["users"][u]["fair_share"], abs=0.01)
    assert fifo["users"]["u0"]["share"] > fifo["users"]["u0"]["fair_share"] + 0.2


def test_share_deviation_measured_against_the_weights_given() -> None:
    trace = saturating_trace(2, 400)
    r = simulate(trace, synthetic_cluster(nodes=4), "drf", user_weights=[1, 3])
    assert r.metrics([1, 3])["share_deviation_max"] < 0.05 < r.metrics()["share_deviation_max"]
    with pytest.raises(ConfigError, match="user_weights"):
        r.metrics([1, 0])


def test_metrics_json_lists_unschedulable_jobs_and_series() -> None:
    trace = _trace([0, 5, 9], [10, 10, 10], [1000, 16000, 500], [0, 1, 0])
    trace = JobTrace(RESOURCES, trace.arrival, trace.duration, trace.requests, trace.gang, trace.user,
                     trace.priority, trace.users, names=("a", "too-big", "c"))
    m = simulate(trace, synthetic_cluster(nodes=1), "fifo").metrics(points=7)
    assert json.loads(json.dumps(m)) == m
    assert m["unschedulable_jobs"] == [{"job": "too-big", "reason": m["unschedulable_jobs"][0]["reason"]}]
    assert "Insufficient nvidia.com/gpu" in m["unschedulable_jobs"][0]["reason"]
    series = m["utilisation_over_time"]
    assert len(series["t_s"]) == len(series["gpu"]) == len(series["cpu"]) == 7
    frag = m["fragmentation_over_time"]
    assert len(frag["t_s"]) == len(frag["free_milli_gpu"]) == len(frag["stranded_milli_gpu"]) > 0
    assert all(0 <= s <= f <= 8000 for f, s in zip(frag["free_milli_gpu"], frag["stranded_milli_gpu"]))


def test_cpu_only_cluster_measures_shares_of_cpu() -> None:
    from aios_core.cluster import Cluster

    cluster = Cluster.from_arrays(np.array([[4000, 8 * GIB]]), ["cpu", "memory"])
    trace = JobTrace(RESOURCES, np.array([0, 0, 0]), np.array([100, 100, 100]),
                     np.array([[2000, GIB, 0]] * 3), np.ones(3, dtype=np.int64), np.array([0, 0, 1]),
                     np.zeros(3, dtype=np.int64), ("a", "b"))
    m = simulate(trace, cluster, "drf").metrics(points=10)
    assert m["share_resource"] == "cpu"
    # both users run one job for the first 100 s: half the CPUs each; then a's second job alone
    assert m["users"]["a"]["share"] == pytest.approx(0.5, abs=0.01)
    assert m["users"]["b"]["share"] == pytest.approx(0.25, abs=0.01)
    series = m["utilisation_over_time"]
    assert len(series["t_s"]) == len(series["cpu"]) == len(series["gpu"]) == 10 and not any(series["gpu"])
    np.testing.assert_allclose(series["cpu"], [1.0] * 5 + [0.5] * 5)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(["fifo", "drf", "kueue+preempt", "las", "priority+preempt"]),
       st.lists(st.integers(1, 5), min_size=3, max_size=3))
def test_user_shares_add_up_to_the_allocation(seed: int, policy: str, weights: list[int]) -> None:
    trace = synthetic_trace(WorkloadSpec(jobs=50, users=3, mean_interarrival_s=15.0), seed=seed)
    r = simulate(trace, synthetic_cluster(nodes=2), policy, seed=seed, user_weights=weights)
    times = np.linspace(int(r.timeline_t[0]), int(r.timeline_t[-1]), 37)
    k = r.resources.index("nvidia.com/gpu")
    step = np.searchsorted(r.timeline_t, times, side="right") - 1
    np.testing.assert_allclose(r.user_allocation(times).sum(axis=0), r.timeline_alloc[step, k] / r.capacity[k])
    fair = r.user_fairness(weights)
    assert fair["fair_share"].sum() <= 1 + 1e-9 and np.all(fair["deviation"] <= 1 + 1e-9)
    # what a user holds never exceeds what it asks for (its arrived, unfinished jobs)
    assert np.all(r.user_allocation(times) <= r.user_demand(times) + 1e-9)


def test_jain_share_is_one_for_drf_and_lower_for_fifo() -> None:
    trace = saturating_trace(3, 400)
    cluster = synthetic_cluster(nodes=4)
    drf, fifo = (simulate(trace, cluster, p).metrics()["jain_share"] for p in ("drf", "fifo"))
    assert drf == pytest.approx(1.0, abs=0.01) and fifo < 0.9


def test_plot_results_needs_results(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from aios_core.sim.plots import plot_results

    with pytest.raises(ConfigError, match="nothing to plot"):
        plot_results([], tmp_path)
