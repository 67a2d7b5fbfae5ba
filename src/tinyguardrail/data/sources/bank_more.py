"""A second round of the project's multilingual bank (``tinyguardrail/data/bank/more/<lang>.json``, written for this
project natively in each language, like ``bank``): 16-23 more phrasings of each of the bank's eight attack intents and
about 70 more benign look-alikes (``trigger_words``, ``ordinary``, ``roleplay``) per language, at least six of each
intent's phrasings one sentence of at most 15 words (the model missed short direct requests: v0.10 catches 27.9 % / 23.8 % of OOD-dev's
held-out Italian / Portuguese ones, and scores its own training split's short Spanish ones at a median 0.87).

Same schema and rows as ``bank`` (``data.sources.bank``), without ``fill``: the slots take the fills of the language's
``bank/<lang>.json``. Source ``bank_more`` and template ids ``bank_more/<lang>/<list>/<index>`` (one group per
phrasing, so the builder's group split keeps a phrasing on one side; the per-source benign caps count these rows
apart from the first bank's). Standalone attack phrasings are also payload materials, as the bank's are. No language
the OOD-dev suite holds out (Italian, Portuguese, Hindi, Bengali, Albanian, Irish, Scottish Gaelic, Zulu) has a file.

**Opt-in** (``OPT_IN``: built only when a data config's ``sources_on`` names it, as ``configs/data-bankmore.json``
does; ``configs/data.json`` does not). Retrained with it (``plans/v26_bankmore_nd.json``), the model lost OOD-dev
recall at 1 % FPR in every seed and the Italian and Portuguese attacks it was written for (docs/ablations.md,
thirteenth session). Some of its phrasings name the exfiltration target in forms ``data.domains`` does not rewrite
(``@attacker_bot``, ``attacker-upi``, ``attacker-example-drop``): rewrite them before using it again.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Iterator

from tinyguardrail.data.record import Material, Record
from tinyguardrail.data.sources import bank as first

NAME = "bank_more"
EVAL_ONLY = False
#: Built only when a data config names it in ``sources_on`` (``data.build.active_sources``).
OPT_IN = True
SOURCE = "bank_more"


def more_dir() -> pathlib.Path:
    return first.bank_dir() / "more"


def banks(folder: pathlib.Path | None = None, first_folder: pathlib.Path | None = None) -> list[dict]:
    """Every file of the second round, checked, with the fills of its language's first-round file."""
    fills = {b["lang"]: b["fill"] for b in first.banks(first_folder)}
    out = []
    for path in sorted((folder or more_dir()).glob("*.json")):
        bank = first.check(path, json.loads(path.read_text(encoding="utf-8")), ("attack", "benign"))
        if bank["lang"] not in fills:
            raise ValueError(f"{path.name}: no first-round bank file for language {bank['lang']!r} (its fills)")
        out.append(bank | {"fill": fills[bank["lang"]]})
    return out


def _rows() -> Iterator[tuple[Record, bool]]:
    for bank in banks():
        yield from first._rows(bank, SOURCE)


def load(root: pathlib.Path) -> Iterator[Record]:
    for rec, _ in _rows():
        yield rec


def materials(root: pathlib.Path) -> Iterator[Material]:
    for rec, standalone in _rows():
        if standalone:
            yield Material(rec.text, "payload", SOURCE, rec.lang, rec.template_id)
