"""Queue ordering with aios fair-share models, on sshare output captured from the real cluster."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aios_core.errors import ConfigError
from aios_core.slurm.errors import SlurmRejectedError
from aios_core.slurm.parse import parse_squeue, parse_sshare
from aios_core.slurm.priorities import (
    TOP_PRIORITY,
    PriorityChange,
    apply_changes,
    associations,
    fair_tree_factors,
    order_pending,
    plan_changes,
)
from aios_core.slurm.read import MIB
from aios_core.slurm.records import SlurmJob
from slurm_fakes import DATA

SHARES = parse_sshare((DATA / "sshare.txt").read_text())
TEMPLATE = parse_squeue((DATA / "squeue.json").read_text())[0]
CAPACITY = np.array([32_000, 4 * 64000 * MIB, 16_000], dtype=np.int64)


def job(job_id: int, account: str, gpus: int = 1, submit: int = 0, state: str = "PENDING") -> SlurmJob:
    return replace(TEMPLATE, job_id=job_id, account=account, user="root", gpus=gpus, cpus=1, memory_mb=1000,
                   submit_time=submit or job_id, state=state, priority=1, nice=0)


def test_fair_tree_matches_sshare() -> None:
    ours = fair_tree_factors(SHARES)
    theirs = {(r.account, r.user): r.fair_share for r in SHARES if r.user is not None}
    assert any(r.raw_usage > 0 for r in SHARES)  # the capture has usage, so the ranking is not trivial
    assert ours.keys() == theirs.keys()
    for key, value in theirs.items():
        assert ours[key] == pytest.approx(value, abs=1e-6)


def test_associations_follow_the_sshare_tree() -> None:
    assoc = associations(SHARES)
    parents = {(a.account, a.user): a.parent for a in assoc}
    assert parents[("root", None)] is None and parents[("teama", None)] == "root" and parents[("teamb", None)] == "root"
    assert [a.shares for a in assoc if a.user is None] == [1, 3, 1]


def test_fair_tree_order_puts_the_higher_factor_first() -> None:
    factors = fair_tree_factors(SHARES)
    pending = [job(1, "teamb"), job(2, "teama"), job(3, "teamb"), job(4, "teama")]
    order = order_pending("fair-tree", pending, [], SHARES, CAPACITY)
    keys = [-factors[(j.account, j.user)] for j in order]
    assert keys == sorted(keys)
    for a, b in zip(order, order[1:]):  # equal factors keep submit order
        if factors[(a.account, a.user)] == factors[(b.account, b.user)]:
            assert a.submit_time < b.submit_time


@given(st.lists(st.sampled_from(["teama", "teamb"]), min_size=1, max_size=12), st.integers(0, 4))
@settings(max_examples=50, deadline=None)
def test_drf_order_keeps_weighted_dominant_shares_close(accounts: list[str], running_a: int) -> None:
    pending = [job(i + 1, a, gpus=1) for i, a in enumerate(accounts)]
    running = [job(100 + i, "teama", gpus=1, state="RUNNING") for i in range(running_a)]
    order = order_pending("drf", pending, running, SHARES, CAPACITY)
    assert sorted(j.job_id for j in order) == sorted(j.job_id for j in pending)
    used = {"teama": running_a, "teamb": 0}
    weight = {"teama": 3, "teamb": 1}
    for j in order:  # the next job's account never has a larger weighted share than another waiting account
        waiting = {k.account for k in order[order.index(j):]}
        assert all(used[j.account] / weight[j.account] <= used[o] / weight[o] for o in waiting)
        used[j.account] += 1
    for acct in ("teama", "teamb"):  # each account's jobs stay in submit order
        ids = [j.job_id for j in order if j.account == acct]
        assert ids == sorted(ids)


def test_quota_puts_jobs_within_quota_before_borrowers() -> None:
    # teama's quota is 3/4 of 16 GPUs = 12, teamb's 4. Job 2 would borrow, so the jobs within
    # quota (1, 3, 4) go first and fill the partition; 2 and 5 wait, in submit order.
    pending = [job(1, "teamb", 4), job(2, "teamb", 4), job(3, "teama", 4), job(4, "teama", 8), job(5, "teama", 8)]
    order = [j.job_id for j in order_pending("quota", pending, [], SHARES, CAPACITY)]
    assert order == [1, 3, 4, 2, 5]
    # with room to spare, the borrower comes right after the jobs within quota
    order = [j.job_id for j in order_pending("quota", pending[:3], [], SHARES, CAPACITY)]
    assert order == [1, 3, 2]


def test_plan_changes_counts_down_and_skips_unchanged() -> None:
    order = [job(7, "teama"), job(3, "teamb"), replace(job(5, "teamb"), priority=TOP_PRIORITY - 2)]
    changes = plan_changes(order, "priority")
    assert [(c.job_id, c.rank, c.target) for c in changes] == [(7, 0, TOP_PRIORITY), (3, 1, TOP_PRIORITY - 1)]
    nice = plan_changes(order, "nice", nice_step=50)
    assert [(c.job_id, c.target) for c in nice] == [(3, 50), (5, 100)]  # job 7 already at nice 0
    with pytest.raises(ConfigError, match="mode"):
        plan_changes(order, "weight")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="policy"):
        order_pending("lottery", [], [], SHARES, CAPACITY)  # type: ignore[arg-type]


class Recorder:
    def __init__(self, fail_on: int | None = None) -> None:
        self.calls: list[list[str]] = []
        self.fail_on = fail_on

    def run(self, args: list[str], timeout_s: float | None = None) -> str:
        if self.fail_on is not None and f"JobId={self.fail_on}" in args:
            raise SlurmRejectedError("scontrol failed: Invalid job id specified", args, 1, "Invalid job id specified")
        self.calls.append(list(args))
        return ""


def test_apply_runs_scontrol_and_says_what_was_applied() -> None:
    changes = [PriorityChange(7, "teama", "root", 0, 1, 100), PriorityChange(3, "teamb", "root", 1, 1, 99)]
    rec = Recorder()
    apply_changes(rec, changes, "priority")
    assert rec.calls == [["scontrol", "update", "JobId=7", "Priority=100"], ["scontrol", "update", "JobId=3", "Priority=99"]]
    with pytest.raises(SlurmRejectedError, match=r"job 3; already applied to: 7"):
        apply_changes(Recorder(fail_on=3), changes, "nice")
