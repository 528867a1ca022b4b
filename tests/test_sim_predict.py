"""Online duration prediction: the backoff model, and that the simulator never peeks at a job's
own duration when it predicts."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aios_core.errors import ConfigError
from aios_core.sim import JobTrace, simulate
from aios_core.sim.predict import DurationPredictor, PredictorConfig
from aios_core.sim.synthetic import RESOURCES, synthetic_cluster


def test_backoff_from_specific_to_global() -> None:
    p = DurationPredictor(PredictorConfig(weight=0.2, min_count=2, prior_s=777))  # 4 observations: plain mean
    assert p.predict(0, "bert", 1000) == 777  # nothing finished yet: the prior
    p.observe(0, "bert", 1000, 100)
    assert p.predict(0, "bert", 1000) == 777  # one observation is below min_count everywhere
    p.observe(0, "bert", 1000, 400)
    assert p.predict(0, "bert", 1000) == 200  # geometric mean of 100 and 400 (plain mean of logs)
    p.observe(0, "bert", 2000, 10_000)
    p.observe(0, "bert", 2000, 10_000)
    # (user 0, bert, 4 GPUs) is unseen: (user 0, bert) answers from all four jobs
    assert p.predict(0, "bert", 4000) == round(math.exp(np.mean(np.log([100, 400, 10_000, 10_000]))))
    assert p.predict(1, "gpt", 1000) == p.predict(0, "resnet", 8000)  # both fall back to everyone


def test_exponential_weighting_after_warm_up() -> None:
    p = DurationPredictor(PredictorConfig(weight=0.5, min_count=1))
    for d in (100, 100, 100, 100):
        p.observe(0, "", 0, d)
    p.observe(0, "", 0, 10_000)
    # the warm-up averages plainly (weights 1, 1/2, 1/3, 1/4); afterwards each new value weighs 0.5
    assert p.predict(0, "", 0) == round(math.exp(0.5 * math.log(100) + 0.5 * math.log(10_000)))


@pytest.mark.parametrize(("field", "value"), [("weight", 0.0), ("weight", 1.5), ("min_count", 0), ("prior_s", 0)])
def test_bad_config(field: str, value: float) -> None:
    with pytest.raises(ConfigError, match=f"predictor.{field}"):
        PredictorConfig(**{field: value})  # type: ignore[arg-type]


def _trace(durations: list[int], gpus: list[int], arrival: list[int]) -> JobTrace:
    n = len(durations)
    req = np.array([[1000, 1 << 30, g] for g in gpus], dtype=np.int64)
    return JobTrace(RESOURCES, np.array(arrival), np.array(durations), req, np.ones(n, dtype=np.int64),
                    np.array([j % 2 for j in range(n)]), np.zeros(n, dtype=np.int64), ("a", "b"))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 500), st.sampled_from([1000, 2000, 4000, 8000]), st.integers(0, 300)),
                min_size=2, max_size=30),
       st.sampled_from(["sjf+predict", "easy+predict", "sjf+easy+predict"]), st.data())
def test_a_jobs_own_duration_never_decides_when_it_starts(jobs: list[tuple[int, int, int]], policy: str,
                                                         data: st.DataObject) -> None:
    # no oracle: changing job k's true duration cannot change when k first starts
    durations, gpus, arrival = (list(x) for x in zip(*jobs))
    k = data.draw(st.integers(0, len(jobs) - 1))
    other = data.draw(st.integers(1, 5000))
    cluster = synthetic_cluster(nodes=1)
    a = simulate(_trace(durations, gpus, arrival), cluster, policy)
    durations[k] = other
    b = simulate(_trace(durations, gpus, arrival), cluster, policy)
    assert a.first_start[k] == b.first_start[k]


def test_the_oracle_sjf_does_look_at_durations() -> None:
    # the same check fails for the oracle: shortening the waiting long job moves it ahead
    cluster = synthetic_cluster(nodes=1)
    a = simulate(_trace([100, 500, 50], [8000, 8000, 8000], [0, 1, 2]), cluster, "sjf")
    b = simulate(_trace([100, 10, 50], [8000, 8000, 8000], [0, 1, 2]), cluster, "sjf")
    assert a.first_start[1] == 150 and b.first_start[1] == 100
