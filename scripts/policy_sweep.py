"""Decision rules on top of the shipped model's scores, tried on the OOD-dev suite (no retraining).

    python scripts/policy_sweep.py --model models/tinyguardrail-v0.9 --out docs/ablations/v09_policy

One pass of the runtime over OOD-dev (``eval.calibrate``'s scores: the largest attack probability over the windows
and reliable views; each verdict's deciding row gives its class probabilities and its view's window count), then:

1. **Window-count discount** (calibrate per text, not per row): a text read as ``k`` windows has ``k`` chances to
   score high, so its attack logit is lowered by ``c * ln k`` before the threshold; ``c = 1`` is the correction for
   ``k`` independent windows, ``c = 0`` the shipped rule. The deciding row stands for the text (its view's ``k``).
2. **Class thresholds**: the logit of a text whose most probable attack class is direct injection / jailbreak is
   shifted by a per-class offset (obfuscation the reference). Chosen on one half of the OOD-dev cells (split by a
   hash of the cell name) and read on the other, both ways, so a rule that only fits the cells it was chosen on shows.
3. **Macro calibration**: the thresholds put the *mean over benign cells* of the false-positive rate at 1 % / 3 %
   instead of the rate over benign rows (OOD-dev's benign rows are mostly short Tatoeba sentences).

Every rule is calibrated at its own operating point (1 % of the benign rows blocked, 3 % flagged, or the macro
rates for 3.) and scored as the suite's score (mean accuracy over cells of 10+ rows) and recall at 1 % FPR. Only
the OOD-dev suite is read. Writes ``<out>.json`` and ``<out>.md``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import zlib
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from tinyguardrail.eval.calibrate import calibrate
from tinyguardrail.eval.harness import MIN_GROUP, Predictions, score_suite
from tinyguardrail.eval.ood import read_suite
from tinyguardrail.labels import LABELS
from tinyguardrail.runtime.guard import Guard
from tinyguardrail.runtime.policy import Policy

ATTACKS = LABELS[1:]


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-7, 1 - 1e-7)
    return np.log(p / (1 - p))


def run_once(model: Path, texts: list[str], threads: int) -> dict[str, np.ndarray]:
    guard = Guard.load(model, threads=threads, policy=Policy(attack_threshold=1e-9, uncertain_margin=0.0,
                                                             class_thresholds={}))
    p, top, windows = [], [], []
    for i in range(0, len(texts), 64):
        for v in guard.check_batch(texts[i : i + 64]):
            p.append(1.0 - v.scores["benign"])
            top.append(max(range(len(ATTACKS)), key=lambda j: v.scores[ATTACKS[j]]))
            windows.append(max(1, v.windows))
    return {"p": np.asarray(p), "top": np.asarray(top), "windows": np.asarray(windows)}


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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=Path("models/tinyguardrail-v0.9"))
    ap.add_argument("--suite", type=Path, default=Path("build/data/suites/ood_dev.jsonl.gz"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--limit", type=int, default=0, help="every k-th OOD-dev row, about this many (a quick check)")
    ap.add_argument("--out", type=Path, required=True, help="writes OUT.json and OUT.md")
    args = ap.parse_args()
    rows = read_suite(args.suite)
    if args.limit:
        rows = rows[:: max(1, len(rows) // args.limit)]
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
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    args.out.with_suffix(".md").write_text(to_markdown(report), encoding="utf-8")
    print(to_markdown(report))
    return 0


def to_markdown(r: dict) -> str:
    lines = [f"# Decision rules on {r['model']}'s scores (OOD-dev, {r['ood_dev_rows']} rows)", "",
             f"Generated by `python scripts/policy_sweep.py` on {r['date']}. Each rule at its own operating point "
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


if __name__ == "__main__":
    raise SystemExit(main())
