"""Which rows (views x windows) of long texts run the deep branch, and why: a census of the router's choices.

    python scripts/route_census.py --model models/tinyguardrail-v0.15 --json docs/ablations/v26/route_census.json

Reads the long texts (over ``--min-chars``) of the traffic mix that ``tinyguardrail bench --mix traffic`` measures
(same loader and seed), checks each one with the model, and counts per row: the router's argmax (0 fast only, 1 deep
only, 2 both), the branch that answered (0 fast, 1 deep, 2 both) and, for the rows that ran the deep branch, the
fast branch's ``P(attack)``. Rows are split into a text's first window and its later windows. A diagnostic for
documents' latency: an exit gate can only skip rows whose fast answer is already sure, so this says how many of
the rows that pay the deep branch a gate could reach. Nothing is chosen on it; its texts are not written.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import numpy as np

import tinyguardrail.runtime.guard as guard_module
from tinyguardrail.artifact import exit_confidence, softmax
from tinyguardrail.eval.bench import load_traffic_mix
from tinyguardrail.eval.text_bench import _data_root

ROUTES = ("fast", "deep", "both")


def census(g: guard_module.Guard, texts: list[str], sure: float) -> dict:
    """Check ``texts`` with the loaded guard ``g`` and count its rows by router choice and answering branch (see the
    module docstring)."""
    rows: list[tuple[int, int, float, float]] = []  # route, branch, fast P(attack), exit confidence
    windows: list[int] = []
    original = guard_module.combine_probs

    def counting(fast_logits, fast_sev, router, threshold, run_deep, benign_below=None, gate="label"):
        out = original(fast_logits, fast_sev, router, threshold, run_deep, benign_below, gate=gate)
        p = softmax(fast_logits)
        conf = exit_confidence(p, gate)
        route = np.asarray(router).argmax(axis=-1)
        rows.extend(zip(route.tolist(), out[2].tolist(), (1.0 - p[:, 0]).tolist(), conf.tolist(), strict=True))
        return out

    guard_module.combine_probs = counting
    try:
        for text in texts:
            before = len(rows)
            item_rows: list = []
            g._prepare(0, text, item_rows)  # the same rows check() scores, for their window indices
            windows.extend(r.window for r in item_rows)
            g.check(text)
            if len(rows) - before != len(item_rows):
                raise RuntimeError("rows scored differ from rows prepared")
    finally:
        guard_module.combine_probs = original
    out: dict = {"model": g.info()["name"], "texts": len(texts), "rows": len(rows),
                 "early_exit_threshold": g.early_exit_threshold, "early_exit_gate": g.early_exit_gate,
                 "sure": sure, "parts": {}}
    arr = np.array([(r[0], r[1], r[2], r[3], w) for r, w in zip(rows, windows, strict=True)], dtype=np.float64)
    for part, sel in (("first window", arr[:, 4] == 0), ("later windows", arr[:, 4] > 0)):
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
    p.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    p.add_argument("--data-root", type=Path, default=None)
    p.add_argument("--n", type=int, default=600, help="texts drawn from the traffic mix (bench's loader)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--min-chars", type=int, default=1000)
    p.add_argument("--sure", type=float, default=0.9, help="fast exit confidence counted as sure")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args()
    texts, _ = load_traffic_mix(_data_root(args.data_root), args.n, args.seed)
    long = [t for t in texts if len(t) > args.min_chars]
    res = census(guard_module.Guard.load(args.model, threads=1), long, args.sure)
    res["mix"] = {"n": args.n, "seed": args.seed, "min_chars": args.min_chars}
    print(json.dumps(res, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(res, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
