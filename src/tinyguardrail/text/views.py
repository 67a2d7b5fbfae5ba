"""De-obfuscation views: extra readings of one (normalized) input, produced only when it looks encoded.

``make_views(text)`` runs a fixed list of cheap-gated decoders over the text and returns the readings that
decode to something readable, as :class:`View` objects (the input itself is never a view). Decoders find
encoded *segments* inside larger texts ("decode this: aWdub3Jl...") and return the text with the segment
replaced by its decoding. Each new view is decoded again, up to ``limits.max_depth`` levels (base64 of ROT13
...).

| decoder | reveals | gate (cheap test before any work) |
|---|---|---|
| ``base64`` | standard and URL-safe Base64 blobs (MIME-wrapped too) | run of >= 16 Base64 characters with upper and lower case |
| ``hex`` | ``48656c``, ``48 65 6c``, ``\\x48\\x65``, ``0x48, 0x65`` | >= 8 hex pairs with a letter a-f |
| ``url`` | percent-encoding (``%69%67`` and ``quote_plus``) | >= 3 ``%XX`` escapes |
| ``html_entities`` | ``&#105;&#x67;&amp;`` | >= 4 entities |
| ``unicode_escape`` | ``\\u0069\\U0001F600`` | >= 4 escapes |
| ``rot13`` / ``caesar<k>`` | letter shifts (best shift by letter frequencies, kept if words appear) | >= 2 non-words |
| ``fcw`` | FlipAttack: characters of each word reversed | >= 2 non-words whose reversal is a word |
| ``fcs`` | FlipAttack: characters of the whole sentence reversed (per line) | as ``fcw`` |
| ``fwo`` | FlipAttack / CodeChameleon reverse: word order reversed (per line or quote) | >= 4 words, line ends like a reversed sentence |
| ``fcs`` / ``fcw`` / ``fwo`` (cued) | FlipAttack prompts that say "flipping each character / word": the ``TASK is '...'`` payload flipped back as told, in any language | "flip" and "task" in the text |
| ``codechameleon_*`` | binary-tree JSON, ``[{word: index}]`` lists, odd-even interleave, reverse | decryption markers / ``'value'`` |
| ``payload_split`` | ``a = "..."; b = "..."; z = a + b`` concatenated | >= 2 string assignments and a ``+`` |
| ``leetspeak`` | ``1gn0r3 4ll`` -> ``ignore all`` | >= 2 tokens mixing letters and leet digits/symbols |
| ``typoglycemia`` | ``Igonre all prevoius`` -> ``Ignore all previous`` | >= 2 non-words of >= 4 letters |
| ``spaced`` | ``i g n o r e``, ``i.g.n.o.r.e``, ``i-g-n`` -> ``ignore`` | >= 4 single letters in a row with separators |
| ``segmented`` | run-together words (zero-width-separated, spaces removed) -> words | alphabetic token of >= 12 letters, not a word |

Limits (:class:`Limits`): characters of input considered, decoded bytes per segment, number of views, depth,
segments per decoder, characters per view. Every decoder is wrapped: an exception yields no view. All
patterns are linear (no nested quantifiers over overlapping classes); long tokens are split with simple scans.
"""

from __future__ import annotations

import ast
import base64
import binascii
import html
import json
import math
import re
import urllib.parse
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Limits", "DEFAULT_LIMITS", "View", "make_views", "lexicon", "is_word", "warm_up", "segment_words",
           "naturalness", "text_quality"]


@dataclass(frozen=True, slots=True)
class Limits:
    """Hard caps of :func:`make_views`.

    Attributes:
        max_input_chars: characters of the input looked at (the rest is ignored by the decoders).
        max_decoded_bytes: bytes decoded per encoded segment (longer segments are cut).
        max_views: views returned at most.
        max_depth: decoding levels (1 = only the input is decoded; 2 = views are decoded once more).
        max_segments: encoded segments decoded per decoder per text.
        max_view_chars: characters kept per view text.
    """

    max_input_chars: int = 20_000
    max_decoded_bytes: int = 65_536
    max_views: int = 8
    max_depth: int = 2
    max_segments: int = 16
    max_view_chars: int = 20_000


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True, slots=True)
class View:
    """One extra reading of the input.

    Attributes:
        name: decoder that produced the last step (``"base64"``, ``"fcs"``, ``"caesar3"`` ...).
        text: the reading.
        decoder: the chain of decoders from the input to this reading, e.g. ``("base64", "rot13")``.
        confidence: how clearly the decoding reads as text, in [0, 1] (share of recovered dictionary words,
            printable ratio ...); the pattern detectors use it.
    """

    name: str
    text: str
    decoder: tuple[str, ...] = field(default=())
    confidence: float = 1.0


# ============================================================================================ lexicon


class _Lexicon:
    """English word list from ``wordfreq`` (top 50k, alphabetic), with ranks and a typoglycemia index."""

    def __init__(self, n: int = 50_000) -> None:
        from wordfreq import top_n_list

        ranked = [w for w in top_n_list("en", n) if w.isascii() and w.isalpha()]
        self.rank: dict[str, int] = {}
        for i, w in enumerate(ranked):
            self.rank.setdefault(w, i)
        self.words = frozenset(self.rank)
        # the "common" subset: dictionary judgements on words of >= 3 letters use the whole list
        self.typo: dict[str, str] = {}
        for w in ranked:
            if len(w) >= 4:
                key = w[0] + w[-1] + "".join(sorted(w[1:-1]))
                self.typo.setdefault(key, w)  # most frequent word wins
        self.max_len = max(len(w) for w in self.words)
        # segmentation costs: -log of a Zipf probability
        # (+ a per-piece constant, so fewer, longer pieces win: "ai" over "a" + "i")
        self.cost = {w: math.log(r + 2) + 6.0 for w, r in self.rank.items() if len(w) > 1 or w in ("a", "i")}


_LEX: _Lexicon | None = None


def lexicon() -> _Lexicon:
    """The lazily built English lexicon (about 0.2 s, once per process)."""
    global _LEX
    if _LEX is None:
        _LEX = _Lexicon()
    return _LEX


def is_word(w: str) -> bool:
    """``w`` (any case) is an English dictionary word."""
    return w.lower() in lexicon().words


def warm_up() -> None:
    """Build the lexicon and the confusables tables now (keeps the first request fast)."""
    from tinyguardrail.text.normalize import warm_up as _wu

    lexicon()
    _chi_shifts("warmup")  # imports numpy and builds the frequency table
    _wu()


_WORD_RE = re.compile(r"[A-Za-z]+")
# words for dictionary analysis: letters not glued to digits or underscores (identifiers, hex, hashes)
_TOKEN_WORD_RE = re.compile(r"(?<![A-Za-z0-9_])[A-Za-z]+(?![A-Za-z0-9_])")
_LOWER_WORD_RE = re.compile(r"(?<![a-z0-9_])[a-z]+(?![a-z0-9_])")
_LETTER_RE = re.compile(r"[A-Za-z]")


