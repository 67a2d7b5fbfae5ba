"""The shipped model's runtime on the OOD-dev suite, without retraining: what each part adds (``settings``), and
decision rules on its scores (``rules``). Only the OOD-dev suite is read, never a report set.

    python scripts/runtime_ablation.py settings --out docs/ablations/v09_runtime
    python scripts/runtime_ablation.py settings --only shipped --early-exit 0.8,0.7,0.6 --out docs/ablations/v09_early_exit
    python scripts/runtime_ablation.py rules --out docs/ablations/v09_policy

Both write ``<out>.json`` and ``<out>.md``; ``--limit N`` scores about N rows (every k-th) for a quick check.

**settings**: the same exported model under several runtime settings:

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
this process, after a warm-up; early exit is the share of rows the fast branch answered.

**rules**: one pass of the runtime over OOD-dev (each verdict's deciding row gives its class probabilities and its
view's window count), then:

1. *Window-count discount* (calibrate per text, not per row): a text read as ``k`` windows has ``k`` chances to
   score high, so its attack logit is lowered by ``c * ln k`` before the threshold; ``c = 1`` is the correction for
   ``k`` independent windows, ``c = 0`` the shipped rule.
2. *Class thresholds*: the logit of a text whose most probable attack class is direct injection / jailbreak is
   shifted by a per-class offset (obfuscation the reference), chosen on one half of the OOD-dev cells (split by a
   hash of the cell name) and read on the other, both ways, so a rule that only fits the cells it was chosen on shows.
3. *Macro calibration*: the thresholds put the *mean over benign cells* of the false-positive rate at 1 % / 3 %
   instead of the rate over benign rows (OOD-dev's benign rows are mostly short Tatoeba sentences).

Every rule is calibrated at its own operating point and scored as the suite's score (mean accuracy over cells of
10+ rows) and recall at 1 % FPR.
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import shutil
import tempfile
import time
import zlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from tinyguardrail.eval.bench import load_mix
from tinyguardrail.eval.calibrate import calibrate, calibration_policy, suite_verdicts
from tinyguardrail.eval.harness import MIN_GROUP, Predictions, score_suite
from tinyguardrail.eval.ood import read_suite
from tinyguardrail.labels import LABELS
from tinyguardrail.preprocess import FrontEnd, FrontEndSwitches
from tinyguardrail.runtime.guard import Guard
from tinyguardrail.runtime.policy import Policy

ATTACKS = LABELS[1:]

# ============================================================================================== settings

def _without_views(fe: FrontEnd) -> FrontEnd:
    """The front end whose guard scores only the original reading; detectors still decode (as in training)."""
    detect = fe.detect

    def detect_with_views(text: str, normalized: Any = None, views: Any = None) -> dict[str, float]:
        return detect(text, normalized=normalized)  # views=None: the detectors make their own

    return replace(fe, make_views=lambda _t: [], detect=detect_with_views, feature_vector_with=None)


def _fast_only_copy(model: Path, tmp: Path) -> Path:
    """The copy is made when the setting is first loaded, so ``--only`` without ``fast_only`` copies nothing."""
    out = tmp / "fast_only"
    if out.exists():
        return out
    shutil.copytree(model, out)
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    config["files"]["deep"] = None
    (out / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    return out


def settings(model: Path, tmp: Path, early_exit: tuple[float, ...] = ()
             ) -> dict[str, Callable[[Policy | None, int], Guard]]:  # fmt: skip
    """Name -> ``(policy, threads) -> Guard`` for every setting (``early_exit``: extra early-exit thresholds)."""
    extra = {f"early_exit_{t:g}": (lambda policy, threads, t=t: Guard.load(model, threads=threads, policy=policy,
                                                                         early_exit_threshold=t))
             for t in early_exit}
    return {
        "shipped": lambda policy, threads: Guard.load(model, threads=threads, policy=policy),
        "no_early_exit": lambda policy, threads: Guard.load(model, threads=threads, policy=policy,
                                                            early_exit_threshold=2.0, skip_decided=False),
        "fast_only": lambda policy, threads: Guard.load(_fast_only_copy(model, tmp), threads=threads, policy=policy),
        "no_views": lambda policy, threads: Guard.load(model, threads=threads, policy=policy,
                                                       frontend=_without_views(FrontEnd.default())),
        "script_marks": lambda policy, threads: Guard.load(model, threads=threads, policy=policy,
                                                           frontend=FrontEnd.default(FrontEndSwitches(script_marks=True))),
        **extra,
    }


def ood_dev(make: Callable[[Policy | None, int], Guard], rows: list, shipped: Policy, threads: int) -> dict:
    verdicts = suite_verdicts(make(calibration_policy(), threads), [r.text for r in rows])
    s = np.asarray([1.0 - v.scores["benign"] for v in verdicts])
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


def latency(guard: Guard, texts: list[str]) -> dict:
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


def model_mb(guard: Guard) -> float:
    return sum((guard.model_dir / f).stat().st_size for f in guard.files.values() if f) / 2**20


def settings_markdown(report: dict) -> str:
    lines = [f"# Runtime ablation: {report['model']}", "",
             f"Generated by `python scripts/runtime_ablation.py settings` on {report['date']} ({report['machine']}). "
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


def run_settings(args: argparse.Namespace, rows: list) -> tuple[dict, str]:
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
            served = make(None, 1)  # the setting as served, on one thread: latency and the files it loaded
            res = {"ood_dev": ood_dev(make, rows, shipped, args.threads), "latency": latency(served, texts),
                   "model_mb": model_mb(served)}
            report["settings"][name] = res
            o = res["ood_dev"]["own_point"]
            print(f"{name:<14} score {100 * o['pint_score']:.1f}  rec@1% {100 * o['recall_at_1pct_fpr']:.1f}  "
                  f"p95 {res['latency']['p95_ms']:.2f} ms  ({time.perf_counter() - t0:.0f} s)", flush=True)
    return report, settings_markdown(report)


# ================================================================================================= rules


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-7, 1 - 1e-7)
    return np.log(p / (1 - p))


def run_once(model: Path, texts: list[str], threads: int) -> dict[str, np.ndarray]:
    verdicts = suite_verdicts(Guard.load(model, threads=threads, policy=calibration_policy()), texts)
    return {"p": np.asarray([1.0 - v.scores["benign"] for v in verdicts]),
            "top": np.asarray([max(range(len(ATTACKS)), key=lambda j: v.scores[ATTACKS[j]]) for v in verdicts]),
            "windows": np.asarray([max(1, v.windows) for v in verdicts])}


def own_point(rows: list, s: np.ndarray) -> dict:
    cal = calibrate(rows, s, 0.01, 0.03)
    res = score_suite(rows, Predictions(s, s >= cal["attack_threshold"] - cal["uncertain_margin"]))
    return {"score": res["pint_score"], "recall_at_1pct_fpr": res["recall_at_1pct_fpr"],
            "flag_recall": res["attack_recall"], "cells": res["cells"]}


def macro_threshold(rows: list, s: np.ndarray, fpr: float) -> float:
    """The lowest threshold whose mean false-positive rate over benign cells (10+ rows) is at most ``fpr``."""
    cells: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        if not r.is_attack:
            cells[r.cell].append(i)
    groups = [np.asarray(idx) for idx in cells.values() if len(idx) >= MIN_GROUP]
    cands = np.unique(np.concatenate([s[g] for g in groups]))[::-1]
    best = float(np.nextafter(cands[0], np.inf))
    for c in cands:  # descending: the macro rate only grows
        t = float(np.nextafter(c, np.inf))
        if np.mean([(s[g] >= t).mean() for g in groups]) > fpr:
            break
        best = t
    return best


def run_rules(args: argparse.Namespace, rows: list) -> tuple[dict, str]:
    got = run_once(args.model, [r.text for r in rows], args.threads)
    z, top, k = logit(got["p"]), got["top"], got["windows"]
    report: dict = {"model": args.model.name, "date": datetime.now(UTC).isoformat(timespec="seconds"),
                    "ood_dev_rows": len(rows), "multi_window_texts": int((k > 1).sum())}

    # 1. window-count discount
    disc = {}
    for c in (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0):
        r = own_point(rows, z - c * np.log(k))
        disc[str(c)] = {"score": r["score"], "recall_at_1pct_fpr": r["recall_at_1pct_fpr"],
                        **{cell: r["cells"][cell]["accuracy"] for cell in ("long_doc|benign", "long_doc|attack",
                                                                           "json_tool|benign", "json_tool|attack")
                           if cell in r["cells"]}}
    report["window_discount"] = disc

    # 2. class offsets, chosen on one half of the cells and read on the other
    half = np.asarray([zlib.crc32(r.cell.encode()) % 2 for r in rows])
    grid = (-1.0, -0.5, 0.0, 0.5, 1.0)
    table = {}
    for off in itertools.product(grid, grid):
        shift = np.asarray([off[0], off[1], 0.0])[top]
        s = z - shift
        table[off] = [own_point([rows[i] for i in np.flatnonzero(half == h)], s[half == h])["score"] for h in (0, 1)]
    picks = {}
    for h in (0, 1):
        best = max(table, key=lambda o: table[o][h])
        picks[f"chosen_on_half_{h}"] = {"offsets": {"direct_injection": best[0], "jailbreak": best[1]},
                                        "score_on_chosen_half": table[best][h],
                                        "score_on_other_half": table[best][1 - h],
                                        "shipped_rule_on_other_half": table[(0.0, 0.0)][1 - h]}
    report["class_offsets"] = picks

    # 3. macro calibration
    t_block = macro_threshold(rows, z, 0.01)
    t_flag = min(t_block, macro_threshold(rows, z, 0.03))
    macro = score_suite(rows, Predictions(z, z >= t_flag))
    row_based = own_point(rows, z)
    benign = np.asarray([not r.is_attack for r in rows])
    report["macro_calibration"] = {
        "macro": {"score": macro["pint_score"], "flag_recall": macro["attack_recall"],
                  "row_benign_fpr": macro["benign_fpr"], "block_recall": float((z[~benign] >= t_block).mean())},
        "rows": {"score": row_based["score"], "flag_recall": row_based["flag_recall"]},
    }
    return report, rules_markdown(report)


def rules_markdown(r: dict) -> str:
    lines = [f"# Decision rules on {r['model']}'s scores (OOD-dev, {r['ood_dev_rows']} rows)", "",
             f"Generated by `python scripts/runtime_ablation.py rules` on {r['date']}. Each rule at its own operating point "
             "(1 % of benign rows blocked, 3 % flagged); score = mean accuracy over cells of 10+ rows.", "",
             f"## Window-count discount ({r['multi_window_texts']} texts read as more than one window)", "",
             "| c | score | recall @1% FPR | long_doc benign | long_doc attack | json_tool benign | json_tool attack |",
             "|---|---|---|---|---|---|---|"]
    for c, v in r["window_discount"].items():
        cells = [f"{100 * v[k]:.1f}" if k in v else "–" for k in ("long_doc|benign", "long_doc|attack",
                                                                   "json_tool|benign", "json_tool|attack")]
        lines.append(f"| {c} | {100 * v['score']:.2f} | {100 * v['recall_at_1pct_fpr']:.1f} | " + " | ".join(cells) + " |")
    lines += ["", "## Class offsets (logit shift per most probable attack class), chosen on half of the cells", "",
              "| chosen on | offsets (direct injection, jailbreak) | score there | score on the other half | shipped rule "
              "on the other half |", "|---|---|---|---|---|"]
    for name, v in r["class_offsets"].items():
        o = v["offsets"]
        lines.append(f"| {name.rsplit('_', 1)[1]} | {o['direct_injection']:+.1f}, {o['jailbreak']:+.1f} | "
                     f"{100 * v['score_on_chosen_half']:.2f} | {100 * v['score_on_other_half']:.2f} | "
                     f"{100 * v['shipped_rule_on_other_half']:.2f} |")
    m = r["macro_calibration"]
    lines += ["", "## Calibration over benign cells instead of benign rows", "",
              "| thresholds from | score | flag recall | benign FPR over rows |", "|---|---|---|---|",
              f"| rows (shipped) | {100 * m['rows']['score']:.2f} | {100 * m['rows']['flag_recall']:.1f} | 3.0 |",
              f"| cells (macro) | {100 * m['macro']['score']:.2f} | {100 * m['macro']['flag_recall']:.1f} | "
              f"{100 * m['macro']['row_benign_fpr']:.1f} |"]
    return "\n".join(lines) + "\n"


# ================================================================================================== main


def main() -> int:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--model", type=Path, default=Path("models/tinyguardrail-v0.9"))
    common.add_argument("--suite", type=Path, default=Path("build/data/suites/ood_dev.jsonl.gz"))
    common.add_argument("--threads", type=int, default=2, help="threads for the OOD-dev scoring")
    common.add_argument("--limit", type=int, default=0, help="every k-th OOD-dev row, about this many (a quick check)")
    common.add_argument("--out", type=Path, required=True, help="writes OUT.json and OUT.md")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    st = sub.add_parser("settings", parents=[common], help="runtime settings: OOD-dev and latency")
    st.add_argument("--shared", type=Path, default=Path("../shared/data"), help="public data root (bench texts)")
    st.add_argument("--latency-texts", type=int, default=300)
    st.add_argument("--only", default="", help="comma-separated settings (default: all)")
    st.add_argument("--early-exit", default="", help="extra settings: early-exit thresholds, comma-separated")
    sub.add_parser("rules", parents=[common], help="decision rules on the shipped model's scores")
    args = ap.parse_args()
    rows = read_suite(args.suite)
    if args.limit:
        rows = rows[:: max(1, len(rows) // args.limit)]
    report, markdown = (run_settings if args.command == "settings" else run_rules)(args, rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    args.out.with_suffix(".md").write_text(markdown, encoding="utf-8")
    print(f"wrote {args.out.with_suffix('.json')} and {args.out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
