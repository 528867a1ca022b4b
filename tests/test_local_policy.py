"""Local executor policies: which GPUs a job gets (whole or shared) and the queue order."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aios_core.errors import ConfigError
from aios_core.local.ordering import QueuedJob, queue_order
from aios_core.local.placement import Holding, check_request, choose_gpus, free_for, gpu_load
from aios_core.topology import Topology, select_gpus

from local_daemon import DATA, dgx1_topology as dgx1

GIB = 1 << 30


request = st.tuples(st.integers(1, 4), st.one_of(st.none(), st.integers(1, 32).map(lambda g: g * GIB)))


@given(st.lists(st.tuples(st.booleans(), request), max_size=30))
def test_placement_never_oversubscribes_and_follows_select_gpus(steps):
    topo = dgx1()
    held: list[Holding] = []
    for release, (gpus, mem) in steps:
        if release and held:
            held.pop(0)
            continue
        load = gpu_load(topo, held)
        chosen = choose_gpus(topo, load, gpus, mem)
        free = free_for(topo, load, mem)
        if chosen is None:
            assert len(free) < gpus
            continue
        assert len(set(chosen)) == gpus and set(chosen) <= set(free)
        if mem is None:  # whole GPUs: exactly select_gpus' answer on the free GPUs
            assert chosen == tuple(sorted(select_gpus(topo, gpus, free)))
        held.append(Holding(chosen, mem))
        after = gpu_load(topo, held)
        for g in range(topo.size):
            users = [h for h in held if g in h.gpus]
            assert after.shared[g] <= topo.devices[g].memory_bytes
            if any(h.gpu_memory is None for h in users):
                assert len(users) == 1  # a whole GPU is never shared


def test_shares_fill_used_gpus_before_fresh_ones():
    topo = dgx1()
    load = gpu_load(topo, [Holding((5,), 10 * GIB)])
    assert choose_gpus(topo, load, 1, 20 * GIB) == (5,)
    assert choose_gpus(topo, load, 1, 23 * GIB) != (5,)  # 10 + 23 > 32
    assert choose_gpus(topo, load, 8, None) is None  # GPU 5 is partly used


def test_requests_beyond_the_machine_are_refused():
    topo = dgx1()
    with pytest.raises(ConfigError, match="gpus: 9 requested but this machine has 8"):
        check_request(topo, 9, None)
    with pytest.raises(ConfigError, match="gpu_memory"):
        check_request(topo, 1, 33 * GIB)
    unknown = Topology.from_nvidia_smi((DATA / "topo_dgx1_v100.txt").read_text())
    with pytest.raises(ConfigError, match="memory size is unknown"):
        check_request(unknown, 1, GIB)


# ------------------------------------------------------------------ queue order
def test_order_priority_then_fair_share_then_age():
    jobs = [QueuedJob(1, "heavy", 0, 10.0), QueuedJob(2, "light", 0, 20.0), QueuedJob(3, "heavy", 50, 30.0),
            QueuedJob(4, "light", 0, 25.0)]
    order = queue_order(jobs, {"heavy": 1e6, "light": 10.0}, now=40.0)
    assert order == [3, 2, 4, 1]
    assert queue_order(jobs[:2], {}, now=40.0) == [1, 2]  # no usage: first come first served
