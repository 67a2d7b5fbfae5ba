"""Evaluation suites over a built data set: held-out test split, eval-only sets, the 2025 attack suite, PINT.

Each suite is a list of ``Record`` rows plus how to score it; ``evaluate`` turns predictions into one JSON-able
dict. The predictor is any callable ``texts -> (pred ids [N], probs [N,4])``, so the same code scores the ONNX
runtime, a PyTorch checkpoint or a peer detector.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence

import numpy as np

from tinyguardrail.data.record import Record
from tinyguardrail.eval.metrics import classification_report, rate
from tinyguardrail.labels import LABEL2ID

Predictor = Callable[[Sequence[str]], tuple[np.ndarray, np.ndarray]]

#: attack_type prefixes of synthetic rows made by ``data.synth`` (attack side) and their benign twins.
BENIGN_SYNTH_PREFIX = "benign_"


def _groups(rows: Sequence[Record], key: Callable[[Record], str]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        out[key(r)].append(i)
    return dict(sorted(out.items()))


def pint_score(rows: Sequence[Record], pred: np.ndarray) -> dict:
    """PINT's published score: the mean over (category, label) groups of binary accuracy."""
    acc = {}
    for key, idx in _groups(rows, lambda r: f"{r.attack_type}|{'attack' if r.label != 'benign' else 'benign'}").items():
        truth = np.array([rows[i].label != "benign" for i in idx])
        acc[key] = float(((pred[idx] != 0) == truth).mean())
    return {"score": float(np.mean(list(acc.values()))) if acc else float("nan"), "groups": acc, "n": len(rows)}


def evaluate_rows(rows: Sequence[Record], predict: Predictor, batch_size: int = 256) -> dict:
    """Score ``rows``: overall report, per-source and per-attack-type detection / false-positive rates."""
    texts = [r.text for r in rows]
    preds, probs = [], []
    for i in range(0, len(texts), batch_size):
        p, pr = predict(texts[i : i + batch_size])
        preds.append(np.asarray(p))
        probs.append(np.asarray(pr))
    pred = np.concatenate(preds) if preds else np.zeros(0, dtype=np.int64)
    prob = np.concatenate(probs) if probs else np.zeros((0, 4))
    y = np.array([LABEL2ID[r.label] for r in rows], dtype=np.int64)
    flagged = pred != 0

    def breakdown(key: Callable[[Record], str]) -> dict:
        out = {}
        for name, idx in _groups(rows, key).items():
            is_attack = y[idx] != 0
            out[name] = {
                "n": len(idx),
                "flag_rate": rate(flagged[idx]),
                "kind": "detection" if is_attack.all() else ("false_positive" if (~is_attack).all() else "mixed"),
                "exact_label_accuracy": float((pred[idx] == y[idx]).mean()),
            }
        return out

    return {
        "report": classification_report(y, pred, prob) if len(rows) else {},
        "by_source": breakdown(lambda r: r.source),
        "by_attack_type": breakdown(lambda r: f"{r.label}/{r.attack_type}"),
        "_pred": pred,
    }


def transform_suite(test_result: dict, rows: Sequence[Record], transforms: Sequence[str]) -> dict:
    """2025 attack suite view of a test-split result: detection per transform, and FPR of the benign twins."""
    by = test_result["by_attack_type"]
    out = {}
    for t in transforms:
        att = by.get(f"obfuscation/{t}")
        ben = by.get(f"benign/{BENIGN_SYNTH_PREFIX}{t}")
        out[t] = {
            "detection": att["flag_rate"] if att else None,
            "n_attack": att["n"] if att else 0,
            "benign_fpr": ben["flag_rate"] if ben else None,
            "n_benign": ben["n"] if ben else 0,
        }
    return out
