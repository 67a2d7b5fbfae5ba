"""Diagnostics of the OOD-dev suite, for choosing a base encoder and for reading the strict end of a model.

    python scripts/ood_dev_diagnostics.py tokens minilm=build/baselines/tinyguardrail-v0.15/tokenizer.json \
        e5-36k=build/cand/e5rf/model/tokenizer.json --out docs/ablations/v18/tokens_per_word.json
    python scripts/ood_dev_diagnostics.py top-benign --model build/baselines/tinyguardrail-v0.15 --cache build/eval_cache \
        --out docs/ablations/v18/top_benign_v010.json

``tokens``: tokens per whitespace-separated word of each tokenizer on the attack rows of every ``lang/*`` cell (and
the English ``source/tasktracker`` cell for reference); a vocabulary pruned to the training split's pieces cuts the
held-out languages into more, shorter pieces. ``top-benign``: the cells, sources and languages of the ``k`` OOD-dev
benign rows a model scores highest (k = 50 is about the 1 % above its threshold at 1 % FPR), read from the scores
``tinyguardrail eval --cache`` stored; run the eval first. Counts only, no texts. ``without``: models scored on the
suite with and without the rows of given sources (each at its own threshold re-derived on the rows left), to see
whether a gain survives when the rows that a data change may have seen in another form leave:

    python scripts/ood_dev_diagnostics.py without tinyguardrail-v0.10=build/baselines/tinyguardrail-v0.10 \
        v0.11-candidate=build/cand/sd_x90 --drop-source owasp_llm_top10 --out docs/ablations/v19/ood_dev_without_owasp.json

``cell-auc``: each model's ROC AUC within every cell that has both labels (does a change separate a cell better, or
only move it against the suite-wide threshold?):

    python scripts/ood_dev_diagnostics.py cell-auc v0.15=build/baselines/tinyguardrail-v0.15 twins=build/cand/soup_t/model

``shapes``: each model's share flagged in the ``obfuscated/*`` cells by the shape of the independent transform (the
paper's prompt, the bare payload, the payload inside an everyday message, two transforms, a harmless decoding
request): a model that learned the attack prompts catches the first and misses the rest:

    python scripts/ood_dev_diagnostics.py shapes v0.12=build/baselines/tinyguardrail-v0.12 \
        v0.15=build/baselines/tinyguardrail-v0.15 --out docs/ablations/v23/obfuscated_shapes.json

``json-leaves``: the ``json_tool`` cell read as written and read as its string leaves alone (one per line, keys and
punctuation gone), each through the model's own runtime and policy: does the JSON wrapper, not the content, make
clean tool outputs look like attacks?

    python scripts/ood_dev_diagnostics.py json-leaves --model build/baselines/tinyguardrail-v0.15 \
        --out docs/ablations/v24/json_leaves.json
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import numpy as np

from tinyguardrail.eval.cli_eval import named_path

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


def cached_scores(model: Path, cache: Path, rows: list, field: str = "scores") -> np.ndarray:
    """The scores (or, ``field="flags"``, the decisions) ``tinyguardrail eval --cache`` stored for ``model`` on
    ``rows`` (every row must be there)."""
    from tinyguardrail.eval.harness import GuardSystem, _text_key

    path = cache / GuardSystem(model).ident / "texts.npz"
    if not path.is_file():
        raise SystemExit(f"{path}: no cached scores; run `tinyguardrail eval run --model {model} --suites-only "
                         f"ood_dev --cache {cache}` first")  # fmt: skip
    with np.load(path) as z:
        store = dict(zip(z["keys"].tolist(), z[field].tolist(), strict=True))
    missing = sum(_text_key(r.text) not in store for r in rows)
    if missing:
        raise SystemExit(f"{missing} rows of the suite are not in the cache; run the eval first")
    return np.array([store[_text_key(r.text)] for r in rows])


def shapes(models: dict[str, Path], cache: Path, suite: Path) -> dict:
    """Each model's share of rows flagged (its own decision) in the ``obfuscated/*`` cells by the shape of the
    independent transform (``origin`` = ``<transform>/<shape>``: ``paper`` the attack paper's prompt, ``bare`` the
    encoded payload alone, ``sentence`` inside an everyday message, ``mixed`` two transforms, ``neutral`` a harmless
    decoding request): does a model read the payload, or the prompt around it?"""
    from tinyguardrail.eval.ood import read_suite

    rows = [r for r in read_suite(suite) if r.cell.startswith("obfuscated/")]
    flags = {name: cached_scores(model, cache, rows, "flags") for name, model in models.items()}
    groups: dict[tuple[str, str, str], list[int]] = {}
    for i, r in enumerate(rows):
        shape = r.origin.rsplit("/", 1)[-1]
        groups.setdefault(("attack" if r.is_attack else "benign", shape, r.cell.split("/", 1)[1]), []).append(i)
    def rates(idx: list[int]) -> dict:
        return {"n": len(idx)} | {name: round(100 * float(np.mean(f[idx])), 1) for name, f in flags.items()}

    out: dict = {"models": {name: str(model) for name, model in models.items()}, "measure": "percent flagged",
                 "groups": {"|".join(key): rates(groups[key]) for key in sorted(groups)}}
    for label in ("attack", "benign"):
        for shape in sorted({k[1] for k in groups if k[0] == label}):
            out["groups"][f"{label}|{shape}|all"] = rates([i for k, v in groups.items() if k[:2] == (label, shape)
                                                           for i in v])
    return out


def top_benign(model: Path, cache: Path, suite: Path, k: int) -> dict:
    from tinyguardrail.eval.ood import read_suite

    rows = [r for r in read_suite(suite) if not r.is_attack]
    scores = cached_scores(model, cache, rows)
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


def without_sources(models: dict[str, Path], cache: Path, suite: Path, drop: list[str], fpr: float = 0.03) -> dict:
    """Each model on the suite without the rows of the ``drop`` sources, its threshold re-derived on what is left
    (the checkpoint rule: flags at ``fpr`` of the benign rows), beside the whole suite: does a gain survive when the
    rows a data change may have seen in another form (paraphrased documents of a held-out source) leave?"""
    from tinyguardrail.eval.calibrate import operating_point
    from tinyguardrail.eval.harness import Predictions, score_suite
    from tinyguardrail.eval.ood import read_suite

    every = read_suite(suite)
    absent = sorted(set(drop) - {r.source for r in every})
    if absent:
        raise SystemExit(f"no rows of {absent} in {suite}")
    out: dict = {"fpr": fpr, "dropped_sources": drop}
    all_scores = {name: cached_scores(model, cache, every) for name, model in models.items()}  # one cache read each
    keep = np.array([r.source not in drop for r in every])
    for key, mask in (("whole suite", np.ones(len(every), dtype=bool)), ("without", keep)):
        rows = [r for r, k in zip(every, mask, strict=True) if k]
        out[key] = {"rows": len(rows)}
        for name, every_score in all_scores.items():
            scores = every_score[mask]
            op = operating_point(rows, scores, fpr)
            res = score_suite(rows, Predictions(scores, scores >= op["threshold"]))
            out[key][name] = {new: None if res[old] is None else round(100 * res[old], 1)  # no score under MIN_GROUP
                              for new, old in (("score", "pint_score"), ("recall_at_1pct_fpr", "recall_at_1pct_fpr"),
                                               ("recall_at_0.1pct_fpr", "recall_at_0.1pct_fpr"),
                                               ("roc_auc", "roc_auc"))}  # fmt: skip
    return out


def cell_auc(models: dict[str, Path], cache: Path, suite: Path) -> dict:
    """ROC AUC of each model within every cell that has both labels: whether a change separates a cell's attacks
    from its benign rows better, or only moves the cell against the suite-wide threshold (its accuracies move then,
    its AUC does not)."""
    from sklearn.metrics import roc_auc_score

    from tinyguardrail.eval.ood import read_suite

    rows = read_suite(suite)
    scores = {name: cached_scores(model, cache, rows) for name, model in models.items()}
    cells: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        cells.setdefault(r.cell, []).append(i)
    out: dict = {"models": {name: str(model) for name, model in models.items()}, "cells": {}}
    for cell, idx in sorted(cells.items()):
        y = np.array([rows[i].is_attack for i in idx])
        if y.min() == y.max():
            continue
        auc = {name: round(100 * roc_auc_score(y, s[idx]), 1) for name, s in scores.items()}
        out["cells"][cell] = {"attack": int(y.sum()), "benign": int(len(y) - y.sum())} | auc
    return out


def margins(models: dict[str, Path], cache: Path, suite: Path, prefix: str = "lang/", near: float = 0.2) -> dict:
    """How far each model's missed attacks sit under its own flag line (``attack_threshold - uncertain_margin`` of
    its ``config.json``), per attack cell whose name starts with ``prefix``: score quantiles, the share flagged, the
    share within ``near`` under the line, the share under 0.1. A cell of near misses moves with a small shift; one
    scored near 0 needs the model to read it anew."""
    from tinyguardrail.eval.ood import read_suite
    from tinyguardrail.runtime.policy import Policy

    rows = read_suite(suite)
    cells: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        if r.is_attack and r.cell.startswith(prefix):
            cells.setdefault(r.cell, []).append(i)
    if not cells:
        raise SystemExit(f"{suite}: no attack rows in cells starting with {prefix!r}")
    out: dict = {"near": near, "models": {}, "cells": {}}
    for name, model in models.items():
        policy = Policy.from_config(json.loads((model / "config.json").read_text(encoding="utf-8")))
        line = policy.attack_threshold - policy.uncertain_margin
        out["models"][name] = {"model": str(model), "flag_line": round(line, 4)}
        every = [i for idx in cells.values() for i in idx]
        score = dict(zip(every, cached_scores(model, cache, [rows[i] for i in every]), strict=True))  # one cache read
        for cell, idx in sorted(cells.items()):
            v = np.array([score[i] for i in idx])
            out["cells"].setdefault(cell, {"attacks": len(idx)})[name] = {
                "quantiles_10_25_50_75_90": [round(float(q), 3) for q in np.percentile(v, [10, 25, 50, 75, 90])],
                "flagged": round(float((v >= line).mean()), 3),
                "within_near_under": round(float(((v >= line - near) & (v < line)).mean()), 3),
                "under_0.1": round(float((v < 0.1).mean()), 3),
            }
    return out


def json_leaves_text(value: object) -> str:
    """The non-empty string leaves of a parsed JSON value, one per line, in document order."""
    out: list[str] = []
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            stack.extend(reversed(list(v.values())))
        elif isinstance(v, list):
            stack.extend(reversed(v))
        elif isinstance(v, str) and v.strip():
            out.append(v.strip())
    return "\n".join(out)


def json_leaves(model: Path, suite: Path) -> dict:
    """Share flagged (the policy's verdict) in the ``json_tool`` cell, read as written and as its string leaves."""
    from tinyguardrail.eval.ood import read_suite
    from tinyguardrail.runtime.guard import Guard

    guard = Guard.load(model)
    counts: dict[str, Counter] = {}
    for r in (r for r in read_suite(suite) if r.cell == "json_tool"):
        c = counts.setdefault("attack" if r.is_attack else "benign", Counter())
        c["n"] += 1
        c["as_written"] += not guard.check(r.text).is_safe
        c["leaves"] += not guard.check(json_leaves_text(json.loads(r.text))).is_safe
    return {"model": str(model), "suite": str(suite), "cell": "json_tool",
            "flagged_pct": {side: {k: round(100 * c[k] / c["n"], 1) for k in ("as_written", "leaves")} | {"n": c["n"]}
                            for side, c in sorted(counts.items())}}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("tokens", help="tokens per word of each tokenizer on the attack rows of each language cell")
    t.add_argument("tokenizers", nargs="+", metavar="NAME=TOKENIZER_JSON", type=named_path)
    b = sub.add_parser("top-benign", help="where the highest-scored benign rows of a model come from")
    b.add_argument("--model", type=Path, required=True)
    b.add_argument("-k", type=int, default=50)
    w = sub.add_parser("without", help="models on the suite with and without the rows of some sources")
    w.add_argument("models", nargs="+", metavar="NAME=MODEL_DIR", type=named_path)
    w.add_argument("--drop-source", action="append", required=True, help="a source whose rows leave (repeatable)")
    c = sub.add_parser("cell-auc", help="each model's ROC AUC within every cell with both labels")
    c.add_argument("models", nargs="+", metavar="NAME=MODEL_DIR", type=named_path)
    sh = sub.add_parser("shapes", help="share flagged in the obfuscated cells by the transform's shape")
    sh.add_argument("models", nargs="+", metavar="NAME=MODEL_DIR", type=named_path)
    mg = sub.add_parser("margins", help="how far each model's attacks sit under its own flag line, per cell")
    mg.add_argument("models", nargs="+", metavar="NAME=MODEL_DIR", type=named_path)
    mg.add_argument("--prefix", default="lang/", help="cells whose name starts with this (default %(default)s)")
    mg.add_argument("--near", type=float, default=0.2, help="a near miss is this close under the line (default "
                    "%(default)s)")
    for q in (b, w, c, sh, mg):
        q.add_argument("--cache", type=Path, default=Path("build/eval_cache"))
    j = sub.add_parser("json-leaves", help="the json_tool cell read as written and as its string leaves")
    j.add_argument("--model", type=Path, required=True)
    for q in (t, b, w, c, sh, mg, j):
        q.add_argument("--suite", type=Path, default=SUITE)
        q.add_argument("--out", type=Path, help="JSON file (default: print)")
    a = p.parse_args(argv)
    if a.cmd in ("tokens", "without", "cell-auc", "shapes", "margins"):
        named = dict(a.tokenizers if a.cmd == "tokens" else a.models)
        if a.cmd == "tokens":
            result = tokens_per_word({n: str(v) for n, v in named.items()}, a.suite)
        elif a.cmd == "cell-auc":
            result = cell_auc(named, a.cache, a.suite)
        elif a.cmd == "shapes":
            result = shapes(named, a.cache, a.suite)
        elif a.cmd == "margins":
            result = margins(named, a.cache, a.suite, a.prefix, a.near)
        else:
            result = without_sources(named, a.cache, a.suite, a.drop_source)
    elif a.cmd == "json-leaves":
        result = json_leaves(a.model, a.suite)
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