def segment_words(s: str, max_chars: int = 200) -> tuple[list[str], float]:
    """Split run-together lowercase letters into dictionary words (Zipf-cost dynamic programming).

    Returns ``(words, coverage)`` where coverage is the share of letters inside dictionary words of >= 2 letters
    (or ``a`` / ``i``). Input beyond ``max_chars`` is returned unsplit.
    """
    orig = s
    s = s.lower()
    tail = ""
    if len(s) > max_chars:
        s, tail, orig = s[:max_chars], s[max_chars:], orig[:max_chars]
    # a case change inside a piece ("DANan") is a likely word boundary: pieces crossing one cost more
    upper = [c.isupper() for c in orig]
    boundary = [False] + [(upper[i] != upper[i - 1]) and not (i >= 1 and upper[i - 1] and not upper[i]
                          and (i < 2 or not upper[i - 2])) for i in range(1, len(orig))]
    cross = [0] * (len(orig) + 1)
    for i in range(1, len(orig) + 1):
        cross[i] = cross[i - 1] + (1 if i < len(orig) and boundary[i] else 0)
    lex = lexicon()
    cost = lex.cost
    n = len(s)
    max_len = min(lex.max_len, 20)
    unknown = 18.0
    best = [0.0] + [math.inf] * n
    back = [0] * (n + 1)
    for i in range(1, n + 1):
        bi = math.inf
        bj = i - 1
        for j in range(max(0, i - max_len), i):
            c = cost.get(s[j:i])
            if c is not None:
                if cross[i - 1] - cross[j] > 0:
                    c += 6.0
                v = best[j] + c
                if v < bi:
                    bi, bj = v, j
        v = best[i - 1] + unknown
        if v < bi:
            bi, bj = v, i - 1
        best[i] = bi
        back[i] = bj
    words: list[str] = []
    i = n
    while i > 0:
        j = back[i]
        words.append(s[j:i])
        i = j
    words.reverse()
    covered = sum(len(w) for w in words if w in cost)
    # merge consecutive unknown single letters back into one chunk
    merged: list[str] = []
    for w in words:
        if w not in cost and merged and merged[-1] not in cost:
            merged[-1] += w
        else:
            merged.append(w)
    if tail:
        merged.append(tail)
    return merged, covered / max(1, n)


# ------------------------------------------------------------------------------- naturalness (word order)

_DET = frozenset("the a an this that these those my your his her its our their some every each".split())
_PREP = frozenset("of to in on at by for with from into about as over under through without between after before "
                  "during against than onto upon".split())
_CONJ = frozenset("and or but if because so when while although whether".split())
_AUX = frozenset("is are was were be been being am do does did have has had can could will would should shall may "
                 "might must".split())
_SUBJ = frozenset("i you he she it we they".split())
_OBJ = frozenset("me you him her it us them".split())
_WH = frozenset("how what why where when who which".split())
_VERBS = frozenset("tell give show help let teach send write make provide explain ignore forget create build find "
                   "get do use take say describe generate list print reveal output produce buy steal hack kill "
                   "bypass access obtain avoid go keep put pretend act answer follow disregard display draft compose "
                   "develop design outline detail suggest recommend share post publish convince persuade encourage "
                   "promote instruct guide offer compile summarize translate rewrite edit analyze override leak expose "
                   "delete erase disable enable activate execute run install download upload forge fake spread "
                   "harass threaten bully insult hurt attack destroy manipulate trick scam cheat evade hide smuggle "
                   "sell acquire synthesize manufacture craft invent plan organize start begin stop prevent bring "
                   "read repeat reply respond send see work".split())
_FUNC = _DET | _PREP | _CONJ | _AUX | _SUBJ | _OBJ | _WH | {"to", "not"}


def naturalness(words: list[str]) -> float:
    """How much a word sequence reads like English in this order: natural bigrams minus unnatural ones.

    Used to choose between a sequence and its reversal (FWO, CodeChameleon reverse / odd-even, FCS vs FCW).
    """
    if len(words) < 2:
        return 0.0
    ws = [w.lower().strip(".,;:!?\"'()[]{}") for w in words]
    score = 0.0
    for a, b in zip(ws, ws[1:], strict=False):
        if a in _DET:
            if b in _FUNC or b in _VERBS:
                score -= 1.0
        elif a in _PREP or a == "to":
            if b in _DET:
                score += 1.0
            elif a == "to" and b in _VERBS:
                score += 1.0
            elif b in _WH and a == "to":
                score -= 1.0
        if a in _AUX and (b in _DET or b in _SUBJ or b == "not"):
            score += 1.0
        if a in _SUBJ and b in _AUX:
            score += 1.0
        if a in _WH and (b in _AUX or b == "to" or b in _SUBJ):
            score += 1.0
        if a in _WH and b in _OBJ and b not in _SUBJ:
            score -= 1.0
        if a in _VERBS and (b in _OBJ or b in _DET):
            score += 1.0
        if a in _OBJ and b in _WH:
            score += 0.5
        if a in _OBJ and a not in _SUBJ and b in _VERBS:
            score -= 1.0
        if a == "not" and b in _AUX:
            score -= 1.0
        if b in _VERBS and a in _DET:
            score -= 0.0  # counted above
    last = ws[-1]
    if last in _DET or last in _PREP or last == "to" or last in ("i", "we", "they", "he", "she"):
        score -= 1.0
    first = words[0].strip(".,;:!?\"'()[]{}")
    lastw = words[-1].strip(".,;:!?\"'()[]{}")
    if first[:1].islower() and lastw[:1].isupper() and lastw.lower() not in ("i",) and len(lastw) > 1:
        score -= 1.0
    if first[:1].isupper() and lastw[:1].islower():
        score += 0.5
    return score


# ------------------------------------------------------------------------------------------ text quality


def _dict_share(text: str, min_len: int = 3) -> tuple[float, int]:
    words = lexicon().words
    n = hit = 0
    for w in _WORD_RE.findall(text):
        if len(w) >= min_len:
            n += 1
            hit += w.lower() in words
    return (hit / n if n else 0.0), n


_STRUCT_CHARS = frozenset('{}[]<>"=:;|\\/_#')


def text_quality(s: str) -> float:
    """How much ``s`` reads as natural text, in [0, 1], in any language: printable, made of letters, split into
    word-like tokens of ordinary length, with a bonus for English dictionary words. Binary garbage, hashes,
    identifiers and structured data (JSON, key=value) score low; prose in Spanish or Russian scores well."""
    if not s or not s.strip():
        return 0.0
    sample = s[:4000]
    if not sample.isprintable():
        bad = sum(1 for ch in sample if not ch.isprintable() and ch not in "\n\t\r")
        if bad > 0.05 * len(sample):
            return 0.0
    if "\ufffd" in sample and sample.count("\ufffd") > 0.02 * len(sample):
        return 0.0
    tokens = sample.split()
    if not tokens:
        return 0.0
    nonspace = sum(map(len, tokens))
    letters = sum(1 for ch in sample if ch.isalpha())
    letter_ratio = letters / nonspace
    non_ascii_letters = sum(1 for ch in sample if ch.isalpha() and not ch.isascii())
    if len(tokens) <= 3 and non_ascii_letters >= 4 and letter_ratio > 0.6:  # scripts written without spaces
        generic = 0.75 * letter_ratio
    else:
        wordlike = sum(1 for t in tokens if t.strip(_EDGE_ALL).isalpha()) / len(tokens)
        avg = nonspace / len(tokens)
        shape = 1.0 if 2.0 <= avg <= 12.0 else (0.6 if avg <= 20.0 else 0.3)
        generic = letter_ratio * wordlike * shape
        if len(tokens) < 3:
            generic *= 0.6
    share, n = _dict_share(sample)
    english = share if n >= 2 else 0.5 * share
    q = max(0.8 * generic, 0.3 * generic + 0.7 * english)
    # structured data (JSON, key=value, paths) is readable but is not prose
    sym = sum(1 for ch in sample if ch in _STRUCT_CHARS) / nonspace
    if sym > 0.08:
        q *= max(0.0, 1.0 - 2.0 * sym)
    return max(0.0, min(1.0, q))


