"""``tinyguardrail scan``: classify every text of a corpus (JSONL, CSV, Parquet, or a folder of them) in bulk.

Why: ``check --jsonl`` answers a stream in one process; auditing a data set or a log dump wants every core (or a
Ray cluster), a file that can be read back in one go (JSONL or Parquet), and a run that survives being stopped.

Input: ``PATH`` is a ``.jsonl`` / ``.ndjson``, ``.csv`` (each optionally ``.gz``) or ``.parquet`` file, or a folder
searched recursively for them (sorted by relative path; OUT itself is left out). ``--text-field`` names the text
(default ``text``), ``--id-field`` the id (default ``id``); a row without one gets ``<file>:<row>``, where ``<file>``
is the path relative to the folder (the file's name when PATH is a file) and ``<row>`` counts from 1 (JSONL: the
line number; CSV: the record after the header; Parquet: the row). Ids are written as strings.

Output: ``OUT`` ending in ``.jsonl`` or ``.parquet``, one row per input row, in input order::

    {"id", "label", "is_safe", "score" (P(attack) = 1 - scores["benign"]), "scores" (per class), "code", "action"}

A row whose text is missing, not a string, empty, longer than ``--max-chars``, or a JSONL line that is not a JSON
object, gets ``{"id", "error"}`` instead (in Parquet the verdict columns are null); the run goes on.

Resume: when OUT exists, the rows whose id is already in it are skipped and the new ones added. JSONL is appended
and flushed after every batch, so a stopped run (Ctrl-C, a crash, a killed machine) resumes where it stopped; a
last line cut in half is dropped first. Parquet cannot be appended to: the run writes ``OUT.tmp`` (the old rows,
then the new ones) and renames it onto OUT at the end, so OUT is always a complete file, and a second run on a
grown corpus scans only the new rows, but a run stopped half way keeps none of its rows: use JSONL for long scans
(and convert afterwards) when that matters. ``--overwrite`` starts afresh. Ids should be unique for resume to be
exact (a repeated id is skipped once the first copy is done).

Engines (both give the same rows: the same reader, batches and verdict code run in both):

- ``local`` (default): ``--workers`` processes on this machine (default: the CPUs it may use), each loading the
  guard once with one ONNX Runtime thread (several single-threaded workers beat one multi-threaded one on small
  inputs; see ``tinyguardrail bench``); batches of ``--batch-size`` texts come back in order. One worker runs
  in-process.
- ``ray``: the same on Ray Data (``pip install 'tinyguardrail[scan]'``): read tasks over row ranges of the files
  (:func:`read_chunks`; this module's reader, not ``ray.data.read_json`` and friends, whose Arrow readers infer
  column types per block, stop at a malformed line and know no row numbers, so neither the ``<file>:<row>`` ids
  nor the error rows would match the local engine), then ``map_batches`` on a pool of ``--workers`` actors, each
  loading the guard once with one ONNX Runtime thread. Runs on the cluster of ``--ray-address`` / ``RAY_ADDRESS``
  (or the Ray already initialized in this process), else on a local Ray started for the run (and stopped after).
  Every node needs tinyguardrail (and ``--model DIR``, if given, at the same absolute path).

At the end: rows, seconds and rows/s on standard error (and ``--json-summary PATH``). Exit status 0 when the scan
completed (whatever it found: the findings are in OUT), 2 on usage errors.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import sys
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from tinyguardrail.forkmap import available_cpus

INPUT_SUFFIXES = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz", ".csv", ".csv.gz", ".parquet")
OUTPUT_SUFFIXES = (".jsonl", ".parquet")
ENGINES = ("local", "ray")
DEFAULT_BATCH_SIZE = 64
PARQUET_ROW_GROUP = 8192
"""Output rows per Parquet row group."""
INSTALL_HINT = "pip install 'tinyguardrail[scan]'"


# --------------------------------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class Row:
    """One input row: its id, and either its text or why it cannot be scanned (``error``, then ``text`` is "").

    Plain strings only, so a batch of rows pickles cheaply (local workers) and becomes an Arrow block (Ray).
    """

    id: str
    text: str = ""
    error: str = ""


def _id_str(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        return str(value)


def _make_row(record: Any, fallback_id: str, text_field: str, id_field: str) -> Row:
    """The :class:`Row` of one parsed record (a dict; anything else is an error row)."""
    if not isinstance(record, dict):
        return Row(fallback_id, error=f'expected an object with "{text_field}", got {type(record).__name__}')
    ident = _id_str(record.get(id_field))
    ident = fallback_id if ident is None else ident
    text = record.get(text_field)
    if text is None:
        return Row(ident, error=f'no "{text_field}"')
    if not isinstance(text, str):
        return Row(ident, error=f'"{text_field}" must be a string, got {type(text).__name__}')
    if not text:
        return Row(ident, error=f'"{text_field}" is empty')
    return Row(ident, text)


def _open_text(path: Path, newline: str | None = None) -> IO[str]:
    """Open a (possibly gzipped) UTF-8 file; undecodable bytes become U+FFFD rather than stopping the scan."""
    if path.name.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8", errors="replace", newline=newline)
    return path.open(encoding="utf-8", errors="replace", newline=newline)


def _kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith((".csv", ".csv.gz")):
        return "csv"
    return "jsonl"


def _require_pyarrow() -> Any:
    try:
        import pyarrow  # noqa: F401
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise ImportError(f"Parquet needs pyarrow: pip install pyarrow (or {INSTALL_HINT}) ({exc})") from exc
    return pq


def read_rows(path: Path, rel: str, text_field: str = "text", id_field: str = "id", start: int = 0,
              stop: int | None = None) -> Iterator[Row]:
    """The rows of one input file, in order. ``rel`` is the file's name in fallback ids (``<rel>:<row>``).

    ``start`` / ``stop``: only rows ``start <= i < stop`` (counted from 0, as :func:`count_file` counts them), for the
    Ray engine's read tasks; the rows before ``start`` are stepped over without being decoded.
    """
    kind = _kind(path)
    stop = sys.maxsize if stop is None else stop
    index = -1
    if kind == "jsonl":
        with _open_text(path) as stream:
            for line_no, line in enumerate(stream, start=1):
                if not line.strip():
                    continue  # blank lines are not rows (they still count in the line numbers)
                index += 1
                if index < start:
                    continue
                if index >= stop:
                    break
                fallback = f"{rel}:{line_no}"
                try:
                    record = json.loads(line)
                except (ValueError, RecursionError) as exc:  # JSONDecodeError, huge integers, deep nesting
                    yield Row(fallback, error=f"invalid JSON: {exc}")
                    continue
                yield _make_row(record, fallback, text_field, id_field)
    elif kind == "csv":
        csv.field_size_limit(max(csv.field_size_limit(), 1 << 30))  # texts past the default 128 KiB field limit
        with _open_text(path, newline="") as stream:
            for index, record in enumerate(csv.DictReader(stream)):
                if index >= stop:
                    break
                if index >= start:
                    yield _make_row(record, f"{rel}:{index + 1}", text_field, id_field)
    else:
        pq = _require_pyarrow()
        parquet = pq.ParquetFile(path)
        names = set(parquet.schema_arrow.names)
        columns = [c for c in (text_field, id_field) if c in names]
        offset = 0
        for batch in parquet.iter_batches(batch_size=4096, columns=columns or None):
            first, offset = offset, offset + batch.num_rows
            if offset <= start:
                continue
            if first >= stop:
                break
            texts = batch.column(text_field).to_pylist() if text_field in names else [None] * batch.num_rows
            ids = batch.column(id_field).to_pylist() if id_field in names else [None] * batch.num_rows
            for index, (text, ident) in enumerate(zip(texts, ids, strict=True), start=first):
                if start <= index < stop:
                    yield _make_row({text_field: text, id_field: ident}, f"{rel}:{index + 1}", text_field, id_field)


def input_files(path: Path, exclude: Iterable[Path] = ()) -> list[tuple[Path, str]]:
    """``(file, relative name)`` of the inputs under ``path`` (a file, or a folder searched recursively, sorted by
    relative path), leaving out ``exclude`` (the output and its temporary file) and hidden files."""
    if path.is_file():
        if not path.name.lower().endswith(INPUT_SUFFIXES):
            raise ValueError(f"{path}: not a {'/'.join(INPUT_SUFFIXES)} file")
        return [(path, path.name)]
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no such file or folder")
    skip = {p.resolve() for p in exclude}
    found = []
    for p in path.rglob("*"):
        rel = p.relative_to(path)
        if (p.is_file() and p.name.lower().endswith(INPUT_SUFFIXES) and p.resolve() not in skip
                and not any(part.startswith(".") for part in rel.parts)):
            found.append((p, rel.as_posix()))
    if not found:
        raise ValueError(f"{path}: no {'/'.join(INPUT_SUFFIXES)} files in it")
    return sorted(found, key=lambda f: f[1])


def count_file(path: Path) -> int:
    """Rows in one input file, as :func:`read_rows` yields them (Parquet from its metadata)."""
    kind = _kind(path)
    if kind == "parquet":
        return _require_pyarrow().ParquetFile(path).metadata.num_rows
    if kind == "csv":
        csv.field_size_limit(max(csv.field_size_limit(), 1 << 30))
        with _open_text(path, newline="") as stream:
            return sum(1 for _ in csv.DictReader(stream))
    with _open_text(path) as stream:
        return sum(1 for line in stream if line.strip())


def count_rows(files: list[tuple[Path, str]]) -> int:
    """Rows in the inputs (for the progress bar)."""
    return sum(count_file(path) for path, _ in files)


# --------------------------------------------------------------------------------------------------- verdicts


@dataclass(frozen=True)
class GuardSpec:
    """How a worker loads its guard: picklable, so each worker process (or Ray actor) loads its own copy."""

    model: str | None = None
    max_text_chars: int | None = None
    threads: int = 1

    def load(self) -> Any:
        from tinyguardrail.runtime.guard import DEFAULT_MAX_TEXT_CHARS, Guard

        return Guard.load(self.model, threads=self.threads, max_text_chars=self.max_text_chars or DEFAULT_MAX_TEXT_CHARS)


def verdict_record(ident: str, verdict: Any) -> dict[str, Any]:
    """The output row of a scanned text."""
    from tinyguardrail.labels import LABELS

    return {
        "id": ident,
        "label": verdict.label,
        "is_safe": bool(verdict.is_safe),
        "score": round(1.0 - float(verdict.scores[LABELS[0]]), 6),
        "scores": {name: float(verdict.scores[name]) for name in LABELS},
        "code": int(verdict.code),
        "action": verdict.action,
    }


def scan_batch(guard: Any, rows: list[Row]) -> list[dict[str, Any]]:
    """Output rows for ``rows``, in order: the texts in one ``check_batch`` call, error rows passed through."""
    out: list[dict[str, Any]] = []
    todo: list[tuple[int, str]] = []
    for row in rows:
        if row.error:
            out.append({"id": row.id, "error": row.error})
        elif len(row.text) > guard.max_text_chars:
            out.append({"id": row.id, "error": f"text has {len(row.text)} characters, more than the limit of "
                                                f"{guard.max_text_chars} (--max-chars)"})
        else:
            todo.append((len(out), row.text))
            out.append({})
    if todo:
        for (i, _), verdict in zip(todo, guard.check_batch([t for _, t in todo]), strict=True):
            out[i] = verdict_record(rows[i].id, verdict)
    return out


# --------------------------------------------------------------------------------------------------- output


def _repair_jsonl(path: Path) -> set[str]:
    """Ids in an existing JSONL output; a last line cut short by a stopped run is cut off (it is scanned again)."""
    done: set[str] = set()
    with path.open("rb") as stream:
        data = stream.read()
    end = data.rfind(b"\n") + 1
    if end < len(data):
        print(f"tinyguardrail scan: {path}: dropping an incomplete last line ({len(data) - end} bytes)", file=sys.stderr)
        with path.open("r+b") as stream:
            stream.truncate(end)
    for line_no, line in enumerate(data[:end].splitlines(), start=1):
        if not line.strip():
            continue
        try:
            ident = json.loads(line).get("id")
        except (ValueError, AttributeError) as exc:
            raise ValueError(f"{path}:{line_no}: not a scan output line ({exc}); use another --out or --overwrite") from exc
        if isinstance(ident, str):
            done.add(ident)
    return done


def _parquet_schema() -> Any:
    import pyarrow as pa

    from tinyguardrail.labels import LABELS

    return pa.schema([
        ("id", pa.string()),
        ("label", pa.string()),
        ("is_safe", pa.bool_()),
        ("score", pa.float64()),
        ("scores", pa.struct([(name, pa.float64()) for name in LABELS])),
        ("code", pa.int32()),
        ("action", pa.string()),
        ("error", pa.string()),
    ])


class _Writer:
    """Writes output rows to OUT (see the module docstring for resume); ``done`` holds the ids already there."""

    def __init__(self, out: Path, overwrite: bool = False) -> None:
        self.out = out
        self.kind = "parquet" if out.name.lower().endswith(".parquet") else "jsonl"
        self.done: set[str] = set()
        self.tmp = out.with_name(out.name + ".tmp")
        self._stream: IO[str] | None = None
        self._pq_writer: Any = None
        self._buffer: list[dict[str, Any]] = []
        out.parent.mkdir(parents=True, exist_ok=True)
        if overwrite and out.exists():
            out.unlink()
        if self.kind == "jsonl":
            if out.exists():
                self.done = _repair_jsonl(out)
            self._stream = out.open("a", encoding="utf-8")
            return
        pq = _require_pyarrow()
        schema = _parquet_schema()
        old = None
        if out.exists():
            old = pq.read_table(out)
            missing = [n for n in schema.names if n not in old.schema.names and n != "error"]
            if missing:
                raise ValueError(f"{out}: not a scan output (no {missing}); use another --out or --overwrite")
            self.done = {i for i in old.column("id").to_pylist() if isinstance(i, str)}
        self._pq_writer = pq.ParquetWriter(self.tmp, schema)
        if old is not None and old.num_rows:
            import pyarrow as pa

            if "error" not in old.schema.names:
                old = old.append_column("error", pa.nulls(old.num_rows, pa.string()))
            self._pq_writer.write_table(old.select(schema.names).cast(schema), row_group_size=PARQUET_ROW_GROUP)

    def write(self, records: list[dict[str, Any]]) -> None:
        if self._stream is not None:
            self._stream.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
            self._stream.flush()  # a stopped run keeps every batch written so far
            return
        self._buffer.extend(records)
        if len(self._buffer) >= PARQUET_ROW_GROUP:
            self._flush()

    def _flush(self) -> None:
        if not self._buffer:
            return
        import pyarrow as pa

        schema = _parquet_schema()
        columns = {name: [r.get(name) for r in self._buffer] for name in schema.names}
        self._pq_writer.write_table(pa.Table.from_pydict(columns, schema=schema), row_group_size=PARQUET_ROW_GROUP)
        self._buffer = []

    def close(self, ok: bool) -> None:
        """Finish OUT; on failure keep what JSONL has and drop the temporary Parquet file (OUT stays as it was)."""
        if self._stream is not None:
            self._stream.close()
            return
        try:
            if ok:
                self._flush()
            self._pq_writer.close()
            if ok:
                os.replace(self.tmp, self.out)
        finally:
            if self.tmp.exists():
                self.tmp.unlink()


# --------------------------------------------------------------------------------------------------- engines


def batched(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    """``rows`` in lists of ``size`` (the last one shorter)."""
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


_worker_guard: Any = None


def _init_worker(spec: GuardSpec) -> None:
    global _worker_guard
    _worker_guard = spec.load()


def _work(rows: list[Row]) -> list[dict[str, Any]]:
    return scan_batch(_worker_guard, rows)


def run_local(spec: GuardSpec, batches: Iterable[list[Row]], workers: int) -> Iterator[list[dict[str, Any]]]:
    """Output rows per batch, in order: in this process for one worker, else a pool of ``workers`` processes
    (spawned, so no worker inherits ONNX Runtime threads) with at most two batches in flight per worker."""
    if workers <= 1:
        guard = spec.load()
        for batch in batches:
            yield scan_batch(guard, batch)
        return
    import multiprocessing
    from concurrent.futures import Future, ProcessPoolExecutor

    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init_worker, initargs=(spec,))
    pending: deque[Future] = deque()
    try:
        for batch in batches:
            pending.append(pool.submit(_work, batch))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _require_ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as exc:
        raise ImportError(f"--engine ray needs Ray Data: {INSTALL_HINT} ({exc})") from exc
    return ray


def read_chunks(files: list[tuple[Path, str]], batch_size: int, workers: int) -> list[dict[str, Any]]:
    """The Ray engine's read tasks: about ``4 * workers`` row ranges per file, each a whole number of batches.

    Each read task's rows end up in one block, which one actor scans, so one task per file would leave all but one
    actor idle on a single-file corpus. Ray's ``repartition`` would split the blocks, but it runs as tasks that ask
    for a CPU, which never comes while the actors hold every CPU (one actor per CPU, the usual set-up).
    """
    items = []
    for path, rel in files:
        n = count_file(path)
        per_task = max(batch_size, -(-n // (4 * workers) // batch_size) * batch_size) if n else 1
        for start in range(0, max(n, 1), per_task):
            items.append({"path": str(path.resolve()), "rel": rel, "start": start, "stop": start + per_task})
    return items


def _ray_read(item: dict[str, Any], text_field: str, id_field: str, done: frozenset[str]) -> Iterator[dict[str, Any]]:
    """Ray read task: the rows of one row range of a file not yet in OUT, as plain dicts of strings."""
    for row in read_rows(Path(item["path"]), item["rel"], text_field, id_field, item["start"], item["stop"]):
        if row.id not in done:
            yield {"id": row.id, "text": row.text, "error": row.error}


class _RayScanner:
    """Ray Data actor: loads the guard once, answers batches with one JSON string per row (``record``), so Arrow
    never has to infer a type for the optional columns and the driver gets exactly :func:`scan_batch`'s dicts."""

    def __init__(self, spec: GuardSpec) -> None:
        self.guard = spec.load()

    def __call__(self, batch: Any) -> Any:
        import pyarrow as pa

        rows = [Row(i, t or "", e or "") for i, t, e in zip(batch.column("id").to_pylist(),
                                                             batch.column("text").to_pylist(),
                                                             batch.column("error").to_pylist(), strict=True)]
        records = scan_batch(self.guard, rows)
        return pa.table({"record": [json.dumps(r, ensure_ascii=False) for r in records]})


