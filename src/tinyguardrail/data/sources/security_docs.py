"""The project's own benign security-explainer documents (``tinyguardrail/data/bank/docs/<name>.json``, written for
this project, natively in each language; not a file of the data root).

Why: the text the guard misreads most is writing *about* attacks (reference pages on prompt injection, red-team
reports, guidance on system prompts): it is dense with "attacker", "bypass", "system prompt", "override", and no
training-side public source holds much of it (OWASP's pages and brex's guide are held out whole for the OOD-dev
suite; the prompt engineering guide's adversarial pages are a few hundred chunks). These documents were written for
the project (2026-12-06, by writing helpers, language models told to write from their own knowledge without reading
any dataset or web page) in English and 30 other languages of the bank (blog posts, reference entries, policies,
post-mortems, FAQs, checklists, release notes...), none in a language the data config holds out for OOD-dev.

Schema of one file: ``{"lang": "<ISO 639-1>", "docs": [{"genre": ..., "title": ..., "text": ...}, ...]}``.

Labels: every row is ``benign`` / attack_type ``hard_negative_written_security_doc``. Each document gives
- the whole document (markdown kept; often longer than one window of the model),
- its 200-1500-character chunks (``chunking.chunk_text``) when it is longer than one chunk,
- up to ``LINES_PER_DOC`` of its short lines (a heading or bullet item of 3-25 words, markers stripped), chosen
  with a generator seeded by the document, so the headings and bullets of security writing are seen on their own.
Every row of one document shares the template ``security_docs/<file>/<index>``, so a document never straddles splits.

Traps handled: a row that matches ``chunking.quotes_attack`` (a verbatim override phrase, DAN...) is dropped, as in
the public documentation sources. The writers were told never to quote a payload; the rule is conservative, and six
documents that say in reported speech that an attacker "tries to override the system prompt" lose their
whole-document row and the chunks that say it (their other rows stay).

Materials: none here; ``security_docs_carriers`` gives the documents as carriers of indirect injections. ``split`` is
None.

**Opt-in** (``OPT_IN``: built only when a data config's ``sources_on`` names it, as ``configs/data-secdocs.json``
does; ``configs/data.json`` does not). Retrained with
them (``plans/v23_secdocs.json``), the model gained on OOD-dev only on the OWASP rows: the writers know OWASP's Top 10
pages, which are held out for OOD-dev, and several documents follow their structure and example scenarios (a review
of all 312 found no verbatim copy, so the leak check's shingles do not see it). Without OWASP's rows the retrain scored
no better than v0.10 (docs/ablations.md, twelfth session). Before they are used again, the documents that paraphrase a
held-out source must go or be rewritten, or that source must leave the selection suite.
"""

from __future__ import annotations

import json
import pathlib
import re
from collections.abc import Iterator
from importlib import resources

from tinyguardrail.data.chunking import MAX_CHARS, chunk_text, quotes_attack
from tinyguardrail.data.record import Material, Record
from tinyguardrail.data.templates import rng_for

NAME = "security_docs"
EVAL_ONLY = False
#: Built only when a data config names it in ``sources_on`` (``data.build.active_sources``).
OPT_IN = True
SOURCE = "security_docs"
ATTACK_TYPE = "hard_negative_written_security_doc"
#: At most this many short lines (headings, bullet items) of one document become rows of their own.
LINES_PER_DOC = 3
_MARKER_RE = re.compile(r"^\s*(?:#{1,6}\s+|[-*+•]\s+|\d{1,2}[.)]\s+|>\s+)")
_WORD_RE = re.compile(r"\w+", re.UNICODE)
# Scripts written without spaces between words: count characters instead of words.
_NO_SPACE_RE = re.compile(r"[\u0e00-\u0e7f\u1000-\u109f\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")


def docs_dir() -> pathlib.Path:
    return pathlib.Path(str(resources.files("tinyguardrail.data") / "bank" / "docs"))


def documents(folder: pathlib.Path | None = None) -> list[tuple[str, str, int, str]]:
    """(file stem, lang, index, text) of every document, checked: a language code and a non-empty text."""
    out = []
    for path in sorted((folder or docs_dir()).glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        lang = data.get("lang")
        if not isinstance(lang, str) or not re.fullmatch(r"[a-z]{2}", lang):
            raise ValueError(f"{path.name}: 'lang' must be an ISO 639-1 code, got {lang!r}")
        for i, doc in enumerate(data["docs"]):
            text = (doc.get("text") or "").replace("\r\n", "\n").strip()
            if not text:
                raise ValueError(f"{path.name}: document {i} has no text")
            out.append((path.stem, lang, i, text))
    return out


def short_lines(text: str) -> list[str]:
    """Headings and bullet items of ``text`` (markers stripped), 3-25 words (12-120 characters where words are not
    spaced), that do not end with a colon (lead-ins to a list)."""
    out = []
    for line in text.split("\n"):
        if not _MARKER_RE.match(line):
            continue
        s = _MARKER_RE.sub("", line).replace("**", "").strip()
        if not s or s.endswith((":", "：")):
            continue
        n_words = len(_WORD_RE.findall(s))
        ok = 12 <= len(s) <= 120 if _NO_SPACE_RE.search(s) else 3 <= n_words <= 25
        if ok:
            out.append(s)
    return out


def doc_chunks(text: str) -> list[str]:
    """A document's 200-1,500-character chunks (``chunking.chunk_text``); a document of one chunk's length is one."""
    return chunk_text(text) if len(text) > MAX_CHARS else [text]


def _rows(stem: str, lang: str, index: int, text: str) -> Iterator[str]:
    yield text
    yield from doc_chunks(text)  # a short document's one chunk is the document: records() drops the repeat
    lines = short_lines(text)
    yield from rng_for(f"{SOURCE}/{stem}/{index}").sample(lines, min(LINES_PER_DOC, len(lines)))


def records(folder: pathlib.Path | None = None) -> Iterator[Record]:
    """The rows of every document of ``folder`` (default: the shipped ``bank/docs``)."""
    for stem, lang, index, text in documents(folder):
        seen: set[str] = set()
        for row in _rows(stem, lang, index, text):
            if row in seen or quotes_attack(row):
                continue
            seen.add(row)
            yield Record(row, "benign", SOURCE, ATTACK_TYPE, lang, f"{SOURCE}/{stem}/{index}")


def load(root: pathlib.Path) -> Iterator[Record]:
    yield from records()


def materials(root: pathlib.Path) -> Iterator[Material]:
    yield from ()
