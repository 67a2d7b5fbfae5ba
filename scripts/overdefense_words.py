"""Which words push benign text toward "attack": false-positive counts and word occlusion on held-out benign rows.

    python scripts/overdefense_words.py --model models/tinyguardrail-v0.17 --data build/data \\
        --out build/overdefense/v010 --mine 3

Issue point 5's first half ("find the words and phrases that push benign text toward attack"). Reads the benign
rows of the **validation** split (held out from training, same distribution) or of the **OOD-dev** suite (``--rows
ood_dev``: the suite data changes are chosen on; never a report set) and:

1. scores every row with the shipped runtime (P(attack) = 1 - P(benign) of the deciding view / window);
2. for each row the model flags (P(attack) at or above the lower edge of its uncertain band) and short enough
   (``--max-chars``), deletes each word in turn and rescores: the drop in P(attack) is that word's share of the
   false positive (occlusion attribution; a word that occurs twice is deleted everywhere at once);
3. per word (lower-cased, punctuation stripped): how many benign rows hold it, the share of those the model flags
   (against the base rate), how often it is the row's strongest trigger and its mean drop.

Writes ``<out>.json`` (every word with its counts, the flagged rows with their strongest trigger: public-data text,
keep it under ``build/``) and ``<out>.md`` (counts only: the words ranked by how many false positives they are the
strongest trigger of). ``--mine`` writes the mined-sentence list: benign
sentences of the **training** split's benign rows that hold the top words (the material a rebalanced build would
repeat); the model is not asked about them.
"""

from __future__ import annotations

import argparse
import json
import re
import time
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

from tinyguardrail.data.io import read_split
from tinyguardrail.eval.ood import read_suite
from tinyguardrail.runtime.guard import Guard

_TOKEN = re.compile(r"\S+")


def _norm(token: str) -> str:
    """A whitespace token lower-cased, without the punctuation and symbols around it (combining marks stay, so
    Devanagari or Thai words stay whole)."""
    i, j = 0, len(token)
    while i < j and unicodedata.category(token[i])[0] in "PS":
        i += 1
    while j > i and unicodedata.category(token[j - 1])[0] in "PS":
        j -= 1
    return token[i:j].lower()


def words_of(text: str) -> list[str]:
    return [w for w in map(_norm, _TOKEN.findall(text)) if w]


def without(text: str, word: str) -> str:
    """``text`` with every whitespace token that reads ``word`` deleted (its whitespace stays)."""
    return _TOKEN.sub(lambda m: "" if _norm(m.group(0)) == word else m.group(0), text)


