"""Throughput of ``tinyguardrail scan`` with both engines on the same rows, and whether their outputs agree.

    python scripts/bench_scan.py --rows 10000 --json docs/scan-bench.json

Takes the first ``--rows`` texts of the data build's test split (ids ``test-00000``...), writes them as JSONL under
``--work``, runs ``tinyguardrail scan`` once per engine (``--engine local`` and ``--engine ray``, the same
``--workers`` and ``--batch-size``, each as its own command so the wall time includes start-up), reads each run's
``--json-summary``, and compares the two outputs row by row (sorted by id). Writes the figures to ``--json`` and
prints a Markdown table. Exit status 1 when the outputs differ.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from tinyguardrail.data.io import read_jsonl_gz


def _rows(path: Path) -> list[str]:
    return sorted(path.read_text(encoding="utf-8").splitlines(), key=lambda line: json.loads(line)["id"])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=Path("build/data"))
    p.add_argument("--model", default=None, help="model folder (default: the embedded model)")
    p.add_argument("--rows", type=int, default=10_000)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--engines", default="local,ray")
    p.add_argument("--work", type=Path, default=Path("build/scan-bench"))
    p.add_argument("--json", type=Path, default=None)
    a = p.parse_args()
    a.work.mkdir(parents=True, exist_ok=True)
    corpus = a.work / "corpus.jsonl"
    texts = []
    for i, row in enumerate(read_jsonl_gz(a.data / "test.jsonl.gz")):
        if i >= a.rows:
            break
        texts.append({"id": f"test-{i:05d}", "text": row.text})
    corpus.write_text("".join(json.dumps(t, ensure_ascii=False) + "\n" for t in texts), encoding="utf-8")
    engines: dict[str, dict] = {}
    outputs: dict[str, list[str]] = {}
    for engine in a.engines.split(","):
        out, summary = a.work / f"{engine}.jsonl", a.work / f"{engine}.summary.json"
        cmd = [sys.executable, "-m", "tinyguardrail.cli", "scan", str(corpus), "--out", str(out), "--overwrite",
               "--engine", engine, "--workers", str(a.workers), "--batch-size", str(a.batch_size),
               "--json-summary", str(summary), "--no-progress"]
        if a.model:
            cmd += ["--model", a.model]
        start = time.perf_counter()
        subprocess.run(cmd, check=True)
        wall = time.perf_counter() - start
        s = json.loads(summary.read_text())
        engines[engine] = {k: s[k] for k in ("rows", "errors", "unsafe", "seconds", "rows_per_s", "workers",
                                              "batch_size")} | {"wall_s": round(wall, 2)}
        outputs[engine] = _rows(out)
        model = s.get("model")
    names = list(outputs)
    identical = all(outputs[n] == outputs[names[0]] for n in names[1:])
    mean_chars = sum(len(t["text"]) for t in texts) / max(len(texts), 1)
    result = {
        "what": (f"tinyguardrail scan on the first {len(texts)} texts of {a.data}/test.jsonl.gz (mean "
                 f"{mean_chars:.0f} characters), --workers {a.workers} --batch-size {a.batch_size}; seconds = the "
                 "scan, from after the engine is up (ray.init is not counted) to the last row written; wall_s = the "
                 "whole command; written by scripts/bench_scan.py"),
        "model": model, "date": datetime.now(UTC).date().isoformat(), "cpu_count": __import__("os").cpu_count(),
        "machine": platform.machine(), "python": platform.python_version(),
        "versions": _versions(), "engines": engines, "identical": identical,
    }
    if a.json:
        a.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print("| engine | rows | seconds (scan) | rows/s | wall time of the command |\n|---|---:|---:|---:|---:|")
    for name, e in engines.items():
        print(f"| {name} | {e['rows']:,} | {e['seconds']:.1f} | {e['rows_per_s']:.1f} | {e['wall_s']:.1f} s |")
    print(f"identical outputs: {identical}")
    return 0 if identical else 1


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    from tinyguardrail import __version__

    out = {"tinyguardrail": __version__}  # the source tree's (an editable install's metadata can be stale)
    for name in ("onnxruntime", "ray"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


if __name__ == "__main__":
    raise SystemExit(main())
