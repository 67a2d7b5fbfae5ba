"""Write ``.carry/data``: what a GPU call needs of a data build, small enough for the device tool's 64 MiB.

    python scripts/make_carry.py --data build/data --out .carry/data

- ``train.jsonl.gz``: every training row reduced to text, label and source (the source lets a plan's ``derive``
  leave a data addition out, for the ablations; ``scripts/gpu_runs.py``);
- ``validation.jsonl.gz``: a seeded sample of the validation split, reduced the same way;
- ``ood_dev.jsonl.gz``: the OOD-dev suite (checkpoint selection), copied as is.

``--meta`` also keeps each row's ``template_id``, ``attack_type`` and ``lang``: the cross-lingual term
(``train.xling_weight``) pairs translations by them.

With ``--patch-against DIR`` (an earlier ``.carry/data``) it writes only ``add.jsonl.gz`` / ``remove.jsonl.gz``: the
training rows this build has and that one lacks, and the reverse, for ``scripts/gpu_runs.py``'s ``derive`` to rebuild
this build's training split on the GPU side from the carried one (a data change costs a few MB of the 64 MiB).

    python scripts/make_carry.py --data build/data_hn --out .carry/hn_patch --patch-against .carry/data
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import shutil
from pathlib import Path

from tinyguardrail.data.io import read_jsonl_gz, training_row, write_training_jsonl_gz


def _reduce(src: Path, dst: Path, sample: int | None, seed: int, by_text: bool = False, meta: bool = False) -> int:
    rows = list(read_jsonl_gz(src))
    if sample is not None and len(rows) > sample:
        rows = random.Random(seed).sample(rows, sample)
    if by_text:  # neighbouring texts compress together (20.4 -> 12.9 MB on a 115k-row build); training shuffles them
        rows.sort(key=lambda r: (r.text, r.label, r.source))
    return write_training_jsonl_gz(dst, rows, meta)


def _plain_rows(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _patch(train: Path, against: Path, out: Path, meta: bool = False) -> int:
    def key(r: dict) -> str:
        return json.dumps([r.get("text"), r.get("label"), r.get("source")], ensure_ascii=False)

    ours = [training_row(r, meta) for r in read_jsonl_gz(train)]
    theirs = _plain_rows(against)
    have, had = {key(r) for r in ours}, {key(r) for r in theirs}
    add = [r for r in ours if key(r) not in had]
    remove = [r for r in theirs if key(r) not in have]
    for name, rows in (("add", add), ("remove", remove)):
        with gzip.open(out / f"{name}.jsonl.gz", "wt", encoding="utf-8") as f:
            f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    print(f"{out}: add {len(add)} training rows, remove {len(remove)} (against {against})")
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default="build/data", help="data build (default %(default)s)")
    p.add_argument("--out", default=".carry/data", help="output folder (default %(default)s)")
    p.add_argument("--validation-rows", type=int, default=5000, help="validation sample size (default %(default)s)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--patch-against", type=Path, default=None, metavar="DIR",
                   help="write add/remove patches of the training rows against this carried folder instead")
    p.add_argument("--sort", action="store_true",
                   help="write the training rows sorted by text: a smaller file (the GPU side shuffles them anyway)")
    p.add_argument("--meta", action="store_true",
                   help="keep template_id, attack_type and lang in the training and validation rows (and in a "
                        "patch's added rows): what the cross-lingual term (train.xling_weight) pairs translations by")
    a = p.parse_args()
    data, out = Path(a.data), Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    if a.patch_against is not None:
        return _patch(data / "train.jsonl.gz", a.patch_against / "train.jsonl.gz", out, a.meta)
    n_train = _reduce(data / "train.jsonl.gz", out / "train.jsonl.gz", None, a.seed, a.sort, a.meta)
    n_val = _reduce(data / "validation.jsonl.gz", out / "validation.jsonl.gz", a.validation_rows, a.seed, meta=a.meta)
    shutil.copy(data / "suites" / "ood_dev.jsonl.gz", out / "ood_dev.jsonl.gz")
    print(f"{out}: train {n_train} rows, validation {n_val} rows, ood_dev suite")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
