"""Word-level repairs: ``leetspeak``, ``typoglycemia``, ``spaced`` (``i g n o r e``) and ``segmented``
(run-together words); decoders of the attacks in :mod:`tinyguardrail.data.synth.wordplay` (``segmented`` also
rejoins the words that ``synth.characters.zero_width`` runs together once normalization drops the invisibles).
"""

from __future__ import annotations

import re

from tinyguardrail.text.views.core import (
    _CONTRACTION_TAILS,
    _LETTER_RE,
    _TOKEN_RE,
    _Cand,
    _core_is_word,
    _Ctx,
    _replace_spans,
    lexicon,
    segment_words,
)

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
