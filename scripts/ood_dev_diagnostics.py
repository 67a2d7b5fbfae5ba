"""Two diagnostics of the OOD-dev suite, for choosing a base encoder and for reading the strict end of a model.

    python scripts/ood_dev_diagnostics.py tokens minilm=models/tinyguardrail-v0.10/tokenizer.json \
        e5-36k=build/cand/e5rf/model/tokenizer.json --out docs/ablations/v18/tokens_per_word.json
    python scripts/ood_dev_diagnostics.py top-benign --model models/tinyguardrail-v0.10 --cache build/eval_cache \
        --out docs/ablations/v18/top_benign_v010.json

``tokens``: tokens per whitespace-separated word of each tokenizer on the attack rows of every ``lang/*`` cell (and
the English ``source/tasktracker`` cell for reference); a vocabulary pruned to the training split's pieces cuts the
held-out languages into more, shorter pieces. ``top-benign``: the cells, sources and languages of the ``k`` OOD-dev
benign rows a model scores highest (k = 50 is about the 1 % above its threshold at 1 % FPR), read from the scores
``tinyguardrail eval --cache`` stored; run the eval first. Counts only, no texts.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import numpy as np

SUITE = Path("build/data/suites/ood_dev.jsonl.gz")


def tokens_per_word(tokenizers: dict[str, str], suite: Path) -> dict[str, dict[str, float]]:
    from tokenizers import Tokenizer

    from tinyguardrail.eval.ood import read_suite

    rows = read_suite(suite)
    toks = {name: Tokenizer.from_file(path) for name, path in tokenizers.items()}
    cells = sorted({r.cell for r in rows if r.cell.startswith("lang/")}) + ["source/tasktracker"]
    out = {}
    for cell in cells:
        texts = [r.text for r in rows if r.cell == cell and r.is_attack]
        words = sum(len(t.split()) for t in texts)
        if not words:
            continue
        out[cell] = {name: round(sum(len(tok.encode(t, add_special_tokens=False).ids) for t in texts) / words, 3)
                     for name, tok in toks.items()}  # fmt: skip
    return out


def top_benign(model: Path, cache: Path, suite: Path, k: int) -> dict:
    from tinyguardrail.eval.harness import GuardSystem, _text_key
    from tinyguardrail.eval.ood import read_suite

    rows = [r for r in read_suite(suite) if not r.is_attack]
    path = cache / GuardSystem(model).ident / "texts.npz"
    if not path.is_file():
        raise SystemExit(f"{path}: no cached scores; run `tinyguardrail eval run --model {model} --suites-only "
                         f"ood_dev --cache {cache}` first")  # fmt: skip
    with np.load(path) as z:
        store = dict(zip(z["keys"].tolist(), z["scores"].tolist(), strict=True))
    missing = sum(_text_key(r.text) not in store for r in rows)
    if missing:
        raise SystemExit(f"{missing} benign rows of the suite are not in the cache; run the eval first")
    scores = np.array([store[_text_key(r.text)] for r in rows])
    order = np.argsort(-scores, kind="stable")
    top = [rows[i] for i in order[:k]]
    desc = scores[order]
    return {"model": str(model), "benign_rows": len(rows), "k": k,
            "score_at_0.1pct_fpr": float(desc[int(0.001 * len(rows))]),
            "score_at_1pct_fpr": float(desc[int(0.01 * len(rows))]),
            "cells": dict(Counter(r.cell for r in top).most_common()),
            "sources": dict(Counter(r.source for r in top).most_common()),
            "languages": dict(Counter(r.lang for r in top).most_common()),
            "cell_and_source": dict(Counter(f"{r.cell} | {r.source}" for r in top).most_common())}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("tokens", help="tokens per word of each tokenizer on the attack rows of each language cell")
    t.add_argument("tokenizers", nargs="+", metavar="NAME=TOKENIZER_JSON")
    b = sub.add_parser("top-benign", help="where the highest-scored benign rows of a model come from")
    b.add_argument("--model", type=Path, required=True)
    b.add_argument("--cache", type=Path, default=Path("build/eval_cache"))
    b.add_argument("-k", type=int, default=50)
    for q in (t, b):
        q.add_argument("--suite", type=Path, default=SUITE)
        q.add_argument("--out", type=Path, help="JSON file (default: print)")
    a = p.parse_args(argv)
    if a.cmd == "tokens":
        pairs = [x.partition("=") for x in a.tokenizers]
        if not all(sep for _, sep, _ in pairs):
            raise SystemExit("expected NAME=TOKENIZER_JSON")
        result = tokens_per_word({n: path for n, _, path in pairs}, a.suite)
    else:
        result = top_benign(a.model, a.cache, a.suite, a.k)
    text = json.dumps(result, indent=2, ensure_ascii=False)
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(text + "\n", encoding="utf-8")
        print(f"wrote {a.out}")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