_EDGE_ALL = ".,;:!?\"'()[]{}<>*_`~-«»“”‘’¿¡"


# ================================================================================================ context


class _Ctx:
    """One text being decoded, with lazily computed word facts shared by the decoders."""

    __slots__ = ("text", "limits", "_tokens", "_lower", "_stokens", "_words", "_long", "_bad")

    def __init__(self, text: str, limits: Limits) -> None:
        self.text = text
        self.limits = limits
        self._tokens: list[tuple[int, int, str, int]] | None = None
        self._stokens: list[tuple[int, int, str, int]] | None = None
        self._lower: str | None = None
        self._words: list[str] | None = None
        self._long: list[str] | None = None
        self._bad: list[str] | None = None

    @property
    def words(self) -> list[str]:
        """Lower-case ASCII-letter words (no positions: cheap)."""
        if self._words is None:
            self._words = _LOWER_WORD_RE.findall(self.lower)
        return self._words

    @property
    def long_words(self) -> list[str]:
        """Words of >= 3 letters."""
        if self._long is None:
            self._long = [w for w in self.words if len(w) >= 3]
        return self._long

    @property
    def bad(self) -> list[str]:
        """Words of >= 3 letters that are not dictionary words."""
        if self._bad is None:
            ws = lexicon().words
            self._bad = [w for w in self.long_words if w not in ws]
        return self._bad

    @property
    def stokens(self) -> list[tuple[int, int, str, int]]:
        """Whitespace-separated tokens: (start, end, token, core_is_word)."""
        if self._stokens is None:
            self._stokens = [(m.start(), m.end(), m.group(), _core_is_word(m.group()))
                             for m in _TOKEN_RE.finditer(self.text)]
        return self._stokens

    @property
    def lower(self) -> str:
        if self._lower is None:
            self._lower = self.text.lower()
        return self._lower

    @property
    def tokens(self) -> list[tuple[int, int, str, int]]:
        """ASCII-letter words: (start, end, word, in_dictionary)."""
        if self._tokens is None:
            words = lexicon().words
            self._tokens = [(m.start(), m.end(), m.group(), m.group().lower() in words)
                            for m in _TOKEN_WORD_RE.finditer(self.text)]
        return self._tokens


_TOKEN_RE = re.compile(r"\S+")
_CORE_STRIP = ".,;:!?\"'()[]{}<>*_`~"
_CONTRACTION_TAILS = frozenset(("t", "s", "d", "ll", "re", "ve", "m"))


def _core_is_word(tok: str) -> bool:
    """The token without edge punctuation is a dictionary word (contractions included)."""
    core = tok.strip(_CORE_STRIP)
    if not core:
        return False
    if core.isalpha():
        return core.isascii() and core.lower() in lexicon().words
    if "'" in core:
        parts = core.lower().split("'")
        words = lexicon().words
        return all(p.isascii() and p.isalpha() and (p in words or p in _CONTRACTION_TAILS) for p in parts) and \
            parts[0] in words
    return False


def _core_letters(tok: str) -> int:
    return sum(1 for c in tok if c.isalpha())


@dataclass(slots=True)
class _Cand:
    name: str
    text: str
    confidence: float


Decoder = Callable[[_Ctx], list[_Cand]]


def _clean_decoded(s: str) -> str:
    from tinyguardrail.text.normalize import normalize

    return normalize(s).text


def _replace_spans(text: str, spans: list[tuple[int, int, str]]) -> str:
    out: list[str] = []
    pos = 0
    for a, b, rep in sorted(spans):
        if a < pos:
            continue
        out.append(text[pos:a])
        out.append(rep)
        pos = b
    out.append(text[pos:])
    return "".join(out)


def _bytes_to_text(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        s = data.decode("utf-8", "replace")
        if s.count("\ufffd") > max(1, 0.02 * len(s)):
            return None
        return s


# =============================================================================================== decoders

_B64_RE = re.compile(r"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{16,}={0,2}")
_MIN_QUALITY = 0.45


def _b64_decode(seg: str, max_bytes: int) -> bytes | None:
    s = seg.rstrip("=")
    if "-" in s or "_" in s:
        if "+" in s or "/" in s:
            return None
        s = s.replace("-", "+").replace("_", "/")
    max_chars = (max_bytes // 3) * 4
    if len(s) > max_chars:
        s = s[:max_chars]
    if len(s) % 4 == 1:
        s = s[:-1]
    s += "=" * (-len(s) % 4)
    try:
        return base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError):
        return None


_B64_MIME_RE = re.compile(r"(?<![A-Za-z0-9+/_-])(?:[A-Za-z0-9+/]{40,}\n)+[A-Za-z0-9+/]{2,}={0,2}")


def _dec_base64(ctx: _Ctx) -> list[_Cand]:
    text = ctx.text
    segs: list[list[int]] = []
    if "\n" in text:
        segs = [[m.start(), m.end()] for m in _B64_MIME_RE.finditer(text)][: ctx.limits.max_segments]
    taken = [tuple(x) for x in segs]
    for m in _B64_RE.finditer(text):
        if any(a <= m.start() < b for a, b in taken):
            continue
        seg = m.group()
        core = seg.rstrip("=")
        if core.isalpha() and (core.islower() or core.isupper()):
            continue
        has_upper = any(c.isupper() for c in core)
        has_lower = any(c.islower() for c in core)
        if not (has_upper and has_lower):
            continue
        # MIME-wrapped: glue lines of a multiple of 4 characters separated by one newline
        if segs and text[segs[-1][1] : m.start()] in ("\n", " \n", "\n ") and (segs[-1][1] - segs[-1][0]) % 4 == 0 \
                and (segs[-1][1] - segs[-1][0]) >= 40 and not text[segs[-1][0] : segs[-1][1]].endswith("="):
            segs[-1][1] = m.end()
            continue
        segs.append([m.start(), m.end()])
        if len(segs) >= ctx.limits.max_segments * 4:
            break
    if not segs:
        return []
    spans: list[tuple[int, int, str]] = []
    best = 0.0
    for a, b in segs:
        seg = text[a:b].replace("\n", "").replace(" ", "")
        data = _b64_decode(seg, ctx.limits.max_decoded_bytes)
        if not data or len(data) < 6:
            continue
        s = _bytes_to_text(data)
        if s is None:
            continue
        q = text_quality(s)
        if q < _MIN_QUALITY:
            continue
        spans.append((a, b, " " + _clean_decoded(s) + " "))
        best = max(best, q)
        if len(spans) >= ctx.limits.max_segments:
            break
    if not spans:
        return []
    return [_Cand("base64", _replace_spans(text, spans).strip(), best)]


_HEX_RE = re.compile(r"(?<![0-9A-Fa-f])(?:(?:\\x|0x|0X)?[0-9A-Fa-f]{2}[ ,:;\-]{0,2}){8,}")
_HEX_STRIP_RE = re.compile(r"\\x|0x|0X|[ ,:;\-]")
_HEX_LETTER_RE = re.compile(r"[A-Fa-f]")


def _dec_hex(ctx: _Ctx) -> list[_Cand]:
    text = ctx.text
    if sum(map(text.count, "0123456789")) < 12:
        return []
    spans: list[tuple[int, int, str]] = []
    best = 0.0
    tried = 0
    for m in _HEX_RE.finditer(text):
        seg = m.group()
        if _HEX_LETTER_RE.search(seg) is None:
            continue
        tried += 1
        if tried > ctx.limits.max_segments * 4:
            break
        digits = _HEX_STRIP_RE.sub("", seg)
        if len(digits) % 2:
            digits = digits[:-1]
        digits = digits[: ctx.limits.max_decoded_bytes * 2]
        if len(digits) < 12:
            continue
        try:
            data = bytes.fromhex(digits)
        except ValueError:
            continue
        s = _bytes_to_text(data)
        if s is None:
            continue
        q = text_quality(s)
        if q < _MIN_QUALITY:
            continue
        end = m.end()
        while end > m.start() and text[end - 1] in " ,:;-":
            end -= 1
        spans.append((m.start(), end, " " + _clean_decoded(s) + " "))
        best = max(best, q)
        if len(spans) >= ctx.limits.max_segments:
            break
    if not spans:
        return []
    return [_Cand("hex", _replace_spans(text, spans).strip(), best)]


_PCT_RE = re.compile(r"%[0-9A-Fa-f]{2}")


def _dec_url(ctx: _Ctx) -> list[_Cand]:
    text = ctx.text
    n_pct = text.count("%")
    if n_pct < 3 and text.count("+") < 3:
        return []
    spans: list[tuple[int, int, str]] = []
    n_esc = 0
    word_esc = 0
    for m in _TOKEN_RE.finditer(text):
        tok = m.group()
        k = len(_PCT_RE.findall(tok)) if "%" in tok else 0
        plus = tok.count("+")
        if k == 0 and plus < 3:
            continue
        if k == 0 and sum(1 for c in tok if c.isalpha()) < 0.6 * len(tok):
            continue  # arithmetic, not a query string
        n_esc += k + (plus if plus >= 3 else 0)
        word_esc += sum(1 for e in _PCT_RE.findall(tok) if chr(int(e[1:], 16)).isalnum() or int(e[1:], 16) >= 0x80)
        tok = tok[: ctx.limits.max_decoded_bytes * 3]
        dec = urllib.parse.unquote_plus(tok) if ("+" in tok and "%20" not in tok) else urllib.parse.unquote(tok)
        if dec != tok:
            spans.append((m.start(), m.end(), dec))
        if len(spans) >= ctx.limits.max_segments * 4:
            break
    if n_esc < 3 or not spans:
        return []
    out = _clean_decoded(_replace_spans(text, spans))
    q = text_quality(out)
    if q < _MIN_QUALITY:
        return []
    # escaping letters hides words; escaping only spaces and punctuation (query strings) does not
    conf = q * (0.45 + 0.55 * min(1.0, word_esc / max(1, n_esc) / 0.5))
    return [_Cand("url", out, conf)]


_ENT_RE = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z]{2,10});")