def p_attack(guard: Guard, texts: list[str], batch: int = 64) -> list[float]:
    out: list[float] = []
    for i in range(0, len(texts), batch):
        out += [1.0 - v.scores.get("benign", 0.0) for v in guard.check_batch(texts[i : i + batch])]
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="models/tinyguardrail-v0.17")
    p.add_argument("--data", default="build/data")
    p.add_argument("--out", default="build/overdefense_words", help="output stem (.json and .md are added)")
    p.add_argument("--max-chars", type=int, default=500, help="occlude only flagged rows up to this length")
    p.add_argument("--min-rows", type=int, default=5, help="list words held by at least this many benign rows")
    p.add_argument("--top", type=int, default=60, help="words in the markdown table")
    p.add_argument("--rows", choices=("validation", "ood_dev"), default="validation",
                   help="benign rows of the validation split or of the OOD-dev suite (<data>/suites/ood_dev.jsonl.gz)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--mine", type=int, default=0, help="also list up to N training-split benign rows per top word")
    a = p.parse_args()

    t0 = time.perf_counter()
    guard = Guard.load(a.model, threads=a.threads)
    policy = guard.policy  # flagged: anything but "benign" (the lowest threshold, less the uncertain band)
    flag_at = min([policy.attack_threshold, *policy.class_thresholds.values()]) - policy.uncertain_margin
    if a.rows == "ood_dev":
        rows = [r for r in read_suite(Path(a.data) / "suites" / "ood_dev.jsonl.gz") if r.label == "benign"]
    else:
        rows = [r for r in read_split(Path(a.data), "validation") if r.label == "benign"]
    scores = p_attack(guard, [r.text for r in rows])
    flagged = [i for i, s in enumerate(scores) if s >= flag_at]
    print(f"{len(rows)} benign {a.rows} rows, {len(flagged)} flagged (P(attack) >= {flag_at:.4f}), "
          f"{time.perf_counter() - t0:.0f} s", flush=True)

    held: dict[str, set[int]] = defaultdict(set)  # word -> benign rows holding it
    for i, r in enumerate(rows):
        for w in set(words_of(r.text)):
            held[w].add(i)
    drops: dict[str, list[float]] = defaultdict(list)
    strongest: Counter = Counter()
    examples = []
    occluded = [i for i in flagged if len(rows[i].text) <= a.max_chars]
    for n, i in enumerate(occluded):
        text, base = rows[i].text, scores[i]
        vocab = sorted(set(words_of(text)))
        if not vocab:
            continue
        after = p_attack(guard, [without(text, w) for w in vocab])
        d = {w: base - s for w, s in zip(vocab, after, strict=True)}
        for w, v in d.items():
            drops[w].append(v)
        top = max(d, key=d.get)
        strongest[top] += 1
        examples.append({"source": rows[i].source, "lang": rows[i].lang, "cell": getattr(rows[i], "cell", None),
                         "p_attack": round(base, 4), "trigger": top, "drop": round(d[top], 4), "text": text[:300]})
        if n % 50 == 0:
            print(f"occluded {n + 1}/{len(occluded)} rows, {time.perf_counter() - t0:.0f} s", flush=True)

    flagged_set, base_rate = set(flagged), len(flagged) / max(1, len(rows))
    table = []
    for w, ids in held.items():
        if len(ids) < a.min_rows:
            continue
        fp = len(ids & flagged_set)
        table.append({"word": w, "benign_rows": len(ids), "flagged": fp, "flag_rate": round(fp / len(ids), 4),
                      "strongest_trigger": strongest.get(w, 0),
                      "mean_drop": round(sum(drops[w]) / len(drops[w]), 4) if drops.get(w) else None})
    table.sort(key=lambda t: (-t["strongest_trigger"], -t["flagged"]))
    summary = {"model": a.model, "data": a.data, "rows": a.rows, "benign_rows": len(rows),
               "flag_threshold": round(flag_at, 6), "flagged": len(flagged), "flag_rate": round(base_rate, 4),
               "occluded_rows": len(occluded), "seconds": round(time.perf_counter() - t0, 1)}
    by_source = Counter(getattr(rows[i], "cell", None) or rows[i].source for i in flagged)
    mined = {}
    if a.mine:
        top_words = [t["word"] for t in table[: a.top] if t["strongest_trigger"] >= 2]
        train = [(r.text, set(words_of(r.text))) for r in read_split(Path(a.data), "train") if r.label == "benign"]
        for w in top_words:
            found = [text for text, words in train if w in words]
            mined[w] = {"training_rows": len(found), "examples": found[: a.mine]}
    stem = Path(a.out)
    stem.parent.mkdir(parents=True, exist_ok=True)
    stem.with_suffix(".json").write_text(json.dumps(
        {"summary": summary, "flagged_by_source": dict(by_source.most_common()), "words": table,
         "flagged_rows": examples, "training_rows_with_word": mined}, indent=1, ensure_ascii=False) + "\n")
    lines = [f"# Words that push benign text toward attack ({Path(a.model).name}, {a.rows} rows)", "",
             f"`python scripts/overdefense_words.py --model {a.model} --rows {a.rows}`: {len(rows)} benign {a.rows} rows, "
             f"{len(flagged)} flagged at P(attack) ≥ {flag_at:.4f} ({100 * base_rate:.1f} %); {len(occluded)} of them "
             f"(≤ {a.max_chars} characters) occluded word by word. Flagged rows by source (OOD-dev: by cell): "
             + ", ".join(f"{s} {n}" for s, n in by_source.most_common(12)) + ".", "",
             "| word | benign rows holding it | flagged | flag rate | strongest trigger in | mean drop of P(attack) |"
             + (" training rows holding it |" if mined else ""),
             "|---|---|---|---|---|---|" + ("---|" if mined else "")]
    for t in table[: a.top]:
        if not t["strongest_trigger"]:
            break
        lines.append(f"| {t['word']} | {t['benign_rows']} | {t['flagged']} | {100 * t['flag_rate']:.1f} % | "
                     f"{t['strongest_trigger']} | {t['mean_drop']:.3f} |"
                     + (f" {mined[t['word']]['training_rows'] if t['word'] in mined else '–'} |" if mined else ""))
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print(f"{stem}.json, {stem}.md: {len(table)} words, {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
