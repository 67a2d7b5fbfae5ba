"""The training mix of a continued-training run (``train.init_checkpoint``): a data addition plus replay.

    python scripts/make_finetune_mix.py --data build/data --out build/data_ft     # the mix of tinyguardrail-v0.8

Continued training on the addition alone would shift what the model already does well, so the mix replays the rest
of the training split. The defaults are the shipped model's mix; the second candidate of docs/ablations.md (which
lost on OOD-dev) over-weighted non-English rows: ``--addition 2800 --non-english-attacks 700 --non-english-benign 500
--others 2400 --replay 0 --seed 2``.

- ``--addition`` rows of the sources named by ``--sources`` (default: ``agentsynth``, the agent channel);
- ``--non-english-attacks`` / ``--non-english-benign`` rows of other sources in a language other than en / und;
- ``--others`` rows of other sources in en / und;
- ``--replay`` rows of any other source and language, uniformly.

Writes ``train.jsonl.gz`` (text, label, source) and a seeded ``--validation-rows`` sample of the validation split.
Every row comes from the build's own train / validation split: nothing held out is touched.
"""

from __future__ import annotations

import argparse
import collections
import random
from pathlib import Path

from tinyguardrail.data.io import read_jsonl_gz, write_training_jsonl_gz


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default="build/data")
    p.add_argument("--out", default="build/data_ft")
    p.add_argument("--sources", default="agentsynth", help="comma-separated sources of the addition")
    p.add_argument("--addition", type=int, default=1600)
    p.add_argument("--non-english-attacks", type=int, default=0)
    p.add_argument("--non-english-benign", type=int, default=0)
    p.add_argument("--others", type=int, default=0)
    p.add_argument("--replay", type=int, default=1600)
    p.add_argument("--validation-rows", type=int, default=2000)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    data, out = Path(a.data), Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(a.seed)
    sources = tuple(a.sources.split(","))
    rows = list(read_jsonl_gz(data / "train.jsonl.gz"))
    addition = [r for r in rows if r.source in sources]
    rest = [r for r in rows if r.source not in sources]
    foreign = [r for r in rest if r.lang not in ("en", "und")]
    ne_att = [r for r in foreign if r.label != "benign"]
    ne_ben = [r for r in foreign if r.label == "benign"]
    others = [r for r in rest if r.lang in ("en", "und")]
    mix = (rng.sample(addition, a.addition) + rng.sample(ne_att, a.non_english_attacks)
           + rng.sample(ne_ben, a.non_english_benign) + rng.sample(others, a.others) + rng.sample(rest, a.replay))
    rng.shuffle(mix)
    write_training_jsonl_gz(out / "train.jsonl.gz", mix)
    val = list(read_jsonl_gz(data / "validation.jsonl.gz"))
    write_training_jsonl_gz(out / "validation.jsonl.gz", random.Random(a.seed).sample(val, min(a.validation_rows, len(val))))
    print(f"{out}: {len(mix)} rows {dict(collections.Counter(r.label for r in mix))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