def _dec_html_entities(ctx: _Ctx) -> list[_Cand]:
    text = ctx.text
    if "&" not in text:
        return []
    ents = _ENT_RE.findall(text)
    if len(ents) < 4:
        return []
    out = _clean_decoded(html.unescape(text))
    if out == text:
        return []
    q = text_quality(out)
    if q < _MIN_QUALITY:
        return []
    share = sum(len(e) for e in ents) / max(1, len(text))
    return [_Cand("html_entities", out, q * min(1.0, share / 0.25))]


_UESC_RE = re.compile(r"\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8}")


def _dec_unicode_escape(ctx: _Ctx) -> list[_Cand]:
    text = ctx.text
    if "\\u" not in text and "\\U" not in text:
        return []
    escs = _UESC_RE.findall(text)
    if len(escs) < 4:
        return []

    def rep(m: re.Match) -> str:
        cp = int(m.group()[2:], 16)
        return chr(cp) if cp <= 0x10FFFF else "\ufffd"

    out = _UESC_RE.sub(rep, text)
    try:
        out = out.encode("utf-16", "surrogatepass").decode("utf-16")
    except UnicodeError:
        out = out.encode("utf-8", "replace").decode("utf-8")
    out = _clean_decoded(out)
    q = text_quality(out)
    if q < _MIN_QUALITY:
        return []
    share = sum(len(e) for e in escs) / max(1, len(text))
    return [_Cand("unicode_escape", out, q * min(1.0, share / 0.25))]


# ---------------------------------------------------------------------------------------------- caesar

# English letter frequencies (a..z), percent.
_EN_FREQ = (8.17, 1.49, 2.78, 4.25, 12.7, 2.23, 2.02, 6.09, 6.97, 0.15, 0.77, 4.03, 2.41, 6.75, 7.51, 1.93, 0.10,
            5.99, 6.33, 9.06, 2.76, 0.98, 2.36, 0.15, 1.97, 0.07)
_SHIFT_TABLES = [
    str.maketrans(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "".join(chr((i + k) % 26 + 97) for i in range(26)) + "".join(chr((i + k) % 26 + 65) for i in range(26)),
    )
    for k in range(26)
]


def _merge_words(ctx: _Ctx, transform: Callable[[str], str | None], min_hits: int, min_share: float,
                 name: str, spaced_tokens: bool = False, any_repair: bool = False,
                 min_after: float = 0.6) -> _Cand | None:
    """Per-word repair: replace words that are not words but whose transform is. Undecided words (short, or
    words both ways / neither way) follow their neighbours; where the neighbours disagree, the word itself
    decides (transform is a word and the word is not). Returns a candidate when enough words were repaired and
    the repaired text is mostly English words (``min_after``); ``any_repair`` transforms every non-word (a
    shift found by letter frequencies in a language the dictionary does not know).

    Confidence: share of the non-words that were repaired, times min(1, repairs / 3)."""
    toks = ctx.stokens if spaced_tokens else ctx.tokens
    if not toks:
        return None
    words = lexicon().words
    flags: list[int | None] = []
    soft: list[bool] = []
    reps: list[str | None] = []
    hits = 0
    non_words = 0
    n_long = 0
    distinct: set[str] = set()
    for _a, _b, w, in_dict in toks:
        r = transform(w)
        reps.append(r)
        if spaced_tokens:
            r_word = r is not None and _core_is_word(r)
            short = _core_letters(w) < 3
        else:
            r_word = r is not None and r.lower() in words
            short = len(w) < 3
        if any_repair:
            r_word = r is not None and not in_dict
        soft.append(r_word and not in_dict)
        if short:
            flags.append(None)
            continue
        n_long += 1
        if not in_dict:
            non_words += 1
        if r_word and not in_dict:
            flags.append(1)
            hits += 1
            distinct.add(w.lower())
        elif in_dict and not r_word:
            flags.append(0)
        else:
            flags.append(None)
    if len(distinct) < min_hits or hits < min_share * max(1, non_words):
        return None
    if not any_repair and (n_long - non_words + hits) < min_after * n_long:
        return None
    n = len(flags)
    left: list[int | None] = [None] * n
    last: int | None = None
    for i in range(n):
        if flags[i] is not None:
            last = flags[i]
        left[i] = last
    use = [False] * n
    right: int | None = None
    for i in range(n - 1, -1, -1):
        f = flags[i]
        if f is not None:
            right = f
            use[i] = bool(f)
            continue
        lf = left[i]
        if lf is None and right is None:
            use[i] = soft[i]
        elif lf is None or right is None:
            use[i] = bool(lf if lf is not None else right)
        elif lf == right:
            use[i] = bool(lf)
        else:
            use[i] = soft[i]
    spans = [(a, b, reps[i]) for i, (a, b, _w, _d) in enumerate(toks) if use[i] and reps[i] is not None]
    conf = hits / max(1, non_words) * min(1.0, hits / 3)
    return _Cand(name, _replace_spans(ctx.text, spans), min(1.0, conf))


