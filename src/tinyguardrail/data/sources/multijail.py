"""MultiJail (``attacks/multijail``, ``data/MultiJail.csv``): 315 harmful requests x 10 human translations.

Columns: ``id, source, tags, en, zh, it, vi, ar, ko, th, bn, sw, jv`` (the first header carries a UTF-8 BOM: read
with ``utf-8-sig``). The column names are already ISO 639-1 codes.

Labels: these are plain harmful requests (Anthropic red-team / GPT-4 report), NOT injections or jailbreak
wrappers (the paper's "intentional" jailbreak wrapper is not in the file):
- every cell -> ``Material(kind="goal")`` in its language, template ``multijail/<id>`` (all translations of one
  request share it), for multilingual jailbreak / injection synthesis;
- a capped sample of ``PLAIN_HARMFUL_CAP`` requests (seeded, x 10 languages) -> ``benign``
  [``plain_harmful_request``], so the guard sees harmful topics without manipulation in low-resource languages.
Empty cells are skipped.
"""

from __future__ import annotations

import csv
import functools
import pathlib
from collections.abc import Iterator

from tinyguardrail.data.record import Material, Record
from tinyguardrail.data.templates import rng_for

NAME = "attacks/multijail"
EVAL_ONLY = False
SOURCE = "multijail"
LANGS = ("en", "zh", "it", "vi", "ar", "ko", "th", "bn", "sw", "jv")
#: Requests (x 10 languages) emitted as benign plain harmful requests.
PLAIN_HARMFUL_CAP = 10


@functools.lru_cache(maxsize=4)
def _rows(root: str) -> tuple[dict, ...]:
    with open(pathlib.Path(root) / NAME / "data" / "MultiJail.csv", encoding="utf-8-sig", newline="") as f:
        return tuple(csv.DictReader(f))


def _cells(root: pathlib.Path) -> Iterator[tuple[str, str, str]]:
    """(text, lang, id) for every non-empty cell."""
    for i, row in enumerate(_rows(str(pathlib.Path(root).resolve()))):
        rid = (row.get("id") or str(i)).strip()
        for lang in LANGS:
            text = (row.get(lang) or "").strip()
            if text:
                yield text, lang, rid


def load(root: pathlib.Path) -> Iterator[Record]:
    ids = sorted({rid for _, _, rid in _cells(root)}, key=lambda x: (len(x), x))
    keep = set(rng_for("multijail/plain").sample(ids, min(PLAIN_HARMFUL_CAP, len(ids))))
    for text, lang, rid in _cells(root):
        if rid in keep:
            yield Record(text, "benign", SOURCE, "plain_harmful_request", lang, f"multijail/{rid}")


def materials(root: pathlib.Path) -> Iterator[Material]:
    for text, lang, rid in _cells(root):
        yield Material(text, "goal", SOURCE, lang, f"multijail/{rid}")
