"""``scripts/paired_bootstrap.py``: the paired, stratified bootstrap of OOD-dev differences."""

from __future__ import annotations

import numpy as np
from _tg_scripts import load_script


def _suite(n_cells: int = 4, per: int = 20, seed: int = 0, small: int = 0):
    """Rows alternating benign / attack over ``n_cells`` cells of ``per`` rows each, plus ``small`` rows of a cell too
    small to be scored (fewer than ``MIN_GROUP`` per label)."""
    rng = np.random.default_rng(seed)
    cells = [f"c{i // per % n_cells}|{'attack' if i % 2 else 'benign'}" for i in range(n_cells * per * 2)]
    cells += [f"tiny|{'attack' if i % 2 else 'benign'}" for i in range(small)]
    y = np.array([c.endswith("attack") for c in cells])
    scores = np.where(y, rng.uniform(0.3, 1.0, len(y)), rng.uniform(0.0, 0.7, len(y)))
    return cells, y, scores


def test_observed_metrics_match_the_harness_score_and_a_copy_differs_by_nothing():
    bs = load_script("paired_bootstrap")
    from tinyguardrail.eval.harness import Predictions, score_suite
    from tinyguardrail.eval.ood import SuiteRow

    cells, y, scores = _suite(small=6)
    flags = scores >= 0.5
    flags[-6:] = ~(y[-6:])  # the tiny cell is all wrong: it must not count in the score
    res = bs.bootstrap({"a": (flags, scores), "b": (flags.copy(), scores.copy())}, y, cells, n_boot=50)
    rows = [SuiteRow(f"t{i}", "direct_injection" if a else "benign", c.split("|")[0], "s", "en", "")
            for i, (a, c) in enumerate(zip(y, cells, strict=True))]  # fmt: skip
    harness = score_suite(rows, Predictions(scores, flags))
    assert abs(res["observed"]["a"]["score"] - harness["pint_score"]) < 1e-12
    assert abs(res["observed"]["a"]["attack_recall"] - harness["attack_recall"]) < 1e-12
    assert abs(res["observed"]["a"]["recall_at_1pct_fpr"] - harness["recall_at_1pct_fpr"]) < 1e-12
    assert "tiny|attack" in harness["cells"] and harness["cells"]["tiny|attack"]["accuracy"] == 0.0
    d = res["differences"]["b"]["score"]
    assert d["observed"] == 0.0 and d["ci95"] == [0.0, 0.0] and d["share_ahead"] == 0.0


def test_a_system_right_on_more_rows_is_never_behind_and_mostly_ahead():
    bs = load_script("paired_bootstrap")
    cells, y, scores = _suite(seed=1)
    worse = scores >= 0.5
    better = worse.copy()
    better[np.flatnonzero(y & ~worse)[:5]] = True  # five more attacks caught, nothing else changed
    res = bs.bootstrap({"ref": (worse, scores), "new": (better, scores)}, y, cells, n_boot=200, seed=3)
    d = res["differences"]["new"]
    assert d["score"]["observed"] > 0 and d["attack_recall"]["observed"] > 0
    assert d["score"]["ci95"][0] >= 0.0 and d["attack_recall"]["ci95"][0] >= 0.0  # never behind
    assert d["attack_recall"]["share_ahead"] > 0.9
    md = bs.to_markdown(res, len(y))
    assert "| new | score |" in md and "replicates ahead" in md