def _chi_shifts(letters: str) -> tuple[list[int], float, float]:
    """Shifts ordered by how English the shifted letters' frequencies look (chi-square, best first), with the
    chi-square of the text as it is and of the best shift."""
    import numpy as np

    global _EXPECTED
    if _EXPECTED is None:
        freq = np.asarray(_EN_FREQ, dtype=np.float64) / 100.0
        # decoding with shift k maps cipher letter i to (i + k) % 26: expected share of cipher letter i
        _EXPECTED = np.stack([np.roll(freq, -k) for k in range(26)])
    arr = np.frombuffer(letters.encode("ascii", "ignore"), dtype=np.uint8).astype(np.int64) - 97
    arr = arr[(arr >= 0) & (arr < 26)]
    if arr.size == 0:
        return [], 0.0, 0.0
    counts = np.bincount(arr, minlength=26).astype(np.float64)
    exp = _EXPECTED * arr.size
    chi = ((counts[None, :] - exp) ** 2 / (exp + 0.5)).sum(axis=1)
    order = [int(k) for k in np.argsort(chi) if k != 0]
    return order, float(chi[0]), float(chi[order[0]])


_EXPECTED = None


def _dec_caesar(ctx: _Ctx) -> list[_Cand]:
    bad = ctx.bad
    if len(bad) < 3 or (len(bad) < 0.15 * len(ctx.long_words) and len(bad) < 8):
        return []
    letters = "".join(bad)[:2000]
    if len(letters) < 10:
        return []
    order, chi0, chi_best = _chi_shifts(letters)
    tried = order[:2]
    if 13 not in tried:
        tried.append(13)
    words = lexicon().words
    sample = bad[:200]
    best: _Cand | None = None
    for k in tried:
        table = _SHIFT_TABLES[k]
        hits = sum(1 for w in sample if w.translate(table) in words)
        if hits < 2 or hits < 0.4 * len(sample):
            continue
        name = "rot13" if k == 13 else f"caesar{k}"
        cand = _merge_words(ctx, lambda w, t=table: w.translate(t), 3, 0.5, name)
        if cand is not None and (best is None or cand.confidence > best.confidence):
            best = cand
    if best is None and len(letters) >= 40 and tried:
        # no English words either way: a shift whose letter frequencies are far more natural than the
        # text's own (a ROT13'd sentence in another Latin-script language)
        if chi_best * 4.0 < chi0 and chi_best < 0.6 * len(letters):
            k = tried[0]
            name = "rot13" if k == 13 else f"caesar{k}"
            cand = _merge_words(ctx, lambda w, t=_SHIFT_TABLES[k]: w.translate(t), 3, 0.6, name, any_repair=True)
            if cand is not None:
                best = _Cand(cand.name, cand.text, 0.5 * cand.confidence)
    return [best] if best is not None else []


# ---------------------------------------------------------------------------------------------- flips

_LINE_RE = re.compile(r"[^\n]+")


_QUOTE_CHARS = "'\"`‘’“”"


def _is_boundary(text: str, i: int) -> bool:
    """``text[i]`` ends a flipped region: a quote not inside a word, or a colon."""
    ch = text[i]
    if ch == ":":
        return True
    if ch in _QUOTE_CHARS:
        before = text[i - 1] if i > 0 else " "
        after = text[i + 1] if i + 1 < len(text) else " "
        return not (before.isalpha() and after.isalpha())
    return False


def _dec_flip(ctx: _Ctx) -> list[_Cand]:
    words = lexicon().words
    if sum(1 for w in ctx.bad if w[::-1] in words) < 2:
        return []
    toks = ctx.stokens
    fcw = _merge_words(ctx, lambda w: w[::-1], 2, 0.5, "fcw", spaced_tokens=True)
    if fcw is None:
        return []
    # FCS: per line, reverse the characters of each region made of flipped words and their neutral neighbours
    text = ctx.text
    spans: list[tuple[int, int, str]] = []
    for line in _LINE_RE.finditer(text):
        ls, le = line.start(), line.end()
        lt = [t for t in toks if ls <= t[0] < le]
        if not lt:
            continue
        state: list[int] = []  # 1 flipped, 0 forward word, -1 neutral
        for _a, _b, w, d in lt:
            r_word = _core_is_word(w[::-1])
            if _core_letters(w) < 3:
                state.append(-1)
            elif not d and r_word:
                state.append(1)
            elif d and not r_word:
                state.append(0)
            else:
                state.append(-1)
        i = 0
        while i < len(lt):
            if state[i] != 1:
                i += 1
                continue
            j = i
            while j + 1 < len(lt) and state[j + 1] != 0:
                j += 1
            k = i
            while k - 1 >= 0 and state[k - 1] == -1:
                k -= 1
            a, b = lt[k][0], lt[j][1]
            # cut the region at quotes / colons (a quoted TASK), keeping the part holding the flipped words
            first_flip, last_flip = lt[i][0], lt[j][1]
            for p in range(a, first_flip):
                if _is_boundary(text, p):
                    a = p + 1
            for p in range(b - 1, last_flip - 1, -1):
                if _is_boundary(text, p):
                    b = p
            for p in range(first_flip, last_flip):
                if _is_boundary(text, p) and text[p] != ":" and p in (first_flip, last_flip - 1):
                    if p == first_flip:
                        a = max(a, p + 1)
                    else:
                        b = min(b, p)
            if b > a:
                spans.append((a, b, text[a:b][::-1]))
            i = j + 1
    fcs = _Cand("fcs", _replace_spans(text, spans), fcw.confidence) if spans else None
    if fcs is None:
        return [fcw]
    # order by word order: the reading whose text reads more naturally first
    if naturalness(fcw.text.split()) > naturalness(fcs.text.split()) + 0.5:
        return [fcw, fcs]
    return [fcs, fcw]


_QUOTED_RE = re.compile(r"'((?:[^'\n]|(?<=[A-Za-z])'(?=[A-Za-z])){3,2000})'|\"([^\"\n]{3,2000})\"|`([^`\n]{3,2000})`")


_SENTENCE_STARTS = frozenset("how what why where when who which can could would will please i you we write tell give "
                             "show create make explain describe provide list generate develop design ignore forget "
                             "help let teach find build draft compose imagine pretend act is are do does".split())
_EDGE = ".,;:!?\"'()[]{}`*"


def _fwo_candidate(ws: list[str]) -> bool:
    """Cheap test: a word sequence that may be an English sentence in reversed word order."""
    first, last = ws[0].strip(_EDGE), ws[-1].strip(_EDGE)
    if not first or not last:
        return False
    return (last.lower() in _SENTENCE_STARTS or (first[:1].islower() and last[:1].isupper())
            or ws[0].lstrip(_EDGE[6:])[-1:] in ".?!")


