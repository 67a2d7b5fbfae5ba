"""The micro-batcher on its own, with a stand-in ``check_batch`` (no model, no timing assertions)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from tinyguardrail.server.batcher import MicroBatcher, NotRunning, Overloaded


class Recorder:
    """``check_batch`` stand-in: records each call; ``gate`` (when set) holds calls until released; a text
    starting with "bad" fails the call."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.calls: list[list[str]] = []
        self.gate = gate
        self.entered = threading.Event()

    def __call__(self, texts: list[str]) -> list[str]:
        self.calls.append(list(texts))
        self.entered.set()
        if self.gate is not None:
            self.gate.wait(30)
        if any(t.startswith("bad") for t in texts):
            raise ValueError("bad text")
        return [t.upper() for t in texts]


class Observer:
    def __init__(self) -> None:
        self.depths: list[int] = []
        self.batches: list[tuple[int, int]] = []

    def queued(self, requests: int, texts: int) -> None:
        self.depths.append(requests)

    def dispatched(self, requests: int, texts: int, waited_s) -> None:
        self.batches.append((requests, texts))
        assert len(waited_s) == requests and all(w >= 0 for w in waited_s)


async def _entered(recorder: Recorder) -> None:
    assert await asyncio.to_thread(recorder.entered.wait, 30)
    recorder.entered.clear()


async def _queue_until(batcher: MicroBatcher, n: int) -> None:
    while len(batcher._pending) < n:  # the submissions are tasks: let them reach the queue
        await asyncio.sleep(0)


def test_waiting_requests_share_one_call_and_get_their_own_results():
    async def main():
        gate = threading.Event()
        recorder, observer = Recorder(gate), Observer()
        batcher = MicroBatcher(recorder, workers=1, max_wait_s=0, observer=observer)
        await batcher.start()
        first = asyncio.create_task(batcher.submit(["a"], timeout=30))
        await _entered(recorder)  # the only worker is busy with ["a"]
        rest = [asyncio.create_task(batcher.submit(texts, timeout=30)) for texts in (["b"], ["c", "d"], ["e"])]
        await _queue_until(batcher, 3)
        gate.set()
        results = await asyncio.gather(first, *rest)
        await batcher.stop()
        return recorder.calls, results, observer

    calls, results, observer = asyncio.run(main())
    assert calls == [["a"], ["b", "c", "d", "e"]]  # everything that waited went in one call
    assert results == [["A"], ["B"], ["C", "D"], ["E"]]
    assert observer.batches == [(1, 1), (3, 4)] and max(observer.depths) == 3 and observer.depths[-1] == 0


def test_batches_respect_max_texts_and_max_chars():
    async def main(**limits):
        gate = threading.Event()
        recorder = Recorder(gate)
        batcher = MicroBatcher(recorder, workers=1, max_wait_s=0, **limits)
        await batcher.start()
        first = asyncio.create_task(batcher.submit(["0"], timeout=30))
        await _entered(recorder)
        rest = [asyncio.create_task(batcher.submit(texts, timeout=30))
                for texts in (["a"], ["b", "c"], ["dddd"], ["e"], ["f" * 10])]
        await _queue_until(batcher, 5)
        gate.set()
        await asyncio.gather(first, *rest)
        await batcher.stop()
        return recorder.calls[1:]

    assert asyncio.run(main(max_texts=3)) == [["a", "b", "c"], ["dddd", "e", "f" * 10]]
    # a request over the character limit runs alone; requests are never split
    assert asyncio.run(main(max_chars=5)) == [["a", "b", "c"], ["dddd", "e"], ["f" * 10]]


def test_one_bad_request_does_not_fail_its_batch():
    async def main():
        gate = threading.Event()
        recorder = Recorder(gate)
        batcher = MicroBatcher(recorder, workers=1, max_wait_s=0)
        await batcher.start()
        first = asyncio.create_task(batcher.submit(["a"], timeout=30))
        await _entered(recorder)
        good = asyncio.create_task(batcher.submit(["b"], timeout=30))
        bad = asyncio.create_task(batcher.submit(["bad one"], timeout=30))
        await _queue_until(batcher, 2)
        gate.set()
        results = await asyncio.gather(first, good, bad, return_exceptions=True)
        await batcher.stop()
        return results

    first, good, bad = asyncio.run(main())
    assert first == ["A"] and good == ["B"] and isinstance(bad, ValueError)


def test_a_lone_request_does_not_wait_when_a_worker_is_idle():
    async def main():
        # max_wait_s is huge: if the lone request waited for company, wait_for would time out
        batcher = MicroBatcher(Recorder(), workers=2, max_wait_s=3600)
        await batcher.start()
        result = await asyncio.wait_for(batcher.submit(["x"], timeout=30), 30)
        await batcher.stop()
        return result

    assert asyncio.run(main()) == ["X"]


def test_a_full_batch_does_not_wait():
    async def main():
        recorder = Recorder()
        batcher = MicroBatcher(recorder, workers=1, max_wait_s=3600, max_texts=3)
        await batcher.start()
        results = await asyncio.wait_for(asyncio.gather(*(batcher.submit([t], timeout=30) for t in "abc")), 30)
        await batcher.stop()
        return recorder.calls, results

    calls, results = asyncio.run(main())
    assert calls == [["a", "b", "c"]] and results == [["A"], ["B"], ["C"]]


def test_overload_and_timeout():
    async def main():
        gate = threading.Event()
        recorder = Recorder(gate)
        batcher = MicroBatcher(recorder, workers=1, max_wait_s=0, max_queue=1)
        await batcher.start()
        busy = asyncio.create_task(batcher.submit(["a"], timeout=30))
        await _entered(recorder)
        queued = asyncio.create_task(batcher.submit(["b"], timeout=0.05))  # will time out in the queue
        await _queue_until(batcher, 1)
        with pytest.raises(Overloaded):
            await batcher.submit(["c"], timeout=30)
        with pytest.raises(TimeoutError):
            await queued
        gate.set()
        assert await busy == ["A"]
        assert await batcher.submit(["d"], timeout=30) == ["D"]  # the timed-out request was dropped, not run
        await batcher.stop()
        return recorder.calls

    assert asyncio.run(main()) == [["a"], ["d"]]


def test_stop_fails_what_is_queued_and_submit_needs_start():
    async def main():
        gate = threading.Event()
        recorder = Recorder(gate)
        batcher = MicroBatcher(recorder, workers=1, max_wait_s=0)
        with pytest.raises(NotRunning):
            await batcher.submit(["x"], timeout=1)
        await batcher.start()
        busy = asyncio.create_task(batcher.submit(["a"], timeout=30))
        await _entered(recorder)
        queued = asyncio.create_task(batcher.submit(["b"], timeout=30))
        await _queue_until(batcher, 1)
        gate.set()
        await batcher.stop()
        return await asyncio.gather(busy, queued, return_exceptions=True)

    busy, queued = asyncio.run(main())
    assert busy == ["A"]  # running batches finish
    assert isinstance(queued, NotRunning) and "shutting down" in str(queued)


@pytest.mark.parametrize("bad", [{"workers": 0}, {"max_texts": 0}, {"max_queue": 0}, {"max_wait_s": -1}])
def test_invalid_limits(bad):
    with pytest.raises(ValueError):
        MicroBatcher(Recorder(), **{"workers": 1, **bad})
