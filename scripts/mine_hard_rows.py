"""Score the training split with a shipped model, for hard-example mining in a continued-training mix.

    python scripts/mine_hard_rows.py --model models/tinyguardrail-v0.8 --data build/data --out build/mine/v08.jsonl.gz

Writes one row per training row: its index in ``train.jsonl.gz``, its label, its source and the model's P(attack)
(``1 - scores["benign"]`` of the deciding view / window, the runtime's own decision score). ``make_finetune_mix.py
--hard`` reads it to pick the benign rows the model scores highest (false positives to be) and the attack rows it
scores lowest. Only the training split is read: nothing held out is scored or chosen on here.
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from pathlib import Path

from tinyguardrail.data.io import read_jsonl_gz
from tinyguardrail.runtime.guard import Guard


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="models/tinyguardrail-v0.8")
    p.add_argument("--data", default="build/data")
    p.add_argument("--out", default="build/mine/scores.jsonl.gz")
    p.add_argument("--limit", type=int, default=0, help="score only the first N rows (a timing check)")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    rows = list(read_jsonl_gz(Path(a.data) / "train.jsonl.gz"))
    if a.limit:
        rows = rows[: a.limit]
    guard = Guard.load(a.model, threads=a.threads)
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with gzip.open(out, "wt", encoding="utf-8") as f:
        for start in range(0, len(rows), a.batch):
            chunk = rows[start : start + a.batch]
            for i, (r, v) in enumerate(zip(chunk, guard.check_batch([r.text for r in chunk]), strict=True)):
                f.write(json.dumps({"index": start + i, "label": r.label, "source": r.source,
                                    "p_attack": round(1.0 - v.scores.get("benign", 0.0), 5)}) + "\n")
            if (start // a.batch) % 50 == 0:
                print(f"{start + len(chunk)}/{len(rows)} rows, {time.perf_counter() - t0:.0f} s", flush=True)
    print(f"{out}: {len(rows)} rows in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
