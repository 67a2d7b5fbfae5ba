"""The training mix of a continued-training run (``train.init_checkpoint``): a data addition plus replay.

    python scripts/make_finetune_mix.py --data build/data --out build/data_ft     # the mix of tinyguardrail-v0.8

Continued training on the addition alone would shift what the model already does well, so the mix replays the rest
of the training split. The defaults are the shipped model's mix; the second candidate of docs/ablations.md (which
lost on OOD-dev) over-weighted non-English rows: ``--addition 2800 --non-english-attacks 700 --non-english-benign 500
--others 2400 --replay 0 --seed 2``.

- ``--addition`` rows of the sources named by ``--sources`` (default: ``agentsynth``, the agent channel) or of the
  attack types named by ``--attack-types``, with ``--langs`` only those in the languages named; or, with
  ``--addition-file``, rows drawn from that file instead (gzipped JSON Lines of training rows, e.g. the ``add`` or
  ``remove`` side of ``scripts/make_carry.py --patch-against``: another build's extra rows); replayed rows then come
  from ``--data``'s training rows whose text is not in the file;
- ``--non-english-attacks`` / ``--non-english-benign`` rows of other sources in a language other than en / und;
- ``--others`` rows of other sources in en / und;
- ``--replay`` rows of any other source and language, uniformly;
- with ``--hard SCORES`` (``scripts/mine_hard_rows.py``'s scores of the training split under the parent model):
  ``--hard-benign`` benign rows the parent scores highest (false positives to be) and ``--hard-attacks`` attack rows
  it scores lowest, at most ``--hard-cap`` of either per source, none drawn twice.

Writes ``train.jsonl.gz`` (text, label, source) and a seeded ``--validation-rows`` sample of the validation split.
Every row comes from the build's own train / validation split (or, with ``--addition-file``, another build's training
rows): nothing held out is touched.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import json
import random
from pathlib import Path

from tinyguardrail.data.io import read_jsonl_gz, write_training_jsonl_gz


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default="build/data")
    p.add_argument("--out", default="build/data_ft")
    p.add_argument("--sources", default="agentsynth", help="comma-separated sources of the addition")
    p.add_argument("--attack-types", default="",
                   help="comma-separated attack types whose rows join the addition (e.g. hard_negative_task_prompt)")
    p.add_argument("--langs", default="",
                   help="comma-separated languages: only rows of the addition's sources / types in these languages "
                        "join it (e.g. the bank's new languages: ca,mr,ne,ta,te,sw)")
    p.add_argument("--addition-file", type=Path, default=None,
                   help="draw the addition from these rows (gzipped JSON Lines) instead of --sources / --attack-types "
                        "(which, with --langs, are then unused)")
    p.add_argument("--addition", type=int, default=1600)
    p.add_argument("--non-english-attacks", type=int, default=0)
    p.add_argument("--non-english-benign", type=int, default=0)
    p.add_argument("--others", type=int, default=0)
    p.add_argument("--replay", type=int, default=1600)
    p.add_argument("--hard", type=Path, default=None, help="scores of the training split (mine_hard_rows.py)")
    p.add_argument("--hard-benign", type=int, default=0)
    p.add_argument("--hard-attacks", type=int, default=0)
    p.add_argument("--hard-cap", type=int, default=400, help="at most this many hard rows per source and side")
    p.add_argument("--validation-rows", type=int, default=2000)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    data, out = Path(a.data), Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(a.seed)
    sources = tuple(x for x in a.sources.split(",") if x)
    types = tuple(x for x in a.attack_types.split(",") if x)
    rows = list(read_jsonl_gz(data / "train.jsonl.gz"))
    hard: list = []
    if a.hard is not None:
        hard = _hardest(rows, a.hard, a.hard_benign, a.hard_attacks, a.hard_cap)
        taken = {id(r) for r in hard}
        rows = [r for r in rows if id(r) not in taken]
    langs = frozenset(x for x in a.langs.split(",") if x)

    def added(r) -> bool:
        return (r.source in sources or r.attack_type in types) and (not langs or r.lang in langs)

    if a.addition_file is not None:
        addition = list(read_jsonl_gz(a.addition_file))
        extra = {r.text for r in addition}
        rest = [r for r in rows if r.text not in extra]
        hard = [r for r in hard if r.text not in extra]  # drawn once, as part of the addition
    else:
        addition = [r for r in rows if added(r)]
        rest = [r for r in rows if not added(r)]
    foreign = [r for r in rest if r.lang not in ("en", "und")]
    ne_att = [r for r in foreign if r.label != "benign"]
    ne_ben = [r for r in foreign if r.label == "benign"]
    others = [r for r in rest if r.lang in ("en", "und")]

    def draw(pool: list, n: int, flag: str) -> list:
        if n > len(pool):
            raise SystemExit(f"--{flag} {n}: only {len(pool)} rows to draw from")
        return rng.sample(pool, n)

    mix = (draw(addition, a.addition, "addition") + draw(ne_att, a.non_english_attacks, "non-english-attacks")
           + draw(ne_ben, a.non_english_benign, "non-english-benign") + draw(others, a.others, "others")
           + draw(rest, a.replay, "replay") + hard)
    rng.shuffle(mix)
    write_training_jsonl_gz(out / "train.jsonl.gz", mix)
    val = list(read_jsonl_gz(data / "validation.jsonl.gz"))
    write_training_jsonl_gz(out / "validation.jsonl.gz", random.Random(a.seed).sample(val, min(a.validation_rows, len(val))))
    print(f"{out}: {len(mix)} rows {dict(collections.Counter(r.label for r in mix))}")
    return 0


def _hardest(rows: list, scores_path: Path, n_benign: int, n_attacks: int, cap: int) -> list:
    """The benign rows scored highest and the attack rows scored lowest, at most ``cap`` per source and side."""
    with gzip.open(scores_path, "rt", encoding="utf-8") as f:
        scores = {s["index"]: s for s in map(json.loads, f)}
    if len(scores) != len(rows) or any(scores[i]["label"] != r.label for i, r in enumerate(rows)):
        raise SystemExit(f"{scores_path} does not score this training split (rows or labels differ)")
    picked = []
    for want, benign in ((n_benign, True), (n_attacks, False)):
        side = [i for i, r in enumerate(rows) if (r.label == "benign") == benign]
        side.sort(key=lambda i: (-scores[i]["p_attack"] if benign else scores[i]["p_attack"], i))
        per_source: collections.Counter = collections.Counter()
        chosen = []
        for i in side:
            if len(chosen) == want:
                break
            if per_source[rows[i].source] < cap:
                per_source[rows[i].source] += 1
                chosen.append(i)
        if chosen:
            print(f"hard {'benign' if benign else 'attack'} rows: {len(chosen)}, P(attack) from "
                  f"{scores[chosen[0]]['p_attack']} to {scores[chosen[-1]]['p_attack']}; {dict(per_source)}")
        picked += [rows[i] for i in chosen]
    return picked


if __name__ == "__main__":
    raise SystemExit(main())
