"""Classification metrics for a guard (NumPy only): multi-class, binary attack-vs-benign, calibration.

``y_true`` / ``y_pred`` are class ids (0 benign, 1 direct_injection, 2 jailbreak, 3 obfuscation);
``p_attack`` is the probability that a text is an attack (1 - P(benign)).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tinyguardrail.labels import LABELS


def _safe_div(a: float, b: float) -> float:
    return float(a / b) if b else float("nan")


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve by the rank-sum formula (ties get average ranks)."""
    y = np.asarray(y, dtype=bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(score, kind="mergesort")
    ranks = np.empty(len(score), dtype=np.float64)
    sorted_scores = np.asarray(score)[order]
    i = 0
    while i < len(score):  # average ranks over ties
        j = i
        while j + 1 < len(score) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def recall_at_fpr(y: np.ndarray, score: np.ndarray, max_fpr: float = 0.01) -> float:
    """Highest attack recall reachable with a threshold whose false-positive rate is <= ``max_fpr``."""
    y = np.asarray(y, dtype=bool)
    neg = np.sort(np.asarray(score)[~y])[::-1]
    if len(neg) == 0 or y.sum() == 0:
        return float("nan")
    k = int(np.floor(max_fpr * len(neg)))  # number of negatives allowed above the threshold
    thr = neg[k] if k < len(neg) else -np.inf
    return float((np.asarray(score)[y] > thr).mean())


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = 15) -> float:
    """ECE of the top-class confidence, equal-width bins."""
    confidence = np.asarray(confidence, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    if len(confidence) == 0:
        return float("nan")
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            ece += m.mean() * abs(confidence[m].mean() - correct[m].mean())
    return float(ece)


def classification_report(
    y_true: Sequence[int], y_pred: Sequence[int], probs: np.ndarray | None = None
) -> dict:
    """Accuracy, balanced accuracy, per-class P/R/F1, binary attack-vs-benign metrics, AUC, ECE."""
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    out: dict = {"n": int(len(y_true)), "accuracy": _safe_div((y_true == y_pred).sum(), len(y_true))}
    per_class = {}
    recalls = []
    for c, name in enumerate(LABELS):
        tp = int(((y_pred == c) & (y_true == c)).sum())
        fp = int(((y_pred == c) & (y_true != c)).sum())
        fn = int(((y_pred != c) & (y_true == c)).sum())
        p, r = _safe_div(tp, tp + fp), _safe_div(tp, tp + fn)
        per_class[name] = {"precision": p, "recall": r, "f1": _safe_div(2 * p * r, p + r), "support": tp + fn}
        if tp + fn:
            recalls.append(r)
    out["per_class"] = per_class
    out["balanced_accuracy"] = float(np.mean(recalls)) if recalls else float("nan")
    t_att, p_att = y_true != 0, y_pred != 0
    tp, fp = int((t_att & p_att).sum()), int((~t_att & p_att).sum())
    fn, tn = int((t_att & ~p_att).sum()), int((~t_att & ~p_att).sum())
    prec, rec = _safe_div(tp, tp + fp), _safe_div(tp, tp + fn)
    out["binary"] = {
        "precision": prec, "recall": rec, "f1": _safe_div(2 * prec * rec, prec + rec),
        "fpr": _safe_div(fp, fp + tn), "tp": tp, "fp": fp, "fn": fn, "tn": tn,
        "balanced_accuracy": np.nanmean([_safe_div(tp, tp + fn), _safe_div(tn, tn + fp)]).item(),
    }
    if probs is not None:
        probs = np.asarray(probs, dtype=np.float64)
        p_attack = 1.0 - probs[:, 0]
        out["binary"]["roc_auc"] = roc_auc(t_att, p_attack)
        out["binary"]["recall_at_1pct_fpr"] = recall_at_fpr(t_att, p_attack, 0.01)
        out["ece"] = expected_calibration_error(probs.max(axis=1), probs.argmax(axis=1) == y_true)
    return out


def rate(flags: Sequence[bool]) -> float:
    """Share of True values (detection rate on attacks, false-positive rate on benign sets)."""
    flags = np.asarray(flags, dtype=bool)
    return float(flags.mean()) if len(flags) else float("nan")