def _dec_fwo(ctx: _Ctx) -> list[_Cand]:
    text = ctx.text
    if len(ctx.words) < 4:
        return []
    spans: list[tuple[int, int, str]] = []
    gain_total = 0.0
    n_words = 0
    pos = 0
    for line in text.split("\n"):
        start = pos
        pos += len(line) + 1
        ws = line.split()
        if len(ws) < 4:
            continue
        segs = [(start, start + len(line))] if _fwo_candidate(ws) else []
        if "'" in line or '"' in line or "`" in line:
            for m in _QUOTED_RE.finditer(line):
                g = 1 if m.group(1) is not None else (2 if m.group(2) is not None else 3)
                segs.append((start + m.start(g), start + m.end(g)))
        for a, b in segs:
            seg = text[a:b]
            sw = seg.split()
            if len(sw) < 4 or len(sw) > 80 or not _fwo_candidate(sw):  # FWO payloads are sentences
                continue
            fwd = naturalness(sw)
            rev_ws = sw[::-1]
            rev = naturalness(rev_ws)
            if rev >= 0.5 and rev - fwd >= 2.5:
                lead = len(seg) - len(seg.lstrip())
                trail = len(seg) - len(seg.rstrip())
                spans.append((a + lead, b - trail, " ".join(rev_ws)))
                gain_total += rev - fwd
                n_words += len(sw)
    if not spans:
        return []
    # quoted segments sit inside lines: keep the innermost (shortest) non-overlapping spans
    spans.sort(key=lambda s: (s[1] - s[0]))
    chosen: list[tuple[int, int, str]] = []
    for s in spans:
        if all(s[1] <= c[0] or s[0] >= c[1] for c in chosen):
            chosen.append(s)
    conf = min(1.0, gain_total / max(4.0, 0.5 * n_words))
    return [_Cand("fwo", _replace_spans(text, chosen), conf)]


_FLIP_CUE_RE = re.compile(r"flip(?:ping)?\s+(?:each|every|all|the)\s+(characters?|chars?|letters?|words?)"
                          r"(?:\s+(?:in|of)\s+(?:the\s+)?(?:each\s+)?(words?|whole sentence|sentence))?")


def _dec_flip_cued(ctx: _Ctx) -> list[_Cand]:
    """FlipAttack prompts say how the TASK was flipped: undo exactly that on the ``TASK is '...'`` payload, in any
    language (the dictionary-based flips only read English)."""
    low = ctx.lower
    if "flip" not in low or "task" not in low:
        return []
    m = _FLIP_CUE_RE.search(low)
    if m is None:
        return []
    unit, scope = m.group(1), m.group(2) or ""
    if unit.startswith("word"):
        mode = "fwo"
    elif scope.startswith("word"):
        mode = "fcw"
    else:
        mode = "fcs"
    i = low.rfind("task is")
    if i < 0:
        return []
    text = ctx.text
    a = i + len("task is")
    end = text.find("\n", a)
    end = len(text) if end < 0 else end
    seg = text[a:end]
    lead = len(seg) - len(seg.lstrip(" :\t"))
    a += lead
    seg = text[a:end].rstrip()
    if len(seg) >= 2 and seg[0] in "'\"`" and seg[-1] == seg[0]:
        a += 1
        seg = seg[1:-1]
    if len(seg) < 3:
        return []
    if mode == "fwo":
        dec = " ".join(seg.split()[::-1])
    elif mode == "fcw":
        dec = " ".join(w[::-1] for w in seg.split())
    else:
        dec = seg[::-1]
    return [_Cand(mode, text[:a] + dec + text[a + len(seg):], 0.6)]


# ---------------------------------------------------------------------------------------- codechameleon

_CC_MARKERS = ("decrypt", "encrypted", "problemsolver", "'value'", '"value"', "odd_even", "binary_tree", "cipher")
# Where the encrypted words sit, most specific first: "The encrypted_problem you need to solve is: ...",
# "Input: ...", "encrypted = ...".
_CC_SLOTS = tuple(re.compile(p + r"[ \t]*([^\n]{1,20000})", re.I | re.M) for p in (
    r"encrypted[_ ]problem you need to solve is\s*:",
    r"^[ \t]*input\s*:",
    r"^[ \t]*encrypted(?:_problem)?\s*=",
    r"encrypted[_ ]problem[^\n:(]{0,60}:",
    r"cipher(?:text)?\s*[:=]",
))


def _balanced(text: str, start: int, open_ch: str, close_ch: str, cap: int) -> int | None:
    """Index after the bracket matching ``text[start]`` (quote-aware), or None; at most ``cap`` chars."""
    depth = 0
    quote = ""
    i = start
    end = min(len(text), start + cap)
    while i < end:
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 2
                continue
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == open_ch:
            depth += 1
            if depth > 200:
                return None
        elif ch == close_ch:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return None


def _literal(s: str):
    try:
        return json.loads(s)
    except (ValueError, RecursionError):
        pass
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # literal_eval of junk emits SyntaxWarnings
            return ast.literal_eval(s)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def _tree_words(tree) -> list[str] | None:
    words: list[str] = []
    stack: list = []
    node = tree
    steps = 0
    while stack or node:
        steps += 1
        if steps > 20_000:
            return None
        while node:
            if isinstance(node, str):
                node = _literal(node)
            if not isinstance(node, dict) or "value" not in node:
                return None
            stack.append(node)
            node = node.get("left")
            steps += 1
            if steps > 20_000:
                return None
        node = stack.pop()
        words.append(str(node["value"]))
        node = node.get("right")
    return words


def _length_words(items) -> list[str] | None:
    if not isinstance(items, list) or not items or len(items) > 5000:
        return None
    pairs = []
    for d in items:
        if not isinstance(d, dict) or len(d) != 1:
            return None
        (w, i), = d.items()
        if not isinstance(i, int):
            return None
        pairs.append((i, str(w)))
    pairs.sort()
    return [w for _i, w in pairs]


def _odd_even_undo(ws: list[str]) -> list[str]:
    half = (len(ws) + 1) // 2
    out: list[str] = []
    for i in range(half):
        out.append(ws[i])
        if i + half < len(ws):
            out.append(ws[i + half])
    return out


def _dec_codechameleon(ctx: _Ctx) -> list[_Cand]:
    low = ctx.lower
    if not any(m in low for m in _CC_MARKERS):
        return []
    text = ctx.text
    cands: list[_Cand] = []
    cap = ctx.limits.max_input_chars
    # structured encodings: binary tree dicts and [{word: index}] lists, wherever they are
    done_tree = False
    for key in ("{'value'", '{"value"'):
        i = text.find(key)
        if i >= 0 and not done_tree:
            j = _balanced(text, i, "{", "}", cap)
            if j is not None:
                words = _tree_words(_literal(text[i:j]))
                if words:
                    cands.append(_Cand("codechameleon_binary_tree", text[:i] + " ".join(words) + text[j:], 1.0))
                    done_tree = True
    for key in ("[{'", '[{"'):
        i = text.find(key)
        if i >= 0:
            j = _balanced(text, i, "[", "]", cap)
            if j is not None:
                words = _length_words(_literal(text[i:j]))
                if words:
                    cands.append(_Cand("codechameleon_length", text[:i] + " ".join(words) + text[j:], 1.0))
                    break
    if cands:
        return cands
    # word-order encodings: the slot after "encrypted_problem ... is:" / "Input:" / "encrypted ="
    slot = None
    for rx in _CC_SLOTS:
        for m in rx.finditer(text):
            if len(m.group(1).split()) >= 3:
                slot = m  # the last one: the slot follows the function definitions
        if slot is not None:
            break
    for m in ([slot] if slot is not None else []):
        payload = m.group(1).strip()
        if payload.startswith(("[", "{")) or len(payload) < 3:
            continue
        quote = payload[0] if payload[0] in "'\"" and payload.endswith(payload[0]) and len(payload) > 2 else ""
        core = payload[1:-1] if quote else payload
        ws = core.split()
        if len(ws) < 3:
            continue
        base = naturalness(ws)
        options = []
        if "[::-1]" in text or "reverse" in low:
            options.append(("codechameleon_reverse", ws[::-1]))
        if "half_length" in text or "odd" in low or "even" in low:
            options.append(("codechameleon_odd_even", _odd_even_undo(ws)))
        if not options:
            options = [("codechameleon_reverse", ws[::-1]), ("codechameleon_odd_even", _odd_even_undo(ws))]
        for name, dec in options:
            nat = naturalness(dec)
            a = m.start(1) + (m.group(1).find(payload))
            b = a + len(payload)
            new = text[:a] + quote + " ".join(dec) + quote + text[b:]
            conf = 1.0 if nat > base else 0.6
            cands.append(_Cand(name, new, conf))
        break
    return cands


