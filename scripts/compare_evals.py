"""One table of several ``tinyguardrail eval`` runs on the same suite (each run one system, e.g. candidates scored one
at a time with ``--suites-only ood_dev``): the suite-level numbers, then every (cell, label) group.

    python scripts/compare_evals.py --suite ood_dev --out docs/ablations/v13/candidates_ood_dev.md \
        tinyguardrail-v0.9=build/cand/eval_v09 v13n1=build/cand/eval_v13n1 ...

Each ``NAME=DIR`` is an eval ``--out`` folder (its ``eval/results.json``); NAME labels the column. Writes Markdown and,
beside it, the same numbers as JSON. Nothing is recomputed: the numbers are the eval runs' own.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tinyguardrail.eval.cli_eval import named_path

METRICS = (("pint_score", "score"), ("recall_at_1pct_fpr", "recall @1% FPR"), ("recall_at_0.1pct_fpr", "recall @0.1% FPR"),
           ("roc_auc", "ROC AUC"), ("attack_recall", "attack recall"), ("benign_fpr", "benign FPR"))  # fmt: skip


def load(path: Path, suite: str) -> dict:
    systems = json.loads((path / "eval" / "results.json").read_text(encoding="utf-8"))["systems"]
    if len(systems) != 1:
        raise SystemExit(f"{path}: {len(systems)} systems; expected one eval run per system")
    return next(iter(systems.values()))["suites"][suite]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="+", metavar="NAME=DIR", type=named_path)
    p.add_argument("--suite", default="ood_dev")
    p.add_argument("--out", type=Path, required=True, help="Markdown file (a .json twin is written beside it)")
    a = p.parse_args()
    runs = {}
    for name, path in a.runs:
        runs[name] = load(path, a.suite)
    names = list(runs)
    lines = [f"# {a.suite}: {', '.join(names)}", "",
             "Percentages, each system at its own operating point (the thresholds in its config.json). "
             "Written by `python scripts/compare_evals.py` from each eval run's `eval/results.json`.", "",
             "| metric | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]  # fmt: skip
    for key, label in METRICS:
        lines.append(f"| {label} | " + " | ".join(f"{100 * runs[n][key]:.1f}" for n in names) + " |")
    lines += ["", "| cell | label | n | " + " | ".join(names) + " |", "|---|---|---|" + "---|" * len(names)]
    for cell, info in runs[names[0]]["cells"].items():
        group, _, label = cell.partition("|")
        vals = [runs[n]["cells"].get(cell, {}).get("accuracy") for n in names]
        lines.append(f"| {group} | {label} | {info['n']} | "
                     + " | ".join("–" if v is None else f"{100 * v:.1f}" for v in vals) + " |")  # fmt: skip
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    keep = {n: {k: r[k] for k, _ in METRICS} | {"n": r["n"], "cells": r["cells"]} for n, r in runs.items()}
    a.out.with_suffix(".json").write_text(json.dumps({"suite": a.suite, "systems": keep}, indent=1) + "\n",
                                          encoding="utf-8")
    print(f"wrote {a.out} and {a.out.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
