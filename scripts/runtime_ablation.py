"""What each part of the runtime adds to the shipped model, on the OOD-dev suite, with latency beside it.

    python scripts/runtime_ablation.py --model models/tinyguardrail-v0.9 --out docs/ablations/v09_runtime

The same exported model under several runtime settings (no retraining):

- ``shipped``: as served (decoded views, token windows, early exit, ``skip_decided``);
- ``no_early_exit``: the deep branch runs on every row (``early_exit_threshold`` above 1, ``skip_decided`` off);
- ``fast_only``: the deep branch never runs (the folder's ``files.deep`` set to null in a temporary copy);
- ``no_views``: decoded views are not scored (the detectors still read them, as in training);
- ``script_marks``: the decoders read scripts with combining marks (``Limits.script_marks``), which the shipped
  model was NOT trained with: its detector features then differ from training;
- ``early_exit_<t>`` (``--early-exit``): the fast branch answers alone from confidence ``t`` instead of the
  folder's ``early_exit_threshold``.

Each setting scores every OOD-dev row as the runtime does (``eval.calibrate``: largest attack probability over the
windows and reliable views), is calibrated at its own operating point (1 % of the benign rows blocked, 3 % flagged)
and is also scored at the shipped model's thresholds. Latency: ``check()`` of one text at a time on one thread over
``--latency-texts`` texts of ``tinyguardrail bench``'s prompt mix (fixed seed), every setting on the same texts in
this process, after a warm-up; early exit is the share of rows the fast branch answered. Only the OOD-dev suite
is read (never a report set). Writes ``<out>.json`` and ``<out>.md``.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from tinyguardrail.eval.bench import load_mix
from tinyguardrail.eval.calibrate import calibrate
from tinyguardrail.eval.harness import Predictions, score_suite
from tinyguardrail.eval.ood import read_suite
from tinyguardrail.preprocess import FrontEnd
from tinyguardrail.runtime.guard import Guard
from tinyguardrail.runtime.policy import Policy

CALIBRATION_POLICY = Policy(attack_threshold=1e-9, uncertain_margin=0.0, class_thresholds={})


def _without_views(fe: FrontEnd) -> FrontEnd:
    """The front end whose guard scores only the original reading; detectors still decode (as in training)."""
    detect = fe.detect

    def detect_with_views(text: str, normalized: Any = None, views: Any = None) -> dict[str, float]:
        return detect(text, normalized=normalized)  # views=None: the detectors make their own

    return replace(fe, make_views=lambda _t: [], detect=detect_with_views, feature_vector_with=None)


def _fast_only_copy(model: Path, tmp: Path) -> Path:
    out = tmp / "fast_only"
    shutil.copytree(model, out)
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    config["files"]["deep"] = None
    (out / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    return out


def settings(model: Path, tmp: Path, early_exit: tuple[float, ...] = ()
             ) -> dict[str, Callable[[Policy | None, int], Guard]]:  # fmt: skip
    """Name -> ``(policy, threads) -> Guard`` for every setting (``early_exit``: extra early-exit thresholds)."""
    fast_only = _fast_only_copy(model, tmp)
    extra = {f"early_exit_{t:g}": (lambda policy, threads, t=t: Guard.load(model, threads=threads, policy=policy,
                                                                         early_exit_threshold=t))
             for t in early_exit}
    return {
        "shipped": lambda policy, threads: Guard.load(model, threads=threads, policy=policy),
        "no_early_exit": lambda policy, threads: Guard.load(model, threads=threads, policy=policy,
                                                            early_exit_threshold=2.0, skip_decided=False),
        "fast_only": lambda policy, threads: Guard.load(fast_only, threads=threads, policy=policy),
        "no_views": lambda policy, threads: Guard.load(model, threads=threads, policy=policy,
                                                       frontend=_without_views(FrontEnd.default())),
        "script_marks": lambda policy, threads: Guard.load(model, threads=threads, policy=policy,
                                                           frontend=FrontEnd.default(script_marks=True)),
        **extra,
    }


def ood_dev(make: Callable[[Policy | None, int], Guard], rows: list, shipped: Policy, threads: int) -> dict:
    guard = make(CALIBRATION_POLICY, threads)
    texts = [r.text for r in rows]
    scores: list[float] = []
    for i in range(0, len(texts), 64):
        scores += [1.0 - v.scores["benign"] for v in guard.check_batch(texts[i : i + 64])]
    s = np.asarray(scores)
    cal = calibrate(rows, s, 0.01, 0.03)
    own = score_suite(rows, Predictions(s, s >= cal["attack_threshold"] - cal["uncertain_margin"]))
    at_shipped = score_suite(rows, Predictions(s, s >= shipped.attack_threshold - shipped.uncertain_margin))
    return {
        "own_point": {k: own[k] for k in ("pint_score", "attack_recall", "benign_fpr", "roc_auc",
                                          "recall_at_0.1pct_fpr", "recall_at_1pct_fpr", "recall_at_5pct_fpr")},
        "attack_threshold": cal["attack_threshold"], "uncertain_margin": cal["uncertain_margin"],
        "at_shipped_thresholds": {k: at_shipped[k] for k in ("pint_score", "attack_recall", "benign_fpr")},
        "cells": {k: v["accuracy"] for k, v in own["cells"].items()},
    }


def latency(make: Callable[[Policy | None, int], Guard], texts: list[str]) -> dict:
    guard = make(None, 1)
    for t in texts[:20]:
        guard.check(t)
    before = guard.stats
    ms = []
    for t in texts:
        t0 = time.perf_counter()
        guard.check(t)
        ms.append((time.perf_counter() - t0) * 1000.0)
    after = guard.stats
    rows = after["rows"] - before["rows"]
    return {"n": len(ms), "p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95)),
            "mean_ms": float(np.mean(ms)), "early_exit": (after["early_exit_rows"] - before["early_exit_rows"]) / rows}


def model_mb(make: Callable[[Policy | None, int], Guard]) -> float:
    g = make(None, 1)
    return sum((g.model_dir / f).stat().st_size for f in g.files.values() if f) / 2**20


def to_markdown(report: dict) -> str:
    lines = [f"# Runtime ablation: {report['model']}", "",
             f"Generated by `python scripts/runtime_ablation.py` on {report['date']} ({report['machine']}). "
             f"OOD-dev: {report['ood_dev_rows']} rows; each setting at its own operating point (1 % of the benign rows "
             "blocked, 3 % flagged), and at the shipped thresholds. Latency: `check()` of one text on one thread, "
             f"{report['latency_texts']} texts of the bench's prompt mix, all settings in one process.", "",
             "| setting | OOD-dev score | recall @0.1% FPR | @1% | ROC AUC | score at shipped thresholds | benign FPR "
             "there | p50 ms | p95 ms | mean ms | early exit | model MB |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in report["settings"].items():
        o, s, lat = r["ood_dev"]["own_point"], r["ood_dev"]["at_shipped_thresholds"], r["latency"]
        lines.append(f"| {name} | {100 * o['pint_score']:.1f} | {100 * o['recall_at_0.1pct_fpr']:.1f} | "
                     f"{100 * o['recall_at_1pct_fpr']:.1f} | {o['roc_auc']:.3f} | {100 * s['pint_score']:.1f} | "
                     f"{100 * s['benign_fpr']:.1f} % | {lat['p50_ms']:.2f} | {lat['p95_ms']:.2f} | {lat['mean_ms']:.2f} | "
                     f"{100 * lat['early_exit']:.1f} % | {r['model_mb']:.1f} |")
    base = report["settings"].get("shipped")
    if base:
        lines += ["", "Cells that moved by 5 points or more against `shipped` (share right at each one's own point):", ""]
        for name, r in report["settings"].items():
            if name == "shipped":
                continue
            moved = [f"{cell} {100 * base['ood_dev']['cells'][cell]:.1f} → {100 * acc:.1f}"
                     for cell, acc in r["ood_dev"]["cells"].items()
                     if cell in base["ood_dev"]["cells"] and abs(acc - base["ood_dev"]["cells"][cell]) >= 0.05]
            lines.append(f"- `{name}`: " + ("; ".join(moved) if moved else "none"))
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=Path("models/tinyguardrail-v0.9"))
    ap.add_argument("--suite", type=Path, default=Path("build/data/suites/ood_dev.jsonl.gz"))
    ap.add_argument("--shared", type=Path, default=Path("../shared/data"), help="public data root (bench texts)")
    ap.add_argument("--latency-texts", type=int, default=300)
    ap.add_argument("--threads", type=int, default=2, help="threads for the OOD-dev scoring")
    ap.add_argument("--only", default="", help="comma-separated settings (default: all)")
    ap.add_argument("--early-exit", default="", help="extra settings: early-exit thresholds, comma-separated")
    ap.add_argument("--limit", type=int, default=0, help="every k-th OOD-dev row, about this many (a quick check)")
    ap.add_argument("--out", type=Path, required=True, help="writes OUT.json and OUT.md")
    args = ap.parse_args()
    rows = read_suite(args.suite)
    if args.limit:
        rows = rows[:: max(1, len(rows) // args.limit)]
    texts, _ = load_mix(args.shared, args.latency_texts, 0)
    shipped = Guard.load(args.model, threads=1).policy
    report: dict[str, Any] = {"model": args.model.name, "date": datetime.now(UTC).isoformat(timespec="seconds"),
                              "machine": f"{platform.processor() or platform.machine()}, 1 thread for latency",
                              "ood_dev_rows": len(rows), "latency_texts": len(texts), "settings": {}}
    with tempfile.TemporaryDirectory() as tmp:
        extra = tuple(float(x) for x in args.early_exit.split(",") if x.strip())
        for name, make in settings(args.model, Path(tmp), extra).items():
            if args.only and name not in args.only.split(","):
                continue
            t0 = time.perf_counter()
            res = {"ood_dev": ood_dev(make, rows, shipped, args.threads), "latency": latency(make, texts),
                   "model_mb": model_mb(make)}
            report["settings"][name] = res
            o = res["ood_dev"]["own_point"]
            print(f"{name:<14} score {100 * o['pint_score']:.1f}  rec@1% {100 * o['recall_at_1pct_fpr']:.1f}  "
                  f"p95 {res['latency']['p95_ms']:.2f} ms  ({time.perf_counter() - t0:.0f} s)", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    args.out.with_suffix(".md").write_text(to_markdown(report), encoding="utf-8")
    print(f"wrote {args.out.with_suffix('.json')} and {args.out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
