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
def test_parse(spec: str, order: str, placement: str, backfill: bool, preempt: bool, interval: int) -> None:
    p = Policy.parse(spec)
    assert (p.order, p.placement, p.backfill, p.preempt, p.backfill_interval_s) == (
        order, placement, backfill, preempt, interval)
    assert Policy.parse(p.name) == p  # the name reads back as the same policy


@pytest.mark.parametrize(("spec", "needle"), [
    ("lifo", "unknown order 'lifo'"),
    ("fifo:fastest", "unknown placement 'fastest'"),
    ("fifo+turbo", "unknown flag(s) ['turbo']"),
    ("easy@soon", "easy@N needs an integer"),
    ("easy@-5", "backfill_interval_s: must be >= 0"),
    ("drf+easy", "EASY backfilling needs a fifo, priority or sjf order"),
])
def test_parse_errors(spec: str, needle: str) -> None:
    with pytest.raises(ConfigError) as exc:
        Policy.parse(spec)
    assert needle in str(exc.value) and repr(spec) in str(exc.value)
