"""The project's security-explainer documents (``security_docs``) as carriers of indirect injections: their
200-1,500-character chunks (a document no longer than one chunk: the whole document) become ``carrier_doc``
materials, so the generated indirect injections are also hidden inside writing *about* attacks and the model learns the
payload, not the vocabulary around it. No rows of its own (the benign rows are ``security_docs``'s).

Opt-in like ``security_docs`` (``sources_on``; ``configs/data.json`` names neither): with both on (``configs/data-sdc.json``,
``plans/v24_sdc.json``) the retrain scored no better on OOD-dev in the training loop than with the documents alone
(docs/ablations.md, twelfth session).
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

from tinyguardrail.data.chunking import quotes_attack
from tinyguardrail.data.record import Material, Record
from tinyguardrail.data.sources.security_docs import SOURCE, doc_chunks, documents

NAME = "security_docs_carriers"
EVAL_ONLY = False
#: Built only when a data config names it in ``sources_on`` (``data.build.active_sources``).
OPT_IN = True


def load(root: pathlib.Path) -> Iterator[Record]:
    yield from ()


def materials(root: pathlib.Path, folder: pathlib.Path | None = None) -> Iterator[Material]:
    for stem, lang, index, text in documents(folder):
        for chunk in doc_chunks(text):
            if not quotes_attack(chunk):
                yield Material(chunk, "carrier_doc", SOURCE, lang, f"{SOURCE}/{stem}/{index}")
