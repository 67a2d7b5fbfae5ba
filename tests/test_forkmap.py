"""forkmap: the forked loop gives the serial loop's answers, in order, and reports its progress."""

from __future__ import annotations

import os

import pytest

from tinyguardrail import forkmap
from tinyguardrail.forkmap import fork_map

TABLE = [f"row {i}" * (i % 7) for i in range(2_500)]  # state built before the call, read by the workers


def answer(i: int) -> tuple[int, int, int]:
    return i, len(TABLE[i]), os.getpid()


@pytest.mark.parametrize("processes", [1, 2, 3])
def test_same_answers_in_order(processes):
    seen = []
    out = fork_map(answer, len(TABLE), processes=processes, chunk=300, progress=seen.append)
    assert [o[:2] for o in out] == [(i, len(t)) for i, t in enumerate(TABLE)]
    assert sum(seen) == len(TABLE)
    pids = {o[2] for o in out}
    if processes == 1:
        assert pids == {os.getpid()}
    else:  # really ran in other processes (how many of the workers got a chunk depends on the machine's load)
        assert os.getpid() not in pids


def test_small_jobs_run_here():
    out = fork_map(answer, 10, processes=4, chunk=300)
    assert {o[2] for o in out} == {os.getpid()} and [o[0] for o in out] == list(range(10))
    assert fork_map(answer, 0, processes=4) == []


def test_worker_count_from_environment(monkeypatch):
    monkeypatch.setenv("TINYGUARDRAIL_WORKERS", "1")
    assert forkmap.workers() == 1
    monkeypatch.setenv("TINYGUARDRAIL_WORKERS", "0")
    assert forkmap.workers() == 1
    monkeypatch.setenv("TINYGUARDRAIL_WORKERS", "two")
    with pytest.raises(ValueError, match="TINYGUARDRAIL_WORKERS"):
        forkmap.workers()
    monkeypatch.delenv("TINYGUARDRAIL_WORKERS")
    assert forkmap.workers() >= 1


def test_error_in_a_worker_reaches_the_caller():
    def boom(i: int) -> int:
        if i == 1_234:
            raise KeyError("row 1234")
        return i

    with pytest.raises(KeyError, match="1234"):
        fork_map(boom, 2_000, processes=2, chunk=250)
    assert forkmap._fn is None  # reset: the next call works
    assert fork_map(lambda i: i, 600, processes=2, chunk=250) == list(range(600))


def test_available_cpus_honours_a_container_cpu_quota(tmp_path, monkeypatch):
    """A container that sees the host's CPUs but may use two (cgroup v2 ``cpu.max``) gets two worker processes."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(64)), raising=False)
    cpu_max = tmp_path / "cpu.max"
    cpu_max.write_text("200000 100000\n")
    assert forkmap.available_cpus(cpu_max) == 2
    cpu_max.write_text("50000 100000\n")  # half a CPU: still one process
    assert forkmap.available_cpus(cpu_max) == 1
    cpu_max.write_text("max 100000\n")
    assert forkmap.available_cpus(cpu_max) == 64
    assert forkmap.available_cpus(tmp_path / "absent") == 64  # no cgroup v2: the affinity mask
    cpu_max.write_text("garbage")
    assert forkmap.available_cpus(cpu_max) == 64
