"""``tinyguardrail bench``: latency, throughput, memory and early-exit share of the runtime, with baselines.

Texts: a fixed-seed mix of real prompts of mixed length read straight from the data root (``--data-root``,
default ``$TINYGUARDRAIL_DATA_ROOT`` or ``../shared/data``): 60 % s-labs ``test.csv``, 20 % NotInject, 20 %
JailbreakBench artifact prompts; or ``--texts FILE`` (``.txt`` one text per line, ``.jsonl`` with ``text``,
``.csv`` with a ``text`` column).

Each configuration runs in fresh worker processes (so peak RSS is that configuration's alone):

- **latency**: ``Guard.check`` one text at a time, 1 ONNX Runtime thread; p50 / p95 / p99 / mean of the wall
  time of each call (after a warm-up), measured ``--repeats`` (3) times in fresh processes: the table gives the
  median of each figure and every run's p95 (this shared 2-core machine moves p95 by about a millisecond);
- **throughput**: ``Guard.check_batch`` in batches of ``--batch-size`` (32) from ``--workers`` (2) concurrent callers
  sharing one guard, each ONNX Runtime call on ``--threads`` (1) intra-op thread: 2 threads in all, as the HTTP
  server runs (``TINYGUARDRAIL_INFERENCE_WORKERS``). On this 2-core machine two single-threaded calls at once gave
  about twice the texts per second of one call on two intra-op threads; texts per second;
- **early-exit share**: rows (views x windows) answered by the fast branch alone, over the throughput run;
- **peak RSS**: ``ru_maxrss`` of the worker (interpreter + NumPy + tokenizer + ONNX Runtime + model).

Configurations measured in the same run: the model as shipped; the same model with early exit off (the
*baseline* for early exit); the fp32 ONNX files (``fast.fp32.onnx`` / ``deep.fp32.onnx`` next to the shipped
files, or ``--baseline-model DIR``); and, when ONNX Runtime's CUDA provider is available, the shipped model on CUDA.
Results: a table on stdout, ``--json PATH`` and ``--md PATH`` (e.g. ``docs/bench.json``, ``docs/bench.md``).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

#: share of each source in the default text mix
MIX = {"s-labs": 0.6, "notinject": 0.2, "jailbreakbench": 0.2}
TARGETS = {"latency_p95_ms": 8.0, "throughput_texts_per_s": 300.0}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=Path, metavar="DIR", help="model directory (default: the embedded model)")
    parser.add_argument("--baseline-model", type=Path, metavar="DIR",
                        help="another model directory measured in the same run, e.g. the previous version (the "
                             "shipped model's *.fp32.onnx, when present, is measured too)")
    parser.add_argument("--data-root", type=Path, metavar="DIR",
                        help="public data root (default: $TINYGUARDRAIL_DATA_ROOT or ../shared/data)")
    parser.add_argument("--texts", type=Path, metavar="FILE", help="benchmark these texts instead (.txt/.jsonl/.csv)")
    parser.add_argument("--n-latency", type=int, default=300, metavar="N", help="texts for the latency run")
    parser.add_argument("--n-throughput", type=int, default=1024, metavar="N", help="texts for the throughput run")
    parser.add_argument("--batch-size", type=int, default=32, metavar="N", help="batch size of the throughput run")
    parser.add_argument("--workers", type=int, default=2, metavar="N",
                        help="concurrent check_batch callers in the throughput run (threads)")
    parser.add_argument("--threads", type=int, default=1, metavar="N",
                        help="ONNX Runtime intra-op threads per call in the throughput run")
    parser.add_argument("--warmup", type=int, default=20, metavar="N", help="warm-up calls before timing")
    parser.add_argument("--repeats", type=int, default=3, metavar="N",
                        help="latency runs per configuration, each in a fresh process; the table shows each "
                             "percentile's median over the runs (the JSON keeps every run)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the text sample")
    parser.add_argument("--no-baselines", action="store_true", help="measure the shipped configuration only")
    parser.add_argument("--no-cuda", action="store_true", help="skip the CUDA provider even if available")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the results as JSON")
    parser.add_argument("--md", type=Path, metavar="PATH", help="write the results as a Markdown table")
    parser.add_argument("--frontend", help=argparse.SUPPRESS)  # module:callable returning a FrontEnd (tests)


# ------------------------------------------------------------------------------------------------ texts


def default_data_root() -> Path:
    env = os.environ.get("TINYGUARDRAIL_DATA_ROOT")
    if env:
        return Path(env)
    for candidate in (Path("../shared/data"), Path(__file__).resolve().parents[3].parent / "shared" / "data"):
        if candidate.is_dir():
            return candidate
    return Path("../shared/data")


def _source_texts(root: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    slabs = root / "mixed" / "s-labs" / "test.csv"
    if slabs.is_file():
        with slabs.open(encoding="utf-8", newline="") as f:
            out["s-labs"] = [r["text"] for r in csv.DictReader(f) if r.get("text", "").strip()]
    notinject = sorted((root / "bench" / "notinject").glob("NotInject_*.json"))
    if notinject:
        out["notinject"] = [r["prompt"] for p in notinject for r in json.loads(p.read_text(encoding="utf-8"))
                            if r.get("prompt", "").strip()]
    jbb = sorted((root / "attacks" / "jailbreakbench-artifacts" / "attack-artifacts").glob("*/*/*.json"))
    if jbb:
        prompts = []
        for p in jbb:
            for j in json.loads(p.read_text(encoding="utf-8")).get("jailbreaks", []):
                if isinstance(j.get("prompt"), str) and j["prompt"].strip():
                    prompts.append(j["prompt"])
        out["jailbreakbench"] = sorted(set(prompts))
    return out


def load_mix(root: Path, n: int, seed: int) -> tuple[list[str], dict[str, int]]:
    """``n`` texts drawn with a fixed seed by the shares in ``MIX`` (a missing source's share goes to the others)."""
    sources = _source_texts(root)
    if not sources:
        raise FileNotFoundError(f"no benchmark texts under {root} (s-labs, notinject, jailbreakbench); "
                                "pass --data-root or --texts")
    rng = random.Random(seed)
    total_share = sum(MIX[s] for s in sources)
    texts, counts = [], {}
    for name in sorted(sources):
        want = round(n * MIX[name] / total_share)
        pool = sources[name]
        picked = rng.sample(pool, want) if want <= len(pool) else [rng.choice(pool) for _ in range(want)]
        texts.extend(picked)
        counts[name] = len(picked)
    rng.shuffle(texts)
    return texts[:n], counts


def load_texts_file(path: Path) -> list[str]:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    if path.suffix == ".jsonl":
        texts = [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    elif path.suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as f:
            texts = [r["text"] for r in csv.DictReader(f)]
    else:
        texts = path.read_text(encoding="utf-8").splitlines()
    texts = [t for t in texts if isinstance(t, str) and t.strip()]
    if not texts:
        raise ValueError(f"{path}: no texts")
    return texts


# ------------------------------------------------------------------------------------------------ orchestration


def _percentile(values: list[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def _model_name(model_dir: Path) -> str:
    """The ``name`` of a model folder's ``config.json`` (the folder's name when it has none)."""
    try:
        return str(json.loads((Path(model_dir) / "config.json").read_text()).get("name") or Path(model_dir).name)
    except (OSError, ValueError):
        return Path(model_dir).name


def _configs(args: argparse.Namespace, model_dir: Path) -> list[dict[str, Any]]:
    configs = [{"name": "shipped", "model": str(model_dir), "providers": ["CPUExecutionProvider"]}]
    if not args.no_baselines:
        configs.append({"name": "shipped, no early exit", "model": str(model_dir),
                        "providers": ["CPUExecutionProvider"], "early_exit_threshold": 1.01, "skip_decided": False})
        if (model_dir / "fast.fp32.onnx").is_file() and (model_dir / "deep.fp32.onnx").is_file():
            configs.append({"name": "fp32", "model": str(model_dir), "providers": ["CPUExecutionProvider"],
                            "fast_file": "fast.fp32.onnx", "deep_file": "deep.fp32.onnx"})
        if args.baseline_model is not None:
            configs.append({"name": f"baseline: {_model_name(args.baseline_model)}",
                            "model": str(args.baseline_model), "providers": ["CPUExecutionProvider"]})
    if not args.no_cuda:
        import onnxruntime as ort

        if "CUDAExecutionProvider" in ort.get_available_providers():
            configs.append({"name": "shipped, CUDA", "model": str(model_dir),
                            "providers": ["CUDAExecutionProvider", "CPUExecutionProvider"]})
    return configs


def _run_worker(spec: dict[str, Any]) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "tinyguardrail.runtime.bench", "--worker", json.dumps(spec)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        raise RuntimeError(f"bench worker {spec['name']!r} ({spec['mode']}) failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(args: argparse.Namespace) -> int:
    for name in ("n_latency", "n_throughput", "batch_size", "threads", "workers", "repeats"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be at least 1")
    if args.model is None:
        from tinyguardrail._model_path import default_model_dir

        model_dir = default_model_dir()
    else:
        model_dir = args.model
    if not (model_dir / "config.json").is_file():
        raise FileNotFoundError(f"{model_dir} is not a model directory (no config.json)")
    n = max(args.n_latency, args.n_throughput)
    if args.texts is not None:
        texts = load_texts_file(args.texts)
        rng = random.Random(args.seed)
        texts = rng.sample(texts, n) if len(texts) >= n else [rng.choice(texts) for _ in range(n)]
        sources = {str(args.texts): len(texts)}
    else:
        root = args.data_root or default_data_root()
        texts, sources = load_mix(root, n, args.seed)
    lengths = sorted(len(t) for t in texts)
    with tempfile.TemporaryDirectory(prefix="tinyguardrail-bench-") as tmp:
        texts_path = Path(tmp) / "texts.json"
        texts_path.write_text(json.dumps(texts), encoding="utf-8")
        results = []
        for config in _configs(args, model_dir):
            print(f"bench: {config['name']} ...", file=sys.stderr, flush=True)
            common = {**config, "texts": str(texts_path), "warmup": args.warmup, "frontend": args.frontend}
            runs = [_run_worker({**common, "mode": "latency", "n": args.n_latency, "threads": 1})
                    for _ in range(args.repeats)]
            lat = dict(runs[0])
            lat["latency_ms"] = {k: statistics.median(r["latency_ms"][k] for r in runs) for k in runs[0]["latency_ms"]}
            lat["latency_ms"]["runs"] = [r["latency_ms"] for r in runs]
            lat["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
            thr = _run_worker({**common, "mode": "throughput", "n": args.n_throughput, "threads": args.threads,
                               "workers": args.workers, "batch_size": args.batch_size})
            results.append({
                "config": config["name"],
                "providers": thr["providers"],
                "files": thr["files"],
                "early_exit_threshold": thr["early_exit_threshold"],
                "latency_ms": lat["latency_ms"],
                "throughput_texts_per_s": thr["throughput_texts_per_s"],
                "early_exit_share": thr["early_exit_share"],
                "early_exit_share_latency_run": lat["early_exit_share"],
                "peak_rss_mb": max(lat["peak_rss_mb"], thr["peak_rss_mb"]),
                "rss_after_load_mb": lat["rss_after_load_mb"],
                "load_s": lat["load_s"],
                "model_mb": thr["model_mb"],
            })
    report = {
        "schema": 1,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": _machine(),
        "model": {"dir": str(model_dir), "name": _model_name(model_dir)},
        "texts": {
            "sources": sources,
            "n_latency": args.n_latency,
            "n_throughput": args.n_throughput,
            "chars_p50": lengths[len(lengths) // 2],
            "chars_p95": lengths[min(len(lengths) - 1, int(len(lengths) * 0.95))],
            "chars_max": lengths[-1],
            "seed": args.seed,
        },
        "settings": {"latency_threads": 1, "latency_batch": 1, "latency_repeats": args.repeats,
                     "throughput_workers": args.workers,
                     "throughput_threads": args.threads, "throughput_batch": args.batch_size, "warmup": args.warmup},
        "targets": TARGETS,
        "results": results,
    }
    table = format_markdown(report)
    print(table)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    if args.md:
        args.md.parent.mkdir(parents=True, exist_ok=True)
        args.md.write_text(table + "\n", encoding="utf-8")
    return 0


def _model_name(model_dir: Path) -> str:
    try:
        return json.loads((model_dir / "config.json").read_text(encoding="utf-8")).get("name", "?")
    except (OSError, json.JSONDecodeError):
        return "?"


def _machine() -> dict[str, Any]:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import onnxruntime as ort

    return {"cpu": cpu, "cpu_count": os.cpu_count(), "os": platform.platform(), "python": platform.python_version(),
            "onnxruntime": ort.__version__}


def format_markdown(report: dict[str, Any]) -> str:
    t, m = report["texts"], report["machine"]
    lines = [
        f"# Runtime benchmark: {report['model']['name']}",
        "",
        f"Generated by `tinyguardrail bench` on {report['created']} ({m['cpu']}, {m['cpu_count']} CPUs, "
        f"onnxruntime {m['onnxruntime']}). Texts: {t['sources']}; characters p50 {t['chars_p50']}, "
        f"p95 {t['chars_p95']}, max {t['chars_max']}. Latency: `check()` of one text, 1 thread, {t['n_latency']} "
        f"texts, median of {report['settings'].get('latency_repeats', 1)} runs in fresh processes (p95 of each run "
        f"in the last column). Throughput: `check_batch()` of {report['settings']['throughput_batch']} texts from "
        f"{report['settings'].get('throughput_workers', 1)} concurrent callers, each ONNX Runtime call on "
        f"{report['settings']['throughput_threads']} intra-op thread(s), {t['n_throughput']} texts. Early exit: share of rows "
        "answered by the fast branch alone (confident, or the deep branch could not change the decision: "
        "`skip_decided`; *no early exit* turns both off). Peak RSS: the worker process's maximum resident set.",
        "",
        "| configuration | provider | p50 ms | p95 ms | p99 ms | mean ms | texts/s | early exit | peak RSS MB | model MB "
        "| p95 per run |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in report["results"]:
        lat = r["latency_ms"]
        provider = r["providers"][0].replace("ExecutionProvider", "")
        lines.append(
            f"| {r['config']} | {provider} | {lat['p50']:.2f} | {lat['p95']:.2f} | {lat['p99']:.2f} | "
            f"{lat['mean']:.2f} | {r['throughput_texts_per_s']:.1f} | {100 * r['early_exit_share']:.1f} % | "
            f"{r['peak_rss_mb']:.0f} | {r['model_mb']:.1f} | "
            + " / ".join(f"{x['p95']:.2f}" for x in lat.get("runs", [lat])) + " |"
        )
    tg = report["targets"]
    lines += ["", f"Goals (SPEC section 9): p95 <= {tg['latency_p95_ms']:g} ms at batch 1 on 1 thread; "
                  f">= {tg['throughput_texts_per_s']:g} texts/s batched on 2 cores."]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------ worker


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _load_frontend(spec: str | None):
    if not spec:
        return None
    import importlib

    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr)()


def _worker(spec: dict[str, Any]) -> dict[str, Any]:
    from tinyguardrail.runtime.guard import Guard

    texts = json.loads(Path(spec["texts"]).read_text(encoding="utf-8"))[: spec["n"]]
    start = time.perf_counter()
    guard = Guard.load(
        spec["model"], threads=spec["threads"], providers=spec["providers"],
        early_exit_threshold=spec.get("early_exit_threshold"), skip_decided=spec.get("skip_decided", True),
        fast_file=spec.get("fast_file"),
        deep_file=spec.get("deep_file"), frontend=_load_frontend(spec.get("frontend")),
    )
    load_s = time.perf_counter() - start
    rss_after_load = _rss_mb()
    for i in range(spec["warmup"]):
        guard.check(texts[i % len(texts)])
    before = guard.stats
    out: dict[str, Any] = {"load_s": round(load_s, 3), "rss_after_load_mb": round(rss_after_load, 1)}
    if spec["mode"] == "latency":
        times = []
        for text in texts:
            t0 = time.perf_counter()
            guard.check(text)
            times.append((time.perf_counter() - t0) * 1000)
        out["latency_ms"] = {"p50": _percentile(times, 50), "p95": _percentile(times, 95),
                             "p99": _percentile(times, 99), "mean": sum(times) / len(times), "n": len(times)}
    else:
        bs = spec["batch_size"]
        batches = [texts[i:i + bs] for i in range(0, len(texts), bs)]
        t0 = time.perf_counter()
        with ThreadPoolExecutor(max(1, int(spec.get("workers", 1)))) as pool:
            for _ in pool.map(guard.check_batch, batches):
                pass
        elapsed = time.perf_counter() - t0
        out["throughput_texts_per_s"] = len(texts) / elapsed
    after = guard.stats
    rows = after["rows"] - before["rows"]
    out["early_exit_share"] = (after["early_exit_rows"] - before["early_exit_rows"]) / rows if rows else 0.0
    out["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    info = guard.info()
    out["providers"] = info["providers"]
    out["files"] = info["files"]
    out["early_exit_threshold"] = info["early_exit_threshold"]
    model_dir = Path(spec["model"])
    onnx_files = [info["files"].get(role) for role in ("fast", "char", "deep")]
    out["model_mb"] = round(sum((model_dir / f).stat().st_size for f in onnx_files if f) / 2**20, 2)  # ONNX only
    return out


def _worker_main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "--worker":
        print("usage: python -m tinyguardrail.runtime.bench --worker SPEC_JSON (internal; use `tinyguardrail bench`)",
              file=sys.stderr)
        return 2
    print(json.dumps(_worker(json.loads(argv[1]))))
    return 0


if __name__ == "__main__":
    sys.exit(_worker_main(sys.argv[1:]))