# ---------------------------------------------------------------------------------------- payload split

_ASSIGN_RE = re.compile(r"^[ \t]*([A-Za-z_][A-Za-z0-9_]{0,30})[ \t]*=[ \t]*(\"(?:[^\"\\\n]|\\.){0,2000}\"|'(?:[^'\\\n]|\\.){0,2000}')[ \t;]*$",
                        re.M)
_CONCAT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,30}(?:[ \t]*\+[ \t]*[A-Za-z_][A-Za-z0-9_]{0,30}){1,30}")


def _dec_payload_split(ctx: _Ctx) -> list[_Cand]:
    text = ctx.text
    if text.count("=") < 2 or "+" not in text or not ('"' in text or "'" in text):
        return []
    values: dict[str, str] = {}
    for m in _ASSIGN_RE.finditer(text):
        v = _literal(m.group(2))
        if isinstance(v, str):
            values[m.group(1)] = v
        if len(values) > 64:
            break
    if len(values) < 2:
        return []
    best: list[str] = []
    for m in _CONCAT_RE.finditer(text):
        names = [n.strip() for n in m.group().split("+")]
        if all(n in values for n in names) and len(names) > len(best):
            best = names
    if not best:
        return []
    joined = "".join(values[n] for n in best)[: ctx.limits.max_view_chars]
    q = text_quality(joined)
    return [_Cand("payload_split", text + "\n" + joined, max(0.3, q))]


# ------------------------------------------------------------------------------------------- leetspeak

_LEET_MAP = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g", "2": "z", "6": "g",
             "@": "a", "$": "s", "!": "i", "|": "l", "+": "t", "€": "e", "£": "l"}
_LEET_ALT = {"1": "l", "!": "l", "|": "i", "6": "b", "9": "q"}
_LEET_CHARS = frozenset(_LEET_MAP)
_EDGE_PUNCT = ".,;:?\"'()[]{}<>*_`"


def _leet_candidates(core: str) -> list[str]:
    amb = [i for i, c in enumerate(core) if c in _LEET_ALT]
    base = "".join(_LEET_MAP.get(c, c) for c in core)
    outs = [base]
    if amb and len(amb) <= 4:
        for mask in range(1, 1 << len(amb)):
            chars = list(base)
            for bit, i in enumerate(amb):
                if mask >> bit & 1:
                    chars[i] = _LEET_ALT[core[i]]
            outs.append("".join(chars))
    return outs


_SHORT_WORDS = frozenset("a i to is in of it an on be as at by me my do go so no or we us if up he am".split())


def _leet_word(core: str) -> str | None:
    """The dictionary word ``core`` spells in leetspeak, or None."""
    words = lexicon().words
    variants = [(core, "")]
    stripped = core.rstrip("!")
    if stripped and stripped != core and any(c in _LEET_CHARS for c in stripped):
        variants.append((stripped, core[len(stripped):]))
    for variant, suffix in variants:
        if "'" in variant:  # u$3r'$ -> user's, d0n'7 -> don't
            conv = "".join(_LEET_MAP.get(c, c) for c in variant)
            if _core_is_word(conv):
                return conv + suffix
            continue
        for c in _leet_candidates(variant):
            lc = c.lower()
            if lc in words and (len(lc) >= 3 or lc in _SHORT_WORDS):
                return c + suffix
    return None


# bytes classes for the leetspeak gate: letters -> "a", leet digits/symbols -> "1", everything else -> " "
_LEET_CLASS = bytes(
    ord("a") if chr(i).isascii() and chr(i).isalpha() else ord("1") if chr(i) in "0134578@$" else ord(" ")
    for i in range(256)
)


def _dec_leetspeak(ctx: _Ctx) -> list[_Cand]:
    text = ctx.text
    if sum(map(text.count, "013457@$")) < 2:
        return []
    cls = text.encode("utf-8", "replace").translate(_LEET_CLASS)
    if cls.count(b"a1a") + cls.count(b" 1aa") + cls.count(b"aa1 ") < 2:
        return []
    spans: list[tuple[int, int, str]] = []
    hits = 0
    n_tokens = 0
    for m in _TOKEN_RE.finditer(text):
        n_tokens += 1
        tok = m.group()
        if tok.isalpha() or not any(c in _LEET_CHARS for c in tok):
            continue
        core = tok.strip(_EDGE_PUNCT)
        if not core or not any(c in _LEET_CHARS for c in core):
            continue
        if not any(c.isalpha() for c in core) and len(core) > 3:
            continue
        found = _leet_word(core)
        if found is not None and core.isdigit() and len(core) > 1 and found.lower() not in _SHORT_WORDS:
            found = None
        if found is None:
            if len(core) > 2:
                continue
            found = "".join(_LEET_MAP.get(c, c) for c in core)  # "4" -> "a" inside a leet passage
        elif len(core) >= 3:
            hits += 1
        a = m.start() + tok.find(core)
        spans.append((a, a + len(core), found))
        if len(spans) > 2000:
            break
    if hits < 2 and not (hits == 1 and n_tokens <= 3):
        return []
    return [_Cand("leetspeak", _replace_spans(text, spans), min(1.0, 2 * hits / max(1, n_tokens)))]


# ----------------------------------------------------------------------------------------- typoglycemia


def _dec_typoglycemia(ctx: _Ctx) -> list[_Cand]:
    lex = lexicon()
    n = 0
    for w in ctx.bad[:400]:
        if len(w) >= 4 and lex.typo.get(w[0] + w[-1] + "".join(sorted(w[1:-1]))) not in (None, w):
            n += 1
            if n >= 2:
                break
    if n < 2:
        return []
    toks = ctx.tokens
    spans: list[tuple[int, int, str]] = []
    non_words = 0
    long_words = 0
    distinct: set[str] = set()
    for a, b, w, d in toks:
        if len(w) < 4:
            continue
        long_words += 1
        if d:
            continue
        non_words += 1
        lw = w.lower()
        rep = lex.typo.get(lw[0] + lw[-1] + "".join(sorted(lw[1:-1])))
        if rep is None or rep == lw:
            continue
        if w[0].isupper():
            rep = rep.upper() if w.isupper() else rep[0].upper() + rep[1:]
        spans.append((a, b, rep))
        distinct.add(lw)
    if len(distinct) < 2 or len(spans) < 0.4 * non_words:
        return []
    if (long_words - non_words + len(spans)) < 0.6 * long_words:  # the repaired text must be mostly English
        return []
    conf = len(spans) / max(1, non_words) * min(1.0, len(spans) / 3)
    return [_Cand("typoglycemia", _replace_spans(ctx.text, spans), min(1.0, conf))]


# ----------------------------------------------------------------------------------------- spaced / segmented

_SPACED_RE = re.compile(r"(?<![A-Za-z])[A-Za-z](?:[ ._*|/+~,;:!?'-]{1,3}[A-Za-z]){3,}(?![A-Za-z])")


