"""``tinyguardrail check``: classify text from the command line.

Input: the TEXT argument, ``--file PATH`` (UTF-8; undecodable bytes become U+FFFD), or standard input.
Output: a human summary (default), ``--json`` (the verdict as JSON), ``--bits`` (the 16-bit code as a decimal
integer), or ``--jsonl``: read one JSON object ``{"text": ...}`` per line (stdin or ``--file``), write one JSON
verdict per line in the same order. ``--jsonl`` streams: the lines already available (up to ``--batch-size``) are
checked in one batch and their answers written and flushed at once, so a slow producer gets each answer as soon
as its line is in, and a fast one gets full batches. Verdict lines carry ``line`` and echo an ``id`` field when
the input has one; a malformed line gets ``{"line": N, "id": ..., "error": "..."}`` instead of stopping the run;
blank lines are skipped.

Exit status: 0 when every verdict is safe; 1 when any verdict is not safe (an attack or *uncertain*);
2 on usage errors (bad arguments, unreadable file, no model, text over the length limit), and in ``--jsonl``
mode when some line was malformed and no verdict was unsafe.
"""

from __future__ import annotations

import argparse
import json
import queue
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

EXIT_SAFE, EXIT_UNSAFE, EXIT_USAGE = 0, 1, 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("text", nargs="?", help="text to check (default: read --file or standard input)")
    parser.add_argument("--file", type=Path, metavar="PATH", help="read the text (or the JSON lines) from PATH")
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print the verdict as JSON")
    out.add_argument("--bits", action="store_true", help="print only the 16-bit response code (decimal)")
    out.add_argument("--jsonl", action="store_true",
                     help='read {"text": ...} objects one per line, write one verdict JSON per line')
    parser.add_argument("--batch-size", type=int, default=32, metavar="N", help="texts per batch in --jsonl mode")
    parser.add_argument("--model", type=Path, metavar="DIR", help="model directory (default: the embedded model)")
    parser.add_argument("--threads", type=int, metavar="N", help="ONNX Runtime threads (default: ONNX Runtime's)")
    parser.add_argument("--max-chars", type=int, default=None, metavar="N",
                        help="longest accepted text in characters (default 100000)")


