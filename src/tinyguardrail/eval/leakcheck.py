"""A leak check independent of the data builder: no evaluation text, near-copy of one, or synthesis material holding
one, is on the training side of a build.

The builder (``data.build``) removes duplicates with its own MinHash index, threshold and exemptions; this module
shares none of them (it imports nothing from ``tinyguardrail.data`` except the readers of the built files), so it
can find what the builder misses.

Training side: every row of ``train`` and ``validation`` (validation steers training: early stopping, learning
curves) and every ``Material`` (goals, payloads, lead-ins, carriers) whose split is one of them.
Protected side: every row of every OOD suite (``eval.ood``: OOD-dev, the OOD-report sets, the independent
transform suite), every row of the ``ood_dev`` and ``eval`` splits, every held-out material (``ood_dev`` /
``eval``), and the natural rows of the in-distribution ``test`` split. The test split's generated rows (source
``synth``: the training generators' transforms, indirect injections, multilingual frames and hard negatives applied
to test-split bases) share the generators' wrappers with train by construction -- that is what makes the test split
in-distribution, and why nothing is chosen or reported as generalisation on it; their bases are protected as
natural test rows.

Normalisation (both sides): literal escape sequences (``\\n``, ``\\t``, ``\\"``, ``\\uXXXX``) unescaped, NFKC,
case folding, format characters (zero-width, bidi, tags) dropped, a small homoglyph fold (Cyrillic / Greek
look-alikes of Latin letters), punctuation and symbols to spaces, whitespace collapsed. Tokens are words, or
single characters in scripts written without spaces (CJK, Thai, Lao, Myanmar, Khmer); shingles are 5 tokens.

Views: a protected text is also indexed reversed (FlipAttack FCS), with each word reversed (FCW), in reversed word
order (FWO) and ROT13; a training text is also read through its decoded Base64 / hex blobs and percent-decoding.

A training text ``T`` leaks a protected text ``P`` when, for some view of each:
- their normalised forms are equal; or
- ``P`` has at least ``MIN_CONTAINED`` informative shingles and ``MIN_CONTAINED_LETTERS`` letters (about a dozen
  words: a shorter stock phrase such as "ignore all previous instructions" or "I have been PWNED" recurs in many
  texts by itself, whatever its spelling) and ``CONTAINMENT`` of them occur in ``T``
  (``P`` inside a longer training text, e.g. an evaluation e-mail used as a training carrier); or
- both have at least ``MIN_SHINGLES`` informative shingles and the Jaccard similarity of the sets is at least
  ``JACCARD`` (near-copies).
"Informative": a shingle found in more than ``BOILERPLATE`` texts of both sides together is a shared wrapper
(a FlipAttack system prompt, a CodeChameleon decryption function, a JSON key list), not content, and is not counted
on either side. A jailbreak template is capped far below that per split (a few fills each), so a template on both
sides stays informative and is found; a generator's wrapper, repeated over hundreds of rows, is not what makes a
row a copy of another.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import codecs
import json
import re
import time
import unicodedata
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

import numpy as np

from tinyguardrail.data.io import DEFAULT_BUILD, read_materials, read_split
from tinyguardrail.forkmap import fork_map

SHINGLE = 5
MIN_SHINGLES = 3
MIN_CONTAINED = 8
MIN_CONTAINED_LETTERS = 40
CONTAINMENT = 0.8
JACCARD = 0.6
BOILERPLATE = 100
#: Exact matching only below this many tokens (a 4-word phrase inside a long text is not a copy of it).
MAX_TEXT_CHARS = 20000

_ESCAPES = re.compile(r"\\(u[0-9a-fA-F]{4}|[ntr\"'\\/])")
_ESC_MAP = {"n": "\n", "t": "\t", "r": "\n", '"': '"', "'": "'", "\\": "\\", "/": "/"}
_UNSPACED = "\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_UNSPACED}]|[^\W{_UNSPACED}]+")
_PUNCT = re.compile(r"[\W_]+")
#: Look-alikes folded to Latin (written for this module; the runtime's normaliser is not used on purpose).
_HOMOGLYPHS = str.maketrans("аеорсухіјѕԁɡһӏоνοαρτυκϲ", "aeopcyxijsdghlovoaptukc")
#: Base64 runs, also wrapped over lines (MIME's 76 columns); hex as bare / spaced pairs, ``\xNN`` and ``0xNN, ``.
_B64 = re.compile(r"[A-Za-z0-9+/_-]{16,}(?:\r?\n[A-Za-z0-9+/_-]{4,})*={0,2}")
_HEX = re.compile(r"(?:(?:\\x|0x)?[0-9a-fA-F]{2}[\s:,]*){12,}")


def _unescape(text: str) -> str:
    return _ESCAPES.sub(lambda m: chr(int(m.group(1)[1:], 16)) if m.group(1)[0] == "u" else _ESC_MAP[m.group(1)], text)


def normalize(text: str) -> str:
    t = unicodedata.normalize("NFKC", _unescape(text[:MAX_TEXT_CHARS])).casefold()
    t = "".join(ch for ch in t if unicodedata.category(ch) != "Cf").translate(_HOMOGLYPHS)
    return " ".join(_PUNCT.sub(" ", t).split())


def tokens(norm: str) -> list[str]:
    """Words (single characters in unspaced scripts); a run longer than 24 characters (an encoded blob, a hash) is
    cut into 8-character pieces, so two different blobs do not count as one equal token."""
    out = []
    for tok in _TOKEN.findall(norm):
        out += [tok[i : i + 8] for i in range(0, len(tok), 8)] if len(tok) > 24 else [tok]
    return out


def shingles(toks: list[str]) -> set[int]:
    if len(toks) < SHINGLE:
        return {zlib.crc32(" ".join(toks).encode("utf-8", "surrogatepass"))} if toks else set()
    return {zlib.crc32(" ".join(toks[i : i + SHINGLE]).encode("utf-8", "surrogatepass")) for i in range(len(toks) - SHINGLE + 1)}


def _array(sh: set[int]) -> np.ndarray:
    return np.fromiter(sh, dtype=np.uint32, count=len(sh))


def protected_views(text: str) -> dict[str, str]:
    """The normalised text and the readings an attack transform of it would produce."""
    norm = normalize(text)
    words = norm.split()
    return {
        "plain": norm,
        "fcs": norm[::-1],
        "fcw": " ".join(w[::-1] for w in words),
        "fwo": " ".join(reversed(words)),
        "rot13": codecs.encode(norm, "rot13"),
    }


def _decoded(blob: str, decoder) -> str | None:
    try:
        raw = decoder(blob)
    except (binascii.Error, ValueError):
        return None
    text = raw.decode("utf-8", "ignore")
    printable = sum(ch.isprintable() or ch.isspace() for ch in text)
    return text if len(text) >= 8 and printable >= 0.9 * len(text) else None


def training_views(text: str) -> dict[str, str]:
    """The normalised text and what its encoded blobs decode to."""
    out = {"plain": normalize(text)}
    decoded = []
    for m in _B64.finditer(text[:MAX_TEXT_CHARS]):
        blob = re.sub(r"\s", "", m.group(0))
        d = _decoded(blob + "=" * (-len(blob) % 4), lambda b: base64.b64decode(b.replace("-", "+").replace("_", "/")))
        decoded += [d] if d else []
    for m in _HEX.finditer(text[:MAX_TEXT_CHARS]):
        d = _decoded(re.sub(r"\\x|0x|[^0-9a-fA-F]", "", m.group(0)), bytes.fromhex)
        decoded += [d] if d else []
    if decoded:
        out["decoded"] = normalize(" ".join(decoded))
    if "%" in text:
        url = normalize(unquote(text[:MAX_TEXT_CHARS]))
        if url != out["plain"]:
            out["url"] = url
    return out


@dataclass(frozen=True)
class Item:
    text: str
    kind: str  # split / suite / material kind
    ident: str


@dataclass
class Leak:
    protected: Item
    training: Item
    rule: str
    view: str
    score: float


@dataclass
class Report:
    n_training: int = 0
    n_protected: int = 0
    seconds: float = 0.0
    leaks: list[Leak] = field(default_factory=list)

    def by_kind(self) -> dict[str, int]:
        return dict(Counter(leak.protected.kind for leak in self.leaks))

    def to_dict(self, examples: int = 20) -> dict:
        return {
            "rules": {"shingle_tokens": SHINGLE, "containment": CONTAINMENT, "min_contained_shingles": MIN_CONTAINED,
                      "min_contained_letters": MIN_CONTAINED_LETTERS,
                      "jaccard": JACCARD, "min_shingles": MIN_SHINGLES, "boilerplate_document_frequency": BOILERPLATE},
            "training_texts": self.n_training, "protected_texts": self.n_protected, "seconds": round(self.seconds, 1),
            "leaks": len(self.leaks), "leaks_by_protected_set": self.by_kind(),
            "examples": [{"protected_set": lk.protected.kind, "protected_id": lk.protected.ident,
                          "training_set": lk.training.kind, "training_id": lk.training.ident, "rule": lk.rule,
                          "view": lk.view, "score": round(lk.score, 3), "protected": lk.protected.text[:300],
                          "training": lk.training.text[:300]} for lk in self.leaks[:examples]],
        }


def _shingled(readings: dict[str, str]) -> dict[str, tuple[str, np.ndarray]]:
    """Each reading with its shingle array."""
    return {name: (norm, _array(shingles(tokens(norm)))) for name, norm in readings.items()}


class Checker:
    """The protected side indexed by informative shingle; ``check(training text)`` yields its leaks.

    ``training`` is the training side, read once to count in how many training texts each shingle occurs (the
    boilerplate rule needs both sides' document frequencies); its views are kept as shingle arrays for ``run``.
    """

    def __init__(self, protected: Sequence[Item], training: Sequence[Item]) -> None:
        self.items = list(protected)
        self.training = list(training)
        # Reading and shingling every text is most of the check's time: forked workers do it (``forkmap``).
        readings_p = fork_map(lambda i: _shingled(protected_views(self.items[i].text)), len(self.items))
        self.exact: dict[str, list[int]] = defaultdict(list)
        views_p: list[dict[str, np.ndarray]] = []
        plains: list[str] = []
        for pid, readings in enumerate(readings_p):
            plains.append(readings["plain"][0])
            views = {}
            for name, (norm, arr) in readings.items():
                if norm:
                    self.exact[norm].append(pid)
                    views[name] = arr
            views_p.append(views)
        self.views_t: list[dict[str, tuple[str, np.ndarray]]] = fork_map(
            lambda t: _shingled(training_views(self.training[t].text)), len(self.training))
        df = Counter()
        for side in (views_p, [{k: v[1] for k, v in vs.items()} for vs in self.views_t]):
            for views in side:  # document frequency: a text counts once whatever its views
                arrays = list(views.values())
                if arrays:
                    df.update(np.unique(np.concatenate(arrays)).tolist())
        self.boilerplate = {s for s, n in df.items() if n > BOILERPLATE}
        self.postings: dict[int, list[tuple[int, str]]] = defaultdict(list)
        self.size: list[dict[str, int]] = []
        self.long = [sum(ch.isalpha() for ch in plain) >= MIN_CONTAINED_LETTERS for plain in plains]
        for pid, views in enumerate(views_p):
            sizes = {}
            for name, arr in views.items():
                info = [s for s in arr.tolist() if s not in self.boilerplate]
                sizes[name] = len(info)
                for s in info:
                    self.postings[s].append((pid, name))
            self.size.append(sizes)

    def check(self, t: int) -> Iterator[Leak]:
        item, found = self.training[t], set()
        for tview, (norm, arr) in self.views_t[t].items():
            for pid in self.exact.get(norm, ()):
                if pid not in found:
                    found.add(pid)
                    yield Leak(self.items[pid], item, "exact", tview, 1.0)
            tsh = [s for s in arr.tolist() if s not in self.boilerplate]
            hits: Counter = Counter()
            for s in tsh:
                for key in self.postings.get(s, ()):
                    hits[key] += 1
            for (pid, pview), h in hits.items():
                n = self.size[pid][pview]
                if pid in found or n < MIN_SHINGLES or len(tsh) < MIN_SHINGLES:
                    continue
                contain, jac = h / n, h / (n + len(tsh) - h)
                if (contain >= CONTAINMENT and n >= MIN_CONTAINED and self.long[pid]) or jac >= JACCARD:
                    found.add(pid)
                    rule = "jaccard" if jac >= JACCARD else "containment"
                    yield Leak(self.items[pid], item, rule, f"{pview}/{tview}", max(contain, jac))


def _rows(data_dir: Path, split: str, generated: bool = True) -> list[Item]:
    """A split's rows as items; ``generated=False`` leaves out the training generators' rows (source ``synth``)."""
    return [Item(r.text, split, r.template_id) for r in read_split(data_dir, split) if generated or r.source != "synth"]


def sides(data_dir: Path, suite_dir: Path | None = None) -> tuple[list[Item], list[Item]]:
    """(training side, protected side) of a built data directory and its suites."""
    from tinyguardrail.eval.ood import ALL_SUITES, load_suites

    data_dir = Path(data_dir)
    mats = read_materials(data_dir)
    training = _rows(data_dir, "train") + _rows(data_dir, "validation")
    training += [Item(m.text, f"material:{m.kind}", m.template_id) for m in mats if m.split in ("train", "validation", None)]
    protected = _rows(data_dir, "test", generated=False) + _rows(data_dir, "ood_dev") + _rows(data_dir, "eval")
    protected += [Item(m.text, f"held_material:{m.split}", m.template_id) for m in mats if m.split in ("ood_dev", "eval")]
    suite_dir = Path(suite_dir or data_dir / "suites")
    if suite_dir.is_dir():
        for name, rows in load_suites(suite_dir, [s for s in ALL_SUITES if s != "test"]).items():
            protected += [Item(r.text, f"suite:{name}", r.origin) for r in rows]
    seen: set[tuple[str, str]] = set()
    unique = []
    for it in protected:
        if (it.text, it.kind) not in seen:
            seen.add((it.text, it.kind))
            unique.append(it)
    return training, unique


def check(data_dir: Path, suite_dir: Path | None = None) -> Report:
    t0 = time.perf_counter()
    training, protected = sides(data_dir, suite_dir)
    checker = Checker(protected, training)
    report = Report(n_training=len(training), n_protected=len(protected))
    leaked: set[int] = set()
    for t in range(len(training)):
        for leak in checker.check(t):
            key = id(leak.protected)
            if key not in leaked:  # one entry per protected text: its first copy found
                leaked.add(key)
                report.leaks.append(leak)
    report.seconds = time.perf_counter() - t0
    return report


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, default=DEFAULT_BUILD, help="built data directory")
    p.add_argument("--suites", type=Path, default=None, help="suite directory (default <data>/suites)")
    p.add_argument("--out", type=Path, default=None, help="write the JSON report here")


def run(args: argparse.Namespace) -> int:
    report = check(args.data, args.suites)
    d = report.to_dict()
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(d, indent=2, ensure_ascii=False) + "\n")
    print(f"{d['training_texts']} training texts x {d['protected_texts']} protected texts in {d['seconds']} s: "
          f"{d['leaks']} leaks {d['leaks_by_protected_set']}")
    for ex in d["examples"][:10]:
        print(f"- [{ex['rule']} {ex['score']} {ex['view']}] {ex['protected_set']} {ex['protected_id']} <- "
              f"{ex['training_set']} {ex['training_id']}\n    P: {ex['protected'][:160]!r}\n    T: {ex['training'][:160]!r}")
    return 1 if report.leaks else 0
