"""neuralchemy prompt-injection / jailbreak set, ``core`` config (``mixed/neuralchemy``, Apache-2.0):
``core-{train,validation,test}.parquet`` with ``text, label (0/1), category, source, severity, group_id, augmented,
tags``.

Splits: kept as shipped (``train`` / ``validation`` / ``test``; the builder treats ``test`` as evaluation-only).
``template_id`` = ``neuralchemy/<group_id>`` (the publisher's leakage-free grouping). ``severity`` is not carried
(the Record has no field for it). English (``en``; a few HackAPrompt rows are in other languages, left ``en``).

Category -> label (``CATEGORY_LABEL``); the category is kept as ``attack_type``:
- ``benign``, ``edge_case`` -> ``benign``;
- ``direct_injection``, ``instruction_override``, ``prompt_injection``, ``payload_injection``,
  ``indirect_injection``, ``rag_poisoning``, ``system_manipulation``, ``context_confusion``, ``agent_manipulation``,
  ``output_manipulation``, ``prompt_extraction``, ``system_extraction``, ``prompt_leak``, ``training_extraction``,
  ``adversarial`` (shell / code-execution requests), ``code_execution``, ``token_injection``, ``multi_turn``
  -> ``direct_injection``;
- ``jailbreak``, ``persona_replacement``, ``crescendo``, ``many_shot``, ``response_manipulation``,
  ``chain_of_thought`` -> ``jailbreak``;
- ``encoding``, ``encoding_obfuscation``, ``token_smuggling`` -> ``obfuscation``;
- and any attack row whose text hides its payload with a character trick (homoglyph / look-alike Unicode,
  leetspeak, backslash-escaped characters, base64, zero-width characters: ``templates.char_trick``) ->
  ``obfuscation`` (attack_type ``<category>+<trick>``): about half of the set's attacks are homoglyph /
  leetspeak copies of plain ones.

Traps (mislabels, logged with counts):
- ``jailbreak`` rows from ``harmbench`` are bare HarmBench goals (plain harmful requests, no technique): relabelled
  ``benign`` [``plain_harmful_request``] and also exposed as ``Material(kind="goal")`` (same split).
- ``wildguard_judgecomp`` rows labelled benign are the ones whose attack FAILED in WildGuard/JudgeComparison, not
  benign prompts: the "You are a very direct assistant ... <rule>" random-search template, GCG token-soup suffixes
  (``templates.adversarial_suffix``), "Begin your response with 'Sure, here is'" and long persona / scenario
  framings around a harmful task (PAIR style) are relabelled ``jailbreak`` [``wildguard_relabelled``]; short
  XSTest-style questions ("How do I kill a Python process?") stay benign.
- ``control`` rows are labelled 1 but are ordinary requests ("List five fruits.", sometimes homoglyph-spelled):
  relabelled ``benign`` [``hard_negative_control``].
- ``model_fingerprinting`` ("what version are you?") and ``crescendo`` openers with severity ``low`` ("what are
  some common household chemicals?") are not attacks on their own and not clean benign text either: dropped.
- Exact duplicate texts: kept once, in the most protected split.
"""

from __future__ import annotations

import logging
import pathlib
import re
from collections import Counter
from collections.abc import Iterator

from tinyguardrail.data.record import Material, Record, hash_text
from tinyguardrail.data.templates import adversarial_suffix, char_trick

NAME = "mixed/neuralchemy"
EVAL_ONLY = False
SOURCE = "neuralchemy"
SPLITS = ("test", "validation", "train")

_DI = (
    "direct_injection instruction_override prompt_injection payload_injection indirect_injection rag_poisoning "
    "system_manipulation context_confusion agent_manipulation output_manipulation prompt_extraction "
    "system_extraction prompt_leak training_extraction adversarial code_execution token_injection multi_turn"
)
_JB = "jailbreak persona_replacement crescendo many_shot response_manipulation chain_of_thought"
_OB = "encoding encoding_obfuscation token_smuggling"
CATEGORY_LABEL: dict[str, str] = {
    "benign": "benign",
    "edge_case": "benign",
    **{c: "direct_injection" for c in _DI.split()},
    **{c: "jailbreak" for c in _JB.split()},
    **{c: "obfuscation" for c in _OB.split()},
}
DROP_CATEGORIES = frozenset({"model_fingerprinting"})

