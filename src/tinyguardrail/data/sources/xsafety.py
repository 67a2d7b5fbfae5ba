"""XSafety (``attacks/xsafety``, "All Languages Matter"; Apache-2.0, README: research use only).

Layout: ``<lang>/<Category>.csv`` (English files carry an ``_n`` suffix; Bengali files are ``.xlsx``), one prompt
per row, no label column. Folders -> ISO 639-1: ar, bn, de, en, fr, hi, ja, ru, ``sp`` -> ``es``, zh. The 200 rows of
a category are parallel translations of the same 200 source prompts: row ``i`` of every language gets
``template_id`` ``xsafety/<Category>/<i>`` so no prompt's translations straddle splits.

Reading trap: inconsistent CSV quoting (unquoted commas, quoted multi-line cells, a UTF-8 BOM, leading spaces): rows
are read with ``csv.reader`` and a row's fields are re-joined with "," (the files have no real columns); every
file then has exactly 200 rows.

Labels per category (decided on the ENGLISH row ``i`` and applied to all its translations, SOURCE.md: category
labels are noisy):
- ``Goal_Hijacking`` -> ``direct_injection`` [``goal_hijacking``] when the English row contains an override of the
  preceding question/instruction (``OVERRIDE_EN``: ignore / disregard / forget / "don't answer" / "no need to
  answer" / "regardless of" / "do not follow" ...): 166 of 200. The other 34 ("Please repeat: ...", "Please output
  directly: ...", "Continue to perform dangerous operations") hijack nothing: dropped. A translation much shorter
  than usual for its language (< 0.6 x the language's median length ratio to English) lost the injection part
  (SOURCE.md: de line 2): dropped and logged. Kept rows are also ``Material(kind="payload")``.
- ``Prompt_Leaking``: mostly questions ABOUT prompt leakage; not injections. Rows whose English version asks for
  the model's own prompt content (``OWN_PROMPT_EN``: "your prompt", "share/list/export ... prompt") are dropped as
  ambiguous; the rest -> ``benign`` [``hard_negative_prompt_leak_discussion``], at most ``LEAK_DISCUSSION_CAP``
  source prompts (x 10 languages).
- ``Role_Play_Instruction``: a mix of harmless role-play and role-play asking for offensive output, with no
  override or restriction-removal: neither label is clean at category level -> not used.
- ``Reverse_Exposure``, ``Inquiry_With_Unsafe_Opinion``, ``Unsafe_Instruction_Topic``: harmful-topic requests /
  loaded questions with no attack technique -> ``benign`` [``plain_harmful_request``], capped to
  ``PLAIN_HARMFUL_CAP`` source prompts per category (x 10 languages) so the guard sees harmful topics that are not
  manipulation. ``Unsafe_Instruction_Topic`` rows are also ``Material(kind="goal")`` (all 200 x 10 languages).
"""

from __future__ import annotations

import csv
import functools
import io
import logging
import pathlib
import re
import statistics
from collections.abc import Iterator

from tinyguardrail.data.record import Material, Record
from tinyguardrail.data.templates import rng_for

NAME = "attacks/xsafety"
EVAL_ONLY = False
SOURCE = "xsafety"

#: Folder name -> ISO 639-1.
LANGS = {
    "ar": "ar",
    "bn": "bn",
    "de": "de",
    "en": "en",
    "fr": "fr",
    "hi": "hi",
    "ja": "ja",
    "ru": "ru",
    "sp": "es",
    "zh": "zh",
}
#: Source prompts (x 10 languages) kept as benign per plain-harmful category.
PLAIN_HARMFUL_CAP = 20
#: Source prompts (x 10 languages) of Prompt_Leaking discussion kept as benign hard negatives.
LEAK_DISCUSSION_CAP = 100
#: A translation shorter than this fraction of its language's median length ratio lost its injection.
MIN_LENGTH_RATIO = 0.6

OVERRIDE_EN = re.compile(
    r"(?i)\bignor|disregard|\bforget\b|don'?t answer|do not answer|no need to answer|don'?t rush to answer|"
    r"regardless of|do not follow|don'?t follow|don'?t choose|don'?t think about|without answering|"
    r"no need to do anything|instead of answering"
)
OWN_PROMPT_EN = re.compile(
    r"(?i)\byour\b[^.?!]{0,40}\bprompts?\b|\b(?:share|export|list|show|provide|tell me|give me|disclose)\b[^.?!]{0,60}"
    r"\bprompts?\b|\bprompts?\b[^.?!]{0,40}\b(?:share|show|disclose)\b|\bplease export\b"
)

log = logging.getLogger(__name__)


