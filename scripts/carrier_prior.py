"""How a data build's training rows of each text shape split between the classes, and what a model scores on the
clean carriers of OOD-dev: is a JSON tool output an even bet by its shape?

    python scripts/carrier_prior.py --data build/data --model build/baselines/tinyguardrail-v0.15 \\
        --json docs/ablations/v26/carrier_prior.json

Shapes (``shape``): ``json`` (the text starts with ``{`` or ``[`` and parses as JSON), ``bracketed`` (starts so
and does not parse: ``[INST]``, ``[function_call_output]``, CodeChameleon's Python-literal trees), ``email`` (starts with a ``From:`` / ``To:`` /
``Subject:`` header), ``html`` (starts with ``<``), else ``other``. Per shape: the training split's attack and benign
rows, and the attack rows per (source, attack_type) for the largest groups. With ``--model``: the model's
``P(attack)`` (one minus its benign score) on the benign and attack rows of the OOD-dev cells named by ``--cells``,
as quantiles and as the share of rows over 0.5. Counts and scores only: no row text is written.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from tinyguardrail.data.io import read_split
from tinyguardrail.eval.calibrate import runtime_scores
from tinyguardrail.eval.ood import SuiteRow, read_suite

EMAIL = re.compile(r"^(from|to|subject|date|cc)\s*:", re.IGNORECASE)


def shape(text: str) -> str:
    """The coarse shape of a text (see the module docstring)."""
    t = text.lstrip()
    if t.startswith(("{", "[")):
        try:
            json.loads(t)
        except ValueError:
            return "bracketed"
        return "json"
    if EMAIL.match(t):
        return "email"
    if t.startswith("<"):
        return "html"
    return "other"


def shape_counts(rows, top: int = 8) -> dict:
    """Per shape: attack and benign rows, the attack share and the largest (source, attack_type) groups per class."""
    by: dict[str, Counter] = defaultdict(Counter)
    groups: dict[tuple[str, bool], Counter] = defaultdict(Counter)
    for r in rows:
        s, benign = shape(r.text), r.label == "benign"
        by[s]["benign" if benign else "attack"] += 1
        groups[(s, benign)][f"{r.source}/{r.attack_type}"] += 1
    out = {}
    for s, c in sorted(by.items()):
        n = c["attack"] + c["benign"]
        out[s] = {"attack": c["attack"], "benign": c["benign"], "attack_share": round(c["attack"] / n, 4),
                  "attack_groups": dict(groups[(s, False)].most_common(top)),
                  "benign_groups": dict(groups[(s, True)].most_common(top))}
    return out


def cell_scores(model: str | None, rows: list[SuiteRow], cells: list[str]) -> dict:
    """The model's P(attack) (``eval.calibrate.runtime_scores``) on each named cell's benign and attack rows:
    quantiles and the share over 0.5."""
    groups = {(cell, label): [r.text for r in rows if r.cell == cell and (r.label == "benign") == (label == "benign")]
              for cell in cells for label in ("benign", "attack")}
    groups = {k: v for k, v in groups.items() if v}
    scores = runtime_scores(Path(model) if model else None, [t for texts in groups.values() for t in texts])
    out, at = {}, 0
    for (cell, label), texts in groups.items():
        p, at = scores[at : at + len(texts)], at + len(texts)
        out[f"{cell}|{label}"] = {"n": len(texts),
                                  "p_attack_q10_q50_q90": [round(float(x), 3) for x in np.quantile(p, [.1, .5, .9])],
                                  "share_over_0.5": round(float((p > 0.5).mean()), 4)}
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=Path("build/data"))
    p.add_argument("--model", default=None, help="also score OOD-dev's --cells with this model folder")
    p.add_argument("--cells", default="json_tool,indirect/tool_output,indirect/email,long_doc")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args()
    res: dict = {"data": str(args.data), "train_shapes": shape_counts(read_split(args.data, "train"))}
    if args.model:
        suite = read_suite(args.data / "suites" / "ood_dev.jsonl.gz")
        res |= {"model": args.model, "ood_dev_cells": cell_scores(args.model, suite, args.cells.split(","))}
    print(json.dumps(res, indent=2, ensure_ascii=False))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(res, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
