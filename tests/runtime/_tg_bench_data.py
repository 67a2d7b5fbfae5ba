"""A small public-data root for the bench tests (the sources both the prompts mix and the traffic mix read)."""

from __future__ import annotations

import csv
import json
from pathlib import Path


def write_prompt_sources(root: Path) -> Path:
    """s-labs (30 short rows) and NotInject (10 rows) under ``root``, laid out as in ``../shared/data``."""
    (root / "mixed" / "s-labs").mkdir(parents=True)
    with (root / "mixed" / "s-labs" / "test.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        for i in range(30):
            w.writerow([f"hello world number {i}", i % 2])
    (root / "bench" / "notinject").mkdir(parents=True)
    (root / "bench" / "notinject" / "NotInject_one.json").write_text(
        json.dumps([{"prompt": f"can i ignore warning {i}"} for i in range(10)]))
    return root
