"""EasyJailbreak seed templates (``attacks/easyjailbreak``, GPL-3.0): ``easyjailbreak/seed/seed_template.json``.

``["attack"]`` maps a recipe name to a list of templates (``Jailbroken``: a list of one-entry dicts
``{family: template}``); ``["judge"]`` holds judge prompts (not attack text, ignored).

Labels: every kept template -> ``jailbreak``; attack_type = the recipe, lower-case (``autodan``, ``gptfuzzer``,
``renellm``, ``deepinception``, ``ica``, ``mjp``, ``default``) or ``jailbroken_<family>`` for the Wei et al.
families (prefix_injection, refusal_suppression, base64_output_only, style_injection, distractors, wikipedia,
poems, AIM, dev_mode, evil_confidant, evil_system_prompt). ``base64_output_only`` asks for an encoded *answer*;
the request itself is plain text, so it stays ``jailbreak``, not ``obfuscation``.

Traps handled:
- ``PAIR`` and ``TAP`` entries are attacker-LLM system prompts, not user-facing attack text: skipped.
  ``AuditingLLM`` and ``Catastrophic`` are empty strings: skipped.
- Placeholders (``{query}``, ``[PROMPT]``, ``[INSERT PROMPT HERE]``; ReNeLLM's ``{{query}}`` inside LaTeX whose
  other braces are not slots) are filled with ``FILL_K`` goals from ``templates.goal_pool``; template_id =
  ``templates.template_key`` (shared with other sources publishing the same template).
- The ``Gptfuzzer`` list duplicates ``attacks/gptfuzz`` (MIT, precedence): templates already there are skipped.
- ``AutoDAN-a`` = 128 near-duplicate Developer-Mode variants: one family, ``AUTODAN_CAP`` variants (seeded),
  one goal each, all with ``template_id`` ``easyjailbreak/autodan``.
- Escaped ``\\n`` sequences inside some templates are left as published (never modify attack text).
"""

from __future__ import annotations

import functools
import json
import pathlib
from collections.abc import Iterator

from tinyguardrail.data.record import Record
from tinyguardrail.data.templates import emit_filled, goal_pool, rng_for, template_key

NAME = "attacks/easyjailbreak"
EVAL_ONLY = False
SOURCE = "easyjailbreak"
#: Goals filled into each template.
FILL_K = 3
#: AutoDAN-a near-duplicate variants kept.
AUTODAN_CAP = 24
#: Recipes that are not attack text.
SKIP_RECIPES = frozenset({"PAIR", "TAP", "AuditingLLM", "Catastrophic"})


@functools.lru_cache(maxsize=4)
def _templates(root: str) -> tuple[tuple[str, str, str], ...]:
    """(recipe, attack_type, text) for every attack template."""
    data = json.loads((pathlib.Path(root) / NAME / "easyjailbreak/seed/seed_template.json").read_text(encoding="utf-8"))
    out = []
    for recipe, entries in data.get("attack", {}).items():
        if recipe in SKIP_RECIPES:
            continue
        for entry in entries:
            if isinstance(entry, dict):
                for fam, text in entry.items():
                    out.append((recipe, f"jailbroken_{fam.lower()}", str(text)))
            else:
                out.append((recipe, recipe.lower().replace("-a", ""), str(entry)))
    return tuple((r, a, t.strip()) for r, a, t in out if t and t.strip())


def template_texts(root: pathlib.Path) -> list[str]:
    """Templates other than AutoDAN-a (for other loaders' duplicate check); [] when absent."""
    try:
        return [t for r, _, t in _templates(str(pathlib.Path(root).resolve())) if r != "AutoDAN-a"]
    except FileNotFoundError:
        return []


def load(root: pathlib.Path) -> Iterator[Record]:
    from tinyguardrail.data.sources import gptfuzz

    rows = _templates(str(pathlib.Path(root).resolve()))
    goals = goal_pool(root)
    skip = {template_key(t) for t in gptfuzz.template_texts(root)}
    yield from emit_filled(
        [(t, a, "en") for r, a, t in rows if r != "AutoDAN-a"], SOURCE, goals, k=FILL_K, skip_keys=skip
    )
    autodan = [(t, a, "en") for r, a, t in rows if r == "AutoDAN-a"]
    rng = rng_for("easyjailbreak/autodan")
    autodan = rng.sample(autodan, min(AUTODAN_CAP, len(autodan)))
    yield from emit_filled(autodan, SOURCE, goals, k=1, family="easyjailbreak/autodan")