def _ray_version(ray: Any) -> tuple[int, int]:
    try:
        major, minor = ray.__version__.split(".")[:2]
        return int(major), int(minor)
    except ValueError:  # pragma: no cover - a development build
        return 99, 0


def run_ray(spec: GuardSpec, files: list[tuple[Path, str]], done: set[str], *, text_field: str, id_field: str,
            workers: int, batch_size: int) -> Iterator[list[dict[str, Any]]]:
    """Output rows per Ray block, in input order (``preserve_order``), from ``workers`` scanning actors.

    Plan: ``from_items`` of row ranges (:func:`read_chunks`) -> ``flat_map`` (read a range, skip the ids already in
    OUT) -> ``map_batches`` on a pool of ``workers`` actors -> the driver, which writes OUT.
    """
    import logging
    from functools import partial

    ray = _require_ray()
    from ray.data import DataContext

    version = _ray_version(ray)
    ctx = DataContext.get_current()
    data_log = logging.getLogger("ray.data")
    saved = ctx.execution_options.preserve_order, ctx.enable_progress_bars, data_log.level
    ctx.execution_options.preserve_order = True  # output order = input order, as the local engine
    ctx.enable_progress_bars = False  # ours counts rows
    data_log.setLevel(logging.ERROR)  # no per-run INFO lines and notes on standard error (errors still raise)
    try:
        items = read_chunks(files, batch_size, workers)
        blocks = {"override_num_blocks" if version >= (2, 10) else "parallelism": len(items)}
        ds = ray.data.from_items(items, **blocks)
        # num_cpus=0: reading is light, and must not wait for the CPUs the scanning actors hold (with one actor
        # per CPU, as in ``ray.init(num_cpus=2)`` and two workers, a read task asking for a CPU would never start)
        ds = ds.flat_map(partial(_ray_read, text_field=text_field, id_field=id_field, done=frozenset(done)), num_cpus=0)
        if version >= (2, 51):  # ``concurrency`` was deprecated for ``compute`` in 2.51 (and the reverse in 2.9)
            pool = {"compute": ray.data.ActorPoolStrategy(size=workers)}
        else:  # pragma: no cover
            pool = {"concurrency": workers}
        ds = ds.map_batches(_RayScanner, fn_constructor_args=(spec,), batch_size=batch_size, batch_format="pyarrow",
                            num_cpus=1, **pool)
        for block in ds.iter_batches(batch_size=None, batch_format="pyarrow"):
            yield [json.loads(r) for r in block.column("record").to_pylist()]
    finally:
        ctx.execution_options.preserve_order, ctx.enable_progress_bars, level = saved
        data_log.setLevel(level)


