"""Text normalization: the first step of the pipeline (SPEC section 3).

``normalize(text)`` returns a :class:`Normalized` with the cleaned text, the names of the steps that changed
something and counts usable as features. Steps, in order:

1. **controls**: C0/C1 control characters (other than tab / newline / carriage return) are removed.
2. **nfkc**: Unicode NFKC (fullwidth, mathematical alphanumerics, ligatures, circled letters -> plain).
3. **invisible**: zero-width characters, bidi controls, word joiners, soft hyphen, variation selectors,
   Hangul fillers and the other format (Cf) characters that render as nothing are removed. Two exceptions
   keep real text intact: ZWJ / ZWNJ / variation selectors that follow a non-ASCII character (emoji
   sequences, Persian, Indic scripts) stay. Unicode *tag* characters (U+E0020-E007E, "ASCII smuggling")
   are not dropped but **decoded** to the ASCII they hide, so the hidden instruction becomes visible
   (except the tag sequences of emoji subdivision flags, which are removed silently).
4. **markup**: hidden content is *surfaced*, never dropped: HTML comments ``<!-- x -->``, Markdown
   comments / link-reference definitions with an anchor target (``[//]: # (x)``, ``[x]: <> "y"``) and HTML
   elements hidden by style or attribute (``display:none``, ``visibility:hidden``, ``font-size:0``,
   ``opacity:0``, ``hidden``, white text: ``color: white`` or ``<font color="white">``) lose their markers and
   keep their content in the text.
5. **confusables**: homoglyphs (Cyrillic ``а``, Greek ``ο``, IPA ``ɡ``, symbols like ``∣``...) are folded to
   the ASCII letter they imitate, using the Unicode confusables table shipped by ``confusable_homoglyphs``.
   Only words that *mix* ASCII letters with confusables, or words made only of confusables inside mostly
   Latin text, are folded; real Cyrillic / Greek / CJK text stays as it is.
6. **whitespace**: every Unicode space becomes a space, runs of spaces collapse, spaces around newlines go,
   three or more newlines become two, the ends are stripped.

Every step is linear in the input length (no backtracking regex) and never raises on any ``str``.
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata
from dataclasses import dataclass

__all__ = ["Normalized", "normalize", "skeleton", "fold_confusables", "warm_up"]

#: Longest surfaced snippet kept in ``Normalized.surfaced`` and how many are kept.
_SURFACED_MAX_CHARS = 300
_SURFACED_MAX_ITEMS = 8


@dataclass(frozen=True, slots=True)
class Normalized:
    """Result of :func:`normalize`.

    Attributes:
        text: the normalized text.
        changes: names of the steps that changed something, with counts where useful, in pipeline order,
            e.g. ``("nfkc", "invisible_removed:3", "confusables_folded:5", "comments_surfaced:1", "whitespace")``.
        original_length: length of the input in characters.
        controls_removed: C0/C1 control characters removed.
        nfkc_changed: 1 if NFKC changed the text, else 0.
        invisible_removed: invisible characters removed or decoded (tags included; a leading BOM and
            emoji-flag tag sequences are not counted).
        bidi_controls: of those, bidi embedding / override / isolate controls.
        tags_decoded: Unicode tag characters decoded to ASCII.
        confusables_folded: characters folded to ASCII.
        words_folded: words that had at least one character folded.
        mixed_script_words: words mixing ASCII letters with other-script letters (folded or not).
        comments_surfaced: HTML / Markdown comments whose markers were removed.
        hidden_surfaced: elements hidden by CSS / ``hidden`` attribute whose markers were removed.
        whitespace_changed: 1 if whitespace normalization changed the text, else 0.
        surfaced: the hidden snippets that were surfaced (decoded tags, comment and hidden-element bodies),
            at most 8, each cut to 300 characters; for the detectors.
    """

    text: str
    changes: tuple[str, ...] = ()
    original_length: int = 0
    controls_removed: int = 0
    nfkc_changed: int = 0
    invisible_removed: int = 0
    bidi_controls: int = 0
    tags_decoded: int = 0
    confusables_folded: int = 0
    words_folded: int = 0
    mixed_script_words: int = 0
    comments_surfaced: int = 0
    hidden_surfaced: int = 0
    whitespace_changed: int = 0
    surfaced: tuple[str, ...] = ()


# --------------------------------------------------------------------------------------------- controls

_CONTROL_RE = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f]")

# --------------------------------------------------------------------------------------------- invisible

# Always removed: soft hyphen, Arabic letter mark, combining grapheme joiner, Hangul fillers, Khmer
# invisible vowels, Mongolian vowel separator, ZWSP, LRM/RLM, bidi embeddings/overrides, word joiner and
# invisible operators, isolates and deprecated format chars, BOM, interlinear annotation, shorthand format
# controls, musical beam controls, tags block. (U+0600-0605 and similar *visible* Cf marks are kept.)
_ALWAYS_INVISIBLE = (
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b\u200e\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\u3164\ufeff\uffa0\ufff9-\ufffb"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e007f"
)
# Kept after a non-ASCII character (emoji ZWJ sequences, Persian ZWNJ, ideographic variation), else removed.
_CONTEXT_INVISIBLE = "\u200c\u200d\ufe00-\ufe0f\U000e0100-\U000e01ef"
_INVISIBLE_RUN_RE = re.compile(f"[{_ALWAYS_INVISIBLE}{_CONTEXT_INVISIBLE}]+")
_CONTEXT_SET = frozenset(["\u200c", "\u200d"] + [chr(c) for c in range(0xFE00, 0xFE10)])
_CONTEXT_ONLY_RE = re.compile(f"[{_CONTEXT_INVISIBLE}]+")
_BIDI = frozenset(chr(c) for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)])
_BLACK_FLAG = "\U0001f3f4"


_ZWSP_SCRIPTS = ((0x0E00, 0x0EFF), (0x0F00, 0x0FFF), (0x1000, 0x109F), (0x1780, 0x17FF), (0x19E0, 0x19FF),
                 (0x1A20, 0x1AAF), (0x1B00, 0x1B7F), (0xA980, 0xA9DF), (0xAA60, 0xAA7F))


def _uses_zwsp(ch: str) -> bool:
    cp = ord(ch)
    return any(a <= cp <= b for a, b in _ZWSP_SCRIPTS)


def _is_context_char(ch: str) -> bool:
    return ch in _CONTEXT_SET or 0xE0100 <= ord(ch) <= 0xE01EF


class _Counts:
    __slots__ = ("invisible", "bidi", "tags", "surfaced")

    def __init__(self) -> None:
        self.invisible = 0
        self.bidi = 0
        self.tags = 0
        self.surfaced: list[str] = []

    def add_surfaced(self, s: str) -> None:
        s = s.strip()
        if s and len(self.surfaced) < _SURFACED_MAX_ITEMS:
            self.surfaced.append(s[:_SURFACED_MAX_CHARS])


def _remove_invisible(text: str, counts: _Counts) -> str:
    if _INVISIBLE_RUN_RE.search(text) is None:
        return text

    def repl(m: re.Match) -> str:
        run = m.group()
        start = m.start()
        prev = text[start - 1] if start > 0 else ""
        if prev and not prev.isascii() and not prev.isspace() and all(_is_context_char(c) for c in run):
            return run  # emoji sequence / Persian ZWNJ / variation selector after an ideograph: real text
        if run == "\u200b" and prev and _uses_zwsp(prev):
            nxt = text[m.end()] if m.end() < len(text) else ""
            if nxt and _uses_zwsp(nxt):
                return run  # Khmer, Thai, Lao, Myanmar, Tibetan mark word breaks with ZWSP
        out: list[str] = []
        tag_chars: list[str] = []
        is_flag = prev == _BLACK_FLAG
        for ch in run:
            cp = ord(ch)
            if 0xE0020 <= cp <= 0xE007E:
                tag_chars.append(chr(cp - 0xE0000))
                continue
            if cp == 0xE007F or cp == 0xE0001:  # cancel tag / language tag
                continue
            if ch in _BIDI:
                counts.bidi += 1
            if not (start == 0 and cp == 0xFEFF):  # a leading BOM is an encoding artefact, not a signal
                counts.invisible += 1
        if tag_chars:
            if is_flag:  # emoji subdivision flag (England, Scotland, Wales): not hidden text
                return ""
            decoded = "".join(tag_chars)
            counts.tags += len(tag_chars)
            counts.invisible += len(tag_chars)
            counts.add_surfaced(decoded)
            out.append(f" {decoded} ")
        return "".join(out)

    return _INVISIBLE_RUN_RE.sub(repl, text)


def _remove_context_after_ascii(text: str, counts: _Counts) -> str:
    """Second pass after folding: drop ZWJ/ZWNJ/VS that now follow an ASCII character."""
    if _CONTEXT_ONLY_RE.search(text) is None:
        return text

    def repl(m: re.Match) -> str:
        start = m.start()
        prev = text[start - 1] if start > 0 else ""
        if prev and not prev.isascii() and not prev.isspace():
            return m.group()
        counts.invisible += len(m.group())
        return ""

    return _CONTEXT_ONLY_RE.sub(repl, text)


# --------------------------------------------------------------------------------------------- markup

_HIDDEN_STYLE_RE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?![.\d]*[1-9])|opacity\s*:\s*0(?![.\d]*[1-9])"
    r"|(?:^|\s)hidden(?:\s|=|$)|(?:^|\s)aria-hidden\s*=\s*[\"']?true|color\s*:\s*(?:white|#fff\b|#ffffff\b|transparent)"
    r"|(?:^|\s)color\s*=\s*[\"']?\s*(?:white|#fff\b|#ffffff\b)"
    r"|max-height\s*:\s*0|height\s*:\s*0(?![.\d]*[1-9])|width\s*:\s*0(?![.\d]*[1-9])|position\s*:\s*absolute[^\"']{0,80}-\d{3,}px"
)
_OPEN_TAG_RE = re.compile(r"<([A-Za-z][A-Za-z0-9-]{0,20})(\s[^<>]{0,600})?>")
_MD_REFDEF_RE = re.compile(r"^[ \t]{0,3}\[([^\]\n]{1,200})\]:[ \t]*(#|<>|<#>|\(\)|//)[ \t]*(.*)$", re.M)
_SURFACE_HTML_COMMENT_LIMIT = 10_000


def _surface_markup(text: str, counts: _Counts) -> tuple[str, int, int]:
    comments = 0
    hidden = 0
    if "<!--" in text or "-->" in text:
        pieces: list[str] = []
        pos = 0
        n = len(text)
        while pos < n and comments < _SURFACE_HTML_COMMENT_LIMIT:
            i = text.find("<!--", pos)
            if i < 0:
                break
            j = text.find("-->", i + 4)
            pieces.append(text[pos:i])
            pieces.append(" ")
            if j < 0:
                body = text[i + 4 :]
                pieces.append(body)
                pos = n
            else:
                body = text[i + 4 : j]
                pieces.append(body)
                pieces.append(" ")
                pos = j + 3
            counts.add_surfaced(body)
            comments += 1
        pieces.append(text[pos:])
        text = "".join(pieces)
    if "]:" in text:

        def md_repl(m: re.Match) -> str:
            nonlocal comments
            rest = m.group(3).strip()
            if len(rest) >= 2 and rest[0] + rest[-1] in ('()', '""', "''"):
                rest = rest[1:-1]
            label = m.group(1).strip()
            body = rest if label in ("//", "comment", "_", "#", "") else f"{label} {rest}"
            comments += 1
            counts.add_surfaced(body)
            return " " + body + " "

        text = _MD_REFDEF_RE.sub(md_repl, text)
    if "<" in text and ">" in text:
        out: list[str] = []
        pos = 0
        lowered = None
        for m in _OPEN_TAG_RE.finditer(text):
            attrs = m.group(2)
            if not attrs or _HIDDEN_STYLE_RE.search(attrs.lower()) is None:
                continue
            if m.start() < pos:  # inside an element already surfaced
                continue
            tag = m.group(1).lower()
            if lowered is None:
                lowered = text.lower()
            close = lowered.find(f"</{tag}", m.end())
            out.append(text[pos : m.start()])
            out.append(" ")
            if close < 0:
                body_end = len(text)
                pos = len(text)
            else:
                gt = text.find(">", close)
                body_end = close
                pos = len(text) if gt < 0 else gt + 1
            body = text[m.end() : body_end]
            out.append(body)
            out.append(" ")
            counts.add_surfaced(body)
            hidden += 1
        if hidden:
            out.append(text[pos:])
            text = "".join(out)
    return text, comments, hidden


# --------------------------------------------------------------------------------------------- confusables

# Latin letters are never folded on their own: IPA-block letters (open e, gamma, eng ...) are everyday letters
# of Kabyle, Akan, Ewe, Hausa ...; only whole-script look-alikes from other scripts are folded.
_LATIN_FOLDABLE_RANGES: tuple[tuple[int, int], ...] = ()
# Scripts of real languages written around Latin text whose letters are never folded on their own.
_PROTECTED_PREFIXES = (
    "LATIN", "CJK", "HIRAGANA", "KATAKANA", "HANGUL", "ARABIC", "HEBREW", "SYRIAC", "THAANA", "DEVANAGARI",
    "BENGALI", "GURMUKHI", "GUJARATI", "ORIYA", "TAMIL", "TELUGU", "KANNADA", "MALAYALAM", "SINHALA", "THAI",
    "LAO", "TIBETAN", "MYANMAR", "ETHIOPIC", "KHMER", "MONGOLIAN", "IDEOGRAPHIC", "HALFWIDTH", "BOPOMOFO",
    "YI ", "EXTENDED ARABIC", "NKO DIGIT",
)


#: Look-alikes missing from the Unicode table's ASCII targets (documented supplement, kept tiny).
_SUPPLEMENT = {"κ": "k", "ϰ": "k", "Κ": "K"}


class _FoldTables:
    """Lazily built tables (one JSON load, ~50 ms, once per process)."""

    def __init__(self) -> None:
        self.full: dict[str, str] = {}  # every non-ASCII confusable -> ASCII letter/digit (skeleton)
        self.fold: dict[str, str] = {}  # the subset normalize may fold (non-protected)
        self.fold_keys: frozenset[str] = frozenset()
        self.word_re: re.Pattern | None = None
        self._build()

    def _build(self) -> None:
        from confusable_homoglyphs import confusables as _cf

        data: dict = _cf.confusables_data

        def clean(s: str) -> str:
            return s.replace("\u200e", "").replace("\u200f", "")

        def ascii_target(s: str) -> str | None:
            s = clean(s)
            if len(s) == 1 and s.isascii() and s.isalnum():
                return s
            return None

        direct: dict[str, str] = {}
        # 1. a non-ASCII character listing an ASCII look-alike directly
        for ch, entries in data.items():
            if len(ch) != 1 or ch.isascii():
                continue
            best = None
            for e in entries:
                t = ascii_target(e.get("c", ""))
                if t is not None and (best is None or (best.isdigit() and t.isalpha())):
                    best = t
            if best is not None:
                direct[ch] = best
        # 2. inverted: an ASCII letter/digit listing non-ASCII look-alikes
        for asc, entries in data.items():
            if not (len(asc) == 1 and asc.isascii() and asc.isalnum()):
                continue
            for e in entries:
                c = clean(e.get("c", ""))
                if len(c) != 1 or c.isascii():
                    continue
                prev = direct.get(c)
                if prev is None or (prev.isdigit() and asc.isalpha()):
                    direct[c] = asc
        # 3. one transitive step through a non-ASCII intermediate (Greek kappa -> Latin kra -> k)
        for ch, entries in data.items():
            if len(ch) != 1 or ch.isascii() or ch in direct:
                continue
            for e in entries:
                c = clean(e.get("c", ""))
                if len(c) == 1 and c in direct:
                    direct[ch] = direct[c]
                    break
        # Case: a lower-case source folds to a lower-case letter (Cyrillic small en -> h, not H).
        # The table's prototype of every vertical stroke (I, 1, |) is "l": a capital folds to "I".
        for ch, t in list(direct.items()):
            if t.isalpha():
                if ch.isupper() and t == "l":
                    direct[ch] = "I"
                elif ch.islower() and t.isupper():
                    direct[ch] = t.lower()
                elif ch.isupper() and t.islower():
                    direct[ch] = t.upper()
        # Well-known look-alikes the table links only to non-ASCII letters (kappa -> kra -> small capital K).
        for ch, t in _SUPPLEMENT.items():
            direct.setdefault(ch, t)
        self.full = direct
        fold: dict[str, str] = {}
        for ch, t in direct.items():
            cp = ord(ch)
            name = unicodedata.name(ch, "")
            if name.startswith(_PROTECTED_PREFIXES) and not any(a <= cp <= b for a, b in _LATIN_FOLDABLE_RANGES):
                continue
            if unicodedata.category(ch) in ("Mn", "Me", "Cf", "Zs", "Cc"):
                continue
            fold[ch] = t
        self.fold = fold
        self.fold_keys = frozenset(fold)
        # a "word" is a run of word characters or foldable characters (symbols like U+2223 split \w words)
        symbol_chars = "".join(re.escape(c) for c in fold if not (c.isalnum() or c == "_"))
        self.word_re = re.compile(f"[\\w{symbol_chars}]+")


_TABLES: _FoldTables | None = None


def _tables() -> _FoldTables:
    global _TABLES
    if _TABLES is None:
        _TABLES = _FoldTables()
    return _TABLES


_ASCII_LETTERS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def fold_confusables(text: str) -> tuple[str, int, int, int]:
    """Fold homoglyphs in ``text`` (the confusables step of :func:`normalize`).

    Returns ``(text, chars_folded, words_folded, mixed_script_words)``.
    """
    if text.isascii():
        return text, 0, 0, 0
    t = _tables()
    present = t.fold_keys.intersection(text)  # set operations run in C: far cheaper than a per-char loop
    if not present:
        return text, 0, 0, 0
    n_foldable = sum(text.count(c) for c in present)
    raw = text.encode("utf-8", "surrogatepass")
    n_ascii_letters = len(raw) - len(raw.translate(None, _ASCII_LETTERS))
    n_ascii = len(text.encode("ascii", "ignore"))
    n_non_ascii = len(text) - n_ascii
    # "mostly Latin": ASCII letters and foldable look-alikes make up most of the letters
    mostly_latin = (n_ascii_letters + n_foldable) >= 0.85 * (n_ascii_letters + n_non_ascii) and n_ascii_letters > 0
    fold = t.fold
    chars = 0
    words = 0
    mixed = 0
    out: list[str] = []
    pos = 0
    assert t.word_re is not None
    for m in t.word_re.finditer(text):
        w = m.group()
        if w.isascii():
            continue
        has_ascii_letter = False
        n_fold = 0
        other = False
        for ch in w:
            if ch.isascii():
                if ch.isalpha():
                    has_ascii_letter = True
            elif ch in fold:
                n_fold += 1
            elif ch.isalpha():
                other = True
        if has_ascii_letter and (other or n_fold):
            mixed += 1
        if n_fold == 0 or other or not (has_ascii_letter or mostly_latin):
            continue
        out.append(text[pos : m.start()])
        out.append("".join(fold.get(ch, ch) for ch in w))
        pos = m.end()
        chars += n_fold
        words += 1
    if not words:
        return text, 0, 0, mixed
    out.append(text[pos:])
    return "".join(out), chars, words, mixed


# --------------------------------------------------------------------------------------------- whitespace

_WS_MAP = {
    "\r": "\n", "\v": "\n", "\f": "\n", "\x85": "\n", "\u2028": "\n", "\u2029": "\n",
    "\t": " ", "\u1680": " ", "\u2800": " ", "\u3000": " ", "\xa0": " ", "\u2007": " ", "\u202f": " ",
    **{chr(c): " " for c in range(0x2000, 0x200B)},
}
_WS_ODD_RE = re.compile("[\r\v\f\x85\u2028\u2029\t\u1680\u2800\u3000\xa0\u2000-\u200a\u202f]")
_WS_ODD_CHARS = frozenset(_WS_MAP)
_SPACES_RE = re.compile(r" {2,}")
_SPACE_NL_RE = re.compile(r" +\n|\n +")
_NEWLINES_RE = re.compile(r"\n{3,}")


def _normalize_whitespace(text: str) -> str:
    if "\r\n" in text:
        text = text.replace("\r\n", "\n")
    if _WS_ODD_RE.search(text) is not None:
        for ch in _WS_ODD_CHARS.intersection(text):
            text = text.replace(ch, _WS_MAP[ch])
    if "  " in text:
        text = _SPACES_RE.sub(" ", text)
    if " \n" in text or "\n " in text:
        text = _SPACE_NL_RE.sub("\n", text)
    if "\n\n\n" in text:
        text = _NEWLINES_RE.sub("\n\n", text)
    return text.strip(" \n")


# --------------------------------------------------------------------------------------------- public


def normalize(text: str) -> Normalized:
    """Normalize ``text`` (see module docstring). Never raises for a ``str`` input; linear time."""
    if not isinstance(text, str):
        raise TypeError(f"normalize() needs a str, not {type(text).__name__}")
    original_length = len(text)
    changes: list[str] = []
    counts = _Counts()
    # lone surrogates (from surrogateescape-decoded bytes) cannot be NFKC'd reliably by every consumer
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = text.encode("utf-8", "replace").decode("utf-8")
            changes.append("surrogates_replaced")

    controls = 0
    if _CONTROL_RE.search(text) is not None:
        before = len(text)
        text = _CONTROL_RE.sub("", text)
        controls = before - len(text)
        changes.append(f"controls_removed:{controls}")

    nfkc_changed = 0
    if not text.isascii() and not unicodedata.is_normalized("NFKC", text):
        new = unicodedata.normalize("NFKC", text)
        if new != text:
            nfkc_changed = 1
            changes.append("nfkc")
            text = new

    text = _remove_invisible(text, counts)

    comments = hidden = 0
    if "<" in text or "]:" in text or "-->" in text:
        text, comments, hidden = _surface_markup(text, counts)

    chars_folded = words_folded = mixed = 0
    if not text.isascii():
        text, chars_folded, words_folded, mixed = fold_confusables(text)
        if chars_folded:
            text = _remove_context_after_ascii(text, counts)

    if counts.tags:
        changes.append(f"tags_decoded:{counts.tags}")
    if counts.invisible:
        changes.append(f"invisible_removed:{counts.invisible}")
    if comments:
        changes.append(f"comments_surfaced:{comments}")
    if hidden:
        changes.append(f"hidden_surfaced:{hidden}")
    if chars_folded:
        changes.append(f"confusables_folded:{chars_folded}")

    ws = _normalize_whitespace(text)
    ws_changed = int(ws != text)
    if ws_changed:
        changes.append("whitespace")
    return Normalized(
        text=ws,
        changes=tuple(changes),
        original_length=original_length,
        controls_removed=controls,
        nfkc_changed=nfkc_changed,
        invisible_removed=counts.invisible,
        bidi_controls=counts.bidi,
        tags_decoded=counts.tags,
        confusables_folded=chars_folded,
        words_folded=words_folded,
        mixed_script_words=mixed,
        comments_surfaced=comments,
        hidden_surfaced=hidden,
        whitespace_changed=ws_changed,
        surfaced=tuple(counts.surfaced),
    )


_SKELETON_INVISIBLE_RE = re.compile(f"[{_ALWAYS_INVISIBLE}{_CONTEXT_INVISIBLE}]")
_WS_RUN_RE = re.compile(r"\s+")


def skeleton(text: str) -> str:
    """A comparison key: NFKC, invisibles dropped, *every* confusable (any script) folded to ASCII,
    accents stripped, case-folded, whitespace collapsed. ``skeleton("Іgnоrе")  == skeleton("ignore")``.

    Unlike :func:`normalize` this folds real Cyrillic / Greek text too: use it to compare, not to read.
    """
    if not isinstance(text, str):
        raise TypeError(f"skeleton() needs a str, not {type(text).__name__}")
    text = text.encode("utf-8", "replace").decode("utf-8") if not text.isascii() else text
    text = unicodedata.normalize("NFKC", text)
    text = _SKELETON_INVISIBLE_RE.sub("", text)
    if not text.isascii():
        fold, marks = _skeleton_tables()
        text = unicodedata.normalize("NFD", text.translate(fold)).translate(marks)
    return _WS_RUN_RE.sub(" ", text.casefold()).strip()


@functools.lru_cache(maxsize=1)
def _skeleton_tables() -> tuple[dict[int, str], dict[int, None]]:
    """``str.translate`` tables of :func:`skeleton`: every confusable to its ASCII letter, and every combining mark
    (``unicodedata.combining`` > 0) dropped; built once (about 0.3 s), the per-character loop in C."""
    fold = {ord(ch): t for ch, t in _tables().full.items()}
    marks = dict.fromkeys(cp for cp in range(sys.maxunicode + 1) if unicodedata.combining(chr(cp)))
    return fold, marks


def warm_up() -> None:
    """Build the lazy confusables tables now (call once at start-up to keep the first request fast)."""
    _tables()
