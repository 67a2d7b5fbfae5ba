"""Decoders of FlipAttack: ``fcw`` (characters of each word reversed), ``fcs`` (characters of the sentence
reversed), ``fwo`` (word order reversed) and the cued flips (the ``TASK is '...'`` payload flipped back as the prompt
says); decoders of the attacks in :mod:`tinyguardrail.data.synth.flip`.
"""

from __future__ import annotations

import re
import unicodedata

from tinyguardrail.text.views.core import (
    _EDGE_ALL,
    _EDGE_SCRIPTS,
    _MARKS,
    _Cand,
    _core_is_word,
    _core_letters,
    _Ctx,
    _merge_words,
    _replace_spans,
    _span_cand,
    lexicon,
    naturalness,
    text_quality,
)

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
    fcs = _span_cand("fcs", text, spans, fcw.confidence) if spans else None
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
    return [_span_cand("fwo", text, chosen, conf)]


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
    return [_span_cand(mode, text, [(a, a + len(seg), dec)], 0.6)]


# ----------------------------------------------------------------------- flips of scripts with combining marks

_TOKEN_SPAN_RE = re.compile(r"\S+")


def _has_mark(token: str) -> bool:
    return any(not ch.isascii() and unicodedata.category(ch) in _MARKS for ch in token)


def _leads_with_mark(token: str) -> bool:
    core = token.strip(_EDGE_ALL + _EDGE_SCRIPTS)
    return bool(core) and not core[0].isascii() and unicodedata.category(core[0]) in _MARKS


def _dec_flip_marks(ctx: _Ctx) -> list[_Cand]:
    """FlipAttack in scripts with combining marks (Devanagari, Bengali, Tamil, Thai, Arabic points, ...), in any
    language: a word never begins with a combining mark (a vowel sign, virama or tone mark follows its letter), so
    words that do were written backwards. The English flips above need dictionary words; this needs none.

    Per line, the span from the first to the last token with non-ASCII letters is undone both ways: ``fcw`` (the
    characters of each word reversed back) and ``fcs`` (the characters of the span reversed back, which also
    restores the word order). The model reads both; a view decides only when it calls an attack. Only with
    ``Limits.script_marks``."""
    text = ctx.text
    if not ctx.limits.script_marks or text.isascii():
        return []
    marked = lead = 0
    lines: list[tuple[int, int]] = []  # spans to undo
    for line in _LINE_RE.finditer(text):
        toks = [m for m in _TOKEN_SPAN_RE.finditer(line.group()) if not m.group().isascii()]
        m_toks = [t.group() for t in toks if _has_mark(t.group())]
        n_lead = sum(1 for t in m_toks if _leads_with_mark(t))
        marked += len(m_toks)
        lead += n_lead
        if n_lead >= 2 and n_lead >= 0.3 * len(m_toks):
            lines.append((line.start() + toks[0].start(), line.start() + toks[-1].end()))
    if not lines or lead < 3 or lead < 0.3 * marked:
        return []
    fcw_spans = [(a, b, _TOKEN_SPAN_RE.sub(lambda m: m.group()[::-1], text[a:b])) for a, b in lines]
    fcs_spans = [(a, b, text[a:b][::-1]) for a, b in lines]
    out = []
    for name, spans in (("fcw", fcw_spans), ("fcs", fcs_spans)):
        dec = _replace_spans(text, spans)
        toks = [t for t in dec.split() if _has_mark(t)]
        if toks and sum(1 for t in toks if _leads_with_mark(t)) > 0.1 * len(toks):
            continue  # did not read forwards afterwards
        conf = text_quality(dec, True) * min(1.0, lead / max(1, marked) / 0.3)
        out.append(_Cand(name, dec, conf))
    return out
