"""Label-pure tokens of a training split: words that (almost) only attack rows hold, and which generator wrote them.

    python scripts/label_purity_audit.py --data build/data --out build/audit/label_purity

A classifier learns any token that separates the classes in its training split. A token that occurs in hundreds of
attack rows and in (almost) no benign row is a shortcut when the project's own generators put it there (a wrapper
string, a placeholder, a scaffold) rather than the attacks themselves. This audit lists such tokens so a build can
add benign rows that hold them or vary the generator.

A token is a lower-cased run of word characters (``\\w+``, so ``encrypted_problem`` is one token). Per token: how many
attack rows (label other than benign) and benign rows of the split hold it, the rates within each class, and the
attack rows per source / attack_type. Listed are tokens with at least ``--min-attack`` attack rows whose smoothed
benign rate is at most ``1 / --ratio`` of their attack rate. ``own share`` is the part of the attack rows that come
from the project's own generators (``GENERATOR_SOURCES``: sources written or synthesised here), the part a build can
change. ``--words`` adds the counts of chosen tokens whatever their purity; the JSON also has the rows per
(source, attack_type) of each class.

Writes ``<out>.json`` (every listed token with its counts and sources) and ``<out>.md`` (the table). Counts only: no
row text leaves the split.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter, defaultdict
from pathlib import Path

from tinyguardrail.data.io import read_split

TOKEN = re.compile(r"\w+", re.UNICODE)
#: Sources whose rows the project writes or synthesises (``data.domains.OWN_SOURCES`` is narrower: the written texts).
GENERATOR_SOURCES = ("synth", "bank", "bank_more", "agentsynth", "security_docs", "paragraphs")


def row_tokens(text: str, max_len: int = 40) -> set[str]:
    """The distinct lower-cased word tokens of ``text`` (tokens longer than ``max_len`` dropped: base64 runs)."""
    return {t for t in TOKEN.findall(text.lower()) if len(t) <= max_len and not t.isdigit()}


def audit(rows, min_attack: int = 250, ratio: float = 30.0, own=GENERATOR_SOURCES, words=()) -> dict:
    """Count tokens per class over ``rows`` (records with text, label, source, attack_type); list the label-pure ones,
    and give the counts of ``words`` (lower-case tokens) and the rows per (source, attack_type) of each class."""
    attack_rows: Counter[str] = Counter()
    benign_rows: Counter[str] = Counter()
    by_source: dict[str, Counter[str]] = defaultdict(Counter)
    by_type: dict[str, Counter[str]] = defaultdict(Counter)
    n_attack = n_benign = 0
    types: dict[str, Counter[str]] = {"attack": Counter(), "benign": Counter()}
    for row in rows:
        toks = row_tokens(row.text)
        types["benign" if row.label == "benign" else "attack"][f"{row.source}:{row.attack_type}"] += 1
        if row.label == "benign":
            n_benign += 1
            benign_rows.update(toks)
            continue
        n_attack += 1
        attack_rows.update(toks)
        for t in toks:
            by_source[t][row.source] += 1
            by_type[t][f"{row.source}:{row.attack_type}"] += 1
    listed = []
    for tok, a in attack_rows.items():
        if a < min_attack:
            continue
        b = benign_rows.get(tok, 0)
        a_rate = a / max(n_attack, 1)
        b_rate = (b + 1) / max(n_benign, 1)
        if b_rate * ratio > a_rate:
            continue
        own_n = sum(n for s, n in by_source[tok].items() if s in own)
        listed.append(
            {
                "token": tok,
                "attack_rows": a,
                "benign_rows": b,
                "attack_rate": round(a_rate, 5),
                "benign_rate": round(b / max(n_benign, 1), 5),
                "rate_ratio": round(a_rate / b_rate, 1),
                "own_share": round(own_n / a, 3),
                "sources": dict(by_source[tok].most_common(5)),
                "attack_types": dict(by_type[tok].most_common(5)),
            }
        )
    listed.sort(key=lambda r: (-r["attack_rows"] * r["own_share"], -r["attack_rows"]))
    asked = {w: {"attack_rows": attack_rows.get(w, 0), "benign_rows": benign_rows.get(w, 0),
                 "attack_types": dict(by_type[w].most_common(5))} for w in words}
    return {"n_attack": n_attack, "n_benign": n_benign, "min_attack": min_attack, "ratio": ratio, "tokens": listed,
            "words": asked, "rows_by_type": {k: dict(v.most_common()) for k, v in types.items()}}


def to_markdown(result: dict, split: str, top: int = 80) -> str:
    lines = [
        f"# Label-pure tokens of the {split} split",
        "",
        f"{result['n_attack']:,} attack rows, {result['n_benign']:,} benign rows. Tokens in at least "
        f"{result['min_attack']} attack rows whose benign rate is at most 1/{result['ratio']:g} of their attack rate "
        f"({len(result['tokens'])} tokens), ranked by attack rows from the project's own generators.",
        "",
        "| token | attack rows | benign rows | rate ratio | own share | top attack types |",
        "|---|---|---|---|---|---|",
    ]
    for r in result["tokens"][:top]:
        types = ", ".join(f"{k} {v}" for k, v in list(r["attack_types"].items())[:3])
        lines.append(
            f"| `{r['token']}` | {r['attack_rows']:,} | {r['benign_rows']:,} | {r['rate_ratio']:g} | "
            f"{r['own_share']:.0%} | {types} |"
        )
    if result.get("words"):
        lines += ["", "Asked-for tokens, whatever their purity:", "", "| token | attack rows | benign rows | top attack types |",
                  "|---|---|---|---|"]
        for w, r in result["words"].items():
            types = ", ".join(f"{k} {v}" for k, v in list(r["attack_types"].items())[:3])
            lines.append(f"| `{w}` | {r['attack_rows']:,} | {r['benign_rows']:,} | {types} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="build/data", help="data build directory")
    ap.add_argument("--split", default="train")
    ap.add_argument("--min-attack", type=int, default=250, help="least attack rows a listed token is in")
    ap.add_argument("--ratio", type=float, default=30.0, help="attack rate over (smoothed) benign rate, at least")
    ap.add_argument("--top", type=int, default=80, help="rows of the markdown table")
    ap.add_argument("--words", default="", help="comma-separated tokens whose counts to report whatever their purity")
    ap.add_argument("--out", default="build/audit/label_purity", help="output prefix (.json and .md)")
    args = ap.parse_args(argv)
    words = [w.strip().lower() for w in args.words.split(",") if w.strip()]
    result = audit(read_split(Path(args.data), args.split), args.min_attack, args.ratio, words=words)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(result, indent=1, ensure_ascii=False))
    out.with_suffix(".md").write_text(to_markdown(result, args.split, args.top))
    print(to_markdown(result, args.split, args.top))


if __name__ == "__main__":
    main()
