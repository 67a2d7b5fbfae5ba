"""Chunking and small text helpers shared by the source loaders.

A guard sees prompts, retrieved passages and tool outputs of a few hundred to a few thousand characters, not
60k-character Markdown files. ``chunk_text`` cuts a long document at paragraph, then sentence, then line boundaries
into chunks of realistic length (by default 200-1500 characters, aiming at about 900), deterministically: the same
text always gives the same chunks. Loaders give every chunk of one document the same ``template_id`` so a
document's chunks never straddle splits.

Also here, because several loaders need them:

- ``chunk_table``: row-wise chunking of a Markdown pipe table that repeats the header row in every chunk.
- ``clean_markdown``: drops MDX-only noise (front matter, ``import``/``export`` lines, JSX component tags,
  ``{/* */}`` comments) and keeps ordinary Markdown, which is realistic input.
- ``quotes_attack``: a conservative multilingual pattern for *verbatim* injection / jailbreak strings quoted in
  documentation ("Ignore the above directions and ...", "DAN", "do anything now", "developer mode"). Loaders of
  prompt-engineering and security docs drop chunks that match it from the benign side (see their docstrings).
- ``guess_lang``: script-based language guess (CJK, Cyrillic, Arabic, Indic ...) with a stop-word vote for
  Latin-script text; returns ISO 639-1 codes.
- ``stable_rank`` / ``cap_by_rank`` / ``select_evenly``: deterministic sampling (hash ranks, no RNG state).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

T = TypeVar("T")

#: Chunks shorter than this are merged with a neighbour when the result still fits in ``MAX_CHARS``.
MIN_CHARS = 200
#: A chunk is closed once it reaches this length (at the next block boundary).
TARGET_CHARS = 900
#: No chunk is longer than this (over-long paragraphs are cut at sentence / line / word boundaries).
MAX_CHARS = 1500
#: Pieces shorter than this (after stripping) are dropped as fragments (lone headings, "---", link stubs).
MIN_KEEP_CHARS = 20

_FENCE_RE = re.compile(r"^\s*(```|~~~)")
_HEADING_RE = re.compile(r"^\s{0,3}#{1,6}\s")
_SENT_SPLIT_RE = re.compile(r"(?<=[.!?…;])\s+(?=\S)|(?<=[。！？；])")
_WORD_CHAR_RE = re.compile(r"\w", re.UNICODE)


# --------------------------------------------------------------------------------------------- chunking


def _split_blocks(text: str) -> list[str]:
    """Paragraphs separated by blank lines; a fenced code block stays one block even with blank lines inside."""
    blocks: list[str] = []
    cur: list[str] = []
    in_fence = False
    for line in text.split("\n"):
        if _FENCE_RE.match(line):
            if not in_fence and cur and not any(_FENCE_RE.match(x) for x in cur):
                # a fence opening right after prose lines starts its own block
                blocks.append("\n".join(cur))
                cur = []
            cur.append(line)
            in_fence = not in_fence
            if not in_fence:
                blocks.append("\n".join(cur))
                cur = []
            continue
        if in_fence:
            cur.append(line)
        elif line.strip() == "":
            if cur:
                blocks.append("\n".join(cur))
                cur = []
        else:
            cur.append(line)
    if cur:
        blocks.append("\n".join(cur))
    return [b.strip("\n") for b in blocks if b.strip()]


def _pack(pieces: Sequence[str], sep: str, max_chars: int) -> list[str]:
    """Greedily join pieces with ``sep`` into strings of at most ``max_chars`` (pieces are each <= max_chars)."""
    out: list[str] = []
    cur = ""
    for p in pieces:
        if not cur:
            cur = p
        elif len(cur) + len(sep) + len(p) <= max_chars:
            cur = cur + sep + p
        else:
            out.append(cur)
            cur = p
    if cur:
        out.append(cur)
    return out


def _hard_split(s: str, max_chars: int) -> list[str]:
    """Cut a string with no usable boundary at whitespace (or anywhere, for unbroken runs) into <= max_chars."""
    out: list[str] = []
    while len(s) > max_chars:
        cut = s.rfind(" ", max_chars // 2, max_chars)
        if cut <= 0:
            cut = max_chars
        out.append(s[:cut].rstrip())
        s = s[cut:].lstrip()
    if s:
        out.append(s)
    return out


def _split_long_block(block: str, max_chars: int) -> list[str]:
    """Split one over-long block: code/table/list blocks by lines, prose by sentences; then hard splits."""
    lines = block.split("\n")
    linewise = _FENCE_RE.match(lines[0]) is not None or len(lines) > 3
    if linewise:
        pieces = [ln for ln in lines if ln.strip()]
        sep = "\n"
    else:
        pieces = [s for s in _SENT_SPLIT_RE.split(block) if s and s.strip()]
        sep = " "
    flat: list[str] = []
    for p in pieces:
        if len(p) <= max_chars:
            flat.append(p)
        elif not linewise and "\n" in p:
            flat.extend(x for ln in p.split("\n") for x in _hard_split(ln, max_chars) if x.strip())
        else:
            flat.extend(_hard_split(p, max_chars))
    return _pack(flat, sep, max_chars)


def chunk_text(
    text: str,
    *,
    min_chars: int = MIN_CHARS,
    target_chars: int = TARGET_CHARS,
    max_chars: int = MAX_CHARS,
    min_keep: int = MIN_KEEP_CHARS,
) -> list[str]:
    """Split ``text`` into chunks of realistic length at paragraph / sentence / line boundaries.

    Every returned chunk is stripped, at most ``max_chars`` long and at least ``min_keep`` long; chunks are shorter
    than ``min_chars`` only when the whole text is, or when merging with a neighbour would pass ``max_chars``.
    A new chunk starts at a Markdown heading once the current chunk holds ``min_chars``. Deterministic.
    """
    if not (0 < min_keep <= min_chars <= target_chars <= max_chars):
        raise ValueError("need 0 < min_keep <= min_chars <= target_chars <= max_chars")
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        return []
    if len(text) <= max_chars:
        return [text] if len(text) >= min_keep else []
    blocks: list[str] = []
    for b in _split_blocks(text):
        blocks.extend([b] if len(b) <= max_chars else _split_long_block(b, max_chars))

    chunks: list[str] = []
    cur = ""
    for b in blocks:
        if not cur:
            cur = b
            continue
        fits = len(cur) + 2 + len(b) <= max_chars
        heading_break = _HEADING_RE.match(b) is not None and len(cur) >= min_chars
        if fits and len(cur) < target_chars and not heading_break:
            cur = cur + "\n\n" + b
        else:
            chunks.append(cur)
            cur = b
    if cur:
        chunks.append(cur)

    # merge short chunks into a neighbour when it fits (prefer the previous one: headings lead their section)
    merged: list[str] = []
    for c in chunks:
        if merged and (len(c) < min_chars or len(merged[-1]) < min_chars) and len(merged[-1]) + 2 + len(c) <= max_chars:
            merged[-1] = merged[-1] + "\n\n" + c
        else:
            merged.append(c)
    return [c.strip() for c in merged if len(c.strip()) >= min_keep and _WORD_CHAR_RE.search(c)]


def chunk_table(text: str, *, max_chars: int = MAX_CHARS, min_keep: int = MIN_KEEP_CHARS) -> list[str]:
    """Chunk a Markdown pipe table by rows, repeating the header (and its ``|---|`` rule, if any) in every chunk."""
    lines = [ln for ln in text.replace("\r\n", "\n").split("\n") if ln.strip()]
    if not lines:
        return []
    if len("\n".join(lines)) <= max_chars:
        out = "\n".join(lines)
        return [out] if len(out) >= min_keep else []
    n_head = 2 if len(lines) > 1 and re.fullmatch(r"\s*\|?[\s:|-]+\|?\s*", lines[1]) else 1
    header = "\n".join(lines[:n_head])
    if len(header) > max_chars // 2:  # absurd header: fall back to plain line packing
        return [c for c in _pack([p for ln in lines for p in _hard_split(ln, max_chars)], "\n", max_chars) if len(c) >= min_keep]
    budget = max_chars - len(header) - 1
    rows = [p for ln in lines[n_head:] for p in _hard_split(ln, budget)]
    return [header + "\n" + body for body in _pack(rows, "\n", budget)]


def select_evenly(items: Sequence[T], k: int) -> list[T]:
    """At most ``k`` items spread evenly over ``items`` (first and last included), order kept. Deterministic."""
    n = len(items)
    if k <= 0:
        return []
    if n <= k:
        return list(items)
    if k == 1:
        return [items[0]]
    idx = sorted({round(i * (n - 1) / (k - 1)) for i in range(k)})
    return [items[i] for i in idx]


# --------------------------------------------------------------------------------------------- markdown / MDX

_FRONT_MATTER_RE = re.compile(r"\A---\n.*?\n---\n", re.DOTALL)
_MDX_IMPORT_RE = re.compile(r"^(?:import\s.+?from\s+['\"].*?['\"];?|import\s+['\"].*?['\"];?|export\s.*)$", re.MULTILINE)
_JSX_TAG_RE = re.compile(r"</?[A-Z][A-Za-z0-9_.]*(?:\s[^<>]*?)?/?>", re.DOTALL)
_MDX_COMMENT_RE = re.compile(r"\{/\*.*?\*/\}", re.DOTALL)
_MANY_BLANKS_RE = re.compile(r"\n{3,}")


def clean_markdown(text: str) -> str:
    """Remove MDX-only noise (front matter, import/export lines, JSX component tags, MDX comments); keep Markdown."""
    text = text.replace("\r\n", "\n")
    text = _FRONT_MATTER_RE.sub("", text)
    text = _MDX_IMPORT_RE.sub("", text)
    text = _MDX_COMMENT_RE.sub("", text)
    text = _JSX_TAG_RE.sub("", text)
    text = "\n".join(ln.rstrip() for ln in text.split("\n"))
    return _MANY_BLANKS_RE.sub("\n\n", text).strip()


# --------------------------------------------------------------------------------------------- quoted attacks

_ATTACK_QUOTE_PATTERNS = [
    # English override phrases
    r"\b(?:ignore|disregard|forget|skip|override)\s+(?:all\s+|any\s+|the\s+|your\s+|my\s+|these\s+|those\s+)*"
    r"(?:previous|prior|above|preceding|earlier|original|initial|former|system)\s+"
    r"(?:instructions?|directions?|prompts?|rules|guidelines|commands?|context)",
    r"\bignore\s+(?:all|everything)\s+(?:before|above|previous)",
    r"\bdo anything now\b",
    r"\b(?:DAN|STAN|DUDE|AIM)\s+(?:mode|prompt|jailbreak)\b",
    r"\bHello,? ChatGPT\.? (?:You are about to|From now on)",
    r"\b(?:developer|dev|god|jailbreak|unrestricted|unfiltered)\s+mode\s+(?:enabled|activated|output|on)\b",
    r"\bsimulate\s+(?:developer|dev)\s+mode\b",
    r"\b(?:haha\s+)?pwned\b",
    r"\bstay in character\b.*\b(?:no|without)\s+(?:restrictions|filters|rules)",
    # German, French, Spanish, Italian, Portuguese, Dutch
    r"\bignorier(?:e|en|t)?\b.{0,40}\b(?:anweisungen|instruktionen|befehle|vorgaben|regeln)\b",
    r"\bignor(?:ez|e|er)\b.{0,40}\b(?:instructions|consignes|directives)\b",
    r"\bignor(?:a|e|en|ar|ad)\b.{0,40}\b(?:instrucciones|indicaciones|directrices|istruzioni|indicazioni|"
    r"instruções|instrucoes|orientações)\b",
    r"\bnegeer\b.{0,40}\b(?:instructies|aanwijzingen)\b",
    # Russian / Ukrainian
    r"(?:игнорир\w*|проигнорир\w*|забудь\w*|ігнору\w*)\s.{0,40}(?:инструкц\w*|указани\w*|правил\w*|інструкц\w*)",
    # Chinese, Japanese, Korean
    r"(?:忽略|无视|無視|忽視|忘记|忘記|忘掉)[^。！？\n]{0,10}(?:指令|指示|规则|規則|命令)",
    r"(?:以前|上記|前)の(?:指示|命令|指令).{0,6}(?:無視|忘れ)",
    r"(?:指示|命令|指令).{0,4}を無視",
    r"(?:이전|위의|앞의)\s*(?:지시|명령|지침).{0,12}무시",
    r"(?:지시|명령|지침)\S*\s*무시",
]
_ATTACK_QUOTE_RE = re.compile("|".join(f"(?:{p})" for p in _ATTACK_QUOTE_PATTERNS), re.IGNORECASE | re.DOTALL)
_DAN_RE = re.compile(r"\bDAN\b")  # case-sensitive: the jailbreak persona, not the first name "Dan"
# cheap gate: every pattern above needs one of these stems, so most texts skip the slow alternation
_ATTACK_GATE_RE = re.compile(
    r"ignor|disregard|forget|skip|overrid|anything now|stan|dude|aim|chatgpt|mode\b|pwned|character|negeer|"
    r"игнор|проигнор|забуд|ігнор|忽略|无视|無視|忽視|忘|指示|命令|指令|무시",
    re.IGNORECASE,
)


def quotes_attack(text: str) -> bool:
    """True when ``text`` contains a verbatim injection / jailbreak string (override phrase, DAN, developer mode...).

    Conservative on purpose: prose that merely *discusses* prompt injection, jailbreaks or system prompts does
    not match; only the quoted attack wording does.
    """
    if _DAN_RE.search(text) is not None:
        return True
    return _ATTACK_GATE_RE.search(text) is not None and _ATTACK_QUOTE_RE.search(text) is not None


# --------------------------------------------------------------------------------------------- languages

_STOPWORDS: dict[str, frozenset[str]] = {
    lang: frozenset(words.split())
    for lang, words in {
        "en": "the and is are of to in that it you for with this what how be on not have your can was will",
        "de": "der die das und ist nicht ich sie zu den mit ein eine auf für sich dem auch es wie wird",
        "fr": "le la les et est des une un pour que qui dans pas vous sur avec ce il sont du au",
        "es": "el la los las que es en y del por para una un con se su como más al",
        "it": "il lo gli che è di e per una un non con sono della del le si anche al",
        "pt": "o os que é de e da em um uma para com não se na dos das ao",
        "nl": "de het een en van dat op te niet zijn ik voor met je ook wat",
        "tr": "bir ve bu için ile çok gibi olarak daha ama sen ben var değil bana ne",
        "id": "yang dan di ini itu dengan untuk dari tidak ke ada saya akan pada apa bisa",
        "pl": "nie na się jest że jak ale tak czy dla jestem przez być tylko już może",
        "sv": "och att det som en är på för av med jag inte har den till om",
    }.items()
}
_TOKEN_RE = re.compile(r"[^\W\d_]+", re.UNICODE)
#: guess_lang looks at this many leading characters only.
_GUESS_PREFIX = 800


def _script_counts(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for ch in text:
        o = ord(ch)
        if o < 0x80:
            if ch.isalpha():
                counts["latin"] = counts.get("latin", 0) + 1
            continue
        if 0x3040 <= o <= 0x30FF:
            key = "kana"
        elif 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0xF900 <= o <= 0xFAFF:
            key = "han"
        elif 0xAC00 <= o <= 0xD7AF or 0x1100 <= o <= 0x11FF or 0x3130 <= o <= 0x318F:
            key = "hangul"
        elif 0x0400 <= o <= 0x04FF:
            key = "cyrillic"
        elif 0x0600 <= o <= 0x06FF or 0x0750 <= o <= 0x077F:
            key = "arabic"
        elif 0x0370 <= o <= 0x03FF:
            key = "greek"
        elif 0x0590 <= o <= 0x05FF:
            key = "hebrew"
        elif 0x0900 <= o <= 0x097F:
            key = "devanagari"
        elif 0x0980 <= o <= 0x09FF:
            key = "bengali"
        elif 0x0B80 <= o <= 0x0BFF:
            key = "tamil"
        elif 0x0C00 <= o <= 0x0C7F:
            key = "telugu"
        elif 0x0D00 <= o <= 0x0D7F:
            key = "malayalam"
        elif 0x0E00 <= o <= 0x0E7F:
            key = "thai"
        elif 0x10A0 <= o <= 0x10FF:
            key = "georgian"
        elif 0x0530 <= o <= 0x058F:
            key = "armenian"
        elif ch.isalpha() and unicodedata.name(ch, "").startswith("LATIN"):
            key = "latin"
        else:
            continue
        counts[key] = counts.get(key, 0) + 1
    return counts


_SCRIPT_LANG = {
    "hangul": "ko",
    "cyrillic": "ru",
    "arabic": "ar",
    "greek": "el",
    "hebrew": "he",
    "devanagari": "hi",
    "bengali": "bn",
    "tamil": "ta",
    "telugu": "te",
    "malayalam": "ml",
    "thai": "th",
    "georgian": "ka",
    "armenian": "hy",
}


def guess_latin_lang(text: str) -> str | None:
    """Stop-word vote among a few Latin-script languages; None unless one language clearly wins (>= 2 hits)."""
    tokens = _TOKEN_RE.findall(text.lower())[:400]
    if not tokens:
        return None
    scores = {lang: sum(t in words for t in tokens) for lang, words in _STOPWORDS.items()}
    best = max(scores, key=lambda k: (scores[k], k == "en"))
    ranked = sorted(scores.values(), reverse=True)
    if ranked[0] >= 2 and ranked[0] > ranked[1]:
        return best
    return None


def guess_lang(text: str, default: str = "und") -> str:
    """ISO 639-1 guess from the dominant script (kana => ja, han => zh, hangul => ko, Cyrillic => ru, ...) and,
    for Latin script, a stop-word vote; ``default`` when unsure. Cheap and deterministic; not a real identifier."""
    text = text[:_GUESS_PREFIX]
    counts = _script_counts(text)
    if not counts:
        return default
    script = max(counts, key=lambda k: counts[k])
    total = sum(counts.values())
    if counts.get("kana", 0) >= 0.1 * total or (script == "han" and counts.get("kana", 0) > 0):
        return "ja"
    if script == "han":
        return "zh"
    if script in _SCRIPT_LANG:
        return _SCRIPT_LANG[script]
    if script == "latin":
        return guess_latin_lang(text) or default
    return default


# --------------------------------------------------------------------------------------------- deterministic sampling


def stable_rank(key: str) -> int:
    """A stable pseudo-random rank for ``key`` (first 8 bytes of its SHA-1)."""
    return int.from_bytes(hashlib.sha1(key.encode("utf-8", "surrogatepass")).digest()[:8], "big")


def cap_by_rank(items: Iterable[T], n: int, key: Callable[[T], str]) -> list[T]:
    """Keep at most ``n`` items: the ones with the lowest ``stable_rank(key(item))``, in their original order."""
    items = list(items)
    if len(items) <= n:
        return items
    chosen = set(sorted(range(len(items)), key=lambda i: (stable_rank(key(items[i])), i))[:n])
    return [x for i, x in enumerate(items) if i in chosen]


def norm_key(text: str) -> str:
    """Dedup key: case-folded text with whitespace collapsed."""
    return " ".join(text.split()).casefold()
