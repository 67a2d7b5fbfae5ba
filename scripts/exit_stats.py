"""Why a model's long texts do or do not exit early: for the window rows of the benchmark's texts over
``--min-chars`` characters, the router's choice (fast / deep / both) and the fast branch's confidence (largest class
probability, and the block-or-allow probability that the ``attack`` gate reads), as ``Guard.check`` computes them.

    python scripts/exit_stats.py build/baselines/tinyguardrail-v0.15 build/cand/<candidate>/model > build/router_long_texts.txt
    python scripts/exit_stats.py build/baselines/tinyguardrail-v0.15 --mix traffic --n 600 --min-chars 1000 \\
        --census-json docs/ablations/v26/route_census.json

``--mix``: the texts of ``tinyguardrail bench``'s prompts mix (default, 300 drawn) or of its traffic mix (same loaders
and seed). One summary line per model. With ``--census-json``, the first model's census is also written: per row, split
into a text's first window and its later windows, the router's argmax (fast only, deep only, both), the branch that
answered, how many rows ran the deep branch although the fast answer was at least ``--sure`` sure (by the model's
exit gate), and the fast ``P(attack)`` of the deep-branch rows. An exit gate can only skip rows whose fast answer is
already sure, so this says how many of the rows that pay the deep branch a gate could reach.

A diagnostic: one pass per model, wrapping the runtime's ``combine_probs`` (and ``Guard._infer`` / ``Guard._chunks``
for the windows of the rows in the order they are scored) to see their inputs. Nothing is chosen on it; its texts are not written.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import numpy as np

import tinyguardrail.runtime.guard as guard_module
from tinyguardrail import artifact
from tinyguardrail.data.io import default_data_root
from tinyguardrail.eval.bench import load_mix, load_traffic_mix

ROUTES = ("fast", "deep", "both")


def spy_rows(g: guard_module.Guard, texts: list[str]) -> np.ndarray:
    """Check ``texts`` one by one with the loaded guard ``g``; one row per scored row (view x window), in scoring order:
    [router argmax, answering branch, fast P(attack), fast exit confidence by the model's gate, fast largest class
    probability, window index]. Wraps ``combine_probs`` for the first five and ``Guard._infer`` / ``Guard._chunks``
    for the rows' windows in the order they are scored (``_infer`` sorts them by length)."""
    scored: list[tuple[int, int, float, float, float]] = []
    windows: list[int] = []
    original, infer, chunks_of = guard_module.combine_probs, g._infer, g._chunks
    current: list = []  # the rows of the _infer call in progress

    def spy(fast_logits, fast_sev, router, threshold, run_deep, benign_below=None, gate="label"):
        out = original(fast_logits, fast_sev, router, threshold, run_deep, benign_below, gate=gate)
        p = artifact.softmax(fast_logits)
        route = np.asarray(router).argmax(axis=-1)
        scored.extend(zip(route.tolist(), out[2].tolist(), (1.0 - p[:, 0]).tolist(),
                          artifact.exit_confidence(p, gate).tolist(), p.max(axis=-1).tolist(), strict=True))
        return out

    def infer_spy(rows):
        current[:] = rows
        return infer(rows)

    def chunks(lengths):
        out = chunks_of(lengths)
        windows.extend(current[i].window for chunk in out for i in chunk)
        return out

    guard_module.combine_probs, g._infer, g._chunks = spy, infer_spy, chunks
    try:
        for text in texts:
            g.check(text)
    finally:
        guard_module.combine_probs = original
        del g._infer, g._chunks  # the instance attributes set above; the class methods show again
    if len(scored) != len(windows):
        raise RuntimeError("the rows scored differ from the rows chunked")
    return np.array([(*r, w) for r, w in zip(scored, windows, strict=True)], dtype=np.float64).reshape(-1, 6)


def stats(model: str, arr: np.ndarray) -> str:
    """One line: the share of rows the router sends to the fast branch alone, and of rows the fast branch is 0.9 sure
    of by its largest class probability and by its block-or-allow probability."""
    route, p_attack, label_conf = arr[:, 0].astype(int), arr[:, 2], arr[:, 4]
    decision = np.maximum(p_attack, 1 - p_attack)
    return (f"{model} rows {len(route)} route fast {(route == 0).mean():.3f} label-conf>=.9 "
            f"{(label_conf >= 0.9).mean():.3f} decision-conf>=.9 {(decision >= 0.9).mean():.3f} "
            f"routes (fast, deep, both) {np.bincount(route, minlength=3).tolist()}")


def census(g: guard_module.Guard, arr: np.ndarray, texts: int, sure: float) -> dict:
    """The rows of ``spy_rows`` counted by window, router choice and answering branch (see the module docstring)."""
    out: dict = {"model": g.info()["name"], "texts": texts, "rows": len(arr),
                 "early_exit_threshold": g.early_exit_threshold, "early_exit_gate": g.early_exit_gate,
                 "sure": sure, "parts": {}}
    for part, sel in (("first window", arr[:, 5] == 0), ("later windows", arr[:, 5] > 0)):
        a = arr[sel]
        deep = a[a[:, 1] != 0]
        part_out = {
            "rows": int(len(a)),
            "router": {ROUTES[k]: v for k, v in sorted(Counter(a[:, 0].astype(int).tolist()).items())},
            "answered_by": {ROUTES[k]: v for k, v in sorted(Counter(a[:, 1].astype(int).tolist()).items())},
            "deep_rows": int(len(deep)),
            "deep_rows_fast_sure": int((deep[:, 3] >= sure).sum()),
        }
        for k in (1, 2):
            d = deep[deep[:, 0] == k]
            if len(d):
                q = np.quantile(d[:, 2], [0.1, 0.5, 0.9])
                part_out[f"router_{ROUTES[k]}_fast_p_attack_q10_q50_q90"] = [round(float(x), 3) for x in q]
        out["parts"][part] = part_out
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("models", nargs="+")
    p.add_argument("--min-chars", type=int, default=1500)
    p.add_argument("--mix", choices=("prompts", "traffic"), default="prompts")
    p.add_argument("--n", type=int, default=300, help="texts drawn from the mix (bench's loader)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sure", type=float, default=0.9, help="census: fast exit confidence counted as sure")
    p.add_argument("--census-json", type=Path, default=None, help="write the first model's census here")
    a = p.parse_args()
    load = load_traffic_mix if a.mix == "traffic" else load_mix
    texts, _ = load(default_data_root(), a.n, a.seed)
    long_texts = [t for t in texts if len(t) > a.min_chars]
    for i, m in enumerate(a.models):
        g = guard_module.Guard.load(m, threads=1)
        arr = spy_rows(g, long_texts)
        print(stats(m, arr), flush=True)
        if i == 0 and a.census_json:
            res = census(g, arr, len(long_texts), a.sure)
            res["mix"] = {"mix": a.mix, "n": a.n, "seed": a.seed, "min_chars": a.min_chars}
            a.census_json.parent.mkdir(parents=True, exist_ok=True)
            a.census_json.write_text(json.dumps(res, indent=2) + "\n")
            print(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
