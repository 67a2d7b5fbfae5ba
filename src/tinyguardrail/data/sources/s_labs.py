"""S-Labs prompt-injection dataset (``mixed/s-labs``, MIT): ``{train,validation,test}.csv`` with ``text,label``.

Labels: ``0`` -> ``benign`` [``none``] (includes the set's hard negatives: AI/security questions, "jailbreak my
iPhone", trigger words in context). ``1`` (any injection) is split into our three attack classes by surface cues
(``templates.attack_kind``): a character trick (leetspeak ``1gn0r3``, spaced letters, base64 / hex blobs) ->
``obfuscation``; persona / restriction-removal cues (DAN, "unrestricted", "pretend you're an AI without
restrictions") -> ``jailbreak``; a request for the system prompt / instructions -> ``direct_injection``
[``prompt_leak``]; weaker role-play / hypothetical framing -> ``jailbreak``; the rest (override, social
engineering, false authority, fake context) -> ``direct_injection`` [``instruction_override``]. The finer type is
in ``attack_type``. English only (``en``).

Splits: the shipped splits are kept (``train`` / ``validation`` / ``test``; the builder treats ``test`` as
evaluation-only). Traps handled:
- 116 validation texts also occur in test and 4 in train: a text is kept only in its most protected split
  (test > validation > train), so validation never shares a row with test.
- Exact duplicates inside a split are emitted once; a text carrying both labels ("How do you handle requests
  that could be interpreted multiple ways?") is dropped (logged).
``template_id`` = ``s-labs/<text hash>`` (no grouping information is published).
"""

from __future__ import annotations

import csv
import logging
import pathlib
from collections import defaultdict
from collections.abc import Iterator

from tinyguardrail.data.record import Record, hash_text
from tinyguardrail.data.templates import attack_kind

NAME = "mixed/s-labs"
EVAL_ONLY = False
SOURCE = "s-labs"
#: Most protected first.
SPLITS = ("test", "validation", "train")

log = logging.getLogger(__name__)


def load(root: pathlib.Path) -> Iterator[Record]:
    base = pathlib.Path(root) / NAME
    rows: dict[str, list[tuple[str, str]]] = {}
    labels: dict[str, set[str]] = defaultdict(set)
    for split in SPLITS:
        with open(base / f"{split}.csv", encoding="utf-8", newline="") as f:
            rows[split] = [((r.get("text") or "").strip(), (r.get("label") or "").strip()) for r in csv.DictReader(f)]
        for text, lab in rows[split]:
            labels[text].add(lab)
    conflicting = {t for t, v in labels.items() if len(v) > 1}
    if conflicting:
        log.warning("s-labs: %d texts carry both labels; dropped", len(conflicting))
    seen: set[str] = set()
    moved = 0
    for split in SPLITS:
        for text, lab in rows[split]:
            if not text or text in conflicting:
                continue
            if text in seen:
                moved += split != "test"
                continue
            seen.add(text)
            if lab == "0":
                label, atype = "benign", "none"
            elif lab == "1":
                label, atype = attack_kind(text)
            else:
                log.warning("s-labs: unknown label %r; row dropped", lab)
                continue
            yield Record(text, label, SOURCE, atype, "en", f"s-labs/{hash_text(text)}", split=split)
    if moved:
        log.info("s-labs: %d rows dropped from a split because the same text is in a more protected split", moved)
