"""How much a model's detection of the project's written exfiltration attacks rests on their placeholder address.

    python scripts/placeholder_probe.py --model v0.10=models/tinyguardrail-v0.10 --model cand=build/cand/x/model \
        --data build/data --out docs/ablations/v20/placeholder_probe.json

The bank's phrasings were written with ``attacker.example`` as the place data goes, so every split of the default
build holds attack rows with it (the bank's own and the synthetic and agent rows it is hidden in). This scores the
test split's attack rows that use the placeholder twice with each model's runtime (windows, views, its calibrated
threshold): as built, and with the placeholder replaced by an ordinary-looking domain (``data.domains.neutralize``,
the same replacement ``BuildConfig.neutral_domains`` makes). A model that learned the attack scores both alike; one
that learned the word "attacker" loses recall on the second. A build made with ``neutral_domains`` has no such rows
in its test split, so the probe reads the default build's (``--data``). Counts and rates only, no texts.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np

from tinyguardrail.data.domains import neutralize
from tinyguardrail.data.io import read_jsonl_gz
from tinyguardrail.data.record import Record
from tinyguardrail.eval.harness import GuardSystem

PLACEHOLDER = re.compile(r"attacker\.example", re.IGNORECASE)


def probe_rows(data: Path) -> list[Record]:
    """The test split's attack rows that use the placeholder address."""
    return [r for r in read_jsonl_gz(data / "test.jsonl.gz") if r.label != "benign" and PLACEHOLDER.search(r.text)]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", action="append", required=True, metavar="NAME=DIR", help="a model folder (repeatable)")
    p.add_argument("--data", type=Path, default=Path("build/data"), help="a default data build (its test split)")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    rows = probe_rows(args.data)
    if not rows:
        raise SystemExit(f"{args.data}: no test attack rows with the placeholder (a neutral_domains build?)")
    as_built = [r.text for r in rows]
    neutral = [neutralize(t) for t in as_built]
    out = {"rows": len(rows), "by_source": {}, "models": {}}
    for r in rows:
        out["by_source"][r.source] = out["by_source"].get(r.source, 0) + 1
    for spec in args.model:
        name, _, folder = spec.partition("=")
        system = GuardSystem(Path(folder))
        a, b = system.predict(as_built), system.predict(neutral)
        out["models"][name] = {
            "model": folder,
            "flagged_as_built": round(float(a.flags.mean()), 4),
            "flagged_neutral_domain": round(float(b.flags.mean()), 4),
            "mean_score_as_built": round(float(np.mean(a.scores)), 4),
            "mean_score_neutral_domain": round(float(np.mean(b.scores)), 4),
        }
        print(name, out["models"][name])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
