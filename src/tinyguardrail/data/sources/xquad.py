"""XQuAD: 240 Wikipedia paragraphs and 1,190 questions, professionally translated into 12 languages
(ar, de, el, en, es, hi, ro, ru, th, tr, vi, zh).

Text (SQuAD v1.1 JSON ``xquad.<lang>.json``):
- every paragraph ``context`` -> ``benign`` / attack_type ``document`` (retrieved web text), chunked to <= 1500
  characters, and the same chunks as ``carrier_doc`` materials (documents for indirect-injection synthesis);
- every question -> ``benign`` / attack_type ``question``.

Trap handled: the files are entirely parallel (same articles, same paragraph order), so a paragraph and all its
questions, in every language, share the template ``xquad/<article index>/<paragraph index>``: no translation and
no question ever lands in another split than its paragraph. lang from the file name. ``split`` is None.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Iterator

from tinyguardrail.data.chunking import chunk_text
from tinyguardrail.data.record import Material, Record

NAME = "benign/xquad"
EVAL_ONLY = False
SOURCE = "xquad"


def _items(root: pathlib.Path) -> Iterator[tuple[str, str, str, str]]:
    """(text, kind, lang, template_id); kind is "document" or "question"."""
    folder = pathlib.Path(root) / NAME
    for path in sorted(folder.glob("xquad.*.json")):
        lang = path.name.split(".")[1]
        data = json.loads(path.read_text(encoding="utf-8"))
        for a, article in enumerate(data.get("data") or []):
            for p, para in enumerate(article.get("paragraphs") or []):
                tid = f"{SOURCE}/{a}/{p}"
                for chunk in chunk_text(para.get("context") or "", min_keep=5):
                    yield chunk, "document", lang, tid
                for qa in para.get("qas") or []:
                    q = (qa.get("question") or "").strip()
                    if q:
                        yield q, "question", lang, tid


def load(root: pathlib.Path) -> Iterator[Record]:
    for text, kind, lang, tid in _items(root):
        yield Record(text, "benign", SOURCE, kind, lang, tid)


def materials(root: pathlib.Path) -> Iterator[Material]:
    for text, kind, lang, tid in _items(root):
        if kind == "document":
            yield Material(text, "carrier_doc", SOURCE, lang, tid)
