"""Which rows of one OOD-dev cell a candidate flags and a reference model does not: source, origin, language, length
and both scores of each (never the text: the suites are built from public data that stays out of the repository).
Reads the predictions ``tinyguardrail eval`` / ``tinyguardrail candidate`` cached in ``build/eval_cache`` (scores
the models that are not cached yet).

    python scripts/flagged_rows.py --cell indirect/doc --label benign models/tinyguardrail-v0.17 build/cand/<candidate>/model
"""

from __future__ import annotations

import argparse
import collections
from pathlib import Path

from tinyguardrail.data.io import DEFAULT_BUILD
from tinyguardrail.eval import harness, ood


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("reference", type=Path, help="model folder whose flags are the reference")
    p.add_argument("candidate", type=Path, help="model folder compared with it")
    p.add_argument("--cell", required=True, help="OOD-dev cell, e.g. indirect/doc")
    p.add_argument("--label", default="benign", choices=("benign", "attack"))
    p.add_argument("--data", type=Path, default=DEFAULT_BUILD)
    p.add_argument("--cache", type=Path, default=Path("build/eval_cache"))
    a = p.parse_args()
    rows = ood.load_suites(a.data / "suites", ["ood_dev"])["ood_dev"]
    preds = [harness.cached(harness.GuardSystem(m, "", threads=2), [r.text for r in rows], a.cache)
             for m in (a.reference, a.candidate)]
    idx = [i for i, r in enumerate(rows) if r.cell == a.cell and (r.is_attack == (a.label == "attack"))]
    ref, cand = preds
    print(f"{a.cell} {a.label}: {len(idx)} rows; flagged by {a.reference}: {int(ref.flags[idx].sum())}, "
          f"by {a.candidate}: {int(cand.flags[idx].sum())}")
    only = [i for i in idx if cand.flags[i] and not ref.flags[i]]
    by = collections.Counter((rows[i].source, rows[i].lang) for i in only)
    print(f"flagged by the candidate only: {len(only)}; by (source, language): {dict(by.most_common())}")
    for i in only:
        r = rows[i]
        print(f"  {r.source:<28} {r.origin:<24} {r.lang:<4} {len(r.text):>6} chars  "
              f"score {ref.scores[i]:.3f} -> {cand.scores[i]:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
