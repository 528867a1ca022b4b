"""Local executor: request checks on the wire and the SQLite job state machine."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aios_core.errors import ConfigError, NotFoundError
from aios_core.local.protocol import Submit, parse_request, parse_size
from aios_core.local.store import TRANSITIONS, JobState, JobStore

GIB = 1 << 30


def test_parse_size_units():
    assert parse_size("20G") == 20 * GIB
    assert parse_size("512M") == 512 << 20
    assert parse_size("3GiB") == 3 * GIB
    assert parse_size(4096) == 4096
    for bad in ("-1G", "20X", "", "1.5G", 0):
        with pytest.raises(ConfigError, match="gpu_memory"):
            parse_size(bad)


GOOD = {"op": "submit", "argv": ["python", "-c", "pass"], "gpus": 2, "cwd": "/"}


@pytest.mark.parametrize("change, field", [
    ({"argv": []}, "argv"), ({"argv": "python x.py"}, "argv"), ({"argv": ["a\0b"]}, "argv"),
    ({"gpus": -1}, "gpus"), ({"gpus": 0}, "gpus"), ({"gpus": "2"}, "gpus"), ({"gpus": True}, "gpus"),
    ({"gpu_memory": "lots"}, "gpu_memory"), ({"gpu_memory": -5}, "gpu_memory"), ({"priority": 101}, "priority"),
    ({"priority": -1}, "priority"), ({"cwd": "relative"}, "cwd"), ({"user": "a b"}, "user"),
    ({"env": {"A=B": "x"}}, "env"), ({"env": {"A": 1}}, "env"), ({"op": "explode"}, "op"),
])
def test_malformed_requests_name_the_field(change, field):
    with pytest.raises(ConfigError, match=f"^{field}:"):
        parse_request({**GOOD, **change})


def test_request_must_be_an_object_and_job_ids_positive():
    with pytest.raises(ConfigError, match="request"):
        parse_request(["submit"])
    with pytest.raises(ConfigError, match="job_id"):
        parse_request({"op": "cancel", "job_id": 0})
    with pytest.raises(ConfigError, match="job_id"):
        parse_request({"op": "get"})
    req = parse_request({**GOOD, "gpu_memory": "20G"})
    assert isinstance(req, Submit) and req.gpu_memory == 20 * GIB and req.argv == ("python", "-c", "pass")


# ------------------------------------------------------------------ store
@pytest.fixture(scope="module")
def shared_store(tmp_path_factory) -> JobStore:
    return JobStore(tmp_path_factory.mktemp("db") / "jobs.db", durable=False)


@given(moves=st.lists(st.tuples(st.integers(0, 2), st.sampled_from(list(JobState))), max_size=25))
def test_store_allows_exactly_the_listed_transitions(shared_store, moves):
    store = shared_store  # fresh jobs for each example
    ids = [store.add(uid=0, user="u", argv=["true"], cwd="/", env={}, gpus=1, gpu_memory=None, priority=0).id
           for _ in range(3)]
    model = {i: JobState.QUEUED for i in ids}
    for k, to in moves:
        jid = ids[k]
        before = store.get(jid)
        if to in TRANSITIONS[model[jid]]:
            after = store.transition(jid, to, reason=f"to {to.value}")
            model[jid] = to
            assert after.state is to and after.reason == f"to {to.value}"
        else:
            with pytest.raises(ConfigError, match="state"):
                store.transition(jid, to, reason="never")
            assert store.get(jid) == before  # a refused move changes nothing
    assert {j.id: j.state for j in store.jobs() if j.id in model} == model


def test_store_is_wal_and_usage_decays(tmp_path):
    store = JobStore(tmp_path / "jobs.db", half_life_s=100.0)
    j = store.add(uid=0, user="ann", argv=["true"], cwd="/", env={}, gpus=1, gpu_memory=None, priority=0, now=0)
    store.transition(j.id, JobState.STARTING)
    store.transition(j.id, JobState.RUNNING)
    store.transition(j.id, JobState.SUCCEEDED, charge_gpu_seconds=80.0, now=1000.0)
    assert store.usage(now=1100.0)["ann"] == pytest.approx(40.0)
    assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with pytest.raises(NotFoundError, match="job_id: unknown job 99"):
        store.get(99)
    store.close()
