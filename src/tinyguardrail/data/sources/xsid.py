"""xSID 0.7: short requests to a digital assistant ("Zeige alle Erinnerungen", "Add a reminder for today at 4pm")
in 17 languages / dialects, translated from an English Snips / Facebook-TOP-derived set.

Text: the ``# text = ...`` comment line of every utterance block of the upstream ``<lang>.{test,valid}.conll.txt``
files (read directly; the derived ``xsid_0.7_utterances.jsonl`` is not needed). Token / slot columns are ignored.

Labels: ``benign`` / attack_type ``command`` (imperative requests: "cancel", "delete my alarm", "stop", "remind me":
natural hard negatives for command-like wording).

Traps handled:
- ``# text-en`` lines: every non-English block also carries the English source sentence; only ``# text`` is
  emitted with the file's language (reading every ``# text*`` line would tag English sentences as, e.g., Kazakh).
  ``# text-en`` is used for grouping instead.
- Parallel items: translations of one English request share the template ``xsid/<hash of the English text>``
  (ids are *not* aligned across languages, the English text is). English files carry no ids: their block order
  gives the English text; Norwegian ids ``<n>/<variant>`` refer to block *n* of the English file of the same split
  (11 dialect variants per item), so they join the same template.
- Norwegian is 11x larger (8,800 rows): every language is capped at ``MAX_PER_LANG`` distinct utterances
  (deterministic hash rank; only Norwegian is affected); exact duplicates within a language are dropped.
- Japanese files are word-segmented with spaces ("すべて の リマインダー を 表示"): spaces between non-ASCII
  characters are removed for ``ja`` and ``zh`` so the text looks like real input.
- Language: ISO 639-1 where it exists; the Bavarian dialects ``de-ba``, ``de-muc``, ``de-st`` -> ``bar``,
  Swiss German ``gsw`` and Neapolitan ``nap`` keep their ISO 639-3 codes.

The upstream test / valid split is not kept (``split`` None): the builder splits by template.
"""

from __future__ import annotations

import pathlib
import re
from collections import defaultdict
from collections.abc import Iterator

from tinyguardrail.data.chunking import cap_by_rank, norm_key
from tinyguardrail.data.record import Record, hash_text

NAME = "benign/xsid"
EVAL_ONLY = False
SOURCE = "xsid"

SPLITS = ("test", "valid")
#: At most this many distinct utterances per xSID language code.
MAX_PER_LANG = 800
LANG_MAP = {"de-ba": "bar", "de-muc": "bar", "de-st": "bar"}
_DETOKENIZE_RE = re.compile(r"(?<=[^\x00-\x7F]) +(?=[^\x00-\x7F])")
_FILE_RE = re.compile(r"^(?P<code>[a-z-]+)\.(?P<split>test|valid)\.conll(?:\.txt)?$")


def parse_conll(path: pathlib.Path) -> list[dict[str, str]]:
    """Comment fields (``id``, ``text``, ``text-en``, ``intent`` ...) of every utterance block, in file order."""
    blocks: list[dict[str, str]] = []
    cur: dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip():
                if cur:
                    blocks.append(cur)
                    cur = {}
                continue
            if line.startswith("# ") and " = " in line:
                key, value = line[2:].split(" = ", 1)
                cur[key.strip()] = value.strip()
    if cur:
        blocks.append(cur)
    return [b for b in blocks if b.get("text")]


def _files(folder: pathlib.Path) -> dict[tuple[str, str], pathlib.Path]:
    out = {}
    for path in sorted(folder.iterdir()):
        m = _FILE_RE.match(path.name)
        if m:
            out[(m.group("code"), m.group("split"))] = path
    return out


def load(root: pathlib.Path) -> Iterator[Record]:
    files = _files(pathlib.Path(root) / NAME)
    english: dict[str, list[str]] = {}
    for split in SPLITS:
        if ("en", split) in files:
            english[split] = [b["text"] for b in parse_conll(files[("en", split)])]

    by_code: dict[str, list[tuple[str, str]]] = defaultdict(list)
    seen: dict[str, set[str]] = defaultdict(set)
    for (code, split), path in files.items():
        for i, b in enumerate(parse_conll(path)):
            text = b["text"].strip()
            if code in ("ja", "zh"):
                text = _DETOKENIZE_RE.sub("", text)
            if not text or norm_key(text) in seen[code]:
                continue
            seen[code].add(norm_key(text))
            en_text = None
            if code == "en":
                en_text = b["text"]
            elif b.get("text-en"):
                en_text = b["text-en"]
            elif code == "no" and b.get("id"):
                n = b["id"].split("/", 1)[0]
                if n.isdigit() and 0 < int(n) <= len(english.get(split, [])):
                    en_text = english[split][int(n) - 1]
            if en_text:
                tid = f"{SOURCE}/{hash_text(norm_key(en_text))}"
            else:
                tid = f"{SOURCE}/{code}/{split}/{b.get('id', i)}"
            by_code[code].append((text, tid))

    for code in sorted(by_code):
        lang = LANG_MAP.get(code, code)
        for text, tid in cap_by_rank(by_code[code], MAX_PER_LANG, key=lambda x: x[0]):
            yield Record(text, "benign", SOURCE, "command", lang, tid)
