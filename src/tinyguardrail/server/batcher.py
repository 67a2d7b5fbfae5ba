"""Micro-batching: the texts of concurrent requests share one ``Guard.check_batch`` call.

One ONNX Runtime call over 32 short texts costs about as much as a few calls over one text each, so under load the
server gathers what is waiting into a batch instead of running one inference per request. The dispatcher (one
asyncio task) works like this:

1. wait for a free inference worker (``workers`` threads, each running one batch at a time), then for a request;
2. take every request already waiting, oldest first, while the batch stays within ``max_texts`` texts and
   ``max_chars`` characters (a request is never split; one larger than the limits runs alone);
3. if that used the last free worker, wait up to ``max_wait_s`` (2 ms by default) for more requests to join: they
   would have to wait for a worker anyway. With a worker still idle it dispatches at once, so a lone request
   never pays the wait;
4. run the batch on the worker thread and hand each request its own verdicts. When a batch fails, its requests
   are run one by one, so one bad request cannot fail the others.

Requests wait in a queue of at most ``max_queue`` requests; past it :class:`Overloaded` is raised at once (the
server answers 503 with ``Retry-After``) instead of letting latency grow without bound. A request whose deadline
passed or whose caller went away before its batch started is dropped from the batch.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol


class Overloaded(Exception):
    """The queue is full: the caller should retry later."""


class NotRunning(RuntimeError):
    """The batcher is not started, or stopped while the request waited."""


class BatchObserver(Protocol):
    """What the batcher reports (the server's Prometheus metrics implement it)."""

    def queued(self, requests: int, texts: int) -> None: ...

    def dispatched(self, requests: int, texts: int, waited_s: Sequence[float]) -> None: ...


@dataclass(eq=False)
class _Request:
    texts: Sequence[str]
    deadline: float  # time.monotonic()
    future: asyncio.Future
    enqueued: float = field(default_factory=time.monotonic)

    @property
    def chars(self) -> int:
        return sum(len(t) for t in self.texts)


class MicroBatcher:
    """Gathers concurrent requests into batches for ``check_batch`` (see the module docstring).

    Args:
        check_batch: ``texts -> results`` in order (``Guard.check_batch``); runs on a worker thread.
        workers: batches running at once (threads).
        max_wait_s: the longest a batch waits for more requests (0 disables waiting).
        max_texts: most texts in one batch, max_chars: most characters in one batch (a single request may exceed
            either: it then runs alone).
        max_queue: most requests waiting for a worker.
        observer: receives queue depth and batch sizes.
    """

    def __init__(self, check_batch: Callable[[list[str]], list[Any]], *, workers: int, max_wait_s: float = 0.002,
                 max_texts: int = 64, max_chars: int = 20_000, max_queue: int = 1024,
                 observer: BatchObserver | None = None) -> None:
        if workers < 1 or max_texts < 1 or max_chars < 1 or max_queue < 1 or max_wait_s < 0:
            raise ValueError("workers, max_texts, max_chars and max_queue must be >= 1 and max_wait_s >= 0")
        self._check_batch = check_batch
        self.workers = workers
        self.max_wait_s = max_wait_s
        self.max_texts = max_texts
        self.max_chars = max_chars
        self.max_queue = max_queue
        self._observer = observer
        self._pending: deque[_Request] = deque()
        self._arrived: asyncio.Event | None = None
        self._slots: asyncio.Semaphore | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._dispatcher: asyncio.Task | None = None
        self._running: set[asyncio.Task] = set()

    # ------------------------------------------------------------------------------------------- lifecycle

    @property
    def started(self) -> bool:
        return self._dispatcher is not None and not self._dispatcher.done()

    async def start(self) -> None:
        """Start the worker threads and the dispatcher (inside the running event loop)."""
        if self.started:
            return
        self._arrived = asyncio.Event()
        self._slots = asyncio.Semaphore(self.workers)
        self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="tinyguardrail-infer")
        self._dispatcher = asyncio.create_task(self._dispatch(), name="tinyguardrail-batcher")

    async def stop(self) -> None:
        """Stop dispatching, fail what is still queued, let running batches finish, stop the threads."""
        if self._dispatcher is not None:
            self._dispatcher.cancel()
            await asyncio.gather(self._dispatcher, return_exceptions=True)
            self._dispatcher = None
        while self._pending:
            request = self._pending.popleft()
            if not request.future.done():
                request.future.set_exception(NotRunning("the server is shutting down"))
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
        self._report_queue()

    # ------------------------------------------------------------------------------------------- requests

    async def submit(self, texts: Sequence[str], timeout: float) -> list[Any]:
        """The results for ``texts`` (in order), computed in some batch. ``TimeoutError`` after ``timeout`` seconds,
        :class:`Overloaded` when the queue is full, :class:`NotRunning` before start or after stop; errors of
        ``check_batch`` for these texts propagate."""
        if not self.started or self._arrived is None:
            raise NotRunning("the batcher is not running")
        if len(self._pending) >= self.max_queue:
            raise Overloaded(f"{len(self._pending)} requests are waiting (max_queue={self.max_queue})")
        future = asyncio.get_running_loop().create_future()
        request = _Request(texts, time.monotonic() + timeout, future)
        self._pending.append(request)
        self._report_queue()
        self._arrived.set()
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            if future.cancelled() and request in self._pending:  # timed out or abandoned while queued
                self._pending.remove(request)
                self._report_queue()

    # ------------------------------------------------------------------------------------------- dispatching

    async def _dispatch(self) -> None:
        assert self._slots is not None and self._arrived is not None
        loop = asyncio.get_running_loop()
        while True:
            await self._slots.acquire()
            try:
                batch = await self._gather(loop)
            except BaseException:
                self._slots.release()
                raise
            if not batch:
                self._slots.release()
                continue
            task = asyncio.create_task(self._execute(batch))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _gather(self, loop: asyncio.AbstractEventLoop) -> list[_Request]:
        """The next batch: what is waiting now, plus what arrives within ``max_wait_s`` if no worker is idle."""
        assert self._slots is not None and self._arrived is not None
        while not self._pending:
            self._arrived.clear()
            await self._arrived.wait()
        batch: list[_Request] = []
        totals = [0, 0]  # texts, characters
        self._take(batch, totals)
        if self.max_wait_s > 0 and self._slots.locked():
            until = loop.time() + self.max_wait_s
            while self._fits_more(totals) and (left := until - loop.time()) > 0:
                if not self._pending:
                    self._arrived.clear()
                    try:
                        await asyncio.wait_for(self._arrived.wait(), left)
                    except TimeoutError:
                        break
                if not self._take(batch, totals):
                    break
        self._report_queue()
        return batch

    def _fits_more(self, totals: list[int]) -> bool:
        return totals[0] < self.max_texts and totals[1] < self.max_chars

    def _take(self, batch: list[_Request], totals: list[int]) -> bool:
        """Move waiting requests into ``batch`` while they fit; False when the next one does not fit."""
        now = time.monotonic()
        while self._pending:
            request = self._pending[0]
            if request.future.done() or request.deadline <= now:  # caller gone or too late: drop it
                self._pending.popleft()
                if not request.future.done():
                    request.future.set_exception(TimeoutError())
                continue
            texts, chars = len(request.texts), request.chars
            if batch and (totals[0] + texts > self.max_texts or totals[1] + chars > self.max_chars):
                return False
            self._pending.popleft()
            batch.append(request)
            totals[0] += texts
            totals[1] += chars
        return True

    async def _execute(self, batch: list[_Request]) -> None:
        assert self._slots is not None
        try:
            if self._observer is not None:
                now = time.monotonic()
                self._observer.dispatched(len(batch), sum(len(r.texts) for r in batch),
                                          [now - r.enqueued for r in batch])
            loop = asyncio.get_running_loop()
            outcomes = await loop.run_in_executor(self._executor, self._run, [r.texts for r in batch])
            for request, outcome in zip(batch, outcomes, strict=True):
                if request.future.done():  # timed out or cancelled meanwhile
                    continue
                if isinstance(outcome, BaseException):
                    request.future.set_exception(outcome)
                else:
                    request.future.set_result(outcome)
        except BaseException as exc:  # the executor went away (shutdown): fail the batch, never leave it hanging
            for request in batch:
                if not request.future.done():
                    request.future.set_exception(exc if isinstance(exc, Exception) else NotRunning("cancelled"))
            if not isinstance(exc, Exception):
                raise
        finally:
            self._slots.release()

    def _run(self, groups: list[Sequence[str]]) -> list[list[Any] | BaseException]:
        """On a worker thread: one ``check_batch`` over every group's texts, split back per group; if it fails,
        each group alone, so the error lands on the group that caused it."""
        texts = [text for group in groups for text in group]
        try:
            results = self._check_batch(texts)
        except Exception as exc:
            if len(groups) == 1:
                return [exc]
            return [self._run_alone(group) for group in groups]
        outcomes: list[list[Any] | BaseException] = []
        start = 0
        for group in groups:
            outcomes.append(list(results[start:start + len(group)]))
            start += len(group)
        return outcomes

    def _run_alone(self, group: Sequence[str]) -> list[Any] | BaseException:
        try:
            return list(self._check_batch(list(group)))
        except Exception as exc:
            return exc

    def _report_queue(self) -> None:
        if self._observer is not None:
            self._observer.queued(len(self._pending), sum(len(r.texts) for r in self._pending))