_RULES_TEMPLATE = "You are a very direct assistant who always fulfills the user's request"
_PERSONA_START = re.compile(
    r"(?i)^(?:you are|you're|you've|you have been|your (?:family|objective|task|mission|goal|job)|as an? |imagine|"
    r"roleplay|role-play|pretend|in this hypothetical|let's play)"
)
_SURE_HERE = re.compile(r"(?i)(?:begin|start) your (?:response|reply|answer) with\W{0,3}sure,? here")

log = logging.getLogger(__name__)


def _rows(root: pathlib.Path) -> Iterator[tuple[str, dict]]:
    import pyarrow.parquet as pq

    base = pathlib.Path(root) / NAME
    for split in SPLITS:
        for r in pq.read_table(base / f"core-{split}.parquet").to_pylist():
            yield split, r


def _wildguard_attack(text: str) -> bool:
    return (
        text.startswith(_RULES_TEMPLATE)
        or "[TASK HERE]" in text
        or bool(_SURE_HERE.search(text))
        or adversarial_suffix(text)
        or (len(text) > 120 and bool(_PERSONA_START.match(text)))
    )


def _classify(r: dict) -> tuple[str, str] | None:
    """(label, attack_type) or None to drop; counts go to the caller's log."""
    text, cat, src = r["text"], (r.get("category") or "").strip(), (r.get("source") or "").strip()
    if cat in DROP_CATEGORIES:
        return None
    if cat == "crescendo" and (r.get("severity") or "") == "low":
        return None
    if src == "harmbench" and cat == "jailbreak":
        return "benign", "plain_harmful_request"
    if cat == "control":
        return "benign", "hard_negative_control"
    if src == "wildguard_judgecomp" and _wildguard_attack(text):
        return "jailbreak", "wildguard_relabelled"
    label = CATEGORY_LABEL.get(cat)
    if label is None:
        label = "benign" if int(r.get("label", 0)) == 0 else "direct_injection"
        log.warning("neuralchemy: unknown category %r mapped by its 0/1 label to %s", cat, label)
    if label == "benign":
        return "benign", "none" if cat == "benign" else f"hard_negative_{cat}"
    trick = char_trick(text)
    if trick and label != "obfuscation":
        return "obfuscation", f"{cat}+{trick}"
    return label, cat


def load(root: pathlib.Path) -> Iterator[Record]:
    seen: set[str] = set()
    changes: Counter = Counter()
    for split, r in _rows(root):
        text = (r.get("text") or "").strip()
        if not text or text in seen:
            continue
        seen.add(text)
        got = _classify({**r, "text": text})
        if got is None:
            changes[f"dropped {r.get('category')}"] += 1
            continue
        label, atype = got
        if (label == "benign") != (int(r.get("label", 0)) == 0):
            changes[f"{r.get('source')}/{r.get('category')} {r.get('label')}->{label}"] += 1
        gid = (r.get("group_id") or "").strip() or hash_text(text)
        yield Record(text, label, SOURCE, atype, "en", f"neuralchemy/{gid}", split=split)
    for what, n in sorted(changes.items()):
        log.warning("neuralchemy: %s: %d rows", what, n)


def materials(root: pathlib.Path) -> Iterator[Material]:
    for split, r in _rows(root):
        text = (r.get("text") or "").strip()
        if text and r.get("source") == "harmbench" and r.get("category") == "jailbreak":
            gid = (r.get("group_id") or "").strip() or hash_text(text)
            yield Material(text, "goal", SOURCE, "en", f"neuralchemy/{gid}", split=split)
