"""Write ``.carry/data``: what a GPU call needs of a data build, small enough for the device tool's 64 MiB.

    python scripts/make_carry.py --data build/data --out .carry/data

- ``train.jsonl.gz``: every training row reduced to text, label and source (the source lets a plan's ``derive``
  leave a data addition out, for the ablations; ``scripts/gpu_runs.py``);
- ``validation.jsonl.gz``: a seeded sample of the validation split, reduced the same way;
- ``ood_dev.jsonl.gz``: the OOD-dev suite (checkpoint selection), copied as is.
"""

from __future__ import annotations

import argparse
import random
import shutil
from pathlib import Path

from tinyguardrail.data.io import read_jsonl_gz, write_training_jsonl_gz


def _reduce(src: Path, dst: Path, sample: int | None, seed: int) -> int:
    rows = list(read_jsonl_gz(src))
    if sample is not None and len(rows) > sample:
        rows = random.Random(seed).sample(rows, sample)
    return write_training_jsonl_gz(dst, rows)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default="build/data", help="data build (default %(default)s)")
    p.add_argument("--out", default=".carry/data", help="output folder (default %(default)s)")
    p.add_argument("--validation-rows", type=int, default=5000, help="validation sample size (default %(default)s)")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    data, out = Path(a.data), Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    n_train = _reduce(data / "train.jsonl.gz", out / "train.jsonl.gz", None, a.seed)
    n_val = _reduce(data / "validation.jsonl.gz", out / "validation.jsonl.gz", a.validation_rows, a.seed)
    shutil.copy(data / "suites" / "ood_dev.jsonl.gz", out / "ood_dev.jsonl.gz")
    print(f"{out}: train {n_train} rows, validation {n_val} rows, ood_dev suite")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
