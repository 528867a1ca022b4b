"""Kueue-style capacity queues: quota arithmetic and share values by the documented formulas,
admission limits, reclaim, fair-sharing preemption without 2-cycles, native vs reference."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aios_core import _core
from aios_core._reference import fairshare as ref
from aios_core.errors import ConfigError, NotFoundError
from aios_core.fairshare import CapacityModel, ClusterQueue, Cohort, Quota, capacity_arrays

SETTINGS = settings(max_examples=40, deadline=None)


def two_teams(**kw):
    qs = [
        ClusterQueue("team-a", {"default": {"cpu": Quota(10_000)}}, cohort="org", reclaim_within_cohort="Any", **kw),
        ClusterQueue("team-b", {"default": {"cpu": Quota(10_000)}}, cohort="org", reclaim_within_cohort="Any"),
    ]
    return CapacityModel(["cpu"], ["default"], qs)


def test_share_value_by_the_documented_formula():
    m = two_teams()
    assert m.admit("team-a", {"cpu": 15_000}) is not None
    # borrowed 5000 over the 20000 the cohort can lend: 5000 * 1000 / 20000 = 250
    assert m.share("team-a") == 250.0
    assert m.weighted_share("team-a") == 250
    assert m.share("team-b") == 0.0
    m2 = two_teams(weight=2.0)
    m2.admit("team-a", {"cpu": 15_000})
    assert m2.share("team-a") == 125.0
    m0 = two_teams(weight=0.0)
    m0.admit("team-a", {"cpu": 15_000})
    assert m0.share("team-a") == float("inf") and m0.weighted_share("team-a") == 2**63 - 1


def test_borrowing_and_lending_limits():
    qs = [
        ClusterQueue("a", {"f": {"cpu": Quota(10, borrowing_limit=3)}}, cohort="c"),
        ClusterQueue("b", {"f": {"cpu": Quota(10, lending_limit=4)}}, cohort="c"),
    ]
    m = CapacityModel(["cpu"], ["f"], qs)
    assert m.admit("a", {"cpu": 14}) is None  # 10 + borrowing limit 3
    adm = m.admit("a", {"cpu": 13})
    assert adm is not None and adm.borrowing
    assert m.available("b")["f"]["cpu"] == 7  # 6 kept private + 1 left in the cohort
    m2 = CapacityModel(["cpu"], ["f"], [qs[0].__class__("a", {"f": {"cpu": Quota(10)}}, cohort="c"), qs[1]])
    assert m2.admit("a", {"cpu": 15}) is None  # b lends at most 4
    assert m2.admit("a", {"cpu": 14}) is not None


def test_flavor_order_and_when_can_borrow():
    qs = [
        ClusterQueue("a", {"spot": {"gpu": 2}, "on-demand": {"gpu": 4}}, cohort="c"),
        ClusterQueue("b", {"spot": {"gpu": 4}}, cohort="c"),
    ]
    stop = CapacityModel(["gpu"], ["spot", "on-demand"], qs)
    assert stop.admit("a", {"gpu": 3}).flavor == "spot"  # borrows 1 spot GPU from b
    nxt = CapacityModel(["gpu"], ["spot", "on-demand"], qs, when_can_borrow="TryNextFlavor")
    assert nxt.admit("a", {"gpu": 3}).flavor == "on-demand"


def test_hierarchical_cohort_quota():
    cohorts = [Cohort("root"), Cohort("left", parent="root", quotas={"f": {"cpu": 5}})]
    qs = [ClusterQueue("a", {"f": {"cpu": 10}}, cohort="left"), ClusterQueue("b", {"f": {"cpu": 10}}, cohort="root")]
    m = CapacityModel(["cpu"], ["f"], qs, cohorts)
    # a can use its 10, the 5 held by its cohort and the 10 of b: 25 in all
    assert m.available("a")["f"]["cpu"] == 25
    assert m.admit("a", {"cpu": 26}) is None and m.admit("a", {"cpu": 25}) is not None
    assert m.available("b")["f"]["cpu"] == 0


def test_reclaim_within_cohort():
    m = two_teams()
    big = m.admit("team-b", {"cpu": 15_000})
    small = m.admit("team-b", {"cpu": 5_000})
    assert big and small
    assert m.admit("team-a", {"cpu": 4_000}) is None  # b holds everything
    plan = m.preempt("team-a", {"cpu": 4_000})
    assert plan.flavor == "default" and plan.victims == (small.workload_id,)  # the newest first
    assert m.usage("team-b")["default"]["cpu"] == 20_000  # a dry run changes nothing
    applied = m.preempt("team-a", {"cpu": 4_000}, apply=True)
    assert applied.admitted_id is not None
    assert m.usage("team-a")["default"]["cpu"] == 4_000 and m.usage("team-b")["default"]["cpu"] == 15_000


def test_fair_sharing_strategies():
    def model(strategies):
        qs = [ClusterQueue(n, {"f": {"cpu": 10}}, cohort="org", reclaim_within_cohort="Any") for n in "abc"]
        m = CapacityModel(["cpu"], ["f"], qs, preemption_strategies=strategies)
        m.admit("b", {"cpu": 8})
        big = m.admit("b", {"cpu": 12})
        m.admit("a", {"cpu": 10})
        return m, big
    m, big = model(["LessThanOrEqualToFinalShare", "LessThanInitialShare"])
    assert m.share("b") == 333.0  # borrows 10 of the 30 the cohort can lend
    # a with 3 more borrows 3 (share 100). Without the 12, b does not borrow (0); without the 8 it
    # borrows 2 (66): LessThanOrEqualToFinalShare allows neither; LessThanInitialShare (100 < 333)
    # takes the newest, the 12.
    assert m.preempt("a", {"cpu": 3}).victims == (big.workload_id,)
    m1, _ = model(["LessThanOrEqualToFinalShare"])
    assert m1.preempt("a", {"cpu": 3}).flavor is None


def test_fair_sharing_stops_at_equal_shares():
    qs = [ClusterQueue(n, {"f": {"cpu": 10}}, cohort="org", reclaim_within_cohort="Any") for n in "ab"]
    m = CapacityModel(["cpu"], ["f"], qs)
    for _ in range(4):
        m.admit("b", {"cpu": 4})
    m.admit("a", {"cpu": 4})
    # a + 8 borrows 2 (share 100); b keeps 12 (100) after one victim, so a second victim is not
    # allowed by either strategy and the workload does not fit.
    assert m.preempt("a", {"cpu": 8}).flavor is None
    assert m.preempt("a", {"cpu": 4}).victims  # a + 4 does not borrow: reclaim


# --- random models: limits hold, native == reference, no 2-cycles ---------------------------------------
@st.composite
def models(draw):
    n_q = draw(st.integers(2, 5))
    R = draw(st.integers(1, 2))
    F = draw(st.integers(1, 2))
    res, fl = [f"r{i}" for i in range(R)], [f"f{i}" for i in range(F)]
    hier = draw(st.booleans())
    cohorts = [Cohort("top"), Cohort("sub", parent="top", quotas={fl[0]: {res[0]: draw(st.integers(0, 4))}})] if hier else []
    qs = []
    for i in range(n_q):
        quotas = {}
        for f in draw(st.permutations(fl)):
            quotas[f] = {
                r: Quota(
                    draw(st.integers(0, 12)),
                    draw(st.one_of(st.none(), st.integers(0, 6))),
                    draw(st.one_of(st.none(), st.integers(0, 6))),
                )
                for r in res
            }
        cohort = draw(st.sampled_from(["top", "sub"])) if hier else ("c" if i < n_q - 1 or draw(st.booleans()) else None)
        qs.append(ClusterQueue(f"q{i}", quotas, cohort=cohort, weight=draw(st.sampled_from([0.5, 1.0, 2.0])),
                               within_cluster_queue=draw(st.sampled_from(["Never", "LowerPriority"])),
                               reclaim_within_cohort=draw(st.sampled_from(["Never", "LowerPriority", "Any"]))))
    fair = draw(st.booleans())
    strategies = draw(st.sampled_from([["LessThanOrEqualToFinalShare"], ["LessThanInitialShare"],
                                       ["LessThanOrEqualToFinalShare", "LessThanInitialShare"]]))
    kw = dict(fair_sharing=fair, preemption_strategies=strategies,
              when_can_borrow=draw(st.sampled_from(["MayStopSearch", "TryNextFlavor"])))
    n = draw(st.integers(1, 25))
    queues = np.array(draw(st.lists(st.integers(0, n_q - 1), min_size=n, max_size=n)), dtype=np.int32)
    reqs = np.array(draw(st.lists(st.lists(st.integers(0, 6), min_size=R, max_size=R), min_size=n, max_size=n)), dtype=np.int64)
    prio = np.array(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), dtype=np.int64)
    return (res, fl, qs, cohorts, kw), (queues, reqs, prio)


def build_both(spec):
    res, fl, qs, cohorts, kw = spec
    m = CapacityModel(res, fl, qs, cohorts, **kw)
    a = m.arrays
    twin = ref.CapacityModel(len(a.resources), len(a.flavors), len(a.queue_names), len(a.cohort_names), a.parent,
                             a.nominal, a.borrowing_limit, a.lending_limit, a.weight_milli, a.flavor_start,
                             a.flavor_list, a.within_queue, a.reclaim, a.fair_sharing, a.strategies, a.try_next_flavor)
    return m, twin


@SETTINGS
@given(models())
def test_admission_respects_quotas_and_matches_reference(case):
    spec, (queues, reqs, prio) = case
    m, twin = build_both(spec)
    for what in ("subtree_quota", "potential_available", "available"):
        np.testing.assert_array_equal(m.table(what), twin.table(what))
    got = m.admit_batch(queues, reqs, prio)
    want = twin.admit_batch(queues, reqs, prio)
    np.testing.assert_array_equal(got.flavor, want[0])
    np.testing.assert_array_equal(got.workload_id, want[1])
    np.testing.assert_array_equal(m.table("usage"), twin.table("usage"))
    a = m.arrays
    usage = m.table("usage")
    Q = len(a.queue_names)
    for q in range(Q):
        limit = np.where(a.borrowing_limit[q] >= 0, a.nominal[q] + a.borrowing_limit[q], np.iinfo(np.int64).max)
        assert (usage[q] <= limit).all(), "a queue went past nominal + borrowing limit"
    sub = m.table("subtree_quota")
    for v in range(len(a.parent)):
        if a.parent[v] < 0:
            assert (usage[v] <= sub[v]).all(), "a root went past its quota"
    # usage equals the sum of admitted requests per queue and flavor
    for q in range(Q):
        for f in range(len(a.flavors)):
            mask = (got.flavor == f) & (queues == q)
            assert (usage[q, f] == reqs[mask].sum(axis=0)).all()
    for v in range(len(a.parent)):
        assert m.share(([*a.queue_names, *a.cohort_names])[v]) == twin.share(v)


@SETTINGS
@given(models(), st.data())
def test_preemption_matches_reference_and_never_cycles(case, data):
    spec, (queues, reqs, prio) = case
    m, twin = build_both(spec)
    m.admit_batch(queues, reqs, prio)
    twin.admit_batch(queues, reqs, prio)
    a = m.arrays
    q = data.draw(st.integers(0, len(a.queue_names) - 1))
    req = {r: data.draw(st.integers(0, 8)) for r in a.resources}
    p = data.draw(st.integers(0, 4))
    vec = m.request_vector(req)
    before = m.table("usage")
    plan = m.preempt(a.queue_names[q], req, p)
    np.testing.assert_array_equal(m.table("usage"), before)  # a dry run changes nothing
    f, victims, _ = twin.preempt(q, vec, p, False)
    assert (plan.flavor is None and f < 0) or plan.flavor == a.flavors[f]
    assert list(plan.victims) == victims.tolist()
    if plan.flavor is None or not plan.victims:
        return
    applied = m.preempt(a.queue_names[q], req, p, apply=True)
    assert applied.victims == plan.victims
    new_id = applied.admitted_id
    # No 2-cycle: a victim from another queue, coming back at once, must not preempt the preemptor.
    for v in plan.victims:
        w = m.workload(v)
        if w["queue"] == a.queue_names[q]:
            continue
        back = m.preempt(w["queue"], {r: int(x) for r, x in zip(a.resources, w["requests"])}, w["priority"])
        assert new_id not in back.victims, "the victim would preempt its preemptor right back"


# --- bad input ---------------------------------------------------------------------------------------------
def test_bad_input_is_rejected():
    m = two_teams()
    with pytest.raises(NotFoundError, match="unknown cluster queue 'team-z'"):
        m.admit("team-z", {"cpu": 1})
    with pytest.raises(NotFoundError, match="unknown resource 'memory'"):
        m.admit("team-a", {"memory": 1})
    with pytest.raises(ConfigError, match=r"requests\['cpu'\]: must be in \[0, 2\^60\], got -5"):
        m.admit("team-a", {"cpu": -5})
    with pytest.raises(ConfigError, match="expected an integer quantity, got 1.5"):
        m.admit("team-a", {"cpu": 1.5})
    with pytest.raises(NotFoundError, match="unknown cluster queue index 7"):
        m.admit_batch([7], [[1]])
    with pytest.raises(NotFoundError, match="unknown id 99"):
        m.evict(99)
    with pytest.raises(NotFoundError, match="unknown flavor 'gold'"):
        CapacityModel(["cpu"], ["f"], [ClusterQueue("a", {"gold": {"cpu": 1}})])
    with pytest.raises(ConfigError, match=r"nominal: must be in \[0, 2\^60\], got -1"):
        CapacityModel(["cpu"], ["f"], [ClusterQueue("a", {"f": {"cpu": -1}})])
    with pytest.raises(NotFoundError, match="unknown cohort 'nowhere'"):
        CapacityModel(["cpu"], ["f"], [ClusterQueue("a", {"f": {"cpu": 1}}, cohort="x")], [Cohort("x", parent="nowhere")])
    with pytest.raises(ConfigError, match="cycle"):
        CapacityModel(["cpu"], ["f"], [ClusterQueue("a", {"f": {"cpu": 1}}, cohort="x")],
                      [Cohort("x", parent="y"), Cohort("y", parent="x")])
    with pytest.raises(ConfigError, match="duplicate"):
        CapacityModel(["cpu"], ["f"], [ClusterQueue("a", {}), ClusterQueue("a", {})])
    with pytest.raises(ConfigError, match="weight"):
        CapacityModel(["cpu"], ["f"], [ClusterQueue("a", {}, weight=float("nan"))])
    with pytest.raises(ConfigError, match="unknown strategy"):
        capacity_arrays(["cpu"], ["f"], [], preemption_strategies=["Whatever"])
    with pytest.raises(ConfigError, match="requests: expected shape"):
        m.admit_batch([0], [[1, 2]])
    # nothing changed by the failed calls
    assert m.usage("team-a") == {"default": {"cpu": 0}} and m.workload_count == 0


def test_hierarchical_preemption_compares_subtrees_below_the_common_ancestor():
    # root -> L (a1, a2), root -> R (b); 10 CPUs each. a2 borrows 4, b borrows 6, a1 wants 12.
    def model(hierarchical):
        cohorts = [Cohort("root"), Cohort("L", parent="root"), Cohort("R", parent="root")] if hierarchical else [Cohort("root")]
        qs = [
            ClusterQueue("a1", {"f": {"cpu": 10}}, cohort="L" if hierarchical else "root", reclaim_within_cohort="Any"),
            ClusterQueue("a2", {"f": {"cpu": 10}}, cohort="L" if hierarchical else "root"),
            ClusterQueue("b", {"f": {"cpu": 10}}, cohort="R" if hierarchical else "root"),
        ]
        m = CapacityModel(["cpu"], ["f"], qs, cohorts)
        ids = [m.admit("a2", {"cpu": 7}), m.admit("a2", {"cpu": 7}), m.admit("b", {"cpu": 8}), m.admit("b", {"cpu": 8})]
        return m, [i.workload_id for i in ids]
    flat, ids = model(False)
    # Flat: a1 with 12 has share 2000/30 = 66; LessThanInitialShare takes b's newest (66 < 200), then
    # a2's newest (66 < 133).
    assert flat.preempt("a1", {"cpu": 12}).victims == (ids[3], ids[1])
    hier, _ = model(True)
    # Hierarchical: against b the sides are L (a1 + a2 = 26 of 20: share 200) and R (b: 200), so
    # neither strategy allows it; a2's 7 alone is not enough.
    assert hier.preempt("a1", {"cpu": 12}).flavor is None


def test_cohort_total_overflow_is_rejected():
    qs = [ClusterQueue(f"q{i}", {"f": {"cpu": 2**60}}, cohort="c") for i in range(3)]
    with pytest.raises(ConfigError, match="cohort total overflows"):
        CapacityModel(["cpu"], ["f"], qs)


def test_hierarchical_admission_is_a_tournament_of_subtrees():
    # root -> L (a1, a2), root -> b; 4 CPUs each (12 in all); a2 already runs 6.
    def model(hierarchical):
        cohorts = [Cohort("root"), Cohort("L", parent="root")] if hierarchical else [Cohort("root")]
        qs = [
            ClusterQueue("a1", {"f": {"cpu": 4}}, cohort="L" if hierarchical else "root"),
            ClusterQueue("a2", {"f": {"cpu": 4}}, cohort="L" if hierarchical else "root"),
            ClusterQueue("b", {"f": {"cpu": 4}}, cohort="root"),
        ]
        m = CapacityModel(["cpu"], ["f"], qs, cohorts)
        assert m.admit("a2", {"cpu": 6}) is not None
        return m
    # Heads: a1 wants 5, b wants 5; only 6 CPUs are free, so one of them gets in.
    flat = model(False).admit_batch(["a1", "b"], [[5], [5]])
    # Flat: both queues would borrow 1 (1000/12 = 83): equal shares, so the earlier head wins.
    assert flat.admitted.tolist() == [True, False]
    hier = model(True).admit_batch(["a1", "b"], [[5], [5]])
    # Nested: at the root, L with a1's 5 would borrow 3 of its 8 (3000/12 = 250) against b's 83.
    assert hier.admitted.tolist() == [False, True]