def _dec_spaced(ctx: _Ctx) -> list[_Cand]:
    text = ctx.text
    words_set = lexicon().words
    spans: list[tuple[int, int, str]] = []
    letters_total = 0
    for m in _SPACED_RE.finditer(text):
        run = m.group()
        chunks = [w for w in ("".join(c for c in ch if c.isalpha() or c == "'") for ch in run.split(" ")) if w]
        if chunks and max(len(c.replace("'", "")) for c in chunks) > 1:  # "i.g.n.o.r.e a.l.l": spaces split words
            ws = chunks
            good = sum(len(w) for w in ws if len(w) > 1 and (w.lower() in words_set or _core_is_word(w)))
            letters = sum(len(w) for w in ws)
            if letters < 4 or good < 0.6 * letters:
                ws2, cov = _segment_apostrophes("".join(ws))
                if cov < 0.8:
                    continue
                ws = ws2
        else:  # "i g n o r e a l l": word boundaries are lost, find them with the dictionary
            joined = "".join(chunks)
            letters = len(joined)
            if letters < 5:
                continue
            ws, cov = _segment_apostrophes(joined)
            if cov < 0.8 or not (any(len(w) >= 4 for w in ws) or len(ws) >= 3):
                continue
        letters_total += letters
        spans.append((m.start(), m.end(), " ".join(ws)))
        if len(spans) >= 200:
            break
    if not spans:
        return []
    conf = min(1.0, letters_total / max(1, len(_LETTER_RE.findall(text[:5000]))) * 1.5)
    return [_Cand("spaced", _replace_spans(text, spans), conf)]


def _segment_apostrophes(joined: str) -> tuple[list[str], float]:
    """``segment_words`` for letters that may hold apostrophes ("neighbor's", "don't")."""
    if "'" not in joined:
        return segment_words(joined)
    out: list[str] = []
    covered = 0.0
    total = 0
    for k, part in enumerate(p for p in joined.split("'")):
        if not part:
            continue
        if k > 0 and out:
            low = part.lower()
            for tail in ("ll", "re", "ve", "s", "t", "d", "m"):
                if low.startswith(tail) and (len(part) == len(tail) or segment_words(part[len(tail):])[1] >= 0.8):
                    out[-1] += "'" + part[: len(tail)]
                    part = part[len(tail):]
                    covered += len(tail)
                    total += len(tail)
                    break
            if not part:
                continue
        ws, cov = segment_words(part)
        covered += cov * len(part)
        total += len(part)
        if k > 0 and out and ws and ws[0] in _CONTRACTION_TAILS:
            out[-1] += "'" + ws[0]
            ws = ws[1:]
        out += ws
    return out, covered / max(1, total)


_LONG_ALPHA_RE = re.compile(r"(?<![A-Za-z])[A-Za-z]{12,}")


def _plausible_pieces(ws: list[str]) -> bool:
    """Run-together words split into common words: >= 3 pieces, average >= 4 letters, every piece a common word
    (short pieces only function words)."""
    if len(ws) < 3 or sum(len(x) for x in ws) / len(ws) < 4.0:
        return False
    rank = lexicon().rank
    for x in ws:
        if len(x) <= 2:
            if x not in _SHORT_WORDS:
                return False
        elif rank.get(x, 10**9) > 25_000:
            return False
    return True


def _dec_segmented(ctx: _Ctx) -> list[_Cand]:
    text = ctx.text
    if not any(len(w) >= 12 for w in ctx.bad):
        return []
    words_set = lexicon().words
    spans: list[tuple[int, int, str]] = []
    n_words = 0
    best_len = 0
    budget = 600
    for m in _LONG_ALPHA_RE.finditer(text):
        w = m.group()
        if w.lower() in words_set:
            continue
        before = text[m.start() - 1] if m.start() > 0 else " "
        after = text[m.end()] if m.end() < len(text) else " "
        if before in "@./:#\\=&?%" or after in "@/=&%" or (after == "." and text[m.end() + 1 : m.end() + 2].isalpha()):
            continue  # e-mail addresses, domains, paths, query strings, hashtags
        # camelCase identifiers are code, not hidden text
        if any(c.isupper() for c in w[1:]) and not w.isupper():
            continue
        if budget <= 0:
            break
        budget -= len(w)
        ws, cov = segment_words(w)
        if cov < 0.95 or not _plausible_pieces(ws):
            continue
        spans.append((m.start(), m.end(), " ".join(ws)))
        n_words += len(ws)
        best_len = max(best_len, len(ws))
    if not spans or n_words < 4 or best_len < 3:
        return []
    return [_Cand("segmented", _replace_spans(text, spans), min(1.0, n_words / 8))]


# ================================================================================================ driver

#: Decoders in priority order (the view cap keeps the first ones).
DECODERS: tuple[tuple[str, Decoder], ...] = (
    ("base64", _dec_base64),
    ("hex", _dec_hex),
    ("url", _dec_url),
    ("html_entities", _dec_html_entities),
    ("unicode_escape", _dec_unicode_escape),
    ("codechameleon", _dec_codechameleon),
    ("payload_split", _dec_payload_split),
    ("caesar", _dec_caesar),
    ("flip", _dec_flip),
    ("fwo", _dec_fwo),
    ("flip_cued", _dec_flip_cued),
    ("leetspeak", _dec_leetspeak),
    ("typoglycemia", _dec_typoglycemia),
    ("spaced", _dec_spaced),
    ("segmented", _dec_segmented),
)
#: Decoders applied again to a view (the re-encodable ones; word-level repairs run once).
_NESTED = frozenset({"base64", "hex", "url", "html_entities", "unicode_escape", "caesar", "flip", "fwo"})


def _run_decoders(text: str, limits: Limits, nested: bool) -> list[_Cand]:
    ctx = _Ctx(text, limits)
    out: list[_Cand] = []
    for name, fn in DECODERS:
        if nested and name not in _NESTED:
            continue
        try:
            res = fn(ctx)
        except Exception:  # noqa: BLE001 - a failing decoder yields no view, never an error
            continue
        for c in res:
            if c.text and c.text != text:
                out.append(c)
    return out


def make_views(text: str, limits: Limits = DEFAULT_LIMITS) -> list[View]:
    """Extra readings of ``text`` (normally the normalized text), at most ``limits.max_views``.

    Never raises on a ``str``; the input itself is not included; views are deduplicated.
    """
    if not isinstance(text, str) or not text or limits.max_views <= 0 or limits.max_depth <= 0:
        return []
    try:
        text = text[: limits.max_input_chars]
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                text = text.encode("utf-8", "replace").decode("utf-8")
        seen = {text}
        views: list[View] = []
        frontier: list[tuple[str, tuple[str, ...]]] = [(text, ())]
        for depth in range(limits.max_depth):
            nxt: list[tuple[str, tuple[str, ...]]] = []
            level: list[View] = []
            for src, chain in frontier:
                for c in _run_decoders(src, limits, nested=depth > 0):
                    t = c.text[: limits.max_view_chars]
                    if t in seen:
                        continue
                    seen.add(t)
                    level.append(View(c.name, t, chain + (c.name,), round(float(max(0.0, min(1.0, c.confidence))), 4)))
            level.sort(key=lambda v: -v.confidence)
            for v in level:
                if len(views) >= limits.max_views:
                    break
                views.append(v)
                nxt.append((v.text, v.decoder))
            if len(views) >= limits.max_views or not nxt:
                break
            frontier = nxt
        return views
    except Exception:  # noqa: BLE001 - last line of defence: no exception escapes
        return []
