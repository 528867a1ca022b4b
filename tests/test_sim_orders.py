"""Fair Tree, Kueue and LAS queue orders, and elastic jobs, on small hand-checked cases."""

from __future__ import annotations

import numpy as np

from test_sim_fairshare import saturating_trace

from aios_core.sim import JobTrace, NodeEvent, Policy, simulate
from aios_core.sim.synthetic import RESOURCES, synthetic_cluster

GIB = 1 << 30


def _trace(arrival: list[int], duration: list[int], gpus: list[int], user: list[int] | None = None,
           priority: list[int] | None = None, max_gang: list[int] | None = None, users: int = 1) -> JobTrace:
    n = len(arrival)
    req = np.array([[1000, GIB, g * 1000] for g in gpus], dtype=np.int64)
    return JobTrace(RESOURCES, np.array(arrival), np.array(duration), req, np.ones(n, dtype=np.int64),
                    np.array(user or [0] * n), np.array(priority or [0] * n), tuple(f"u{u}" for u in range(users)),
                    max_gang=None if max_gang is None else np.array(max_gang))


# ---------------------------------------------------------------- LAS (Tiresias)

def test_las_demotes_at_threshold_and_suspends_for_new_jobs() -> None:
    # one 8-GPU node; threshold 3600 GPU-s: job0 (8 GPUs) reaches it at t=450 and drops to the
    # second queue; job1 (arrived at 100, no service yet) then suspends it; job2 (arrived at 500)
    # waits for job1 (same queue: arrival order); job0 resumes with its progress at 650.
    trace = _trace([0, 100, 500], [1000, 100, 100], [8, 8, 8])
    r = simulate(trace, synthetic_cluster(nodes=1), "las")
    assert r.first_start.tolist() == [0, 450, 550]
    assert r.start.tolist() == [650, 450, 550] and r.end.tolist() == [1200, 550, 650]
    assert r.segments.tolist() == [[0, 0, 450, 1]]
    assert r.suspensions == 1 and r.preemptions == 0
    fifo = simulate(trace, synthetic_cluster(nodes=1), "fifo")
    assert fifo.end.tolist() == [1000, 1100, 1200]


def test_las_second_threshold_crossed_while_running_is_a_scheduling_moment() -> None:
    # one 8-GPU node, thresholds 100 and 1000 GPU-s: job0 (8 GPUs) enters Q1 at t=13; job1 (8
    # GPUs, arrived at 1) suspends it, enters Q1 at 26 and Q2 at 13 + 125 = 138 in the same run;
    # then job0 (Q1) suspends it and runs its 987 s left (Q2 from 250, job1's queue: no
    # suspension) to 1125; job1 does its last 75 s after. Without a pass at 138, job0 would wait
    # for job1 to end (213).
    trace = _trace([0, 1], [1000, 200], [8, 8])
    r = simulate(trace, synthetic_cluster(nodes=1), "las@100,1000")
    assert r.segments.tolist() == [[0, 0, 13, 1], [1, 13, 138, 1]]
    assert r.start.tolist() == [138, 1125] and r.end.tolist() == [1125, 1200]


def test_las_thresholds_from_the_spec() -> None:
    trace = _trace([0, 100, 500], [1000, 100, 100], [8, 8, 8])
    # threshold 8000 GPU-s: job0 reaches it at t=1000, when it ends: nothing is ever suspended
    r = simulate(trace, synthetic_cluster(nodes=1), "las@8000")
    assert r.suspensions == 0 and r.end.tolist() == [1000, 1100, 1200]


def _starving() -> JobTrace:
    # one 8-GPU node: job0 (8 GPUs, 2000 s) reaches 3600 GPU-s at t=450 and drops to Q1; then
    # 8-GPU jobs of 100 s (Q0 for good) arrive every 100 s from t=100 to 1900, so Q0 never empties
    # before t=2350 and job0 starves in Q1 until then.
    arrival = [0] + [100 * k for k in range(1, 20)]
    return _trace(arrival, [2000] + [100] * 19, [8] * 20)


