"""Policy spec strings."""

from __future__ import annotations

import pytest

from aios_core.errors import ConfigError
from aios_core.sim import Policy


@pytest.mark.parametrize(("spec", "order", "placement", "backfill", "preempt", "interval"), [
    ("fifo", "fifo", "best_fit", False, False, 0),
    ("easy", "fifo", "best_fit", True, False, 0),
    ("easy@30:most_allocated", "fifo", "most_allocated", True, False, 30),
    ("sjf+easy@5", "sjf", "best_fit", True, False, 5),
    ("priority+preempt:dot_product", "priority", "dot_product", False, True, 0),
    ("priority+easy+preempt", "priority", "best_fit", True, True, 0),
])
def test_parse_basic(spec: str, order: str, placement: str, backfill: bool, preempt: bool, interval: int) -> None:
    p = Policy.parse(spec)
    assert (p.order, p.placement, p.backfill, p.preempt, p.backfill_interval_s) == (
        order, placement, backfill, preempt, interval)
    assert Policy.parse(p.name) == p  # the name reads back as the same policy


@pytest.mark.parametrize(("spec", "order", "flags"), [
    ("fairtree", "fairtree", {}),
    ("kueue+preempt:most_allocated", "kueue", {"preempt": True, "placement": "most_allocated"}),
    ("las", "las", {"las_thresholds": (3600,)}),
    ("las@100,2000", "las", {"las_thresholds": (100, 2000)}),
    ("sjf+predict", "sjf", {"predict": True}),
    ("easy@30+predict", "fifo", {"predict": True, "backfill": True, "backfill_interval_s": 30}),
    ("fifo+rigid", "fifo", {"elastic": False}),
    ("priority+preempt+topo@rack", "priority", {"gang_topology": "rack", "gang_topology_required": True}),
    ("easy+topo~zone:fgd", "fifo", {"gang_topology": "zone", "gang_topology_required": False, "placement": "fgd"}),
    ("las@600,36000+promote@2", "las", {"las_thresholds": (600, 36000), "las_promote_knob": 2}),
    ("las+promote@0", "las", {"las_promote_knob": 0}),
])
def test_parse_new_orders_and_flags(spec: str, order: str, flags: dict[str, object]) -> None:
    p = Policy.parse(spec)
    assert p.order == order
    for k, v in flags.items():
        assert getattr(p, k) == v
    assert Policy.parse(p.name) == p


@pytest.mark.parametrize(("spec", "needle"), [
    ("las@1,x", "las@T1,T2,... needs integer GPU-seconds"),
    ("las@200,100", "las_thresholds: expected increasing positive integers"),
    ("las+preempt", "las preempts by itself"),
    ("fairtree+easy", "EASY backfilling needs a fifo, priority or sjf order, not fairtree"),
    ("fifo+predict", "predictions serve sjf and EASY backfilling"),
    ("lifo", "unknown order 'lifo'"),
    ("fifo:fastest", "unknown placement 'fastest'"),
    ("fifo+turbo", "unknown flag(s) ['turbo']"),
    ("easy@soon", "easy@N needs an integer"),
    ("easy@-5", "backfill_interval_s: must be >= 0"),
    ("drf+easy", "EASY backfilling needs a fifo, priority or sjf order"),
    ("las+promote@soon", "promote@K needs an integer K"),
    ("las+promote", "promote needs its knob"),
    ("las+promote@-1", "las_promote_knob: expected an integer >= 0 (0: off), got -1"),
    ("fifo+promote@2", "starvation promotion belongs to las, not fifo"),
])
def test_parse_errors(spec: str, needle: str) -> None:
    with pytest.raises(ConfigError) as exc:
        Policy.parse(spec)
    assert needle in str(exc.value) and repr(spec) in str(exc.value)


def test_unknown_gang_topology_level_is_named() -> None:
    from aios_core.sim import simulate
    from aios_core.sim.synthetic import WorkloadSpec, synthetic_cluster, synthetic_trace

    trace = synthetic_trace(WorkloadSpec(jobs=10), seed=0)
    with pytest.raises(ConfigError, match="unknown topology level 'pod'.*rack, host"):
        simulate(trace, synthetic_cluster(nodes=4), "fifo+topo@pod")


def test_promote_knob_field_errors() -> None:
    with pytest.raises(ConfigError, match="policy.las_promote_knob: expected an integer >= 0"):
        Policy(order="las", las_promote_knob=1.5)  # type: ignore[arg-type]
    assert Policy(order="las", las_promote_knob=3).name == "las+promote@3:best_fit"
