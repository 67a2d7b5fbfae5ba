"""tldr-pages: community command-line cheat sheets (38k pages, 39 languages).

Text: the page of every line of ``tldr_pages.jsonl`` (title, one-line description, "More information" link and
5-8 imperative example descriptions with shell snippets, e.g. "- Commit bypassing pre-commit hooks:
`git commit --no-verify`"), verbatim; the rare page over 1500 characters is cut by ``chunking.chunk_text``.

Labels: ``benign`` / attack_type ``hard_negative_command``: imperative technical text full of "kill", "force",
"override", "bypass", "disable", "root", "password", "execute", which an over-eager guard flags.

Traps handled:
- Parallel translations: the same commands exist in many languages, so the template is the command name
  (``tldr_pages/<page file stem>``, shared across languages and platforms): a command never straddles splits.
- Alias pages ("This command is an alias of `X`." + the one example "`tldr X`", ~600 per language) are one
  template filled with two command names: per language they share the template ``tldr_pages/alias/<lang>`` (one
  split; the builder's per-template cap keeps a few dozen), or a test alias page would be a near-copy of a
  training one.
- Size: capped at ``MAX_PER_LANG`` pages per language (English 7.3k and Korean 6.6k are cut; all others are
  smaller), chosen deterministically by the stable hash rank of the command name, so the same commands are kept in
  every language. The builder rebalances further.
- Language: ``pages.<lang>`` folder codes reduced to ISO 639-1 (``pt_BR``/``pt_PT`` -> ``pt``, ``zh_TW`` -> ``zh``;
  the cap applies after this merge); ``no`` and ``nb`` stay as published.

``split`` is None.
"""

from __future__ import annotations

import json
import pathlib
import re
from collections import defaultdict
from collections.abc import Iterator

from tinyguardrail.data.chunking import cap_by_rank, chunk_text
from tinyguardrail.data.record import Record

NAME = "benign/tldr_pages"
EVAL_ONLY = False
SOURCE = "tldr_pages"

FILE = "tldr_pages.jsonl"
#: At most this many pages per (normalised) language.
MAX_PER_LANG = 3000


def _lang(code: str | None) -> str:
    return (code or "und").split("_")[0].split("-")[0].lower() or "und"


def _command(path: str) -> str:
    return path.rsplit("/", 1)[-1].rsplit(".", 1)[0]


_ALIAS = re.compile(r"\A#[^\n]*\n+>[^\n]*\n+-[^\n]*\n+`tldr [^`\n]+`\s*\Z")


def template(command: str, text: str, lang: str) -> str:
    return f"{SOURCE}/alias/{lang}" if _ALIAS.match(text) else f"{SOURCE}/{command}"


def load(root: pathlib.Path) -> Iterator[Record]:
    by_lang: dict[str, list[tuple[str, str]]] = defaultdict(list)
    with open(pathlib.Path(root) / NAME / FILE, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            d = json.loads(line)
            text = (d.get("text") or "").strip()
            if text:
                by_lang[_lang(d.get("lang"))].append((_command(d.get("path") or ""), text))
    for lang in sorted(by_lang):
        pages = cap_by_rank(by_lang[lang], MAX_PER_LANG, key=lambda p: p[0])
        for command, text in pages:
            for chunk in chunk_text(text):
                yield Record(chunk, "benign", SOURCE, "hard_negative_command", lang, template(command, text, lang))
