"""Choose the attack threshold of a model's policy on the VALIDATION split (never test or eval sets).

Runs the full runtime pipeline (normalize, views, windows, early exit) on a seeded validation subset, reads each
verdict's P(attack) (1 - P(benign) of the deciding view), and picks the lowest threshold whose benign flag rate
(uncertain band included, since an uncertain verdict is not safe) is at most ``--max-fpr``. Writes the curve to
docs/calibration.json and the chosen threshold into the model's config.json (``"thresholds": {"attack": t}``).

    python scripts/calibrate_threshold.py --model models/tinyguardrail-v0.6 --rows 4000 --max-fpr 0.01 --write
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import numpy as np

from tinyguardrail.data.io import read_split
from tinyguardrail.runtime.guard import Guard
from tinyguardrail.runtime.policy import Policy


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--data", type=Path, default=Path("build/data"))
    p.add_argument("--rows", type=int, default=4000)
    p.add_argument("--max-fpr", type=float, default=0.01)
    p.add_argument("--out", type=Path, default=Path("docs/calibration.json"))
    p.add_argument("--write", action="store_true", help="write the chosen threshold into the model's config.json")
    args = p.parse_args()
    rows = read_split(args.data, "validation")
    random.Random(0).shuffle(rows)
    rows = rows[: args.rows]
    # margin 0 and threshold 0.5: a reliable view counts when its own P(attack) >= 0.5, so for every threshold
    # t >= 0.5 "flagged at t" is exactly "verdict P(attack) >= t".
    guard = Guard.load(args.model, threads=2, policy=Policy(attack_threshold=0.5, uncertain_margin=0.0))
    verdicts = guard.check_batch([r.text for r in rows])
    p_attack = np.array([1.0 - v.scores["benign"] for v in verdicts])
    is_attack = np.array([r.label != "benign" for r in rows])
    margin = Policy().uncertain_margin
    curve = []
    for t in np.round(np.arange(0.5 + margin, 0.99, 0.01), 2):
        flag = p_attack >= t - margin  # what the shipped policy flags (attack or uncertain)
        curve.append({"threshold": float(t), "benign_flag_rate": float(flag[~is_attack].mean()),
                      "attack_recall": float(flag[is_attack].mean())})  # fmt: skip
    ok = [c for c in curve if c["benign_flag_rate"] <= args.max_fpr]
    chosen = ok[0] if ok else curve[-1]
    res = {"model": str(args.model), "split": "validation", "rows": len(rows), "max_fpr": args.max_fpr,
           "uncertain_margin": margin, "chosen": chosen, "curve": curve}  # fmt: skip
    args.out.write_text(json.dumps(res, indent=2) + "\n")
    print(json.dumps(chosen))
    if args.write:
        cfg_path = args.model / "config.json"
        cfg = json.loads(cfg_path.read_text())
        cfg["thresholds"] = {"attack": chosen["threshold"]}
        cfg["calibration"] = {"split": "validation", "rows": len(rows), "max_benign_flag_rate": args.max_fpr,
                              "source": "scripts/calibrate_threshold.py"}  # fmt: skip
        cfg_path.write_text(json.dumps(cfg, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
