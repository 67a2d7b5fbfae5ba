"""Why a model's long texts do or do not exit early: for the window rows of the benchmark's prompts mix texts over
``--min-chars`` characters, the router's choice (fast / deep / both) and the fast branch's confidence (largest class
probability, and the block-or-allow probability that the ``attack`` gate reads), as ``Guard.check`` computes them.

    python scripts/exit_stats.py models/tinyguardrail-v0.15 build/cand/<candidate>/model > build/router_long_texts.txt

A diagnostic: it wraps the runtime's ``combine_probs`` to see its inputs.
"""

from __future__ import annotations

import argparse

import numpy as np

import tinyguardrail.runtime.guard as guard_module
from tinyguardrail import artifact
from tinyguardrail.data.io import default_data_root
from tinyguardrail.eval.bench import load_mix


def stats(model: str, texts: list[str]) -> str:
    seen = []
    original = guard_module.combine_probs

    def spy(fast_logits, fast_severity, router, *args, **kwargs):
        p = artifact.softmax(fast_logits)
        seen.append((p.max(-1), 1 - p[:, 0], np.asarray(router).argmax(-1)))
        return original(fast_logits, fast_severity, router, *args, **kwargs)

    guard_module.combine_probs = spy
    try:
        guard = guard_module.Guard.load(model, threads=1)
        for t in texts:
            guard.check(t)
    finally:
        guard_module.combine_probs = original
    label_conf = np.concatenate([s[0] for s in seen])
    p_attack = np.concatenate([s[1] for s in seen])
    route = np.concatenate([s[2] for s in seen])
    decision = np.maximum(p_attack, 1 - p_attack)
    return (f"{model} rows {len(route)} route fast {(route == 0).mean():.3f} label-conf>=.9 "
            f"{(label_conf >= 0.9).mean():.3f} decision-conf>=.9 {(decision >= 0.9).mean():.3f} "
            f"routes (fast, deep, both) {np.bincount(route, minlength=3).tolist()}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("models", nargs="+")
    p.add_argument("--min-chars", type=int, default=1500)
    a = p.parse_args()
    texts, _ = load_mix(default_data_root(), 300, 0)
    long_texts = [t for t in texts if len(t) > a.min_chars]
    for m in a.models:
        print(stats(m, long_texts), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
