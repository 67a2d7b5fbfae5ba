"""Shared ground of the decoders: limits and views, the English lexicon, word segmentation, word-order
naturalness, text quality, the per-text context ``_Ctx``, the candidate ``_Cand`` and helpers used by several
decoder modules (span replacement, per-word repair ``_merge_words``, literal parsing ``_literal``).

No twin in :mod:`tinyguardrail.data.synth` (whose shared helpers sit in ``synth.core``).
"""

from __future__ import annotations

import ast
import json
import math
import re
import unicodedata
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field


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
        script_marks: read scripts with combining marks (Devanagari, Bengali, Tamil, Thai, ...) as text: their vowel
            signs and viramas count as letters in ``text_quality`` (so a Base64 / hex / percent-encoded Hindi
            sentence decodes), and the ``flip_marks`` decoder undoes FlipAttack in those scripts. Off by default;
            a model records it in its ``front_end`` (``tinyguardrail.preprocess``): v0.17 turns it on for
            weights trained without it.
    """

    max_input_chars: int = 20_000
    max_decoded_bytes: int = 65_536
    max_views: int = 8
    max_depth: int = 2
    max_segments: int = 16
    max_view_chars: int = 20_000
    script_marks: bool = False


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
        payload: the decoded part alone, when the decoder decodes one part of a text that it keeps around it (a
            Base64 / hex / URL blob or a flipped span inside a sentence, a split payload, CodeChameleon's decrypted
            problem); empty otherwise. The runtime can score it as a view of its own
            (``payload_views`` in a model's ``config.json``); the detectors read ``text`` only.
    """

    name: str
    text: str
    decoder: tuple[str, ...] = field(default=())
    confidence: float = 1.0
    payload: str = ""


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


def text_quality(s: str, script_marks: bool = False) -> float:
    """How much ``s`` reads as natural text, in [0, 1], in any language: printable, made of letters, split into
    word-like tokens of ordinary length, with a bonus for English dictionary words. Binary garbage, hashes,
    identifiers and structured data (JSON, key=value) score low; prose in Spanish or Russian scores well; prose in
    Hindi, Bengali or Thai only with ``script_marks`` (their combining vowel signs count as letters)."""
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
    is_letter = _is_letter if script_marks else str.isalpha
    letters = sum(1 for ch in sample if is_letter(ch))
    letter_ratio = letters / nonspace
    non_ascii_letters = sum(1 for ch in sample if not ch.isascii() and is_letter(ch))
    if len(tokens) <= 3 and non_ascii_letters >= 4 and letter_ratio > 0.6:  # scripts written without spaces
        generic = 0.75 * letter_ratio
    else:
        if script_marks:
            wordlike = sum(1 for t in tokens if _is_word_token(t)) / len(tokens)
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
#: Sentence and clause marks of other scripts (Devanagari danda, Arabic comma and question mark, CJK stops, ...).
_EDGE_SCRIPTS = "।॥،؛؟۔、。，！？：；"
#: Combining marks: the vowel signs and viramas of the Indic scripts, Thai and Lao vowels and tones, Arabic and
#: Hebrew points. They are part of the word they sit in, though ``str.isalpha`` is False for most of them.
_MARKS = frozenset(("Mn", "Mc"))


def _is_letter(ch: str) -> bool:
    """A letter, or a combining mark (so Hindi, Bengali, Tamil or Thai prose counts as letters)."""
    return ch.isalpha() or (not ch.isascii() and unicodedata.category(ch) in _MARKS)


def _is_word_token(token: str) -> bool:
    """A whitespace token that is a word once its edge punctuation is stripped: letters and combining marks."""
    core = token.strip(_EDGE_ALL + _EDGE_SCRIPTS)
    return bool(core) and (core.isalpha() or all(_is_letter(ch) for ch in core))


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
    payload: str = ""


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


def _span_cand(name: str, text: str, spans: list[tuple[int, int, str]], confidence: float, sep: str = "\n",
               strip: bool = False) -> _Cand:
    """A candidate whose reading is ``text`` with ``spans`` replaced (``strip``: without outer whitespace), and whose
    ``payload`` is the decoded spans alone (joined by ``sep``) when the text holds more than them (a sentence
    around a Base64 blob, ...)."""
    view = _replace_spans(text, spans)
    view = view.strip() if strip else view
    kept, outside, pos = [], [], 0
    for a, b, rep in sorted(spans):
        if a >= pos:
            kept.append(rep.strip())
            outside.append(text[pos:a])
            pos = b
    outside.append(text[pos:])
    words_around = any(ch.isalnum() for part in outside for ch in part)  # not only quotes, spaces, punctuation
    return _Cand(name, view, confidence, sep.join(k for k in kept if k) if words_around else "")


def _bytes_to_text(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        s = data.decode("utf-8", "replace")
        if s.count("\ufffd") > max(1, 0.02 * len(s)):
            return None
        return s


# ------------------------------------------------------------------------------------- shared by decoders

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