# --------------------------------------------------------------------------------------------------- the scan


@dataclass
class Summary:
    """What a scan did: rows written this run (errors included), rows skipped as already in OUT, wall time."""

    engine: str
    workers: int
    batch_size: int
    rows: int = 0
    errors: int = 0
    unsafe: int = 0
    skipped: int = 0
    seconds: float = 0.0

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "engine": self.engine, "workers": self.workers, "batch_size": self.batch_size, "rows": self.rows,
            "errors": self.errors, "unsafe": self.unsafe, "skipped": self.skipped, "seconds": round(self.seconds, 3),
            "rows_per_s": round(self.rows_per_s, 1),
        }


def scan(
    path: Path,
    out: Path,
    *,
    spec: GuardSpec | None = None,
    engine: str = "local",
    workers: int | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    text_field: str = "text",
    id_field: str = "id",
    overwrite: bool = False,
    progress: bool = True,
    ray_address: str | None = None,
) -> Summary:
    """Scan ``path`` into ``out`` (see the module docstring). Returns the :class:`Summary`.

    Raises ``ValueError`` / ``FileNotFoundError`` for bad arguments or inputs, ``ImportError`` when pyarrow (Parquet)
    or Ray (``engine="ray"``) is missing.
    """
    spec = spec or GuardSpec()
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {list(ENGINES)}, got {engine!r}")
    if batch_size < 1:
        raise ValueError(f"batch size must be at least 1, got {batch_size}")
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    path, out = Path(path), Path(out)
    if not out.name.lower().endswith(OUTPUT_SUFFIXES):
        raise ValueError(f"{out}: the output must end in .jsonl or .parquet")
    files = input_files(path, exclude=(out, out.with_name(out.name + ".tmp")))
    if any(_kind(p) == "parquet" for p, _ in files) or out.name.lower().endswith(".parquet"):
        _require_pyarrow()  # fail before any work
    _check_model(spec)
    writer = _Writer(out, overwrite=overwrite)  # reads the ids already done (and checks OUT) before any start-up
    ray: Any = None
    started_ray = ok = False
    bar = None
    try:
        if engine == "ray":
            ray = _require_ray()
            if not ray.is_initialized():
                import logging

                local = ray_address is None and not os.environ.get("RAY_ADDRESS")
                ray.init(address=ray_address, include_dashboard=False, logging_level=logging.ERROR,
                         # a local Ray: as many CPUs as actors asked for, so that a pool of --workers can start
                         **({"num_cpus": max(workers or 1, available_cpus())} if local else {}))
                started_ray = True
            workers = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        workers = workers or available_cpus()
        summary = Summary(engine, workers, batch_size)
        start = time.perf_counter()
        bar = _progress(files, len(writer.done)) if progress else None
        if engine == "local":
            def pending() -> Iterator[Row]:
                for file, rel in files:
                    for row in read_rows(file, rel, text_field, id_field):
                        if row.id in writer.done:
                            summary.skipped += 1
                        else:
                            yield row

            results = run_local(spec, batched(pending(), batch_size), workers)
        else:
            results = run_ray(spec, files, writer.done, text_field=text_field, id_field=id_field, workers=workers,
                              batch_size=batch_size)
        for records in results:
            writer.write(records)
            summary.rows += len(records)
            summary.errors += sum(1 for r in records if "error" in r)
            summary.unsafe += sum(1 for r in records if r.get("is_safe") is False)
            if bar is not None:
                bar.update(len(records))
        if engine == "ray":
            summary.skipped = len(writer.done)  # (the read tasks skip them; with unique ids, all were in the input)
        ok = True
    finally:
        writer.close(ok)
        if bar is not None:
            bar.close()
        if started_ray:
            ray.shutdown()
    summary.seconds = time.perf_counter() - start
    return summary


