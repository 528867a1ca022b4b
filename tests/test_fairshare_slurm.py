"""Slurm fair share: sshare example from a real Slurm 22.05.8, Fair Tree ranking property,
classic factor by the documented formulas, decay, multifactor priority, the pending queue."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aios_core import _core
from aios_core._reference import fairshare as ref
from aios_core.errors import ConfigError, NotFoundError
from aios_core.fairshare import (
    Association,
    AssociationTree,
    PendingJob,
    PendingQueue,
    PriorityWeights,
    accrue_usage,
    classic_fair_share,
    decay_factor,
    decay_usage,
    fair_tree,
    multifactor_priority,
    tres_billing,
)

SETTINGS = settings(max_examples=60, deadline=None)

# sshare -a -P -o Account,User,RawShares,NormShares,RawUsage,EffectvUsage,FairShare on Slurm 22.05.8
# (/work/shared/notes/integration.md): teama 3 shares, teamb 1, root user 1. sshare prints usage
# truncated, so the inputs below are the effective usages it printed times a root total of 997.2.
SSHARE_DOC = """Account|User|RawShares|NormShares|RawUsage|EffectvUsage|FairShare
root|||0.000000|997|1.000000|
 root|root|1|0.200000|0|0.000000|1.000000
 teama||3|0.600000|879|0.881720|
  teama|alice|1|0.500000|0|0.000000|0.500000
  teama|root|1|0.500000|879|1.000000|0.250000
 teamb||1|0.200000|117|0.118280|
  teamb|root|1|1.000000|117|1.000000|0.750000"""


def sshare_tree():
    return [
        Association("root"),
        Association("root", "root", shares=1),
        Association("teama", parent="root", shares=3),
        Association("teamb", parent="root", shares=1),
        Association("teama", "alice", shares=1),
        Association("teama", "root", shares=1, usage=0.88172 * 997.2),
        Association("teamb", "root", shares=1, usage=0.11828 * 997.2),
    ]


def test_fair_tree_matches_slurm_sshare_output():
    assert fair_tree(sshare_tree()).sshare() == SSHARE_DOC


def test_fair_tree_level_fs_and_long_output():
    table = fair_tree(sshare_tree())
    t = table.tree
    assert math.isinf(table.level_fs[t.index("root", "root")])  # no usage: inf
    assert table.level_fs[t.index("teamb")] == pytest.approx(0.2 / 0.11828)
    assert "|inf" in table.sshare(long=True).splitlines()[2]


@st.composite
def assoc_trees(draw, max_nodes=14):
    n = draw(st.integers(2, max_nodes))
    parent = [-1]
    is_user = [False]
    for i in range(1, n):
        accounts = [j for j in range(i) if not is_user[j]]
        parent.append(draw(st.sampled_from(accounts)))
        is_user.append(draw(st.booleans()))
    shares = draw(st.lists(st.integers(0, 5), min_size=n, max_size=n))
    usage = [draw(st.sampled_from([0.0, 1.0, 2.0, 3.5, 10.0, 100.0])) if is_user[i] else 0.0 for i in range(n)]
    return (np.array(parent, np.int32), np.array(shares, np.int64), np.array(usage), np.array(is_user, np.uint8))


def under(parent, v):
    """All descendants of v."""
    out, stack = [], [v]
    while stack:
        u = stack.pop()
        kids = [i for i, p in enumerate(parent) if p == u]
        out += kids
        stack += kids
    return out


@SETTINGS
@given(assoc_trees())
def test_fair_tree_sibling_order_carries_to_all_users(tree):
    parent, shares, usage, is_user = tree
    table = fair_tree(AssociationTree.from_arrays(parent, shares, usage, is_user))
    lf, fs = table.level_fs, table.fair_share
    n = len(parent)
    # Slurm carries a tie between sibling accounts into the first child of the later one, which
    # then takes the rank last handed out (possibly in another branch): the order is strict only
    # when no siblings tie anywhere, and holds up to such ties otherwise.
    sibling_ties = any(
        parent[i] == parent[j] and lf[i] == lf[j] for i in range(1, n) for j in range(i + 1, n)
    )
    for a in range(n):
        for b in range(n):
            if a == b or parent[a] != parent[b] or parent[a] < 0 or not lf[a] > lf[b]:
                continue
            ua = [u for u in ([a] + under(parent, a)) if is_user[u]]
            ub = [u for u in ([b] + under(parent, b)) if is_user[u]]
            for x in ua:
                for y in ub:
                    assert fs[x] >= fs[y] if sibling_ties else fs[x] > fs[y], (a, b, x, y)
    users = fs[is_user == 1]
    assert ((users > 0) & (users <= 1)).all()
    if len(users):
        assert users.max() == 1.0


@SETTINGS
@given(assoc_trees())
def test_native_matches_reference(tree):
    parent, shares, usage, is_user = tree
    for got, want in zip(_core.fair_tree(*tree), ref.fair_tree(*tree)):
        np.testing.assert_array_equal(got, want)
    for got, want in zip(_core.classic_fair_share(*tree, 1.0), ref.classic_fair_share(*tree, 1.0)):
        np.testing.assert_allclose(got, want, rtol=1e-12, equal_nan=True)


def test_tie_carried_into_a_tied_account_as_slurm_codes_it():
    # Accounts A and B tie (no shares, level FS 0); B's first user inherits the tie and so the rank
    # last handed out, here user u's (fair_tree.c: "if (i == 0 && account_tied) tied = true").
    tree = [Association("root"), Association("root", "u", shares=1), Association("A", parent="root", shares=0),
            Association("B", parent="root", shares=0), Association("B", "v", usage=1.0)]
    fs = fair_tree(tree).fair_share
    assert fs[1] == 1.0 and fs[4] == 1.0


def test_tied_users_share_a_rank():
    # Two users without usage tie at the top; the next user ranks below both.
    tree = [Association("root"), Association("root", "a"), Association("root", "b"), Association("root", "c", usage=5.0)]
    fs = fair_tree(tree).fair_share
    assert fs[1:].tolist() == [1.0, 1.0, 1 / 3]


# --- classic: formulas from classic_fair_share.shtml ----------------------------------------------------
def test_classic_matches_the_documented_example():
    # classic_fair_share.shtml, "Example": A 40 / D 60 shares; B 30 and C 10 under A; E 25 and F 35
    # under D; user1 in B, users 2 and 3 (1 share each) in C, user4 in E, user5 in F. Users 1, 2
    # and 4 used 0.2, 0.25 and 0.25 of the machine; the other 0.3 is charged to the root here so
    # that the machine total is 1.
    tree = [
        Association("root", usage=0.3), Association("A", parent="root", shares=40), Association("D", parent="root", shares=60),
        Association("B", parent="A", shares=30), Association("C", parent="A", shares=10),
        Association("E", parent="D", shares=25), Association("F", parent="D", shares=35),
        Association("B", "user1", usage=0.2), Association("C", "user2", usage=0.25), Association("C", "user3"),
        Association("E", "user4", usage=0.25), Association("F", "user5"),
    ]
    t = classic_fair_share(tree)
    assert t.norm_shares[7:] == pytest.approx([0.3, 0.05, 0.05, 0.25, 0.35])
    assert t.effective_usage[1:3] == pytest.approx([0.45, 0.25])
    assert t.effective_usage[3:7] == pytest.approx([0.3875, 0.3, 0.25, 0.1458], abs=5e-5)
    assert t.effective_usage[7:] == pytest.approx([0.3875, 0.275, 0.15, 0.25, 0.1458], abs=5e-5)
    assert t.fair_share[7:] == pytest.approx([0.408479, 0.022097, 0.125000, 0.500000, 0.749154], abs=5e-7)


def test_classic_factor_by_the_documented_formula():
    tree = [
        Association("root"),
        Association("A", parent="root", shares=1),
        Association("B", parent="root", shares=1),
        Association("A", "a1", shares=1, usage=2.0),
        Association("A", "a2", shares=3, usage=1.0),
        Association("B", "b1", shares=1, usage=1.0),
    ]
    t = classic_fair_share(tree)
    # S: a1 = 1/2 * 1/4, a2 = 1/2 * 3/4, b1 = 1/2; U_A: A 3/4, B 1/4, a1 1/2, a2 1/4, b1 1/4.
    assert t.norm_shares[3:].tolist() == pytest.approx([0.125, 0.375, 0.5])
    ue_a1 = 0.5 + (0.75 - 0.5) * 0.25
    ue_a2 = 0.25 + (0.75 - 0.25) * 0.75
    assert t.effective_usage[3:].tolist() == pytest.approx([ue_a1, ue_a2, 0.25])
    assert t.fair_share[3:].tolist() == pytest.approx([2 ** (-ue_a1 / 0.125), 2 ** (-ue_a2 / 0.375), 2 ** (-0.25 / 0.5)])
    damp = classic_fair_share(tree, dampening=2.0)
    assert damp.fair_share[5] == pytest.approx(2 ** (-0.25 / 0.5 / 2.0))


def test_classic_half_when_usage_equals_shares():
    tree = [Association("root"), Association("root", "x", shares=1, usage=1.0), Association("root", "y", shares=1, usage=1.0),
            Association("root", "z", shares=2, usage=0.0)]
    t = classic_fair_share(tree)
    # x used 1/2 with a share of 1/4: 2^-2; z used nothing: 1.0.
    assert t.fair_share[1:].tolist() == pytest.approx([0.25, 0.25, 1.0])
    t2 = classic_fair_share([Association("root"), Association("root", "x", usage=1.0), Association("root", "y", usage=1.0)])
    assert t2.fair_share[1:].tolist() == pytest.approx([0.5, 0.5])


# --- decay ----------------------------------------------------------------------------------------------
def test_decay():
    hl = 7 * 86400.0
    assert decay_factor(hl, hl) == pytest.approx(0.5)
    slurm = decay_factor(hl, hl, "slurm")
    assert 0.5 < slurm < 0.5001  # 0.693 truncates ln 2
    assert decay_factor(123.0, 0.0) == 1.0
    assert decay_usage([8.0, 2.0], 2 * hl, hl).tolist() == pytest.approx([2.0, 0.5])
    assert accrue_usage([0.0], 60.0, [10.0], hl).tolist() == pytest.approx([600.0 * decay_factor(60.0, hl)])
    with pytest.raises(ConfigError, match="usage: must be >= 0"):
        decay_usage([-1.0], 1.0, hl)
    with pytest.raises(ConfigError, match="half_life_s"):
        decay_factor(1.0, float("nan"))


# --- multifactor ------------------------------------------------------------------------------------------
def test_multifactor_by_the_documented_formula():
    w = PriorityWeights(age=1000, fairshare=10000, jobsize=1000, partition=1000, qos=2000, tres=(500,))
    p = multifactor_priority(
        w, age_s=[3.5 * 86400, 0.0], fairshare=[0.25, 0.0], nodes=[2, 0], cpus=[16, 0], cluster_nodes=10,
        cluster_cpus=80, partition=[1.0, 0.0], qos=[0.5, 0.0], tres=[[0.5], [0.0]], nice=[100, 0],
    )
    # 500 (age) + 2500 (fs) + 200 (size) + 1000 (partition) + 1000 (qos) + 250 (tres) - 100 (nice)
    assert p.tolist() == [5350, 1]  # an all-zero job is still priority 1 (0 would mean held)
    small = PriorityWeights(jobsize=1000, favor_small=True)
    assert multifactor_priority(small, age_s=[0.0], fairshare=[0.0], nodes=[2], cpus=[16], cluster_nodes=10, cluster_cpus=80).tolist() == [800]
    with pytest.raises(ConfigError, match="fairshare: factors must be in"):
        multifactor_priority(w, age_s=[0.0], fairshare=[1.5], nodes=[1], cpus=[1], cluster_nodes=1, cluster_cpus=1, tres=[[0.0]])
    with pytest.raises(ConfigError, match=r"PriorityWeights.age"):
        PriorityWeights(age=-1)


def test_tres_billing():
    alloc = [[4, 2, 1]]  # cpu, mem GiB, gpu
    assert tres_billing(alloc, [1.0, 0.25, 10.0]).tolist() == [14.5]
    assert tres_billing(alloc, [1.0, 0.25, 10.0], mode="max").tolist() == [10.0]


def test_pending_queue_orders_and_ages():
    q = PendingQueue(PriorityWeights(age=10000, fairshare=5000), cluster_nodes=10, cluster_cpus=80)
    q.submit(PendingJob(1, "light", eligible_time=0.0))
    q.submit(PendingJob(2, "heavy", eligible_time=0.0))
    q.submit(PendingJob(3, "heavy", eligible_time=0.0, tier=1))
    fs = {"light": 1.0, "heavy": 0.0}
    assert q.order(0.0, fs).tolist() == [3, 1, 2]  # tier first, then priority
    q.remove(3)
    # A fresh light job (fair share 5000, age 0) is ahead of the heavy job (fair share 0) until the
    # heavy job has waited more than 3.5 days (age 10000 * 3.5 / 7 = 5000).
    q.remove(1)
    q.submit(PendingJob(4, "light", eligible_time=3.6 * 86400))
    assert q.order(3.6 * 86400, fs).tolist() == [2, 4]
    assert q.order(3.4 * 86400, fs).tolist() == [4, 2]  # job 4 not yet eligible counts age 0
    ids, prio = q.priorities(3.6 * 86400, fs)
    assert dict(zip(ids.tolist(), prio.tolist())) == {2: int(10000 * 3.6 / 7), 4: 5000}
    ids2, prio2 = q.priorities(30 * 86400, fs)
    assert dict(zip(ids2.tolist(), prio2.tolist())) == {2: 10000, 4: 15000}  # age capped at PriorityMaxAge
    assert q.pop(30 * 86400, fs).job_id == 4
    with pytest.raises(NotFoundError, match="owner 'nobody'"):
        q.submit(PendingJob(9, "nobody", 0.0))
        q.order(30 * 86400, fs)
    with pytest.raises(NotFoundError):
        q.remove(12345)


# --- bad input --------------------------------------------------------------------------------------------
def test_bad_trees_are_rejected():
    with pytest.raises(ConfigError, match="cycl"):
        AssociationTree.from_arrays([1, 0], [1, 1], [0.0, 0.0], [0, 0])
        fair_tree(AssociationTree.from_arrays([1, 0], [1, 1], [0.0, 0.0], [0, 0]))
    with pytest.raises(ConfigError, match=r"parent\[1\]: orphaned association, parent 5"):
        fair_tree(AssociationTree.from_arrays([-1, 5], [1, 1], [0.0, 0.0], [0, 1]))
    with pytest.raises(ConfigError, match=r"parent\[2\]: association is on a cycle"):
        fair_tree(AssociationTree.from_arrays([-1, 0, 3, 2], [1, 1, 1, 1], [0.0] * 4, [0, 1, 0, 0]))
    with pytest.raises(ConfigError, match=r"usage\[1\]: must be >= 0, got -1.0"):
        AssociationTree.from_arrays([-1, 0], [1, 1], [0.0, -1.0], [0, 1])
    with pytest.raises(ConfigError, match="a second root"):
        fair_tree(AssociationTree.from_arrays([-1, -1], [1, 1], [0.0, 0.0], [0, 0]))
    with pytest.raises(ConfigError, match="is a user; users must be leaves"):
        fair_tree(AssociationTree.from_arrays([-1, 0, 1], [1, 1, 1], [0.0] * 3, [0, 1, 1]))
    with pytest.raises(NotFoundError, match="unknown account 'nope'"):
        fair_tree([Association("root"), Association("nope", "u")])
    with pytest.raises(ConfigError, match="usage: must be finite"):
        AssociationTree.from_arrays([-1, 0], [1, 1], [0.0, float("nan")], [0, 1])
    with pytest.raises(ConfigError, match=r"shares\[1\]"):
        fair_tree(AssociationTree.from_arrays([-1, 0], [1, 2**40], [0.0, 0.0], [0, 1]))
    with pytest.raises(ConfigError, match="dampening"):
        classic_fair_share(sshare_tree(), dampening=0.5)
