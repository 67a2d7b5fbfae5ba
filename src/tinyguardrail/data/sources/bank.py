"""The project's own multilingual bank (``tinyguardrail/data/bank/<lang>.json``, written for this project, natively
in each language; not a file of the data root): attack intents and benign look-alikes in the languages of real
traffic, except the languages the data config holds out for the OOD-dev suite (transfer to those stays measured).

Schema of one file (``lang``, ``attack.<intent>``, ``fill.task`` / ``fill.goal``, ``benign.<kind>``):

| list | rows | label | attack_type |
|---|---|---|---|
| ``attack.override_then_task`` (slot ``{task}``) | each phrasing x ``FILL_K`` tasks of ``fill.task`` | direct_injection | ``bank_override_then_task`` |
| ``attack.persona_jailbreak`` / ``roleplay_jailbreak`` (slot ``{goal}``) | each x ``FILL_K`` goals of ``fill.goal`` | jailbreak | ``bank_<intent>`` |
| other ``attack.<intent>`` (secret extraction, authority claim, fake system message, exfiltration, document injection) | each phrasing once | direct_injection | ``bank_<intent>`` |
| ``benign.<kind>`` (trigger words, role-play, security talk, ordinary chat) | each once | benign | ``bank_<kind>`` |

``fill`` items are never rows on their own: a goal is a plain harmful request, not an attack, and a task also sits
inside the attack phrasings it fills (a benign row that is a piece of an attack row would straddle splits). Every phrasing is its own
group (``template_id`` = ``bank/<lang>/<list>/<index>``, all fills of it share it), so the builder's group split keeps
a phrasing on one side. Attack phrasings without slots are also ``Material(kind="payload")`` for the indirect
injections (hidden in carrier documents).
"""

from __future__ import annotations

import json
import pathlib
import re
from collections.abc import Iterator
from importlib import resources

from tinyguardrail.data.record import Material, Record
from tinyguardrail.data.templates import rng_for

NAME = "bank"
EVAL_ONLY = False
SOURCE = "bank"
FILL_K = 2
OPT_IN_LANGUAGES = frozenset({"az", "bg", "ka", "kk", "lt", "ms", "sk", "ur"})
"""Bank languages added after tinyguardrail-v0.16 (twenty-third session): a build reads their rows only when the data
config names them in ``bank_languages_on`` (``configs/data-bank8.json``), so every earlier config rebuilds its data."""
JAILBREAK_INTENTS = frozenset({"persona_jailbreak", "roleplay_jailbreak"})
SLOTS = {"override_then_task": ("{task}", "task"), "persona_jailbreak": ("{goal}", "goal"),
         "roleplay_jailbreak": ("{goal}", "goal")}
_BRACES = re.compile(r"\{[a-z_]+\}")


def bank_dir() -> pathlib.Path:
    return pathlib.Path(str(resources.files("tinyguardrail.data") / "bank"))


def banks(folder: pathlib.Path | None = None) -> list[dict]:
    """Every language file of the bank, checked: slots where the schema wants them and nowhere else."""
    return [check(path, json.loads(path.read_text(encoding="utf-8")))
            for path in sorted((folder or bank_dir()).glob("*.json"))]


def check(path: pathlib.Path, bank: dict, sections: tuple[str, ...] = ("attack", "fill", "benign")) -> dict:
    """``bank`` (read from ``path``) when it has ``sections`` and every slot is where the schema wants it and nowhere
    else (the second round, ``bank_more``, has no ``fill``: its slots take the first round's)."""
    missing = [sec for sec in sections if not isinstance(bank.get(sec), dict)]
    if missing:
        raise ValueError(f"{path.name}: no {', '.join(missing)} section")
    lists = [(f"attack.{k}", v, SLOTS.get(k, (None,))[0]) for k, v in bank["attack"].items()]
    lists += [(f"{sec}.{k}", v, None) for sec in ("fill", "benign") if sec in sections for k, v in bank[sec].items()]
    for name, items, slot in lists:
        for text in items:
            found = _BRACES.findall(text)
            if found != ([slot] if slot else []):
                raise ValueError(f"{path.name}: {name}: slots {found} in {text[:60]!r}")
    return bank


def _rows(bank: dict, source: str = SOURCE) -> Iterator[tuple[Record, bool]]:
    """(record, is_standalone_attack_phrasing); ``source`` also prefixes the template ids."""
    lang = bank["lang"]
    for intent, items in bank["attack"].items():
        label = "jailbreak" if intent in JAILBREAK_INTENTS else "direct_injection"
        for i, text in enumerate(items):
            tid = f"{source}/{lang}/{intent}/{i}"
            if intent in SLOTS:
                slot, pool = SLOTS[intent]
                fills = bank["fill"][pool]
                for fill in rng_for(tid).sample(fills, min(FILL_K, len(fills))):
                    yield Record(text.replace(slot, fill).strip(), label, source, f"bank_{intent}", lang, tid), False
            else:
                yield Record(text.strip(), label, source, f"bank_{intent}", lang, tid), True
    for kind, items in bank["benign"].items():
        for i, text in enumerate(items):
            yield Record(text.strip(), "benign", source, f"bank_{kind}", lang, f"{source}/{lang}/{kind}/{i}"), False


def load(root: pathlib.Path) -> Iterator[Record]:
    for bank in banks():
        for rec, _ in _rows(bank):
            yield rec


def materials(root: pathlib.Path) -> Iterator[Material]:
    for bank in banks():
        for rec, standalone in _rows(bank):
            if standalone:
                yield Material(rec.text, "payload", SOURCE, rec.lang, rec.template_id)
