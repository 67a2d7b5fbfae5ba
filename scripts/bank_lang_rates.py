"""How a model reads the bank's rows (or another source's, ``--source``) in some languages: the share of attack rows
it flags or blocks, and of benign rows it flags or blocks (``Verdict.is_safe`` false), per language, over the
validation and test splits of a build.

    python scripts/bank_lang_rates.py --model models/tinyguardrail-v0.17 --langs ca,mr,ne,ta,te,sw \
        --out build/bank_langs.json

Written to read a model on bank languages it was not trained on (a baseline for the retrain that adds them). These
are in-distribution splits of the current build, not the OOD-dev suite or a report set: nothing is chosen on them.
"""

from __future__ import annotations

import argparse
import collections
import json
from datetime import UTC, datetime
from pathlib import Path

from tinyguardrail import Guard
from tinyguardrail.data.io import read_jsonl_gz


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--data", type=Path, default=Path("build/data"))
    p.add_argument("--langs", required=True, help="comma-separated language codes")
    p.add_argument("--source", default="bank",
                   help="rows of this source (default bank; e.g. tatoeba_laser for ordinary sentences in those languages)")
    p.add_argument("--name", help="the model's name in the report (default: the model folder's name)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, required=True)
    a = p.parse_args()
    langs = set(a.langs.split(","))
    guard = Guard.load(a.model, threads=a.threads)
    counts: dict = collections.defaultdict(lambda: [0, 0])
    for split in ("validation", "test"):
        for r in read_jsonl_gz(a.data / f"{split}.jsonl.gz"):
            if r.source == a.source and r.lang in langs:
                key = f"{r.lang}/{'benign' if r.label == 'benign' else 'attack'}"
                counts[key][0] += not guard.check(r.text).is_safe
                counts[key][1] += 1
    side = {s: [sum(v[i] for k, v in counts.items() if k.endswith(s)) for i in (0, 1)] for s in ("/attack", "/benign")}
    report = {"model": a.name or a.model.name, "date": datetime.now(UTC).isoformat(timespec="seconds"),
              "splits": ["validation", "test"], "source": a.source, "metric": "% flagged or blocked (is_safe false)",
              "per_lang": {k: {"pct": round(100 * n / t, 1), "rows": t} for k, (n, t) in sorted(counts.items())},
              "all": {s.strip("/"): {"pct": round(100 * n / max(t, 1), 1), "rows": t} for s, (n, t) in side.items()}}
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report["all"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