def _usage(message: str) -> int:
    print(f"tinyguardrail check: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _load_guard(args: argparse.Namespace):
    from tinyguardrail.runtime.guard import DEFAULT_MAX_TEXT_CHARS, Guard

    return Guard.load(args.model, threads=args.threads, max_text_chars=args.max_chars or DEFAULT_MAX_TEXT_CHARS)


def run(args: argparse.Namespace) -> int:
    if args.threads is not None and args.threads < 1:
        return _usage("--threads must be at least 1")
    if args.batch_size < 1:
        return _usage("--batch-size must be at least 1")
    if args.text is not None and args.file is not None:
        return _usage("give the text as an argument or with --file, not both")
    if args.jsonl:
        if args.text is not None:
            return _usage("--jsonl reads standard input or --file, not a text argument")
        if args.file is not None:
            if not args.file.is_file():
                return _usage(f"{args.file}: no such file")
            with args.file.open(encoding="utf-8", errors="replace") as stream:
                return _run_jsonl(_load_guard(args), stream, sys.stdout, args.batch_size)
        return _run_jsonl(_load_guard(args), sys.stdin, sys.stdout, args.batch_size)
    if args.text is not None:
        text = args.text
    elif args.file is not None:
        if not args.file.is_file():
            return _usage(f"{args.file}: no such file")
        text = args.file.read_bytes().decode("utf-8", errors="replace")
    elif sys.stdin is not None and not sys.stdin.isatty():
        text = sys.stdin.read()
    else:
        return _usage("no text: pass TEXT, --file PATH, or pipe text into standard input")
    verdict = _load_guard(args).check(text)
    if args.bits:
        print(verdict.code)
    elif args.json:
        print(json.dumps(verdict.to_dict(), ensure_ascii=False))
    else:
        print(format_human(verdict))
    return EXIT_SAFE if verdict.is_safe else EXIT_UNSAFE


def format_human(verdict: Any) -> str:
    """A short multi-line summary of a verdict."""
    from tinyguardrail.codes import format_code

    detectors = ", ".join(f"{k}={v:.2f}" for k, v in sorted(verdict.detectors.items())) or "none"
    windows = f"{verdict.windows} window{'s' if verdict.windows != 1 else ''}"
    lines = [
        f"label       {verdict.label}",
        f"is_safe     {str(verdict.is_safe).lower()}",
        f"confidence  {verdict.confidence:.3f}",
        f"severity    {verdict.severity:.3f} (level {verdict.severity_level}/15)",
        f"action      {verdict.action}",
        f"branch      {verdict.branch}",
        f"view        {verdict.view} ({windows})",
        f"detectors   {detectors}",
        f"code        {format_code(verdict.code)} = {verdict.code}",
        f"latency     {verdict.latency_ms:.2f} ms",
    ]
    if verdict.flags:
        lines.append(f"flags       {', '.join(verdict.flags)}")
    return "\n".join(lines)


_EOF = object()


def _line_batches(stream: TextIO, batch_size: int) -> Iterator[list[tuple[int, str]]]:
    """``(line number, line)`` pairs of ``stream`` in batches of what is already available, at most ``batch_size``.

    A reader thread feeds a small queue; a batch starts with the next line (waiting for it) and takes the lines
    already queued, never waiting for more. So a slow producer's lines are answered one by one, as they arrive,
    and a file's lines in full batches. A read error (e.g. undecodable input) is raised here, in order.
    """
    lines: queue.Queue = queue.Queue(maxsize=4 * batch_size)

    def read() -> None:
        try:
            for item in enumerate(stream, start=1):
                lines.put(item)
        except Exception as exc:  # handed to the consumer, raised there
            lines.put(exc)
        finally:
            lines.put(_EOF)

    threading.Thread(target=read, name="tinyguardrail-jsonl-reader", daemon=True).start()
    done = False
    while not done:
        batch: list[tuple[int, str]] = []
        item = lines.get()
        while True:
            if item is _EOF:
                done = True
                break
            if isinstance(item, Exception):
                raise item
            batch.append(item)
            if len(batch) >= batch_size:
                break
            try:
                item = lines.get_nowait()
            except queue.Empty:
                break
        if batch:
            yield batch


def _run_jsonl(guard: Any, stream: TextIO, out: TextIO, batch_size: int) -> int:
    unsafe = errors = False
    for batch in _line_batches(stream, batch_size):
        records: list[dict[str, Any]] = []
        todo: list[tuple[dict[str, Any], str]] = []  # (record to complete, text)
        for line_no, line in batch:
            if not line.strip():
                continue  # blank lines are skipped, not errors
            error, text, ident = _parse_line(line, guard.max_text_chars)
            record: dict[str, Any] = {"line": line_no, **({"id": ident} if ident is not None else {})}
            records.append(record)
            if error is not None:
                errors = True
                record["error"] = error
            else:
                todo.append((record, text))
        if todo:
            for (record, _), verdict in zip(todo, guard.check_batch([t for _, t in todo]), strict=True):
                unsafe = unsafe or not verdict.is_safe
                record.update(verdict.to_dict())
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        out.flush()
    if unsafe:
        return EXIT_UNSAFE
    return EXIT_USAGE if errors else EXIT_SAFE


def _parse_line(line: str, max_chars: int) -> tuple[str | None, str, Any]:
    """-> (error or None, text, id). The id is returned for malformed lines too, when the line is an object."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return f"invalid JSON: {exc.msg} (column {exc.colno})", "", None
    except (ValueError, RecursionError) as exc:  # an integer past Python's digit limit, nesting past the stack
        return f"invalid JSON: {exc}", "", None
    if not isinstance(obj, dict):
        return 'expected a JSON object {"text": ...}', "", None
    ident = obj.get("id")
    text = obj.get("text")
    if not isinstance(text, str):
        return f'"text" must be a string, got {type(text).__name__ if "text" in obj else "nothing"}', "", ident
    if len(text) > max_chars:
        return f"text has {len(text)} characters, more than the limit of {max_chars}", "", ident
    return None, text, ident
