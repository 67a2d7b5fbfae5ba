"""Operating points from the OOD-dev suite: the attack threshold and the uncertain band of a model's policy, and the
score training uses to pick its checkpoint. Only the OOD-dev suite is ever read here (never a report set).

A guard flags a text (``is_safe`` false) when its attack score reaches ``attack_threshold - uncertain_margin``, and
calls it an attack (blocks) from ``attack_threshold`` on. ``calibrate`` puts the attack threshold where the OOD-dev
benign rows are blocked at most ``attack_fpr`` of the time and the lower edge of the uncertain band where they are
flagged at most ``flag_fpr`` of the time.

Scores are the runtime's: with a policy of (almost) zero threshold and no band, a verdict's ``1 - P(benign)`` is the largest
attack probability over the text's windows and its reliable decoded views, which is exactly what the shipped policy
compares with its threshold (a view counts when it reaches the threshold), so one pass gives every operating point.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tinyguardrail.eval.harness import MIN_GROUP, Predictions, score_suite
from tinyguardrail.eval.ood import SuiteRow, load_suites


def threshold_at_fpr(benign_scores: np.ndarray, fpr: float) -> float:
    """The lowest threshold ``t`` with ``mean(benign >= t) <= fpr``: just above the (k+1)-th highest benign score,
    k = floor(fpr * n) (ties with it fall below too)."""
    s = np.sort(np.asarray(benign_scores, dtype=np.float64))[::-1]
    if len(s) == 0:
        return 0.5
    k = int(np.floor(fpr * len(s)))  # benign rows allowed at or above the threshold
    if k >= len(s):
        return float(s[-1])
    # the (k+1)-th highest must fall below t; ties with it must all fall below too
    return float(np.nextafter(s[k], np.inf))


def operating_point(rows: Sequence[SuiteRow], scores: np.ndarray, fpr: float) -> dict:
    """The suite scored at the threshold that flags ``fpr`` of its benign rows (checkpoint selection), with each
    (cell, attack / benign) group's accuracy there under ``cells`` (4 decimals), so a training log shows the
    language and carrier cells of every epoch, not the score alone."""
    scores = np.asarray(scores, dtype=np.float64)
    benign = np.array([not r.is_attack for r in rows], dtype=bool)
    t = threshold_at_fpr(scores[benign], fpr)
    res = score_suite(rows, Predictions(scores, scores >= t))
    return {"threshold": t, "fpr_target": fpr, **{k: res[k] for k in ("pint_score", "attack_recall", "benign_fpr",
                                                                     "roc_auc", "recall_at_1pct_fpr")},
            "cells": {k: round(v["accuracy"], 4) for k, v in res["cells"].items()}}  # fmt: skip


def calibrate(rows: Sequence[SuiteRow], scores: np.ndarray, attack_fpr: float, flag_fpr: float) -> dict:
    if not 0 <= attack_fpr <= flag_fpr < 1:
        raise ValueError(f"need 0 <= attack_fpr <= flag_fpr < 1, got {attack_fpr}, {flag_fpr}")
    scores = np.asarray(scores, dtype=np.float64)
    benign = np.array([not r.is_attack for r in rows], dtype=bool)
    t_attack = threshold_at_fpr(scores[benign], attack_fpr)
    t_flag = min(t_attack, threshold_at_fpr(scores[benign], flag_fpr))
    flags, blocks = scores >= t_flag, scores >= t_attack
    res = score_suite(rows, Predictions(scores, flags))
    return {
        "attack_threshold": t_attack, "uncertain_margin": t_attack - t_flag,  # exact: the rates below hold for them
        "attack_fpr_target": attack_fpr, "flag_fpr_target": flag_fpr,
        "ood_dev_block_rate_benign": float(blocks[benign].mean()), "ood_dev_flag_rate_benign": float(flags[benign].mean()),
        "ood_dev_block_recall": float(blocks[~benign].mean()), "ood_dev_flag_recall": float(flags[~benign].mean()),
        "ood_dev_pint_score": res["pint_score"], "min_group": MIN_GROUP, "rows": len(rows),
    }


def calibration_policy() -> Any:
    """The policy under which a verdict's ``1 - P(benign)`` is the runtime's attack score: (almost) zero threshold,
    no band, so every reliable view counts (see the module docstring). Load a guard with it to score a suite."""
    from tinyguardrail.runtime.policy import Policy

    return Policy(attack_threshold=1e-9, uncertain_margin=0.0, class_thresholds={})


def suite_verdicts(guard: Any, texts: Sequence[str], batch: int = 64) -> list[Any]:
    """``guard``'s verdicts for ``texts``, ``batch`` texts per ``check_batch`` call."""
    out: list[Any] = []
    for i in range(0, len(texts), batch):
        out += guard.check_batch(list(texts[i : i + batch]))
    return out


def runtime_scores(model: Path | None, texts: Sequence[str], threads: int = 2) -> np.ndarray:
    """Each text's attack score as the runtime computes it (see the module docstring)."""
    from tinyguardrail.runtime.guard import Guard

    guard = Guard.load(model, threads=threads, policy=calibration_policy())
    return np.asarray([1.0 - v.scores["benign"] for v in suite_verdicts(guard, texts)])


def run(args: argparse.Namespace) -> int:
    rows = load_suites(args.data / "suites", ["ood_dev"])["ood_dev"]
    scores = runtime_scores(args.model, [r.text for r in rows], args.threads)
    res = calibrate(rows, scores, args.attack_fpr, args.flag_fpr)
    res |= {"model": str(args.model), "suite": "ood_dev", "date": time.strftime("%Y-%m-%d")}
    print(json.dumps(res, indent=2))
    if args.write:
        path = args.model / "config.json"
        cfg = json.loads(path.read_text(encoding="utf-8"))
        cfg["thresholds"] = {"attack": res["attack_threshold"]}
        cfg["policy"] = {**cfg.get("policy", {}), "uncertain_margin": res["uncertain_margin"]}
        cfg["calibration"] = res
        path.write_text(json.dumps(cfg, indent=2) + "\n", encoding="utf-8")
        print(f"wrote the thresholds into {path}")
    return 0
