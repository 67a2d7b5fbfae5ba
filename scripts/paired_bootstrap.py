"""How much of an OOD-dev difference between two models is the suite's own sampling noise: a paired, stratified
bootstrap of the selection metric.

Every system scores the suite once through the runtime (``tinyguardrail eval``'s prediction cache is reused, so the
models a report already scored cost nothing) at its own calibrated thresholds. Each bootstrap replicate resamples the
rows of every (cell, attack/benign) group with replacement, the same rows for all systems, and recomputes each
system's score (the PINT-style mean over groups of 10 rows or more, as ``harness.score_suite``), pooled attack
recall and recall at 1 % FPR. The report gives, for each system against the first, the observed difference, the
bootstrap's 95 % interval and the share of replicates in which the system is ahead. The thresholds stay fixed
(they were calibrated on this suite), and the training-seed variance is not in it: this is the part of the noise that
comes from which rows the suite holds.

    python scripts/paired_bootstrap.py --out docs/ablations/v29/bootstrap_ood_dev.md \\
        v0.17=models/tinyguardrail-v0.17 soup_m4=build/cand/soup_m4/model
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from tinyguardrail.eval import ood
from tinyguardrail.eval.cli_eval import named_path
from tinyguardrail.eval.harness import MIN_GROUP, GuardSystem, cached
from tinyguardrail.eval.metrics import recall_at_fpr


def replicate_metrics(flags: np.ndarray, scores: np.ndarray, y: np.ndarray, groups: list[np.ndarray],
                      idx: np.ndarray) -> dict[str, float]:  # fmt: skip
    """Score, pooled attack recall and recall at 1 % FPR of one system on the rows ``idx`` (a resample of the
    suite, listed group after group); ``groups`` are the resampled groups' row indices."""
    accs = [float((flags[g] == y[g]).mean()) for g in groups if len(g) >= MIN_GROUP]
    yy = y[idx]
    return {"score": float(np.mean(accs)), "attack_recall": float(flags[idx][yy].mean()),
            "recall_at_1pct_fpr": float(recall_at_fpr(yy, scores[idx], 0.01))}  # fmt: skip


def bootstrap(systems: dict[str, tuple[np.ndarray, np.ndarray]], y: np.ndarray, cells: list[str],
              n_boot: int = 1000, seed: int = 0) -> dict:  # fmt: skip
    """Paired stratified bootstrap. ``systems``: name -> (flags, scores) over the same rows; ``cells``: each row's
    group key. Returns each system's observed metrics and, for every system after the first, its differences from
    the first: observed, 2.5 / 97.5 percentiles, share of replicates ahead."""
    by_group: dict[str, list[int]] = defaultdict(list)
    for i, c in enumerate(cells):
        by_group[c].append(i)
    base = [np.array(v) for _, v in sorted(by_group.items())]
    rng = np.random.default_rng(seed)
    names = list(systems)
    observed = {n: replicate_metrics(*systems[n], y, base, np.concatenate(base)) for n in names}
    draws: dict[str, list[dict[str, float]]] = {n: [] for n in names}
    for _ in range(n_boot):
        groups = [g[rng.integers(0, len(g), len(g))] for g in base]
        idx = np.concatenate(groups)
        for n in names:
            draws[n].append(replicate_metrics(*systems[n], y, groups, idx))
    ref = names[0]
    diffs = {}
    for n in names[1:]:
        diffs[n] = {}
        for k in observed[ref]:
            d = np.array([a[k] - b[k] for a, b in zip(draws[n], draws[ref], strict=True)])
            diffs[n][k] = {"observed": observed[n][k] - observed[ref][k], "ci95": [float(np.percentile(d, 2.5)),
                           float(np.percentile(d, 97.5))], "share_ahead": float((d > 0).mean())}  # fmt: skip
    return {"reference": ref, "n_boot": n_boot, "seed": seed, "observed": observed, "differences": diffs}


def to_markdown(res: dict, suite_rows: int) -> str:
    ref = res["reference"]
    md = [f"# Paired bootstrap on OOD-dev ({suite_rows} rows), against {ref}", "",
          f"Written by `python scripts/paired_bootstrap.py` ({res['n_boot']} replicates, seed {res['seed']}): rows "
          "resampled within every (cell, attack/benign) group, the same rows for every system; thresholds fixed at "
          "each model's calibrated ones. Percentage points.", "",
          "| system | metric | value | difference from " + ref + " | 95 % interval | replicates ahead |",
          "|---|---|---|---|---|---|"]  # fmt: skip
    labels = {"score": "score", "attack_recall": "attack recall", "recall_at_1pct_fpr": "recall @1% FPR"}
    for n, metrics in res["observed"].items():
        for k, v in metrics.items():
            if n == ref:
                md.append(f"| {n} | {labels[k]} | {100 * v:.1f} | | | |")
                continue
            d = res["differences"][n][k]
            lo, hi = d["ci95"]
            md.append(f"| {n} | {labels[k]} | {100 * v:.1f} | {100 * d['observed']:+.2f} | "
                      f"{100 * lo:+.2f} to {100 * hi:+.2f} | {100 * d['share_ahead']:.0f} % |")
    return "\n".join(md) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("systems", nargs="+", metavar="NAME=MODEL_DIR", type=named_path, help="the first is the reference")
    p.add_argument("--data", type=Path, default=Path("build/data"))
    p.add_argument("--suite", default="ood_dev")
    p.add_argument("--cache", type=Path, default=Path("build/eval_cache"))
    p.add_argument("--n-boot", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, required=True, help="Markdown file (a .json twin is written beside it)")
    a = p.parse_args()
    rows = ood.load_suites(a.data / "suites", [a.suite])[a.suite]
    texts = [r.text for r in rows]
    y = np.array([r.is_attack for r in rows], dtype=bool)
    cells = [f"{r.cell}|{'attack' if r.is_attack else 'benign'}" for r in rows]
    systems = {}
    for name, model in a.systems:
        pred = cached(GuardSystem(model_dir=model), texts, a.cache)
        systems[name] = (np.asarray(pred.flags, dtype=bool), np.asarray(pred.scores, dtype=np.float64))
    res = bootstrap(systems, y, cells, a.n_boot, a.seed)
    res["models"] = {name: str(model) for name, model in a.systems}
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(to_markdown(res, len(rows)), encoding="utf-8")
    a.out.with_suffix(".json").write_text(json.dumps(res, indent=2), encoding="utf-8")
    print(f"wrote {a.out} and its .json twin")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