def test_las_without_promotion_starves_the_long_job() -> None:
    r = simulate(_starving(), synthetic_cluster(nodes=1), "las")
    assert r.segments.tolist() == [[0, 0, 450, 1]]
    assert r.start[0] == 450 + 19 * 100 and r.end[0] == 2350 + 1550


def test_las_promotes_a_starving_job_after_knob_times_its_run() -> None:
    # knob 2: job0 ran 450 s, so at 450 + 2 x 450 = 1350 it goes back to Q0, first there (earliest
    # arrival), and starts when the short job running then ends (also 1350). It is demoted again
    # after 450 s more (1800), promoted again 900 s later (2700), demoted at 3150 for the last
    # short job, and resumes at 3250 with 650 s of work left.
    r = simulate(_starving(), synthetic_cluster(nodes=1), "las+promote@2")
    assert r.segments.tolist() == [[0, 0, 450, 1], [0, 1350, 1800, 1], [0, 2700, 3150, 1]]
    assert r.start[0] == 3250 and r.end[0] == 3900
    assert r.suspensions == 3
    waited, ran = 1350 - 450, 450 - 0
    assert waited == 2 * ran  # promoted exactly when its wait reached knob x its run
    # knob 4: the first promotion would be due at 450 + 1800 = 2250; it still waits less than
    # the unguarded 2350 and the short jobs behind it (arrived 1500 and later) wait for it
    k4 = simulate(_starving(), synthetic_cluster(nodes=1), "las+promote@4")
    assert k4.segments.tolist()[:2] == [[0, 0, 450, 1], [0, 2250, 2700, 1]]


def test_las_promotion_is_a_scheduling_moment_of_its_own() -> None:
    # one 8-GPU node, two 8-GPU jobs of 2000 s: job1 (arrived at 100) suspends job0 when job0
    # drops to Q1 (450), then drops to Q1 itself (900): equals, so job0 waits. With knob 2, job0
    # (ran 450 s) is promoted at 450 + 900 = 1350, when nothing else happens, and suspends job1.
    trace = _trace([0, 100], [2000, 2000], [8, 8])
    plain = simulate(trace, synthetic_cluster(nodes=1), "las")
    assert plain.start.tolist() == [2450, 450] and plain.end.tolist() == [4000, 2450]
    r = simulate(trace, synthetic_cluster(nodes=1), "las+promote@2")
    assert r.segments.tolist() == [[0, 0, 450, 1], [1, 450, 1350, 1]]
    assert r.start.tolist() == [1350, 2900] and r.end.tolist() == [2900, 4000]
    assert 1350 in r.timeline_t.tolist() and 1350 not in plain.timeline_t.tolist()


def test_las_job_that_waited_its_limit_in_q0_is_promoted_when_it_stops() -> None:
    # one 8-GPU node, threshold 100 GPU-s: job0 runs 5 s, is killed by a drain (keeping its
    # service) and waits 195 s in Q0, where promotion does not apply; back at 200, it enters Q1 at
    # 208 and job1 (arrived at 204) suspends it. Having waited 195 s >= 2 x 13 s run, it is
    # promoted at once: at 218 it goes before job2 (arrived at 212), until it is demoted at 231.
    trace = _trace([0, 204, 212], [100, 10, 10], [8, 8, 8])
    events = [NodeEvent(5, "node-0"), NodeEvent(200, "node-0", up=True)]
    plain = simulate(trace, synthetic_cluster(nodes=1), "las@100", node_events=events)
    assert plain.start.tolist() == [228, 208, 218] and plain.end.tolist() == [320, 218, 228]
    r = simulate(trace, synthetic_cluster(nodes=1), "las@100+promote@2", node_events=events)
    assert r.segments.tolist() == [[0, 0, 5, 1], [0, 200, 208, 1], [0, 218, 231, 1]]
    assert r.start.tolist() == [241, 208, 231] and r.end.tolist() == [320, 218, 241]


# ---------------------------------------------------------------- Kueue

