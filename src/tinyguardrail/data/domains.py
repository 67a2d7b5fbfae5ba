"""Placeholder addresses of the project's own written attacks, made neutral (``BuildConfig.neutral_domains``).

The bank's exfiltration and injected-document phrasings were written with ``attacker.example`` as the place data is
sent to (``https://hooks.attacker.example/...``, ``backup@attacker.example``): in v0.10's build (``configs/data-v0.10.json``)
2,780 attack rows of the training split carry the word "attacker" (the bank's own and the synthetic and agent rows
its phrasings are hidden in), against 37 benign ones. The word then identifies the class: a model learns it, and flags benign text that
discusses attackers (``scripts/overdefense_words.py`` on v0.10: "attacker" was the strongest trigger of OOD-dev's
false positives). Real exfiltration targets look like any other address, so each such address becomes an
ordinary-looking domain drawn from 17,280 (``<word>[-]<word>.<tld>``), the same one throughout a text and
chosen by the text's hash (a phrasing and the documents it is hidden in agree), keeping the subdomain and the user
part. Only the sources the project wrote (``OWN_SOURCES``) are touched: public data stays as published.

Level 2 (``neutral_domains: 2``, since the fourteenth session) also rewrites the other forms of the word the
project's texts use in addresses (``attacker@...``, ``@attacker_bot``, ``attacker-upi``, ``attacker-example-drop``;
not prose compounds such as "attacker-controlled") to an ordinary user name, and never draws a domain that spells a
well-known brand (``sharepoint.com``, ``dropbox.com``). :func:`random_domain` draws from the same domains for the
benign carriers of ``data.carriers``, so that such domains are not a sign of attack either.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Sequence
from dataclasses import replace

from tinyguardrail.data.record import Material, Record

#: Sources whose texts the project wrote (their placeholder addresses are the project's choice, not data).
OWN_SOURCES = frozenset({"bank", "bank_more", "security_docs"})
_PLACEHOLDER = re.compile(r"attacker\.example", re.IGNORECASE)
_FIRST = ("cloud", "data", "sync", "file", "share", "note", "mail", "media", "form", "doc", "backup", "track",
          "stat", "relay", "hub", "drop", "vault", "portal", "asset", "link", "page", "web", "net", "info",
          "smart", "quick", "open", "blue", "green", "north", "river", "maple", "pixel", "nova", "echo", "bright")
_SECOND = ("box", "hub", "zone", "point", "base", "line", "works", "stack", "desk", "spot", "lab", "space",
           "flow", "cast", "port", "store", "cdn", "app", "center", "direct")
_TLDS = ("com", "net", "io", "org", "app", "dev", "co", "info", "biz", "xyz", "site", "online")
#: <first><second> names that are real brands: level 2 draws the next second word instead.
_BRANDS = frozenset({"sharepoint", "dropbox", "mailbox", "webflow", "filestack", "databox", "infospace", "openport",
                     "pagelines", "datadirect", "smartstore"})
#: The word's address forms in the project's texts (``attacker@…``, ``@attacker_bot``, ``attacker-upi``,
#: ``attacker-example-drop``, ``attacker-domain``); prose compounds ("attacker-controlled") are left alone.
_WORD_FORMS = re.compile(r"\battacker(?=@|_bot\b|-upi\b|-example-drop\b|-domain\b)", re.IGNORECASE)
_USERS = ("archive", "backup", "sync", "reports", "ops", "records", "collector", "inbox", "relay", "exports",
          "mirror", "support-desk", "audit", "handoff", "dropoff", "storage")


def text_hash(text: str) -> int:
    """A stable 64-bit number of ``text`` (the draw behind every choice made per text here)."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()[:8], "big")


def _domain(h: int, level: int = 1) -> str:
    a, h = h % len(_FIRST), h // len(_FIRST)
    b, h = h % len(_SECOND), h // len(_SECOND)
    while level >= 2 and _FIRST[a] + _SECOND[b] in _BRANDS:
        b = (b + 1) % len(_SECOND)
    sep = "-" if h % 3 == 0 else ""
    return f"{_FIRST[a]}{sep}{_SECOND[b]}.{_TLDS[(h // 3) % len(_TLDS)]}"


def neutral_domain(text: str, level: int = 1) -> str:
    """The domain that replaces the placeholder in ``text`` (a pure function of the text; level 2: no brands)."""
    return _domain(text_hash(text), level)


def random_domain(rng: random.Random) -> str:
    """A domain of the same kind drawn with ``rng`` (no brands), for benign documents."""
    return _domain(rng.getrandbits(64), level=2)


def neutralize(text: str, level: int = 1) -> str:
    """``text`` with every placeholder address on one neutral domain (unchanged when it has none); level 2 also
    gives the word's address forms (``_WORD_FORMS``: ``attacker@``, ``attacker_bot``, ``attacker-upi``, ...) an
    ordinary user name."""
    if _PLACEHOLDER.search(text):
        text = _PLACEHOLDER.sub(neutral_domain(text, level), text)
    if level >= 2 and _WORD_FORMS.search(text):
        text = _WORD_FORMS.sub(_USERS[text_hash(text) % len(_USERS)], text)
    return text


def neutralize_sources(records: Sequence[Record], materials: Sequence[Material],
                       level: int = 1) -> tuple[list, list, int]:
    """Rows and materials of ``OWN_SOURCES`` with neutral addresses; returns both lists and how many texts changed."""
    changed = 0

    def fix(item):
        nonlocal changed
        if item.source not in OWN_SOURCES:
            return item
        text = neutralize(item.text, level)
        if text == item.text:
            return item
        changed += 1
        return replace(item, text=text)

    return [fix(r) for r in records], [fix(m) for m in materials], changed
