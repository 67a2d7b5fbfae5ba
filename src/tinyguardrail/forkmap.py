"""Run a read-only function over ``range(n)`` in forked worker processes, results in order.

The data build's leak removal and ``eval leakcheck`` spend most of their time asking one large, read-only index
about each of ~100k texts. Forked workers see the parent's index without pickling it (copy-on-write), so the
loop scales with the cores: CI's 2-core machine runs it in about half the time. The answer of each call must
depend only on its index and on state built before the call, never on earlier calls; then the output is the
serial loop's, whatever the number of workers.

``TINYGUARDRAIL_WORKERS`` sets the number of workers (1 = the serial loop); the default is the number of CPUs this
process may use. Where ``fork`` does not exist (Windows) the loop is serial.
"""

from __future__ import annotations

import math
import multiprocessing
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

_fn: Callable[[int], Any] | None = None  # the function the forked workers call (inherited, never pickled)


def available_cpus(cpu_max: Path = Path("/sys/fs/cgroup/cpu.max")) -> int:
    """CPUs this process may use: its affinity mask, capped by a cgroup v2 CPU quota (containers, where
    ``os.cpu_count()`` reports the host's CPUs), at least 1."""
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        count = os.cpu_count() or 1
    try:
        quota, period = cpu_max.read_text().split()[:2]
        if quota != "max":
            count = min(count, max(1, math.floor(int(quota) / int(period))))
    except (OSError, ValueError, ZeroDivisionError):
        pass
    return max(1, count)


def workers() -> int:
    """Number of worker processes: ``TINYGUARDRAIL_WORKERS`` if set, else ``available_cpus()``."""
    env = os.environ.get("TINYGUARDRAIL_WORKERS", "").strip()
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            raise ValueError(f"TINYGUARDRAIL_WORKERS must be a whole number, not {env!r}") from None
    return available_cpus()


def _run(bounds: tuple[int, int]) -> list:
    assert _fn is not None
    return [_fn(i) for i in range(*bounds)]


def fork_map(fn: Callable[[int], Any], n: int, processes: int | None = None, chunk: int = 1000,
             progress: Callable[[int], Any] | None = None) -> list:
    """``[fn(i) for i in range(n)]``, computed by ``processes`` forked workers in chunks of ``chunk`` indices.

    ``progress(k)`` is called in the parent after each finished chunk of ``k`` items. Small jobs (under two chunks),
    one worker, or a platform without ``fork`` run the plain loop in this process.
    """
    global _fn
    processes = workers() if processes is None else max(1, processes)
    if processes == 1 or n < 2 * chunk or "fork" not in multiprocessing.get_all_start_methods():
        out = []
        for i in range(n):
            out.append(fn(i))
            if progress is not None and (i + 1) % chunk == 0:
                progress(chunk)
        if progress is not None and n % chunk:
            progress(n % chunk)
        return out
    if _fn is not None:
        raise RuntimeError("fork_map is not re-entrant")
    _fn = fn
    try:
        out = []
        bounds = [(lo, min(lo + chunk, n)) for lo in range(0, n, chunk)]
        with multiprocessing.get_context("fork").Pool(min(processes, len(bounds))) as pool:
            for part in pool.imap(_run, bounds):
                out += part
                if progress is not None:
                    progress(len(part))
        return out
    finally:
        _fn = None