def _check_model(spec: GuardSpec) -> None:
    """Fail early, with the runtime's message, on a missing or malformed model directory (not in N workers)."""
    from tinyguardrail.artifact import ModelConfig

    if spec.model is None:
        from tinyguardrail._model_path import default_model_dir

        ModelConfig.read(default_model_dir())
    else:
        ModelConfig.read(Path(spec.model))


def _progress(files: list[tuple[Path, str]], initial: int) -> Any:
    """A tqdm bar over the input rows (none without tqdm). ``initial``: rows already in OUT."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    total = count_rows(files)
    return tqdm(total=total, initial=min(initial, total), unit="row", desc="scan", file=sys.stderr, dynamic_ncols=True)


# --------------------------------------------------------------------------------------------------- command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", type=Path, metavar="PATH", help="a .jsonl/.csv/.parquet file, or a folder of them")
    parser.add_argument("--out", type=Path, required=True, metavar="OUT",
                        help="output .jsonl (resumable at any point) or .parquet; existing ids are skipped")
    parser.add_argument("--text-field", default="text", metavar="NAME", help="field/column of the text (default text)")
    parser.add_argument("--id-field", default="id", metavar="NAME",
                        help="field/column of the id (default id; rows without one get <file>:<row>)")
    parser.add_argument("--engine", choices=ENGINES, default="local",
                        help="local: worker processes here (default); ray: Ray Data (needs the [scan] extra)")
    parser.add_argument("--workers", type=int, metavar="N",
                        help="worker processes / Ray actors, one ONNX thread each (default: the CPUs)")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, metavar="N",
                        help=f"texts per check_batch call (default {DEFAULT_BATCH_SIZE})")
    parser.add_argument("--model", type=Path, metavar="DIR", help="model directory (default: the embedded model)")
    parser.add_argument("--max-chars", type=int, default=None, metavar="N",
                        help="longer texts get an error row (default 100000)")
    parser.add_argument("--overwrite", action="store_true", help="replace OUT instead of resuming it")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--ray-address", metavar="ADDR",
                        help="Ray cluster to join (default: $RAY_ADDRESS, else a local Ray for the run)")
    parser.add_argument("--json-summary", type=Path, metavar="PATH",
                        help="write rows, seconds, rows/s (and the run's settings) as JSON")


def run(args: argparse.Namespace) -> int:
    if args.max_chars is not None and args.max_chars < 1:
        raise ValueError("--max-chars must be at least 1")
    spec = GuardSpec(str(args.model.resolve()) if args.model is not None else None, args.max_chars)
    summary = scan(args.path, args.out, spec=spec, engine=args.engine, workers=args.workers,
                   batch_size=args.batch_size, text_field=args.text_field, id_field=args.id_field,
                   overwrite=args.overwrite, progress=not args.no_progress, ray_address=args.ray_address)
    print(f"tinyguardrail scan: {summary.rows} rows ({summary.unsafe} unsafe, {summary.errors} errors, "
          f"{summary.skipped} already in {args.out.name}) in {summary.seconds:.1f} s: {summary.rows_per_s:.1f} rows/s "
          f"({summary.engine}, {summary.workers} workers)", file=sys.stderr)
    if args.json_summary is not None:
        data = summary.to_dict() | {
            "input": str(args.path), "output": str(args.out), "model": _model_name(spec),
            "cpu_count": os.cpu_count(), "date": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        args.json_summary.parent.mkdir(parents=True, exist_ok=True)
        args.json_summary.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return 0


def _model_name(spec: GuardSpec) -> str:
    from tinyguardrail.artifact import ModelConfig

    if spec.model is None:
        from tinyguardrail._model_path import default_model_dir

        return ModelConfig.read(default_model_dir()).name
    return ModelConfig.read(Path(spec.model)).name