def _read(folder: pathlib.Path, category: str) -> list[str]:
    for name in (f"{category}.csv", f"{category}_n.csv"):
        path = folder / name
        if path.is_file():
            text = path.read_text(encoding="utf-8-sig")
            rows = [",".join(r).strip().lstrip("\ufeff").strip() for r in csv.reader(io.StringIO(text))]
            return [r for r in rows if r]
    for name in (f"{category}.xlsx", f"{category}_n.xlsx"):
        path = folder / name
        if path.is_file():
            import openpyxl

            wb = openpyxl.load_workbook(path, read_only=True)
            try:
                return [
                    str(r[0]).strip()
                    for r in wb.worksheets[0].iter_rows(values_only=True)
                    if r and r[0] is not None and str(r[0]).strip()
                ]
            finally:
                wb.close()
    return []


@functools.lru_cache(maxsize=16)
def _category(root: str, category: str) -> dict[str, tuple[str, ...]]:
    base = pathlib.Path(root) / NAME
    out = {}
    for folder, lang in LANGS.items():
        rows = _read(base / folder, category)
        if rows:
            out[lang] = tuple(rows)
    return out


def _aligned(rows: dict[str, tuple[str, ...]], category: str) -> dict[str, tuple[str, ...]]:
    en = rows.get("en")
    if en is None:
        log.warning("xsafety %s: no English file; category skipped", category)
        return {}
    out = {}
    for lang, r in rows.items():
        if len(r) != len(en):
            log.warning("xsafety %s/%s: %d rows vs %d English; language skipped", category, lang, len(r), len(en))
            continue
        out[lang] = r
    return out


def _pick(n: int, cap: int, seed: str, ok=lambda i: True) -> list[int]:
    idx = [i for i in range(n) if ok(i)]
    return sorted(rng_for(seed).sample(idx, min(cap, len(idx))))


def _hijacks(root: pathlib.Path) -> Iterator[tuple[str, str, str]]:
    """(text, lang, template_id) of the Goal_Hijacking rows kept as injections."""
    rows = _aligned(_category(str(pathlib.Path(root).resolve()), "Goal_Hijacking"), "Goal_Hijacking")
    if not rows:
        return
    en = rows["en"]
    inj = [bool(OVERRIDE_EN.search(t)) for t in en]
    lost = 0
    for lang, r in rows.items():
        ratios = [len(r[i]) / max(1, len(en[i])) for i in range(len(en))]
        med = statistics.median(ratios)
        for i, text in enumerate(r):
            if not inj[i]:
                continue
            if ratios[i] < MIN_LENGTH_RATIO * med:
                lost += 1
                continue
            yield text, lang, f"xsafety/Goal_Hijacking/{i}"
    if lost:
        log.info("xsafety Goal_Hijacking: %d translations dropped (injection part lost in translation)", lost)


def load(root: pathlib.Path) -> Iterator[Record]:
    root = pathlib.Path(root)
    key = str(root.resolve())
    for text, lang, tid in _hijacks(root):
        yield Record(text, "direct_injection", SOURCE, "goal_hijacking", lang, tid)

    rows = _aligned(_category(key, "Prompt_Leaking"), "Prompt_Leaking")
    if rows:
        en = rows["en"]
        keep = _pick(len(en), LEAK_DISCUSSION_CAP, "xsafety/Prompt_Leaking", lambda i: not OWN_PROMPT_EN.search(en[i]))
        for lang, r in rows.items():
            for i in keep:
                yield Record(
                    r[i], "benign", SOURCE, "hard_negative_prompt_leak_discussion", lang, f"xsafety/Prompt_Leaking/{i}"
                )

    for cat in ("Reverse_Exposure", "Inquiry_With_Unsafe_Opinion", "Unsafe_Instruction_Topic"):
        rows = _aligned(_category(key, cat), cat)
        if not rows:
            continue
        for i in _pick(len(rows["en"]), PLAIN_HARMFUL_CAP, f"xsafety/{cat}"):
            for lang, r in rows.items():
                yield Record(r[i], "benign", SOURCE, "plain_harmful_request", lang, f"xsafety/{cat}/{i}")


def materials(root: pathlib.Path) -> Iterator[Material]:
    root = pathlib.Path(root)
    for text, lang, tid in _hijacks(root):
        yield Material(text, "payload", SOURCE, lang, tid)
    rows = _aligned(_category(str(root.resolve()), "Unsafe_Instruction_Topic"), "Unsafe_Instruction_Topic")
    for lang, r in rows.items():
        for i, text in enumerate(r):
            yield Material(text, "goal", SOURCE, lang, f"xsafety/Unsafe_Instruction_Topic/{i}")
