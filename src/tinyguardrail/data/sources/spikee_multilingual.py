"""Spikee seed files (``attacks/spikee_multilingual``): injection lead-ins with an ``<INSTRUCTION>`` slot, injected
instructions, and benign finance questions, in English and in Zulu / Albanian / Irish / Scottish Gaelic.

Rows and labels:
- ``*/jailbreaks.jsonl`` x ``*/instructions.jsonl``: every unique lead-in is filled, as Spikee does, with
  ``FILL_K`` injection instructions of its own language (seeded choice) -> ``direct_injection``, attack_type the
  lead-in's ``jailbreak_type`` (``dan`` / ``dev`` lead-ins -> ``jailbreak``). Each unique lead-in is also a
  ``Material(kind="lead_in")`` (the slot removed) and each injection instruction a ``Material(kind="payload")``.
- Injection instructions (canary / XSS / markdown-exfiltration payloads, mailbox token theft, system-prompt
  extraction) also stand alone -> ``direct_injection`` [their ``instruction_type``].
- ``seeds-investment-advice-fp/standalone_user_inputs.jsonl``: general finance-education questions -> ``benign``
  [``question``], and the news e-mail of ``seeds-sysmsg-extraction-2025-04/base_user_inputs.jsonl`` -> ``benign``.

Traps handled:
- The seed folders repeat one lead-in list (332 rows, 74 unique texts) and instruction lists: deduplicated on text.
- ``no-jailbreak-01`` ("<INSTRUCTION>.") is no lead-in: skipped (the instruction alone is already a row).
- Investment-advice instructions ("Tell me which tech stocks to buy") are off-topic requests, not injections:
  never rows or payloads on their own; they only fill lead-ins, where the lead-in is the attack.
- The non-English rows are translations: ``template_id`` is the base id without the ``-zu``/``-sq``/``-ga``/``-gd``
  suffix, so a lead-in and its translations share one group (and one split). Language comes from ``lang``
  (absent = English).
"""

from __future__ import annotations

import json
import pathlib
import re
from collections.abc import Iterator

from tinyguardrail.data.record import Material, Record
from tinyguardrail.data.templates import rng_for

NAME = "attacks/spikee_multilingual"
EVAL_ONLY = False
SOURCE = "spikee_multilingual"
FILL_K = 3
_SLOT = "<INSTRUCTION>"
_LANG_SUFFIX = re.compile(r"-(zu|sq|ga|gd)$")
#: Lead-in types that are persona / mode jailbreaks rather than plain injections.
_JAILBREAK_TYPES = frozenset({"dan", "dev", "dev-mode"})
#: Instruction types that are injection payloads on their own (not the topical investment-advice requests).
_OFF_TOPIC = re.compile(r"^financial-adv")


def _jsonl(root: pathlib.Path, pattern: str) -> Iterator[dict]:
    for path in sorted((pathlib.Path(root) / NAME).glob(pattern)):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                yield json.loads(line)


def _base(item_id: str) -> str:
    return _LANG_SUFFIX.sub("", item_id)


def _unique(items: Iterator[dict], field: str) -> list[dict]:
    seen: dict[str, dict] = {}
    for it in items:
        seen.setdefault(it[field].strip(), it)
    return list(seen.values())


def lead_ins(root: pathlib.Path) -> list[dict]:
    return [j for j in _unique(_jsonl(root, "*/jailbreaks.jsonl"), "text") if j["text"].strip() not in ("<INSTRUCTION>.", _SLOT)]


def instructions(root: pathlib.Path) -> list[dict]:
    return _unique(_jsonl(root, "*/instructions.jsonl"), "instruction")


def _lang(item: dict) -> str:
    return item.get("lang") or "en"


def load(root: pathlib.Path) -> Iterator[Record]:
    insts = instructions(root)
    by_lang: dict[str, list[str]] = {}
    for it in insts:
        by_lang.setdefault(_lang(it), []).append(it["instruction"].strip())
    for it in insts:
        if not _OFF_TOPIC.match(it["instruction_type"]):
            yield Record(it["instruction"].strip(), "direct_injection", SOURCE, it["instruction_type"], _lang(it),
                         f"spikee/instruction/{_base(it['id'])}")
    for j in lead_ins(root):
        lang, tid = _lang(j), f"spikee/lead_in/{_base(j['id'])}"
        pool = by_lang.get(lang) or by_lang["en"]
        rng = rng_for(SOURCE, j["text"])
        label = "jailbreak" if j["jailbreak_type"] in _JAILBREAK_TYPES else "direct_injection"
        for inst in rng.sample(pool, min(FILL_K, len(pool))):
            yield Record(j["text"].replace(_SLOT, inst.rstrip(".")).strip(), label, SOURCE, j["jailbreak_type"], lang, tid)
    for it in _unique(_jsonl(root, "seeds-investment-advice-fp/standalone_user_inputs.jsonl"), "text"):
        yield Record(it["text"].strip(), "benign", SOURCE, "question", _lang(it), f"spikee/fp/{_base(it['id'])}")
    for it in _jsonl(root, "seeds-sysmsg-extraction-2025-04/base_user_inputs.jsonl"):
        if "<PLACEHOLDER>" not in it["document"]:
            yield Record(it["document"].replace("|", "\n"), "benign", SOURCE, "document", "en", f"spikee/doc/{it['id']}")


def materials(root: pathlib.Path) -> Iterator[Material]:
    for j in lead_ins(root):
        text = j["text"].replace(_SLOT, "").strip()
        if len(text) > 10:
            yield Material(text, "lead_in", SOURCE, _lang(j), f"spikee/lead_in/{_base(j['id'])}")
    for it in instructions(root):
        if not _OFF_TOPIC.match(it["instruction_type"]):
            yield Material(it["instruction"].strip(), "payload", SOURCE, _lang(it), f"spikee/instruction/{_base(it['id'])}")
