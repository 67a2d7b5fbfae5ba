"""Length of the training rows by writing system and class: where a script's attacks are much longer than its
benign rows, "long text in this script" is evidence of an attack that a model can learn (counts only, no text).

    python scripts/script_length_audit.py --data build/data > docs/ablations/v15/script_length_train.txt

A row belongs to a script when at least 30 % of its characters are in that script's Unicode block.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import json
import re
import statistics
from pathlib import Path

SCRIPTS = {
    "Devanagari": r"\u0900-\u097F", "Bengali": r"\u0980-\u09FF", "Tamil": r"\u0B80-\u0BFF",
    "Telugu": r"\u0C00-\u0C7F", "Thai": r"\u0E00-\u0E7F", "Arabic": r"\u0600-\u06FF", "Cyrillic": r"\u0400-\u04FF",
    "Greek": r"\u0370-\u03FF", "Hebrew": r"\u0590-\u05FF", "Han": r"\u4E00-\u9FFF", "Hangul": r"\uAC00-\uD7AF",
    "Myanmar": r"\u1000-\u109F", "Ethiopic": r"\u1200-\u137F",
}  # fmt: skip


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=Path("build/data"))
    p.add_argument("--split", default="train")
    p.add_argument("--long", type=int, default=300, help="a row is long above this many characters")
    a = p.parse_args()
    pats = {name: re.compile(f"[{rng}]") for name, rng in SCRIPTS.items()}
    lengths: dict[tuple[str, str], list[int]] = collections.defaultdict(list)
    with gzip.open(a.data / f"{a.split}.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            t = r["text"]
            for name, pat in pats.items():
                if len(pat.findall(t)) >= 0.3 * max(1, len(t)):
                    lengths[(name, "benign" if r["label"] == "benign" else "attack")].append(len(t))
                    break
    print(f"{a.data}/{a.split}: rows by script and class: count, median characters, rows over {a.long}")
    for name in SCRIPTS:
        cells = []
        for side in ("attack", "benign"):
            v = lengths.get((name, side), [])
            cells.append(f"{side} {len(v):>5} / {int(statistics.median(v)) if v else 0:>4} / "
                         f"{sum(x > a.long for x in v):>4}")
        print(f"  {name:<11} " + "   ".join(cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