def test_kueue_reclaims_nominal_quota_with_preemption() -> None:
    # one 8-GPU node, two users of equal weight (nominal 4 GPUs each): u0 borrows the whole node
    # with 2-GPU jobs at t=0; u1 asks for 4 GPUs at t=10.
    trace = _trace([0, 0, 0, 0, 10], [100, 100, 100, 100, 50], [2, 2, 2, 2, 4], user=[0, 0, 0, 0, 1], users=2)
    cluster = synthetic_cluster(nodes=1)
    plain = simulate(trace, cluster, "kueue")
    assert plain.start.tolist()[:4] == [0, 0, 0, 0] and plain.start[4] == 100  # waits for the borrowed GPUs
    r = simulate(trace, cluster, "kueue+preempt")
    assert r.start[4] == 10 and r.preemptions == 2  # reclaims its 4 GPUs: two of u0's jobs go
    assert sorted(r.killed_runs[:, 2].tolist()) == [10, 10]


def test_kueue_shares_converge_to_weights() -> None:
    weights = [1, 3]
    r = simulate(saturating_trace(2, 1500), synthetic_cluster(nodes=4), "kueue", user_weights=weights)
    horizon = int(r.end.max()) // 3
    np.testing.assert_allclose(r.user_shares(horizon // 10, horizon), np.array(weights) / sum(weights), atol=0.03)


# ---------------------------------------------------------------- Fair Tree

def test_fairtree_converges_to_shares() -> None:
    weights = [1, 2, 5]
    r = simulate(saturating_trace(3, 2000), synthetic_cluster(nodes=4), "fairtree:best_fit", user_weights=weights)
    horizon = int(r.end.max()) // 4
    shares = r.user_shares(horizon // 10, horizon)
    np.testing.assert_allclose(shares, np.array(weights) / sum(weights), atol=0.02)


def test_fairtree_accounts_share_first_between_accounts() -> None:
    # accounts a (two users) and b (one user), one share each: b's user gets half, a's users a quarter
    trace = saturating_trace(3, 1500)
    trace = JobTrace(trace.resources, trace.arrival, trace.duration, trace.requests, trace.gang, trace.user,
                     trace.priority, ("a/x", "a/y", "b/z"))
    r = simulate(trace, synthetic_cluster(nodes=4), "fairtree")
    horizon = int(r.end.max()) // 3
    np.testing.assert_allclose(r.user_shares(horizon // 10, horizon), [0.25, 0.25, 0.5], atol=0.03)


# ---------------------------------------------------------------- elastic jobs

def test_elastic_job_grows_when_alone_and_shrinks_for_a_newcomer() -> None:
    # one 8-GPU node; job0 wants 1..8 one-GPU members, 800 s at one member, linear scaling:
    # alone it runs 8 wide (100 s); job1 (4 GPUs) at t=50 takes 4 of them back, so job0 does the
    # remaining 400 s of work 4 wide: ends at 150.
    trace = _trace([0, 50], [800, 100], [1, 4], max_gang=[8, 1])
    pol = Policy(order="fifo", elastic_alpha=1.0)
    r = simulate(trace, synthetic_cluster(nodes=1), pol)
    assert r.segments.tolist() == [[0, 0, 50, 8]]
    assert r.start.tolist() == [50, 50] and r.members.tolist() == [4, 1] and r.end.tolist() == [150, 150]
    rigid = simulate(trace, synthetic_cluster(nodes=1), Policy(order="fifo", elastic=False))
    assert rigid.end.tolist() == [800, 150] and rigid.resizes == 0


def test_elastic_sublinear_scaling_finishes_later() -> None:
    trace = _trace([0], [800], [1], max_gang=[8])
    r = simulate(trace, synthetic_cluster(nodes=1), Policy(order="fifo", elastic_alpha=0.5))
    # speed at 8 members = round(1000 * 8 ** 0.5) = 2828 units/s: ceil(800000 / 2828) = 283 s
    assert r.end.tolist() == [283] and r.members.tolist() == [8]
